/*
 * mail.conf(5): one "keyword value ..." a line.  Every keyword has a
 * handler that checks its arguments completely, so that a daemon never
 * starts on a value it would only trip over later.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "libmail.h"

#define CONF_LINE_MAX	4096	/* longer lines are refused */
#define CONF_ARGS_MAX	64	/* words on a line */
#define CONF_LISTEN_MAX	64
#define CONF_NETS_MAX	1024
#define CONF_RETRY_MAX	64
#define CONF_MILTERS_MAX	16
#define CONF_COUNT_MAX	1000000	/* largest maxrcpt, max_sessions, ... */
/* Largest duration: callers add it to time(3) without overflow. */
#define CONF_DURATION_MAX	((time_t)INT32_MAX)
/* Largest timeout: poll(2) takes it in milliseconds, in an int. */
#define CONF_TIMEOUT_MAX	((time_t)24 * 86400)
/* Largest size: it fits an off_t. */
#define CONF_SIZE_MAX		((uint64_t)INT64_MAX)

#define KW_REPEAT	0x01	/* may be given more than once */

/*
 * How a keyword's value is read: most are one path, count or duration
 * stored at an offset of struct conf; the others have a function.
 */
#define KW_FN		0
#define KW_PATH		1	/* char[], an absolute path */
#define KW_COUNT	2	/* size_t, 1 to CONF_COUNT_MAX */
#define KW_DURATION	3	/* time_t, more than 0 */
#define KW_DURATION0	4	/* time_t, 0 allowed */
#define KW_DURATION_NONE 5	/* time_t, 0 allowed, "none" for 0 */
#define KW_TIMEOUT	6	/* time_t, more than 0, at most 24d */

struct conf_kw {
	const char	*name;
	int		 minargs;
	int		 maxargs;	/* -1: no limit */
	int		 flags;
	int		 type;		/* KW_* */
	size_t		 off;		/* of the field, for all but KW_FN */
	size_t		 size;
	/* KW_FN: returns NULL, or the reason the arguments are refused. */
	const char	*(*set)(struct conf *, int, char **, char *, size_t);
};

#define KW_FIELD(t, m)	(t), offsetof(struct conf, m), \
			    sizeof(((struct conf *)0)->m), NULL
#define KW_SET(fn)	KW_FN, 0, 0, (fn)

static const char *conf_set_hostname(struct conf *, int, char **, char *,
		    size_t);
static const char *conf_set_listen(struct conf *, int, char **, char *,
		    size_t);
static const char *conf_set_user(struct conf *, int, char **, char *,
		    size_t);
static const char *conf_set_maildir(struct conf *, int, char **, char *,
		    size_t);
static const char *conf_set_relaynets(struct conf *, int, char **, char *,
		    size_t);
static const char *conf_set_relayhost(struct conf *, int, char **, char *,
		    size_t);
static const char *conf_set_maxsize(struct conf *, int, char **, char *,
		    size_t);
static const char *conf_set_delimiter(struct conf *, int, char **, char *,
		    size_t);
static const char *conf_set_postmaster(struct conf *, int, char **, char *,
		    size_t);
static const char *conf_set_retry_schedule(struct conf *, int, char **,
		    char *, size_t);
static const char *conf_set_sessions_per_ip(struct conf *, int, char **,
		    char *, size_t);
static const char *conf_set_greet_delay(struct conf *, int, char **,
		    char *, size_t);
static const char *conf_set_relayhost_tls(struct conf *, int, char **,
		    char *, size_t);
static const char *conf_set_sender_check(struct conf *, int, char **,
		    char *, size_t);
static const char *conf_set_srs(struct conf *, int, char **, char *,
		    size_t);
static const char *conf_auth_policy(const char *, int *);
static const char *conf_set_spf_policy(struct conf *, int, char **,
		    char *, size_t);
static const char *conf_set_dmarc_policy(struct conf *, int, char **,
		    char *, size_t);
static const char *conf_set_milter(struct conf *, int, char **, char *,
		    size_t);
static const char *conf_set_milter_default(struct conf *, int, char **,
		    char *, size_t);
static const char *conf_set_conn_rate(struct conf *, int, char **, char *,
		    size_t);
static const char *conf_set_msg_rate(struct conf *, int, char **, char *,
		    size_t);
static const char *conf_set_rcpt_refused(struct conf *, int, char **,
		    char *, size_t);
static const char *conf_set_auth_fail(struct conf *, int, char **, char *,
		    size_t);
static const char *conf_set_dnsbl(struct conf *, int, char **, char *,
		    size_t);
static const char *conf_set_lmtp(struct conf *, int, char **, char *,
		    size_t);
static const char *conf_set_quota_check(struct conf *, int, char **,
		    char *, size_t);
static const char *conf_set_quota_tempfail(struct conf *, int, char **,
		    char *, size_t);

