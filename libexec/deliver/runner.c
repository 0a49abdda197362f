/*
 * The queue runner: finds the messages that are due, expands their
 * recipients, sorts the work by destination and hands it to worker
 * processes within the concurrency limits; when a message's workers
 * are done, sends its bounces and removes it once it is complete.
 *
 * The runner writes the expansion (X) and what it decides itself (B
 * for an unknown recipient, N, W), and removes the messages that are
 * done; the workers write the outcome of each delivery (D, Q, B).  A
 * message planned whole into one job is the worker's alone: it writes
 * the X records only if it has an outcome to record, and removes the
 * message itself when all is delivered (plan_fresh).  A message is
 * never in two workers' hands for the same destination, and the
 * runner never plans a message that still has workers.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "libmail.h"
#include "deliver.h"

/* A message that failed to make progress is looked at again after this. */
#define STALL_DELAY	60

#define DUPLICATE_REASON	"2.0.0 duplicate, delivered once"

/*
 * A worker process: one-shot, forked for a slice of a destination's
 * jobs (sock -1), or a local one that stays and takes a job at a time
 * over sock (pool.c); -2 once that socket is closed.
 */
struct worker {
	pid_t		 pid;
	int		 sock;
	struct dest	*dest;
	struct job	*jobs;		/* in hand; NULL: an idle local one */
	struct worker	*next;
};

/* When a message not in hand is due next, from the last look at it. */
struct cache_ent {
	char		 id[QUEUE_IDLEN + 1];
	time_t		 due;
};

struct runner {
	const struct conf	*conf;
	struct resolver		 res;
	struct qentry		**active;	/* sorted by ID */
	size_t			 nactive;
	size_t			 activecap;
	struct dest		*dests;
	struct worker		*workers;
	size_t			 nworkers;	/* busy ones */
	size_t			 npool;		/* local ones that stay */
	struct cache_ent	*cache;
	size_t			 ncache;
	size_t			 cachecap;
	size_t			 removed;	/* states to clean */
};

/* A record held back until the expansion is written (plan). */
struct held {
	int			 type;
	struct queue_target	 t;
	time_t			 now;
};

/* A message's state file, opened when the first record is written. */
struct statefd {
	const char	*spool;
	const char	*id;
	int		 fd;
	int		 unsynced;	/* records not fsynced yet */
	int		 hold;		/* hold the records other than X */
	struct held	*held;
	size_t		 nheld;
};

static time_t	 msg_due(const struct runner *, const struct queue_msg *);
static int	 cache_find(const struct cache_ent *, size_t, const char *,
		    size_t *);
static void	 cache_set(struct runner *, const char *, time_t);
static int	 active_pos(const struct runner *, const char *, size_t *);
static struct qentry *active_find(struct runner *, const char *);
static int	 active_add(struct runner *, struct qentry *);
static void	 active_remove(struct runner *, struct qentry *);
static void	 plan(struct runner *, struct queue_msg *);
static int	 plan_resolve(struct runner *, const struct mailaddr *,
		    struct resolve_target **, struct queue_target *);
static struct resolve_target *plan_expand(struct runner *,
		    struct queue_msg *, struct statefd *, time_t, size_t *);
static void	 plan_target(struct runner *, struct qentry *, size_t,
		    struct statefd *, struct job **, time_t,
		    const struct resolve_target *);
static int	 duplicate_find(const struct queue_msg *, size_t,
		    const struct job *, size_t *);
static int	 duplicate_add(struct qentry *, size_t, size_t);
static int	 job_add(struct job *, size_t, const struct resolve_target *);
static struct dest *dest_get(struct runner *, const char *, int);
static void	 finalize(struct runner *, struct qentry *);
static void	 finalize_duplicates(struct runner *,
		    const struct qentry *, struct queue_msg *, struct statefd *,
		    time_t);
static int	 outcome_set(struct queue_target *, int,
		    const struct worker_ctx *, const struct queue_msg *,
		    const char *, time_t, int *);
static void	 outcome_log(const struct queue_target *, int,
		    const struct queue_msg *, const char *, time_t);
static int	 unnotified(const struct queue_msg *);
static void	 finalize_bounces(struct runner *, struct queue_msg *,
		    struct statefd *, time_t);
static void	 finalize_warning(struct runner *, struct queue_msg *,
		    struct statefd *, time_t);
static int	 worker_start(struct runner *, struct dest *, size_t);
static void	 worker_child(struct runner *);
static struct worker *pool_spawn(struct runner *, struct dest *);
static void	 pool_dispatch(struct runner *, struct dest *);
static void	 pool_done(struct runner *, struct worker *);
static void	 worker_done(struct runner *, struct worker *, int);
static void	 job_free(struct job *);
static int	 maps_gave_up(const struct runner *, const struct queue_msg *,
		    struct queue_target *, time_t);
static void	 mark(struct statefd *, int, struct queue_target *, time_t);
static void	 mark_msg(struct statefd *, struct queue_msg *, int,
		    struct queue_target *, time_t);
static void	 state_close(struct statefd *);
static void	 state_release(struct statefd *);
static void	 expand_record(const struct queue_msg *, size_t,
		    struct queue_target *);

struct runner *
runner_new(const struct conf *conf)
{
	struct runner	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->conf = conf;
	/* A map missing now is retried at each lookup (resolve.c). */
	if (resolver_open(&r->res, conf) == -1)
		log_warn("cannot open the maps of %s", conf->mapdir);
	return r;
}

void
runner_free(struct runner *r)
{
	struct dest	*d;
	struct worker	*w;

	/* The local workers read the end of their socket, and exit. */
	while ((w = r->workers) != NULL) {
		r->workers = w->next;
		if (w->sock >= 0)
			close(w->sock);
		free(w);
	}
	resolver_close(&r->res);
	free(r->active);
	while ((d = r->dests) != NULL) {
		r->dests = d->next;
		free(d);
	}
	free(r->cache);
	free(r);
}

/*
 * The states of the messages removed since the last call, with one
 * fsync of the queue directory for all (queue_clean_orphans).
 */
void
runner_clean(struct runner *r)
{
	if (r->removed == 0)
		return;
	if (queue_clean_orphans(r->conf->spool) == -1)
		log_warn("%s/state", r->conf->spool);
	r->removed = 0;
}

/*
 * Stopping: an SMTP session may wait minutes for a slow server, so
 * remote workers are told to stop (their deliveries in flight are
 * tried again); local ones take milliseconds and are let finish.
 */
