/*
 * milter_eom.c: the message, once received, to each filter in turn
 * (its header fields, EOH, the body in chunks, EOM), and what the
 * filters change in it, into the spool file before the commit.
 *
 * The header section is read from the spool file into memory; each
 * filter sees it as the filters before it left it, so that the index
 * of a SMFIR_CHGHEADER or SMFIR_INSHEADER counts the fields the
 * filter was shown (our Received: among them).  A replaced body
 * (SMFIR_REPLBODY) is kept in memory, at most maxsize, and is what
 * the next filter gets.  When anything changed, the file in SPOOL/tmp
 * is written anew (spool_rewrite_*) with the envelope's sender and
 * recipients as the filters left them: the client has had no reply
 * yet, so nothing a filter adds can be missing from what is committed
 * and acknowledged.
 *
 * The spool holds LF line ends and no CR; the filters get and give
 * CRLF.  A field a filter adds is checked as if a client had sent it:
 * a name of printable characters without ':', each folded line
 * beginning with a blank, no CR or NUL of its own, none over 998
 * octets.  A field that fails is left out and logged; the message
 * goes on.
 */
#include <sys/types.h>

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtpd.h"
#include "milter.h"

/* Our own limit on what a filter may add to a message. */
#define EOM_HEADERS_MAX	10000
#define EOM_RCPTS_EXTRA	100	/* SMFIR_ADDRCPT beyond maxrcpt */

/* A header field: its name as written, and all after the colon. */
struct eom_hdr {
	char		*name;
	char		*raw;		/* folded lines joined by LF */
};

struct eom {
	struct session	*s;
	FILE		*fp;		/* the spool file, read */
	off_t		 bodyoff;	/* the body in fp */
	int		 blank;		/* an empty line ended the header */
	struct eom_hdr	*h;
	size_t		 nh;
	char		*body;		/* a replaced body, LF line ends */
	size_t		 bodylen;
	size_t		 bodypos;	/* read so far, by eom_body_read */
	int		 replaced;
	struct mbuf	 newbody;	/* SMFIR_REPLBODY of the filter at hand */
	int		 changed;
};

static int	eom_name_valid(const char *, size_t);
static int	eom_hdr_add(struct eom *, size_t, const char *, size_t,
		    const char *, size_t);
static int	eom_load(struct eom *);
static void	eom_free(struct eom *);
static int	eom_headers(struct eom *, struct milter *);
static size_t	eom_body_read(struct eom *, char *, size_t);
static int	eom_body(struct eom *, struct milter *);
static int	eom_strings(const char *, size_t, size_t, const char **);
static char	*eom_value(const struct milter *, const char *);
static int	eom_header_edit(struct eom *, const struct milter *, int,
		    const char *, size_t);
static int	eom_rcpt_parse(const char *, char *, size_t);
static int	eom_rcpt_edit(struct eom *, int, const char *);
static int	eom_edit(void *, const struct milter *, int, const char *,
		    size_t);
static int	eom_newbody(struct eom *, struct milter *);
static int	eom_one(struct eom *, struct milter *);
static int	eom_copy(FILE *, off_t, FILE *);
static int	eom_rewrite(struct eom *);
static int	eom_local_error(struct session *, const char *);

/* ---- the message as received ----------------------------------------- */

/* RFC 5322 2.2 field name, blanks before the colon allowed (4.5.1). */
static int
eom_name_valid(const char *name, size_t len)
{
	size_t	 i, end = len;

	while (end > 0 && (name[end - 1] == ' ' || name[end - 1] == '\t'))
		end--;
	if (end == 0 || len > SMTP_TEXT_MAX)
		return 0;
	for (i = 0; i < end; i++)
		if (name[i] < 33 || name[i] > 126 || name[i] == ':')
			return 0;
	return 1;
}

/* Inserts a field at index at (nh: the end); 0 or -1 on memory. */
static int
eom_hdr_add(struct eom *e, size_t at, const char *name, size_t namelen,
    const char *raw, size_t rawlen)
{
	struct eom_hdr	*h;

	if (e->nh >= EOM_HEADERS_MAX) {
		errno = E2BIG;
		return -1;
	}
	if ((h = reallocarray(e->h, e->nh + 1, sizeof(*h))) == NULL)
		return -1;
	e->h = h;
	if (at > e->nh)
		at = e->nh;
	memmove(&h[at + 1], &h[at], (e->nh - at) * sizeof(*h));
	h[at].name = strndup(name, namelen);
	h[at].raw = strndup(raw, rawlen);
	e->nh++;
	if (h[at].name == NULL || h[at].raw == NULL)
		return -1;
	return 0;
}

