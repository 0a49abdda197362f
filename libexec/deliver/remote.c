/*
 * Remote delivery over SMTP (RFC 5321): one worker takes the jobs of
 * one destination (the relayhost, or a domain) and sends them over one
 * connection, one transaction a message with all of its recipients
 * for that destination.  EHLO, falling back to HELO; SIZE, PIPELINING,
 * 8BITMIME and SMTPUTF8 when the server offers them; an SMTPUTF8
 * message to a server without SMTPUTF8 bounces (5.6.7, RFC 6531
 * section 3.2), since we do not downgrade.  A 2xx reply delivers, a
 * 4xx or a failure to connect defers, a 5xx bounces, recipient by
 * recipient.
 *
 * TLS follows a policy (none, may, encrypt, verify): relayhost_tls for
 * the relayhost, else the tls_policy map for the domain, else may.  A
 * policy that is not met defers the mail with the reason; it never
 * goes on in the clear.  With relayhost_auth, deliver logs in to the
 * relayhost, over TLS only, and a refused login defers too: the fault
 * is ours, not the message's.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <signal.h>

#include "libmail.h"
#include "deliver.h"
#include "smtp.h"

/* RFC 5321 section 4.5.3.2 time limits, in seconds. */
#define CONNECT_TIMEOUT		30
#define COMMAND_TIMEOUT		300
#define DATA_TIMEOUT		600

#define ROUTES_MAX		32
#define MX_MAX			16

struct route {
	char			 name[ADDR_DOMAIN_MAX + 1];
	struct sockaddr_storage	 ss;
	socklen_t		 len;
};

/* How a destination's sessions go: TLS, and the login. */
struct policy {
	int			 tls;		/* CONF_TLS_* */
	const char		*from;		/* where the policy is set */
	int			 smtps;		/* TLS from the start */
	const struct relayauth	*cred;		/* NULL: no login */
};

static int	 routes_relayhost(const struct conf *, struct route *,
		    size_t, char *, size_t);
static int	 routes_mx(const char *, struct route *, size_t, char *,
		    size_t);
static int	 policy_of(const struct conf *, const char *, struct policy *,
		    char *, size_t);
static int	 session_open(const struct conf *, const char *,
		    const struct policy *, struct route *, int,
		    struct smtp_conn *, char *, size_t);
static int	 session_try(const struct conf *, const char *,
		    const struct policy *, struct route *, int,
		    struct smtp_conn *, char *, size_t);
static int	 greets_as_us(const struct conf *, const struct smtp_conn *);
static int	 session_ehlo(const struct conf *, struct smtp_conn *);
static int	 session_greet(const struct conf *, struct smtp_conn *,
		    const struct policy *, const char *, int, char *, size_t);
static int	 session_tls(struct smtp_conn *, const struct policy *,
		    const char *, char *, size_t);
static int	 session_login(struct smtp_conn *, const struct policy *,
		    char *, size_t);
static void	 session_rset(struct smtp_conn *);
static void	 txn_reply(struct smtp_conn *, int, const char *,
		    struct txn *, size_t);
static int	 outcome_of(int);
static void	 dsn_mail_params(const struct queue_msg *, char *, size_t);
static void	 dsn_relayed(const struct smtp_conn *, const struct queue_msg *,
		    const struct job *, struct txn *);
static void	 dsn_rcpt_params(int, const struct queue_msg *, size_t, char *,
		    size_t);
static int	 has_8bit(FILE *, off_t);
static int	 utf8_blocked(const struct smtp_conn *, const struct job *);

static int
outcome_of(int code)
{
	if (code >= 200 && code < 300)
		return DELIVER_OK;
	if (code >= 500 && code < 600)
		return DELIVER_PERM;
	return DELIVER_TEMP;
}

