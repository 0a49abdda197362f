/*
 * Delivery into a Maildir, as the Maildir specification has it: a file
 * with a unique name is written in tmp/, fsynced, and moved into new/
 * (drop_move), and new/ is fsynced; only then is the delivery recorded.
 *
 * A worker delivers a batch of jobs (several messages) at once, so
 * that they share their waits for the disk.  Every file is written in
 * its tmp/ with its write-back started at once; then each is fsynced,
 * and the journal commit of the first carries most of the others;
 * then all are moved into their new/, and each distinct new/ is
 * fsynced once.  Only then are the outcomes recorded: the messages
 * delivered whole leave the queue with one fsync of queue/ for all of
 * them, the others get their records in their state file with one
 * fsync each.  So a message is in new/ only once its data is on disk,
 * and recorded only once its name in new/ is; a crash between the two
 * leaves the batch's messages to be delivered again: twice at most,
 * never lost.  At most DROP_MAX deliveries hold their Maildir open at
 * once: a bigger batch is made durable in parts, before its records.
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
 * mailbox: it is not ours to replace.  The deliveries of a batch not
 * yet counted in the file count against the limit too.
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

/* Deliveries of a batch with their Maildir open at once (4 fds each). */
#define DROP_MAX	64

/* The outcome of a drop still on its way. */
#define DROP_PENDING	-1

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
	int		 junk;		/* .Junk/ of a quarantined message */
	int		 tmp;
	int		 new;
};

/* One delivery of a batch: a target of a job, from tmp/ into new/. */
struct drop {
	struct job	*job;
	size_t		 i;		/* into job->tidx */
	struct maildir	 md;
	int		 fd;		/* the file in tmp/, until fsynced */
	int		 outcome;	/* DELIVER_*, or DROP_PENDING */
	int		 renamed;	/* in new/ */
	int		 synced;	/* its new/ is on disk */
	uint64_t	 size;
	dev_t		 dev;		/* of new/, once moved */
	ino_t		 ino;
	char		 name[NAME_MAX + 1];
	char		 reason[QUEUE_REASONLEN];
};

static void	 drop_stage(struct drop *, const struct drop *, size_t,
		    FILE *);
static uint64_t	 drop_pending(const struct drop *, size_t, const char *);
static void	 drops_commit(struct drop *, size_t);
static int	 drop_move(struct drop *);
static void	 drops_sync_new(struct drop *, size_t);
static void	 drop_fail(struct drop *, const char *);
static void	 local_record(const struct worker_ctx *, struct job *,
		    struct drop *);
static void	 local_state(const struct worker_ctx *, struct job *,
		    struct drop *, int);
static int	 maildir_open(struct maildir *, const char *, int, char *,
		    size_t);
static int	 maildir_subdir(struct maildir *, int, const char *, char *,
		    size_t);
static void	 maildir_close(struct maildir *);
static void	 maildir_refusal(int, const char *, const char *, char *,
		    size_t);
static int	 drop_write(struct drop *, const struct queue_msg *,
		    FILE *, const char *, size_t);
static int	 maildir_write(int, const char *, size_t, FILE *, off_t);
static const char *maildir_host(void);
static void	 sum_add(uint64_t *, uint64_t);
static int	 quota_check(const struct maildir *, uint64_t, uint64_t,
		    int *, char *, size_t);
static int	 quota_open(const struct maildir *, int, char *, size_t);
static int	 quota_read(const struct maildir *, uint64_t, uint64_t *,
		    char *, size_t);
static int	 quota_rewrite(const struct maildir *, uint64_t, uint64_t *);
static void	 quota_add(const struct maildir *, uint64_t);

/*
 * Delivers the jobs listed (a batch), then records them.  A batch that
 * cannot be set out delivers nothing: its messages stay in the queue.
 */