/*
 * The header section of the spool file, to the empty line or to the
 * first line that is not a field (which then begins the body).
 */
static int
eom_load(struct eom *e)
{
	char		*line = NULL, *colon, *raw;
	size_t		 size = 0;
	ssize_t		 len;
	off_t		 pos;
	int		 r = 0;

	for (;;) {
		if ((pos = ftello(e->fp)) == -1) {
			r = -1;
			break;
		}
		e->bodyoff = pos;
		if ((len = getline(&line, &size, e->fp)) == -1) {
			r = ferror(e->fp) ? -1 : 0;
			break;
		}
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0) {
			e->blank = 1;
			e->bodyoff = ftello(e->fp);
			break;
		}
		if ((line[0] == ' ' || line[0] == '\t') && e->nh > 0) {
			raw = e->h[e->nh - 1].raw;
			if (asprintf(&e->h[e->nh - 1].raw, "%s\n%s", raw,
			    line) == -1) {
				e->h[e->nh - 1].raw = raw;
				r = -1;
				break;
			}
			free(raw);
			continue;
		}
		if ((colon = strchr(line, ':')) == NULL ||
		    !eom_name_valid(line, (size_t)(colon - line)))
			break;
		if (eom_hdr_add(e, e->nh, line, (size_t)(colon - line),
		    colon + 1, strlen(colon + 1)) == -1) {
			r = -1;
			break;
		}
	}
	free(line);
	return r == -1 || e->bodyoff == -1 ? -1 : 0;
}

static void
eom_free(struct eom *e)
{
	size_t	 i;

	for (i = 0; i < e->nh; i++) {
		free(e->h[i].name);
		free(e->h[i].raw);
	}
	free(e->h);
	free(e->body);
	free(e->newbody.p);
	if (e->fp != NULL)
		fclose(e->fp);
}

/* ---- to one filter ------------------------------------------------------ */

static int
eom_headers(struct eom *e, struct milter *m)
{
	struct mbuf	*b = &e->s->milters->buf;
	const char	*value;
	size_t		 i;
	int		 v;

	for (i = 0; i < e->nh; i++) {
		value = e->h[i].raw;
		if (!(m->proto & SMFIP_HDR_LEADSPC))
			value += strspn(value, " \t");
		mbuf_reset(b);
		mbuf_str(b, e->h[i].name);
		mbuf_str(b, value);
		if ((v = milter_ask(e->s, m, SMFIC_HEADER, b, NULL,
		    NULL)) != MV_CONTINUE)
			return v;
	}
	mbuf_reset(b);
	return milter_ask(e->s, m, SMFIC_EOH, b, NULL, NULL);
}

/* Up to max octets of the body, from the spool file or the new body. */
static size_t
eom_body_read(struct eom *e, char *buf, size_t max)
{
	size_t	 n;

	if (!e->replaced)
		return fread(buf, 1, max, e->fp);
	n = e->bodylen - e->bodypos < max ? e->bodylen - e->bodypos : max;
	memcpy(buf, e->body + e->bodypos, n);
	e->bodypos += n;
	return n;
}

/*
 * The body in chunks of CRLF lines: half a chunk of LF lines read
 * fits one chunk once each LF is a CRLF.
 */
static int
eom_body(struct eom *e, struct milter *m)
{
	struct mbuf	*b = &e->s->milters->buf;
	char		 in[MILTER_CHUNK / 2];
	size_t		 n, i, start;
	int		 v = MV_CONTINUE;

	e->bodypos = 0;
	if (!e->replaced && fseeko(e->fp, e->bodyoff, SEEK_SET) == -1)
		v = MV_ERROR;
	while (v == MV_CONTINUE && (n = eom_body_read(e, in,
	    sizeof(in))) > 0) {
		mbuf_reset(b);
		for (start = i = 0; i < n; i++) {
			if (in[i] != '\n')
				continue;
			mbuf_add(b, in + start, i - start);
			mbuf_add(b, "\r\n", 2);
			start = i + 1;
		}
		mbuf_add(b, in + start, n - start);
		v = milter_ask(e->s, m, SMFIC_BODY, b, NULL, NULL);
	}
	if (!e->replaced && ferror(e->fp))
		v = MV_ERROR;
	return v == MV_SKIP ? MV_CONTINUE : v;
}

/* ---- the filters' edits ------------------------------------------------ */

/* n NUL-terminated strings at the start of data; 0 or -1. */
static int
eom_strings(const char *data, size_t len, size_t n, const char **out)
{
	const char	*p = data, *end = data + len, *nul;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (p >= end || (nul = memchr(p, '\0', end - p)) == NULL)
			return -1;
		out[i] = p;
		p = nul + 1;
	}
	return 0;
}

