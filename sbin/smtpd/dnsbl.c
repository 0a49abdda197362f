/*
 * dnsbl.c: the DNS blocklists of the dnsbl lines (RFC 5782), asked at
 * connect, before the greeting, for clients outside relaynets on plain
 * listeners (a submission or smtps listener serves our own users, who
 * often write from the dynamic addresses such lists name).
 *
 * The client's address, reversed (IPv6 in nibbles), is looked up under
 * each zone for an A record; an answer in 127.0.0.0/8 lists it, except
 * 127.255.255.0/24, which lists use to say that they refuse to answer
 * (Spamhaus) and not that the address is bad.  A zone refuses the client
 * when it lists it and at least its THRESHOLD zones of all do: a list
 * too eager to be trusted alone is given a threshold of 2.  The reply is
 * 554 5.7.1 with the TXT record of the refusing zone for the client
 * (its reason, often a link) or a text that names the zone.
 *
 * Any failure of DNS lets the client in: a list that does not answer
 * must not stop the mail.  Each query waits DNSBL_WAIT_S once, so a
 * dead server costs a client that much a zone.  The system's resolver
 * (res_nquery(3), a state of this thread's own) asks the servers of
 * resolv.conf(5); a caching one on the host is what such lists want.
 *
 * The results of all zones for an address are kept in a table of fixed
 * size, for the DNS TTL of the answers (bounded to DNSBL_TTL_MIN and
 * DNSBL_TTL_MAX; DNSBL_TTL_MIN for an address no zone lists), so that
 * a client that comes back does not cost the lists a query.  Results
 * with a failure among them are not kept.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <netdb.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "smtpd.h"

#define DNSBL_SETS	256
#define DNSBL_WAYS	4
#define DNSBL_TTL_MIN	60
#define DNSBL_TTL_MAX	3600
#define DNSBL_WAIT_S	2
#define DNSBL_TEXT_MAX	200
/* The reversed address (at most DNSBL_REV_MAX), the zone, the NUL. */
#define DNSBL_REV_MAX	80
#define DNSBL_NAME_MAX	(DNSBL_REV_MAX + ADDR_DOMAIN_MAX + 1)

#define DNSBL_NO	0
#define DNSBL_YES	1
#define DNSBL_FAIL	2

struct dnsbl_result {
	uint32_t	 listed;	/* bit i: dnsbl line i lists it */
	int		 refuser;	/* the line that refuses, or -1 */
	char		 text[DNSBL_TEXT_MAX];	/* its TXT, or "" */
	time_t		 ttl;
};

struct dnsbl_entry {
	unsigned char	 addr[16];
	int		 inuse;
	time_t		 expires;	/* CLOCK_MONOTONIC seconds */
	struct dnsbl_result r;
};

static pthread_mutex_t	 dnsbl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dnsbl_entry dnsbl_cache[DNSBL_SETS * DNSBL_WAYS];

static time_t	dnsbl_now(void);
static int	dnsbl_reverse(const struct sockaddr *, unsigned char *,
		    char *, size_t);
static struct dnsbl_entry *dnsbl_slot(const unsigned char *, time_t, int);
static int	dnsbl_cached(const unsigned char *, struct dnsbl_result *);
static void	dnsbl_store(const unsigned char *, const struct dnsbl_result *);
static int	dnsbl_query(res_state, const char *, int, unsigned char *,
		    int *);
static int	dnsbl_a(res_state, const char *, time_t *);
static void	dnsbl_txt(res_state, const char *, char *, size_t);
static int	dnsbl_lookup(const char *, struct dnsbl_result *);
static void	dnsbl_verdict(struct dnsbl_result *);
static void	dnsbl_refuse(struct session *, const struct dnsbl_result *);

static time_t
dnsbl_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * The address (IPv4 mapped into IPv6, for the cache) and its reversed
 * form with a trailing dot: "4.3.2.1." or 32 nibbles.
 */
static int
dnsbl_reverse(const struct sockaddr *sa, unsigned char *addr, char *name,
    size_t len)
{
	static const unsigned char mapped[12] =
	    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const unsigned char	*a;
	size_t			 i, o = 0;

	if (sa->sa_family == AF_INET) {
		memcpy(addr, mapped, sizeof(mapped));
		memcpy(addr + 12, &((const struct sockaddr_in *)sa)->sin_addr,
		    4);
	} else if (sa->sa_family == AF_INET6)
		memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    16);
	else
		return -1;
	a = addr;
	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		(void)snprintf(name, len, "%u.%u.%u.%u.", a[15], a[14], a[13],
		    a[12]);
		return 0;
	}
	for (i = 16; i-- > 0 && o + 4 < len; o += 4)
		(void)snprintf(name + o, len - o, "%x.%x.", a[i] & 0xf,
		    a[i] >> 4);
	return 0;
}