static const struct conf_kw conf_kws[] = {
	{ "hostname", 1, 1, 0, KW_SET(conf_set_hostname) },
	{ "listen", 1, 2, KW_REPEAT, KW_SET(conf_set_listen) },
	{ "user", 1, 1, 0, KW_SET(conf_set_user) },
	{ "spool", 1, 1, 0, KW_FIELD(KW_PATH, spool) },
	{ "mapdir", 1, 1, 0, KW_FIELD(KW_PATH, mapdir) },
	{ "maildir", 1, 1, 0, KW_SET(conf_set_maildir) },
	{ "relaynets", 1, -1, KW_REPEAT, KW_SET(conf_set_relaynets) },
	{ "relayhost", 1, 1, 0, KW_SET(conf_set_relayhost) },
	{ "relayhost_auth", 1, 1, 0, KW_FIELD(KW_PATH, relayhost_auth) },
	{ "relayhost_tls", 1, 1, 0, KW_SET(conf_set_relayhost_tls) },
	{ "tls_ca_file", 1, 1, 0, KW_FIELD(KW_PATH, tls_ca_file) },
	{ "maxsize", 1, 1, 0, KW_SET(conf_set_maxsize) },
	{ "maxrcpt", 1, 1, 0, KW_FIELD(KW_COUNT, maxrcpt) },
	{ "recipient_delimiter", 1, 1, 0, KW_SET(conf_set_delimiter) },
	{ "queue_lifetime", 1, 1, 0, KW_FIELD(KW_DURATION, queue_lifetime) },
	{ "postmaster", 1, 1, 0, KW_SET(conf_set_postmaster) },
	{ "tls_cert", 1, 1, 0, KW_FIELD(KW_PATH, tls_cert) },
	{ "tls_key", 1, 1, 0, KW_FIELD(KW_PATH, tls_key) },
	{ "attic", 1, 1, 0, KW_FIELD(KW_PATH, attic) },
	/* 0 is allowed: the next periodic run purges. */
	{ "delete_grace", 1, 1, 0, KW_FIELD(KW_DURATION0, delete_grace) },
	{ "command_timeout", 1, 1, 0, KW_FIELD(KW_TIMEOUT, command_timeout) },
	{ "data_timeout", 1, 1, 0, KW_FIELD(KW_TIMEOUT, data_timeout) },
	{ "max_errors", 1, 1, 0, KW_FIELD(KW_COUNT, max_errors) },
	{ "max_sessions", 1, 1, 0, KW_FIELD(KW_COUNT, max_sessions) },
	{ "max_sessions_per_ip", 1, 2, 0,
	    KW_SET(conf_set_sessions_per_ip) },
	{ "max_junk_commands", 1, 1, 0,
	    KW_FIELD(KW_COUNT, max_junk_commands) },
	{ "greet_delay", 1, 1, 0, KW_SET(conf_set_greet_delay) },
	{ "retry_schedule", 1, CONF_RETRY_MAX, 0,
	    KW_SET(conf_set_retry_schedule) },
	{ "delay_warning", 1, 1, 0,
	    KW_FIELD(KW_DURATION_NONE, delay_warning) },
	{ "max_deliveries", 1, 1, 0, KW_FIELD(KW_COUNT, max_deliveries) },
	{ "max_per_destination", 1, 1, 0,
	    KW_FIELD(KW_COUNT, max_per_destination) },
	{ "sender_check", 1, 1, 0, KW_SET(conf_set_sender_check) },
	{ "srs", 1, 1, 0, KW_SET(conf_set_srs) },
	{ "spf_policy", 1, 1, 0, KW_SET(conf_set_spf_policy) },
	{ "dmarc_policy", 1, 1, 0, KW_SET(conf_set_dmarc_policy) },
	{ "milter", 1, 1, KW_REPEAT, KW_SET(conf_set_milter) },
	{ "milter_timeout", 1, 1, 0, KW_FIELD(KW_TIMEOUT, milter_timeout) },
	{ "milter_default", 1, 1, 0, KW_SET(conf_set_milter_default) },
	{ "conn_rate", 1, 2, 0, KW_SET(conf_set_conn_rate) },
	{ "msg_rate", 1, 2, 0, KW_SET(conf_set_msg_rate) },
	{ "max_rcpt_refused", 1, 2, 0, KW_SET(conf_set_rcpt_refused) },
	{ "auth_fail_limit", 1, 4, 0, KW_SET(conf_set_auth_fail) },
	{ "dnsbl", 1, 2, KW_REPEAT, KW_SET(conf_set_dnsbl) },
	{ "lmtp", 1, 1, KW_REPEAT, KW_SET(conf_set_lmtp) },
	{ "quota_check_at_rcpt", 1, 1, 0, KW_SET(conf_set_quota_check) },
	{ "quota_full_tempfail", 1, 1, 0, KW_SET(conf_set_quota_tempfail) },
};
#define CONF_NKW	(sizeof(conf_kws) / sizeof(conf_kws[0]))

/* What conf_load needs besides struct conf while it reads. */
struct conf_state {
	size_t	seen[CONF_NKW];		/* line of the first use, 0: none */
	size_t	smtps;			/* line of the first smtps listener */
	int	relaynets_none;
};

static const time_t conf_retry_default[] = {
	5 * 60, 10 * 60, 20 * 60, 40 * 60, 3600, 2 * 3600, 4 * 3600
};

/* ---- values ----------------------------------------------------- */

struct conf_unit {
	char		c;		/* '\0': no unit */
	uint64_t	mult;
};

static const struct conf_unit conf_size_units[] = {
	{ '\0', 1 },
	{ 'K', 1024 }, { 'k', 1024 },
	{ 'M', 1024 * 1024 }, { 'm', 1024 * 1024 },
	{ 'G', 1024 * 1024 * 1024 }, { 'g', 1024 * 1024 * 1024 },
};

