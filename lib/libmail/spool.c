/*
 * spool.c: the queue that smtpd, sendmail, deliver and mailq share.
 *
 * A message is written to SPOOL/tmp/ID, fsynced, and renamed to
 * SPOOL/queue/ID; the directory is then fsynced so that the rename
 * itself survives a crash.  That rename is the commit point: deliver
 * never looks into tmp/, so it sees a message whole or not at all.
 * Both fsyncs are needed on Linux: fsync(2) of a file does not make
 * its directory entry durable (ext4 without the journal, XFS, btrfs).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libmail.h"

static int	spool_mkdir(int, const char *);
static void	spool_newid(char *);
static int	spool_record(FILE *, char, const char *);
static int	spool_rcpt_dsn(FILE *, const struct dsn_env *, size_t);
static int	spool_msg_dsn(FILE *, const struct dsn_env *);
static int	spool_needs_smtputf8(const struct spool_msg *, const char *,
		    char *const *, size_t);
static void	spool_reset(struct spool_msg *);
static void	spool_wakeup_at(int);
static int	spool_opentmp(int);
static int	spool_pwrite(int, const char *, size_t, off_t);
static int	spool_move(int, int, off_t, off_t, off_t);
static int	spool_cuts_valid(const struct spool_edit *, off_t);
static int	spool_cut(int, int, off_t, off_t *, const struct spool_edit *);

static const char *const spool_dirs[] = { "tmp", "queue", "state", "hold" };

static int
spool_mkdir(int dirfd, const char *name)
{
	if (mkdirat(dirfd, name, 0700) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int
spool_init(const char *spool)
{
	struct stat	 st;
	size_t		 i;
	int		 dirfd, save;

	if (mkdir(spool, 0700) == -1 && errno != EEXIST)
		return -1;
	if ((dirfd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	for (i = 0; i < sizeof(spool_dirs) / sizeof(spool_dirs[0]); i++)
		if (spool_mkdir(dirfd, spool_dirs[i]) == -1)
			goto fail;
	if (mkfifoat(dirfd, "wakeup", 0600) == -1 && errno != EEXIST)
		goto fail;
	if (fstatat(dirfd, "wakeup", &st, AT_SYMLINK_NOFOLLOW) == -1)
		goto fail;
	if (!S_ISFIFO(st.st_mode)) {
		errno = EEXIST;
		goto fail;
	}
	close(dirfd);
	return 0;
fail:
	save = errno;
	close(dirfd);
	errno = save;
	return -1;
}

/*
 * Eight hexadecimal digits of the time, so that IDs sort roughly by
 * arrival, then eight random ones so that concurrent writers (several
 * smtpd sessions, sendmail) do not collide; O_EXCL catches the rest.
 */
static void
spool_newid(char *id)
{
	snprintf(id, SPOOL_IDLEN + 1, "%08x%08x",
	    (unsigned int)(time(NULL) & 0xffffffff), arc4random());
}

static void
spool_reset(struct spool_msg *msg)
{
	msg->fp = NULL;
	msg->fd = -1;
	msg->spooldirfd = -1;
	msg->tmppath[0] = '\0';
	msg->body = -1;
	msg->hold = 0;
	msg->smtputf8 = 0;
}