/* With dnsbl_lock held: the entry of addr, or the one to replace. */
static struct dnsbl_entry *
dnsbl_slot(const unsigned char *addr, time_t now, int take)
{
	struct dnsbl_entry	*set, *e, *oldest = NULL;
	uint32_t		 h = 2166136261u;
	size_t			 i;

	/* FNV-1a: no attacker gains by filling a set; it only evicts. */
	for (i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	set = &dnsbl_cache[(h % DNSBL_SETS) * DNSBL_WAYS];
	for (i = 0; i < DNSBL_WAYS; i++) {
		e = &set[i];
		if (e->inuse && memcmp(e->addr, addr, 16) == 0)
			return e;
		if (oldest == NULL || !e->inuse ||
		    (oldest->inuse && e->expires < oldest->expires))
			oldest = e;
	}
	return take ? oldest : NULL;
}

static int
dnsbl_cached(const unsigned char *addr, struct dnsbl_result *r)
{
	struct dnsbl_entry	*e;
	time_t			 now = dnsbl_now();
	int			 hit = 0;

	pthread_mutex_lock(&dnsbl_lock);
	if ((e = dnsbl_slot(addr, now, 0)) != NULL && e->expires > now) {
		*r = e->r;
		hit = 1;
	}
	pthread_mutex_unlock(&dnsbl_lock);
	return hit;
}

static void
dnsbl_store(const unsigned char *addr, const struct dnsbl_result *r)
{
	struct dnsbl_entry	*e;
	time_t			 now = dnsbl_now();

	pthread_mutex_lock(&dnsbl_lock);
	e = dnsbl_slot(addr, now, 1);
	memcpy(e->addr, addr, 16);
	e->inuse = 1;
	e->expires = now + r->ttl;
	e->r = *r;
	pthread_mutex_unlock(&dnsbl_lock);
}

/* The answer's length, or 0 for no such record, or -1 for a failure. */
static int
dnsbl_query(res_state rs, const char *name, int type, unsigned char *ans,
    int *len)
{
	*len = res_nquery(rs, name, ns_c_in, type, ans, NS_PACKETSZ);
	if (*len >= 0)
		return *len;
	return rs->res_h_errno == HOST_NOT_FOUND ||
	    rs->res_h_errno == NO_DATA ? 0 : -1;
}

/* DNSBL_YES (ttl set), DNSBL_NO or DNSBL_FAIL. */
static int
dnsbl_a(res_state rs, const char *name, time_t *ttl)
{
	unsigned char	 ans[NS_PACKETSZ];
	const u_char	*d;
	ns_msg		 msg;
	ns_rr		 rr;
	int		 len, i, n, listed = DNSBL_NO;

	if ((n = dnsbl_query(rs, name, ns_t_a, ans, &len)) <= 0)
		return n == 0 ? DNSBL_NO : DNSBL_FAIL;
	if (ns_initparse(ans, len, &msg) == -1)
		return DNSBL_FAIL;
	n = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < n; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
			return DNSBL_FAIL;
		if (ns_rr_type(rr) != ns_t_a || ns_rr_rdlen(rr) != 4)
			continue;
		d = ns_rr_rdata(rr);
		if (d[0] != 127 || (d[1] == 255 && d[2] == 255))
			continue;
		if (listed == DNSBL_NO || (time_t)ns_rr_ttl(rr) < *ttl)
			*ttl = ns_rr_ttl(rr);
		listed = DNSBL_YES;
	}
	return listed;
}

/* The TXT record's strings joined, printable ASCII only; or "". */
static void
dnsbl_txt(res_state rs, const char *name, char *text, size_t textlen)
{
	unsigned char	 ans[NS_PACKETSZ];
	const u_char	*d, *end;
	ns_msg		 msg;
	ns_rr		 rr;
	size_t		 o = 0, k;
	int		 len;

	text[0] = '\0';
	if (dnsbl_query(rs, name, ns_t_txt, ans, &len) <= 0 ||
	    ns_initparse(ans, len, &msg) == -1 ||
	    ns_msg_count(msg, ns_s_an) == 0)
		return;
	if (ns_parserr(&msg, ns_s_an, 0, &rr) == -1 ||
	    ns_rr_type(rr) != ns_t_txt)
		return;
	d = ns_rr_rdata(rr);
	end = d + ns_rr_rdlen(rr);
	while (d < end) {
		for (k = *d++; k > 0 && d < end; k--, d++)
			if (o + 1 < textlen)
				text[o++] = *d >= 0x20 && *d < 0x7f ? *d : ' ';
	}
	text[o] = '\0';
}

