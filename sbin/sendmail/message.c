/*
 * message.c: one message from its input into the spool.  The header
 * is read whole first (sendmail -t takes its recipients from it, and
 * the envelope comes first in a queue file); the missing Date:,
 * Message-ID: and From: are added, Bcc: is removed, and the body is
 * copied line by line.  The queue file is written and committed with
 * spool.c, exactly as smtpd does.
 */
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "libmail.h"
#include "sendmail.h"

/* One header field as read: its lines joined by "\n", no final one. */
struct hdr {
	char	*text;
	size_t	 len;
};

struct hdrs {
	struct hdr	*v;
	size_t		 n;
	size_t		 cap;
	uint64_t	 bytes;		/* as written to the queue file */
	int		 bodyline;	/* the input's line is the body's first */
};

struct rcpt_arg {
	const struct sm_ctx	*ctx;
	struct sm_rcpts		*rcpts;
	char			*err;
	size_t			 errlen;
};

static int	 hdr_is_field(const char *);
static int	 hdr_named(const struct hdr *, const char *);
static int	 hdrs_add(struct hdrs *, const char *, size_t);
static int	 hdrs_append(struct hdrs *, const char *, size_t);
static void	 hdrs_free(struct hdrs *);
static int	 hdrs_read(struct sm_input *, struct hdrs *, uint64_t);
static int	 hdrs_rcpts(const struct sm_ctx *, const struct hdrs *,
		    struct sm_rcpts *, char *, size_t);
static int	 rcpt_cb(const char *, void *);
static void	 date_rfc5322(time_t, char *, size_t);
static int	 write_head(const struct sm_ctx *, struct spool_msg *,
		    const struct hdrs *, time_t);
static int	 write_body(struct sm_input *, struct hdrs *, FILE *,
		    uint64_t);
static int	 input_put(struct sm_input *, size_t, int);
static void	 drain(struct sm_input *);
static void	 msg_signal(int);
static void	 msg_signals(void (*)(int));
static void	 signals_drop_pending(void);
static void	 input_error(int, char *, size_t);

/* Appends c to the line; -1 (EFBIG) past in->max. */
static int
input_put(struct sm_input *in, size_t n, int c)
{
	char	*l;
	size_t	 cap;

	if (n + 1 >= in->cap) {
		if (in->max > 0 && in->cap > in->max) {
			errno = EFBIG;
			return -1;
		}
		cap = in->cap == 0 ? 1024 : in->cap * 2;
		if ((l = realloc(in->line, cap)) == NULL)
			return -1;
		in->line = l;
		in->cap = cap;
	}
	in->line[n] = c;
	return 0;
}

/*
 * Reads the next line of the message into in->line, without its line
 * end.  1: a line; 0: the message ended; -1: an error (EINVAL for a
 * NUL byte, which no message may carry; EFBIG for a line longer than
 * the largest message).  After an error, the next call goes on where
 * this one stopped, so that drain() finds the end of the message.
 * Every CR is dropped: the queue file has LF line ends and no CR.
 */
int
input_line(struct sm_input *in)
{
	size_t	 n = 0;
	int	 c;

	if (in->eof)
		return 0;
	while ((c = getc(in->fp)) != '\n') {
		if (c == EOF) {
			in->eof = 1;
			if (ferror(in->fp))
				return -1;
			if (n == 0)
				return 0;
			break;
		}
		if (c == '\0') {
			errno = EINVAL;
			return -1;
		}
		if (c != '\r' && input_put(in, n++, c) == -1)
			return -1;
	}
	if (input_put(in, n, '\0') == -1)
		return -1;
	in->len = n;
	if (in->mode == IN_PLAIN_NODOT)
		return 1;
	if (strcmp(in->line, ".") == 0) {
		in->eof = 1;
		return 0;
	}
	if (in->mode == IN_SMTP && in->line[0] == '.') {
		memmove(in->line, in->line + 1, in->len);
		in->len--;
	}
	return 1;
}

/* Reads to the end of the message, past any error. */
static void
drain(struct sm_input *in)
{
	while (input_line(in) != 0)
		continue;
}

/* A field name is printable ASCII but ':', then ':' (RFC 5322 2.2). */
static int
hdr_is_field(const char *s)
{
	const char	*p;

	for (p = s; *p > ' ' && *p < 127 && *p != ':'; p++)
		continue;
	return p > s && *p == ':';
}

static int
hdr_named(const struct hdr *h, const char *name)
{
	size_t	 n = strlen(name);

	return strncasecmp(h->text, name, n) == 0 && h->text[n] == ':';
}

