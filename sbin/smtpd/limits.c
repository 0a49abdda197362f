/*
 * limits.c: what one client address may do over all its sessions, and
 * what one session may try: connections and messages a minute
 * (conn_rate, msg_rate), AUTH failures in a sliding window before a
 * lock-out (auth_fail_limit), and refused recipients in a session
 * (max_rcpt_refused).  Clients of relaynets are not held to a limit
 * unless its keyword ends in "all".
 *
 * An address is its IPv4 address, or the /64 of its IPv6 address: a
 * site gets a /64 or more, and each of its hosts may take any address
 * inside, so a finer key would give a single host 2^64 fresh starts.
 *
 * The state lives in memory only, in one table of fixed size allocated
 * at start, so that no flood of addresses can make it grow: a table of
 * LIMITS_SETS sets of LIMITS_WAYS entries, an address hashed with a
 * secret seed to one set (nobody can aim at a set), and a new address
 * takes the entry of its set used longest ago, sparing the ones locked
 * out or with a password check under way while it can.  An address
 * evicted so starts over with a clean slate: under a flood the limits
 * fail open, never shut out a client that did nothing.  A restart
 * forgets everything, which costs an attacker's next minute nothing
 * that matters.
 *
 * The rates are counted by the generic cell rate algorithm: N a minute
 * allows a burst of N at once, then one every 60/N seconds; what is
 * refused is not counted.  AUTH failures are counted exactly: each
 * entry keeps the times of the last N, and the N-th inside the window
 * locks the address out for the lock-out period, after which it has N
 * tries again.  A check under way counts as a failure until it is
 * decided, so that N parallel sessions cannot try more than N
 * passwords between them.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smtpd.h"

#define LIMITS_SETS	2048
#define LIMITS_WAYS	8
#define LIMITS_MINUTE	(60 * 1000000LL)	/* microseconds */

struct limits_entry {
	unsigned char	 key[LIMITS_KEYLEN];
	int		 inuse;
	int64_t		 used;		/* last touched, microseconds */
	int64_t		 conn_tat;	/* GCRA: theoretical arrival times */
	int64_t		 msg_tat;
	int64_t		 locked_until;	/* AUTH refused until then */
	uint32_t	 inflight;	/* password checks under way */
	uint32_t	 nextfail;	/* next slot of the failures' ring */
};

static pthread_mutex_t		 limits_lock = PTHREAD_MUTEX_INITIALIZER;
static struct limits_entry	*limits_table;
/* auth_fail_limit.n failure times an entry, 0 for none. */
static int64_t			*limits_fails;
static uint64_t			 limits_seed[2];

static int64_t	limits_now(void);
static uint64_t	limits_mix(uint64_t);
static int	limits_evicts_before(const struct limits_entry *,
		    const struct limits_entry *, int64_t);
static struct limits_entry *limits_get(const unsigned char *, int64_t);
static int	limits_exempt(const struct session *, const struct conf_limit *);
static int	limits_rate(int64_t *, size_t, int64_t);
static size_t	limits_fail_count(const struct limits_entry *, int64_t);

void
limits_init(const struct conf *c)
{
	size_t	 n = (size_t)LIMITS_SETS * LIMITS_WAYS;

	arc4random_buf(limits_seed, sizeof(limits_seed));
	if ((limits_table = calloc(n, sizeof(*limits_table))) == NULL)
		fatal("limits table");
	if (c->auth_fail_limit.n > 0 && (limits_fails = calloc(n,
	    c->auth_fail_limit.n * sizeof(*limits_fails))) == NULL)
		fatal("limits table");
}

/*
 * IPv4 as ::ffff:a.b.c.d (so that a mapped address is the same client),
 * IPv6 cut to its /64.  -1 for another family.
 */