/*
 * A filter's field value as it goes after the colon in the spool:
 * CRLF or LF folds become LF, each followed by a blank; NULL if it
 * breaks the header's syntax or on memory.
 */
static char *
eom_value(const struct milter *m, const char *v)
{
	char	*raw, *p;
	size_t	 linelen = 0;

	if ((raw = malloc(strlen(v) + 2)) == NULL)
		return NULL;
	p = raw;
	if (!(m->proto & SMFIP_HDR_LEADSPC))
		*p++ = ' ';
	for (; *v != '\0'; v++) {
		if (*v == '\r' && v[1] == '\n')
			continue;
		if (*v == '\r' || (*v == '\n' && v[1] != ' ' &&
		    v[1] != '\t') || ++linelen > SMTP_TEXT_MAX - 80) {
			free(raw);
			return NULL;
		}
		if (*v == '\n')
			linelen = 0;
		*p++ = *v;
	}
	*p = '\0';
	return raw;
}

static int
eom_header_edit(struct eom *e, const struct milter *m, int cmd,
    const char *data, size_t len)
{
	const char	*str[2];
	char		*raw;
	uint32_t	 index = 0;
	size_t		 i, n = 0;
	int		 r;

	if (cmd != SMFIR_ADDHEADER) {
		if (len < 4)
			return -1;
		memcpy(&index, data, 4);
		index = ntohl(index);
		data += 4;
		len -= 4;
	}
	if (eom_strings(data, len, 2, str) == -1)
		return -1;
	if (!eom_name_valid(str[0], strlen(str[0])) ||
	    strpbrk(str[0], " \t") != NULL ||
	    (raw = eom_value(m, str[1])) == NULL) {
		log_warnx("%s: milter %s: header field \"%.64s\" refused: "
		    "bad syntax", e->s->msg.id, m->conf->name, str[0]);
		return 0;
	}
	e->changed = 1;
	if (cmd == SMFIR_CHGHEADER) {
		/* The index-th field of that name, from 1. */
		for (i = 0; i < e->nh; i++)
			if (strcasecmp(e->h[i].name, str[0]) == 0 &&
			    ++n == index)
				break;
		if (i < e->nh && str[1][0] == '\0') {
			free(e->h[i].name);
			free(e->h[i].raw);
			memmove(&e->h[i], &e->h[i + 1],
			    (e->nh - i - 1) * sizeof(*e->h));
			e->nh--;
		} else if (i < e->nh) {
			free(e->h[i].raw);
			e->h[i].raw = raw;
			return 0;
		}
		if (i < e->nh || str[1][0] == '\0') {
			free(raw);
			return 0;
		}
		index = (uint32_t)e->nh;
	} else if (cmd == SMFIR_ADDHEADER)
		index = (uint32_t)e->nh;
	r = eom_hdr_add(e, index, str[0], strlen(str[0]), raw, strlen(raw));
	free(raw);
	return r;
}

/* "<a@b>" or "a@b" into out as local@domain; "" for "<>"; 0 or -1. */
static int
eom_rcpt_parse(const char *in, char *out, size_t outlen)
{
	struct mailaddr	 ma;
	char		 buf[SMTPD_ADDRLEN + 2];
	const char	*errstr;
	size_t		 len = strlen(in);

	if (len >= sizeof(buf))
		return -1;
	if (len >= 2 && in[0] == '<' && in[len - 1] == '>') {
		memcpy(buf, in + 1, len - 2);
		buf[len - 2] = '\0';
	} else
		strlcpy(buf, in, sizeof(buf));
	if (buf[0] == '\0') {
		out[0] = '\0';
		return 0;
	}
	if (addr_parse(buf, &ma, &errstr) == -1)
		return -1;
	(void)snprintf(out, outlen, "%s@%s", ma.local, ma.domain);
	return 0;
}

