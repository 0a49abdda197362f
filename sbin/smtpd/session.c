/*
 * session.c: the SMTP dialogue with one client (RFC 5321), from the
 * greeting to the close.
 *
 * The dialogue is written as a thread's straight line of code, and is
 * run by worker threads (worker.c) in pieces: session_run serves a
 * session until it waits for its client, and, when that wait outlasts
 * SMTPD_PARK_MS between two commands (or is greet_delay), leaves it
 * parked in park.c and returns; the next worker to get it goes on
 * where it stopped (s->wait).  Only the wait for a command is cut so:
 * a command is served by one thread from its first byte to its reply,
 * AUTH exchanges and DATA included.  See server.c for why.
 *
 * Replies carry RFC 3463 enhanced codes (RFC 2034), except the
 * greeting, the answer to HELO/EHLO and 354, as RFC 2034 says.  Every
 * reply of 500 or more counts as an error; after max_errors of them
 * the session is closed with 421.  4xx replies do not count: a client
 * that pipelines more recipients than maxrcpt gets one 452 each, and
 * that is not misbehaviour.
 *
 * TLS (tls.c) starts at the connection on an smtps listener, or with
 * STARTTLS (RFC 3207) where tls_cert is set.  STARTTLS forgets the
 * session: the HELO name and the extensions are asked again, and what
 * the client sent after the STARTTLS line, before the handshake, is
 * thrown away unread (a command slipped in there would otherwise run
 * as if it came over TLS).  AUTH (auth.c) is offered only over TLS; an
 * authenticated client may relay, and a submission listener takes MAIL
 * only from one.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "smtpd.h"

static void	session_lookup(struct session *);
static int	session_tls(struct session *);
static int	session_greet_park(struct session *);
static int	session_greet(struct session *);
static int	session_serve(struct session *);
static int	session_park(struct session *);
static void	session_end(struct session *);
static int	session_long_line(const char *, size_t);
static void	session_command(struct session *, char *, size_t);
static void	session_txn_reset(struct session *);
static int	session_helo_valid(const char *);
static int	session_junk(struct session *);
static int	cmd_helo_common(struct session *, char *, int);
static int	rcpt_verdict(struct session *, const struct path_args *,
		    const char *);
static int	session_rcpt_add(struct session *, const char *,
		    const struct path_args *);
static void	session_path_error(struct session *, int, struct path_args *,
		    int);
static const char *session_protocol(const struct session *);
static int	session_received(struct session *, time_t);
static void	session_data_done(struct session *, struct data_result *);
static int	session_dkim(struct session *);
static void	cmd_helo(struct session *, char *);
static void	cmd_ehlo(struct session *, char *);
static int	session_utf8_refused(struct session *,
		    const struct path_args *, int);
static void	cmd_mail(struct session *, char *);
static void	cmd_rcpt(struct session *, char *);
static void	cmd_data(struct session *, char *);
static void	cmd_bdat(struct session *, char *);
static void	cmd_rset(struct session *, char *);
static void	cmd_noop(struct session *, char *);
static void	cmd_quit(struct session *, char *);
static void	cmd_vrfy(struct session *, char *);
static void	cmd_help(struct session *, char *);
static void	cmd_starttls(struct session *, char *);
static void	cmd_auth(struct session *, char *);
static void	cmd_unimplemented(struct session *, char *);

static const struct {
	const char	*verb;
	void		(*fn)(struct session *, char *);
} session_cmds[] = {
	{ "HELO", cmd_helo },
	{ "EHLO", cmd_ehlo },
	{ "MAIL", cmd_mail },
	{ "RCPT", cmd_rcpt },
	{ "DATA", cmd_data },
	{ "BDAT", cmd_bdat },
	{ "RSET", cmd_rset },
	{ "NOOP", cmd_noop },
	{ "QUIT", cmd_quit },
	{ "VRFY", cmd_vrfy },
	{ "HELP", cmd_help },
	{ "STARTTLS", cmd_starttls },
	{ "AUTH", cmd_auth },
	/* Known to RFC 5321 or its extensions, and not offered here. */
	{ "EXPN", cmd_unimplemented },
	{ "TURN", cmd_unimplemented },
	{ "ETRN", cmd_unimplemented },
	{ "SEND", cmd_unimplemented },
	{ "SOML", cmd_unimplemented },
	{ "SAML", cmd_unimplemented },
};

