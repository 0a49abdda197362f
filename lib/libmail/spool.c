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
static int	spool_needs_smtputf8(const struct spool_msg *, const char *,
		    char *const *, size_t);
static void	spool_reset(struct spool_msg *);
static void	spool_wakeup_at(int);
static int	spool_opentmp(int);
static int	spool_copy(int, off_t, off_t, int);
static int	spool_shift(int, off_t, off_t, size_t, int);
static int	spool_write(int, const char *, size_t);
static int	spool_copy_cut(int, off_t, off_t, const struct spool_edit *,
		    int);

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
	    spool_record(msg->fp, 'S', sender) == -1)
		return -1;
	for (i = 0; i < nrcpts; i++)
		if (spool_record(msg->fp, 'R', rcpts[i]) == -1)
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

/* Copies len bytes at off of from to the end of to; 0 or -1. */
static int
spool_copy(int from, off_t off, off_t len, int to)
{
	char	 buf[65536];
	ssize_t	 n, w, done;

	while (len > 0) {
		n = copy_file_range(from, &off, to, NULL, len, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EXDEV && errno != ENOSYS &&
		    errno != EINVAL && errno != EOPNOTSUPP)
			return -1;
		if (n == -1)
			break;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		len -= n;
	}
	while (len > 0) {
		n = pread(from, buf, len < (off_t)sizeof(buf) ? len :
		    (off_t)sizeof(buf), off);
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		for (done = 0; done < n; done += w)
			if ((w = write(to, buf + done, n - done)) == -1)
				return -1;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Moves the bytes of from at [off, end) up by len, through to, from the
 * last ones down, so that nothing is read after it is overwritten.
 */
static int
spool_shift(int from, off_t off, off_t end, size_t len, int to)
{
	char	 buf[65536];
	ssize_t	 n, w, done;
	off_t	 at;

	while (end > off) {
		at = end - off > (off_t)sizeof(buf) ? end - (off_t)sizeof(buf) :
		    off;
		if ((n = pread(from, buf, end - at, at)) != end - at) {
			if (n >= 0)
				errno = EIO;
			return -1;
		}
		for (done = 0; done < n; done += w)
			if ((w = pwrite(to, buf + done, n - done,
			    at + len + done)) == -1)
				return -1;
		end = at;
	}
	return 0;
}

/*
 * Unlike spool_rewrite, in place: the message moves up by len and the
 * text goes where it began.  A file in tmp/ that a failure or a crash
 * leaves half moved is never committed: the caller aborts it, or
 * spool_clean_tmp removes it.  A copy renamed over it would cost a file
 * made and a rename, more than moving the few kilobytes of a message in
 * the page cache (DKIM signs every message this way).
 */
int
spool_prepend(struct spool_msg *msg, const char *text, size_t len)
{
	struct stat	 a, b;
	ssize_t		 w;
	size_t		 done;
	int		 rfd, save;

	if (msg->fp == NULL || msg->body < 1) {
		errno = EINVAL;
		return -1;
	}
	if (fflush(msg->fp) == EOF || ferror(msg->fp))
		return -1;
	/* The writer's descriptor is write-only: read through another. */
	if ((rfd = open(msg->tmppath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1)
		return -1;
	if (fstat(rfd, &a) == -1 || fstat(msg->fd, &b) == -1 ||
	    a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		save = errno;
		close(rfd);
		errno = save == 0 ? ESTALE : save;
		return -1;
	}
	if (spool_shift(rfd, msg->body, b.st_size, len, msg->fd) == -1)
		goto fail;
	for (done = 0; done < len; done += w)
		if ((w = pwrite(msg->fd, text + done, len - done,
		    msg->body + done)) == -1)
			goto fail;
	close(rfd);
	/* pwrite moved no offset: the writer goes on at the new end. */
	return fseeko(msg->fp, 0, SEEK_END);
fail:
	save = errno;
	close(rfd);
	errno = save;
	return -1;
}

static int
spool_write(int fd, const char *text, size_t len)
{
	ssize_t	 w;
	size_t	 done;

	for (done = 0; done < len; done += w)
		if ((w = write(fd, text + done, len - done)) == -1)
			return -1;
	return 0;
}

/* The message of rfd from off to end into fd, without the cuts. */
static int
spool_copy_cut(int rfd, off_t body, off_t end, const struct spool_edit *ed,
    int fd)
{
	off_t	 pos = 0, cut;
	size_t	 i;

	for (i = 0; i < ed->ncuts; i++) {
		cut = ed->cuts[i].off;
		if (cut < pos || ed->cuts[i].len < 0 ||
		    cut + ed->cuts[i].len > end - body) {
			errno = EINVAL;
			return -1;
		}
		if (spool_copy(rfd, body + pos, cut - pos, fd) == -1)
			return -1;
		pos = cut + ed->cuts[i].len;
	}
	return spool_copy(rfd, body + pos, end - body - pos, fd);
}

/*
 * The new file is written beside the old one and renamed over it, so
 * that SPOOL/tmp/ID holds the old message or the new one, never part
 * of either, for spool_abort and for a signal handler that unlinks it.
 */
int
spool_rewrite(struct spool_msg *msg, const struct spool_edit *ed)
{
	char		 newpath[PATH_MAX], rec[SPOOL_RECORD_MAX];
	struct stat	 sb;
	size_t		 reclen = 0;
	int		 fd, rfd = -1, save;

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
	if (fflush(msg->fp) == EOF || ferror(msg->fp) ||
	    fstat(msg->fd, &sb) == -1 ||
	    file_sibling_name(msg->tmppath, "new", newpath,
	    sizeof(newpath)) == -1)
		return -1;
	fd = open(newpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd == -1)
		return -1;
	/* The writer's descriptor is write-only: read through another. */
	rfd = open(msg->tmppath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	/* The record goes before the empty line that ends the envelope. */
	if (rfd == -1 || spool_copy(rfd, 0, msg->body - 1, fd) == -1 ||
	    spool_write(fd, rec, reclen) == -1 ||
	    spool_write(fd, "\n", 1) == -1 ||
	    spool_write(fd, ed->top, ed->toplen) == -1 ||
	    spool_copy_cut(rfd, msg->body, sb.st_size, ed, fd) == -1 ||
	    rename(newpath, msg->tmppath) == -1)
		goto fail;
	close(rfd);
	(void)fclose(msg->fp);
	msg->fd = fd;
	msg->body += reclen;
	if ((msg->fp = fdopen(fd, "a")) == NULL) {
		msg->fp = NULL;
		return -1;
	}
	return 0;
fail:
	save = errno;
	if (rfd != -1)
		close(rfd);
	close(fd);
	(void)unlink(newpath);
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
