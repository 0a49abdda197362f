/*
 * Delivery into a Maildir, as the Maildir specification has it: a file
 * with a unique name is written in tmp/, fsynced, and renamed into
 * new/, and new/ is fsynced; only then is the delivery recorded.
 *
 * The quota is kept in the Maildir++ maildirsize file the way Dovecot's
 * "maildir" quota backend keeps it: a first line with the limit
 * ("<bytes>S"), then lines "<bytes> <messages>" that add up to the
 * usage.  Each delivery appends one line.  When the file is missing,
 * names another limit, has grown past 5120 bytes, or holds anything
 * but such lines (maildir_size_read, shared with smtpd's check at
 * RCPT), it is computed again from the messages (maildir_usage) and
 * replaced.  Sizes are those of the files, which
 * is what the ",S=" in our names says, so Dovecot and deliver count
 * the same bytes.  Anything there but a regular file defers the
 * mailbox: it is not ours to replace.
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <signal.h>

#include "libmail.h"
#include "deliver.h"

/*
 * A Maildir open for one delivery.  Everything is done relative to
 * these descriptors, each opened without following a symbolic link:
 * a tmp/ or new/ swapped for a link to another mailbox must not send
 * the message (or the quota) there, and a path looked up again at
 * each step could be swapped between two of them.
 */
struct maildir {
	const char	*path;
	int		 dir;
	int		 tmp;
	int		 new;
};

static int	 maildir_deliver(const struct queue_msg *, FILE *,
		    const struct resolve_target *, char *, size_t);
static int	 maildir_open(struct maildir *, const char *, char *, size_t);
static int	 maildir_subdir(struct maildir *, const char *, char *,
		    size_t);
static void	 maildir_close(struct maildir *);
static void	 maildir_refusal(int, const char *, const char *, char *,
		    size_t);
static int	 maildir_put(const struct maildir *, const struct queue_msg *,
		    FILE *, const char *, size_t, uint64_t, char *, size_t);
static int	 maildir_write(int, const char *, size_t, FILE *, off_t);
static const char *maildir_host(void);
static int	 quota_check(const struct maildir *, uint64_t, uint64_t,
		    int *, char *, size_t);
static int	 quota_open(const struct maildir *, int, char *, size_t);
static int	 quota_read(const struct maildir *, uint64_t, uint64_t *,
		    char *, size_t);
static int	 quota_rewrite(const struct maildir *, uint64_t, uint64_t *);
static void	 quota_add(const struct maildir *, uint64_t);

void
local_run(const struct worker_ctx *ctx, struct job *j)
{
	struct queue_msg	*m = &j->qe->msg;
	struct queue_target	*t;
	const char		*r;
	char			 reason[QUEUE_REASONLEN];
	FILE			*body;
	size_t			 i;
	int			 fd = -1, outcome, failed = 0;

	if (ctx->conf->nlmtp > 0) {
		lmtp_run(ctx, j);
		return;
	}
	body = queue_body_open(ctx->conf->spool, m);
	for (i = 0; i < j->ntargets; i++) {
		t = &m->targets[j->tidx[i]];
		if (body == NULL) {
			reasonf(reason, sizeof(reason),
			    "4.3.0 cannot read the queue file: %s",
			    strerror(errno));
			outcome = DELIVER_TEMP;
		} else
			outcome = maildir_deliver(m, body, &j->rt[i], reason,
			    sizeof(reason));
		/* The last of a whole message: its removal records it. */
		r = reason;
		if (j->fresh && !failed && outcome == DELIVER_OK &&
		    i == j->ntargets - 1 &&
		    job_complete(ctx, m, &t, &r, 1, "local") == 0)
			break;
		failed |= outcome != DELIVER_OK;
		if (fd == -1 && (fd = job_state_open(ctx, j)) == -1)
			break;
		if (job_record(fd, t, outcome, ctx, m, "local", reason) == -1)
			break;
	}
	if (body != NULL)
		fclose(body);
	if (fd != -1)
		close(fd);
}

/*
 * deliver creates no Maildir: mailadduser add makes one before its
 * mailbox enters the maps, and one missing now may be a mailbox being
 * deleted (mailadduser del moves it into the attic, then installs the
 * maps without it).  Made again here, it would take mail that no map
 * leads to, and stop a later add of the address.  The target waits;
 * at its next attempt it is resolved again, and bounces if the maps
 * no longer have it.
 */
static int
maildir_deliver(const struct queue_msg *m, FILE *body,
    const struct resolve_target *rt, char *reason, size_t rlen)
{
	struct maildir	 md;
	char		 head[2 * ADDR_MAX + 64];
	uint64_t	 size;
	size_t		 hlen;
	int		 over, outcome;

	hlen = (size_t)snprintf(head, sizeof(head),
	    "Return-Path: <%s>\nDelivered-To: %s\n", m->sender, rt->addr);
	size = hlen + (uint64_t)m->size;

	if (maildir_open(&md, rt->maildir, reason, rlen) == -1)
		return DELIVER_TEMP;
	if (rt->quota > 0) {
		if (quota_check(&md, rt->quota, size, &over, reason,
		    rlen) == -1) {
			maildir_close(&md);
			return DELIVER_TEMP;
		}
		if (over) {
			reasonf(reason, rlen, "4.2.2 <%s>: mailbox full "
			    "(quota %" PRIu64 " bytes)", rt->addr, rt->quota);
			maildir_close(&md);
			return DELIVER_TEMP;
		}
	}
	outcome = maildir_put(&md, m, body, head, hlen, size, reason, rlen);
	if (outcome == DELIVER_OK)
		quota_add(&md, size);
	maildir_close(&md);
	return outcome;
}