struct session *
session_new(int fd, const struct sockaddr *sa, socklen_t salen, int mode)
{
	struct session	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->fd = fd;
	s->mode = mode;
	memcpy(&s->ss, sa, salen);
	s->sslen = salen;
	if (getnameinfo(sa, salen, s->addr, sizeof(s->addr), NULL, 0,
	    NI_NUMERICHOST) != 0)
		strlcpy(s->addr, "unknown", sizeof(s->addr));
	strlcpy(s->name, "unknown", sizeof(s->name));
	s->trusted = conf_relaynet_match(&env->conf, sa);
	(void)limits_key(sa, s->key);
	s->msg.fp = NULL;
	s->msg.fd = s->msg.spooldirfd = -1;
	s->wait = SESSION_NEW;
	io_init(&s->io, fd, env->conf.command_timeout * 1000);
	return s;
}

void
session_free(struct session *s)
{
	size_t	 i;

	for (i = 0; i < s->nrcpts; i++) {
		free(s->rcpts[i]);
		free(s->orcpt[i]);
	}
	free(s->rcpts);
	free(s->notify);
	free(s->orcpt);
	io_free(&s->io);
	free(s);
}

void
session_reply(struct session *s, int code, const char *esc,
    const char *fmt, ...)
{
	char	 text[512];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (esc != NULL)
		(void)snprintf(s->lastreply, sizeof(s->lastreply), "%d %s %s",
		    code, esc, text);
	else
		(void)snprintf(s->lastreply, sizeof(s->lastreply), "%d %s",
		    code, text);
	io_printf(&s->io, "%s\r\n", s->lastreply);
	if (code >= 500)
		s->nerrors++;
}

/*
 * The client's name for the logs and Received:, only if its reverse
 * DNS name resolves back to its address: anyone can publish any PTR.
 */
static void
session_lookup(struct session *s)
{
	struct addrinfo	 hints, *res, *ai;
	char		 host[NI_MAXHOST], num[INET6_ADDRSTRLEN];
	const char	*errstr;

	if (getnameinfo((struct sockaddr *)&s->ss, s->sslen, host,
	    sizeof(host), NULL, 0, NI_NAMEREQD) != 0)
		return;
	if (addr_domain_valid(host, &errstr) == -1)
		return;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = s->ss.ss_family;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, num, sizeof(num),
		    NULL, 0, NI_NUMERICHOST) == 0 &&
		    strcmp(num, s->addr) == 0) {
			strlcpy(s->name, host, sizeof(s->name));
			addr_lower(s->name);
			break;
		}
	}
	freeaddrinfo(res);
}

/* smtps: the handshake before the greeting. */
static int
session_tls(struct session *s)
{
	char	 err[256];

	if (smtpd_tls_start(&s->io, env->conf.command_timeout * 1000,
	    s->tlsinfo, sizeof(s->tlsinfo), err, sizeof(err)) == -1) {
		log_info("%s[%s]: TLS handshake failed: %s", s->name, s->addr,
		    err);
		s->tlsinfo[0] = '\0';
		return -1;
	}
	log_info("%s[%s]: TLS: %s", s->name, s->addr, s->tlsinfo);
	return 0;
}

/*
 * A client outside relaynets waits greet_delay for the greeting; one
 * that talks meanwhile is a spam engine that does not wait for
 * replies, and is dropped.  relaynets clients are greeted at once, as
 * Postfix's postscreen lets mynetworks through.  The wait is parked:
 * 1 once s is.  Else (the server stops) session_greet waits.
 */
static int
session_greet_park(struct session *s)
{
	s->wait = SESSION_GREETING;
	if (s->trusted || env->conf.greet_delay == 0)
		return 0;
	io_deadline(&s->deadline, env->conf.greet_delay * 1000);
	return park_session(s) == 0;
}

static int
session_greet(struct session *s)
{
	if (!s->trusted && env->conf.greet_delay > 0 &&
	    io_pending(&s->io, io_left(&s->deadline)) &&
	    !server_stopping()) {
		log_info("%s[%s]: talked before the greeting, dropped",
		    s->name, s->addr);
		session_reply(s, 554, "5.5.1",
		    "Protocol error: talking before the greeting");
		return -1;
	}
	session_reply(s, 220, NULL, "%s ESMTP basemail", env->conf.hostname);
	return 0;
}

/*
 * Between two commands: a client silent for SMTPD_PARK_MS leaves its
 * thread; 1 once s is parked.  The wait keeps its deadline, so that
 * command_timeout counts from the end of the last reply, parked or not.
 */
static int
session_park(struct session *s)
{
	if (io_left(&s->deadline) <= SMTPD_PARK_MS ||
	    !io_idle(&s->io, SMTPD_PARK_MS) || server_stopping())
		return 0;
	return park_session(s) == 0;
}