void
remote_run(const struct worker_ctx *ctx, const char *dest, struct job *jobs)
{
	struct route	 routes[ROUTES_MAX];
	struct smtp_conn c;
	struct policy	 pol;
	struct txn	 tx;
	struct job	*j;
	char		 reason[QUEUE_REASONLEN];
	int		 n, rc, up = 0;

	if (policy_of(ctx->conf, dest, &pol, reason, sizeof(reason)) == -1)
		n = MX_TEMP;
	else if (ctx->conf->relayhost[0] != '\0')
		n = routes_relayhost(ctx->conf, routes, ROUTES_MAX, reason,
		    sizeof(reason));
	else
		n = routes_mx(dest, routes, ROUTES_MAX, reason,
		    sizeof(reason));
	if (n <= 0) {
		for (j = jobs; j != NULL; j = j->next)
			job_fail(ctx, j, n == MX_NONE ? DELIVER_PERM :
			    DELIVER_TEMP, "none", reason);
		return;
	}
	memset(&c, 0, sizeof(c));
	c.fd = -1;
	for (j = jobs; j != NULL; j = j->next) {
		if (!up && (rc = session_open(ctx->conf, dest, &pol, routes,
		    n, &c, reason, sizeof(reason))) != 0) {
			/* No host takes mail now: the rest waits too. */
			for (; j != NULL; j = j->next)
				job_fail(ctx, j, rc == -2 ? DELIVER_PERM :
				    DELIVER_TEMP, "none", reason);
			relayauth_wipe();
			return;
		}
		up = 1;
		tx.outcome = calloc(j->ntargets, sizeof(*tx.outcome));
		tx.reason = calloc(j->ntargets, sizeof(*tx.reason));
		if (tx.outcome == NULL || tx.reason == NULL) {
			free(tx.outcome);
			free(tx.reason);
			job_fail(ctx, j, DELIVER_TEMP, c.relay,
			    "4.3.0 out of memory");
			continue;
		}
		remote_transaction(ctx, &c, j, &tx);
		job_finish(ctx, j, &tx, c.relay);
		free(tx.outcome);
		free(tx.reason);
		if (c.broken)
			up = 0;
	}
	if (up) {
		if (smtp_cmd(&c, "QUIT") == 0)
			(void)smtp_reply(&c, 0);
		smtp_close(&c);
	}
	relayauth_wipe();
}

/*
 * The relayhost's policy from mail.conf; a domain's from the tls_policy
 * map, if there is one (a map that is there but cannot be read defers:
 * it may ask for more than may).  0, or -1 with a reason.
 */
static int
policy_of(const struct conf *conf, const char *dest, struct policy *p,
    char *reason, size_t rlen)
{
	struct map	*m;
	char		 val[16];
	int		 found;

	memset(p, 0, sizeof(*p));
	if (conf->relayhost[0] != '\0') {
		p->tls = conf->relayhost_tls;
		p->from = "relayhost_tls";
		p->smtps = conf->relayhost_smtps;
		p->cred = relayauth_get();
		return 0;
	}
	relayauth_wipe();
	p->tls = CONF_TLS_MAY;
	p->from = "tls_policy";
	if ((m = map_open(conf->mapdir, mapsrc_names[MAP_TLS_POLICY])) ==
	    NULL) {
		if (errno == ENOENT)
			return 0;
		reasonf(reason, rlen, "4.3.0 cannot read %s/%s.db: %s",
		    conf->mapdir, mapsrc_names[MAP_TLS_POLICY],
		    strerror(errno));
		return -1;
	}
	found = map_lookup(m, dest, val, sizeof(val));
	map_close(m);
	if (found == 1 && (p->tls = conf_tls_policy(val)) != -1)
		return 0;
	if (found == 0) {
		p->tls = CONF_TLS_MAY;
		return 0;
	}
	reasonf(reason, rlen, "4.3.0 %s/%s.db: %s", conf->mapdir,
	    mapsrc_names[MAP_TLS_POLICY], found == -1 ? "cannot be read" :
	    "bad value for the domain (none, may, encrypt or verify)");
	return -1;
}