static int
hdrs_add(struct hdrs *h, const char *line, size_t len)
{
	struct hdr	*v;

	if (h->n == h->cap) {
		v = reallocarray(h->v, h->cap + 16, sizeof(*v));
		if (v == NULL)
			return -1;
		h->v = v;
		h->cap += 16;
	}
	if ((h->v[h->n].text = strndup(line, len)) == NULL)
		return -1;
	h->v[h->n++].len = len;
	return 0;
}

/* A continuation line of the last field. */
static int
hdrs_append(struct hdrs *h, const char *line, size_t len)
{
	struct hdr	*last = &h->v[h->n - 1];
	char		*t;

	if ((t = realloc(last->text, last->len + len + 2)) == NULL)
		return -1;
	t[last->len] = '\n';
	memcpy(t + last->len + 1, line, len + 1);
	last->text = t;
	last->len += len + 1;
	return 0;
}

static void
hdrs_free(struct hdrs *h)
{
	size_t	 i;

	for (i = 0; i < h->n; i++)
		free(h->v[i].text);
	free(h->v);
}

/*
 * Reads the header up to the empty line.  A line that is neither a
 * field nor a continuation starts the body (sendmail's habit: the
 * empty line is then added).  An mbox "From " line first is dropped.
 * 1: the header is read; -1 on an error; -2 if it exceeds max.
 */
static int
hdrs_read(struct sm_input *in, struct hdrs *h, uint64_t max)
{
	int	 r, first = 1;

	while ((r = input_line(in)) == 1) {
		if (first && strncmp(in->line, "From ", 5) == 0) {
			first = 0;
			continue;
		}
		first = 0;
		if (in->len == 0)
			return 1;
		if ((in->line[0] == ' ' || in->line[0] == '\t') && h->n > 0)
			r = hdrs_append(h, in->line, in->len);
		else if (hdr_is_field(in->line))
			r = hdrs_add(h, in->line, in->len);
		else {
			h->bodyline = 1;
			return 1;
		}
		if (r == -1)
			return -1;
		if ((h->bytes += in->len + 1) > max)
			return -2;
	}
	return r == 0 ? 1 : -1;
}

/* "local@domain" of an address, with @hostname when unqualified. */
int
message_qualify(const struct sm_ctx *ctx, const char *in, char *out,
    size_t outlen, const char **errstr)
{
	struct mailaddr	 ma;
	char		 buf[ADDR_MAX + 2];
	int		 n;

	if (strchr(in, '@') == NULL) {
		n = snprintf(buf, sizeof(buf), "%s@%s", in,
		    ctx->conf->hostname);
		if (n < 0 || (size_t)n >= sizeof(buf)) {
			*errstr = "address too long";
			return -1;
		}
		in = buf;
	}
	if (addr_parse(in, &ma, errstr) == -1)
		return -1;
	n = snprintf(out, outlen, "%s@%s", ma.local, ma.domain);
	if (n < 0 || (size_t)n >= outlen) {
		*errstr = "address too long";
		return -1;
	}
	return 0;
}

int
rcpts_add(struct sm_rcpts *r, const char *addr)
{
	char	**v;
	size_t	  i;

	for (i = 0; i < r->n; i++)
		if (strcasecmp(r->v[i], addr) == 0)
			return 0;
	if (r->n == r->cap) {
		if ((v = reallocarray(r->v, r->cap + 16, sizeof(*v))) == NULL)
			return -1;
		r->v = v;
		r->cap += 16;
	}
	if ((r->v[r->n] = strdup(addr)) == NULL)
		return -1;
	r->n++;
	return 0;
}

void
rcpts_clear(struct sm_rcpts *r)
{
	size_t	 i;

	for (i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}

static int
rcpt_cb(const char *addr, void *arg)
{
	struct rcpt_arg	*ra = arg;
	char		 q[ADDR_MAX + 1];
	const char	*errstr;

	if (message_qualify(ra->ctx, addr, q, sizeof(q), &errstr) == -1) {
		snprintf(ra->err, ra->errlen, "%s: %s", addr, errstr);
		return 1;
	}
	if (rcpts_add(ra->rcpts, q) == -1) {
		snprintf(ra->err, ra->errlen, "%s", strerror(errno));
		return 1;
	}
	return 0;
}

/* sendmail -t: the recipients of To:, Cc: and Bcc:. */
static int
hdrs_rcpts(const struct sm_ctx *ctx, const struct hdrs *h,
    struct sm_rcpts *rcpts, char *err, size_t errlen)
{
	struct rcpt_arg	 ra = { ctx, rcpts, err, errlen };
	static const char *const names[] = { "to", "cc", "bcc" };
	size_t		 i, k;
	int		 r;

	for (i = 0; i < h->n; i++)
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			if (!hdr_named(&h->v[i], names[k]))
				continue;
			r = addrlist_split(h->v[i].text + strlen(names[k]) + 1,
			    rcpt_cb, &ra);
			if (r == -1)
				snprintf(err, errlen, "%.*s: bad address list",
				    (int)strcspn(h->v[i].text, ":"),
				    h->v[i].text);
			if (r != 0)
				return -1;
		}
	return 0;
}

