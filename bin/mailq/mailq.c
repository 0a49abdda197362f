/*
 * mailq: the queue in view.  It reads the spool directly, the files
 * deliver(8) writes, and never takes a lock that deliver waits for.
 */

#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "libmail.h"

/* Where the recipients and reasons begin, as in the header line. */
#define INDENT	47

struct listing {
	uint64_t	 bytes;
	size_t		 requests;
	int		 verbose;
};

struct arrival {
	time_t		 when;
	const char	*id;
};

static __dead void	 usage(void);
static int		 spool_errno(const char *);
static int		 list_ids(const struct conf *, char ***, size_t *);
static int		 queue_read_err(const char *, const char *,
			    struct queue_msg *);
static int		 arrivalcmp(const void *, const void *);
static int		 sort_by_arrival(const struct conf *, char **, size_t,
			    struct arrival **, size_t *);
static void		 list_msg(struct queue_msg *, struct listing *);
static void		 list_rcpt(const char *, const struct queue_target *,
			    const char **, int);
static int		 cmd_list(const struct conf *, int);
static int		 cmd_flush(const struct conf *);
static int		 cmd_remove(const struct conf *, const char *);
static void		 wakeup_flush(const char *);
static const char	*timestr(time_t, char *, size_t);

static __dead void
usage(void)
{
	fprintf(stderr, "usage: mailq [-v] [-C file]\n"
	    "       mailq [-C file] -f | -r id\n");
	exit(EX_USAGE);
}