static const struct conf_unit conf_duration_units[] = {
	{ '\0', 1 }, { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
};

/* Digits, then at most one unit letter of units; the product at most max. */
static int
conf_parse_scaled(const char *s, const struct conf_unit *units,
    size_t nunits, uint64_t max, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (s[0] != '\0' && s[1] != '\0')
		return -1;
	for (i = 0; i < nunits && units[i].c != s[0]; i++)
		;
	if (i == nunits || v > max / units[i].mult)
		return -1;
	*out = v * units[i].mult;
	return 0;
}

int
conf_parse_size(const char *s, uint64_t *bytes)
{
	return conf_parse_scaled(s, conf_size_units,
	    sizeof(conf_size_units) / sizeof(conf_size_units[0]),
	    CONF_SIZE_MAX, bytes);
}

int
conf_parse_duration(const char *s, time_t *secs)
{
	uint64_t	v;

	if (conf_parse_scaled(s, conf_duration_units,
	    sizeof(conf_duration_units) / sizeof(conf_duration_units[0]),
	    (uint64_t)CONF_DURATION_MAX, &v) == -1)
		return -1;
	*secs = (time_t)v;
	return 0;
}

static const char *
conf_count(const char *s, size_t *n)
{
	const char	*errstr;
	long long	 v;

	v = strtonum(s, 1, CONF_COUNT_MAX, &errstr);
	if (errstr != NULL || !isdigit((unsigned char)s[0]))
		return "not a number from 1 to 1000000";
	*n = (size_t)v;
	return NULL;
}

static const char *
conf_duration_positive(const char *s, time_t *t)
{
	if (conf_parse_duration(s, t) == -1)
		return "bad duration (a number with s, m, h or d)";
	if (*t == 0)
		return "duration must be more than 0";
	return NULL;
}

static const char *
conf_path(const char *s, char *dst, size_t dstlen)
{
	const char	*p;

	if (s[0] != '/')
		return "path must be absolute";
	for (p = s; *p != '\0'; p++)
		if (iscntrl((unsigned char)*p))
			return "control character in path";
	if (strlcpy(dst, s, dstlen) >= dstlen)
		return "path too long";
	return NULL;
}

/* ---- keywords ---------------------------------------------------- */

/* The value of a keyword of a type other than KW_FN, at its offset. */
static const char *
conf_set_field(struct conf *c, const struct conf_kw *kw, const char *s)
{
	void		*field = (char *)c + kw->off;
	const char	*reason;

	switch (kw->type) {
	case KW_PATH:
		return conf_path(s, field, kw->size);
	case KW_COUNT:
		return conf_count(s, field);
	case KW_DURATION:
		return conf_duration_positive(s, field);
	case KW_TIMEOUT:
		if ((reason = conf_duration_positive(s, field)) != NULL)
			return reason;
		if (*(time_t *)field > CONF_TIMEOUT_MAX)
			return "timeout must be at most 24d";
		return NULL;
	case KW_DURATION_NONE:
		if (strcmp(s, "none") == 0) {
			*(time_t *)field = 0;
			return NULL;
		}
		if (conf_parse_duration(s, field) == -1)
			return "bad duration (a number with s, m, h or d, "
			    "or none)";
		return NULL;
	default:
		if (conf_parse_duration(s, field) == -1)
			return "bad duration (a number with s, m, h or d)";
		return NULL;
	}
}

static const char *
conf_set_hostname(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	const char	*errstr;

	if (addr_domain_valid(av[0], &errstr) == -1) {
		snprintf(buf, buflen, "bad hostname: %s", errstr);
		return buf;
	}
	strlcpy(c->hostname, av[0], sizeof(c->hostname));
	addr_lower(c->hostname);
	return NULL;
}

/* "[v6]:port" or "v4:port": numeric addresses only, never a name. */
static const char *
conf_listen_addr(struct conf_listen *l, const char *s)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	const char	*port, *errstr;
	size_t		 hlen;

	if (s[0] == '[') {
		if ((port = strstr(s, "]:")) == NULL)
			return "IPv6 address must be written [ADDR]:PORT";
		hlen = (size_t)(port - s) - 1;
		s++;
		port += 2;
		l->family = AF_INET6;
	} else {
		if ((port = strrchr(s, ':')) == NULL)
			return "address must be written ADDR:PORT";
		hlen = (size_t)(port - s);
		port++;
		l->family = AF_INET;
	}
	if (hlen == 0 || hlen >= sizeof(l->host))
		return "bad address";
	memcpy(l->host, s, hlen);
	l->host[hlen] = '\0';
	if (l->family == AF_INET6 ? inet_pton(AF_INET6, l->host, &a6) != 1 :
	    inet_pton(AF_INET, l->host, &a4) != 1)
		return "not a numeric IP address";
	strtonum(port, 1, 65535, &errstr);
	if (errstr != NULL || !isdigit((unsigned char)port[0]))
		return "bad port (1 to 65535)";
	strlcpy(l->port, port, sizeof(l->port));
	return NULL;
}

static const char *
conf_set_listen(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	struct conf_listen	 l, *nl;
	const char		*reason;

	memset(&l, 0, sizeof(l));
	if ((reason = conf_listen_addr(&l, av[0])) != NULL)
		return reason;
	if (ac == 1)
		l.mode = LISTEN_PLAIN;
	else if (strcmp(av[1], "submission") == 0)
		l.mode = LISTEN_SUBMISSION;
	else if (strcmp(av[1], "smtps") == 0)
		l.mode = LISTEN_SMTPS;
	else
		return "mode must be submission or smtps";
	if (c->nlisten >= CONF_LISTEN_MAX)
		return "too many listen lines";
	nl = reallocarray(c->listen, c->nlisten + 1, sizeof(*nl));
	if (nl == NULL)
		return strerror(errno);
	c->listen = nl;
	c->listen[c->nlisten++] = l;
	return NULL;
}

static const char *
conf_set_user(struct conf *c, int ac, char **av, char *buf, size_t buflen)
{
	const char	*p;

	if (av[0][0] == '-')
		return "bad user name";
	for (p = av[0]; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
			return "bad user name";
	if (strlcpy(c->user, av[0], sizeof(c->user)) >= sizeof(c->user))
		return "user name too long";
	return NULL;
}

/*
 * Both %d and %u are required: without the domain, alice@a and alice@b
 * would share one Maildir.  No ':' and no ".." component, which the
 * users map refuses in a home.
 */
static const char *
conf_set_maildir(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	const char	*p, *reason;
	int		 d = 0, u = 0;

	if ((reason = conf_path(av[0], c->maildir, sizeof(c->maildir))) != NULL)
		return reason;
	/* A home of the users map has neither (mailmaps(5)). */
	if (strchr(av[0], ':') != NULL)
		return "':' in template: it separates the users map's fields";
	for (p = av[0]; (p = strstr(p, "/..")) != NULL; p += 3)
		if (p[3] == '/' || p[3] == '\0')
			return "template has a '..' component";
	for (p = av[0]; (p = strchr(p, '%')) != NULL; p += 2) {
		if (p[1] == 'd')
			d = 1;
		else if (p[1] == 'u')
			u = 1;
		else
			return "unknown % escape (only %d and %u)";
	}
	if (!d || !u)
		return "template must contain %d and %u";
	return NULL;
}

/* "addr/prefix" or a bare address (a host: /32 or /128). */
static const char *
conf_net_parse(const char *s, struct conf_net *n)
{
	char		 host[INET6_ADDRSTRLEN];
	const char	*slash, *errstr;
	size_t		 len, i;
	int		 max;

	memset(n, 0, sizeof(*n));
	slash = strchr(s, '/');
	len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (len == 0 || len >= sizeof(host))
		return "bad network";
	memcpy(host, s, len);
	host[len] = '\0';
	if (inet_pton(AF_INET, host, n->addr) == 1) {
		n->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, n->addr) == 1) {
		n->family = AF_INET6;
		max = 128;
	} else
		return "bad network address";
	n->prefix = max;
	if (slash != NULL) {
		n->prefix = strtonum(slash + 1, 0, max, &errstr);
		if (errstr != NULL || !isdigit((unsigned char)slash[1]))
			return "bad prefix length";
	}
	for (i = 0; i < (size_t)max / 8; i++) {
		if ((int)i * 8 >= n->prefix) {
			if (n->addr[i] != 0)
				return "host bits set beyond the prefix";
		} else if ((int)i * 8 + 8 > n->prefix &&
		    (n->addr[i] & (0xff >> (n->prefix - (int)i * 8))) != 0)
			return "host bits set beyond the prefix";
	}
	return NULL;
}

