/*
 * milter.c: the session's mail filters (mail.conf's milter lines),
 * spoken to in the milter protocol, version 6 (sendmail's libmilter,
 * as Postfix speaks it too): one connection a filter for the whole
 * SMTP session, options negotiated once, then CONNECT, HELO, MAIL,
 * RCPT, DATA as the client sends them, the message at its end
 * (milter_eom.c), ABORT between transactions, QUIT at the close.
 *
 * Each stage asks the filters in the order of mail.conf; the first
 * that refuses decides, and those after it are not asked.  A filter
 * that accepts is not asked again for the message (for the session,
 * if it accepted the connection).  A filter that cannot be reached,
 * breaks the protocol or does not answer within milter_timeout is
 * down for the rest of the session, and milter_default says what
 * that means: tempfail answers 451 to every stage it would have
 * seen, accept goes on without it.  What CONNECT and HELO get is kept
 * and applied at each MAIL, as Postfix delays its client restrictions
 * (smtpd_delay_reject): a client is refused in the dialogue, not by
 * a broken greeting.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "smtpd.h"
#include "milter.h"

#define MILTER_HDRLEN	5	/* length and command */

static int	milter_wait(int, short, const struct timespec *);
static int	milter_dial(const struct sockaddr *, socklen_t,
		    const struct timespec *);
static int	milter_dial_conf(const struct conf_milter *,
		    const struct timespec *);
static int	milter_write(struct milter *, const char *, size_t,
		    const struct timespec *);
static int	milter_read(struct milter *, char *, size_t,
		    const struct timespec *);
static int	milter_send(struct milter *, int, struct mbuf *);
static int	milter_recv(struct milter *, int *, char **, size_t *);
static int	milter_fail(struct session *, struct milter *, const char *);
static int	milter_negotiate(struct session *, struct milter *);
static void	milter_open(struct session *, struct milter *);
static int	milter_nosend(const struct milter *, int);
static int	milter_noreply(const struct milter *, int);
static int	milter_replycode(struct milter_set *, const char *, size_t);
static int	milter_final(struct session *, struct milter *, int, int,
		    const char *, size_t);
static void	mac_add(struct mbuf *, const char *, const char *);
static void	milter_reply_line(struct session *, const char *, size_t,
		    int);
static int	milter_stage(struct session *, int, int);
static void	milter_keep(struct session *, int, const char *);
static int	milter_refuse(struct session *, int, const char *);
static void	milter_connect_data(struct session *, struct mbuf *);

/* ---- buffers --------------------------------------------------------- */

/* The room for the packet header is kept at the front. */
void
mbuf_reset(struct mbuf *b)
{
	b->len = MILTER_HDRLEN;
	b->error = 0;
	if (b->cap < MILTER_HDRLEN) {
		free(b->p);
		b->cap = 512;
		if ((b->p = malloc(b->cap)) == NULL) {
			b->cap = 0;
			b->error = 1;
		}
	}
}