/* The Maildir, its tmp/ and new/, and a cur/ that is no link. */
static int
maildir_open(struct maildir *md, const char *path, char *reason,
    size_t rlen)
{
	struct stat	 st;

	md->path = path;
	md->tmp = md->new = -1;
	md->dir = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (md->dir == -1) {
		maildir_refusal(AT_FDCWD, path, "", reason, rlen);
		return -1;
	}
	if ((md->tmp = maildir_subdir(md, "tmp", reason, rlen)) == -1 ||
	    (md->new = maildir_subdir(md, "new", reason, rlen)) == -1) {
		maildir_close(md);
		return -1;
	}
	/* Not written here, but Dovecot would follow it. */
	if (fstatat(md->dir, "cur", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		maildir_refusal(md->dir, path, "cur", reason, rlen);
		maildir_close(md);
		return -1;
	}
	return 0;
}

static int
maildir_subdir(struct maildir *md, const char *name, char *reason,
    size_t rlen)
{
	int	 fd;

	fd = openat(md->dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		maildir_refusal(md->dir, md->path, name, reason, rlen);
	return fd;
}

static void
maildir_close(struct maildir *md)
{
	if (md->new != -1)
		close(md->new);
	if (md->tmp != -1)
		close(md->tmp);
	if (md->dir != -1)
		close(md->dir);
	md->dir = md->tmp = md->new = -1;
}

/*
 * Why name under the Maildir path (the Maildir itself for "", at
 * dirfd) could not be opened, from errno, as the reason of a deferral.
 */
static void
maildir_refusal(int dirfd, const char *path, const char *name, char *reason,
    size_t rlen)
{
	struct stat	 st;
	const char	*sep = name[0] != '\0' ? "/" : "";
	int		 save = errno;

	if (save == ENOENT && name[0] == '\0')
		reasonf(reason, rlen, "4.3.0 Maildir %s does not exist "
		    "(deliver creates none)", path);
	else if (save == ENOENT)
		reasonf(reason, rlen, "4.3.0 Maildir %s has no %s/ "
		    "(deliver recreates none)", path, name);
	else if (fstatat(dirfd, name[0] != '\0' ? name : path, &st,
	    AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		reasonf(reason, rlen, "4.3.0 %s%s%s is a symbolic link: "
		    "not followed", path, sep, name);
	else if (save == ENOTDIR || save == ELOOP)
		reasonf(reason, rlen, "4.3.0 %s%s%s is not a directory",
		    path, sep, name);
	else
		reasonf(reason, rlen, "4.3.0 cannot open %s%s%s: %s", path,
		    sep, name, strerror(save));
}

/* The message, written in tmp/, fsynced, renamed into new/. */
static int
maildir_put(const struct maildir *md, const struct queue_msg *m, FILE *body,
    const char *head, size_t hlen, uint64_t size, char *reason, size_t rlen)
{
	static unsigned int	 seq;
	char			 name[NAME_MAX + 1];
	struct timeval		 tv;
	int			 fd, n, tries;

	for (tries = 0;; tries++) {
		gettimeofday(&tv, NULL);
		n = snprintf(name, sizeof(name), "%lld.M%ldP%ldQ%u.%s,S=%"
		    PRIu64, (long long)tv.tv_sec, (long)tv.tv_usec,
		    (long)getpid(), ++seq, maildir_host(), size);
		if (n < 0 || (size_t)n >= sizeof(name)) {
			reasonf(reason, rlen, "5.3.5 Maildir file name too "
			    "long");
			return DELIVER_PERM;
		}
		fd = openat(md->tmp, name, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1 || errno != EEXIST || tries == 5)
			break;
	}
	if (fd == -1) {
		reasonf(reason, rlen, "4.3.0 cannot create %s/tmp/%s: %s",
		    md->path, name, strerror(errno));
		return DELIVER_TEMP;
	}
	if (maildir_write(fd, head, hlen, body, m->body) == -1 ||
	    fsync(fd) == -1) {
		reasonf(reason, rlen, "4.3.0 cannot write %s/tmp/%s: %s",
		    md->path, name, strerror(errno));
		close(fd);
		unlinkat(md->tmp, name, 0);
		return DELIVER_TEMP;
	}
	if (close(fd) == -1 || renameat(md->tmp, name, md->new, name) == -1 ||
	    fsync(md->new) == -1) {
		reasonf(reason, rlen, "4.3.0 cannot deliver into %s: %s",
		    md->path, strerror(errno));
		unlinkat(md->tmp, name, 0);
		return DELIVER_TEMP;
	}
	reasonf(reason, rlen, "delivered to maildir %s", md->path);
	return DELIVER_OK;
}

static int
maildir_write(int fd, const char *head, size_t hlen, FILE *body, off_t off)
{
	char	 buf[65536];
	size_t	 n;

	if (write(fd, head, hlen) != (ssize_t)hlen)
		return -1;
	if (fseeko(body, off, SEEK_SET) == -1)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), body)) > 0)
		if (write(fd, buf, n) != (ssize_t)n)
			return -1;
	return ferror(body) ? -1 : 0;
}

