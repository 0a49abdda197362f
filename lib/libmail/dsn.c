/*
 * dsn.c: the parameters of RFC 3461 delivery status notifications, as
 * smtpd takes them, the spool keeps them, and deliver honours and
 * passes them on: NOTIFY and ORCPT of RCPT, RET and ENVID of MAIL.
 *
 * ENVID and the address of ORCPT travel as xtext (RFC 3461 4): kept so
 * in the envelope, decoded only for the fields of a notification.
 * Their decoded form must be printable ASCII: RFC 3461 asks it of
 * ENVID, and for ORCPT a CR, an LF or a control character could only
 * forge fields of the notification it is copied into.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "libmail.h"

static int	dsn_hex(int);

static int
dsn_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
dsn_xtext_decode(const char *s, size_t len, char *out, size_t outlen)
{
	size_t	 i, o = 0;
	int	 hi, lo, c;

	if (len == 0 || outlen == 0)
		return -1;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '+') {
			/* RFC 3461 4: upper-case hexadecimal digits only. */
			if (i + 2 >= len)
				return -1;
			if ((hi = dsn_hex((unsigned char)s[i + 1])) == -1 ||
			    (lo = dsn_hex((unsigned char)s[i + 2])) == -1)
				return -1;
			c = hi << 4 | lo;
			i += 2;
		} else if (c < 33 || c > 126 || c == '=')
			return -1;
		if (c < 32 || c > 126)
			return -1;
		if (o + 1 >= outlen)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

int
dsn_notify_parse(const char *s, size_t len)
{
	static const struct {
		const char	*name;
		int		 flag;
	} words[] = {
		{ "NEVER", DSN_NOTIFY_NEVER },
		{ "SUCCESS", DSN_NOTIFY_SUCCESS },
		{ "FAILURE", DSN_NOTIFY_FAILURE },
		{ "DELAY", DSN_NOTIFY_DELAY },
	};
	size_t	 n, i;
	int	 flags = 0, f;

	while (len > 0) {
		for (n = 0; n < len && s[n] != ','; n++)
			;
		for (i = 0, f = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i].name) == n &&
			    strncasecmp(s, words[i].name, n) == 0)
				f = words[i].flag;
		if (f == 0 || (flags & f))
			return -1;
		flags |= f;
		if (n == len)
			break;
		/* A trailing comma names nothing. */
		if (n + 1 == len)
			return -1;
		s += n + 1;
		len -= n + 1;
	}
	/* RFC 3461 4.1: NEVER alone. */
	if (flags == 0 || ((flags & DSN_NOTIFY_NEVER) &&
	    flags != DSN_NOTIFY_NEVER))
		return -1;
	return flags;
}

void
dsn_notify_format(int flags, char *buf, size_t len)
{
	buf[0] = '\0';
	if (flags & DSN_NOTIFY_NEVER) {
		strlcpy(buf, "NEVER", len);
		return;
	}
	if (flags & DSN_NOTIFY_SUCCESS)
		strlcat(buf, "SUCCESS", len);
	if (flags & DSN_NOTIFY_FAILURE)
		strlcat(buf, buf[0] != '\0' ? ",FAILURE" : "FAILURE", len);
	if (flags & DSN_NOTIFY_DELAY)
		strlcat(buf, buf[0] != '\0' ? ",DELAY" : "DELAY", len);
}

int
dsn_orcpt_valid(const char *s, size_t len)
{
	char		 addr[DSN_ORCPT_MAX + 1];
	const char	*semi;
	size_t		 i;

	if (len == 0 || len > DSN_ORCPT_MAX ||
	    (semi = memchr(s, ';', len)) == NULL || semi == s)
		return 0;
	/* addr-type is an atom (RFC 5322 atext). */
	for (i = 0; s + i < semi; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("!#$%&'*+-/=?^_`{|}~", s[i]) == NULL)
			return 0;
	return dsn_xtext_decode(semi + 1, len - (semi + 1 - s), addr,
	    sizeof(addr)) == 0;
}

int
dsn_wants(int notify, int flag)
{
	/* Without NOTIFY: failures and delays, as before RFC 3461. */
	if (notify == 0)
		return flag != DSN_NOTIFY_SUCCESS;
	return (notify & flag) != 0;
}