/* RFC 5322 section 3.3, in the C locale that sendmail never leaves. */
static void
date_rfc5322(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		strlcpy(buf, "Thu, 01 Jan 1970 00:00:00 +0000", len);
}

/* A display name as an RFC 5322 quoted-string. */
static void
quote_name(const char *name, char *buf, size_t len)
{
	size_t	 n = 0;

	if (len < 3) {
		buf[0] = '\0';
		return;
	}
	buf[n++] = '"';
	for (; *name != '\0' && n + 3 < len; name++) {
		if ((unsigned char)*name < ' ' || *name == 127)
			continue;
		if (*name == '"' || *name == '\\')
			buf[n++] = '\\';
		buf[n++] = *name;
	}
	buf[n++] = '"';
	buf[n] = '\0';
}

static int
write_head(const struct sm_ctx *ctx, struct spool_msg *msg,
    const struct hdrs *h, time_t now)
{
	char		 date[64], name[300];
	const char	*from;
	int		 have_from = 0, have_date = 0, have_msgid = 0;
	size_t		 i;

	date_rfc5322(now, date, sizeof(date));
	if (ctx->helo != NULL)
		fprintf(msg->fp, "Received: from %s (uid %u)\n\tby %s "
		    "(basemail sendmail -bs) id %s;\n\t%s\n", ctx->helo,
		    (unsigned)ctx->uid, ctx->conf->hostname, msg->id, date);
	else
		fprintf(msg->fp, "Received: by %s (basemail sendmail, "
		    "from uid %u)\n\tid %s; %s\n", ctx->conf->hostname,
		    (unsigned)ctx->uid, msg->id, date);
	for (i = 0; i < h->n; i++) {
		if (hdr_named(&h->v[i], "bcc"))
			continue;
		have_from |= hdr_named(&h->v[i], "from");
		have_date |= hdr_named(&h->v[i], "date");
		have_msgid |= hdr_named(&h->v[i], "message-id");
		fprintf(msg->fp, "%s\n", h->v[i].text);
	}
	if (!have_date)
		fprintf(msg->fp, "Date: %s\n", date);
	if (!have_msgid)
		fprintf(msg->fp, "Message-ID: <%s@%s>\n", msg->id,
		    ctx->conf->hostname);
	/* As Postfix does: the envelope sender, unless it is <>. */
	from = ctx->sender[0] != '\0' ? ctx->sender : ctx->fromaddr;
	if (!have_from) {
		if (ctx->fullname[0] != '\0') {
			quote_name(ctx->fullname, name, sizeof(name));
			fprintf(msg->fp, "From: %s <%s>\n", name, from);
		} else
			fprintf(msg->fp, "From: %s\n", from);
	}
	return fputc('\n', msg->fp) == EOF ? -1 : 0;
}

/* 0, -1 on an input error, -2 if the message exceeds max. */
static int
write_body(struct sm_input *in, struct hdrs *h, FILE *fp, uint64_t max)
{
	uint64_t	 bytes = h->bytes + 1;
	int		 r = 1;

	if (!h->bodyline)
		r = input_line(in);
	for (; r == 1; r = input_line(in)) {
		if ((bytes += in->len + 1) > max)
			return -2;
		fwrite(in->line, 1, in->len, fp);
		putc('\n', fp);
	}
	return r;
}

/*
 * The temporary file being written, for msg_signal: a caller who
 * interrupts sendmail (its terminal still can, and a closed pipe) must
 * not leave it behind in the spool, where nothing else removes it.
 */
static char	 msg_tmppath[PATH_MAX];

static void
msg_signal(int sig)
{
	if (msg_tmppath[0] != '\0')
		(void)unlink(msg_tmppath);
	_exit(EX_TEMPFAIL);
}

static void
msg_signals(void (*handler)(int))
{
	struct sigaction	 sa;
	static const int	 sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM,
				    SIGPIPE, SIGXFSZ, SIGXCPU };
	size_t			 i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = handler;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &sa, NULL);
}

/*
 * Drops the signals that came while all were blocked across the
 * commit: the message is queued, and sendmail says so.  A signal made
 * SIG_IGN while pending is discarded (POSIX), then its action is put
 * back.
 */
