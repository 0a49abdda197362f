/*
 * The SMTP client's connection: connecting with a time limit, reading
 * replies (RFC 5321 section 4.2), and writing commands and the message
 * through one buffer, so that a pipelined group (RFC 2920) leaves in
 * one write.  Every byte read is hostile: replies are checked for
 * their form and cut to size.  After STARTTLS (RFC 3207), or from the
 * start on an smtps port (RFC 8314), the same goes through libtls.
 * AUTH PLAIN (RFC 4616) and LOGIN as a client (RFC 4954), over TLS
 * only.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <resolv.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <tls.h>
#include <unistd.h>

#include "libmail.h"
#include "deliver.h"
#include "smtp.h"

/* RFC 5321 section 4.5.3.1.5: a reply line is at most 512 octets. */
#define REPLY_LINE_MAX	2048
/* Lines of one reply: more is a server that never ends its reply. */
#define REPLY_LINES_MAX	1000

static int	 smtp_fill(struct smtp_conn *);
static int	 smtp_getline(struct smtp_conn *, char *, size_t);
static int	 smtp_write(struct smtp_conn *, const char *, size_t);
static ssize_t	 smtp_io(struct smtp_conn *, char *, size_t, int);
static void	 smtp_ehlo_line(struct smtp_conn *, const char *);
static void	 reply_append(struct smtp_conn *, size_t *, const char *,
		    size_t);
static void	 smtp_ehlo_auth(struct smtp_conn *, const char *);
static int	 smtp_secret(struct smtp_conn *, const char *, size_t);
static int	 smtp_b64_cmd(struct smtp_conn *, const char *, const char *,
		    size_t);

/* tls_ca_file, read at start; NULL: libtls's default, the system's. */
static uint8_t	*tls_ca;
static size_t	 tls_ca_len;

void
smtp_tls_load(const struct conf *conf)
{
	if (tls_init() == -1)
		errx(EX_OSERR, "cannot set up TLS");
	if (conf->tls_ca_file[0] == '\0')
		return;
	if ((tls_ca = tls_load_file(conf->tls_ca_file, &tls_ca_len,
	    NULL)) == NULL)
		err(EX_CONFIG, "%s: tls_ca_file %s", conf->path,
		    conf->tls_ca_file);
}

