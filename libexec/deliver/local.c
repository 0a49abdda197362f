/*
 * Delivery into a Maildir, as the Maildir specification has it: a file
 * with a unique name is written in tmp/, fsynced, and renamed into
 * new/, and new/ is fsynced; only then is the delivery recorded.
 *
 * The quota is kept in the Maildir++ maildirsize file the way Dovecot's
 * "maildir" quota backend keeps it: a first line with the limit
 * ("<bytes>S"), then lines "<bytes> <messages>" that add up to the
 * usage.  Each delivery appends one line.  When the file is missing,
 * names another limit, or has grown past 5120 bytes, it is computed
 * again from the messages (maildir_usage) and replaced.  Sizes are
 * those of the files, which is what the ",S=" in our names says, so
 * Dovecot and deliver count the same bytes.
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <ctype.h>
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

/* Maildir++: past this size maildirsize is recalculated. */
#define MAILDIRSIZE_MAX	5120

static int	 maildir_deliver(const struct worker_ctx *,
		    const struct queue_msg *, FILE *,
		    const struct resolve_target *, char *, size_t);
static int	 maildir_write(int, const char *, size_t, FILE *, off_t);
static const char *maildir_host(void);
static int	 quota_check(const char *, uint64_t, uint64_t, int *);
static int	 quota_read(const char *, uint64_t, uint64_t *);
static int	 quota_limits(char *, uint64_t);
static int	 quota_rewrite(const char *, uint64_t, uint64_t *);
static void	 quota_add(const char *, uint64_t);

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

	body = queue_body_open(ctx->conf->spool, m);
	for (i = 0; i < j->ntargets; i++) {
		t = &m->targets[j->tidx[i]];
		if (body == NULL) {
			reasonf(reason, sizeof(reason),
			    "4.3.0 cannot read the queue file: %s",
			    strerror(errno));
			outcome = DELIVER_TEMP;
		} else
			outcome = maildir_deliver(ctx, m, body, &j->rt[i],
			    reason, sizeof(reason));
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

static int
maildir_deliver(const struct worker_ctx *ctx, const struct queue_msg *m,
    FILE *body, const struct resolve_target *rt, char *reason,
    size_t rlen)
{
	static unsigned int	 seq;
	char			 head[2 * ADDR_MAX + 64], name[NAME_MAX + 1];
	char			 tmp[PATH_MAX], new[PATH_MAX], dir[PATH_MAX];
	struct timeval		 tv;
	uint64_t		 size;
	size_t			 hlen;
	int			 fd, over, n, tries;

	hlen = (size_t)snprintf(head, sizeof(head),
	    "Return-Path: <%s>\nDelivered-To: %s\n", m->sender, rt->addr);
	size = hlen + (uint64_t)m->size;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/new", rt->maildir) >=
	    sizeof(dir)) {
		reasonf(reason, rlen, "5.3.5 Maildir path too long");
		return DELIVER_PERM;
	}
	if (access(dir, F_OK) == -1 &&
	    maildir_create(rt->maildir, getuid(), getgid()) == -1) {
		reasonf(reason, rlen, "4.3.0 cannot create Maildir %s: %s",
		    rt->maildir, strerror(errno));
		return DELIVER_TEMP;
	}
	if (rt->quota > 0) {
		if (quota_check(rt->maildir, rt->quota, size, &over) == -1) {
			reasonf(reason, rlen, "4.3.0 cannot read the quota "
			    "of %s: %s", rt->maildir, strerror(errno));
			return DELIVER_TEMP;
		}
		if (over) {
			reasonf(reason, rlen, "4.2.2 <%s>: mailbox full "
			    "(quota %" PRIu64 " bytes)", rt->addr, rt->quota);
			return DELIVER_TEMP;
		}
	}

	for (tries = 0;; tries++) {
		gettimeofday(&tv, NULL);
		n = snprintf(name, sizeof(name), "%lld.M%ldP%ldQ%u.%s,S=%"
		    PRIu64, (long long)tv.tv_sec, (long)tv.tv_usec,
		    (long)getpid(), ++seq, maildir_host(), size);
		if (n < 0 || (size_t)n >= sizeof(name) ||
		    (size_t)snprintf(tmp, sizeof(tmp), "%s/tmp/%s",
		    rt->maildir, name) >= sizeof(tmp) ||
		    (size_t)snprintf(new, sizeof(new), "%s/new/%s",
		    rt->maildir, name) >= sizeof(new)) {
			reasonf(reason, rlen, "5.3.5 Maildir path too long");
			return DELIVER_PERM;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd != -1 || errno != EEXIST || tries == 5)
			break;
	}
	if (fd == -1) {
		reasonf(reason, rlen, "4.3.0 cannot create %s: %s", tmp,
		    strerror(errno));
		return DELIVER_TEMP;
	}
	if (maildir_write(fd, head, hlen, body, m->body) == -1 ||
	    fsync(fd) == -1) {
		reasonf(reason, rlen, "4.3.0 cannot write %s: %s", tmp,
		    strerror(errno));
		close(fd);
		unlink(tmp);
		return DELIVER_TEMP;
	}
	if (close(fd) == -1 || rename(tmp, new) == -1 ||
	    file_sync_dir(dir) == -1) {
		reasonf(reason, rlen, "4.3.0 cannot deliver into %s: %s",
		    rt->maildir, strerror(errno));
		unlink(tmp);
		return DELIVER_TEMP;
	}
	quota_add(rt->maildir, size);
	reasonf(reason, rlen, "delivered to maildir %s", rt->maildir);
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
quota_check(const char *maildir, uint64_t limit, uint64_t add, int *over)
{
	uint64_t	 used;

	if (quota_read(maildir, limit, &used) == -1 &&
	    quota_rewrite(maildir, limit, &used) == -1)
		return -1;
	*over = used + add > limit;
	return 0;
}

/*
 * 1 if the limits line of maildirsize, "<bytes>S" with perhaps a
 * ",<messages>C" (Dovecot writes both when both are set), has our
 * limit in bytes.  The count is Dovecot's to enforce.
 */
static int
quota_limits(char *line, uint64_t limit)
{
	char			*item, *end;
	unsigned long long	 n;
	int			 match = 0;

	while ((item = strsep(&line, ",")) != NULL) {
		if (!isdigit((unsigned char)*item))
			return 0;
		errno = 0;
		n = strtoull(item, &end, 10);
		if (errno != 0 || (*end != 'S' && *end != 'C') ||
		    end[1] != '\0')
			return 0;
		if (*end == 'S')
			match = n == limit;
	}
	return match;
}

/* The usage from maildirsize, or -1 if it must be computed again. */
static int
quota_read(const char *maildir, uint64_t limit, uint64_t *used)
{
	char		 path[PATH_MAX], buf[MAILDIRSIZE_MAX + 1];
	char		*line, *p, *end;
	unsigned long long bytes;
	ssize_t		 n;
	int		 fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/maildirsize",
	    maildir) >= sizeof(path))
		return -1;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || n >= MAILDIRSIZE_MAX)
		return -1;
	buf[n] = '\0';
	p = buf;
	line = strsep(&p, "\n");
	if (p == NULL || !quota_limits(line, limit))
		return -1;
	*used = 0;
	while ((line = strsep(&p, "\n")) != NULL && *line != '\0') {
		errno = 0;
		bytes = strtoull(line, &end, 10);
		/* Lines of deletions are negative. */
		if (*line == '-') {
			bytes = strtoull(line + 1, &end, 10);
			*used = *used > bytes ? *used - bytes : 0;
		} else
			*used += bytes;
		if (errno != 0 || end == line || *end != ' ')
			return -1;
	}
	return 0;
}

static int
quota_rewrite(const char *maildir, uint64_t limit, uint64_t *used)
{
	char		 tmp[PATH_MAX], path[PATH_MAX], buf[128];
	uint64_t	 count;
	int		 fd, n;

	if (maildir_usage(maildir, used, &count) == -1)
		return -1;
	if ((size_t)snprintf(path, sizeof(path), "%s/maildirsize",
	    maildir) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/tmp/maildirsize.%ld",
	    maildir, (long)getpid()) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%" PRIu64 "S\n%" PRIu64 " %" PRIu64
	    "\n", limit, *used, count);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return -1;
	if (write(fd, buf, (size_t)n) != n || close(fd) == -1 ||
	    rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Maildir++ tolerates a lost line: the next recalculation repairs it. */
static void
quota_add(const char *maildir, uint64_t size)
{
	char	 path[PATH_MAX], buf[64];
	int	 fd, n;

	if ((size_t)snprintf(path, sizeof(path), "%s/maildirsize",
	    maildir) >= sizeof(path))
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return;
	n = snprintf(buf, sizeof(buf), "%" PRIu64 " 1\n", size);
	if (write(fd, buf, (size_t)n) != n)
		log_warn("%s", path);
	close(fd);
}