void
runner_stop(struct runner *r)
{
	struct worker	*w;

	for (w = r->workers; w != NULL; w = w->next)
		if (!w->dest->local)
			(void)kill(w->pid, SIGTERM);
}

size_t
runner_workers(const struct runner *r)
{
	return r->nworkers;
}

size_t
runner_waiting(const struct runner *r)
{
	const struct dest	*d;
	size_t			 n = 0;

	/* Remote ones may wait long on a slow host, and hold up nothing. */
	for (d = r->dests; d != NULL; d = d->next)
		if (d->local)
			n += d->njobs;
	return n;
}

time_t
runner_next_due(const struct runner *r, time_t now)
{
	time_t	 best = -1;
	size_t	 i;

	for (i = 0; i < r->ncache; i++)
		if (r->cache[i].due != -1 &&
		    (best == -1 || r->cache[i].due < best))
			best = r->cache[i].due;
	if (best == -1)
		return -1;
	return best > now ? best - now : 0;
}

/* Due for the queue, or for its delay warning. */
static time_t
msg_due(const struct runner *r, const struct queue_msg *m)
{
	time_t	 due, warn;
	size_t	 i;

	due = queue_msg_due(m);
	if (r->conf->delay_warning == 0 || m->warned != 0 ||
	    m->sender[0] == '\0')
		return due;
	for (i = 0; i < m->ntargets; i++)
		if (m->targets[i].status == QUEUE_DEFERRED)
			break;
	if (i == m->ntargets)
		return due;
	warn = m->arrival + r->conf->delay_warning;
	return due == -1 || warn < due ? warn : due;
}