static int
routes_relayhost(const struct conf *conf, struct route *r, size_t max,
    char *reason, size_t rlen)
{
	struct addrinfo	 hints, *res, *ai;
	int		 e, n = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	e = getaddrinfo(conf->relayhost, conf->relayport[0] != '\0' ?
	    conf->relayport : "25", &hints, &res);
	if (e != 0) {
		reasonf(reason, rlen, "4.4.3 relayhost %s: %s",
		    conf->relayhost, gai_strerror(e));
		return MX_TEMP;
	}
	for (ai = res; ai != NULL && (size_t)n < max; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(r[n].ss))
			continue;
		strlcpy(r[n].name, conf->relayhost, sizeof(r[n].name));
		memcpy(&r[n].ss, ai->ai_addr, ai->ai_addrlen);
		r[n].len = ai->ai_addrlen;
		n++;
	}
	freeaddrinfo(res);
	return n;
}

static int
routes_mx(const char *domain, struct route *r, size_t max, char *reason,
    size_t rlen)
{
	struct mx_host		 mx[MX_MAX];
	struct sockaddr_storage	 ss[8];
	int			 nmx, i, k, na, n = 0, temp = 0;

	nmx = mx_lookup(domain, mx, MX_MAX);
	if (nmx == MX_NONE) {
		reasonf(reason, rlen, "5.1.2 Host or domain name not found: "
		    "%s", domain);
		return MX_NONE;
	}
	if (nmx < 0) {
		reasonf(reason, rlen, "4.4.3 Host or domain name lookup "
		    "failed: %s (MX)", domain);
		return MX_TEMP;
	}
	for (i = 0; i < nmx && (size_t)n < max; i++) {
		na = mx_addrs(mx[i].name, ss, 8);
		if (na == MX_TEMP)
			temp = 1;
		for (k = 0; k < na && (size_t)n < max; k++) {
			strlcpy(r[n].name, mx[i].name, sizeof(r[n].name));
			r[n].ss = ss[k];
			if (ss[k].ss_family == AF_INET6) {
				((struct sockaddr_in6 *)&r[n].ss)->sin6_port =
				    htons(25);
				r[n].len = sizeof(struct sockaddr_in6);
			} else {
				((struct sockaddr_in *)&r[n].ss)->sin_port =
				    htons(25);
				r[n].len = sizeof(struct sockaddr_in);
			}
			n++;
		}
	}
	if (n > 0)
		return n;
	if (temp) {
		reasonf(reason, rlen, "4.4.3 Host or domain name lookup "
		    "failed: %s (address of the MX)", domain);
		return MX_TEMP;
	}
	reasonf(reason, rlen, "5.1.2 Host or domain name not found: %s "
	    "(no address for its mail hosts)", domain);
	return MX_NONE;
}

/*
 * 1 if the server greets with our own name: the mail would come back
 * here, and around again (RFC 5321 section 5.1).
 */
static int
greets_as_us(const struct conf *conf, const struct smtp_conn *c)
{
	const char	*p = c->reply + 4;
	size_t		 n;

	if (strlen(c->reply) < 4)
		return 0;
	n = strcspn(p, " ");
	return n == strlen(conf->hostname) &&
	    strncasecmp(p, conf->hostname, n) == 0;
}

/*
 * Tries the routes in order until one greets us, takes EHLO/HELO, and
 * meets the policy: 0, -1 (try again later), or -2 (the route leads
 * back here).
 */
static int
session_open(const struct conf *conf, const char *dest,
    const struct policy *p, struct route *r, int n, struct smtp_conn *c,
    char *reason, size_t rlen)
{
	int	 i, rc;

	reasonf(reason, rlen, "4.4.1 no route");
	for (i = 0; i < n; i++) {
		rc = session_try(conf, dest, p, &r[i], 1, c, reason, rlen);
		/* may: a failed TLS handshake, once more in the clear. */
		if (rc == 1)
			rc = session_try(conf, dest, p, &r[i], 0, c, reason,
			    rlen);
		if (rc == 0 || rc == -2)
			return rc;
	}
	return -1;
}

/*
 * One route: 0, -1, -2 (a loop), or 1 when may's TLS handshake failed
 * and the connection is lost.
 */