static const char *
conf_set_relaynets(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	struct conf_net	*nn;
	const char	*reason;
	int		 i;

	if (ac == 1 && strcmp(av[0], "none") == 0)
		return NULL;
	if (c->nrelaynets + (size_t)ac > CONF_NETS_MAX)
		return "too many relaynets";
	nn = reallocarray(c->relaynets, c->nrelaynets + (size_t)ac,
	    sizeof(*nn));
	if (nn == NULL)
		return strerror(errno);
	c->relaynets = nn;
	for (i = 0; i < ac; i++) {
		if ((reason = conf_net_parse(av[i],
		    &c->relaynets[c->nrelaynets])) != NULL) {
			snprintf(buf, buflen, "%s: %s", av[i], reason);
			return buf;
		}
		c->nrelaynets++;
	}
	return NULL;
}

/*
 * "[HOST]:PORT", "HOST:PORT" or "HOST", with "smtps://" before it for
 * implicit TLS (RFC 8314), which port 465 also means.  Postfix's
 * brackets mean "no MX lookup"; deliver(8) never looks up MX records
 * for the relayhost, so they only allow an IPv6 address:
 * [2001:db8::1]:587.
 */
/*
 * "host", "host:port" or "[host]:port" (an IPv6 address needs the
 * brackets) into host and port, which keeps its value when s names
 * none; a host is a domain name or an address.  NULL, or the reason.
 */
static const char *
conf_host_port(const char *s, char *host, size_t hostlen, char *port,
    size_t portlen, char *buf, size_t buflen)
{
	struct in6_addr	 a6;
	const char	*end, *errstr;
	size_t		 len;

	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return "missing ']'";
		s++;
		len = (size_t)(end - s);
		end++;
	} else {
		end = strchr(s, ':');
		len = end != NULL ? (size_t)(end - s) : strlen(s);
		if (end == NULL)
			end = s + len;
	}
	if (*end == ':') {
		if (strlcpy(port, end + 1, portlen) >= portlen)
			return "bad port (1 to 65535)";
	} else if (*end != '\0')
		return "junk after ']'";
	if (len == 0 || len >= hostlen)
		return "bad host";
	memcpy(host, s, len);
	host[len] = '\0';
	if (inet_pton(AF_INET6, host, &a6) != 1 &&
	    inet_pton(AF_INET, host, &a6) != 1 &&
	    addr_domain_valid(host, &errstr) == -1) {
		snprintf(buf, buflen, "bad host: %s", errstr);
		return buf;
	}
	strtonum(port, 1, 65535, &errstr);
	if (errstr != NULL || !isdigit((unsigned char)port[0]))
		return "bad port (1 to 65535)";
	addr_lower(host);
	return NULL;
}

static const char *
conf_set_relayhost(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	char		 host[ADDR_DOMAIN_MAX + 1], port[8] = "25";
	const char	*s = av[0], *reason;
	int		 smtps = 0;

	if (strncasecmp(s, "smtps://", 8) == 0) {
		s += 8;
		smtps = 1;
		strlcpy(port, "465", sizeof(port));
	}
	if ((reason = conf_host_port(s, host, sizeof(host), port,
	    sizeof(port), buf, buflen)) != NULL)
		return reason;
	strlcpy(c->relayhost, host, sizeof(c->relayhost));
	strlcpy(c->relayport, port, sizeof(c->relayport));
	c->relayhost_smtps = smtps || strcmp(port, "465") == 0;
	return NULL;
}

/*
 * "unix:PATH" (an absolute path) or "HOST:PORT": LMTP has no port of
 * its own (RFC 2033 section 5), so one is required.
 */
static const char *
conf_set_lmtp(struct conf *c, int ac, char **av, char *buf, size_t buflen)
{
	struct conf_lmtp	 l, *nl;
	const char		*reason;

	memset(&l, 0, sizeof(l));
	if (strncmp(av[0], "unix:", 5) == 0) {
		if (av[0][5] != '/')
			return "unix: takes an absolute path";
		if (strlcpy(l.path, av[0] + 5, sizeof(l.path)) >=
		    sizeof(l.path))
			return "socket path too long (at most 103 bytes)";
	} else {
		if (strchr(av[0], ':') == NULL || av[0][strlen(av[0]) - 1] ==
		    ']')
			return "want unix:PATH or HOST:PORT";
		if ((reason = conf_host_port(av[0], l.host, sizeof(l.host),
		    l.port, sizeof(l.port), buf, buflen)) != NULL)
			return reason;
	}
	if (c->nlmtp >= CONF_LMTP_MAX)
		return "at most 16 lmtp lines";
	if ((nl = reallocarray(c->lmtp, c->nlmtp + 1, sizeof(*nl))) == NULL)
		return strerror(errno);
	c->lmtp = nl;
	c->lmtp[c->nlmtp++] = l;
	return NULL;
}

static const char *
conf_yes_no(const char *s, int *v)
{
	if (strcmp(s, "yes") == 0)
		*v = 1;
	else if (strcmp(s, "no") == 0)
		*v = 0;
	else
		return "yes or no";
	return NULL;
}

static const char *
conf_set_quota_check(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	return conf_yes_no(av[0], &c->quota_check_at_rcpt);
}

static const char *
conf_set_quota_tempfail(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	return conf_yes_no(av[0], &c->quota_full_tempfail);
}

static const char *const conf_tls_names[] = {
	"none", "may", "encrypt", "verify"
};