static int
cache_find(const struct cache_ent *cache, size_t n, const char *id,
    size_t *pos)
{
	size_t	 lo = 0, hi = n, mid;
	int	 c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if ((c = strcmp(id, cache[mid].id)) == 0) {
			*pos = mid;
			return 1;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*pos = lo;
	return 0;
}

static void
cache_set(struct runner *r, const char *id, time_t due)
{
	struct cache_ent	*nc;
	size_t			 pos, ncap;

	if (cache_find(r->cache, r->ncache, id, &pos)) {
		r->cache[pos].due = due;
		return;
	}
	if (r->ncache == r->cachecap) {
		ncap = r->cachecap == 0 ? 64 : r->cachecap * 2;
		if ((nc = reallocarray(r->cache, ncap, sizeof(*nc))) == NULL)
			return;		/* read again at the next scan */
		r->cache = nc;
		r->cachecap = ncap;
	}
	nc = r->cache;
	memmove(&nc[pos + 1], &nc[pos], (r->ncache - pos) * sizeof(*nc));
	strlcpy(nc[pos].id, id, sizeof(nc[pos].id));
	nc[pos].due = due;
	r->ncache++;
}

/*
 * The messages in hand, sorted by ID: a scan looks up every message
 * of the queue, and a backlog makes them many.
 */
static int
active_pos(const struct runner *r, const char *id, size_t *pos)
{
	size_t	 lo = 0, hi = r->nactive, mid;
	int	 c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if ((c = strcmp(id, r->active[mid]->msg.id)) == 0) {
			*pos = mid;
			return 1;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*pos = lo;
	return 0;
}

static struct qentry *
active_find(struct runner *r, const char *id)
{
	size_t	 pos;

	return active_pos(r, id, &pos) ? r->active[pos] : NULL;
}

static int
active_add(struct runner *r, struct qentry *qe)
{
	struct qentry	**na;
	size_t		  pos, ncap;

	if (active_pos(r, qe->msg.id, &pos)) {
		errno = EEXIST;
		return -1;
	}
	if (r->nactive == r->activecap) {
		ncap = r->activecap == 0 ? 64 : r->activecap * 2;
		if ((na = reallocarray(r->active, ncap, sizeof(*na))) == NULL)
			return -1;
		r->active = na;
		r->activecap = ncap;
	}
	memmove(&r->active[pos + 1], &r->active[pos],
	    (r->nactive - pos) * sizeof(*r->active));
	r->active[pos] = qe;
	r->nactive++;
	return 0;
}

static void
active_remove(struct runner *r, struct qentry *qe)
{
	size_t	 pos;

	if (active_pos(r, qe->msg.id, &pos) && r->active[pos] == qe) {
		memmove(&r->active[pos], &r->active[pos + 1],
		    (r->nactive - pos - 1) * sizeof(*r->active));
		r->nactive--;
	}
	queue_msg_free(&qe->msg);
	free(qe->dups);
	free(qe);
}

/*
 * A full scan reads every message; otherwise only those not seen
 * before and those whose remembered due time has come, which is what
 * keeps a wakeup cheap with a long queue of deferred mail.
 */
int
runner_scan(struct runner *r, int full)
{
	struct cache_ent	*old = r->cache;
	size_t			 nold = r->ncache, i, pos;
	struct queue_msg	 m;
	char			 err[256], **ids;
	size_t			 nids;
	time_t			 now = time(NULL), due;

	if (queue_list(r->conf->spool, &ids, &nids) == -1) {
		log_warn("%s/queue", r->conf->spool);
		return -1;
	}
	/* After a crash, states of messages removed just before it. */
	if (full && queue_clean_orphans(r->conf->spool) == -1)
		log_warn("%s/state", r->conf->spool);
	if (resolver_refresh(&r->res) == -1)
		log_warn("cannot reopen the maps of %s", r->conf->mapdir);
	r->cache = NULL;
	r->ncache = r->cachecap = 0;
	for (i = 0; i < nids && !deliver_quit; i++) {
		if (active_find(r, ids[i]) != NULL)
			continue;
		if (!full && cache_find(old, nold, ids[i], &pos) &&
		    (old[pos].due == -1 || old[pos].due > now)) {
			due = old[pos].due;
			goto keep;
		}
		if (queue_read(r->conf->spool, ids[i], &m, err,
		    sizeof(err)) == -1) {
			if (errno == ENOENT)
				continue;
			if (errno == EINVAL)
				log_warnx("%s: malformed queue file: %s",
				    ids[i], err);
			else
				log_warn("%s: cannot read", ids[i]);
			/* Left for the admin; looked at on full scans. */
			due = -1;
			goto keep;
		}
		due = msg_due(r, &m);
		if (due != -1 && due <= now) {
			plan(r, &m);
			continue;
		}
		queue_msg_free(&m);
keep:
		cache_set(r, ids[i], due);
	}
	free(old);
	queue_list_free(ids, nids);
	return 0;
}

/*
 * Writes a record now, and logs what could not be written; also
 * applied to m, if given.  An X record needs no fsync of its own: lost
 * in a crash, it is made again the same way, and the fsync after a
 * delivery covers it.
 */
static void
mark_msg(struct statefd *sf, struct queue_msg *m, int type,
    struct queue_target *t, time_t now)
{
	struct held	*nh;

	if (sf->hold && type != QUEUE_REC_EXPAND) {
		if ((nh = reallocarray(sf->held, sf->nheld + 1,
		    sizeof(*nh))) == NULL) {
			/* Not on disk: the next run decides it again. */
			log_warn("%s: to=<%s>", sf->id, t->addr);
			return;
		}
		sf->held = nh;
		nh[sf->nheld].type = type;
		nh[sf->nheld].t = *t;
		nh[sf->nheld++].now = now;
		if (m != NULL)
			(void)queue_state_record(-1, m, type, t, now);
		return;
	}
	if (sf->fd == -1 &&
	    (sf->fd = queue_state_open(sf->spool, sf->id)) == -1) {
		log_warn("%s: cannot open its state", sf->id);
		return;
	}
	if (queue_state_record(sf->fd, m, type, t, now) == -1)
		log_warn("%s: cannot write the state of <%s>", sf->id,
		    t != NULL ? t->addr : "?");
	if (type != QUEUE_REC_EXPAND)
		sf->unsynced = 1;
}

static void
mark(struct statefd *sf, int type, struct queue_target *t, time_t now)
{
	mark_msg(sf, NULL, type, t, now);
}

/* The records held back, now that the expansion is on disk. */
static void
state_release(struct statefd *sf)
{
	size_t	 i;

	sf->hold = 0;
	for (i = 0; i < sf->nheld; i++)
		mark(sf, sf->held[i].type, &sf->held[i].t, sf->held[i].now);
	free(sf->held);
	sf->held = NULL;
	sf->nheld = 0;
}

/*
 * The X record of target i of m, which says how many targets its
 * recipient has: a reader that finds fewer (a crash in the middle of
 * writing them) expands the recipient again (queue.c).
 */
static void
expand_record(const struct queue_msg *m, size_t i, struct queue_target *x)
{
	size_t	 k;

	*x = m->targets[i];
	x->attempts = 0;
	for (k = 0; k < m->ntargets; k++)
		if (m->targets[k].rcpt == x->rcpt)
			x->attempts++;
}

/* The runner's records on disk, before anything relies on them. */
static void
state_close(struct statefd *sf)
{
	if (sf->fd == -1)
		return;
	if (sf->unsynced && fsync(sf->fd) == -1)
		log_warn("%s: fsync of its state", sf->id);
	close(sf->fd);
	sf->fd = -1;
	sf->unsynced = 0;
}

/*
 * Maps that cannot be read leave the recipient for later, until the
 * message has been in the queue for queue_lifetime: 1 then, with the
 * reason of the bounce in t.
 */
static int
maps_gave_up(const struct runner *r, const struct queue_msg *m,
    struct queue_target *t, time_t now)
{
	if (now - m->arrival < r->conf->queue_lifetime) {
		log_warnx("%s: to=<%s>, cannot read the maps, will retry",
		    m->id, t->addr);
		return 0;
	}
	strlcpy(t->reason, "4.3.0 cannot read the maps (gave up: in the "
	    "queue longer than queue_lifetime)", sizeof(t->reason));
	log_warnx("%s: to=<%s>, status=bounced (%s)", m->id, t->addr,
	    t->reason);
	return 1;
}

/*
 * What a recipient resolves to, as resolve_expand says; but an SRS
 * address of ours stands for the remote address it was made from
 * (forward.c), or is bounced (-3, the reason in t) if it does not
 * verify.
 */
static int
plan_resolve(struct runner *r, const struct mailaddr *ma,
    struct resolve_target **rt, struct queue_target *t)
{
	char		 orig[ADDR_MAX + 1];
	const char	*why = NULL;
	int		 n;

	if ((n = forward_reverse(&r->res, ma, orig, sizeof(orig), &why)) == 0)
		return resolve_expand(&r->res, ma, rt);
	if (n == -1)
		return -1;
	if (n == -2) {
		strlcpy(t->reason, why, sizeof(t->reason));
		return -3;
	}
	if ((*rt = calloc(1, sizeof(**rt))) == NULL)
		return -1;
	strlcpy((*rt)->addr, orig, sizeof((*rt)->addr));
	return 1;
}

/*
 * Expands the recipients not expanded yet into X records (B when the
 * address resolves to nothing), applied to m as they are written.  A
 * map that cannot be read leaves the recipient for later, untouched.
 * Returns what each new target resolved to, indexed like m->targets
 * (addr "" for the others), so that it need not be resolved again.
 */
static struct resolve_target *
plan_expand(struct runner *r, struct queue_msg *m, struct statefd *sf,
    time_t now, size_t *nknown)
{
	struct resolve_target	*rt, *known = NULL, *nk;
	struct queue_target	 t, *qt;
	struct mailaddr		 ma;
	const char		*errstr;
	size_t			 i, had;
	int			 n, k;

	*nknown = 0;
	for (i = 0; i < m->nrcpts; i++) {
		if (m->expanded[i])
			continue;
		memset(&t, 0, sizeof(t));
		t.rcpt = i;
		strlcpy(t.addr, m->rcpts[i], sizeof(t.addr));
		if (addr_parse(m->rcpts[i], &ma, &errstr) == -1) {
			reasonf(t.reason, sizeof(t.reason),
			    "5.1.3 bad recipient address syntax: %s", errstr);
			mark_msg(sf, m, QUEUE_REC_BOUNCED, &t, now);
			continue;
		}
		rt = NULL;
		n = plan_resolve(r, &ma, &rt, &t);
		if (n == -1) {
			if (maps_gave_up(r, m, &t, now))
				mark_msg(sf, m, QUEUE_REC_BOUNCED, &t, now);
			continue;
		}
		if (n <= 0) {
			if (n == 0 || n == -2)
				strlcpy(t.reason, n == 0 ?
				    "5.1.1 recipient address unknown" :
				    "5.4.6 alias loop with no final target",
				    sizeof(t.reason));
			mark_msg(sf, m, QUEUE_REC_BOUNCED, &t, now);
			continue;
		}
		for (k = 0; k < n; k++) {
			strlcpy(t.addr, rt[k].addr, sizeof(t.addr));
			t.reason[0] = '\0';
			had = m->ntargets;
			/* Written by plan, or by the worker, as needed. */
			(void)queue_state_record(-1, m, QUEUE_REC_EXPAND, &t,
			    now);
			if (rt[k].unknown) {
				strlcpy(t.reason, "5.1.1 mailbox unknown",
				    sizeof(t.reason));
				mark_msg(sf, m, QUEUE_REC_BOUNCED, &t, now);
			}
			qt = queue_target_find(m, i, rt[k].addr);
			if (qt == NULL || m->ntargets == had)
				continue;
			nk = reallocarray(known, m->ntargets, sizeof(*nk));
			if (nk == NULL)
				continue;
			known = nk;
			memset(&known[*nknown], 0,
			    (m->ntargets - *nknown) * sizeof(*known));
			*nknown = m->ntargets;
			known[qt - m->targets] = rt[k];
		}
		free(rt);
	}
	return known;
}

static struct dest *
dest_get(struct runner *r, const char *key, int local)
{
	struct dest	*d;

	for (d = r->dests; d != NULL; d = d->next)
		if (d->local == local && strcasecmp(d->key, key) == 0)
			return d;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	strlcpy(d->key, key, sizeof(d->key));
	d->local = local;
	d->jobs_tail = &d->jobs;
	d->next = r->dests;
	r->dests = d;
	return d;
}

/*
 * Whether target ti of m is a mailbox or remote address that another
 * target has: 1 if that one is delivered already, 2 if it is planned
 * in jobs (its index in *copy), 0 if neither.  Compared exactly: local
 * targets are mailbox keys, folded by the resolver, and remote ones
 * keep the case of their local part, which is the remote host's to
 * interpret (RFC 5321 2.4).
 */
static int
duplicate_find(const struct queue_msg *m, size_t ti, const struct job *jobs,
    size_t *copy)
{
	const struct queue_target *t = &m->targets[ti];
	const struct job *j;
	size_t		 i;

	for (i = 0; i < m->ntargets; i++)
		if (i != ti && m->targets[i].status == QUEUE_DELIVERED &&
		    strcmp(m->targets[i].addr, t->addr) == 0)
			return 1;
	for (j = jobs; j != NULL; j = j->next)
		for (i = 0; i < j->ntargets; i++)
			if (strcmp(m->targets[j->tidx[i]].addr, t->addr) == 0) {
				*copy = j->tidx[i];
				return 2;
			}
	return 0;
}

static int
duplicate_add(struct qentry *qe, size_t ti, size_t copy)
{
	struct duplicate	*nd;

	if ((nd = reallocarray(qe->dups, qe->ndups + 1, sizeof(*nd))) ==
	    NULL)
		return -1;
	qe->dups = nd;
	nd[qe->ndups].target = ti;
	nd[qe->ndups].copy = copy;
	nd[qe->ndups++].attempts = qe->msg.targets[copy].attempts;
	return 0;
}

static int
job_add(struct job *j, size_t ti, const struct resolve_target *rt)
{
	size_t			*ntidx;
	struct resolve_target	*nrt;

	if ((ntidx = reallocarray(j->tidx, j->ntargets + 1,
	    sizeof(*ntidx))) == NULL)
		return -1;
	j->tidx = ntidx;
	if ((nrt = reallocarray(j->rt, j->ntargets + 1, sizeof(*nrt))) ==
	    NULL)
		return -1;
	j->rt = nrt;
	j->tidx[j->ntargets] = ti;
	j->rt[j->ntargets++] = *rt;
	return 0;
}

/*
 * Resolves target ti again (it is final, so it resolves to itself,
 * unless the maps changed since) for its Maildir and quota, or to tell
 * which destination it goes to, and puts it into the message's job for
 * that destination.
 */
static void
plan_target(struct runner *r, struct qentry *qe, size_t ti,
    struct statefd *sf, struct job **jobs, time_t now,
    const struct resolve_target *known)
{
	struct queue_msg	*m = &qe->msg;
	struct queue_target	*t = &m->targets[ti];
	struct resolve_target	*rt = NULL;
	const struct resolve_target *pick;
	struct mailaddr		 ma;
	const char		*errstr, *key;
	struct dest		*d;
	struct job		*j;
	char			 sender[ADDR_MAX + 1];
	size_t			 copy;
	int			 n, i, rewritten;

	if (addr_parse(t->addr, &ma, &errstr) == -1) {
		reasonf(t->reason, sizeof(t->reason),
		    "5.1.3 bad address syntax: %s", errstr);
		mark(sf, QUEUE_REC_BOUNCED, t, now);
		return;
	}
	if (known != NULL)
		pick = known;
	else {
		n = resolve_expand(&r->res, &ma, &rt);
		if (n == -1) {
			if (maps_gave_up(r, m, t, now))
				mark(sf, QUEUE_REC_BOUNCED, t, now);
			return;
		}
		if (n <= 0) {
			strlcpy(t->reason, "5.1.1 mailbox unknown",
			    sizeof(t->reason));
			mark(sf, QUEUE_REC_BOUNCED, t, now);
			return;
		}
		pick = &rt[0];
		for (i = 0; i < n; i++)
			if (strcasecmp(rt[i].addr, t->addr) == 0)
				pick = &rt[i];
	}
	if (pick->unknown) {
		strlcpy(t->reason, "5.1.1 mailbox unknown", sizeof(t->reason));
		mark(sf, QUEUE_REC_BOUNCED, t, now);
		goto out;
	}
	switch (duplicate_find(m, ti, *jobs, &copy)) {
	case 1:
		strlcpy(t->reason, DUPLICATE_REASON, sizeof(t->reason));
		log_info("%s: to=<%s>, relay=none, status=sent (%s)", m->id,
		    t->addr, t->reason);
		mark(sf, QUEUE_REC_DELIVERED, t, now);
		goto out;
	case 2:
		/* Left pending: finalize_duplicates records it. */
		if (duplicate_add(qe, ti, copy) == -1)
			log_warn("%s: to=<%s>", m->id, t->addr);
		goto out;
	}
	if (pick->local)
		key = "local";
	else if (r->conf->relayhost[0] != '\0')
		key = r->conf->relayhost;
	else
		key = ma.domain;
	if ((d = dest_get(r, key, pick->local)) == NULL)
		goto out;
	rewritten = !pick->local && forward_sender(&r->res, m,
	    m->rcpts[t->rcpt], sender, sizeof(sender));
	/* One transaction a sender: a forwarded target goes apart. */
	for (j = *jobs; j != NULL; j = j->next)
		if (j->dest == d && j->rewritten == rewritten &&
		    (!rewritten || strcmp(j->sender, sender) == 0))
			break;
	if (j == NULL) {
		if ((j = calloc(1, sizeof(*j))) == NULL)
			goto out;
		j->qe = qe;
		j->dest = d;
		j->rewritten = rewritten;
		if (rewritten)
			strlcpy(j->sender, sender, sizeof(j->sender));
		j->next = *jobs;
		*jobs = j;
	}
	if (job_add(j, ti, pick) == -1)
		log_warn("%s: to=<%s>", m->id, t->addr);
out:
	free(rt);
}

/*
 * 1 if the message can leave the queue in one go: nothing about it is
 * on disk yet, every recipient is expanded, and all of its targets are
 * in the one job.  The worker then writes no state unless something
 * fails (queue.c).
 */
static int
plan_fresh(const struct queue_msg *m, const struct statefd *sf,
    const struct job *jobs)
{
	size_t	 i;

	if (m->has_state || sf->fd != -1 || sf->nheld > 0 || jobs == NULL ||
	    jobs->next != NULL || jobs->ntargets != m->ntargets)
		return 0;
	for (i = 0; i < m->nrcpts; i++)
		if (!m->expanded[i])
			return 0;
	return 1;
}

/* Takes the message m (its contents move into the runner). */
static void
plan(struct runner *r, struct queue_msg *m)
{
	struct qentry		*qe;
	struct resolve_target	*known = NULL;
	struct job		*jobs = NULL, *j, *next;
	struct statefd		 sf;
	struct queue_target	 x;
	unsigned char		*before = NULL;
	time_t			 now = time(NULL);
	size_t			 i, nknown = 0;

	if ((qe = calloc(1, sizeof(*qe))) == NULL ||
	    (before = malloc(m->nrcpts)) == NULL) {
		log_warn("%s", m->id);
		free(qe);
		queue_msg_free(m);
		return;
	}
	qe->msg = *m;
	m = &qe->msg;
	if (active_add(r, qe) == -1) {
		log_warn("%s", m->id);
		free(before);
		queue_msg_free(m);
		free(qe);
		return;
	}
	memset(&sf, 0, sizeof(sf));
	sf.spool = r->conf->spool;
	sf.id = m->id;
	sf.fd = -1;
	/* The expansion of a recipient goes first, whole (queue.c). */
	sf.hold = 1;

	memcpy(before, m->expanded, m->nrcpts);
	for (i = 0; i < m->nrcpts; i++)
		if (!m->expanded[i])
			break;
	if (i < m->nrcpts)
		known = plan_expand(r, m, &sf, now, &nknown);
	for (i = 0; i < m->ntargets; i++) {
		if (m->targets[i].status == QUEUE_PENDING ||
		    (m->targets[i].status == QUEUE_DEFERRED &&
		    m->targets[i].next <= now))
			plan_target(r, qe, i, &sf, &jobs, now,
			    i < nknown && known[i].addr[0] != '\0' ?
			    &known[i] : NULL);
	}
	free(known);
	if (plan_fresh(m, &sf, jobs))
		jobs->fresh = 1;
	else
		/* The expansion on disk, before any outcome of it. */
		for (i = 0; i < m->ntargets; i++)
			if (!before[m->targets[i].rcpt]) {
				expand_record(m, i, &x);
				mark(&sf, QUEUE_REC_EXPAND, &x, now);
			}
	state_release(&sf);
	free(before);
	/* The B and D records written here, before anything else is. */
	state_close(&sf);
	for (j = jobs; j != NULL; j = next) {
		next = j->next;
		j->next = NULL;
		*j->dest->jobs_tail = j;
		j->dest->jobs_tail = &j->next;
		j->dest->njobs++;
		qe->jobs++;
	}
	if (qe->jobs == 0)
		finalize(r, qe);
}

void
runner_dispatch(struct runner *r)
{
	struct dest	*d, **dp;
	size_t		 limit, slots, take;

	dp = &r->dests;
	while ((d = *dp) != NULL && !deliver_quit) {
		/*
		 * Nothing refers to an idle remote one: forgotten, or the
		 * daemon would keep every domain it ever sent to.
		 */
		if (!d->local && d->njobs == 0 && d->running == 0) {
			*dp = d->next;
			free(d);
			continue;
		}
		dp = &d->next;
		if (d->local) {
			pool_dispatch(r, d);
			continue;
		}
		limit = r->conf->max_per_destination;
		if (limit == 0)
			limit = 1;
		while (d->njobs > 0 && r->nworkers < r->conf->max_deliveries &&
		    d->running < limit) {
			slots = r->conf->max_deliveries - r->nworkers;
			if (limit - d->running < slots)
				slots = limit - d->running;
			take = (d->njobs + slots - 1) / slots;
			/* No fork: the jobs wait for the next dispatch. */
			if (worker_start(r, d, take) == -1)
				break;
		}
	}
}

/* Starts a worker with the first n jobs of d; 0, or -1 if it cannot. */
static int
worker_start(struct runner *r, struct dest *d, size_t n)
{
	struct worker_ctx	 ctx;
	struct worker		*w;
	struct job		**tail;
	size_t			 i;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warn("worker");
		return -1;
	}
	w->sock = -1;
	w->dest = d;
	w->jobs = d->jobs;
	tail = &d->jobs;
	for (i = 0; i < n && *tail != NULL; i++)
		tail = &(*tail)->next;
	d->jobs = *tail;
	*tail = NULL;
	if (d->jobs == NULL)
		d->jobs_tail = &d->jobs;
	d->njobs -= i;

	switch (w->pid = fork()) {
	case -1:
		log_warn("fork");
		/* Back in front of the queue, for the next dispatch. */
		*tail = d->jobs;
		d->jobs = w->jobs;
		if (*tail == NULL)
			d->jobs_tail = tail;
		d->njobs += i;
		free(w);
		return -1;
	case 0:
		worker_child(r);
		ctx.conf = r->conf;
		ctx.now = time(NULL);
		if (d->local) {
			relayauth_wipe();
			local_run(&ctx, w->jobs);
		} else
			remote_run(&ctx, d->key, w->jobs);
		_exit(0);
	}
	w->next = r->workers;
	r->workers = w;
	r->nworkers++;
	d->running++;
	return 0;
}

/* In a new worker: what it must not hold, and death with the runner. */
static void
worker_child(struct runner *r)
{
	struct worker	*w;

#ifdef __linux__
	/* Workers die with the runner: no delivery outlives it. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(0);
#endif
	/* The local workers must see the end of their socket. */
	for (w = r->workers; w != NULL; w = w->next)
		if (w->sock >= 0)
			close(w->sock);
	deliver_child_init();
}

static struct worker *
pool_spawn(struct runner *r, struct dest *d)
{
	struct worker	*w;
	int		 sv[2];

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("socketpair");
		free(w);
		return NULL;
	}
	switch (w->pid = fork()) {
	case -1:
		log_warn("fork");
		close(sv[0]);
		close(sv[1]);
		free(w);
		return NULL;
	case 0:
		close(sv[0]);
		worker_child(r);
		pool_main(r->conf, sv[1]);
	}
	close(sv[1]);
	w->sock = sv[0];
	w->dest = d;
	w->next = r->workers;
	r->workers = w;
	r->npool++;
	return w;
}