/* The host part of the name, with '/' and ':' escaped as the spec says. */
static const char *
maildir_host(void)
{
	static char	 host[256 * 4];
	char		 raw[256];
	size_t		 i, o = 0;

	if (host[0] != '\0')
		return host;
	if (gethostname(raw, sizeof(raw)) == -1)
		strlcpy(raw, "localhost", sizeof(raw));
	raw[sizeof(raw) - 1] = '\0';
	for (i = 0; raw[i] != '\0' && o + 5 < sizeof(host); i++) {
		if (raw[i] == '/')
			o += (size_t)snprintf(host + o, sizeof(host) - o,
			    "\\057");
		else if (raw[i] == ':')
			o += (size_t)snprintf(host + o, sizeof(host) - o,
			    "\\072");
		else
			host[o++] = raw[i];
	}
	host[o] = '\0';
	return host;
}

/* *over is 1 when adding bytes would pass the limit, as in Dovecot. */
static int
quota_check(const struct maildir *md, uint64_t limit, uint64_t add,
    int *over, char *reason, size_t rlen)
{
	uint64_t	 used;
	int		 ret;

	if ((ret = quota_read(md, limit, &used, reason, rlen)) == -1)
		return -1;
	if (ret == 0 && quota_rewrite(md, limit, &used) == -1) {
		reasonf(reason, rlen, "4.3.0 cannot count the quota of %s: "
		    "%s", md->path, strerror(errno));
		return -1;
	}
	*over = add > limit || used > limit - add;
	return 0;
}

/*
 * maildirsize opened with flags: the descriptor, -1 if it does not
 * exist, -2 (with the reason) if it is no regular file or cannot be
 * opened.
 */
static int
quota_open(const struct maildir *md, int flags, char *reason, size_t rlen)
{
	int	 fd;

	if ((fd = maildir_size_open(md->dir, flags)) != -1)
		return fd;
	if (errno == ENOENT)
		return -1;
	if (errno == EINVAL)
		reasonf(reason, rlen, "4.3.0 %s/maildirsize is not a regular "
		    "file: not used", md->path);
	else
		reasonf(reason, rlen, "4.3.0 cannot open %s/maildirsize: %s",
		    md->path, strerror(errno));
	return -2;
}

/*
 * The usage from maildirsize: 1, 0 if it must be counted again, -1
 * (with the reason) if the file is refused or cannot be read.
 */
static int
quota_read(const struct maildir *md, uint64_t limit, uint64_t *used,
    char *reason, size_t rlen)
{
	int	 ret;

	if ((ret = maildir_size_read(md->dir, limit, used)) != -1)
		return ret;
	if (errno == EINVAL)
		reasonf(reason, rlen, "4.3.0 %s/maildirsize is not a regular "
		    "file: not used", md->path);
	else
		reasonf(reason, rlen, "4.3.0 cannot read %s/maildirsize: %s",
		    md->path, strerror(errno));
	return -1;
}

static int
quota_rewrite(const struct maildir *md, uint64_t limit, uint64_t *used)
{
	char		 tmp[64], buf[128];
	uint64_t	 count;
	int		 fd, n;

	if (maildir_usage_fd(md->dir, used, &count) == -1)
		return -1;
	snprintf(tmp, sizeof(tmp), "maildirsize.%ld", (long)getpid());
	n = snprintf(buf, sizeof(buf), "%" PRIu64 "S\n%" PRIu64 " %" PRIu64
	    "\n", limit, *used, count);
	/* One left by a worker that died with our pid is ours to replace. */
	if (unlinkat(md->tmp, tmp, 0) == -1 && errno != ENOENT)
		return -1;
	fd = openat(md->tmp, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		unlinkat(md->tmp, tmp, 0);
		return -1;
	}
	if (close(fd) == -1 ||
	    renameat(md->tmp, tmp, md->dir, "maildirsize") == -1) {
		unlinkat(md->tmp, tmp, 0);
		return -1;
	}
	return 0;
}

/* Maildir++ tolerates a lost line: the next recalculation repairs it. */
static void
quota_add(const struct maildir *md, uint64_t size)
{
	char	 buf[64], reason[QUEUE_REASONLEN];
	int	 fd, n;

	fd = quota_open(md, O_WRONLY | O_APPEND, reason, sizeof(reason));
	if (fd == -2)
		log_warnx("%s (this delivery not counted)", reason);
	if (fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "%" PRIu64 " 1\n", size);
	if (write(fd, buf, (size_t)n) != n)
		log_warn("%s/maildirsize", md->path);
	close(fd);
}