int
main(int argc, char *argv[])
{
	struct conf	 conf;
	char		 errbuf[512];
	const char	*cfile = NULL, *rmid = NULL;
	int		 ch, verbose = 0, flush = 0, rv;

	while ((ch = getopt(argc, argv, "C:fr:v")) != -1) {
		switch (ch) {
		case 'C':
			cfile = optarg;
			break;
		case 'f':
			flush = 1;
			break;
		case 'r':
			rmid = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (argc != optind || flush + (rmid != NULL) + verbose > 1)
		usage();
	if (conf_load(&conf, cfile, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	if (flush)
		rv = cmd_flush(&conf);
	else if (rmid != NULL)
		rv = cmd_remove(&conf, rmid);
	else
		rv = cmd_list(&conf, verbose);
	conf_free(&conf);
	return rv;
}

static int
spool_errno(const char *what)
{
	int	 e = errno;

	warn("%s", what);
	return e == EACCES || e == EPERM ? EX_NOPERM : EX_IOERR;
}

/*
 * The IDs in the queue.  A spool without its queue directory yet (no
 * deliver or smtpd has run) holds no mail; a missing spool is an error.
 */
static int
list_ids(const struct conf *conf, char ***ids, size_t *nids)
{
	if (queue_list(conf->spool, ids, nids) == 0)
		return 0;
	if (errno == ENOENT && access(conf->spool, F_OK) == 0) {
		*ids = NULL;
		*nids = 0;
		return 0;
	}
	return -1;
}

static const char *
timestr(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%a %b %e %H:%M:%S", &tm) == 0)
		strlcpy(buf, "?", len);
	return buf;
}

/* Reads a message; 1 if it is gone or broken (skipped), 0, or -1. */
static int
queue_read_err(const char *spool, const char *id, struct queue_msg *m)
{
	char	 err[256];

	if (queue_read(spool, id, m, err, sizeof(err)) == 0)
		return 0;
	if (errno == ENOENT)
		return 1;
	if (errno == EINVAL) {
		warnx("%s: %s", id, err);
		return 1;
	}
	return -1;
}

static int
arrivalcmp(const void *a, const void *b)
{
	const struct arrival *x = a, *y = b;

	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	return strcmp(x->id, y->id);
}

/*
 * The queue in order of arrival, oldest first, as people read it: a
 * queue ID orders messages only to the second.  Messages gone or broken
 * meanwhile are left out.  The array points into ids; -1 with errno.
 */
static int
sort_by_arrival(const struct conf *conf, char **ids, size_t nids,
    struct arrival **order, size_t *norder)
{
	struct queue_msg m;
	struct arrival	*v;
	size_t		 i, n = 0;
	int		 r;

	if ((v = calloc(nids ? nids : 1, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < nids; i++) {
		if ((r = queue_read_err(conf->spool, ids[i], &m)) == 1)
			continue;
		if (r == -1) {
			free(v);
			return -1;
		}
		v[n].when = m.arrival;
		v[n++].id = ids[i];
		queue_msg_free(&m);
	}
	qsort(v, n, sizeof(*v), arrivalcmp);
	*order = v;
	*norder = n;
	return 0;
}

static int
cmd_list(const struct conf *conf, int verbose)
{
	struct listing	 l;
	struct queue_msg m;
	struct arrival	*order;
	char		**ids;
	size_t		 nids, norder, i;
	int		 r;

	memset(&l, 0, sizeof(l));
	l.verbose = verbose;
	if (list_ids(conf, &ids, &nids) == -1)
		return spool_errno(conf->spool);
	if (sort_by_arrival(conf, ids, nids, &order, &norder) == -1) {
		queue_list_free(ids, nids);
		return spool_errno(conf->spool);
	}
	for (i = 0; i < norder; i++) {
		if ((r = queue_read_err(conf->spool, order[i].id, &m)) == 1)
			continue;
		if (r == -1) {
			r = spool_errno(order[i].id);
			free(order);
			queue_list_free(ids, nids);
			return r;
		}
		list_msg(&m, &l);
		queue_msg_free(&m);
	}
	free(order);
	queue_list_free(ids, nids);
	if (l.requests == 0) {
		printf("Mail queue is empty\n");
		return EX_OK;
	}
	printf("-- %llu Kbytes in %zu Request%s.\n",
	    (unsigned long long)((l.bytes + 1023) / 1024), l.requests,
	    l.requests == 1 ? "" : "s");
	return EX_OK;
}

static void
list_msg(struct queue_msg *m, struct listing *l)
{
	const char	*lastreason = NULL;
	char		 tbuf[64];
	size_t		 r, i;
	int		 any;

	if (queue_msg_done(m))
		return;
	if (l->requests == 0)
		printf("%-16s %8s %-19s  %s\n", "-Queue ID-", "--Size--",
		    "---Arrival Time----", "-Sender/Recipient-------");
	printf("%-16s %8lld %-19s  %s\n", m->id, (long long)m->size,
	    timestr(m->arrival, tbuf, sizeof(tbuf)),
	    m->sender[0] == '\0' ? "MAILER-DAEMON" : m->sender);
	for (r = 0; r < m->nrcpts; r++) {
		any = 0;
		for (i = 0; i < m->ntargets; i++) {
			if (m->targets[i].rcpt != r)
				continue;
			any = 1;
			if (m->targets[i].status == QUEUE_PENDING ||
			    m->targets[i].status == QUEUE_DEFERRED)
				list_rcpt(m->targets[i].addr, &m->targets[i],
				    &lastreason, l->verbose);
		}
		if (!any && !m->expanded[r])
			list_rcpt(m->rcpts[r], NULL, &lastreason, l->verbose);
	}
	printf("\n");
	l->bytes += (uint64_t)m->size;
	l->requests++;
}

/* Consecutive recipients with the same reason share its line. */
static void
list_rcpt(const char *addr, const struct queue_target *t,
    const char **lastreason, int verbose)
{
	char	 tbuf[64];

	if (t != NULL && t->reason[0] != '\0' &&
	    (*lastreason == NULL || strcmp(*lastreason, t->reason) != 0)) {
		printf("%*s(%s)\n", INDENT, "", t->reason);
		*lastreason = t->reason;
	}
	printf("%*s%s\n", INDENT, "", addr);
	if (!verbose)
		return;
	if (t == NULL || t->attempts == 0)
		printf("%*sattempts: 0, next retry: now\n", INDENT + 4, "");
	else
		printf("%*sattempts: %u, next retry: %s\n", INDENT + 4, "",
		    t->attempts, t->next == 0 ? "now" :
		    timestr(t->next, tbuf, sizeof(tbuf)));
}

/*
 * Every deferred message gets an F record, then deliver is woken with
 * an 'F', which makes it reread every state instead of trusting the
 * retry times it remembers.
 */
static int
cmd_flush(const struct conf *conf)
{
	struct queue_msg m;
	char		**ids;
	size_t		 nids, i, t;
	time_t		 now = time(NULL);
	int		 r;

	if (list_ids(conf, &ids, &nids) == -1)
		return spool_errno(conf->spool);
	for (i = 0; i < nids; i++) {
		if ((r = queue_read_err(conf->spool, ids[i], &m)) == 1)
			continue;
		if (r == -1) {
			queue_list_free(ids, nids);
			return spool_errno(ids[i]);
		}
		for (t = 0; t < m.ntargets; t++)
			if (m.targets[t].status == QUEUE_DEFERRED)
				break;
		if (t < m.ntargets && queue_flush(conf->spool, m.id, now) == -1 &&
		    errno != ENOENT) {
			queue_msg_free(&m);
			queue_list_free(ids, nids);
			return spool_errno(ids[i]);
		}
		queue_msg_free(&m);
	}
	queue_list_free(ids, nids);
	wakeup_flush(conf->spool);
	return EX_OK;
}

static void
wakeup_flush(const char *spool)
{
	char	 path[PATH_MAX];
	int	 fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/wakeup", spool) >=
	    sizeof(path))
		return;
	/* ENXIO: no deliver reads the FIFO; it will see the F records. */
	if ((fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return;
	(void)write(fd, "F", 1);
	close(fd);
}

static int
cmd_remove(const struct conf *conf, const char *id)
{
	char	 err[256], path[PATH_MAX];
	uid_t	 uid;
	gid_t	 gid;

	if (!queue_id_valid(id))
		errx(EX_DATAERR, "%s: invalid queue ID", id);
	if (conf_user_ids(conf, &uid, &gid, err, sizeof(err)) == -1)
		errx(EX_CONFIG, "%s", err);
	if (getuid() != 0 && getuid() != uid)
		errx(EX_NOPERM, "only root or %s may remove messages",
		    conf->user);
	if ((size_t)snprintf(path, sizeof(path), "%s/queue/%s", conf->spool,
	    id) >= sizeof(path))
		errx(EX_CONFIG, "%s: spool path too long", conf->spool);
	if (access(path, F_OK) == -1) {
		if (errno == ENOENT)
			errx(EX_NOINPUT, "%s: no such message", id);
		return spool_errno(path);
	}
	if (queue_remove(conf->spool, id) == -1)
		return spool_errno(id);
	printf("%s: removed\n", id);
	return EX_OK;
}