/*
 * Local jobs go to the local workers that stay, as many as
 * max_deliveries allows (and, when they go to an LMTP server, which is
 * one destination, max_per_destination), in batches: the waiting jobs
 * shared among the free slots, POOL_BATCH at most to one worker, so
 * that one job alone goes at once and a backlog shares its fsyncs
 * (local.c).  A job too big to send goes to a one-shot worker instead.
 */
static void
pool_dispatch(struct runner *r, struct dest *d)
{
	struct worker	*w;
	struct job	**tail;
	size_t		 slots, take;
	int		 i, n;

	while (d->njobs > 0 && r->nworkers < r->conf->max_deliveries &&
	    (r->conf->nlmtp == 0 ||
	    d->running < r->conf->max_per_destination)) {
		for (w = r->workers; w != NULL; w = w->next)
			if (w->sock >= 0 && w->jobs == NULL)
				break;
		if (w == NULL && (r->npool >= r->conf->max_deliveries ||
		    (w = pool_spawn(r, d)) == NULL)) {
			worker_start(r, d, 1);
			return;
		}
		slots = r->conf->max_deliveries - r->nworkers;
		if (r->conf->nlmtp > 0 &&
		    r->conf->max_per_destination - d->running < slots)
			slots = r->conf->max_per_destination - d->running;
		take = (d->njobs + slots - 1) / slots;
		if (take > POOL_BATCH)
			take = POOL_BATCH;
		if ((n = pool_send(w->sock, d->jobs, take)) <= 0) {
			/* No fork either: the jobs wait for the next dispatch. */
			if (worker_start(r, d, 1) == -1)
				return;
			continue;
		}
		w->jobs = d->jobs;
		tail = &d->jobs;
		for (i = 0; i < n; i++)
			tail = &(*tail)->next;
		d->jobs = *tail;
		*tail = NULL;
		if (d->jobs == NULL)
			d->jobs_tail = &d->jobs;
		d->njobs -= (size_t)n;
		r->nworkers++;
		d->running++;
	}
}