void
session_run(struct session *s)
{
	char	 line[SMTPD_AUTH_LINE_MAX + 1];

	s->line = line;
	if (session_serve(s) == 0)
		session_end(s);
	/* Else parked: another worker may have s already. */
}

/* 1 once s is parked, 0 once it is over. */
static int
session_serve(struct session *s)
{
	size_t		 len;
	int		 r, crlf;
	int		 timeout = env->conf.command_timeout * 1000;

	if (s->wait == SESSION_NEW) {
		session_lookup(s);
		log_info("connect from %s[%s]", s->name, s->addr);
		if ((s->mode == LISTEN_SMTPS && session_tls(s) == -1) ||
		    dnsbl_check(s) == -1 || milter_connect(s) == -1)
			return 0;
		if (session_greet_park(s))
			return 1;
	}
	if (s->wait == SESSION_GREETING) {
		if (session_greet(s) == -1)
			return 0;
		s->wait = SESSION_COMMAND;
		io_deadline(&s->deadline, timeout);
	}
	while (!s->quit) {
		if (session_park(s))
			return 1;
		r = io_getline(&s->io, s->line, SMTPD_AUTH_LINE_MAX, &len,
		    &crlf, io_left(&s->deadline));
		if (r == IO_EOF || r == IO_ERROR) {
			if (server_stopping())
				session_reply(s, 421, "4.3.2", "%s Service "
				    "shutting down", env->conf.hostname);
			break;
		}
		if (r == IO_TIMEOUT) {
			log_info("%s[%s]: timeout", s->name, s->addr);
			session_reply(s, 421, "4.4.2", "%s Error: timeout "
			    "exceeded", env->conf.hostname);
			break;
		}
		s->ncommands++;
		if (r == IO_LONG || session_long_line(s->line, len))
			session_reply(s, 500, "5.5.2", "Error: line too long");
		else
			session_command(s, s->line, len - (crlf ? 2 : 1));
		if (!s->quit && s->nerrors >= env->conf.max_errors) {
			log_info("%s[%s]: too many errors", s->name, s->addr);
			session_reply(s, 421, "4.7.0", "%s Error: too many "
			    "errors", env->conf.hostname);
			break;
		}
		io_deadline(&s->deadline, timeout);
	}
	return 0;
}

static void
session_end(struct session *s)
{
	session_txn_reset(s);
	milter_close(s);
	(void)io_flush(&s->io);
	io_tls_close(&s->io);
	log_info("disconnect from %s[%s] commands=%zu mail=%zu rcpt=%zu "
	    "data=%zu errors=%zu", s->name, s->addr, s->ncommands, s->nmail,
	    s->nrcpt, s->ndata, s->nerrors);
	server_session_done(s);
}

/*
 * In server.c's thread, which must not wait: the socket of a parked
 * session has sent all it was given, so the 421 goes out at once, and
 * a close_notify that does not is not waited for.
 */
void
session_close_parked(struct session *s, int why)
{
	s->io.wtimeout_ms = 0;
	switch (why) {
	case PARK_TIMEOUT:
		log_info("%s[%s]: timeout", s->name, s->addr);
		session_reply(s, 421, "4.4.2", "%s Error: timeout exceeded",
		    env->conf.hostname);
		break;
	case PARK_STOP:
		session_reply(s, 421, "4.3.2", "%s Service shutting down",
		    env->conf.hostname);
		break;
	default:
		session_reply(s, 421, "4.3.2", "%s Service not available",
		    env->conf.hostname);
		break;
	}
	session_end(s);
}

/*
 * Only AUTH may go beyond the 512 octets of RFC 5321 (RFC 4954), and
 * MAIL and RCPT by what their DSN parameters take (RFC 3461 4: 500
 * octets of ORCPT and NOTIFY's keywords; ENVID's 100 and RET).
 */
static int
session_long_line(const char *line, size_t len)
{
	if (len <= SMTP_CMD_MAX || strncasecmp(line, "AUTH ", 5) == 0)
		return 0;
	if (strncasecmp(line, "MAIL ", 5) == 0 ||
	    strncasecmp(line, "RCPT ", 5) == 0)
		return len > SMTP_CMD_MAX + DSN_ORCPT_MAX + 64;
	return 1;
}

