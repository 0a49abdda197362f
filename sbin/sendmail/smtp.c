/*
 * smtp.c: sendmail -bs, SMTP on standard input and output, for local
 * programs that speak SMTP to a sendmail process (RFC 5321, without
 * the network: no relay checks, as for sendmail's command line).
 * Messages go through message.c like every other; the reply to DATA
 * comes after the commit, as smtpd's does.
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "libmail.h"
#include "sendmail.h"

#define SMTP_LINE_MAX	512	/* RFC 5321 4.5.3.1.4, with CRLF */

struct smtp {
	struct sm_ctx	*ctx;
	struct sm_rcpts	 rcpts;
	char		 helo[ADDR_DOMAIN_MAX + 1];
	int		 mail;		/* MAIL given */
};

static void	 smtp_reply(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static int	 smtp_verb(const char *, const char *, const char **);
static const char *smtp_path(const char *, char *, size_t);
static void	 smtp_helo(struct smtp *, const char *, int);
static void	 smtp_mail(struct smtp *, const char *);
static void	 smtp_rcpt(struct smtp *, const char *);
static void	 smtp_data(struct smtp *);
static void	 smtp_reset(struct smtp *);

static void
smtp_reply(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs("\r\n", stdout);
	fflush(stdout);
}

/* 1 if line is the command verb (any case), with its argument in *arg. */
static int
smtp_verb(const char *line, const char *verb, const char **arg)
{
	size_t	 n = strlen(verb);

	if (strncasecmp(line, verb, n) != 0 ||
	    (line[n] != '\0' && line[n] != ' '))
		return 0;
	for (line += n; *line == ' '; line++)
		continue;
	*arg = line;
	return 1;
}

/*
 * The address of "<addr> params" after FROM: or TO:, into buf; NULL if
 * it is not in angle brackets.  *buf is "" for <>.
 */
static const char *
smtp_path(const char *s, char *buf, size_t len)
{
	const char	*end;

	while (*s == ' ')
		s++;
	if (*s != '<' || (end = strchr(s, '>')) == NULL ||
	    (size_t)(end - s) > len)
		return NULL;
	memcpy(buf, s + 1, end - s - 1);
	buf[end - s - 1] = '\0';
	return end + 1;
}

static void
smtp_reset(struct smtp *s)
{
	rcpts_clear(&s->rcpts);
	s->mail = 0;
}

/* The client's name goes into Received:, so only a name's characters. */
static void
smtp_helo(struct smtp *s, const char *arg, int ehlo)
{
	size_t	 i;

	if (arg[0] == '\0' || strlen(arg) >= sizeof(s->helo)) {
		smtp_reply("501 5.5.4 Syntax: %s hostname",
		    ehlo ? "EHLO" : "HELO");
		return;
	}
	for (i = 0; arg[i] != '\0'; i++)
		if (!isalnum((unsigned char)arg[i]) &&
		    strchr(".-_[]:", arg[i]) == NULL) {
			smtp_reply("501 5.5.4 Bad hostname");
			return;
		}
	strlcpy(s->helo, arg, sizeof(s->helo));
	smtp_reset(s);
	if (!ehlo) {
		smtp_reply("250 %s", s->ctx->conf->hostname);
		return;
	}
	smtp_reply("250-%s", s->ctx->conf->hostname);
	smtp_reply("250-8BITMIME");
	smtp_reply("250-SIZE %llu",
	    (unsigned long long)s->ctx->conf->maxsize);
	smtp_reply("250 ENHANCEDSTATUSCODES");
}

static void
smtp_mail(struct smtp *s, const char *arg)
{
	char		 addr[ADDR_MAX + 3];
	const char	*params, *errstr, *p;
	unsigned long long size;

	if (s->helo[0] == '\0') {
		smtp_reply("503 5.5.1 Send HELO or EHLO first");
		return;
	}
	if (s->mail) {
		smtp_reply("503 5.5.1 Sender already given");
		return;
	}
	if (strncasecmp(arg, "FROM:", 5) != 0 ||
	    (params = smtp_path(arg + 5, addr, sizeof(addr))) == NULL) {
		smtp_reply("501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	if ((p = strcasestr(params, "SIZE=")) != NULL) {
		size = strtoull(p + 5, NULL, 10);
		if (size > s->ctx->conf->maxsize) {
			smtp_reply("552 5.3.4 Message too big");
			return;
		}
	}
	if (addr[0] == '\0')
		s->ctx->sender[0] = '\0';
	else if (message_qualify(s->ctx, addr, s->ctx->sender,
	    sizeof(s->ctx->sender), &errstr) == -1) {
		smtp_reply("553 5.1.7 %s", errstr);
		return;
	}
	s->mail = 1;
	smtp_reply("250 2.1.0 Ok");
}

static void
smtp_rcpt(struct smtp *s, const char *arg)
{
	char		 addr[ADDR_MAX + 3], q[ADDR_MAX + 1];
	const char	*errstr;

	if (!s->mail) {
		smtp_reply("503 5.5.1 Send MAIL first");
		return;
	}
	if (strncasecmp(arg, "TO:", 3) != 0 ||
	    smtp_path(arg + 3, addr, sizeof(addr)) == NULL) {
		smtp_reply("501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if (message_qualify(s->ctx, addr, q, sizeof(q), &errstr) == -1) {
		smtp_reply("553 5.1.3 %s", errstr);
		return;
	}
	if (s->rcpts.n >= s->ctx->conf->maxrcpt) {
		smtp_reply("452 4.5.3 Too many recipients");
		return;
	}
	if (rcpts_add(&s->rcpts, q) == -1) {
		smtp_reply("451 4.3.0 Out of memory");
		return;
	}
	smtp_reply("250 2.1.5 Ok");
}

static void
smtp_data(struct smtp *s)
{
	struct sm_input	 in;
	char		 id[SPOOL_IDLEN + 1], err[512];
	int		 r;

	if (s->rcpts.n == 0) {
		smtp_reply("503 5.5.1 Send RCPT first");
		return;
	}
	smtp_reply("354 End data with <CR><LF>.<CR><LF>");
	memset(&in, 0, sizeof(in));
	in.fp = stdin;
	in.mode = IN_SMTP;
	s->ctx->helo = s->helo;
	r = message_queue(s->ctx, &in, 0, &s->rcpts, id, err, sizeof(err));
	free(in.line);
	switch (r) {
	case SM_OK:
		log_info("%s: from=<%s> uid=%u nrcpt=%zu: queued by "
		    "sendmail -bs", id, s->ctx->sender, (unsigned)s->ctx->uid,
		    s->rcpts.n);
		smtp_reply("250 2.0.0 Ok: queued as %s", id);
		break;
	case SM_TEMPFAIL:
		log_warnx("uid %u: message not queued: %s",
		    (unsigned)s->ctx->uid, err);
		smtp_reply("451 4.3.0 Message not queued");
		break;
	default:
		if (strstr(err, "maxsize") != NULL)
			smtp_reply("552 5.3.4 Message too big");
		else
			smtp_reply("554 5.6.0 %s", err);
	}
	smtp_reset(s);
}

/* Serves one session; the exit status of sendmail -bs. */
int
smtp_session(struct sm_ctx *ctx)
{
	struct smtp	 s;
	char		*line = NULL;
	const char	*arg;
	size_t		 cap = 0;
	ssize_t		 n;

	memset(&s, 0, sizeof(s));
	s.ctx = ctx;
	smtp_reply("220 %s ESMTP basemail sendmail", ctx->conf->hostname);
	while ((n = getline(&line, &cap, stdin)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if ((size_t)n > SMTP_LINE_MAX - 2 ||
		    strlen(line) != (size_t)n)
			smtp_reply("500 5.5.2 Line too long or not text");
		else if (smtp_verb(line, "EHLO", &arg))
			smtp_helo(&s, arg, 1);
		else if (smtp_verb(line, "HELO", &arg))
			smtp_helo(&s, arg, 0);
		else if (smtp_verb(line, "MAIL", &arg))
			smtp_mail(&s, arg);
		else if (smtp_verb(line, "RCPT", &arg))
			smtp_rcpt(&s, arg);
		else if (smtp_verb(line, "DATA", &arg))
			smtp_data(&s);
		else if (smtp_verb(line, "RSET", &arg)) {
			smtp_reset(&s);
			smtp_reply("250 2.0.0 Ok");
		} else if (smtp_verb(line, "NOOP", &arg))
			smtp_reply("250 2.0.0 Ok");
		else if (smtp_verb(line, "VRFY", &arg))
			smtp_reply("252 2.5.2 Send some mail, I'll try my best");
		else if (smtp_verb(line, "QUIT", &arg)) {
			smtp_reply("221 2.0.0 Bye");
			break;
		} else
			smtp_reply("500 5.5.2 Command not recognized");
	}
	smtp_reset(&s);
	free(line);
	return EX_OK;
}
