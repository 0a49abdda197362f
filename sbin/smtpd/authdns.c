/*
 * authdns.c: the DNS lookups of sender authentication (authres.c): the
 * DKIM keys libopendkim asks for, and the DMARC records.  SPF keeps
 * libspf2's own resolver, which already has a state for each thread
 * (a pthread key in spf_dns_resolv.c) and its cache under a lock.
 *
 * Why not the other libraries' resolvers.  libopendkim's default DNS
 * service keeps one res_state in the library handle, which every
 * session thread then uses at once; glibc's res_nsend(3) is not safe
 * on a shared state: the threads send on one socket, one takes another's
 * answer and throws it away as not its own, or finds the socket closed
 * under it, and the other waits out the whole time-out for an answer
 * already gone (stalls of 5 s at 8 sessions, keys given up as
 * temperror); the state's descriptor, closed by one thread while
 * another still uses it, may meanwhile be a session's file.  It also
 * takes an absent key for a DNS failure.  libopendmarc makes a state
 * per lookup, reading resolv.conf(5) each time, and asks for the
 * organizational domain's record even when it is the From: domain.
 *
 * So every session thread has a state of its own (res_ninit(3) once, on
 * the first lookup; closed when the thread ends), bounded to
 * AUTHDNS_WAIT_S a try and AUTHDNS_TRIES tries (less when resolv.conf
 * says less): a server that does not answer costs a lookup at most
 * AUTHDNS_WAIT_S * AUTHDNS_TRIES seconds a name server, and gives a
 * temperror, never a reject.
 *
 * Answers (records found, or none, with the negative TTL of RFC 2308)
 * are kept for their TTL, at most AUTHDNS_TTL_MAX, in a table of fixed
 * size shared by the sessions: the same key and the same DMARC record
 * come with most messages from one sender, and each lookup otherwise
 * costs a round trip and two system calls a message.  Failures are not
 * kept.
 */
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/nameser.h>

#include <ctype.h>
#include <netdb.h>
#include <pthread.h>
#include <resolv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dkim.h>

#include "smtpd.h"

#define AUTHDNS_WAIT_S		2
#define AUTHDNS_TRIES		2
#define AUTHDNS_SETS		64
#define AUTHDNS_WAYS		4
#define AUTHDNS_TTL_MAX		3600
#define AUTHDNS_NAME_MAX	NS_MAXDNAME
#define AUTHDNS_NAME_LEN	253	/* the longest name, without a dot */

struct authdns_entry {
	char		 name[AUTHDNS_NAME_MAX];	/* lower case */
	int		 type;
	time_t		 expires;	/* CLOCK_MONOTONIC seconds; 0: free */
	size_t		 len;
	unsigned char	*ans;
};

static pthread_once_t	 authdns_once = PTHREAD_ONCE_INIT;
static pthread_key_t	 authdns_key;
static pthread_mutex_t	 authdns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct authdns_entry authdns_cache[AUTHDNS_SETS * AUTHDNS_WAYS];
/* The length of the answer of this thread's DKIM query, its handle. */
static __thread size_t	 authdns_dkim_len;
/* Not NULL, so that libopendkim never makes a resolver of its own. */
static int		 authdns_dkim_service;

static void	 authdns_key_make(void);
static void	 authdns_state_free(void *);
static res_state authdns_state(void);
static time_t	 authdns_now(void);
static int	 authdns_key_name(const char *, char *);
static struct authdns_entry *authdns_set(const char *, int);
static int	 authdns_cached(const char *, int, unsigned char *, size_t);
static time_t	 authdns_ttl(const unsigned char *, size_t);
static void	 authdns_keep(const char *, int, const unsigned char *, size_t);
static int	 authdns_send(const char *, int, unsigned char *, size_t);
static int	 authdns_txt_rr(const ns_rr *, char *, size_t);
static int	 authdns_dkim_start(void *, int, unsigned char *,
		    unsigned char *, size_t, void **);
static int	 authdns_dkim_wait(void *, void *, struct timeval *, size_t *,
		    int *, int *);
static int	 authdns_dkim_cancel(void *, void *);

static void
authdns_state_free(void *p)
{
	res_nclose(p);
	free(p);
}

static void
authdns_key_make(void)
{
	if (pthread_key_create(&authdns_key, authdns_state_free) != 0)
		fatalx("authdns: pthread_key_create");
}