static int
session_try(const struct conf *conf, const char *dest,
    const struct policy *p, struct route *r, int tls, struct smtp_conn *c,
    char *reason, size_t rlen)
{
	int	 code, rc;

	if (smtp_connect(c, (struct sockaddr *)&r->ss, r->len, r->name,
	    CONNECT_TIMEOUT, reason + 6, rlen - 6) == -1) {
		memcpy(reason, "4.4.1 ", 6);
		return -1;
	}
	smtp_timeout(c, COMMAND_TIMEOUT);
	if (p->smtps && smtp_tls_start(c, r->name,
	    p->tls == CONF_TLS_VERIFY) == -1) {
		reasonf(reason, rlen, "4.7.5 %s (%s %s)", c->reply, p->from,
		    conf_tls_policy_name(p->tls));
		return -1;
	}
	if (p->smtps)
		log_info("TLS with %s: %s, certificate %s", c->host,
		    c->tlsinfo, c->verified ? "verified" : "not verified");
	code = smtp_reply(c, 0);
	if (code >= 200 && code < 300 && greets_as_us(conf, c)) {
		reasonf(reason, rlen, "5.4.6 mail for %s loops back to myself "
		    "(%s)", dest, c->host);
		smtp_close(c);
		return -2;
	}
	rc = -1;
	if (code >= 200 && code < 300 && (rc = session_greet(conf, c, p,
	    r->name, tls, reason, rlen)) == 0)
		return 0;
	if (rc != -3)
		reasonf(reason, rlen, "%s %s said: %s", code == -1 ? "4.4.2" :
		    "4.4.1", c->host, c->reply);
	smtp_close(c);
	return rc == -2 ? 1 : -1;
}

/* EHLO, HELO if refused: 1 (EHLO), 0 (HELO), -1. */
static int
session_ehlo(const struct conf *conf, struct smtp_conn *c)
{
	int	 code;

	if (smtp_cmd(c, "EHLO %s", conf->hostname) == -1)
		return -1;
	code = smtp_reply(c, 1);
	if (code == -1)
		return -1;
	if (code >= 200 && code < 300)
		return 1;
	c->pipelining = c->eightbit = c->size = c->starttls = 0;
	c->auth = c->auth_plain = c->auth_login = 0;
	c->maxsize = 0;
	if (smtp_cmd(c, "HELO %s", conf->hostname) == -1)
		return -1;
	code = smtp_reply(c, 0);
	return code >= 200 && code < 300 ? 0 : -1;
}

/*
 * EHLO (HELO if refused), then STARTTLS when the policy and tls allow
 * and the server offers it, EHLO again over TLS, and the login.  0;
 * -1 (c->reply says why); -2 when may's TLS handshake failed and the
 * connection is lost: the caller connects again without TLS; -3 when
 * the policy or the login failed (reason says why).
 */
static int
session_greet(const struct conf *conf, struct smtp_conn *c,
    const struct policy *p, const char *servername, int tls, char *reason,
    size_t rlen)
{
	int	 rc;

	if ((rc = session_ehlo(conf, c)) == -1)
		return -1;
	if (rc == 1 && c->tls == NULL && c->starttls && tls &&
	    p->tls != CONF_TLS_NONE) {
		if ((rc = session_tls(c, p, servername, reason, rlen)) != 0)
			return rc;
		if (smtp_cmd(c, "EHLO %s", conf->hostname) == -1 ||
		    (rc = smtp_reply(c, 1)) < 200 || rc >= 300)
			return -1;
	}
	if (c->tls == NULL && p->tls >= CONF_TLS_ENCRYPT) {
		reasonf(reason, rlen, "4.7.4 TLS is required (%s %s), but %s "
		    "does not offer STARTTLS", p->from,
		    conf_tls_policy_name(p->tls), c->host);
		return -3;
	}
	if (p->cred == NULL)
		return 0;
	return session_login(c, p, reason, rlen);
}