void
local_run(const struct worker_ctx *ctx, struct job *jobs)
{
	struct drop	*drops, *d;
	struct job	*j;
	FILE		*body;
	size_t		 n = 0, i, k = 0, from = 0, open = 0;
	int		 save;

	if (ctx->conf->nlmtp > 0) {
		for (j = jobs; j != NULL; j = j->next)
			lmtp_run(ctx, j);
		return;
	}
	for (j = jobs; j != NULL; j = j->next)
		n += j->ntargets;
	if ((drops = calloc(n + 1, sizeof(*drops))) == NULL) {
		log_warn("a batch of %zu deliveries", n);
		return;
	}
	for (j = jobs; j != NULL; j = j->next) {
		body = queue_body_open(ctx->conf->spool, &j->qe->msg);
		save = errno;
		for (i = 0; i < j->ntargets; i++, k++) {
			d = &drops[k];
			d->job = j;
			d->i = i;
			d->fd = d->md.dir = d->md.tmp = d->md.new = -1;
			if (body == NULL) {
				reasonf(d->reason, sizeof(d->reason),
				    "4.3.0 cannot read the queue file: %s",
				    strerror(save));
				d->outcome = DELIVER_TEMP;
				continue;
			}
			drop_stage(d, drops + from, k - from, body);
			if (d->outcome == DROP_PENDING && ++open == DROP_MAX) {
				drops_commit(drops + from, k + 1 - from);
				from = k + 1;
				open = 0;
			}
		}
		if (body != NULL)
			fclose(body);
	}
	drops_commit(drops + from, k - from);
	local_record(ctx, jobs, drops);
	free(drops);
}

/*
 * deliver creates no Maildir: mailadduser add makes one before its
 * mailbox enters the maps, and one missing now may be a mailbox being
 * deleted (mailadduser del moves it into the attic, then installs the
 * maps without it).  Made again here, it would take mail that no map
 * leads to, and stop a later add of the address.  The target waits;
 * at its next attempt it is resolved again, and bounces if the maps
 * no longer have it.
 *
 * The message is written in tmp/ here; the n drops before it in the
 * batch, not durable yet, count against the quota.
 */
static void
drop_stage(struct drop *d, const struct drop *before, size_t n, FILE *body)
{
	const struct queue_msg	*m = &d->job->qe->msg;
	const struct resolve_target *rt = &d->job->rt[d->i];
	char			 head[2 * ADDR_MAX + 64];
	size_t			 hlen;
	int			 over;

	hlen = (size_t)snprintf(head, sizeof(head),
	    "Return-Path: <%s>\nDelivered-To: %s\n", m->sender, rt->addr);
	d->size = hlen + (uint64_t)m->size;

	d->outcome = DELIVER_TEMP;
	if (maildir_open(&d->md, rt->maildir, m->junk, d->reason,
	    sizeof(d->reason)) == -1)
		return;
	if (rt->quota > 0) {
		if (quota_check(&d->md, rt->quota, d->size +
		    drop_pending(before, n, rt->maildir), &over, d->reason,
		    sizeof(d->reason)) == -1) {
			maildir_close(&d->md);
			return;
		}
		if (over) {
			reasonf(d->reason, sizeof(d->reason), "4.2.2 <%s>: "
			    "mailbox full (quota %" PRIu64 " bytes)", rt->addr,
			    rt->quota);
			maildir_close(&d->md);
			return;
		}
	}
	d->outcome = drop_write(d, m, body, head, hlen);
	if (d->outcome != DROP_PENDING)
		maildir_close(&d->md);
}

/* The bytes of the drops on their way into the Maildir at path. */
static uint64_t
drop_pending(const struct drop *drops, size_t n, const char *path)
{
	uint64_t	 sum = 0;
	size_t		 i;

	for (i = 0; i < n; i++)
		if (drops[i].outcome == DROP_PENDING &&
		    strcmp(drops[i].md.path, path) == 0)
			sum_add(&sum, drops[i].size);
	return sum;
}

/* The drop failed after its file was made: the file goes. */
static void
drop_fail(struct drop *d, const char *what)
{
	reasonf(d->reason, sizeof(d->reason), "4.3.0 cannot %s %s: %s", what,
	    d->md.path, strerror(errno));
	if (d->fd != -1)
		close(d->fd);
	d->fd = -1;
	if (!d->renamed)
		unlinkat(d->md.tmp, d->name, 0);
	d->outcome = DELIVER_TEMP;
	maildir_close(&d->md);
}

/*
 * The n drops written in tmp/, made durable in new/: their files
 * fsynced, then moved, then their new/ fsynced, each distinct one
 * once.  A failure defers the drop alone, or every drop in the new/
 * that could not be fsynced.
 */
static void
drops_commit(struct drop *drops, size_t n)
{
	struct drop	*d;
	size_t		 i;

	for (i = 0; i < n; i++) {
		d = &drops[i];
		if (d->outcome != DROP_PENDING)
			continue;
		if (fsync(d->fd) == -1) {
			drop_fail(d, "write into");
			continue;
		}
		if (close(d->fd) == -1) {
			d->fd = -1;
			drop_fail(d, "write into");
			continue;
		}
		d->fd = -1;
	}
	for (i = 0; i < n; i++) {
		d = &drops[i];
		if (d->outcome != DROP_PENDING)
			continue;
		if (drop_move(d) == -1) {
			drop_fail(d, "deliver into");
			continue;
		}
		d->renamed = 1;
	}
	drops_sync_new(drops, n);
	for (i = 0; i < n; i++) {
		d = &drops[i];
		if (d->outcome != DROP_PENDING)
			continue;
		d->outcome = DELIVER_OK;
		reasonf(d->reason, sizeof(d->reason),
		    "delivered to maildir %s%s", d->md.path,
		    d->md.junk != -1 ? " (Junk)" : "");
		quota_add(&d->md, d->size);
		maildir_close(&d->md);
	}
}

