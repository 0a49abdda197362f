/*
 * bdat.c: BDAT (RFC 3030 CHUNKING): the message in chunks of a size
 * said beforehand, with no dot-stuffing and no end marker.
 *
 * A chunk is always read whole, whatever the reply to its command, so
 * that what follows it is taken as the next command and not as part of
 * the message: that is what keeps a pipelined session in step.  Only a
 * size that does not parse leaves no way to tell where the chunk ends;
 * the session is then closed after the 501.
 *
 * We offer neither BINARYMIME nor binary data: a chunk is text cut
 * anywhere, and the lines it carries obey DATA's rules (data.c): each
 * ends in CRLF, has no bare CR, no NUL, and at most 998 octets; only
 * the last line of the message may lack its CRLF, and gets a line end
 * in the spool.  A line may straddle chunks.  A message that breaks a
 * rule is read to its LAST chunk and refused then (550 5.6.0), as DATA
 * refuses it at its end.  A message over maxsize is refused at the
 * chunk that takes it over (552 5.3.4), and so are the chunks after it
 * up to the LAST, which ends the transaction.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtpd.h"

struct bdat {
	struct data_result res;
	char		 from[DATA_FROM_MAX];
	char		 line[SMTP_TEXT_MAX + 1];	/* a line between chunks */
	size_t		 linelen;
	int		 toolong;	/* that line is over SMTP_TEXT_MAX */
	int		 toobig;	/* over maxsize: chunks dropped to LAST;
					   more than 1 once a 552 is given */
};

static int	bdat_parse(const char *, uint64_t *, int *);
static int	bdat_read(struct session *, uint64_t, struct bdat *);
static void	bdat_bytes(struct session *, struct bdat *, const char *,
		    size_t);
static void	bdat_lost(struct session *, int);
static int	bdat_open(struct session *);
static void	bdat_refuse(struct session *, uint64_t, int, const char *,
		    const char *);
static struct data_result *bdat_chunk(struct session *, uint64_t, int);

/* "size [LAST]": 0, or -1 on a syntax error. */
static int
bdat_parse(const char *arg, uint64_t *size, int *last)
{
	const char	*p;
	char		*end;
	unsigned long long n;

	for (p = arg; isdigit((unsigned char)*p); p++)
		;
	if (p == arg || p - arg > 20)
		return -1;
	errno = 0;
	n = strtoull(arg, &end, 10);
	if (errno != 0 || end != p)
		return -1;
	*size = n;
	*last = 0;
	if (*p == '\0')
		return 0;
	while (*p == ' ')
		p++;
	if (strcasecmp(p, "LAST") != 0)
		return -1;
	*last = 1;
	return 0;
}

/* The bytes of a chunk cut into lines for data_line. */
static void
bdat_bytes(struct session *s, struct bdat *b, const char *p, size_t len)
{
	const char	*lf;
	size_t		 take;

	while (len > 0) {
		lf = memchr(p, '\n', len);
		take = lf != NULL ? (size_t)(lf - p) + 1 : len;
		if (lf != NULL && b->linelen == 0 && !b->toolong &&
		    take <= SMTP_TEXT_MAX)
			data_line(&b->res, &s->msg, p, take, 0);
		else {
			if (!b->toolong && b->linelen + take <= SMTP_TEXT_MAX) {
				memcpy(b->line + b->linelen, p, take);
				b->linelen += take;
			} else
				b->toolong = 1;
			if (lf != NULL) {
				if (b->toolong)
					data_fail(&b->res, DATA_BADLINE,
					    "line longer than 998 octets");
				else
					data_line(&b->res, &s->msg, b->line,
					    b->linelen, 0);
				b->linelen = 0;
				b->toolong = 0;
			}
		}
		p += take;
		len -= take;
	}
}

/* size bytes of input, into the message if b, else dropped; IO_*. */
static int
bdat_read(struct session *s, uint64_t size, struct bdat *b)
{
	const char	*p;
	size_t		 got;
	int		 r;

	while (size > 0) {
		r = io_read(&s->io, size > SIZE_MAX ? SIZE_MAX : size, &p,
		    &got, env->conf.data_timeout * 1000);
		if (r != IO_OK)
			return r;
		size -= got;
		if (b != NULL)
			bdat_bytes(s, b, p, got);
	}
	return IO_OK;
}