int
conf_tls_policy(const char *s)
{
	int	i;

	for (i = CONF_TLS_NONE; i <= CONF_TLS_VERIFY; i++)
		if (strcmp(s, conf_tls_names[i]) == 0)
			return i;
	return -1;
}

const char *
conf_tls_policy_name(int policy)
{
	if (policy < CONF_TLS_NONE || policy > CONF_TLS_VERIFY)
		return "?";
	return conf_tls_names[policy];
}

static const char *
conf_set_relayhost_tls(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	if ((c->relayhost_tls = conf_tls_policy(av[0])) == -1)
		return "must be none, may, encrypt or verify";
	return NULL;
}

static const char *
conf_set_maxsize(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	if (conf_parse_size(av[0], &c->maxsize) == -1)
		return "bad size (a number with K, M or G)";
	if (c->maxsize == 0)
		return "size must be more than 0";
	return NULL;
}

/* Characters that mean something else in an address or a map. */
static const char *
conf_set_delimiter(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	const char	*p;

	if (strcmp(av[0], "none") == 0) {
		c->recipient_delimiter[0] = '\0';
		return NULL;
	}
	for (p = av[0]; *p != '\0'; p++)
		if (!isgraph((unsigned char)*p) || isalnum((unsigned char)*p) ||
		    strchr("@.\"\\/:,%!|#", *p) != NULL)
			return "delimiter must be punctuation such as + or -";
	if (strlcpy(c->recipient_delimiter, av[0],
	    sizeof(c->recipient_delimiter)) >= sizeof(c->recipient_delimiter))
		return "at most 7 delimiter characters";
	return NULL;
}

static const char *
conf_set_postmaster(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	struct mailaddr	 ma;
	const char	*errstr;
	int		 n;

	if (addr_parse_safe(av[0], &ma, &errstr) == -1) {
		snprintf(buf, buflen, "bad address: %s", errstr);
		return buf;
	}
	n = snprintf(c->postmaster, sizeof(c->postmaster), "%s@%s", ma.local,
	    ma.domain);
	if (n < 0 || (size_t)n >= sizeof(c->postmaster))
		return "address too long";
	return NULL;
}

static const char *
conf_set_sender_check(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	if (strcmp(av[0], "none") == 0)
		c->sender_check = SENDER_CHECK_NONE;
	else if (strcmp(av[0], "envelope") == 0)
		c->sender_check = SENDER_CHECK_ENVELOPE;
	else if (strcmp(av[0], "header") == 0)
		c->sender_check = SENDER_CHECK_HEADER;
	else
		return "sender_check is none, envelope or header";
	return NULL;
}

static const char *
conf_set_srs(struct conf *c, int ac, char **av, char *buf, size_t buflen)
{
	if (strcmp(av[0], "on") == 0)
		c->srs = 1;
	else if (strcmp(av[0], "off") == 0)
		c->srs = 0;
	else
		return "srs is on or off";
	return NULL;
}

static const char *
conf_auth_policy(const char *v, int *policy)
{
	if (strcmp(v, "mark") == 0)
		*policy = CONF_POLICY_MARK;
	else if (strcmp(v, "quarantine") == 0)
		*policy = CONF_POLICY_QUARANTINE;
	else if (strcmp(v, "reject") == 0)
		*policy = CONF_POLICY_REJECT;
	else
		return "the policy is reject, quarantine or mark";
	return NULL;
}

static const char *
conf_set_spf_policy(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	return conf_auth_policy(av[0], &c->spf_policy);
}

static const char *
conf_set_dmarc_policy(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	return conf_auth_policy(av[0], &c->dmarc_policy);
}

/* "HOST:PORT" or "[V6]:PORT" of an inet milter, into m. */
static const char *
conf_milter_inet(struct conf_milter *m, const char *s, char *buf,
    size_t buflen)
{
	struct in6_addr	 a6;
	const char	*port, *errstr;
	size_t		 len;

	if (s[0] == '[') {
		if ((port = strstr(s, "]:")) == NULL)
			return "IPv6 address must be written inet:[ADDR]:PORT";
		len = (size_t)(port - s) - 1;
		s++;
		port += 2;
	} else {
		if ((port = strrchr(s, ':')) == NULL)
			return "must be inet:HOST:PORT";
		len = (size_t)(port - s);
		port++;
	}
	if (len == 0 || len >= sizeof(m->host))
		return "bad host";
	memcpy(m->host, s, len);
	m->host[len] = '\0';
	if (inet_pton(AF_INET6, m->host, &a6) != 1 &&
	    inet_pton(AF_INET, m->host, &a6) != 1 &&
	    addr_domain_valid(m->host, &errstr) == -1) {
		snprintf(buf, buflen, "bad host: %s", errstr);
		return buf;
	}
	strtonum(port, 1, 65535, &errstr);
	if (errstr != NULL || !isdigit((unsigned char)port[0]))
		return "bad port (1 to 65535)";
	strlcpy(m->port, port, sizeof(m->port));
	m->family = AF_UNSPEC;
	return NULL;
}

static const char *
conf_set_milter(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	struct conf_milter	 m, *nm;
	const char		*reason;

	memset(&m, 0, sizeof(m));
	if (strlcpy(m.name, av[0], sizeof(m.name)) >= sizeof(m.name))
		return "too long";
	if (strncmp(av[0], "unix:", 5) == 0) {
		if ((reason = conf_path(av[0] + 5, m.path,
		    sizeof(m.path))) != NULL)
			return reason;
		m.family = AF_UNIX;
	} else if (strncmp(av[0], "inet:", 5) == 0) {
		if ((reason = conf_milter_inet(&m, av[0] + 5, buf,
		    buflen)) != NULL)
			return reason;
	} else
		return "must be unix:PATH or inet:HOST:PORT";
	if (c->nmilters >= CONF_MILTERS_MAX)
		return "too many milters";
	nm = reallocarray(c->milters, c->nmilters + 1, sizeof(*nm));
	if (nm == NULL)
		return strerror(errno);
	c->milters = nm;
	c->milters[c->nmilters++] = m;
	return NULL;
}

