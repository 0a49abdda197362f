/*
 * data.c: the DATA phase (RFC 5321 4.1.1.4 and 4.5.2).
 *
 * The message ends only at CRLF "." CRLF: a "." line counts only when
 * the line before it ended in CRLF.  What the spool holds has LF line
 * ends and no CR at all (see libmail.h), so a bare CR or a bare LF
 * could only be kept by turning it into a line end it was not, and a
 * next hop would then see a line structure the client never sent:
 * that is the raw material of SMTP smuggling.  We refuse such a message
 * instead (550 5.6.0), as we refuse a NUL and a line over the 998
 * octets of RFC 5322.  A refused or oversized message is still read to
 * its end so that the dialogue stays in step.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "smtpd.h"

static int	data_check(const char *, size_t, struct data_result *,
		    size_t *);
static void	data_from_add(struct data_result *, const char *, size_t);
static void	data_header(struct data_result *, const char *, size_t);

void
data_fail(struct data_result *res, int status, const char *reason)
{
	if (res->status != DATA_OK)
		return;
	res->status = status;
	res->reason = reason;
}

/*
 * 0 if the line (with its line end, if any) may go to the spool; its
 * length without the line end into *textlen.
 */
static int
data_check(const char *line, size_t len, struct data_result *res,
    size_t *textlen)
{
	*textlen = len;
	if (len > 0 && line[len - 1] == '\n') {
		if (len < 2 || line[len - 2] != '\r') {
			data_fail(res, DATA_BADLINE, "bare LF in the message");
			return -1;
		}
		*textlen = len - 2;
	}
	if (memchr(line, '\r', *textlen) != NULL) {
		data_fail(res, DATA_BADLINE, "bare CR in the message");
		return -1;
	}
	if (memchr(line, '\0', len) != NULL) {
		data_fail(res, DATA_BADLINE, "NUL in the message");
		return -1;
	}
	return 0;
}

static void
data_from_add(struct data_result *res, const char *s, size_t len)
{
	if (res->fromlen + len >= DATA_FROM_MAX) {
		res->fromlong = 1;
		return;
	}
	memcpy(res->from + res->fromlen, s, len);
	res->fromlen += len;
	res->from[res->fromlen] = '\0';
}

/*
 * A line of the message (without its line end) while *state says the
 * header goes on: 1 in a From: field, 0 in another, -1 after the
 * header.  RFC 5322 3.6.2 wants one From:; each one is kept, so that
 * a second one cannot hide from the sender check.
 */
static void
data_header(struct data_result *res, const char *line, size_t len)
{
	int	*state = &res->header;
	size_t	 n;

	if (*state == -1 || res->from == NULL)
		return;
	if (len == 0) {
		*state = -1;
		return;
	}
	if (line[0] == ' ' || line[0] == '\t') {
		if (*state == 1)
			data_from_add(res, line, len);
		return;
	}
	*state = 0;
	if (len < 5 || strncasecmp(line, "From", 4) != 0)
		return;
	/* RFC 5322 4.5.1 (obsolete): blanks before the colon. */
	for (n = 4; n < len && (line[n] == ' ' || line[n] == '\t'); n++)
		;
	if (n == len || line[n] != ':')
		return;
	*state = 1;
	if (res->fromlen > 0)
		data_from_add(res, ",", 1);
	data_from_add(res, line + n + 1, len - n - 1);
}

void
data_begin(struct data_result *res)
{
	res->status = DATA_OK;
	res->size = 0;
	res->reason = NULL;
	res->fromlen = 0;
	res->fromlong = 0;
	res->header = 0;
	if (res->from != NULL)
		res->from[0] = '\0';
}

void
data_line(struct data_result *res, struct spool_msg *msg, const char *line,
    size_t len, int unstuff)
{
	size_t	 textlen;

	if (data_check(line, len, res, &textlen) == -1 ||
	    res->status != DATA_OK)
		return;
	/* RFC 5321 4.5.2: a leading dot was doubled by the client. */
	if (unstuff && textlen > 0 && line[0] == '.') {
		line++;
		textlen--;
	}
	data_header(res, line, textlen);
	if (fwrite(line, 1, textlen, msg->fp) != textlen ||
	    putc('\n', msg->fp) == EOF)
		data_fail(res, DATA_IOERROR, "spool write error");
}

void
data_receive(struct io *io, struct spool_msg *msg, uint64_t maxsize,
    int timeout_ms, struct data_result *res)
{
	char		 line[SMTP_TEXT_MAX + 1];
	size_t		 len;
	int		 r, crlf, prevcrlf = 1;

	data_begin(res);
	for (;;) {
		r = io_getline(io, line, SMTP_TEXT_MAX, &len, &crlf,
		    timeout_ms);
		if (r == IO_TIMEOUT) {
			res->status = DATA_TIMEOUT;
			return;
		}
		if (r == IO_EOF || r == IO_ERROR) {
			res->status = DATA_LOST;
			return;
		}
		if (r == IO_LONG) {
			data_fail(res, DATA_BADLINE,
			    "line longer than 998 octets");
			res->size += SMTP_TEXT_MAX;
			prevcrlf = crlf;
			continue;
		}
		if (prevcrlf && len == 3 && memcmp(line, ".\r\n", 3) == 0)
			return;
		prevcrlf = crlf;
		res->size += len;
		if (res->size > maxsize)
			data_fail(res, DATA_TOOBIG, "message too big");
		data_line(res, msg, line, len, 1);
	}
}