/* A command ends at CRLF; a bare LF is taken, a CR or a NUL is not. */
static void
session_command(struct session *s, char *line, size_t len)
{
	char	*arg;
	size_t	 i, vlen;

	if (memchr(line, '\r', len) != NULL ||
	    memchr(line, '\0', len) != NULL) {
		session_reply(s, 500, "5.5.2", "Error: bad character in "
		    "command");
		return;
	}
	/* Trailing blanks are common and mean nothing. */
	while (len > 0 && line[len - 1] == ' ')
		len--;
	line[len] = '\0';
	vlen = strcspn(line, " ");
	arg = line + vlen;
	while (*arg == ' ')
		arg++;
	for (i = 0; i < sizeof(session_cmds) / sizeof(session_cmds[0]); i++) {
		if (strlen(session_cmds[i].verb) == vlen &&
		    strncasecmp(line, session_cmds[i].verb, vlen) == 0) {
			session_cmds[i].fn(s, arg);
			return;
		}
	}
	session_reply(s, 500, "5.5.1", "Error: command not recognized");
}

/* Ends the transaction: an open message is removed from tmp/. */
static void
session_txn_reset(struct session *s)
{
	size_t	 i;

	if (s->state == S_MAIL)
		spool_abort(&s->msg);
	bdat_reset(s);
	milter_abort(s);
	for (i = 0; i < s->nrcpts; i++) {
		free(s->rcpts[i]);
		free(s->orcpt[i]);
	}
	s->nrcpts = 0;
	s->dsn_ret = DSN_RET_NONE;
	s->envid[0] = '\0';
	s->sender[0] = '\0';
	if (s->state > S_HELO)
		s->state = S_HELO;
}

/* A domain or an address literal: no space, no control character. */
static int
session_helo_valid(const char *arg)
{
	const char	*p;

	if (*arg == '\0' || strlen(arg) > ADDR_DOMAIN_MAX)
		return 0;
	for (p = arg; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("-._[]:", *p) == NULL)
			return 0;
	return 1;
}

/*
 * A command that sends no mail: NOOP, RSET, VRFY, HELP, a HELO or EHLO
 * after the first, a recipient over maxrcpt.  Each costs the client
 * nothing and earns it another command_timeout; max_junk_commands of
 * them are allowed between two messages queued (as Postfix's
 * smtpd_junk_command_limit), then 421 and the close, so that no
 * session holds its thread for ever.  0, or -1 once closed.
 */
static int
session_junk(struct session *s)
{
	if (++s->njunk <= env->conf.max_junk_commands)
		return 0;
	log_info("%s[%s]: too many commands without mail", s->name, s->addr);
	session_reply(s, 421, "4.7.0", "%s Error: too many commands without "
	    "mail", env->conf.hostname);
	s->quit = 1;
	return -1;
}

/* 0 once the name is taken; -1 after a refusal or a close. */
static int
cmd_helo_common(struct session *s, char *arg, int esmtp)
{
	if (!session_helo_valid(arg)) {
		session_reply(s, 501, "5.5.4", "Syntax: %s hostname",
		    esmtp ? "EHLO" : "HELO");
		return -1;
	}
	if (s->state != S_CONNECTED && session_junk(s) == -1)
		return -1;
	session_txn_reset(s);
	strlcpy(s->helo, arg, sizeof(s->helo));
	s->esmtp = esmtp;
	s->state = S_HELO;
	log_info("%s[%s]: helo=%s", s->name, s->addr, s->helo);
	milter_helo(s);
	return s->quit ? -1 : 0;
}

static void
cmd_helo(struct session *s, char *arg)
{
	if (cmd_helo_common(s, arg, 0) == 0)
		session_reply(s, 250, NULL, "%s", env->conf.hostname);
}

static void
cmd_ehlo(struct session *s, char *arg)
{
	if (cmd_helo_common(s, arg, 1) == -1)
		return;
	io_printf(&s->io, "250-%s Hello %s [%s]\r\n", env->conf.hostname,
	    s->helo, s->addr);
	io_printf(&s->io, "250-PIPELINING\r\n");
	io_printf(&s->io, "250-SIZE %llu\r\n",
	    (unsigned long long)env->conf.maxsize);
	io_printf(&s->io, "250-8BITMIME\r\n");
	io_printf(&s->io, "250-CHUNKING\r\n");
	io_printf(&s->io, "250-DSN\r\n");
	io_printf(&s->io, "250-SMTPUTF8\r\n");
	if (env->tls != NULL && s->io.tls == NULL)
		io_printf(&s->io, "250-STARTTLS\r\n");
	if (s->io.tls != NULL)
		io_printf(&s->io, "250-AUTH PLAIN LOGIN\r\n");
	io_printf(&s->io, "250 ENHANCEDSTATUSCODES\r\n");
}