int
smtp_connect(struct smtp_conn *c, const struct sockaddr *sa, socklen_t len,
    const char *host, int timeout, char *err, size_t errlen)
{
	struct pollfd	 pfd;
	char		 addr[INET6_ADDRSTRLEN], port[8];
	socklen_t	 elen = sizeof(int);
	int		 fd, flags, e = 0, r;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (sa->sa_family == AF_UNIX) {
		/* An LMTP server's socket: host is its path. */
		snprintf(c->relay, sizeof(c->relay), "unix:%s", host);
		snprintf(c->host, sizeof(c->host), "%s", host);
	} else {
		if (getnameinfo(sa, len, addr, sizeof(addr), port,
		    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
			strlcpy(addr, "?", sizeof(addr));
		snprintf(c->relay, sizeof(c->relay), "%s[%s]:%s", host, addr,
		    port);
		snprintf(c->host, sizeof(c->host), "%s[%s]", host, addr);
	}
	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	flags = fcntl(fd, F_GETFL);
	if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		goto fail;
	if (connect(fd, sa, len) == -1) {
		if (errno != EINPROGRESS)
			goto fail;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		while ((r = poll(&pfd, 1, timeout * 1000)) == -1 &&
		    errno == EINTR)
			;
		if (r == 0)
			errno = ETIMEDOUT;
		if (r <= 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
			goto fail;
		if (e != 0) {
			errno = e;
			goto fail;
		}
	}
	if (fcntl(fd, F_SETFL, flags) == -1)
		goto fail;
	c->fd = fd;
	smtp_timeout(c, timeout);
	return 0;
fail:
	snprintf(err, errlen, "connect to %s: %s", c->relay, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

/* Every later read and write gives up after this many seconds. */
void
smtp_timeout(struct smtp_conn *c, int seconds)
{
	struct timeval	 tv;

	tv.tv_sec = seconds;
	tv.tv_usec = 0;
	(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void
smtp_close(struct smtp_conn *c)
{
	if (c->tls != NULL) {
		(void)tls_close(c->tls);
		tls_free(c->tls);
		c->tls = NULL;
	}
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->broken = 1;
}

/* One read or write, in the clear or through TLS; as read(2). */
static ssize_t
smtp_io(struct smtp_conn *c, char *buf, size_t len, int writing)
{
	ssize_t	 n;
	int	 tries;

	if (c->tls == NULL)
		return writing ? write(c->fd, buf, len) :
		    read(c->fd, buf, len);
	/*
	 * On a blocking socket, TLS_WANT_* means a record that was not
	 * data (a TLS 1.3 session ticket): read on; or the time limit of
	 * SO_RCVTIMEO or SO_SNDTIMEO (EAGAIN).  A server that sends such
	 * records without end is cut off.
	 */
	for (tries = 0; tries < 64; tries++) {
		errno = 0;
		n = writing ? tls_write(c->tls, buf, len) :
		    tls_read(c->tls, buf, len);
		if (n != TLS_WANT_POLLIN && n != TLS_WANT_POLLOUT)
			break;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT || (n == -1 &&
	    errno == 0)) {
		errno = EPROTO;
		return -1;
	}
	return n;
}

/*
 * Without verify, the certificate is not checked: opportunistic TLS as
 * RFC 3207 allows for relaying, since MX hosts rarely have one that
 * matches, and any encryption beats none.  With verify, libtls checks
 * the chain against the CA store and the name against servername.
 */
int
smtp_tls_start(struct smtp_conn *c, const char *servername, int verify)
{
	struct tls_config	*cfg;

	if ((cfg = tls_config_new()) == NULL) {
		snprintf(c->reply, sizeof(c->reply), "TLS with %s failed: "
		    "no memory", c->host);
		smtp_close(c);
		return -1;
	}
	if (!verify) {
		tls_config_insecure_noverifycert(cfg);
		tls_config_insecure_noverifyname(cfg);
	} else if (tls_ca != NULL &&
	    tls_config_set_ca_mem(cfg, tls_ca, tls_ca_len) == -1) {
		snprintf(c->reply, sizeof(c->reply), "TLS with %s failed: "
		    "tls_ca_file: %s", c->host, tls_config_error(cfg));
		tls_config_free(cfg);
		smtp_close(c);
		return -1;
	}
	if ((c->tls = tls_client()) == NULL ||
	    tls_configure(c->tls, cfg) == -1 ||
	    tls_connect_socket(c->tls, c->fd, servername) == -1 ||
	    tls_handshake(c->tls) != 0) {
		snprintf(c->reply, sizeof(c->reply), "TLS with %s failed: %s",
		    c->host, c->tls != NULL && tls_error(c->tls) != NULL ?
		    tls_error(c->tls) : "no memory");
		tls_config_free(cfg);
		smtp_close(c);
		return -1;
	}
	tls_config_free(cfg);
	c->verified = verify;
	snprintf(c->tlsinfo, sizeof(c->tlsinfo), "%s %s",
	    tls_conn_version(c->tls), tls_conn_cipher(c->tls));
	/* What came before the handshake is void (RFC 3207 section 4.2). */
	c->rlen = c->roff = 0;
	c->pipelining = c->eightbit = c->size = c->starttls = 0;
	c->auth_plain = c->auth_login = c->auth = 0;
	c->maxsize = 0;
	return 0;
}

static int
smtp_fill(struct smtp_conn *c)
{
	ssize_t	 n;

	if (c->roff > 0) {
		memmove(c->rbuf, c->rbuf + c->roff, c->rlen - c->roff);
		c->rlen -= c->roff;
		c->roff = 0;
	}
	if (c->rlen == sizeof(c->rbuf))
		return -1;
	while ((n = smtp_io(c, c->rbuf + c->rlen,
	    sizeof(c->rbuf) - c->rlen, 0)) == -1 && errno == EINTR)
		;
	if (n <= 0) {
		if (n == 0)
			errno = ECONNRESET;
		return -1;
	}
	c->rlen += (size_t)n;
	return 0;
}

/* One line without its CRLF (or bare LF); longer ones are cut. */
static int
smtp_getline(struct smtp_conn *c, char *buf, size_t len)
{
	char	*nl;
	size_t	 n;

	for (;;) {
		nl = memchr(c->rbuf + c->roff, '\n', c->rlen - c->roff);
		if (nl != NULL)
			break;
		if (c->rlen - c->roff >= REPLY_LINE_MAX) {
			errno = EPROTO;
			return -1;
		}
		if (smtp_fill(c) == -1)
			return -1;
	}
	n = (size_t)(nl - (c->rbuf + c->roff));
	if (n > 0 && nl[-1] == '\r')
		n--;
	snprintf(buf, len, "%.*s", (int)n, c->rbuf + c->roff);
	c->roff = (size_t)(nl - c->rbuf) + 1;
	return 0;
}

/* Printable ASCII only: replies go to logs, state files and bounces. */
static void
reply_append(struct smtp_conn *c, size_t *o, const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n && s[i] != '\0' && *o + 1 < sizeof(c->reply); i++)
		c->reply[(*o)++] = (s[i] < 0x20 || s[i] > 0x7e) ? '?' : s[i];
	c->reply[*o] = '\0';
}

/*
 * Reads a whole reply: its code, or -1 when the connection failed or
 * the reply is malformed (c->reply then says what happened, and keeps
 * saying it on a connection already lost).  The text of every line
 * goes into c->reply, joined by spaces; an EHLO reply also records the
 * extensions.  After a 421 the server closes the connection (RFC 5321
 * section 3.8), and so do we: it is of no use for another message.
 */
int
smtp_reply(struct smtp_conn *c, int ehlo)
{
	char	 line[REPLY_LINE_MAX + 1];
	size_t	 o = 0, lines = 0;
	int	 code = -1, first = 1;

	if (c->broken)
		return -1;
	c->reply[0] = '\0';
	if (smtp_flush(c) == -1)
		return -1;
	for (;;) {
		if (smtp_getline(c, line, sizeof(line)) == -1) {
			snprintf(c->reply, sizeof(c->reply),
			    "lost connection with %s: %s", c->host,
			    strerror(errno));
			smtp_close(c);
			return -1;
		}
		if (strlen(line) < 3 || !isdigit((unsigned char)line[0]) ||
		    line[0] < '2' || line[0] > '5' ||
		    !isdigit((unsigned char)line[1]) ||
		    !isdigit((unsigned char)line[2]) ||
		    (line[3] != '\0' && line[3] != ' ' && line[3] != '-') ||
		    (!first && atoi(line) != code) ||
		    ++lines > REPLY_LINES_MAX) {
			snprintf(c->reply, sizeof(c->reply),
			    "malformed reply from %s", c->host);
			smtp_close(c);
			return -1;
		}
		code = atoi(line);
		if (ehlo && !first)
			smtp_ehlo_line(c, line + 4);
		if (first)
			reply_append(c, &o, line, 3);
		reply_append(c, &o, " ", 1);
		reply_append(c, &o, line[3] != '\0' ? line + 4 : "",
		    SIZE_MAX);
		first = 0;
		if (line[3] != '-')
			break;
	}
	c->code = code;
	if (code == 421)
		smtp_close(c);
	return code;
}

static void
smtp_ehlo_line(struct smtp_conn *c, const char *kw)
{
	const char	*errstr;
	long long	 n;

	if (line_is(kw, "PIPELINING"))
		c->pipelining = 1;
	else if (line_is(kw, "STARTTLS"))
		c->starttls = 1;
	else if (line_is(kw, "8BITMIME"))
		c->eightbit = 1;
	else if (line_is(kw, "DSN"))
		c->dsn = 1;
	else if (line_is(kw, "SMTPUTF8"))
		c->smtputf8 = 1;
	else if (strncasecmp(kw, "AUTH", 4) == 0 &&
	    (kw[4] == ' ' || kw[4] == '='))
		smtp_ehlo_auth(c, kw + 5);
	else if (strncasecmp(kw, "SIZE", 4) == 0 &&
	    (kw[4] == '\0' || kw[4] == ' ')) {
		c->size = 1;
		if (kw[4] == ' ') {
			n = strtonum(kw + 5, 0, LLONG_MAX, &errstr);
			if (errstr == NULL)
				c->maxsize = (uint64_t)n;
		}
	}
}

/* "AUTH PLAIN LOGIN ...", or the "AUTH=" of old servers. */
static void
smtp_ehlo_auth(struct smtp_conn *c, const char *mechs)
{
	size_t	 n;

	c->auth = 1;
	for (; *mechs != '\0'; mechs += n) {
		mechs += strspn(mechs, " ");
		n = strcspn(mechs, " ");
		if (n == 5 && strncasecmp(mechs, "PLAIN", 5) == 0)
			c->auth_plain = 1;
		else if (n == 5 && strncasecmp(mechs, "LOGIN", 5) == 0)
			c->auth_login = 1;
	}
}

int
line_is(const char *line, const char *kw)
{
	size_t	 n = strlen(kw);

	return strncasecmp(line, kw, n) == 0 &&
	    (line[n] == '\0' || line[n] == ' ');
}

static int
smtp_write(struct smtp_conn *c, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		w = smtp_io(c, (char *)p, n, 1);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(c->reply, sizeof(c->reply),
			    "lost connection with %s while sending: %s",
			    c->host, strerror(errno));
			smtp_close(c);
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
smtp_flush(struct smtp_conn *c)
{
	size_t	 n = c->wlen;

	if (c->broken)
		return -1;
	c->wlen = 0;
	return n > 0 ? smtp_write(c, c->wbuf, n) : 0;
}

/* Queues bytes; the buffer goes out when full or at smtp_flush. */
int
smtp_put(struct smtp_conn *c, const char *p, size_t n)
{
	size_t	 k;

	while (n > 0) {
		if (c->wlen == sizeof(c->wbuf) && smtp_flush(c) == -1)
			return -1;
		k = sizeof(c->wbuf) - c->wlen;
		if (k > n)
			k = n;
		memcpy(c->wbuf + c->wlen, p, k);
		c->wlen += k;
		p += k;
		n -= k;
	}
	return c->broken ? -1 : 0;
}

int
smtp_cmd(struct smtp_conn *c, const char *fmt, ...)
{
	char	 buf[1024];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf) - 2)
		return -1;
	buf[n++] = '\r';
	buf[n++] = '\n';
	return smtp_put(c, buf, (size_t)n);
}

/*
 * The message, from the queue's LF lines to CRLF lines, dot-stuffed
 * (RFC 5321 section 4.5.2), then the final dot.  A stray CR is sent
 * as it is only when a LF follows it; the queue holds none anyway.
 */
int
smtp_data(struct smtp_conn *c, FILE *body)
{
	char	 buf[65536];
	size_t	 n, i, start;
	int	 bol = 1;

	while ((n = fread(buf, 1, sizeof(buf), body)) > 0) {
		start = 0;
		for (i = 0; i < n; i++) {
			if (bol && buf[i] == '.' &&
			    smtp_put(c, ".", 1) == -1)
				return -1;
			bol = 0;
			if (buf[i] != '\n')
				continue;
			if (smtp_put(c, buf + start, i - start) == -1 ||
			    smtp_put(c, "\r\n", 2) == -1)
				return -1;
			start = i + 1;
			bol = 1;
		}
		if (smtp_put(c, buf + start, n - start) == -1)
			return -1;
	}
	if (ferror(body)) {
		snprintf(c->reply, sizeof(c->reply),
		    "cannot read the queue file: %s", strerror(errno));
		return -1;
	}
	if (!bol && smtp_put(c, "\r\n", 2) == -1)
		return -1;
	return smtp_put(c, ".\r\n", 3);
}

/* A line that carries a secret: sent now, and wiped from our buffers. */
static int
smtp_secret(struct smtp_conn *c, const char *line, size_t len)
{
	int	 rc;

	rc = smtp_flush(c) == -1 || smtp_put(c, line, len) == -1 ||
	    smtp_flush(c) == -1 ? -1 : 0;
	explicit_bzero(c->wbuf, sizeof(c->wbuf));
	c->wlen = 0;
	return rc;
}

/* "prefix base64(data)" CRLF, sent as a secret. */
static int
smtp_b64_cmd(struct smtp_conn *c, const char *prefix, const char *data,
    size_t len)
{
	char	 line[1024];
	size_t	 n;
	int	 k, rc = -1;

	n = strlcpy(line, prefix, sizeof(line));
	if (n < sizeof(line) && (k = b64_ntop((const unsigned char *)data,
	    len, line + n, sizeof(line) - n - 2)) != -1) {
		n += (size_t)k;
		line[n++] = '\r';
		line[n++] = '\n';
		rc = smtp_secret(c, line, n);
	}
	explicit_bzero(line, sizeof(line));
	return rc;
}

/*
 * AUTH PLAIN with the initial response if the server offers it, else
 * AUTH LOGIN.  The reply code of the last step (235: logged in), or -1
 * when the connection failed; c->reply holds the server's reply.
 */
int
smtp_auth(struct smtp_conn *c, const char *login, const char *password)
{
	char	 plain[2 * 256 + 2];
	size_t	 ll = strlen(login), pl = strlen(password);
	int	 code = -1;

	if (c->tls == NULL || ll > 255 || pl > 255) {
		snprintf(c->reply, sizeof(c->reply), "no AUTH outside TLS");
		return -1;
	}
	if (c->auth_plain) {
		plain[0] = '\0';
		memcpy(plain + 1, login, ll);
		plain[1 + ll] = '\0';
		memcpy(plain + 2 + ll, password, pl);
		code = smtp_b64_cmd(c, "AUTH PLAIN ", plain, ll + pl + 2);
		explicit_bzero(plain, sizeof(plain));
		return code == -1 ? -1 : smtp_reply(c, 0);
	}
	if (smtp_cmd(c, "AUTH LOGIN") == -1 ||
	    (code = smtp_reply(c, 0)) != 334)
		return code;
	if (smtp_b64_cmd(c, "", login, ll) == -1 ||
	    (code = smtp_reply(c, 0)) != 334)
		return code;
	if (smtp_b64_cmd(c, "", password, pl) == -1)
		return -1;
	return smtp_reply(c, 0);
}