/* Which of the lines refuses, from the ones that list the client. */
static void
dnsbl_verdict(struct dnsbl_result *r)
{
	size_t	 i, count = 0;

	r->refuser = -1;
	for (i = 0; i < env->conf.ndnsbl; i++)
		if (r->listed & 1u << i)
			count++;
	for (i = 0; i < env->conf.ndnsbl; i++)
		if ((r->listed & 1u << i) &&
		    env->conf.dnsbl[i].threshold <= count) {
			r->refuser = (int)i;
			return;
		}
}

/* Every zone for rev ("4.3.2.1."): 0 if all answered, -1 otherwise. */
static int
dnsbl_lookup(const char *rev, struct dnsbl_result *r)
{
	struct __res_state rs;
	char		 name[DNSBL_NAME_MAX];
	size_t		 i;
	time_t		 ttl;
	int		 failed = 0;

	memset(r, 0, sizeof(*r));
	r->ttl = DNSBL_TTL_MAX;
	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) == -1)
		return -1;
	rs.retrans = DNSBL_WAIT_S;
	rs.retry = 1;
	for (i = 0; i < env->conf.ndnsbl; i++) {
		(void)snprintf(name, sizeof(name), "%s%s", rev,
		    env->conf.dnsbl[i].zone);
		switch (dnsbl_a(&rs, name, &ttl)) {
		case DNSBL_YES:
			r->listed |= 1u << i;
			if (ttl < r->ttl)
				r->ttl = ttl;
			break;
		case DNSBL_FAIL:
			log_info("dnsbl %s: no answer for %s",
			    env->conf.dnsbl[i].zone, name);
			failed = 1;
			break;
		}
	}
	if (r->listed == 0 || r->ttl < DNSBL_TTL_MIN)
		r->ttl = DNSBL_TTL_MIN;
	dnsbl_verdict(r);
	if (r->refuser != -1) {
		(void)snprintf(name, sizeof(name), "%s%s", rev,
		    env->conf.dnsbl[r->refuser].zone);
		dnsbl_txt(&rs, name, r->text, sizeof(r->text));
	}
	res_nclose(&rs);
	return failed ? -1 : 0;
}

/*
 * RFC 5321 3.1: a server that refuses service with 554 at connect must
 * wait for the client's QUIT, and answers 503 to any other command;
 * max_errors of them, or command_timeout, end it sooner.
 */
static void
dnsbl_refuse(struct session *s, const struct dnsbl_result *r)
{
	const char	*zone = env->conf.dnsbl[r->refuser].zone;
	size_t		 len;
	int		 crlf;

	log_info("%s[%s]: refused: listed by %s%s%s", s->name, s->addr, zone,
	    r->text[0] != '\0' ? ": " : "", r->text);
	if (r->text[0] != '\0')
		session_reply(s, 554, "5.7.1", "Service unavailable; client "
		    "[%s] listed by %s: %s", s->addr, zone, r->text);
	else
		session_reply(s, 554, "5.7.1", "Service unavailable; client "
		    "[%s] listed by %s", s->addr, zone);
	while (s->nerrors < env->conf.max_errors) {
		if (io_getline(&s->io, s->line, SMTP_CMD_MAX, &len, &crlf,
		    env->conf.command_timeout * 1000) != IO_OK)
			return;
		if (len == 4 + (crlf ? 2 : 1) &&
		    strncasecmp(s->line, "QUIT", 4) == 0) {
			session_reply(s, 221, "2.0.0", "Bye");
			return;
		}
		session_reply(s, 503, "5.5.1", "Error: service refused, "
		    "send QUIT");
	}
}

int
dnsbl_check(struct session *s)
{
	struct dnsbl_result r;
	unsigned char	 addr[16];
	char		 rev[DNSBL_REV_MAX];

	if (env->conf.ndnsbl == 0 || s->trusted || s->mode != LISTEN_PLAIN ||
	    dnsbl_reverse((struct sockaddr *)&s->ss, addr, rev,
	    sizeof(rev)) == -1)
		return 0;
	if (!dnsbl_cached(addr, &r) && dnsbl_lookup(rev, &r) == 0)
		dnsbl_store(addr, &r);
	if (r.refuser == -1)
		return 0;
	dnsbl_refuse(s, &r);
	return -1;
}