static void
session_path_error(struct session *s, int r, struct path_args *pa, int from)
{
	switch (r) {
	case PATH_SYNTAX:
		session_reply(s, 501, "5.5.4", "Syntax: %s", from ?
		    "MAIL FROM:<address>" : "RCPT TO:<address>");
		break;
	case PATH_PARAM:
		session_reply(s, 555, "5.5.4", "Error: %s", pa->errstr);
		break;
	case PATH_BADVALUE:
		session_reply(s, 501, "5.5.4", "Error: %s", pa->errstr);
		break;
	default:
		session_reply(s, 501, from ? "5.1.7" : "5.1.3",
		    "Bad %s address syntax: %s", from ? "sender" : "recipient",
		    pa->errstr);
		break;
	}
}

static void
cmd_mail(struct session *s, char *arg)
{
	struct path_args pa;
	int		 r;

	if (s->state == S_CONNECTED) {
		session_reply(s, 503, "5.5.1", "Error: send HELO/EHLO first");
		return;
	}
	if (s->state == S_MAIL) {
		session_reply(s, 503, "5.5.1", "Error: nested MAIL command");
		return;
	}
	if (s->mode == LISTEN_SUBMISSION && s->login[0] == '\0') {
		session_reply(s, 530, "5.7.0", "Authentication required");
		return;
	}
	if ((r = path_parse(arg, "FROM", s->esmtp, &pa)) != PATH_OK) {
		session_path_error(s, r, &pa, 1);
		return;
	}
	if (session_utf8_refused(s, &pa, pa.smtputf8))
		return;
	if (pa.has_size && pa.size > env->conf.maxsize) {
		session_reply(s, 552, "5.3.4", "Message size exceeds fixed "
		    "maximum message size");
		return;
	}
	if (limits_mail(s) == -1)
		return;
	/* Map changes take effect from the next transaction on. */
	server_maps_refresh();
	if (sender_check_mail(s, &pa) == -1 || authres_mail(s, &pa) == -1)
		return;
	if (spool_create(env->conf.spool, &s->msg) == -1) {
		log_warn("%s[%s]: spool %s", s->name, s->addr,
		    env->conf.spool);
		session_reply(s, 452, "4.3.1", "Insufficient system storage");
		return;
	}
	s->msg.smtputf8 = pa.smtputf8;
	if (pa.null)
		s->sender[0] = '\0';
	else
		(void)snprintf(s->sender, sizeof(s->sender), "%s@%s",
		    pa.addr.local, pa.addr.domain);
	s->dsn_ret = pa.ret;
	strlcpy(s->envid, pa.envid, sizeof(s->envid));
	if (milter_mail(s) == -1) {
		spool_abort(&s->msg);
		return;
	}
	s->state = S_MAIL;
	s->nmail++;
	log_info("%s: client=%s[%s], helo=%s, %s%s%sfrom=<%s>", s->msg.id,
	    s->name, s->addr, s->helo, s->login[0] != '\0' ? "login=<" : "",
	    s->login, s->login[0] != '\0' ? ">, " : "", s->sender);
	session_reply(s, 250, "2.1.0", "Ok");
}

/* The reply to a recipient that parsed: the maps and relaynets decide. */
static int
rcpt_verdict(struct session *s, const struct path_args *pa,
    const char *rcpt)
{
	if (pa->postmaster)
		return 0;
	switch (sender_srs_rcpt(s, &pa->addr, rcpt)) {
	case SENDER_SRS_OK:
		return 0;
	case SENDER_SRS_REFUSED:
		return -1;
	}
	switch (server_resolve(&pa->addr)) {
	case RESOLVE_LOCAL:
		return quota_rcpt(s, &pa->addr, rcpt);
	case RESOLVE_REMOTE:
		if (s->trusted || s->login[0] != '\0')
			return 0;
		session_reply(s, 554, "5.7.1", "Relaying denied");
		return -1;
	case RESOLVE_UNKNOWN:
		session_reply(s, 550, "5.1.1", "<%s>: Recipient address "
		    "rejected: User unknown", rcpt);
		return -1;
	default:
		session_reply(s, 451, "4.3.0", "<%s>: Temporary lookup "
		    "failure", rcpt);
		return -1;
	}
}

/* The recipient and its DSN parameters; 0 or -1. */
static int
session_rcpt_add(struct session *s, const char *rcpt,
    const struct path_args *pa)
{
	size_t	 i = s->nrcpts;

	if (session_rcpt_grow(s) == -1)
		return -1;
	s->orcpt[i] = NULL;
	if (pa->orcpt[0] != '\0' && (s->orcpt[i] = strdup(pa->orcpt)) ==
	    NULL)
		return -1;
	if ((s->rcpts[i] = strdup(rcpt)) == NULL) {
		free(s->orcpt[i]);
		return -1;
	}
	s->notify[i] = pa->notify;
	s->nrcpts++;
	return 0;
}