/*
 * From tmp/ into new/ by a link, then the removal of the name in tmp/,
 * as the first Maildir protocol (qmail's) has it, rather than by a
 * rename: Linux makes every rename between two directories of a file
 * system wait for one lock of the whole file system (which smtpd's
 * renames into queue/ take too), and a rename that waits for the
 * journal there holds up all the others; a link locks new/ alone.  It
 * never replaces a file of the same name either.  A crash between the
 * two leaves a second name in tmp/, which readers remove (and the
 * quota does not count).  Where the file system has no hard links,
 * the rename.
 */
static int
drop_move(struct drop *d)
{
	if (linkat(d->md.tmp, d->name, d->md.new, d->name, 0) == 0) {
		(void)unlinkat(d->md.tmp, d->name, 0);
		return 0;
	}
	if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS)
		return -1;
	return renameat(d->md.tmp, d->name, d->md.new, d->name);
}

/*
 * Each new/ a drop was moved into, fsynced once; known by device
 * and inode, not by its path, which may have been swapped meanwhile.
 */
static void
drops_sync_new(struct drop *drops, size_t n)
{
	struct stat	 st;
	struct drop	*d;
	size_t		 i, k;
	int		 save;

	for (i = 0; i < n; i++) {
		d = &drops[i];
		if (d->outcome != DROP_PENDING)
			continue;
		if (fstat(d->md.new, &st) == -1) {
			drop_fail(d, "deliver into");
			continue;
		}
		d->dev = st.st_dev;
		d->ino = st.st_ino;
	}
	for (i = 0; i < n; i++) {
		d = &drops[i];
		if (d->outcome != DROP_PENDING)
			continue;
		for (k = 0; k < i; k++)
			if (drops[k].synced && drops[k].dev == d->dev &&
			    drops[k].ino == d->ino)
				break;
		if (k < i || fsync(d->md.new) == 0) {
			d->synced = 1;
			continue;
		}
		save = errno;
		for (k = i; k < n; k++)
			if (drops[k].outcome == DROP_PENDING &&
			    drops[k].dev == d->dev && drops[k].ino == d->ino) {
				errno = save;
				drop_fail(&drops[k], "deliver into");
			}
	}
}

/*
 * The outcomes of the batch, now that its deliveries are on disk.  A
 * fresh job all delivered leaves the queue, and one fsync of queue/
 * for all of them makes their removals the records of their
 * deliveries (queue.c); every other job writes its records into its
 * state file, with one fsync for them all.
 */
static void
local_record(const struct worker_ctx *ctx, struct job *jobs,
    struct drop *drops)
{
	struct job	*j;
	struct drop	*d;
	size_t		 i, removed = 0;
	int		 synced;

	for (j = jobs, d = drops; j != NULL; d += j->ntargets, j = j->next) {
		j->removed = 0;
		if (j->ntargets == 0)
			continue;
		for (i = 0; i < j->ntargets; i++)
			if (d[i].outcome != DELIVER_OK)
				break;
		if (j->fresh && i == j->ntargets) {
			if (queue_unlink(ctx->conf->spool,
			    j->qe->msg.id) == 0) {
				j->removed = 1;
				removed++;
				continue;
			}
			log_warn("%s: cannot remove", j->qe->msg.id);
		}
		local_state(ctx, j, d, 0);
	}
	if (removed == 0)
		return;
	if (!(synced = queue_sync(ctx->conf->spool) == 0))
		log_warn("%s/queue: the removals are recorded instead",
		    ctx->conf->spool);
	for (j = jobs, d = drops; j != NULL; d += j->ntargets, j = j->next)
		if (j->removed)
			local_state(ctx, j, d, synced);
}

/*
 * The outcomes of job j's drops d: logged as removed with their
 * message, or written into its state file.
 */