/* SMFIR_ADDRCPT, SMFIR_DELRCPT, SMFIR_CHGFROM. */
static int
eom_rcpt_edit(struct eom *e, int cmd, const char *arg)
{
	struct session	*s = e->s;
	char		 addr[SMTPD_ADDRLEN], **r;
	size_t		 i;

	if (eom_rcpt_parse(arg, addr, sizeof(addr)) == -1 ||
	    (addr[0] == '\0' && cmd != SMFIR_CHGFROM))
		return -1;
	e->changed = 1;
	if (cmd == SMFIR_CHGFROM) {
		log_info("%s: milter: from=<%s> now <%s>", s->msg.id,
		    s->sender, addr);
		strlcpy(s->sender, addr, sizeof(s->sender));
		return 0;
	}
	if (cmd == SMFIR_DELRCPT) {
		for (i = 0; i < s->nrcpts; i++) {
			if (strcasecmp(s->rcpts[i], addr) != 0)
				continue;
			log_info("%s: milter: to=<%s> removed", s->msg.id,
			    addr);
			free(s->rcpts[i]);
			free(s->orcpt[i]);
			s->nrcpts--;
			s->rcpts[i] = s->rcpts[s->nrcpts];
			s->notify[i] = s->notify[s->nrcpts];
			s->orcpt[i--] = s->orcpt[s->nrcpts];
		}
		return 0;
	}
	if (s->nrcpts >= env->conf.maxrcpt + EOM_RCPTS_EXTRA)
		return -1;
	if (session_rcpt_grow(s) == -1)
		return -1;
	r = s->rcpts;
	if ((r[s->nrcpts] = strdup(addr)) == NULL)
		return -1;
	/* A recipient of the filter's own has no DSN parameters. */
	s->notify[s->nrcpts] = 0;
	s->orcpt[s->nrcpts] = NULL;
	s->nrcpts++;
	log_info("%s: milter: to=<%s> added", s->msg.id, addr);
	return 0;
}

/* The milter_edit_fn: each edit the filter m is allowed. */
static int
eom_edit(void *arg, const struct milter *m, int cmd, const char *data,
    size_t len)
{
	struct eom	*e = arg;
	const char	*str[1];

	switch (cmd) {
	case SMFIR_ADDHEADER:
	case SMFIR_INSHEADER:
		if (!(m->actions & SMFIF_ADDHDRS))
			return -1;
		return eom_header_edit(e, m, cmd, data, len);
	case SMFIR_CHGHEADER:
		if (!(m->actions & SMFIF_CHGHDRS))
			return -1;
		return eom_header_edit(e, m, cmd, data, len);
	case SMFIR_REPLBODY:
		if (e->newbody.p == NULL)
			mbuf_reset(&e->newbody);
		if (!(m->actions & SMFIF_CHGBODY) ||
		    e->newbody.len + len > env->conf.maxsize)
			return -1;
		mbuf_add(&e->newbody, data, len);
		return e->newbody.error ? -1 : 0;
	}
	if (eom_strings(data, len, 1, str) == -1)
		return -1;
	switch (cmd) {
	case SMFIR_ADDRCPT:
		return m->actions & SMFIF_ADDRCPT ?
		    eom_rcpt_edit(e, cmd, str[0]) : -1;
	case SMFIR_DELRCPT:
		return m->actions & SMFIF_DELRCPT ?
		    eom_rcpt_edit(e, cmd, str[0]) : -1;
	case SMFIR_CHGFROM:
		return m->actions & SMFIF_CHGFROM ?
		    eom_rcpt_edit(e, cmd, str[0]) : -1;
	case SMFIR_QUARANTINE:
		if (!(m->actions & SMFIF_QUARANTINE))
			return -1;
		log_info("%s: milter %s: quarantine: %.200s", e->s->msg.id,
		    m->conf->name, str[0]);
		e->s->msg.hold = 1;
		return 0;
	}
	return -1;
}

/*
 * The body the filter sent, CRLF lines, as the new body with LF
 * lines; one with a bare CR, a NUL or a line over 998 octets is out
 * of protocol.
 */
static int
eom_newbody(struct eom *e, struct milter *m)
{
	const char	*in = e->newbody.p + 5;
	size_t		 n = e->newbody.len - 5, i, line = 0;
	char		*out;

	if ((out = malloc(n + 1)) == NULL)
		return -1;
	free(e->body);
	e->body = out;
	e->bodylen = 0;
	for (i = 0; i < n; i++) {
		if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
			continue;
		if (in[i] == '\r' || in[i] == '\0' ||
		    (in[i] != '\n' && ++line > SMTP_TEXT_MAX - 2))
			return -1;
		if (in[i] == '\n')
			line = 0;
		out[e->bodylen++] = in[i];
	}
	if (e->bodylen > 0 && out[e->bodylen - 1] != '\n')
		out[e->bodylen++] = '\n';
	free(e->newbody.p);
	memset(&e->newbody, 0, sizeof(e->newbody));
	e->replaced = e->changed = 1;
	log_info("%s: milter %s: body replaced", e->s->msg.id, m->conf->name);
	return 0;
}