/* STARTTLS: 0, or as session_greet. */
static int
session_tls(struct smtp_conn *c, const struct policy *p,
    const char *servername, char *reason, size_t rlen)
{
	int	 code;

	if (smtp_cmd(c, "STARTTLS") == -1 || (code = smtp_reply(c, 0)) == -1)
		return -1;
	/* Refused: may goes on in the clear. */
	if (code != 220 && p->tls == CONF_TLS_MAY)
		return 0;
	if (code != 220) {
		reasonf(reason, rlen, "4.7.4 TLS is required (%s %s), but %s "
		    "said: %s (in reply to STARTTLS command)", p->from,
		    conf_tls_policy_name(p->tls), c->host, c->reply);
		return -3;
	}
	if (smtp_tls_start(c, servername, p->tls == CONF_TLS_VERIFY) == -1) {
		if (p->tls == CONF_TLS_MAY)
			return -2;
		reasonf(reason, rlen, "4.7.5 %s (%s %s)", c->reply, p->from,
		    conf_tls_policy_name(p->tls));
		return -3;
	}
	log_info("TLS with %s: %s, certificate %s", c->host, c->tlsinfo,
	    c->verified ? "verified" : "not verified");
	return 0;
}

/* AUTH: 0, or -3 with the reason; the password stays out of it. */
static int
session_login(struct smtp_conn *c, const struct policy *p, char *reason,
    size_t rlen)
{
	int	 code;

	if (c->tls == NULL) {
		reasonf(reason, rlen, "4.7.4 no TLS with %s: the password "
		    "is not sent in the clear", c->host);
		return -3;
	}
	if (!c->auth_plain && !c->auth_login) {
		reasonf(reason, rlen, "4.7.4 %s offers no AUTH PLAIN or LOGIN "
		    "(relayhost_auth)", c->host);
		return -3;
	}
	code = smtp_auth(c, p->cred->login, p->cred->password);
	if (code == 235) {
		log_info("logged in to %s with AUTH %s", c->host,
		    c->auth_plain ? "PLAIN" : "LOGIN");
		return 0;
	}
	if (code == -1)
		reasonf(reason, rlen, "4.4.2 %s", c->reply);
	else
		reasonf(reason, rlen, "%s said: %s (in reply to AUTH command)",
		    c->host, c->reply);
	return -3;
}

/* Back to a clean state for the next message, or give up the session. */
static void
session_rset(struct smtp_conn *c)
{
	int	 code;

	if (c->broken)
		return;
	if (smtp_cmd(c, "RSET") == -1)
		return;
	code = smtp_reply(c, 0);
	if (code < 200 || code >= 300)
		smtp_close(c);
}

/* Sets the outcome of open targets (all if i == SIZE_MAX) from a reply. */
static void
txn_reply(struct smtp_conn *c, int code, const char *cmd, struct txn *tx,
    size_t i)
{
	int	 o = code == -1 ? DELIVER_TEMP : outcome_of(code);

	if (code == -1)
		reasonf(tx->reason[i], sizeof(tx->reason[i]), "4.4.2 %s",
		    c->reply);
	else if (o == DELIVER_OK)
		reasonf(tx->reason[i], sizeof(tx->reason[i]), "%s", c->reply);
	else
		reasonf(tx->reason[i], sizeof(tx->reason[i]),
		    "%s said: %s (in reply to %s command)", c->host, c->reply,
		    cmd);
	tx->outcome[i] = o;
}

/*
 * RFC 6531 3.2: an SMTPUTF8 message goes only to a server that offers
 * SMTPUTF8; we do not downgrade, so it bounces.  An LMTP server is the
 * mailbox store, not a relay: a UTF-8 header is its to keep, and only
 * a UTF-8 address needs SMTPUTF8 there (Dovecot 2.3 offers none, and
 * cannot parse such an address at all).  1 if the message may not go.
 */