int
spool_create(const char *spool, struct spool_msg *msg)
{
	int	 i, save;

	spool_reset(msg);
	msg->id[0] = '\0';
	msg->path[0] = '\0';
	msg->spooldirfd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (msg->spooldirfd == -1)
		return -1;
	for (i = 0; i < 100; i++) {
		spool_newid(msg->id);
		if (snprintf(msg->tmppath, sizeof(msg->tmppath), "%s/tmp/%s",
		    spool, msg->id) >= (int)sizeof(msg->tmppath) ||
		    snprintf(msg->path, sizeof(msg->path), "%s/queue/%s",
		    spool, msg->id) >= (int)sizeof(msg->path)) {
			msg->tmppath[0] = '\0';
			errno = ENAMETOOLONG;
			goto fail;
		}
		/* An ID still in the queue is taken, even if tmp/ is free. */
		if (access(msg->path, F_OK) == 0)
			continue;
		msg->fd = open(msg->tmppath,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (msg->fd != -1)
			break;
		if (errno != EEXIST) {
			msg->tmppath[0] = '\0';
			goto fail;
		}
	}
	if (msg->fd == -1) {
		msg->tmppath[0] = '\0';
		errno = EEXIST;
		goto fail;
	}
	if ((msg->fp = fdopen(msg->fd, "w")) == NULL)
		goto fail;
	return 0;
fail:
	save = errno;
	spool_abort(msg);
	msg->path[0] = '\0';
	errno = save;
	return -1;
}

/* A record value is one line: no CR, no LF, no NUL can hide in it. */
static int
spool_record(FILE *fp, char type, const char *value)
{
	if (strpbrk(value, "\r\n") != NULL) {
		errno = EINVAL;
		return -1;
	}
	if (fprintf(fp, "%c %s\n", type, value) < 0)
		return -1;
	return 0;
}

/*
 * A message that came with SMTPUTF8, or whose envelope holds a UTF-8
 * address (sendmail(8), a bounce to a UTF-8 sender), may only leave
 * with SMTPUTF8: the U record tells deliver.
 */
static int
spool_needs_smtputf8(const struct spool_msg *msg, const char *sender,
    char *const *rcpts, size_t nrcpts)
{
	size_t	 i;

	if (msg->smtputf8 || !addr_is_ascii(sender))
		return 1;
	for (i = 0; i < nrcpts; i++)
		if (!addr_is_ascii(rcpts[i]))
			return 1;
	return 0;
}

int
spool_envelope(struct spool_msg *msg, time_t arrival, const char *sender,
    char *const *rcpts, size_t nrcpts)
{
	return spool_envelope_dsn(msg, arrival, sender, rcpts, nrcpts, NULL);
}

/* The N and O records of recipient i, after its R. */
static int
spool_rcpt_dsn(FILE *fp, const struct dsn_env *dsn, size_t i)
{
	char	 notify[64];

	if (dsn == NULL)
		return 0;
	if (dsn->notify != NULL && dsn->notify[i] != 0) {
		dsn_notify_format(dsn->notify[i], notify, sizeof(notify));
		if (spool_record(fp, 'N', notify) == -1)
			return -1;
	}
	if (dsn->orcpt != NULL && dsn->orcpt[i] != NULL &&
	    spool_record(fp, 'O', dsn->orcpt[i]) == -1)
		return -1;
	return 0;
}

/* The E and H records. */
static int
spool_msg_dsn(FILE *fp, const struct dsn_env *dsn)
{
	if (dsn == NULL)
		return 0;
	if (dsn->envid != NULL && dsn->envid[0] != '\0' &&
	    spool_record(fp, 'E', dsn->envid) == -1)
		return -1;
	if (dsn->ret != DSN_RET_NONE && spool_record(fp, 'H',
	    dsn->ret == DSN_RET_FULL ? "FULL" : "HDRS") == -1)
		return -1;
	return 0;
}

int
spool_envelope_dsn(struct spool_msg *msg, time_t arrival, const char *sender,
    char *const *rcpts, size_t nrcpts, const struct dsn_env *dsn)
{
	char	 t[32];
	size_t	 i;

	if (msg->fp == NULL || nrcpts == 0) {
		errno = EINVAL;
		return -1;
	}
	(void)snprintf(t, sizeof(t), "%lld", (long long)arrival);
	if (fputs("V 1\n", msg->fp) == EOF ||
	    spool_record(msg->fp, 'I', msg->id) == -1 ||
	    spool_record(msg->fp, 'T', t) == -1 ||
	    spool_record(msg->fp, 'S', sender) == -1 ||
	    spool_msg_dsn(msg->fp, dsn) == -1)
		return -1;
	for (i = 0; i < nrcpts; i++)
		if (spool_record(msg->fp, 'R', rcpts[i]) == -1 ||
		    spool_rcpt_dsn(msg->fp, dsn, i) == -1)
			return -1;
	if (spool_needs_smtputf8(msg, sender, rcpts, nrcpts) &&
	    spool_record(msg->fp, SPOOL_REC_SMTPUTF8, "SMTPUTF8") == -1)
		return -1;
	if (fputc('\n', msg->fp) == EOF || (msg->body = ftello(msg->fp)) == -1)
		return -1;
	return 0;
}

FILE *
spool_reopen(struct spool_msg *msg)
{
	struct stat	 a, b;
	FILE		*fp;
	int		 fd, save;

	if (msg->fp == NULL || msg->body == -1) {
		errno = EINVAL;
		return NULL;
	}
	if (fflush(msg->fp) == EOF || ferror(msg->fp))
		return NULL;
	fd = open(msg->tmppath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return NULL;
	/* The file we write, not one put in its place. */
	if (fstat(fd, &a) == -1 || fstat(msg->fd, &b) == -1 ||
	    a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		save = errno;
		close(fd);
		errno = save == 0 ? ESTALE : save;
		return NULL;
	}
	if ((fp = fdopen(fd, "r")) == NULL || fseeko(fp, msg->body,
	    SEEK_SET) == -1) {
		save = errno;
		if (fp != NULL)
			fclose(fp);
		else
			close(fd);
		errno = save;
		return NULL;
	}
	return fp;
}

/* All of len bytes of buf at off of fd; 0 or -1. */
static int
spool_pwrite(int fd, const char *buf, size_t len, off_t off)
{
	ssize_t	 w;
	size_t	 done;

	for (done = 0; done < len; done += w)
		if ((w = pwrite(fd, buf + done, len - done,
		    off + (off_t)done)) == -1)
			return -1;
	return 0;
}

/*
 * Moves the bytes at [from, end) of the file (read through rfd, written
 * through wfd) to offset to: down from the first bytes, up from the
 * last ones, so that none is overwritten before it is read.
 */
static int
spool_move(int rfd, int wfd, off_t from, off_t end, off_t to)
{
	char	 buf[65536];
	off_t	 delta = to - from, at, len;
	ssize_t	 n;

	if (delta == 0)
		return 0;
	while (end > from) {
		len = end - from < (off_t)sizeof(buf) ? end - from :
		    (off_t)sizeof(buf);
		at = delta > 0 ? end - len : from;
		if ((n = pread(rfd, buf, len, at)) != len) {
			if (n >= 0)
				errno = EIO;
			return -1;
		}
		if (spool_pwrite(wfd, buf, len, at + delta) == -1)
			return -1;
		if (delta > 0)
			end = at;
		else
			from += len;
	}
	return 0;
}

/* 1 if the cuts are ascending, apart, and inside a message of size. */
static int
spool_cuts_valid(const struct spool_edit *ed, off_t size)
{
	off_t	 pos = 0;
	size_t	 i;

	for (i = 0; i < ed->ncuts; i++) {
		if (ed->cuts[i].off < pos || ed->cuts[i].len < 0 ||
		    ed->cuts[i].off + ed->cuts[i].len > size)
			return 0;
		pos = ed->cuts[i].off + ed->cuts[i].len;
	}
	return 1;
}

/* The cuts left out, what follows each moved down; *end the new end. */
static int
spool_cut(int rfd, int wfd, off_t body, off_t *end,
    const struct spool_edit *ed)
{
	off_t	 to, from, next;
	size_t	 i;

	if (ed->ncuts == 0)
		return 0;
	to = body + ed->cuts[0].off;
	for (i = 0; i < ed->ncuts; i++) {
		from = body + ed->cuts[i].off + ed->cuts[i].len;
		next = i + 1 < ed->ncuts ? body + ed->cuts[i + 1].off : *end;
		if (spool_move(rfd, wfd, from, next, to) == -1)
			return -1;
		to += next - from;
	}
	*end = to;
	return 0;
}

int
spool_prepend(struct spool_msg *msg, const char *text, size_t len)
{
	struct spool_edit	 ed;

	memset(&ed, 0, sizeof(ed));
	ed.top = text;
	ed.toplen = len;
	return spool_rewrite(msg, &ed);
}

/*
 * In place: the cuts closed up, the message moved up by the record and
 * the top, and both written into the room made.  A copy renamed over
 * the file, which kept SPOOL/tmp/ID whole at every moment, cost a file
 * made and a rename a message, more than moving the kilobytes of a
 * message in the page cache (on ext4 the search for a free inode alone,
 * recently_deleted, cost more than all of DKIM and DMARC at 8
 * sessions).  What a failure or a crash leaves half moved is in tmp/,
 * never committed: every caller aborts the message on failure, and
 * spool_clean_tmp removes a crash's.
 */
int
spool_rewrite(struct spool_msg *msg, const struct spool_edit *ed)
{
	char		 rec[SPOOL_RECORD_MAX];
	struct stat	 a, b;
	size_t		 reclen = 0;
	off_t		 end, grow;
	int		 rfd, save;

	if (msg->fp == NULL || msg->body < 1) {
		errno = EINVAL;
		return -1;
	}
	if (ed->rectype != '\0') {
		if (strpbrk(ed->recvalue, "\r\n") != NULL ||
		    (reclen = (size_t)snprintf(rec, sizeof(rec), "%c %s\n",
		    ed->rectype, ed->recvalue)) >= sizeof(rec)) {
			errno = EINVAL;
			return -1;
		}
	}
	if (fflush(msg->fp) == EOF || ferror(msg->fp))
		return -1;
	/* The writer's descriptor is write-only: read through another. */
	if ((rfd = open(msg->tmppath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1)
		return -1;
	if (fstat(rfd, &a) == -1 || fstat(msg->fd, &b) == -1)
		goto fail;
	/* The file we write, not one put in its place. */
	if (a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		errno = ESTALE;
		goto fail;
	}
	if (!spool_cuts_valid(ed, b.st_size - msg->body)) {
		errno = EINVAL;
		goto fail;
	}
	end = b.st_size;
	grow = (off_t)(reclen + ed->toplen);
	/* The record goes before the empty line that ends the envelope. */
	if (spool_cut(rfd, msg->fd, msg->body, &end, ed) == -1 ||
	    spool_move(rfd, msg->fd, msg->body, end, msg->body + grow) == -1 ||
	    spool_pwrite(msg->fd, rec, reclen, msg->body - 1) == -1 ||
	    spool_pwrite(msg->fd, "\n", 1, msg->body - 1 + reclen) == -1 ||
	    spool_pwrite(msg->fd, ed->top, ed->toplen,
	    msg->body + reclen) == -1 ||
	    ftruncate(msg->fd, end + grow) == -1)
		goto fail;
	close(rfd);
	msg->body += reclen;
	/* pwrite moved no offset: the writer goes on at the new end. */
	return fseeko(msg->fp, 0, SEEK_END);
fail:
	save = errno;
	close(rfd);
	errno = save;
	return -1;
}

int
spool_rewrite_begin(struct spool_msg *msg, struct spool_msg *tmp)
{
	if (msg->fp == NULL || fflush(msg->fp) == EOF || ferror(msg->fp))
		return -1;
	*tmp = *msg;
	tmp->body = -1;
	if (file_sibling_name(msg->tmppath, "new", tmp->tmppath,
	    sizeof(tmp->tmppath)) == -1)
		return -1;
	tmp->fd = open(tmp->tmppath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (tmp->fd == -1)
		return -1;
	if ((tmp->fp = fdopen(tmp->fd, "w")) == NULL) {
		close(tmp->fd);
		(void)unlink(tmp->tmppath);
		return -1;
	}
	return 0;
}

int
spool_rewrite_end(struct spool_msg *msg, struct spool_msg *tmp)
{
	if (tmp->body == -1) {
		errno = EINVAL;
		return -1;
	}
	if (fflush(tmp->fp) == EOF || ferror(tmp->fp) ||
	    rename(tmp->tmppath, msg->tmppath) == -1)
		return -1;
	(void)fclose(msg->fp);
	msg->fp = tmp->fp;
	msg->fd = tmp->fd;
	msg->body = tmp->body;
	return 0;
}

void
spool_rewrite_abort(struct spool_msg *tmp)
{
	int	 save;

	save = errno;
	(void)fclose(tmp->fp);
	(void)unlink(tmp->tmppath);
	errno = save;
}

int
spool_commit(struct spool_msg *msg)
{
	char	 tmpname[sizeof("tmp/") + SPOOL_IDLEN];
	char	 qname[sizeof("queue/") + SPOOL_IDLEN];
	const char *dir = msg->hold ? "hold" : "queue";
	int	 qfd, save;

	if (msg->fp == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (fflush(msg->fp) == EOF || ferror(msg->fp) || fsync(msg->fd) == -1)
		return -1;
	save = fclose(msg->fp);
	msg->fp = NULL;
	msg->fd = -1;
	if (save == EOF)
		return -1;

	(void)snprintf(tmpname, sizeof(tmpname), "tmp/%s", msg->id);
	(void)snprintf(qname, sizeof(qname), "%s/%s", dir, msg->id);
	if (renameat(msg->spooldirfd, tmpname, msg->spooldirfd, qname) == -1)
		return -1;
	qfd = openat(msg->spooldirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (qfd == -1 || fsync(qfd) == -1) {
		/*
		 * The caller will answer with a temporary failure and the
		 * client will send the message again: take this copy back
		 * so that it is not delivered twice.
		 */
		save = errno;
		if (qfd != -1)
			close(qfd);
		(void)renameat(msg->spooldirfd, qname, msg->spooldirfd,
		    tmpname);
		errno = save;
		return -1;
	}
	close(qfd);
	msg->tmppath[0] = '\0';
	if (!msg->hold)
		spool_wakeup_at(msg->spooldirfd);
	close(msg->spooldirfd);
	msg->spooldirfd = -1;
	return 0;
}

void
spool_abort(struct spool_msg *msg)
{
	int	 save;

	save = errno;
	if (msg->fp != NULL)
		(void)fclose(msg->fp);
	else if (msg->fd != -1)
		close(msg->fd);
	if (msg->tmppath[0] != '\0')
		(void)unlink(msg->tmppath);
	if (msg->spooldirfd != -1)
		close(msg->spooldirfd);
	spool_reset(msg);
	errno = save;
}

/* SPOOL/tmp from the spool's descriptor, which it closes; -1 on error. */
static int
spool_opentmp(int spoolfd)
{
	int	 fd, save;

	fd = openat(spoolfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW);
	save = errno;
	close(spoolfd);
	errno = save;
	return fd;
}

/* ENXIO: no deliver is reading; it will find the message anyway. */
static void
spool_wakeup_at(int dirfd)
{
	int	 fd, save;

	save = errno;
	fd = openat(dirfd, "wakeup", O_WRONLY | O_NONBLOCK | O_CLOEXEC |
	    O_NOFOLLOW);
	if (fd != -1) {
		if (write(fd, "", 1) == -1) {
			/* A full pipe has its wakeup pending already. */
		}
		close(fd);
	}
	errno = save;
}

void
spool_wakeup(const char *spool)
{
	int	 dirfd, save;

	save = errno;
	dirfd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd != -1) {
		spool_wakeup_at(dirfd);
		close(dirfd);
	}
	errno = save;
}

int
spool_clean_tmp(const char *spool, time_t age)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	time_t		 now = time(NULL);
	int		 fd, n = 0;

	fd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	d = NULL;
	if ((fd = spool_opentmp(fd)) != -1 && (d = fdopendir(fd)) == NULL)
		close(fd);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode) || now - st.st_mtime < age)
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}