int
session_rcpt_grow(struct session *s)
{
	char	**r;
	int	 *n;

	if ((r = reallocarray(s->rcpts, s->nrcpts + 1, sizeof(*r))) == NULL)
		return -1;
	s->rcpts = r;
	if ((n = reallocarray(s->notify, s->nrcpts + 1, sizeof(*n))) == NULL)
		return -1;
	s->notify = n;
	if ((r = reallocarray(s->orcpt, s->nrcpts + 1, sizeof(*r))) == NULL)
		return -1;
	s->orcpt = r;
	return 0;
}

static void
cmd_rcpt(struct session *s, char *arg)
{
	struct path_args pa;
	char		 rcpt[SMTPD_ADDRLEN];
	int		 ret;

	if (s->state != S_MAIL) {
		session_reply(s, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	if ((ret = path_parse(arg, "TO", s->esmtp, &pa)) != PATH_OK) {
		session_path_error(s, ret, &pa, 0);
		return;
	}
	if (session_utf8_refused(s, &pa, s->msg.smtputf8))
		return;
	if (s->nrcpts >= env->conf.maxrcpt) {
		if (session_junk(s) == -1)
			return;
		session_reply(s, 452, "4.5.3", "Error: too many recipients");
		return;
	}
	if (pa.postmaster)
		strlcpy(rcpt, env->conf.postmaster, sizeof(rcpt));
	else
		(void)snprintf(rcpt, sizeof(rcpt), "%s@%s", pa.addr.local,
		    pa.addr.domain);
	if (rcpt_verdict(s, &pa, rcpt) == -1 || milter_rcpt(s, rcpt) == -1) {
		log_info("%s: to=<%s>, status=rejected (%s)", s->msg.id, rcpt,
		    s->lastreply);
		(void)limits_rcpt_refused(s);
		return;
	}
	if (session_rcpt_add(s, rcpt, &pa) == -1) {
		session_reply(s, 452, "4.3.1", "Insufficient system storage");
		return;
	}
	s->nrcpt++;
	log_info("%s: to=<%s>, status=accepted", s->msg.id, rcpt);
	session_reply(s, 250, "2.1.5", "Ok");
}

/*
 * RFC 6531 3.5: a UTF-8 address in a transaction without SMTPUTF8 is
 * refused with 553 5.6.7; 1 if it was.
 */
static int
session_utf8_refused(struct session *s, const struct path_args *pa,
    int smtputf8)
{
	if (!pa->utf8 || smtputf8)
		return 0;
	session_reply(s, 553, "5.6.7", "Non-ASCII addresses need the "
	    "SMTPUTF8 parameter of MAIL");
	return 1;
}

/* RFC 3848: S for TLS, A for AUTH; RFC 6531 3.7.3 for SMTPUTF8. */
static const char *
session_protocol(const struct session *s)
{
	if (!s->esmtp)
		return "SMTP";
	if (s->msg.smtputf8 && s->io.tls != NULL)
		return s->login[0] != '\0' ? "UTF8SMTPSA" : "UTF8SMTPS";
	if (s->msg.smtputf8)
		return s->login[0] != '\0' ? "UTF8SMTPA" : "UTF8SMTP";
	if (s->io.tls != NULL)
		return s->login[0] != '\0' ? "ESMTPSA" : "ESMTPS";
	return s->login[0] != '\0' ? "ESMTPA" : "ESMTP";
}

/* RFC 5321 4.4, and RFC 3848 for "with". */
static int
session_received(struct session *s, time_t now)
{
	struct tm	 tm;
	char		 date[64];

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z",
	    &tm) == 0)
		return -1;
	/* RFC 5321 4.1.3: an IPv6 address literal is tagged "IPv6:". */
	if (fprintf(s->msg.fp, "Received: from %s (%s [%s%s])\n", s->helo,
	    s->name, s->ss.ss_family == AF_INET6 ? "IPv6:" : "",
	    s->addr) < 0)
		return -1;
	if (s->tlsinfo[0] != '\0' &&
	    fprintf(s->msg.fp, "\t(using %s)\n", s->tlsinfo) < 0)
		return -1;
	if (s->login[0] != '\0' &&
	    fprintf(s->msg.fp, "\t(authenticated as %s)\n", s->login) < 0)
		return -1;
	if (fprintf(s->msg.fp, "\tby %s (basemail) with %s id %s",
	    env->conf.hostname, session_protocol(s), s->msg.id) < 0)
		return -1;
	/* One recipient only: more would tell each about the others. */
	if (s->nrcpts == 1 &&
	    fprintf(s->msg.fp, "\n\tfor <%s>", s->rcpts[0]) < 0)
		return -1;
	if (fprintf(s->msg.fp, ";\n\t%s\n", date) < 0)
		return -1;
	return 0;
}