static int
utf8_blocked(const struct smtp_conn *c, const struct job *j)
{
	const struct queue_msg *m = &j->qe->msg;
	size_t		 i;

	if (!m->smtputf8 || c->smtputf8)
		return 0;
	if (!c->lmtp ||
	    !addr_is_ascii(j->rewritten ? j->sender : m->sender))
		return 1;
	for (i = 0; i < j->ntargets; i++)
		if (!addr_is_ascii(j->rt[i].addr))
			return 1;
	return 0;
}

static int
has_8bit(FILE *fp, off_t off)
{
	char	 buf[65536];
	size_t	 n, i;

	if (fseeko(fp, off, SEEK_SET) == -1)
		return 0;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		for (i = 0; i < n; i++)
			if ((unsigned char)buf[i] & 0x80)
				return 1;
	return 0;
}

/* RFC 3461 4.3, 4.4: RET and ENVID, passed on as the client gave them. */
static void
dsn_mail_params(const struct queue_msg *m, char *ext, size_t len)
{
	if (m->ret != DSN_RET_NONE)
		strlcat(ext, m->ret == DSN_RET_FULL ? " RET=FULL" : " RET=HDRS",
		    len);
	if (m->envid[0] != '\0') {
		strlcat(ext, " ENVID=", len);
		strlcat(ext, m->envid, len);
	}
}

/*
 * NOTIFY and ORCPT of recipient rcpt for a next hop that offers DSN
 * (every target of an alias takes its recipient's); "" otherwise.
 */
static void
dsn_rcpt_params(int dsn, const struct queue_msg *m, size_t rcpt, char *ext,
    size_t len)
{
	char	 notify[64];

	ext[0] = '\0';
	if (!dsn)
		return;
	if (m->notify[rcpt] != 0) {
		dsn_notify_format(m->notify[rcpt], notify, sizeof(notify));
		strlcat(ext, " NOTIFY=", len);
		strlcat(ext, notify, len);
	}
	if (m->orcpt[rcpt] != NULL) {
		strlcat(ext, " ORCPT=", len);
		strlcat(ext, m->orcpt[rcpt], len);
	}
}

/*
 * A target that wants a success notice, relayed to a next hop without
 * DSN: its reason names the host, for the "relayed" notice (bounce.c).
 */
static void
dsn_relayed(const struct smtp_conn *c, const struct queue_msg *m,
    const struct job *j, struct txn *tx)
{
	size_t	 i;

	for (i = 0; i < j->ntargets; i++)
		if (tx->outcome[i] == DELIVER_OK && m->sender[0] != '\0' &&
		    (m->notify[m->targets[j->tidx[i]].rcpt] &
		    DSN_NOTIFY_SUCCESS))
			reasonf(tx->reason[i], sizeof(tx->reason[i]),
			    "%s said: %s", c->host, c->reply);
}

/*
 * One message: MAIL, a RCPT per target, DATA.  With PIPELINING the
 * commands up to DATA go in one write and their replies are read
 * after (RFC 2920); without it, each waits for its reply.  Over LMTP
 * (lmtp.c) the recipient is the final mailbox address, and the end of
 * DATA has a reply for each recipient accepted, in the order of the
 * RCPTs (RFC 2033 section 4.2).
 */
void
remote_transaction(const struct worker_ctx *ctx, struct smtp_conn *c,
    struct job *j, struct txn *tx)
{
	struct queue_msg *m = &j->qe->msg;
	char		 ext[64 + DSN_ENVID_MAX] = "", mailreply[sizeof(c->reply)];
	char		 rext[32 + DSN_ORCPT_MAX];
	FILE		*body;
	size_t		 i, accepted = 0, replies;
	int		 code, mail, data, pipe = c->pipelining;

