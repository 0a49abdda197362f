/*
 * The local workers: processes that stay, and take Maildir jobs over a
 * socket from the runner, so that a message does not cost a fork.  The
 * runner sends a batch of jobs (up to POOL_BATCH messages) as one
 * packet of text lines, each job
 *
 *	ID FRESH NTARGETS
 *	RCPT QUOTA TARGET ADDR MAILDIR		(NTARGETS lines)
 *
 * (tab-separated), and the worker answers one byte when it is done
 * with the batch (local.c delivers it as a whole).  A job whose fields
 * hold a tab or a newline cannot be sent so, and is not sent.  The
 * worker reads each message itself from the spool; the targets a
 * fresh job carries are not on disk yet (see plan_fresh), so they come
 * with the job.
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

/* The largest batch that goes to a local worker; a bigger job is forked. */
#define POOL_JOBMAX	(64 * 1024)

static int	 pool_pack(char *, size_t, const struct job *);
static struct job *pool_parse(char **, const char *);
static int	 pool_target(struct queue_msg *, struct job *, size_t,
		    char *, time_t);
static void	 pool_free(struct job *);

/* Job j as text at buf; its length, or -1 if it does not fit. */
static int
pool_pack(char *buf, size_t size, const struct job *j)
{
	const struct queue_msg	*m = &j->qe->msg;
	const struct queue_target *t;
	size_t			 i, len;
	int			 n;

	n = snprintf(buf, size, "%s\t%d\t%zu\n", m->id, j->fresh,
	    j->ntargets);
	if (n < 0 || (size_t)n >= size)
		return -1;
	len = (size_t)n;
	for (i = 0; i < j->ntargets; i++) {
		t = &m->targets[j->tidx[i]];
		/* The fields would split elsewhere: a one-shot worker then. */
		if (strpbrk(j->rt[i].addr, "\t\n") != NULL ||
		    strpbrk(j->rt[i].maildir, "\t\n") != NULL)
			return -1;
		n = snprintf(buf + len, size - len,
		    "%zu\t%" PRIu64 "\t%s\t%s\t%s\n", t->rcpt, j->rt[i].quota,
		    t->addr, j->rt[i].addr, j->rt[i].maildir);
		if (n < 0 || (size_t)n >= size - len)
			return -1;
		len += (size_t)n;
	}
	return (int)len;
}

int
pool_send(int fd, const struct job *jobs, size_t max)
{
	const struct job	*j;
	char			*buf;
	size_t			 len = 0, n = 0;
	int			 k, rv = -1;

	if ((buf = malloc(POOL_JOBMAX)) == NULL)
		return -1;
	for (j = jobs; j != NULL && n < max; j = j->next, n++) {
		if ((k = pool_pack(buf + len, POOL_JOBMAX - len, j)) == -1)
			break;
		len += (size_t)k;
	}
	if (n == 0)
		rv = 0;
	else if (send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len)
		rv = (int)n;
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

/*
 * The next job of the batch at *p, with its message read from the
 * spool, and *p moved past it; NULL at the end, or if the rest cannot
 * be read.  A job whose message cannot be read has no targets: it
 * delivers nothing, and its message stays for the runner.
 */
static struct job *
pool_parse(char **p, const char *spool)
{
	char		 err[256], *line, *f[3];
	const char	*errstr;
	struct job	*j;
	struct qentry	*qe;
	size_t		 n, i, k;
	time_t		 now = time(NULL);

	if (*p == NULL || **p == '\0' || (line = strsep(p, "\n")) == NULL)
		return NULL;
	for (k = 0; k < 3; k++)
		if ((f[k] = strsep(&line, "\t")) == NULL)
			return NULL;
	n = (size_t)strtonum(f[2], 1, POOL_JOBMAX, &errstr);
	if (errstr != NULL)
		return NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (qe = calloc(1, sizeof(*qe))) == NULL) {
		free(j);
		return NULL;
	}
	j->qe = qe;
	j->fresh = f[1][0] == '1';
	if ((j->tidx = calloc(n, sizeof(*j->tidx))) == NULL ||
	    (j->rt = calloc(n, sizeof(*j->rt))) == NULL) {
		pool_free(j);
		return NULL;
	}
	if (queue_read(spool, f[0], &qe->msg, err, sizeof(err)) == -1) {
		if (errno == EINVAL)
			log_warnx("%s: malformed queue file: %s", f[0], err);
		for (i = 0; i < n; i++)
			(void)strsep(p, "\n");
		return j;
	}
	for (i = 0; i < n; i++)
		if ((line = strsep(p, "\n")) == NULL ||
		    pool_target(&qe->msg, j, i, line, now) == -1)
			break;
	if (i < n) {
		/* Nothing of a job half understood is delivered. */
		for (i++; i < n; i++)
			(void)strsep(p, "\n");
		return j;
	}
	j->ntargets = n;
	return j;
}

static void
pool_free(struct job *j)
{
	queue_msg_free(&j->qe->msg);
	free(j->qe);
	free(j->tidx);
	free(j->rt);
	free(j);
}

/* The worker: batches until the runner closes the socket. */
__dead void
pool_main(const struct conf *conf, int fd)
{
	struct worker_ctx	 ctx;
	struct job		*jobs, *j, **tail;
	char			*buf, *p;
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
		jobs = NULL;
		tail = &jobs;
		for (p = buf; (j = pool_parse(&p, conf->spool)) != NULL;) {
			if (j->ntargets == 0) {
				pool_free(j);
				continue;
			}
			*tail = j;
			tail = &j->next;
		}
		ctx.now = time(NULL);
		local_run(&ctx, jobs);
		while ((j = jobs) != NULL) {
			jobs = j->next;
			pool_free(j);
		}
		if (send(fd, "d", 1, MSG_NOSIGNAL) != 1)
			_exit(0);
	}
}