static void
signals_drop_pending(void)
{
	struct sigaction	 ign, old;
	sigset_t		 pending;
	int			 sig;

	if (sigpending(&pending) == -1)
		return;
	memset(&ign, 0, sizeof(ign));
	sigemptyset(&ign.sa_mask);
	ign.sa_handler = SIG_IGN;
	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(&pending, sig) == 1 &&
		    sigaction(sig, &ign, &old) == 0)
			(void)sigaction(sig, &old, NULL);
}

/* The reason for an error of hdrs_read or write_body (r). */
static void
input_error(int r, char *err, size_t errlen)
{
	if (r == -2)
		snprintf(err, errlen, "message larger than maxsize");
	else if (errno == EINVAL)
		snprintf(err, errlen, "a NUL byte in the message");
	else if (errno == EFBIG)
		snprintf(err, errlen, "message larger than maxsize");
	else
		snprintf(err, errlen, "cannot read the message: %s",
		    strerror(errno));
}

/*
 * Reads one message from in and commits it to the spool for the
 * recipients in rcpts, and with tflag those of its To:, Cc: and Bcc:
 * as well.  Returns SM_*, with the queue ID in id (SPOOL_IDLEN + 1
 * bytes) or the reason in err.  The whole message is read in any case.
 */
int
message_queue(struct sm_ctx *ctx, struct sm_input *in, int tflag,
    struct sm_rcpts *rcpts, char *id, char *err, size_t errlen)
{
	struct hdrs		 h;
	struct spool_msg	 msg;
	sigset_t		 all, caller;
	time_t			 now;
	int			 r, ret = SM_DATAERR, blocked = 0;

	memset(&h, 0, sizeof(h));
	in->max = ctx->conf->maxsize;
	msg.fp = NULL;
	msg.tmppath[0] = '\0';
	msg.spooldirfd = -1;
	msg.fd = -1;
	if ((r = hdrs_read(in, &h, ctx->conf->maxsize)) != 1) {
		input_error(r, err, errlen);
		goto done;
	}
	if (tflag && hdrs_rcpts(ctx, &h, rcpts, err, errlen) == -1)
		goto done;
	if (rcpts->n == 0) {
		snprintf(err, errlen, "no recipients");
		ret = SM_NORCPT;
		goto done;
	}
	if (rcpts->n > ctx->conf->maxrcpt) {
		snprintf(err, errlen, "more than %zu recipients (maxrcpt)",
		    ctx->conf->maxrcpt);
		goto done;
	}
	now = time(NULL);
	msg_signals(msg_signal);
	if (spool_init(ctx->conf->spool) == -1 ||
	    spool_create(ctx->conf->spool, &msg) == -1 ||
	    strlcpy(msg_tmppath, msg.tmppath, sizeof(msg_tmppath)) >=
	    sizeof(msg_tmppath) ||
	    spool_envelope(&msg, now, ctx->sender, rcpts->v, rcpts->n) == -1 ||
	    write_head(ctx, &msg, &h, now) == -1) {
		snprintf(err, errlen, "%s: %s", ctx->conf->spool,
		    strerror(errno));
		ret = SM_TEMPFAIL;
		goto done;
	}
	if ((r = write_body(in, &h, msg.fp, ctx->conf->maxsize)) != 0) {
		input_error(r, err, errlen);
		goto done;
	}
	/* Local mail is submitted mail: signed as smtpd signs (smtpd(8)). */
	if (dk_spool_sign(&msg, ctx->conf->mapdir, dk_lookup_mapdir,
	    ctx->conf->mapdir, err, errlen) == -1) {
		ret = SM_TEMPFAIL;
		goto done;
	}
	err[0] = '\0';
	/*
	 * From the rename into the queue on, the message is queued, and a
	 * signal must not make sendmail say otherwise (msg_signal exits
	 * 75): a caller that retries would send it twice.  Every signal
	 * waits until the outcome is known.
	 */
	sigfillset(&all);
	blocked = sigprocmask(SIG_BLOCK, &all, &caller) == 0;
	if (spool_commit(&msg) == -1) {
		snprintf(err, errlen, "%s: %s", ctx->conf->spool,
		    strerror(errno));
		ret = SM_TEMPFAIL;
		goto done;
	}
	msg_tmppath[0] = '\0';
	strlcpy(id, msg.id, SPOOL_IDLEN + 1);
	ret = SM_OK;
done:
	if (ret != SM_OK)
		spool_abort(&msg);
	msg_tmppath[0] = '\0';
	/*
	 * A signal that came during a commit that succeeded is dropped;
	 * after one that failed it takes effect now.
	 */
	if (ret == SM_OK)
		signals_drop_pending();
	if (blocked)
		(void)sigprocmask(SIG_SETMASK, &caller, NULL);
	msg_signals(SIG_DFL);
	drain(in);
	hdrs_free(&h);
	return ret;
}