static void
local_state(const struct worker_ctx *ctx, struct job *j, struct drop *d,
    int removed)
{
	struct queue_msg	 *m = &j->qe->msg;
	struct queue_target	**t;
	const char		**r;
	int			 *o, fd;
	size_t			  i;

	t = calloc(j->ntargets + 1, sizeof(*t));
	r = calloc(j->ntargets + 1, sizeof(*r));
	o = calloc(j->ntargets + 1, sizeof(*o));
	if (t == NULL || r == NULL || o == NULL) {
		log_warn("%s: cannot record its deliveries", m->id);
		goto out;
	}
	for (i = 0; i < j->ntargets; i++) {
		t[i] = &m->targets[j->tidx[i]];
		r[i] = d[i].reason;
		o[i] = d[i].outcome;
	}
	if (removed)
		job_removed(ctx, m, t, r, j->ntargets, "local");
	else if ((fd = job_state_open(ctx, j)) != -1) {
		(void)job_record_all(fd, t, o, r, j->ntargets, ctx, m,
		    "local");
		close(fd);
	}
out:
	free(t);
	free(r);
	free(o);
}

/*
 * The Maildir, its tmp/ and new/ (those of its Junk folder for junk,
 * if it can be had: else the inbox's), and a cur/ that is no link.
 */
static int
maildir_open(struct maildir *md, const char *path, int junk, char *reason,
    size_t rlen)
{
	struct stat	 st;
	int		 box;

	md->path = path;
	md->junk = md->tmp = md->new = -1;
	md->dir = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (md->dir == -1) {
		maildir_refusal(AT_FDCWD, path, "", reason, rlen);
		return -1;
	}
	if (junk)
		md->junk = junk_open(md->dir, path);
	box = md->junk != -1 ? md->junk : md->dir;
	if ((md->tmp = maildir_subdir(md, box, "tmp", reason, rlen)) == -1 ||
	    (md->new = maildir_subdir(md, box, "new", reason, rlen)) == -1) {
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
maildir_subdir(struct maildir *md, int box, const char *name, char *reason,
    size_t rlen)
{
	int	 fd;

	fd = openat(box, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		maildir_refusal(box, md->path, name, reason, rlen);
	return fd;
}

static void
maildir_close(struct maildir *md)
{
	if (md->new != -1)
		close(md->new);
	if (md->tmp != -1)
		close(md->tmp);
	if (md->junk != -1)
		close(md->junk);
	if (md->dir != -1)
		close(md->dir);
	md->dir = md->junk = md->tmp = md->new = -1;
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

/*
 * The message written into a new file of tmp/, its write-back started:
 * DROP_PENDING with the file open, or the outcome of a failure.
 */
static int
drop_write(struct drop *d, const struct queue_msg *m, FILE *body,
    const char *head, size_t hlen)
{
	static unsigned int	 seq;
	struct timeval		 tv;
	int			 n, tries;

	for (tries = 0;; tries++) {
		gettimeofday(&tv, NULL);
		n = snprintf(d->name, sizeof(d->name), "%lld.M%ldP%ldQ%u.%s,S=%"
		    PRIu64, (long long)tv.tv_sec, (long)tv.tv_usec,
		    (long)getpid(), ++seq, maildir_host(), d->size);
		if (n < 0 || (size_t)n >= sizeof(d->name)) {
			reasonf(d->reason, sizeof(d->reason), "5.3.5 Maildir "
			    "file name too long");
			return DELIVER_PERM;
		}
		d->fd = openat(d->md.tmp, d->name, O_WRONLY | O_CREAT |
		    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (d->fd != -1 || errno != EEXIST || tries == 5)
			break;
	}
	if (d->fd == -1) {
		reasonf(d->reason, sizeof(d->reason), "4.3.0 cannot create "
		    "%s/tmp/%s: %s", d->md.path, d->name, strerror(errno));
		return DELIVER_TEMP;
	}
	/* The fsync in drops_commit waits for this write-back. */
	if (maildir_write(d->fd, head, hlen, body, m->body) == -1 ||
	    sync_file_range(d->fd, 0, 0, SYNC_FILE_RANGE_WRITE) == -1) {
		reasonf(d->reason, sizeof(d->reason), "4.3.0 cannot write "
		    "%s/tmp/%s: %s", d->md.path, d->name, strerror(errno));
		close(d->fd);
		d->fd = -1;
		unlinkat(d->md.tmp, d->name, 0);
		return DELIVER_TEMP;
	}
	return DROP_PENDING;
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

/* A sum that stops at UINT64_MAX instead of wrapping round to little. */
static void
sum_add(uint64_t *sum, uint64_t n)
{
	*sum = n > UINT64_MAX - *sum ? UINT64_MAX : *sum + n;
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