static const char *
conf_set_milter_default(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	if (strcmp(av[0], "tempfail") == 0)
		c->milter_default = CONF_MILTER_TEMPFAIL;
	else if (strcmp(av[0], "accept") == 0)
		c->milter_default = CONF_MILTER_ACCEPT;
	else
		return "milter_default is tempfail or accept";
	return NULL;
}

/* Each interval at least as long as the one before; the last repeats. */
static const char *
conf_set_retry_schedule(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	time_t		*t;
	const char	*reason;
	int		 i;

	if ((t = calloc((size_t)ac, sizeof(*t))) == NULL)
		return strerror(errno);
	for (i = 0; i < ac; i++) {
		if ((reason = conf_duration_positive(av[i], &t[i])) != NULL)
			break;
		if (i > 0 && t[i] < t[i - 1]) {
			reason = "intervals must not get shorter";
			break;
		}
	}
	if (i < ac) {
		free(t);
		snprintf(buf, buflen, "%s: %s", av[i], reason);
		return buf;
	}
	c->retry_schedule = t;
	c->nretry_schedule = (size_t)ac;
	return NULL;
}

/* "N" spares relaynets clients, as Postfix spares mynetworks; "N all" not. */
static const char *
conf_set_sessions_per_ip(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	const char	*reason;

	if ((reason = conf_count(av[0], &c->max_sessions_per_ip)) != NULL)
		return reason;
	if (ac == 2 && strcmp(av[1], "all") != 0)
		return "the second word may only be \"all\"";
	c->max_sessions_per_ip_all = ac == 2;
	return NULL;
}

/* 0 greets at once; smtpd waits in milliseconds, in an int. */
static const char *
conf_set_greet_delay(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	if (conf_parse_duration(av[0], &c->greet_delay) == -1)
		return "bad duration (a number with s, m, h or d)";
	if (c->greet_delay > CONF_TIMEOUT_MAX)
		return "greet_delay must be at most 24d";
	return NULL;
}

/* "N [all]" or "none": a limit of smtpd's abuse limits. */
static const char *
conf_limit(struct conf_limit *l, int ac, char **av)
{
	const char	*reason;

	if (strcmp(av[0], "none") == 0) {
		if (ac != 1)
			return "none stands alone";
		l->n = 0;
		l->all = 0;
		return NULL;
	}
	if ((reason = conf_count(av[0], &l->n)) != NULL)
		return reason;
	if (ac == 2 && strcmp(av[1], "all") != 0)
		return "the second word may only be \"all\"";
	l->all = ac == 2;
	return NULL;
}

static const char *
conf_set_conn_rate(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	return conf_limit(&c->conn_rate, ac, av);
}

static const char *
conf_set_msg_rate(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	return conf_limit(&c->msg_rate, ac, av);
}

static const char *
conf_set_rcpt_refused(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	return conf_limit(&c->max_rcpt_refused, ac, av);
}

/*
 * "N WINDOW [LOCKOUT] [all]" or "none".  smtpd remembers the times of
 * the last N failures of each address: N is bounded.
 */
static const char *
conf_set_auth_fail(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	struct conf_limit *l = &c->auth_fail_limit;
	const char	*reason;
	int		 all = 0;

	if (ac > 1 && strcmp(av[ac - 1], "all") == 0) {
		all = 1;
		ac--;
	}
	if (strcmp(av[0], "none") == 0)
		return all ? "none stands alone" : conf_limit(l, ac, av);
	if ((reason = conf_count(av[0], &l->n)) != NULL)
		return reason;
	if (l->n > CONF_AUTH_FAIL_MAX)
		return "at most 100 failures";
	if (ac < 2)
		return "missing window (a duration)";
	if (ac > 3)
		return "the last word may only be \"all\"";
	if ((reason = conf_duration_positive(av[1],
	    &c->auth_fail_window)) != NULL)
		return reason;
	c->auth_fail_lockout = c->auth_fail_window;
	if (ac == 3 && (reason = conf_duration_positive(av[2],
	    &c->auth_fail_lockout)) != NULL)
		return reason;
	if (c->auth_fail_window > CONF_TIMEOUT_MAX ||
	    c->auth_fail_lockout > CONF_TIMEOUT_MAX)
		return "durations must be at most 24d";
	l->all = all;
	return NULL;
}

/* "ZONE [THRESHOLD]": THRESHOLD zones of the dnsbl lines must list. */
static const char *
conf_set_dnsbl(struct conf *c, int ac, char **av, char *buf,
    size_t buflen)
{
	struct conf_dnsbl	 d, *nd;
	const char		*reason, *errstr;

	memset(&d, 0, sizeof(d));
	if (addr_domain_valid(av[0], &errstr) == -1) {
		snprintf(buf, buflen, "bad zone: %s", errstr);
		return buf;
	}
	strlcpy(d.zone, av[0], sizeof(d.zone));
	addr_lower(d.zone);
	d.threshold = 1;
	if (ac == 2 && (reason = conf_count(av[1], &d.threshold)) != NULL)
		return reason;
	if (c->ndnsbl >= CONF_DNSBL_MAX)
		return "at most 16 dnsbl lines";
	nd = reallocarray(c->dnsbl, c->ndnsbl + 1, sizeof(*nd));
	if (nd == NULL)
		return strerror(errno);
	c->dnsbl = nd;
	c->dnsbl[c->ndnsbl++] = d;
	return NULL;
}

/* ---- the file ---------------------------------------------------- */