int
session_data_begin(struct session *s)
{
	struct dsn_env	 dsn;
	time_t		 now;

	if (milter_data(s) == -1) {
		session_txn_reset(s);
		return -1;
	}
	now = time(NULL);
	dsn.ret = s->dsn_ret;
	dsn.envid = s->envid;
	dsn.notify = s->notify;
	dsn.orcpt = s->orcpt;
	if (spool_envelope_dsn(&s->msg, now, s->sender, s->rcpts, s->nrcpts,
	    &dsn) == -1 || session_received(s, now) == -1) {
		log_warn("%s: spool write", s->msg.id);
		session_reply(s, 452, "4.3.1", "Insufficient system storage");
		session_txn_reset(s);
		return -1;
	}
	return 0;
}

static void
cmd_data(struct session *s, char *arg)
{
	struct data_result res;
	char		 from[DATA_FROM_MAX];

	if (s->state != S_MAIL) {
		session_reply(s, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	/* RFC 3030 3: not both in one transaction. */
	if (s->bdat != NULL) {
		session_reply(s, 503, "5.5.1", "Error: DATA after BDAT");
		return;
	}
	if (s->nrcpts == 0) {
		session_reply(s, 554, "5.5.1", "Error: no valid recipients");
		return;
	}
	if (*arg != '\0') {
		session_reply(s, 501, "5.5.4", "Syntax: DATA");
		return;
	}
	if (session_data_begin(s) == -1)
		return;
	session_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	res.from = env->conf.sender_check == SENDER_CHECK_HEADER &&
	    s->login[0] != '\0' ? from : NULL;
	data_receive(&s->io, &s->msg, env->conf.maxsize,
	    env->conf.data_timeout * 1000, &res);
	session_data_done(s, &res);
	session_txn_reset(s);
}

/* bdat.c reads the chunks; the end of the message is DATA's. */
static void
cmd_bdat(struct session *s, char *arg)
{
	struct data_result *res;

	if ((res = bdat_command(s, arg)) == NULL)
		return;
	session_data_done(s, res);
	session_txn_reset(s);
}

/*
 * Mail of an authenticated client or of relaynets is DKIM-signed here,
 * before the commit, so that the spool holds it signed and once: see
 * smtpd(8).  0, or -1 when it may not go unsigned and was not signed.
 */
static int
session_dkim(struct session *s)
{
	char	 err[512];
	int	 r;

	if (!s->trusted && s->login[0] == '\0')
		return 0;
	r = dk_spool_sign(&s->msg, env->conf.mapdir, server_dkim_selectors,
	    NULL, err, sizeof(err));
	if (r == -1)
		log_warnx("%s: deferred: %s", s->msg.id, err);
	else if (r == 0 && err[0] != '\0')
		log_info("%s: %s", s->msg.id, err);
	else if (r == 1)
		log_debug("%s: DKIM-signed", s->msg.id);
	return r == -1 ? -1 : 0;
}

static void
session_data_done(struct session *s, struct data_result *res)
{
	switch (res->status) {
	case DATA_OK:
		if (sender_check_header(s, res) == -1 ||
		    authres_data(s) == -1 || milter_eom(s) != 0)
			break;
		if (session_dkim(s) == -1) {
			session_reply(s, 451, "4.7.0", "Local error: the "
			    "message cannot be DKIM-signed; try again later");
			break;
		}
		if (spool_commit(&s->msg) == -1) {
			log_warn("%s: commit", s->msg.id);
			session_reply(s, 452, "4.3.1", "Insufficient system "
			    "storage");
			break;
		}
		/* Committed: nothing for session_txn_reset to abort. */
		s->state = S_HELO;
		s->ndata++;
		s->njunk = 0;
		log_info("%s: %s, size=%llu, nrcpt=%zu", s->msg.id,
		    s->msg.hold ? "held" : "queued",
		    (unsigned long long)res->size, s->nrcpts);
		session_reply(s, 250, "2.0.0", "Ok: queued as %s", s->msg.id);
		break;
	case DATA_TOOBIG:
		log_info("%s: rejected: message too big", s->msg.id);
		session_reply(s, 552, "5.3.4", "Message size exceeds fixed "
		    "maximum message size");
		break;
	case DATA_BADLINE:
		log_info("%s: rejected: %s", s->msg.id, res->reason);
		session_reply(s, 550, "5.6.0", "Message refused: %s",
		    res->reason);
		break;
	case DATA_IOERROR:
		log_warn("%s: spool write", s->msg.id);
		session_reply(s, 452, "4.3.1", "Insufficient system storage");
		break;
	case DATA_TIMEOUT:
		log_info("%s: timeout during DATA", s->msg.id);
		session_reply(s, 421, "4.4.2", "%s Error: timeout exceeded",
		    env->conf.hostname);
		s->quit = 1;
		break;
	default:
		log_info("%s: lost connection during DATA", s->msg.id);
		if (server_stopping())
			session_reply(s, 421, "4.3.2", "%s Service shutting "
			    "down", env->conf.hostname);
		s->quit = 1;
		break;
	}
}

static void
cmd_rset(struct session *s, char *arg)
{
	if (*arg != '\0') {
		session_reply(s, 501, "5.5.4", "Syntax: RSET");
		return;
	}
	if (session_junk(s) == -1)
		return;
	session_txn_reset(s);
	session_reply(s, 250, "2.0.0", "Ok");
}

static void
cmd_noop(struct session *s, char *arg)
{
	if (session_junk(s) == -1)
		return;
	session_reply(s, 250, "2.0.0", "Ok");
}

static void
cmd_quit(struct session *s, char *arg)
{
	session_reply(s, 221, "2.0.0", "Bye");
	s->quit = 1;
}

static void
cmd_vrfy(struct session *s, char *arg)
{
	if (*arg == '\0') {
		session_reply(s, 501, "5.5.4", "Syntax: VRFY address");
		return;
	}
	if (session_junk(s) == -1)
		return;
	session_reply(s, 252, "2.5.0", "Cannot VRFY user, but will accept "
	    "message and attempt delivery");
}

static void
cmd_help(struct session *s, char *arg)
{
	if (session_junk(s) == -1)
		return;
	io_printf(&s->io, "214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA "
	    "BDAT RSET NOOP QUIT VRFY HELP%s\r\n", env->tls != NULL ?
	    " STARTTLS AUTH" : "");
	session_reply(s, 214, "2.0.0", "See smtpd(8)");
}

static void
cmd_unimplemented(struct session *s, char *arg)
{
	session_reply(s, 502, "5.5.1", "Error: command not implemented");
}

/*
 * RFC 3207: after the handshake the client starts over with EHLO;
 * nothing it said before counts.
 */
static void
cmd_starttls(struct session *s, char *arg)
{
	size_t	 n;

	if (*arg != '\0') {
		session_reply(s, 501, "5.5.4", "Syntax: STARTTLS");
		return;
	}
	if (s->io.tls != NULL) {
		session_reply(s, 503, "5.5.1", "Error: TLS already active");
		return;
	}
	if (env->tls == NULL) {
		session_reply(s, 454, "4.7.0", "TLS not available");
		return;
	}
	if (s->state == S_MAIL) {
		session_reply(s, 503, "5.5.1", "Error: MAIL transaction in "
		    "progress");
		return;
	}
	session_reply(s, 220, "2.0.0", "Ready to start TLS");
	if (io_flush(&s->io) == -1) {
		s->quit = 1;
		return;
	}
	if ((n = io_discard(&s->io)) > 0)
		log_info("%s[%s]: discarded %zu bytes sent after STARTTLS",
		    s->name, s->addr, n);
	if (session_tls(s) == -1) {
		s->quit = 1;
		return;
	}
	s->helo[0] = '\0';
	s->esmtp = 0;
	s->state = S_CONNECTED;
}

static void
cmd_auth(struct session *s, char *arg)
{
	if (s->io.tls == NULL) {
		session_reply(s, 538, "5.7.11", "Encryption required for "
		    "requested authentication mechanism");
		return;
	}
	if (s->state == S_CONNECTED || !s->esmtp) {
		session_reply(s, 503, "5.5.1", "Error: send EHLO first");
		return;
	}
	if (s->login[0] != '\0') {
		session_reply(s, 503, "5.5.1", "Error: already authenticated");
		return;
	}
	if (s->state == S_MAIL) {
		session_reply(s, 503, "5.5.1", "Error: MAIL transaction in "
		    "progress");
		return;
	}
	if (limits_auth_begin(s) == -1)
		return;
	auth_session(s, arg);
	limits_auth_end(s);
	explicit_bzero(s->line, SMTPD_AUTH_LINE_MAX + 1);
}