/* The whole message to one filter: MV_*. */
static int
eom_one(struct eom *e, struct milter *m)
{
	struct mbuf	*b = &e->s->milters->buf;
	int		 v;

	if ((v = eom_headers(e, m)) != MV_CONTINUE ||
	    (v = eom_body(e, m)) != MV_CONTINUE)
		return v;
	mbuf_reset(b);
	v = milter_ask(e->s, m, SMFIC_BODYEOB, b, eom_edit, e);
	if (e->newbody.p != NULL && eom_newbody(e, m) == -1) {
		errno = 0;
		log_warnx("%s: milter %s: replaced body refused: bad line "
		    "ends, NUL or a line too long", e->s->msg.id,
		    m->conf->name);
		return MV_ERROR;
	}
	return v;
}

/* ---- the spool file written anew ----------------------------------- */

static int
eom_copy(FILE *from, off_t off, FILE *to)
{
	char	 buf[65536];
	size_t	 n;

	if (fseeko(from, off, SEEK_SET) == -1)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), from)) > 0)
		if (fwrite(buf, 1, n, to) != n)
			return -1;
	return ferror(from) ? -1 : 0;
}

/*
 * The envelope copied with the sender and recipients of now (their
 * records are checked at MAIL, RCPT and in eom_rcpt_parse: no CR or
 * LF), the header fields, the body.
 */
static int
eom_rewrite(struct eom *e)
{
	struct session	*s = e->s;
	struct spool_msg tmp;
	char		*line = NULL, notify[64];
	size_t		 size = 0, i;
	ssize_t		 len;
	int		 r = -1;

	if (spool_rewrite_begin(&s->msg, &tmp) == -1)
		return -1;
	if (fseeko(e->fp, 0, SEEK_SET) == -1)
		goto done;
	while ((len = getline(&line, &size, e->fp)) > 1) {
		/* R and its N and O records are written anew below. */
		if (line[0] == 'S' && line[1] == ' ')
			fprintf(tmp.fp, "S %s\n", s->sender);
		else if (strchr("RNO", line[0]) == NULL || line[1] != ' ')
			fputs(line, tmp.fp);
	}
	if (len != 1)
		goto done;
	for (i = 0; i < s->nrcpts; i++) {
		fprintf(tmp.fp, "R %s\n", s->rcpts[i]);
		dsn_notify_format(s->notify[i], notify, sizeof(notify));
		if (notify[0] != '\0')
			fprintf(tmp.fp, "N %s\n", notify);
		if (s->orcpt[i] != NULL)
			fprintf(tmp.fp, "O %s\n", s->orcpt[i]);
	}
	fputc('\n', tmp.fp);
	if ((tmp.body = ftello(tmp.fp)) == -1)
		goto done;
	for (i = 0; i < e->nh; i++)
		fprintf(tmp.fp, "%s:%s\n", e->h[i].name, e->h[i].raw);
	if (e->blank || e->replaced)
		fputc('\n', tmp.fp);
	if (e->replaced)
		(void)fwrite(e->body, 1, e->bodylen, tmp.fp);
	else if (eom_copy(e->fp, e->bodyoff, tmp.fp) == -1)
		goto done;
	if (!ferror(tmp.fp))
		r = spool_rewrite_end(&s->msg, &tmp);
done:
	if (r == -1)
		spool_rewrite_abort(&tmp);
	free(line);
	return r;
}

static int
eom_local_error(struct session *s, const char *what)
{
	log_warn("%s: milter: %s", s->msg.id, what);
	strlcpy(s->milters->reply, "451 4.3.0 Local error in processing",
	    sizeof(s->milters->reply));
	return MV_TEMPFAIL;
}

int
milter_eom_run(struct session *s)
{
	struct milter_set	*set = s->milters;
	struct eom		 e;
	size_t			 i;
	int			 v = MV_CONTINUE;

	memset(&e, 0, sizeof(e));
	e.s = s;
	if ((e.fp = spool_reopen(&s->msg)) == NULL || eom_load(&e) == -1) {
		eom_free(&e);
		return eom_local_error(s, "spool read");
	}
	for (i = 0; i < set->n && v == MV_CONTINUE; i++) {
		if (set->m[i].state == MILTER_DOWN &&
		    env->conf.milter_default == CONF_MILTER_TEMPFAIL) {
			set->reply[0] = '\0';
			v = MV_TEMPFAIL;
		} else if (set->m[i].state == MILTER_ON)
			v = milter_verdict(s, &set->m[i],
			    eom_one(&e, &set->m[i]), 0);
	}
	if (v == MV_CONTINUE && s->nrcpts == 0)
		v = MV_DISCARD;
	if (v == MV_CONTINUE && e.changed && eom_rewrite(&e) == -1)
		v = eom_local_error(s, "spool rewrite");
	eom_free(&e);
	return v;
}