static void
conf_defaults(struct conf *c)
{
	if (gethostname(c->hostname, sizeof(c->hostname)) == -1 ||
	    c->hostname[0] == '\0')
		strlcpy(c->hostname, "localhost", sizeof(c->hostname));
	c->hostname[sizeof(c->hostname) - 1] = '\0';
	strlcpy(c->user, "_mail", sizeof(c->user));
	strlcpy(c->spool, "/var/spool/basemail", sizeof(c->spool));
	strlcpy(c->mapdir, "/etc/mail", sizeof(c->mapdir));
	strlcpy(c->maildir, "/var/mail/vhosts/%d/%u", sizeof(c->maildir));
	c->maxsize = 35 * 1024 * 1024;
	c->maxrcpt = 100;
	strlcpy(c->recipient_delimiter, "+", sizeof(c->recipient_delimiter));
	c->queue_lifetime = 5 * 86400;
	strlcpy(c->postmaster, "root@localhost", sizeof(c->postmaster));
	strlcpy(c->attic, "/var/mail/attic", sizeof(c->attic));
	c->delete_grace = 2 * 86400;
	c->command_timeout = 5 * 60;
	c->data_timeout = 10 * 60;
	c->max_errors = 10;
	c->max_sessions = 100;
	c->max_sessions_per_ip = 20;
	c->max_junk_commands = 100;
	c->greet_delay = 1;
	c->delay_warning = 4 * 3600;
	c->max_deliveries = 20;
	c->max_per_destination = 4;
	c->relayhost_tls = -1;
	c->sender_check = SENDER_CHECK_ENVELOPE;
	c->spf_policy = CONF_POLICY_MARK;
	c->dmarc_policy = CONF_POLICY_QUARANTINE;
	c->milter_timeout = 30;
	c->milter_default = CONF_MILTER_TEMPFAIL;
	c->conn_rate.n = 60;
	c->msg_rate.n = 120;
	c->max_rcpt_refused.n = 20;
	c->auth_fail_limit.n = 10;
	c->auth_fail_window = c->auth_fail_lockout = 10 * 60;
	c->quota_check_at_rcpt = -1;
	c->quota_full_tempfail = 1;
}

/* The lists whose default applies only when the file gives none. */
static int
conf_default_lists(struct conf *c, struct conf_state *st)
{
	char	*av[2];

	if (c->nlisten == 0) {
		av[0] = "0.0.0.0:25";
		if (conf_set_listen(c, 1, av, NULL, 0) != NULL)
			return -1;
	}
	if (c->nrelaynets == 0 && !st->relaynets_none) {
		av[0] = "127.0.0.0/8";
		av[1] = "::1/128";
		if (conf_set_relaynets(c, 2, av, NULL, 0) != NULL)
			return -1;
	}
	if (c->nretry_schedule == 0) {
		c->retry_schedule = malloc(sizeof(conf_retry_default));
		if (c->retry_schedule == NULL)
			return -1;
		memcpy(c->retry_schedule, conf_retry_default,
		    sizeof(conf_retry_default));
		c->nretry_schedule = sizeof(conf_retry_default) /
		    sizeof(conf_retry_default[0]);
	}
	/* With LMTP, the Maildirs are the LMTP server's, not in sight. */
	if (c->quota_check_at_rcpt == -1)
		c->quota_check_at_rcpt = c->nlmtp == 0;
	return 0;
}

/* Splits line into words; '#' starts a comment anywhere. */
static int
conf_split(char *line, char **av)
{
	char	*p;
	int	 ac = 0;

	if ((p = strchr(line, '#')) != NULL)
		*p = '\0';
	while ((p = strsep(&line, " \t\r\n")) != NULL) {
		if (*p == '\0')
			continue;
		if (ac == CONF_ARGS_MAX)
			return -1;
		av[ac++] = p;
	}
	return ac;
}

static const char *
conf_line(struct conf *c, struct conf_state *st, char *line, size_t lineno,
    char *buf, size_t buflen)
{
	char			*av[CONF_ARGS_MAX], why[200];
	const struct conf_kw	*kw;
	const char		*reason;
	size_t			 i;
	int			 ac;

	if ((ac = conf_split(line, av)) == -1)
		return "too many words";
	if (ac == 0)
		return NULL;
	for (i = 0; i < CONF_NKW; i++)
		if (strcmp(conf_kws[i].name, av[0]) == 0)
			break;
	if (i == CONF_NKW) {
		snprintf(buf, buflen, "unknown keyword \"%.64s\"", av[0]);
		return buf;
	}
	kw = &conf_kws[i];
	if (st->seen[i] != 0 && !(kw->flags & KW_REPEAT)) {
		snprintf(buf, buflen, "%s given twice (first on line %zu)",
		    kw->name, st->seen[i]);
		return buf;
	}
	if (ac - 1 < kw->minargs) {
		snprintf(buf, buflen, "%s: missing argument", kw->name);
		return buf;
	}
	if (kw->maxargs != -1 && ac - 1 > kw->maxargs) {
		snprintf(buf, buflen, "%s: too many arguments", kw->name);
		return buf;
	}
	if (st->seen[i] == 0)
		st->seen[i] = lineno;
	if (kw->set == conf_set_relaynets && strcmp(av[1], "none") == 0) {
		if (ac != 2 || c->nrelaynets != 0 || st->relaynets_none)
			return "relaynets none must stand alone";
		st->relaynets_none = 1;
	} else if (kw->set == conf_set_relaynets && st->relaynets_none)
		return "relaynets none must stand alone";
	if (kw->set == conf_set_listen && ac == 3 &&
	    strcmp(av[2], "smtps") == 0 && st->smtps == 0)
		st->smtps = lineno;
	if (kw->type == KW_FN)
		reason = kw->set(c, ac - 1, av + 1, why, sizeof(why));
	else
		reason = conf_set_field(c, kw, av[1]);
	if (reason == NULL)
		return NULL;
	snprintf(buf, buflen, "%s: %s", kw->name, reason);
	return buf;
}

/* The line where keyword name was first given, or 0. */
static size_t
conf_seen(const struct conf_state *st, const char *name)
{
	size_t	i;

	for (i = 0; i < CONF_NKW; i++)
		if (strcmp(conf_kws[i].name, name) == 0)
			return st->seen[i];
	return 0;
}

/*
 * The relayhost's TLS policy: verify by default when there are
 * credentials, which go only over TLS; may otherwise.  Implicit TLS
 * has no clear text to fall back to: may is encrypt there.
 */