int
limits_key(const struct sockaddr *sa, unsigned char *key)
{
	static const unsigned char mapped[12] =
	    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const unsigned char	*a;

	memset(key, 0, LIMITS_KEYLEN);
	if (sa->sa_family == AF_INET) {
		memcpy(key, mapped, sizeof(mapped));
		memcpy(key + sizeof(mapped),
		    &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	memcpy(key, a, memcmp(a, mapped, sizeof(mapped)) == 0 ? 16 : 8);
	return 0;
}

static int64_t
limits_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* splitmix64's finaliser. */
static uint64_t
limits_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Whether a should make room before b: free, then idle, then oldest. */
static int
limits_evicts_before(const struct limits_entry *a,
    const struct limits_entry *b, int64_t now)
{
	int	 busy_a, busy_b;

	if (!a->inuse || !b->inuse)
		return !a->inuse && b->inuse;
	busy_a = a->locked_until > now || a->inflight > 0;
	busy_b = b->locked_until > now || b->inflight > 0;
	if (busy_a != busy_b)
		return busy_b;
	return a->used < b->used;
}

/* With limits_lock held: the entry of key, a fresh one if need be. */
static struct limits_entry *
limits_get(const unsigned char *key, int64_t now)
{
	struct limits_entry	*set, *e, *victim = NULL;
	uint64_t		 k[2], h;
	size_t			 i, n = env->conf.auth_fail_limit.n;

	memcpy(k, key, sizeof(k));
	h = limits_mix(limits_mix(k[0] ^ limits_seed[0]) ^ k[1] ^
	    limits_seed[1]);
	set = &limits_table[(h % LIMITS_SETS) * LIMITS_WAYS];
	for (i = 0; i < LIMITS_WAYS; i++) {
		e = &set[i];
		if (e->inuse && memcmp(e->key, key, LIMITS_KEYLEN) == 0) {
			e->used = now;
			return e;
		}
		if (victim == NULL || limits_evicts_before(e, victim, now))
			victim = e;
	}
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->key, key, LIMITS_KEYLEN);
	victim->inuse = 1;
	victim->used = now;
	if (n > 0)
		memset(&limits_fails[(size_t)(victim - limits_table) * n], 0,
		    n * sizeof(*limits_fails));
	return victim;
}

static int
limits_exempt(const struct session *s, const struct conf_limit *l)
{
	return l->n == 0 || (s->trusted && !l->all);
}

/* GCRA: 0 and counted, or -1 when over n a minute. */
static int
limits_rate(int64_t *tat, size_t n, int64_t now)
{
	int64_t	 interval = LIMITS_MINUTE / (int64_t)n;

	if (*tat < now)
		*tat = now;
	if (*tat - now > LIMITS_MINUTE - interval)
		return -1;
	*tat += interval;
	return 0;
}

int
limits_connect(const struct session *s)
{
	struct limits_entry	*e;
	int64_t			 now = limits_now();
	int			 r;

	if (limits_exempt(s, &env->conf.conn_rate))
		return 0;
	pthread_mutex_lock(&limits_lock);
	e = limits_get(s->key, now);
	r = limits_rate(&e->conn_tat, env->conf.conn_rate.n, now);
	pthread_mutex_unlock(&limits_lock);
	if (r == -1)
		log_info("%s: refused: over conn_rate", s->addr);
	return r;
}

int
limits_mail(struct session *s)
{
	struct limits_entry	*e;
	int64_t			 now = limits_now();
	int			 r;

	if (limits_exempt(s, &env->conf.msg_rate))
		return 0;
	pthread_mutex_lock(&limits_lock);
	e = limits_get(s->key, now);
	r = limits_rate(&e->msg_tat, env->conf.msg_rate.n, now);
	pthread_mutex_unlock(&limits_lock);
	if (r == 0)
		return 0;
	log_info("%s[%s]: MAIL refused: over msg_rate", s->name, s->addr);
	session_reply(s, 451, "4.7.0", "Error: too many messages from your "
	    "address; try again later");
	return -1;
}

/* The failures of e inside the window ending now. */
static size_t
limits_fail_count(const struct limits_entry *e, int64_t now)
{
	const int64_t	*ring;
	size_t		 i, n = env->conf.auth_fail_limit.n, count = 0;
	int64_t		 since = now - env->conf.auth_fail_window * 1000000LL;

	ring = &limits_fails[(size_t)(e - limits_table) * n];
	for (i = 0; i < n; i++)
		if (ring[i] != 0 && ring[i] > since)
			count++;
	return count;
}

int
limits_auth_begin(struct session *s)
{
	struct limits_entry	*e;
	int64_t			 now = limits_now();
	int			 locked;

	if (limits_exempt(s, &env->conf.auth_fail_limit))
		return 0;
	pthread_mutex_lock(&limits_lock);
	e = limits_get(s->key, now);
	locked = e->locked_until > now || limits_fail_count(e, now) +
	    e->inflight >= env->conf.auth_fail_limit.n;
	if (!locked) {
		e->inflight++;
		s->auth_counted = 1;
	}
	pthread_mutex_unlock(&limits_lock);
	if (!locked)
		return 0;
	log_info("%s[%s]: AUTH refused: locked out after too many failures",
	    s->name, s->addr);
	session_reply(s, 454, "4.7.0", "Too many authentication failures "
	    "from your address; try again later");
	return -1;
}

void
limits_auth_fail(struct session *s)
{
	struct limits_entry	*e;
	int64_t			*ring, now = limits_now();
	size_t			 n = env->conf.auth_fail_limit.n;
	int			 locked = 0;

	if (!s->auth_counted)
		return;
	pthread_mutex_lock(&limits_lock);
	e = limits_get(s->key, now);
	/* No longer under way, and now in the ring. */
	if (e->inflight > 0)
		e->inflight--;
	s->auth_counted = 0;
	ring = &limits_fails[(size_t)(e - limits_table) * n];
	ring[e->nextfail] = now;
	e->nextfail = (e->nextfail + 1) % n;
	if (limits_fail_count(e, now) >= n) {
		e->locked_until = now + env->conf.auth_fail_lockout * 1000000LL;
		memset(ring, 0, n * sizeof(*ring));
		locked = 1;
	}
	pthread_mutex_unlock(&limits_lock);
	if (locked)
		log_info("%s[%s]: AUTH locked out for %llds after %zu failures",
		    s->name, s->addr, (long long)env->conf.auth_fail_lockout, n);
}

void
limits_auth_end(struct session *s)
{
	struct limits_entry	*e;

	if (!s->auth_counted)
		return;
	s->auth_counted = 0;
	pthread_mutex_lock(&limits_lock);
	e = limits_get(s->key, limits_now());
	if (e->inflight > 0)
		e->inflight--;
	pthread_mutex_unlock(&limits_lock);
}

/*
 * After a recipient was refused: a 5xx counts toward max_rcpt_refused
 * instead of max_errors (a list server's message to many of our users,
 * some gone, makes no protocol error), a 4xx toward nothing.  0, or -1
 * once closed.
 */
int
limits_rcpt_refused(struct session *s)
{
	if (limits_exempt(s, &env->conf.max_rcpt_refused) ||
	    s->lastreply[0] != '5')
		return 0;
	s->nerrors--;
	if (++s->nrefused < env->conf.max_rcpt_refused.n)
		return 0;
	log_info("%s[%s]: too many refused recipients", s->name, s->addr);
	session_reply(s, 421, "4.7.0", "%s Error: too many refused "
	    "recipients", env->conf.hostname);
	s->quit = 1;
	return -1;
}