void
mbuf_add(struct mbuf *b, const void *data, size_t len)
{
	char	*p;
	size_t	 cap;

	if (b->error)
		return;
	if (len > SIZE_MAX / 4 - b->len) {
		b->error = 1;
		return;
	}
	if (b->len + len > b->cap) {
		for (cap = b->cap; cap < b->len + len; cap *= 2)
			;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->error = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

void
mbuf_str(struct mbuf *b, const char *s)
{
	mbuf_add(b, s, strlen(s) + 1);
}

/* ---- the connection -------------------------------------------------- */

/* 1 when fd is ready for events before the deadline, 0 on timeout. */
static int
milter_wait(int fd, short events, const struct timespec *deadline)
{
	struct pollfd	 pfd;
	int		 r;

	pfd.fd = fd;
	pfd.events = events;
	for (;;) {
		r = poll(&pfd, 1, io_left(deadline));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == 0)
			errno = ETIMEDOUT;
		return r;
	}
}

static int
milter_dial(const struct sockaddr *sa, socklen_t salen,
    const struct timespec *deadline)
{
	socklen_t	 len;
	int		 fd, err, one = 1;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return -1;
	/* A command and its macros go out at once, not after an ACK. */
	if (sa->sa_family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if (connect(fd, sa, salen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	if (milter_wait(fd, POLLOUT, deadline) <= 0)
		goto fail;
	len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		goto fail;
	if (err != 0) {
		errno = err;
		goto fail;
	}
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static int
milter_dial_conf(const struct conf_milter *c, const struct timespec *deadline)
{
	struct sockaddr_un	 sun;
	struct addrinfo		 hints, *res, *ai;
	int			 fd = -1, r;

	if (c->family == AF_UNIX) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		strlcpy(sun.sun_path, c->path, sizeof(sun.sun_path));
		return milter_dial((struct sockaddr *)&sun, sizeof(sun),
		    deadline);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((r = getaddrinfo(c->host, c->port, &hints, &res)) != 0) {
		errno = r == EAI_SYSTEM ? errno : EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		fd = milter_dial(ai->ai_addr, ai->ai_addrlen, deadline);
	freeaddrinfo(res);
	return fd;
}

static int
milter_write(struct milter *m, const char *p, size_t len,
    const struct timespec *deadline)
{
	ssize_t	 n;

	while (len > 0) {
		n = send(m->fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if (milter_wait(m->fd, POLLOUT, deadline) <= 0)
				return -1;
			continue;
		}
		if (n == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
milter_read(struct milter *m, char *p, size_t len,
    const struct timespec *deadline)
{
	ssize_t	 n;

	while (len > 0) {
		n = read(m->fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if (milter_wait(m->fd, POLLIN, deadline) <= 0)
				return -1;
			continue;
		}
		if (n == 0)
			errno = ECONNRESET;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One packet: cmd and the data of b (NULL: none); 0 or -1. */
static int
milter_send(struct milter *m, int cmd, struct mbuf *b)
{
	struct timespec	 deadline;
	char		 hdr[MILTER_HDRLEN], *p = hdr;
	size_t		 len = MILTER_HDRLEN;
	uint32_t	 n;

	if (b != NULL) {
		if (b->error) {
			errno = ENOMEM;
			return -1;
		}
		p = b->p;
		len = b->len;
	}
	n = htonl((uint32_t)(len - 4));
	memcpy(p, &n, 4);
	p[4] = (char)cmd;
	io_deadline(&deadline, env->conf.milter_timeout * 1000);
	return milter_write(m, p, len, &deadline);
}

/* One packet in *data (malloc'd, NUL after its len octets). */
static int
milter_recv(struct milter *m, int *cmd, char **data, size_t *len)
{
	struct timespec	 deadline;
	char		 hdr[MILTER_HDRLEN];
	uint32_t	 n;

	io_deadline(&deadline, env->conf.milter_timeout * 1000);
	if (milter_read(m, hdr, sizeof(hdr), &deadline) == -1)
		return -1;
	memcpy(&n, hdr, 4);
	n = ntohl(n);
	if (n == 0 || n > MILTER_PACKET_MAX) {
		errno = EPROTO;
		return -1;
	}
	*cmd = (unsigned char)hdr[4];
	*len = n - 1;
	if ((*data = malloc(*len + 1)) == NULL)
		return -1;
	if (milter_read(m, *data, *len, &deadline) == -1) {
		free(*data);
		return -1;
	}
	(*data)[*len] = '\0';
	return 0;
}

/* The filter is down for the session: closed, and why logged. */
static int
milter_fail(struct session *s, struct milter *m, const char *why)
{
	log_warnx("%s[%s]: milter %s: %s%s%s; %s", s->name, s->addr,
	    m->conf->name, why, errno != 0 ? ": " : "",
	    errno != 0 ? strerror(errno) : "",
	    env->conf.milter_default == CONF_MILTER_ACCEPT ?
	    "going on without it" : "tempfail");
	if (m->fd != -1)
		close(m->fd);
	m->fd = -1;
	m->state = MILTER_DOWN;
	m->inmsg = 0;
	return MV_ERROR;
}

/*
 * SMFIC_OPTNEG: we offer every action and step we know; the filter
 * answers with those it takes.  One that wants more than we offer is
 * a filter we cannot serve.
 */
static int
milter_negotiate(struct session *s, struct milter *m)
{
	struct mbuf	 b = { NULL, 0, 0, 0 };
	uint32_t	 w[3];
	char		*data = NULL;
	size_t		 len;
	int		 cmd, r = -1;

	mbuf_reset(&b);
	w[0] = htonl(MILTER_VERSION);
	w[1] = htonl(MILTER_ACTIONS);
	w[2] = htonl(MILTER_PROTOCOL);
	mbuf_add(&b, w, sizeof(w));
	errno = 0;
	if (milter_send(m, SMFIC_OPTNEG, &b) == -1 ||
	    milter_recv(m, &cmd, &data, &len) == -1)
		milter_fail(s, m, "option negotiation");
	else if (cmd != SMFIC_OPTNEG || len < sizeof(w))
		milter_fail(s, m, "option negotiation: not an answer to it");
	else {
		memcpy(w, data, sizeof(w));
		m->actions = ntohl(w[1]);
		m->proto = ntohl(w[2]);
		if (ntohl(w[0]) < 2 || ntohl(w[0]) > MILTER_VERSION)
			milter_fail(s, m, "unknown protocol version");
		else if ((m->actions & ~MILTER_ACTIONS) != 0 ||
		    (m->proto & ~MILTER_PROTOCOL) != 0)
			milter_fail(s, m, "wants actions or steps we do not "
			    "offer");
		else
			r = 0;
	}
	free(data);
	free(b.p);
	return r;
}

static void
milter_open(struct session *s, struct milter *m)
{
	struct timespec	 deadline;

	io_deadline(&deadline, env->conf.milter_timeout * 1000);
	errno = 0;
	if ((m->fd = milter_dial_conf(m->conf, &deadline)) == -1) {
		milter_fail(s, m, "cannot connect");
		return;
	}
	if (milter_negotiate(s, m) == 0)
		m->state = MILTER_ON;
}

/* ---- commands and answers --------------------------------------------- */

static const struct {
	int		 cmd;
	uint32_t	 nosend;
	uint32_t	 noreply;
} milter_steps[] = {
	{ SMFIC_CONNECT, SMFIP_NOCONNECT, SMFIP_NR_CONN },
	{ SMFIC_HELO, SMFIP_NOHELO, SMFIP_NR_HELO },
	{ SMFIC_MAIL, SMFIP_NOMAIL, SMFIP_NR_MAIL },
	{ SMFIC_RCPT, SMFIP_NORCPT, SMFIP_NR_RCPT },
	{ SMFIC_DATA, SMFIP_NODATA, SMFIP_NR_DATA },
	{ SMFIC_HEADER, SMFIP_NOHDRS, SMFIP_NR_HDR },
	{ SMFIC_EOH, SMFIP_NOEOH, SMFIP_NR_EOH },
	{ SMFIC_BODY, SMFIP_NOBODY, SMFIP_NR_BODY },
};

static int
milter_nosend(const struct milter *m, int cmd)
{
	size_t	 i;

	for (i = 0; i < sizeof(milter_steps) / sizeof(milter_steps[0]); i++)
		if (milter_steps[i].cmd == cmd)
			return (m->proto & milter_steps[i].nosend) != 0;
	return 0;
}

static int
milter_noreply(const struct milter *m, int cmd)
{
	size_t	 i;

	for (i = 0; i < sizeof(milter_steps) / sizeof(milter_steps[0]); i++)
		if (milter_steps[i].cmd == cmd)
			return (m->proto & milter_steps[i].noreply) != 0;
	return 0;
}

/*
 * SMFIR_REPLYCODE: "550 5.7.1 text", lines joined by CRLF, each of
 * the same 4xx or 5xx code and only printable text: it goes to the
 * client as it is.
 */
static int
milter_replycode(struct milter_set *set, const char *text, size_t len)
{
	const char	*p, *line;

	/* The string and its NUL. */
	if (len == 0 || strlen(text) != len - 1)
		return MV_ERROR;
	len--;
	if (len >= sizeof(set->reply) || len < 3 ||
	    (text[0] != '4' && text[0] != '5'))
		return MV_ERROR;
	for (line = text; ; line = p + 2) {
		if (strncmp(line, text, 3) != 0 || !isdigit((unsigned char)
		    line[1]) || !isdigit((unsigned char)line[2]) ||
		    (line[3] != '\0' && line[3] != ' ' && line[3] != '-' &&
		    line[3] != '\r'))
			return MV_ERROR;
		for (p = line; *p != '\0' && *p != '\r'; p++)
			if (!isprint((unsigned char)*p) && *p != '\t')
				return MV_ERROR;
		if (*p == '\0')
			break;
		if (p[1] != '\n' || p[2] == '\0')
			return MV_ERROR;
	}
	memcpy(set->reply, text, len + 1);
	return text[0] == '4' ? MV_TEMPFAIL : MV_REJECT;
}

/* The answer that ends a command; -1: not one. */
static int
milter_final(struct session *s, struct milter *m, int cmd, int rcmd,
    const char *data, size_t len)
{
	switch (rcmd) {
	case SMFIR_CONTINUE:
		return MV_CONTINUE;
	case SMFIR_ACCEPT:
		return MV_ACCEPT;
	case SMFIR_REJECT:
		return MV_REJECT;
	case SMFIR_TEMPFAIL:
		return MV_TEMPFAIL;
	case SMFIR_DISCARD:
		return MV_DISCARD;
	case SMFIR_SHUTDOWN:
	case SMFIR_CONN_FAIL:
		return MV_SHUTDOWN;
	case SMFIR_SKIP:
		return cmd == SMFIC_BODY ? MV_SKIP : -1;
	case SMFIR_REPLYCODE:
		return milter_replycode(s->milters, data, len);
	}
	return -1;
}

int
milter_ask(struct session *s, struct milter *m, int cmd, const struct mbuf *b,
    milter_edit_fn edit, void *arg)
{
	char	*data, why[160];
	size_t	 len;
	int	 rcmd, v;

	if (milter_nosend(m, cmd))
		return MV_CONTINUE;
	errno = 0;
	if (milter_macros(s, m, cmd) == -1 ||
	    milter_send(m, cmd, (struct mbuf *)b) == -1)
		return milter_fail(s, m, "write");
	if (milter_noreply(m, cmd))
		return MV_CONTINUE;
	s->milters->reply[0] = '\0';
	for (;;) {
		errno = 0;
		if (milter_recv(m, &rcmd, &data, &len) == -1)
			return milter_fail(s, m, errno == ETIMEDOUT ?
			    "no answer" : "read");
		if (rcmd == SMFIR_PROGRESS) {
			free(data);
			continue;
		}
		if ((v = milter_final(s, m, cmd, rcmd, data, len)) == -1 &&
		    cmd == SMFIC_BODYEOB && edit != NULL &&
		    edit(arg, m, rcmd, data, len) == 0) {
			free(data);
			continue;
		}
		if (v == -1 || v == MV_ERROR) {
			(void)snprintf(why, sizeof(why), "answer '%c' to '%c' "
			    "out of protocol: \"%.*s\"", isprint(rcmd) ? rcmd :
			    '?', cmd, (int)(len < 80 ? len : 80), data);
			free(data);
			errno = 0;
			return milter_fail(s, m, why);
		}
		free(data);
		return v;
	}
}

/* ---- macros ----------------------------------------------------------- */

static void
mac_add(struct mbuf *b, const char *name, const char *value)
{
	mbuf_str(b, name);
	mbuf_str(b, value);
}

/*
 * Those of Postfix's default milter_*_macros that we have, which
 * rspamd and clamav-milter read: j and {daemon_name} the hostname,
 * {client_addr}, {client_name}, i the queue ID, {auth_authen} the
 * login, TLS's version and cipher.
 */
int
milter_macros(struct session *s, struct milter *m, int cmd)
{
	struct mbuf	 b = { NULL, 0, 0, 0 };
	char		 c = (char)cmd, tmp[NI_MAXHOST + INET6_ADDRSTRLEN + 4];
	const char	*p;
	int		 r;

	mbuf_reset(&b);
	mbuf_add(&b, &c, 1);
	switch (cmd) {
	case SMFIC_CONNECT:
		mac_add(&b, "j", env->conf.hostname);
		mac_add(&b, "{daemon_name}", env->conf.hostname);
		mac_add(&b, "v", "basemail");
		(void)snprintf(tmp, sizeof(tmp), "%s [%s]", s->name, s->addr);
		mac_add(&b, "_", tmp);
		mac_add(&b, "{client_addr}", s->addr);
		mac_add(&b, "{client_name}", s->name);
		break;
	case SMFIC_HELO:
		if (s->tlsinfo[0] == '\0')
			break;
		/* tlsinfo is "TLSv1.3 with cipher NAME". */
		(void)snprintf(tmp, sizeof(tmp), "%.*s",
		    (int)strcspn(s->tlsinfo, " "), s->tlsinfo);
		mac_add(&b, "{tls_version}", tmp);
		if ((p = strstr(s->tlsinfo, "cipher ")) != NULL)
			mac_add(&b, "{cipher}", p + 7);
		break;
	case SMFIC_MAIL:
		mac_add(&b, "i", s->msg.id);
		if (s->login[0] != '\0') {
			mac_add(&b, "{auth_type}", "PLAIN");
			mac_add(&b, "{auth_authen}", s->login);
		}
		mac_add(&b, "{mail_addr}", s->sender);
		break;
	case SMFIC_RCPT:
		mac_add(&b, "i", s->msg.id);
		mac_add(&b, "{rcpt_addr}", s->milters->rcpt);
		break;
	case SMFIC_DATA:
	case SMFIC_EOH:
	case SMFIC_BODYEOB:
		mac_add(&b, "i", s->msg.id);
		break;
	default:
		break;
	}
	if (b.len == MILTER_HDRLEN + 1) {
		free(b.p);
		return 0;
	}
	r = milter_send(m, SMFIC_MACRO, &b);
	free(b.p);
	return r;
}

/* ---- verdicts and replies ------------------------------------------- */

int
milter_verdict(struct session *s, struct milter *m, int v, int session)
{
	switch (v) {
	case MV_ACCEPT:
		m->state = session ? MILTER_SESSION_DONE : MILTER_MSG_DONE;
		return MV_CONTINUE;
	case MV_SKIP:
		return MV_CONTINUE;
	case MV_ERROR:
		if (env->conf.milter_default == CONF_MILTER_ACCEPT)
			return MV_CONTINUE;
		s->milters->reply[0] = '\0';
		return MV_TEMPFAIL;
	}
	return v;
}

/*
 * One line of a filter's reply, its code and separator replaced by
 * ours; an enhanced code (RFC 3463) of the class is put in when the
 * filter gave none, as ENHANCEDSTATUSCODES promises one.
 */
static void
milter_reply_line(struct session *s, const char *line, size_t len, int last)
{
	const char	*text = len > 4 ? line + 4 : "";
	int		 textlen = len > 4 ? (int)(len - 4) : 0;
	int		 code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
			    (line[2] - '0');
	int		 esc;

	esc = textlen >= 5 && text[0] == line[0] && text[1] == '.' &&
	    isdigit((unsigned char)text[2]);
	if (!last)
		io_printf(&s->io, "%d-%s%.*s\r\n", code, esc ? "" :
		    line[0] == '4' ? "4.7.1 " : "5.7.1 ", textlen, text);
	else if (esc)
		session_reply(s, code, NULL, "%.*s", textlen, text);
	else
		session_reply(s, code, line[0] == '4' ? "4.7.1" : "5.7.1",
		    "%.*s", textlen, text);
}

void
milter_reply(struct session *s, int v, const char *text, const char *what)
{
	const char	*end;

	if (v == MV_SHUTDOWN) {
		session_reply(s, 421, "4.7.0", "%s closing connection",
		    env->conf.hostname);
		s->quit = 1;
		return;
	}
	if (text != NULL && text[0] != '\0') {
		while ((end = strstr(text, "\r\n")) != NULL) {
			milter_reply_line(s, text, (size_t)(end - text), 0);
			text = end + 2;
		}
		milter_reply_line(s, text, strlen(text), 1);
		return;
	}
	if (v == MV_TEMPFAIL)
		session_reply(s, 451, "4.7.1", "Service unavailable - try "
		    "again later");
	else
		session_reply(s, 550, "5.7.1", "%s rejected", what);
}

/*
 * Asks each filter still on about the stage cmd, whose data is in
 * the set's buffer; the first that does not let it pass decides.
 */
static int
milter_stage(struct session *s, int cmd, int session)
{
	struct milter_set	*set = s->milters;
	struct milter		*m;
	size_t			 i;
	int			 v;

	for (i = 0; i < set->n; i++) {
		m = &set->m[i];
		if (m->state == MILTER_DOWN &&
		    env->conf.milter_default == CONF_MILTER_TEMPFAIL) {
			set->reply[0] = '\0';
			return MV_TEMPFAIL;
		}
		if (m->state != MILTER_ON)
			continue;
		v = milter_ask(s, m, cmd, &set->buf, NULL, NULL);
		if ((v = milter_verdict(s, m, v, session)) != MV_CONTINUE)
			return v;
	}
	return MV_CONTINUE;
}

/* A verdict of CONNECT or HELO, kept for the MAIL commands to come. */
static void
milter_keep(struct session *s, int v, const char *stage)
{
	struct milter_set	*set = s->milters;

	if (v == MV_CONTINUE || set->verdict != MV_CONTINUE)
		return;
	log_info("%s[%s]: milter: %s at %s%s%s", s->name, s->addr,
	    v == MV_REJECT ? "reject" : v == MV_TEMPFAIL ? "tempfail" :
	    "discard", stage, set->reply[0] != '\0' ? ": " : "", set->reply);
	set->verdict = v;
	strlcpy(set->sreply, set->reply, sizeof(set->sreply));
}

/*
 * The verdict of MAIL, RCPT or DATA: 0 to go on (a discard is marked
 * for the end of the message), -1 after the refusal.
 */
static int
milter_refuse(struct session *s, int v, const char *what)
{
	if (v == MV_CONTINUE)
		return 0;
	if (v == MV_DISCARD) {
		s->milters->discard = 1;
		return 0;
	}
	milter_reply(s, v, s->milters->reply, what);
	log_info("%s: milter: %s %s: %s", s->msg.id, what,
	    v == MV_TEMPFAIL ? "tempfail" : v == MV_SHUTDOWN ? "shutdown" :
	    "reject", s->lastreply);
	return -1;
}

/* ---- the stages -------------------------------------------------------- */

/* hostname, family, port, address (libmilter's SMFIC_CONNECT). */
static void
milter_connect_data(struct session *s, struct mbuf *b)
{
	char		 host[NI_MAXHOST + 2], family;
	const char	*addr = s->addr;
	uint16_t	 port = 0;

	if (strcmp(s->name, "unknown") == 0)
		(void)snprintf(host, sizeof(host), "[%s]", s->addr);
	else
		strlcpy(host, s->name, sizeof(host));
	if (s->ss.ss_family == AF_INET) {
		family = '4';
		port = ((struct sockaddr_in *)&s->ss)->sin_port;
	} else if (s->ss.ss_family == AF_INET6) {
		family = '6';
		port = ((struct sockaddr_in6 *)&s->ss)->sin6_port;
		if (strncmp(addr, "::ffff:", 7) == 0 &&
		    strchr(addr, '.') != NULL) {
			family = '4';
			addr += 7;
		}
	} else
		family = 'U';
	mbuf_reset(b);
	mbuf_str(b, host);
	mbuf_add(b, &family, 1);
	if (family != 'U') {
		mbuf_add(b, &port, sizeof(port));
		mbuf_str(b, addr);
	}
}

int
milter_connect(struct session *s)
{
	struct milter_set	*set;
	size_t			 i, n = env->conf.nmilters;
	int			 v;

	if (n == 0)
		return 0;
	if ((set = calloc(1, sizeof(*set))) == NULL ||
	    (set->m = calloc(n, sizeof(*set->m))) == NULL) {
		free(set);
		log_warn("%s[%s]: milters", s->name, s->addr);
		session_reply(s, 421, "4.3.0", "%s Error: out of memory",
		    env->conf.hostname);
		return -1;
	}
	set->n = n;
	s->milters = set;
	for (i = 0; i < n; i++) {
		set->m[i].conf = &env->conf.milters[i];
		set->m[i].fd = -1;
		milter_open(s, &set->m[i]);
	}
	milter_connect_data(s, &set->buf);
	v = milter_stage(s, SMFIC_CONNECT, 1);
	if (v == MV_SHUTDOWN) {
		milter_reply(s, v, NULL, "Connection");
		return -1;
	}
	milter_keep(s, v, "connect");
	return 0;
}

void
milter_helo(struct session *s)
{
	int	 v;

	if (s->milters == NULL)
		return;
	mbuf_reset(&s->milters->buf);
	mbuf_str(&s->milters->buf, s->helo);
	v = milter_stage(s, SMFIC_HELO, 1);
	if (v == MV_SHUTDOWN)
		milter_reply(s, v, NULL, "HELO");
	else
		milter_keep(s, v, "HELO");
}

int
milter_mail(struct session *s)
{
	struct milter_set	*set = s->milters;
	char			 path[SMTPD_ADDRLEN + 2];
	size_t			 i;
	int			 v;

	if (set == NULL)
		return 0;
	set->discard = set->verdict == MV_DISCARD;
	if (set->verdict == MV_REJECT || set->verdict == MV_TEMPFAIL) {
		milter_reply(s, set->verdict, set->sreply, "Command");
		return -1;
	}
	for (i = 0; i < set->n; i++) {
		if (set->m[i].state == MILTER_MSG_DONE)
			set->m[i].state = MILTER_ON;
		set->m[i].inmsg = set->m[i].state == MILTER_ON;
	}
	(void)snprintf(path, sizeof(path), "<%s>", s->sender);
	mbuf_reset(&set->buf);
	mbuf_str(&set->buf, path);
	v = set->discard ? MV_CONTINUE : milter_stage(s, SMFIC_MAIL, 0);
	if (milter_refuse(s, v, "Sender address") == 0)
		return 0;
	milter_abort(s);
	return -1;
}

int
milter_rcpt(struct session *s, const char *rcpt)
{
	struct milter_set	*set = s->milters;
	char			 path[SMTPD_ADDRLEN + 2];

	if (set == NULL || set->discard)
		return 0;
	(void)snprintf(path, sizeof(path), "<%s>", rcpt);
	set->rcpt = rcpt;
	mbuf_reset(&set->buf);
	mbuf_str(&set->buf, path);
	return milter_refuse(s, milter_stage(s, SMFIC_RCPT, 0),
	    "Recipient address");
}

int
milter_data(struct session *s)
{
	struct milter_set	*set = s->milters;

	if (set == NULL || set->discard)
		return 0;
	mbuf_reset(&set->buf);
	return milter_refuse(s, milter_stage(s, SMFIC_DATA, 0), "Data command");
}

int
milter_eom(struct session *s)
{
	struct milter_set	*set = s->milters;
	size_t			 i;
	int			 v;

	if (set == NULL)
		return 0;
	v = set->discard ? MV_DISCARD : milter_eom_run(s);
	for (i = 0; i < set->n; i++)
		set->m[i].inmsg = 0;
	if (v == MV_DISCARD) {
		log_info("%s: milter: discarded, nrcpt=%zu", s->msg.id,
		    s->nrcpts);
		session_reply(s, 250, "2.0.0", "Ok: queued as %s", s->msg.id);
		return 1;
	}
	return milter_refuse(s, v, "Message content");
}

void
milter_abort(struct session *s)
{
	struct milter_set	*set = s->milters;
	struct milter		*m;
	size_t			 i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++) {
		m = &set->m[i];
		if (m->inmsg && m->fd != -1 &&
		    milter_send(m, SMFIC_ABORT, NULL) == -1)
			milter_fail(s, m, "write");
		m->inmsg = 0;
		if (m->state == MILTER_MSG_DONE)
			m->state = MILTER_ON;
	}
	set->discard = 0;
}

void
milter_close(struct session *s)
{
	struct milter_set	*set = s->milters;
	size_t			 i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++) {
		if (set->m[i].fd == -1)
			continue;
		(void)milter_send(&set->m[i], SMFIC_QUIT, NULL);
		close(set->m[i].fd);
	}
	free(set->buf.p);
	free(set->m);
	free(set);
	s->milters = NULL;
}