/* This thread's resolver state, made on its first lookup; or NULL. */
static res_state
authdns_state(void)
{
	res_state	 rs;

	pthread_once(&authdns_once, authdns_key_make);
	if ((rs = pthread_getspecific(authdns_key)) != NULL)
		return rs;
	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		return NULL;
	if (res_ninit(rs) == -1) {
		free(rs);
		return NULL;
	}
	if (rs->retrans > AUTHDNS_WAIT_S)
		rs->retrans = AUTHDNS_WAIT_S;
	if (rs->retry > AUTHDNS_TRIES)
		rs->retry = AUTHDNS_TRIES;
	if (pthread_setspecific(authdns_key, rs) != 0) {
		authdns_state_free(rs);
		return NULL;
	}
	return rs;
}

static time_t
authdns_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* name in lower case, without a final dot, into key; 0 or -1. */
static int
authdns_key_name(const char *name, char *key)
{
	size_t	 i, len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len >= AUTHDNS_NAME_MAX)
		return -1;
	for (i = 0; i < len; i++)
		key[i] = tolower((unsigned char)name[i]);
	key[len] = '\0';
	return 0;
}

/* The first entry of the set of (key, type), FNV-1a of both. */
static struct authdns_entry *
authdns_set(const char *key, int type)
{
	uint32_t	 h = 2166136261u;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	h = (h ^ (uint32_t)type) * 16777619u;
	return &authdns_cache[(h % AUTHDNS_SETS) * AUTHDNS_WAYS];
}

/* The kept answer of (name, type) into ans: its length, or -1. */
static int
authdns_cached(const char *name, int type, unsigned char *ans, size_t anslen)
{
	struct authdns_entry *e;
	char		 key[AUTHDNS_NAME_MAX];
	time_t		 now = authdns_now();
	int		 i, n = -1;

	if (authdns_key_name(name, key) == -1)
		return -1;
	pthread_mutex_lock(&authdns_lock);
	e = authdns_set(key, type);
	for (i = 0; i < AUTHDNS_WAYS; i++, e++) {
		if (e->expires <= now || e->type != type ||
		    strcmp(e->name, key) != 0)
			continue;
		if (e->len <= anslen) {
			memcpy(ans, e->ans, e->len);
			n = (int)e->len;
		}
		break;
	}
	pthread_mutex_unlock(&authdns_lock);
	return n;
}

/*
 * How long an answer may be kept: the least TTL of its answer records,
 * or for none (NXDOMAIN, or no record of the type) the least of the
 * SOA's TTL and its MINIMUM (RFC 2308 5); 0 when it may not be.
 */
static time_t
authdns_ttl(const unsigned char *ans, size_t len)
{
	ns_msg		 msg;
	ns_rr		 rr;
	uint32_t	 ttl = AUTHDNS_TTL_MAX, min;
	int		 i, n;

	if (ns_initparse(ans, len, &msg) == -1)
		return 0;
	if ((n = ns_msg_count(msg, ns_s_an)) > 0) {
		for (i = 0; i < n; i++) {
			if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
				return 0;
			if (ns_rr_ttl(rr) < ttl)
				ttl = ns_rr_ttl(rr);
		}
		return ttl;
	}
	n = ns_msg_count(msg, ns_s_ns);
	for (i = 0; i < n; i++) {
		if (ns_parserr(&msg, ns_s_ns, i, &rr) == -1)
			return 0;
		if (ns_rr_type(rr) != ns_t_soa || ns_rr_rdlen(rr) < 4)
			continue;
		min = ns_get32(ns_rr_rdata(rr) + ns_rr_rdlen(rr) - 4);
		if (ns_rr_ttl(rr) < ttl)
			ttl = ns_rr_ttl(rr);
		return min < ttl ? min : ttl;
	}
	return 0;
}

/* The answer kept, in place of the set's entry that expires first. */
static void
authdns_keep(const char *name, int type, const unsigned char *ans,
    size_t len)
{
	struct authdns_entry *e, *old;
	char		 key[AUTHDNS_NAME_MAX];
	unsigned char	*copy;
	time_t		 ttl, now = authdns_now();
	int		 i;

	if ((ttl = authdns_ttl(ans, len)) == 0 ||
	    authdns_key_name(name, key) == -1 ||
	    (copy = malloc(len)) == NULL)
		return;
	memcpy(copy, ans, len);
	pthread_mutex_lock(&authdns_lock);
	e = old = authdns_set(key, type);
	for (i = 0; i < AUTHDNS_WAYS; i++, e++) {
		if (e->expires > now && e->type == type &&
		    strcmp(e->name, key) == 0) {
			old = e;
			break;
		}
		if (e->expires < old->expires)
			old = e;
	}
	free(old->ans);
	strlcpy(old->name, key, sizeof(old->name));
	old->type = type;
	old->expires = now + ttl;
	old->ans = copy;
	old->len = len;
	pthread_mutex_unlock(&authdns_lock);
}