static int
conf_check_relayhost(struct conf *c, struct conf_state *st, char *err,
    size_t errlen)
{
	size_t	auth = conf_seen(st, "relayhost_auth");
	size_t	tls = conf_seen(st, "relayhost_tls");

	if (auth != 0 && c->relayhost[0] == '\0') {
		snprintf(err, errlen, "%s:%zu: relayhost_auth without "
		    "relayhost", c->path, auth);
		return -1;
	}
	if (c->relayhost_tls == -1)
		c->relayhost_tls = auth != 0 ? CONF_TLS_VERIFY : CONF_TLS_MAY;
	if (auth != 0 && c->relayhost_tls < CONF_TLS_ENCRYPT) {
		snprintf(err, errlen, "%s:%zu: relayhost_tls %s with "
		    "relayhost_auth: the password goes only over TLS (encrypt "
		    "or verify)", c->path, tls,
		    conf_tls_policy_name(c->relayhost_tls));
		return -1;
	}
	if (c->relayhost_smtps && c->relayhost_tls == CONF_TLS_NONE) {
		snprintf(err, errlen, "%s:%zu: relayhost_tls none with an "
		    "smtps relayhost (implicit TLS)", c->path, tls);
		return -1;
	}
	if (c->relayhost_smtps && c->relayhost_tls == CONF_TLS_MAY)
		c->relayhost_tls = CONF_TLS_ENCRYPT;
	return 0;
}

/* A threshold above the number of zones could never be met. */
static int
conf_check_dnsbl(struct conf *c, struct conf_state *st, char *err,
    size_t errlen)
{
	size_t	i;

	for (i = 0; i < c->ndnsbl; i++)
		if (c->dnsbl[i].threshold > c->ndnsbl) {
			snprintf(err, errlen, "%s: dnsbl %s: threshold %zu, "
			    "but only %zu dnsbl zones", c->path,
			    c->dnsbl[i].zone, c->dnsbl[i].threshold,
			    c->ndnsbl);
			return -1;
		}
	return 0;
}

/* The checks that involve more than one keyword. */
static int
conf_check(struct conf *c, struct conf_state *st, char *err, size_t errlen)
{
	size_t	cert, key;

	cert = conf_seen(st, "tls_cert");
	key = conf_seen(st, "tls_key");
	if (cert != 0 && key == 0) {
		snprintf(err, errlen, "%s:%zu: tls_cert without tls_key",
		    c->path, cert);
		return -1;
	}
	if (key != 0 && cert == 0) {
		snprintf(err, errlen, "%s:%zu: tls_key without tls_cert",
		    c->path, key);
		return -1;
	}
	if (st->smtps != 0 && cert == 0) {
		snprintf(err, errlen, "%s:%zu: smtps needs tls_cert and tls_key",
		    c->path, st->smtps);
		return -1;
	}
	if (conf_check_dnsbl(c, st, err, errlen) == -1)
		return -1;
	return conf_check_relayhost(c, st, err, errlen);
}

static int
conf_read(struct conf *c, struct conf_state *st, FILE *fp, char *err,
    size_t errlen)
{
	char		*line = NULL, buf[320];
	const char	*reason = NULL;
	size_t		 linesize = 0, lineno = 0;
	ssize_t		 len;

	while ((len = getline(&line, &linesize, fp)) != -1) {
		lineno++;
		/* The newline is not one of the line's bytes. */
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > CONF_LINE_MAX)
			reason = "line too long";
		else if (strlen(line) != (size_t)len)
			reason = "NUL byte in line";
		else
			reason = conf_line(c, st, line, lineno, buf,
			    sizeof(buf));
		if (reason != NULL)
			break;
	}
	free(line);
	if (reason != NULL) {
		snprintf(err, errlen, "%s:%zu: %s", c->path, lineno, reason);
		return -1;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", c->path, strerror(errno));
		return -1;
	}
	return 0;
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	struct conf_state	 st;
	FILE			*fp;
	int			 r;

	memset(c, 0, sizeof(*c));
	memset(&st, 0, sizeof(st));
	if (path == NULL)
		path = MAIL_CONF;
	if (strlcpy(c->path, path, sizeof(c->path)) >= sizeof(c->path)) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENAMETOOLONG));
		return -1;
	}
	conf_defaults(c);
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	r = conf_read(c, &st, fp, err, errlen);
	fclose(fp);
	if (r == 0)
		r = conf_check(c, &st, err, errlen);
	if (r == 0 && conf_default_lists(c, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		r = -1;
	}
	if (r == -1)
		conf_free(c);
	return r;
}

void
conf_free(struct conf *c)
{
	free(c->listen);
	free(c->relaynets);
	free(c->retry_schedule);
	free(c->milters);
	c->milters = NULL;
	c->nmilters = 0;
	free(c->dnsbl);
	free(c->lmtp);
	c->lmtp = NULL;
	c->nlmtp = 0;
	c->dnsbl = NULL;
	c->ndnsbl = 0;
	c->listen = NULL;
	c->relaynets = NULL;
	c->retry_schedule = NULL;
	c->nlisten = c->nrelaynets = c->nretry_schedule = 0;
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) matches IPv4 networks. */
int
conf_relaynet_match(const struct conf *c, const struct sockaddr *sa)
{
	static const unsigned char mapped[12] =
	    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const unsigned char	*a;
	const struct conf_net	*n;
	size_t			 i;
	int			 family, full, rest;

	if (sa->sa_family == AF_INET) {
		family = AF_INET;
		a = (const unsigned char *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		family = AF_INET6;
		a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			family = AF_INET;
			a += sizeof(mapped);
		}
	} else
		return 0;
	for (i = 0; i < c->nrelaynets; i++) {
		n = &c->relaynets[i];
		if (n->family != family)
			continue;
		full = n->prefix / 8;
		rest = n->prefix % 8;
		if (memcmp(a, n->addr, (size_t)full) != 0)
			continue;
		if (rest == 0 ||
		    ((a[full] ^ n->addr[full]) & (0xff00 >> rest) & 0xff) == 0)
			return 1;
	}
	return 0;
}

int
conf_user_ids(const struct conf *c, uid_t *uid, gid_t *gid, char *err,
    size_t errlen)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwnam(c->user)) == NULL) {
		/* getpwnam(3) lists these as "not found" too. */
		if (errno == 0 || errno == ENOENT || errno == ESRCH ||
		    errno == EBADF || errno == EPERM)
			snprintf(err, errlen, "user %s: no such user", c->user);
		else
			snprintf(err, errlen, "user %s: %s", c->user,
			    strerror(errno));
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		snprintf(err, errlen, "user %s: has uid or gid 0; the mail "
		    "user must not be root", c->user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}