/* A chunk cut short outside a message: as session_data_done does. */
static void
bdat_lost(struct session *s, int r)
{
	log_info("%s[%s]: %s during BDAT", s->name, s->addr,
	    r == IO_TIMEOUT ? "timeout" : "lost connection");
	if (r == IO_TIMEOUT)
		session_reply(s, 421, "4.4.2", "%s Error: timeout exceeded",
		    env->conf.hostname);
	else if (server_stopping())
		session_reply(s, 421, "4.3.2", "%s Service shutting down",
		    env->conf.hostname);
	s->quit = 1;
}

/*
 * The first chunk opens the message as DATA does.  0, or -1 after the
 * reply, the transaction over.
 */
static int
bdat_open(struct session *s)
{
	struct bdat	*b;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		log_warn("%s: BDAT", s->msg.id);
		session_reply(s, 452, "4.3.1", "Insufficient system storage");
		return -1;
	}
	if (session_data_begin(s) == -1) {
		free(b);
		return -1;
	}
	b->res.from = env->conf.sender_check == SENDER_CHECK_HEADER &&
	    s->login[0] != '\0' ? b->from : NULL;
	data_begin(&b->res);
	s->bdat = b;
	return 0;
}

/* A chunk refused before it is read: read, then the reply. */
static void
bdat_refuse(struct session *s, uint64_t size, int code, const char *esc,
    const char *text)
{
	int	 r;

	if ((r = bdat_read(s, size, NULL)) != IO_OK) {
		bdat_lost(s, r);
		return;
	}
	if (code != 0)
		session_reply(s, code, esc, "%s", text);
}

/* The chunk into the message; at LAST, the result, else NULL. */
static struct data_result *
bdat_chunk(struct session *s, uint64_t size, int last)
{
	struct bdat	*b = s->bdat;
	int		 r;

	if (!b->toobig && size > env->conf.maxsize - b->res.size)
		b->toobig = 1;
	if ((r = bdat_read(s, size, b->toobig ? NULL : b)) != IO_OK) {
		b->res.status = r == IO_TIMEOUT ? DATA_TIMEOUT : DATA_LOST;
		return &b->res;
	}
	if (!b->toobig)
		b->res.size += size;
	if (!last) {
		if (b->toobig) {
			session_reply(s, 552, "5.3.4", "Message size exceeds "
			    "fixed maximum message size");
			/* One error for the message, not one for each chunk. */
			if (b->toobig++ > 1)
				s->nerrors--;
		} else
			session_reply(s, 250, "2.0.0", "Ok: %llu octets",
			    (unsigned long long)size);
		return NULL;
	}
	if (b->toobig) {
		b->res.status = DATA_TOOBIG;
		if (b->toobig > 1)
			s->nerrors--;
	}
	else if (b->toolong)
		data_fail(&b->res, DATA_BADLINE, "line longer than 998 octets");
	else if (b->linelen > 0)
		data_line(&b->res, &s->msg, b->line, b->linelen, 0);
	return &b->res;
}

struct data_result *
bdat_command(struct session *s, char *arg)
{
	uint64_t	 size;
	int		 last;

	if (bdat_parse(arg, &size, &last) == -1) {
		session_reply(s, 501, "5.5.4", "Syntax: BDAT size [LAST]");
		log_info("%s[%s]: bad BDAT size, closing", s->name, s->addr);
		s->quit = 1;
		return NULL;
	}
	if (s->state != S_MAIL)
		bdat_refuse(s, size, 503, "5.5.1", "Error: need MAIL command");
	else if (s->nrcpts == 0)
		bdat_refuse(s, size, 554, "5.5.1", "Error: no valid recipients");
	else if (s->bdat == NULL && bdat_open(s) == -1)
		bdat_refuse(s, size, 0, NULL, NULL);
	else
		return bdat_chunk(s, size, last);
	return NULL;
}

void
bdat_reset(struct session *s)
{
	free(s->bdat);
	s->bdat = NULL;
}