	/*
	 * A next hop that offers DSN takes the requests over.  An LMTP
	 * server (lmtp.c) is the final delivery: they stay with us, and
	 * its success is "delivered".
	 */
	tx->dsn = c->dsn && !c->lmtp;
	for (i = 0; i < j->ntargets; i++)
		tx->outcome[i] = -1;
	if ((body = queue_body_open(ctx->conf->spool, m)) == NULL) {
		for (i = 0; i < j->ntargets; i++) {
			tx->outcome[i] = DELIVER_TEMP;
			reasonf(tx->reason[i], sizeof(tx->reason[i]),
			    "4.3.0 cannot read the queue file: %s",
			    strerror(errno));
		}
		return;
	}
	if (c->size && c->maxsize > 0 && (uint64_t)m->size > c->maxsize) {
		for (i = 0; i < j->ntargets; i++) {
			tx->outcome[i] = DELIVER_PERM;
			reasonf(tx->reason[i], sizeof(tx->reason[i]),
			    "5.3.4 message size %lld exceeds the limit of %s",
			    (long long)m->size, c->host);
		}
		fclose(body);
		return;
	}
	if (utf8_blocked(c, j)) {
		for (i = 0; i < j->ntargets; i++) {
			tx->outcome[i] = DELIVER_PERM;
			reasonf(tx->reason[i], sizeof(tx->reason[i]),
			    "5.6.7 SMTPUTF8 is required, but was not offered "
			    "by host %s", c->host);
		}
		fclose(body);
		return;
	}
	if (c->size)
		snprintf(ext, sizeof(ext), " SIZE=%lld", (long long)m->size);
	if (c->eightbit && has_8bit(body, m->body))
		strlcat(ext, " BODY=8BITMIME", sizeof(ext));
	if (tx->dsn)
		dsn_mail_params(m, ext, sizeof(ext));
	if (m->smtputf8 && c->smtputf8)
		strlcat(ext, " SMTPUTF8", sizeof(ext));

	smtp_timeout(c, COMMAND_TIMEOUT);
	(void)smtp_cmd(c, "MAIL FROM:<%s>%s", j->rewritten ? j->sender :
	    m->sender, ext);
	mail = pipe ? 0 : smtp_reply(c, 0);
	if (!pipe && (mail < 200 || mail >= 300))
		goto mail_failed;
	for (i = 0; i < j->ntargets; i++) {
		dsn_rcpt_params(tx->dsn, m, m->targets[j->tidx[i]].rcpt, rext,
		    sizeof(rext));
		(void)smtp_cmd(c, "RCPT TO:<%s>%s", c->lmtp ? j->rt[i].addr :
		    m->targets[j->tidx[i]].addr, rext);
		if (pipe)
			continue;
		code = smtp_reply(c, 0);
		if (code < 200 || code >= 300)
			txn_reply(c, code, "RCPT TO", tx, i);
		else
			accepted++;
		if (code == -1)
			goto broken;
	}
	if (pipe || accepted > 0)
		(void)smtp_cmd(c, "DATA");
	if (pipe) {
		if ((mail = smtp_reply(c, 0)) < 200 || mail >= 300) {
			/* The reason is the reply to MAIL, not the last one. */
			strlcpy(mailreply, c->reply, sizeof(mailreply));
			for (i = 0; i < j->ntargets + 1; i++)
				if (smtp_reply(c, 0) == -1)
					break;
			strlcpy(c->reply, mailreply, sizeof(c->reply));
			goto mail_failed;
		}
		for (i = 0; i < j->ntargets; i++) {
			code = smtp_reply(c, 0);
			if (code < 200 || code >= 300)
				txn_reply(c, code, "RCPT TO", tx, i);
			else
				accepted++;
			if (code == -1)
				goto broken;
		}
	}
	if (!pipe && accepted == 0) {
		session_rset(c);
		goto done;
	}
	data = smtp_reply(c, 0);
	if (data == -1)
		goto broken;
	if (data != 354) {
		for (i = 0; i < j->ntargets; i++) {
			if (tx->outcome[i] != -1)
				continue;
			txn_reply(c, data, "DATA", tx, i);
			/* Not a word of the message went: not a delivery. */
			if (tx->outcome[i] == DELIVER_OK) {
				tx->outcome[i] = DELIVER_TEMP;
				reasonf(tx->reason[i], sizeof(tx->reason[i]),
				    "%s said: %s (in reply to DATA command)",
				    c->host, c->reply);
			}
		}
		session_rset(c);
		goto done;
	}
	/* RFC 2033 wants a 503 here; a reply per nobody cannot be read. */
	if (c->lmtp && accepted == 0) {
		smtp_close(c);
		goto done;
	}
	smtp_timeout(c, DATA_TIMEOUT);
	if (fseeko(body, m->body, SEEK_SET) == -1 ||
	    (accepted > 0 ? smtp_data(c, body) :
	    smtp_put(c, ".\r\n", 3)) == -1) {
		if (!c->broken)
			smtp_close(c);
		goto broken;
	}
	code = smtp_reply(c, 0);
	for (i = 0, replies = 1; i < j->ntargets; i++) {
		if (tx->outcome[i] != -1)
			continue;
		if (c->lmtp && replies++ > 1)
			code = smtp_reply(c, 0);
		txn_reply(c, code, "end of DATA", tx, i);
	}
	smtp_timeout(c, COMMAND_TIMEOUT);
	if (!tx->dsn && !c->lmtp)
		dsn_relayed(c, m, j, tx);
	if (accepted == 0)
		session_rset(c);
	goto done;

mail_failed:
	for (i = 0; i < j->ntargets; i++)
		txn_reply(c, mail, "MAIL FROM", tx, i);
	session_rset(c);
	goto done;
broken:
	for (i = 0; i < j->ntargets; i++)
		if (tx->outcome[i] == -1) {
			tx->outcome[i] = DELIVER_TEMP;
			reasonf(tx->reason[i], sizeof(tx->reason[i]),
			    "4.4.2 %s", c->reply);
		}
done:
	fclose(body);
}