/* One query on this thread's state: the answer's length, or -1. */
static int
authdns_send(const char *name, int type, unsigned char *ans, size_t anslen)
{
	unsigned char	 q[NS_PACKETSZ];
	res_state	 rs;
	int		 qlen, n;

	if ((rs = authdns_state()) == NULL)
		return -1;
	qlen = res_nmkquery(rs, ns_o_query, name, ns_c_in, type, NULL, 0,
	    NULL, q, sizeof(q));
	if (qlen == -1)
		return -1;
	n = res_nsend(rs, q, qlen, ans, anslen > INT32_MAX ? INT32_MAX :
	    (int)anslen);
	if (n < HFIXEDSZ || (size_t)n > anslen)
		return -1;
	return n;
}

int
authdns_query(const char *name, int type, unsigned char *ans, size_t anslen)
{
	int	 n, rcode;

	if ((n = authdns_cached(name, type, ans, anslen)) != -1)
		return n;
	if ((n = authdns_send(name, type, ans, anslen)) == -1)
		return -1;
	rcode = ((HEADER *)ans)->rcode;
	if (rcode != ns_r_noerror && rcode != ns_r_nxdomain)
		return -1;
	if (((HEADER *)ans)->tc)
		return -1;
	authdns_keep(name, type, ans, n);
	return n;
}

/* A TXT record's strings joined into text; 0, or -1 (a NUL, too long). */
static int
authdns_txt_rr(const ns_rr *rr, char *text, size_t textlen)
{
	const unsigned char *d = ns_rr_rdata(*rr);
	const unsigned char *end = d + ns_rr_rdlen(*rr);
	size_t		 o = 0, k;

	while (d < end) {
		k = *d++;
		if (k > (size_t)(end - d) || o + k >= textlen)
			return -1;
		if (memchr(d, '\0', k) != NULL)
			return -1;
		memcpy(text + o, d, k);
		o += k;
		d += k;
	}
	text[o] = '\0';
	return 0;
}

int
authdns_txt(const char *name, int (*want)(const char *), char *text,
    size_t textlen)
{
	unsigned char	 ans[AUTHDNS_ANSWER_MAX];
	char		 one[AUTHDNS_ANSWER_MAX];
	ns_msg		 msg;
	ns_rr		 rr;
	int		 i, n, found = 0;

	/* Longer than RFC 1035's 255 octets: no such name, not a failure. */
	if (strlen(name) > AUTHDNS_NAME_LEN)
		return 0;
	if ((n = authdns_query(name, ns_t_txt, ans, sizeof(ans))) == -1)
		return -1;
	if (((HEADER *)ans)->rcode == ns_r_nxdomain)
		return 0;
	if (ns_initparse(ans, n, &msg) == -1)
		return -1;
	n = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < n; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
			return -1;
		if (ns_rr_type(rr) != ns_t_txt ||
		    authdns_txt_rr(&rr, one, sizeof(one)) == -1 || !want(one))
			continue;
		if (found++ == 0 && strlcpy(text, one, textlen) >= textlen)
			return -1;
	}
	return found == 1;
}

/* ---- libopendkim's DNS service ----------------------------------- */

/*
 * libopendkim's query, answered at once (the wait then only hands the
 * answer over): DKIM_DNS_ERROR for no answer, for which the signature
 * gets temperror; an NXDOMAIN answer is passed on, for the library's
 * "no key" (permerror).
 */
static int
authdns_dkim_start(void *srv, int type, unsigned char *query,
    unsigned char *buf, size_t buflen, void **qh)
{
	int	 n;

	if ((n = authdns_query((const char *)query, type, buf, buflen)) == -1)
		return DKIM_DNS_ERROR;
	authdns_dkim_len = n;
	*qh = &authdns_dkim_len;
	return DKIM_DNS_SUCCESS;
}

static int
authdns_dkim_wait(void *srv, void *qh, struct timeval *to, size_t *bytes,
    int *error, int *dnssec)
{
	if (bytes != NULL)
		*bytes = *(const size_t *)qh;
	if (error != NULL)
		*error = 0;
	if (dnssec != NULL)
		*dnssec = DKIM_DNSSEC_UNKNOWN;
	return DKIM_DNS_SUCCESS;
}

static int
authdns_dkim_cancel(void *srv, void *qh)
{
	return 0;
}

void
authdns_dkim(DKIM_LIB *lib)
{
	dkim_dns_set_init(lib, NULL);
	dkim_dns_set_close(lib, NULL);
	(void)dkim_dns_set_query_service(lib, &authdns_dkim_service);
	dkim_dns_set_query_start(lib, authdns_dkim_start);
	dkim_dns_set_query_waitreply(lib, authdns_dkim_wait);
	dkim_dns_set_query_cancel(lib, authdns_dkim_cancel);
}