/* A local worker answered for its batch, or closed its socket. */
static void
pool_done(struct runner *r, struct worker *w)
{
	struct job	*j, *next;
	char		 c;
	ssize_t		 n;

	n = recv(w->sock, &c, 1, MSG_DONTWAIT);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (w->jobs != NULL) {
		r->nworkers--;
		w->dest->running--;
	}
	for (j = w->jobs, w->jobs = NULL; j != NULL; j = next) {
		next = j->next;
		if (--j->qe->jobs == 0)
			finalize(r, j->qe);
		job_free(j);
	}
	if (n <= 0) {
		/* Gone: reaped and forgotten at its SIGCHLD. */
		close(w->sock);
		w->sock = -2;
		r->npool--;
	}
}

size_t
runner_pollfds(const struct runner *r, struct pollfd *pfd, size_t max)
{
	struct worker	*w;
	size_t		 n = 0;

	for (w = r->workers; w != NULL && n < max; w = w->next)
		if (w->sock >= 0 && w->jobs != NULL) {
			pfd[n].fd = w->sock;
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			n++;
		}
	return n;
}

void
runner_pollin(struct runner *r, const struct pollfd *pfd, size_t n)
{
	struct worker	*w;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		for (w = r->workers; w != NULL; w = w->next)
			if (w->sock == pfd[i].fd)
				break;
		if (w != NULL)
			pool_done(r, w);
	}
}

