/*
 * The local workers: processes that stay, and take Maildir jobs one at
 * a time over a socket from the runner, so that a message does not
 * cost a fork.  The runner sends a job as one packet of text lines:
 *
 *	ID FRESH
 *	RCPT QUOTA TARGET ADDR MAILDIR		(one a target, tab-separated)
 *
 * and the worker answers one byte when it is done.  A job whose fields
 * hold a tab or a newline cannot be sent so, and is not sent.  The worker reads
 * the message itself from the spool; the targets a fresh job carries
 * are not on disk yet (see plan_fresh), so they come with the job.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmail.h"
#include "deliver.h"

/* The largest job that goes to a local worker; a bigger one is forked. */
#define POOL_JOBMAX	(64 * 1024)

static int	 pool_parse(char *, struct queue_msg *, struct job *,
		    const char *);
static int	 pool_target(struct queue_msg *, struct job *, size_t,
		    char *, time_t);

int
pool_send(int fd, const struct job *j)
{
	const struct queue_msg	*m = &j->qe->msg;
	const struct queue_target *t;
	char			*buf;
	size_t			 i, len = 0;
	int			 n, rv = -1;

	if ((buf = malloc(POOL_JOBMAX)) == NULL)
		return -1;
	n = snprintf(buf, POOL_JOBMAX, "%s\t%d\n", m->id, j->fresh);
	if (n < 0 || n >= POOL_JOBMAX)
		goto out;
	len = (size_t)n;
	for (i = 0; i < j->ntargets; i++) {
		t = &m->targets[j->tidx[i]];
		/* The fields would split elsewhere: a one-shot worker then. */
		if (strpbrk(j->rt[i].addr, "\t\n") != NULL ||
		    strpbrk(j->rt[i].maildir, "\t\n") != NULL)
			goto out;
		n = snprintf(buf + len, POOL_JOBMAX - len,
		    "%zu\t%" PRIu64 "\t%s\t%s\t%s\n", t->rcpt, j->rt[i].quota,
		    t->addr, j->rt[i].addr, j->rt[i].maildir);
		if (n < 0 || (size_t)n >= POOL_JOBMAX - len)
			goto out;
		len += (size_t)n;
	}
	if (send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len)
		rv = 0;
out:
	free(buf);
	return rv;
}

/* A target line into job slot i; 0 or -1. */
static int
pool_target(struct queue_msg *m, struct job *j, size_t i, char *line,
    time_t now)
{
	struct queue_target	 t, *qt;
	char			*f[5], *p = line;
	const char		*errstr;
	size_t			 k;

	for (k = 0; k < 5; k++)
		if ((f[k] = strsep(&p, "\t")) == NULL)
			return -1;
	memset(&t, 0, sizeof(t));
	t.rcpt = (size_t)strtonum(f[0], 0, (long long)m->nrcpts - 1,
	    &errstr);
	if (errstr != NULL)
		return -1;
	j->rt[i].quota = strtoull(f[1], NULL, 10);
	j->rt[i].local = 1;
	if (strlcpy(t.addr, f[2], sizeof(t.addr)) >= sizeof(t.addr) ||
	    strlcpy(j->rt[i].addr, f[3], sizeof(j->rt[i].addr)) >=
	    sizeof(j->rt[i].addr) ||
	    strlcpy(j->rt[i].maildir, f[4], sizeof(j->rt[i].maildir)) >=
	    sizeof(j->rt[i].maildir))
		return -1;
	/* A fresh target is not on disk: apply its expansion here too. */
	if ((qt = queue_target_find(m, t.rcpt, t.addr)) == NULL) {
		if (queue_state_record(-1, m, QUEUE_REC_EXPAND, &t, now) == -1)
			return -1;
		qt = queue_target_find(m, t.rcpt, t.addr);
	}
	if (qt == NULL)
		return -1;
	j->tidx[i] = (size_t)(qt - m->targets);
	return 0;
}

/* The job in buf, with its message read from the spool; 0 or -1. */
static int
pool_parse(char *buf, struct queue_msg *m, struct job *j, const char *spool)
{
	char		 err[256], *line, *p = buf, *id, *tab;
	size_t		 n = 0, i;
	time_t		 now = time(NULL);

	if ((line = strsep(&p, "\n")) == NULL ||
	    (tab = strchr(line, '\t')) == NULL)
		return -1;
	*tab = '\0';
	id = line;
	j->fresh = tab[1] == '1';
	for (i = 0; p != NULL && p[i] != '\0'; i++)
		n += p[i] == '\n';
	if (queue_read(spool, id, m, err, sizeof(err)) == -1) {
		if (errno == EINVAL)
			log_warnx("%s: malformed queue file: %s", id, err);
		return -1;
	}
	j->tidx = calloc(n + 1, sizeof(*j->tidx));
	j->rt = calloc(n + 1, sizeof(*j->rt));
	if (j->tidx == NULL || j->rt == NULL)
		return -1;
	for (i = 0; i < n && (line = strsep(&p, "\n")) != NULL; i++)
		if (pool_target(m, j, i, line, now) == -1)
			return -1;
	j->ntargets = i;
	return 0;
}

/* The worker: jobs until the runner closes the socket. */
__dead void
pool_main(const struct conf *conf, int fd)
{
	struct worker_ctx	 ctx;
	struct qentry		 qe;
	struct job		 j;
	char			*buf;
	ssize_t			 n;

	/* Local delivery never logs in anywhere. */
	relayauth_wipe();
	if ((buf = malloc(POOL_JOBMAX + 1)) == NULL)
		_exit(1);
	ctx.conf = conf;
	for (;;) {
		n = recv(fd, buf, POOL_JOBMAX, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		buf[n] = '\0';
		memset(&qe, 0, sizeof(qe));
		memset(&j, 0, sizeof(j));
		j.qe = &qe;
		ctx.now = time(NULL);
		if (pool_parse(buf, &qe.msg, &j, conf->spool) == 0)
			local_run(&ctx, &j);
		queue_msg_free(&qe.msg);
		free(j.tidx);
		free(j.rt);
		if (send(fd, "d", 1, MSG_NOSIGNAL) != 1)
			_exit(0);
	}
}