/* Records the outcome of each of the job's targets. */
void
job_finish(const struct worker_ctx *ctx, struct job *j, struct txn *tx,
    const char *relay)
{
	struct queue_msg	 *m = &j->qe->msg;
	struct queue_target	**t;
	const char		**r;
	size_t			  i, ok = 0;
	int			  fd, done = 0;

	for (i = 0; i < j->ntargets; i++)
		ok += tx->outcome[i] == DELIVER_OK;
	/* All of a whole message delivered: its removal records it. */
	if (j->fresh && ok == j->ntargets) {
		t = calloc(j->ntargets, sizeof(*t));
		r = calloc(j->ntargets, sizeof(*r));
		for (i = 0; t != NULL && r != NULL && i < j->ntargets; i++) {
			t[i] = &m->targets[j->tidx[i]];
			r[i] = tx->reason[i];
		}
		if (t != NULL && r != NULL)
			done = job_complete(ctx, m, t, r, j->ntargets,
			    relay) == 0;
		free(t);
		free(r);
		if (done)
			return;
	}
	if ((fd = job_state_open(ctx, j)) == -1)
		return;
	for (i = 0; i < j->ntargets; i++) {
		if (job_record(fd, &m->targets[j->tidx[i]],
		    tx->outcome[i] == -1 ? DELIVER_TEMP : tx->outcome[i], ctx,
		    m, relay, tx->reason[i]) == -1)
			break;
		/* The next hop sends the success notice: none from us. */
		if (tx->dsn && tx->outcome[i] == DELIVER_OK &&
		    m->sender[0] != '\0' && (m->notify[m->targets[
		    j->tidx[i]].rcpt] & DSN_NOTIFY_SUCCESS) &&
		    (queue_state_append(fd, QUEUE_REC_NOTIFIED,
		    &m->targets[j->tidx[i]], ctx->now) == -1 || fsync(fd) == -1))
			break;
	}
	close(fd);
}

/* Records one outcome for all of the job's targets. */
void
job_fail(const struct worker_ctx *ctx, struct job *j, int outcome,
    const char *relay, const char *reason)
{
	struct queue_msg *m = &j->qe->msg;
	size_t		 i;
	int		 fd;

	if ((fd = job_state_open(ctx, j)) == -1)
		return;
	for (i = 0; i < j->ntargets; i++)
		if (job_record(fd, &m->targets[j->tidx[i]], outcome, ctx, m,
		    relay, reason) == -1)
			break;
	close(fd);
}