int
runner_reap(struct runner *r, int blocking)
{
	struct worker	**pp, *w;
	pid_t		 pid;
	int		 status, n = 0;

	for (;;) {
		pid = waitpid(-1, &status, blocking && n == 0 ? 0 : WNOHANG);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		for (pp = &r->workers; *pp != NULL; pp = &(*pp)->next)
			if ((*pp)->pid == pid)
				break;
		if ((w = *pp) == NULL)
			continue;
		*pp = w->next;
		worker_done(r, w, status);
		n++;
	}
	return n;
}

static void
worker_done(struct runner *r, struct worker *w, int status)
{
	struct job	*j, *next;

	if (WIFSIGNALED(status))
		log_warnx("worker %ld for %s killed by signal %d",
		    (long)w->pid, w->dest->key, WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		log_warnx("worker %ld for %s exited %d", (long)w->pid,
		    w->dest->key, WEXITSTATUS(status));
	if (w->sock != -1) {
		if (w->sock >= 0) {
			close(w->sock);
			r->npool--;
		}
		if (w->jobs == NULL) {
			free(w);
			return;
		}
	}
	r->nworkers--;
	w->dest->running--;
	for (j = w->jobs; j != NULL; j = next) {
		next = j->next;
		if (--j->qe->jobs == 0)
			finalize(r, j->qe);
		job_free(j);
	}
	free(w);
}

static void
job_free(struct job *j)
{
	free(j->tidx);
	free(j->rt);
	free(j);
}

/*
 * The message's workers are done: read what they recorded, send the
 * bounces and the delay warning due, and remove the message if nothing
 * is left to do.
 */
static void
finalize(struct runner *r, struct qentry *qe)
{
	struct queue_msg	 m;
	struct statefd		 sf;
	char			 err[256];
	time_t			 now = time(NULL), due;

	if (queue_read(r->conf->spool, qe->msg.id, &m, err,
	    sizeof(err)) == -1) {
		/* Gone: delivered in one go by its worker, or mailq -r. */
		if (errno == ENOENT)
			r->removed++;
		else
			log_warn("%s: cannot read", qe->msg.id);
		active_remove(r, qe);
		return;
	}
	memset(&sf, 0, sizeof(sf));
	sf.spool = r->conf->spool;
	sf.id = m.id;
	sf.fd = -1;
	finalize_duplicates(r, qe, &m, &sf, now);
	active_remove(r, qe);
	finalize_bounces(r, &m, &sf, now);
	finalize_warning(r, &m, &sf, now);
	state_close(&sf);
	/* A bounce that could not be queued keeps the message here. */
	if (queue_msg_done(&m) && !unnotified(&m)) {
		if (queue_unlink(r->conf->spool, m.id) == -1)
			log_warn("%s: cannot remove", m.id);
		else {
			log_info("%s: removed", m.id);
			r->removed++;
		}
		queue_msg_free(&m);
		return;
	}
	due = msg_due(r, &m);
	/* Still due at once: no progress was possible (maps, a crash). */
	if (due != -1 && due <= now)
		due = now + STALL_DELAY;
	cache_set(r, m.id, due);
	queue_msg_free(&m);
}

/*
 * Each duplicate gets the outcome its copy has now, read from the
 * state: delivered, bounced (so the sender hears of both recipients),
 * or deferred.  A copy without a new outcome (its worker died) leaves
 * the duplicate pending, to be planned again with it.
 */
static void
finalize_duplicates(struct runner *r, const struct qentry *qe,
    struct queue_msg *m, struct statefd *sf, time_t now)
{
	const struct duplicate	*dup;
	const struct queue_target *was;
	struct queue_target	*t, *copy;
	struct worker_ctx	 ctx = { r->conf, now };
	const char		*reason;
	size_t			 i;
	int			 outcome, type;

	for (i = 0; i < qe->ndups; i++) {
		dup = &qe->dups[i];
		was = &qe->msg.targets[dup->target];
		t = queue_target_find(m, was->rcpt, was->addr);
		was = &qe->msg.targets[dup->copy];
		copy = queue_target_find(m, was->rcpt, was->addr);
		if (t == NULL || copy == NULL ||
		    copy->attempts <= dup->attempts ||
		    t->status == QUEUE_DELIVERED || t->status == QUEUE_BOUNCED)
			continue;
		reason = copy->reason;
		if (copy->status == QUEUE_DELIVERED) {
			outcome = DELIVER_OK;
			reason = DUPLICATE_REASON;
		} else if (copy->status == QUEUE_BOUNCED)
			outcome = DELIVER_PERM;
		else if (copy->status == QUEUE_DEFERRED)
			outcome = DELIVER_TEMP;
		else
			continue;
		outcome = outcome_set(t, outcome, &ctx, m, reason, now, &type);
		mark_msg(sf, m, type, t, now);
		outcome_log(t, outcome, m, "none", now);
	}
}

/* 1 if a target bounced and its DSN is not queued yet. */
static int
unnotified(const struct queue_msg *m)
{
	size_t	 i;

	for (i = 0; i < m->ntargets; i++)
		if (m->targets[i].status == QUEUE_BOUNCED &&
		    !m->targets[i].notified)
			return 1;
	return 0;
}

/*
 * One DSN for the targets bounced since the last one: to the sender;
 * for a message from <>, to the postmaster, unless the postmaster is
 * the one who could not be reached (then the failure is only logged).
 * The postmaster may be an alias: what failed is then one of its
 * targets, and its recipient is the postmaster.
 */
static void
finalize_bounces(struct runner *r, struct queue_msg *m, struct statefd *sf,
    time_t now)
{
	const char	*to;
	char		 newid[QUEUE_IDLEN + 1];
	size_t		*tidx, n = 0, i;

	if ((tidx = calloc(m->ntargets + 1, sizeof(*tidx))) == NULL)
		return;
	for (i = 0; i < m->ntargets; i++)
		if (m->targets[i].status == QUEUE_BOUNCED &&
		    !m->targets[i].notified)
			tidx[n++] = i;
	if (n == 0) {
		free(tidx);
		return;
	}
	to = m->sender[0] != '\0' ? m->sender : r->conf->postmaster;
	for (i = 0; i < n && m->sender[0] == '\0'; i++)
		if (strcasecmp(m->targets[tidx[i]].addr,
		    r->conf->postmaster) == 0 ||
		    strcasecmp(m->rcpts[m->targets[tidx[i]].rcpt],
		    r->conf->postmaster) == 0)
			to = NULL;
	if (to == NULL)
		log_warnx("%s: double bounce to <%s> dropped", m->id,
		    r->conf->postmaster);
	else if (bounce_enqueue(r->conf, m, tidx, n, DSN_FAILED, to, newid,
	    sizeof(newid)) == -1) {
		log_warn("%s: cannot queue the bounce, will retry", m->id);
		free(tidx);
		return;
	} else
		log_info("%s: sender non-delivery notification: %s", m->id,
		    newid);
	for (i = 0; i < n; i++) {
		m->targets[tidx[i]].notified = 1;
		mark(sf, QUEUE_REC_NOTIFIED, &m->targets[tidx[i]], now);
	}
	free(tidx);
}

static void
finalize_warning(struct runner *r, struct queue_msg *m, struct statefd *sf,
    time_t now)
{
	char	 newid[QUEUE_IDLEN + 1];
	size_t	*tidx, n = 0, i;

	if (r->conf->delay_warning == 0 || m->warned != 0 ||
	    m->sender[0] == '\0' ||
	    now - m->arrival < r->conf->delay_warning)
		return;
	if ((tidx = calloc(m->ntargets + 1, sizeof(*tidx))) == NULL)
		return;
	for (i = 0; i < m->ntargets; i++)
		if (m->targets[i].status == QUEUE_DEFERRED)
			tidx[n++] = i;
	if (n > 0) {
		if (bounce_enqueue(r->conf, m, tidx, n, DSN_DELAYED,
		    m->sender, newid, sizeof(newid)) == -1)
			log_warn("%s: cannot queue the delay warning", m->id);
		else {
			log_info("%s: sender delay notification: %s", m->id,
			    newid);
			m->warned = now;
			mark(sf, QUEUE_REC_WARNED, NULL, now);
		}
	}
	free(tidx);
}

time_t
retry_next(const struct conf *conf, unsigned int attempts, time_t now)
{
	size_t	 i;

	if (conf->nretry_schedule == 0)
		return now + 300;
	i = attempts == 0 ? 0 : attempts - 1;
	if (i >= conf->nretry_schedule)
		i = conf->nretry_schedule - 1;
	return now + conf->retry_schedule[i];
}

/*
 * The outcome of one delivery, into t: a temporary failure past
 * queue_lifetime is a bounce.  Returns the outcome, and its record
 * type in *type.
 */
static int
outcome_set(struct queue_target *t, int outcome, const struct worker_ctx *ctx,
    const struct queue_msg *m, const char *reason, time_t now, int *type)
{
	t->attempts++;
	t->last = now;
	t->next = 0;
	strlcpy(t->reason, reason, sizeof(t->reason));
	if (outcome == DELIVER_TEMP &&
	    now - m->arrival >= ctx->conf->queue_lifetime) {
		outcome = DELIVER_PERM;
		reasonf(t->reason, sizeof(t->reason),
		    "%s (gave up: in the queue longer than queue_lifetime)",
		    reason);
	}
	switch (outcome) {
	case DELIVER_OK:
		*type = QUEUE_REC_DELIVERED;
		break;
	case DELIVER_TEMP:
		*type = QUEUE_REC_DEFERRED;
		t->next = retry_next(ctx->conf, t->attempts, now);
		break;
	default:
		*type = QUEUE_REC_BOUNCED;
		break;
	}
	return outcome;
}

static void
outcome_log(const struct queue_target *t, int outcome,
    const struct queue_msg *m, const char *relay, time_t now)
{
	static const char *const names[] = { "sent", "deferred", "bounced" };
	char		 orig[ADDR_MAX + 16];

	orig[0] = '\0';
	if (strcasecmp(t->addr, m->rcpts[t->rcpt]) != 0)
		snprintf(orig, sizeof(orig), "orig_to=<%s>, ",
		    m->rcpts[t->rcpt]);
	log_info("%s: to=<%s>, %srelay=%s, delay=%lld, attempts=%u, "
	    "status=%s (%s)", m->id, t->addr, orig, relay,
	    (long long)(now - m->arrival), t->attempts, names[outcome],
	    t->reason);
}

/*
 * In a worker: records the outcome of one delivery and logs it.  The
 * record is on disk before the worker goes on.
 */
int
job_record(int fd, struct queue_target *t, int outcome,
    const struct worker_ctx *ctx, const struct queue_msg *m,
    const char *relay, const char *reason)
{
	time_t	 now = time(NULL);
	int	 type;

	outcome = outcome_set(t, outcome, ctx, m, reason, now, &type);
	if (queue_state_append(fd, type, t, now) == -1 || fsync(fd) == -1) {
		log_warn("%s: cannot record the delivery to <%s>", m->id,
		    t->addr);
		return -1;
	}
	outcome_log(t, outcome, m, relay, now);
	return 0;
}

/*
 * In a worker: records the outcomes of n deliveries of m (targets t,
 * with their outcomes and reasons) with one fsync for all of them,
 * then logs them.  0, or -1 if they are not known to be on disk.
 */
int
job_record_all(int fd, struct queue_target **t, const int *outcomes,
    const char **reasons, size_t n, const struct worker_ctx *ctx,
    const struct queue_msg *m, const char *relay)
{
	time_t	 now = time(NULL);
	size_t	 i;
	int	*final, type, rv = 0;

	if ((final = calloc(n + 1, sizeof(*final))) == NULL) {
		log_warn("%s: cannot record its deliveries", m->id);
		return -1;
	}
	for (i = 0; i < n && rv == 0; i++) {
		final[i] = outcome_set(t[i], outcomes[i], ctx, m, reasons[i],
		    now, &type);
		if (queue_state_append(fd, type, t[i], now) == -1)
			rv = -1;
	}
	if (rv == 0 && fsync(fd) == -1)
		rv = -1;
	if (rv == -1)
		log_warn("%s: cannot record its deliveries", m->id);
	else
		for (i = 0; i < n; i++)
			outcome_log(t[i], final[i], m, relay, now);
	free(final);
	return rv;
}

/*
 * In a worker, for a job that plan_fresh() found to hold the whole
 * message: once its n targets from first are delivered, the durable
 * removal of the message records them all (queue.c).  0, or -1 if the
 * message could not be removed, and the deliveries must be recorded.
 */
int
job_complete(const struct worker_ctx *ctx, const struct queue_msg *m,
    struct queue_target **t, const char **reasons, size_t n,
    const char *relay)
{
	if (queue_unlink_sync(ctx->conf->spool, m->id) == -1) {
		log_warn("%s: cannot remove", m->id);
		return -1;
	}
	job_removed(ctx, m, t, reasons, n, relay);
	return 0;
}

/* The removal of m is on disk: its n deliveries and itself logged. */
void
job_removed(const struct worker_ctx *ctx, const struct queue_msg *m,
    struct queue_target **t, const char **reasons, size_t n,
    const char *relay)
{
	time_t	 now = time(NULL);
	size_t	 i;
	int	 type;

	for (i = 0; i < n; i++) {
		(void)outcome_set(t[i], DELIVER_OK, ctx, m, reasons[i], now,
		    &type);
		outcome_log(t[i], DELIVER_OK, m, relay, now);
	}
	log_info("%s: removed", m->id);
}

/*
 * Opens the state of m for a worker's records.  The first record of a
 * fresh job is preceded by the expansion (X records), which plan left
 * to the worker; the fsync after the delivery covers them.
 */
int
job_state_open(const struct worker_ctx *ctx, const struct job *j)
{
	const struct queue_msg *m = &j->qe->msg;
	struct queue_target x;
	time_t	 now = time(NULL);
	size_t	 i;
	int	 fd;

	if ((fd = queue_state_open(ctx->conf->spool, m->id)) == -1) {
		log_warn("%s: cannot open its state", m->id);
		return -1;
	}
	for (i = 0; j->fresh && i < m->ntargets; i++) {
		expand_record(m, i, &x);
		if (queue_state_append(fd, QUEUE_REC_EXPAND, &x, now) == -1) {
			log_warn("%s: cannot write its state", m->id);
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* A reason may be cut: it is for people, and has a bounded home. */
void
reasonf(char *buf, size_t len, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}
