/*
 * Addresses: the RFC 5321 Mailbox grammar, and the stricter form the
 * admin commands write into maps and turn into paths.
 *
 * What addr_parse accepts, and why some look-alikes are refused:
 *	local@domain		local is a Dot-string (atoms of atext joined
 *				by single dots) or a Quoted-string, kept as
 *				written; at most 64 octets, quotes included.
 *	"a b"@d			a quoted local part; addr_parse_safe refuses.
 *	a!b@c, a%b@c		'!' and '%' are atext, so addr_parse takes
 *				them; addr_parse_safe refuses them, since
 *				they are the old UUCP and percent-hack routing
 *				tricks.
 *	a@b@c			refused: '@' is not a domain character.
 *	@route:a@b		refused: source routes are not accepted.
 *	a@[192.0.2.1]		refused: address literals are not accepted.
 *	a@192.0.2.1		refused: a top-level label of digits only.
 *	a@example.org.		refused: a trailing dot in the domain.
 *	a@d without 8-bit	only ASCII: there is no SMTPUTF8 support.
 * The domain is a host name: LDH labels of 1 to 63 octets, neither
 * starting nor ending with '-', at most 255 octets in all, the last
 * one not all digits, lower-cased; a single label (localhost) is a
 * domain.  The whole address is at
 * most 254 octets.
 */
#include <ctype.h>
#include <string.h>

#include "libmail.h"

/* RFC 5322 atext, without ALPHA and DIGIT. */
static const char atext_specials[] = "!#$%&'*+-/=?^_`{|}~";

static int	addr_is_atext(int);
static int	addr_parse_quoted(const char *, size_t *, const char **);
static int	addr_parse_dotstring(const char *, size_t *, const char **);
static int	addr_label_valid(const char *, size_t, const char **);

static int
addr_is_atext(int c)
{
	if (c == '\0' || c > 0x7e)
		return 0;
	return isalnum(c) || strchr(atext_specials, c) != NULL;
}

/* A Quoted-string at s; *len gets its length, quotes included. */
static int
addr_parse_quoted(const char *s, size_t *len, const char **errstr)
{
	size_t	i;

	for (i = 1; s[i] != '"'; i++) {
		if (s[i] == '\0') {
			*errstr = "unterminated quoted local part";
			return -1;
		}
		if (s[i] == '\\')
			i++;
		if (s[i] < 0x20 || s[i] > 0x7e) {
			*errstr = "bad character in quoted local part";
			return -1;
		}
	}
	*len = i + 1;
	return 0;
}

/* A Dot-string at s, up to the '@' or the end; *len gets its length. */
static int
addr_parse_dotstring(const char *s, size_t *len, const char **errstr)
{
	size_t	i;

	if (s[0] == '.') {
		*errstr = "local part starts with a dot";
		return -1;
	}
	for (i = 0; s[i] != '\0' && s[i] != '@'; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.') {
				*errstr = "\"..\" in local part";
				return -1;
			}
			continue;
		}
		if (!addr_is_atext((unsigned char)s[i])) {
			*errstr = "bad character in local part";
			return -1;
		}
	}
	if (i > 0 && s[i - 1] == '.') {
		*errstr = "local part ends with a dot";
		return -1;
	}
	*len = i;
	return 0;
}

static int
addr_label_valid(const char *s, size_t len, const char **errstr)
{
	size_t	i;

	if (len == 0) {
		*errstr = "empty label in domain";
		return -1;
	}
	if (len > 63) {
		*errstr = "domain label longer than 63 characters";
		return -1;
	}
	if (s[0] == '-' || s[len - 1] == '-') {
		*errstr = "domain label starts or ends with '-'";
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-') {
			*errstr = "bad character in domain";
			return -1;
		}
	}
	return 0;
}

int
addr_domain_valid(const char *s, const char **errstr)
{
	const char	*dot;
	size_t		 len;

	len = strlen(s);
	if (len == 0) {
		*errstr = "empty domain";
		return -1;
	}
	if (s[0] == '[') {
		*errstr = "address literals are not accepted";
		return -1;
	}
	if (len > ADDR_DOMAIN_MAX) {
		*errstr = "domain longer than 255 characters";
		return -1;
	}
	if (s[len - 1] == '.') {
		*errstr = "trailing dot in domain";
		return -1;
	}
	for (;;) {
		dot = strchr(s, '.');
		len = dot != NULL ? (size_t)(dot - s) : strlen(s);
		if (addr_label_valid(s, len, errstr) == -1)
			return -1;
		if (dot == NULL)
			break;
		s = dot + 1;
	}
	/*
	 * No top-level domain is all digits (RFC 3696, section 2), so such
	 * a name is an IPv4 address without brackets: an address literal
	 * in disguise, which a resolver would happily connect to.
	 */
	if (s[strspn(s, "0123456789")] == '\0') {
		*errstr = "all-numeric top-level domain";
		return -1;
	}
	return 0;
}

int
addr_parse(const char *s, struct mailaddr *ma, const char **errstr)
{
	size_t	len;
	int	r;

	memset(ma, 0, sizeof(*ma));
	if (s[0] == '\0') {
		*errstr = "empty address";
		return -1;
	}
	if (strlen(s) > ADDR_MAX) {
		*errstr = "address longer than 254 characters";
		return -1;
	}
	if (s[0] == '@') {
		*errstr = strchr(s, ':') != NULL ?
		    "source routes are not accepted" : "empty local part";
		return -1;
	}
	if (s[0] == '"')
		r = addr_parse_quoted(s, &len, errstr);
	else
		r = addr_parse_dotstring(s, &len, errstr);
	if (r == -1)
		return -1;
	if (s[len] != '@') {
		*errstr = s[len] == '\0' ? "missing @domain" :
		    "bad character after quoted local part";
		return -1;
	}
	if (len > ADDR_LOCAL_MAX) {
		*errstr = "local part longer than 64 characters";
		return -1;
	}
	if (addr_domain_valid(s + len + 1, errstr) == -1)
		return -1;
	memcpy(ma->local, s, len);
	ma->local[len] = '\0';
	strlcpy(ma->domain, s + len + 1, sizeof(ma->domain));
	addr_lower(ma->domain);
	return 0;
}

int
addr_parse_safe(const char *s, struct mailaddr *ma, const char **errstr)
{
	const char	*p;

	if (addr_parse(s, ma, errstr) == -1)
		return -1;
	if (ma->local[0] == '"') {
		*errstr = "quoted local parts are not accepted";
		return -1;
	}
	/*
	 * The dot-string grammar already keeps out dots at the ends, "..",
	 * control characters, ':' and ','.  What is left to refuse: a path
	 * separator, the routing tricks, the pipe of sendmail's aliases
	 * and the comment character of the text maps.
	 */
	if ((p = strpbrk(ma->local, "/!%|#")) != NULL) {
		switch (*p) {
		case '/':
			*errstr = "'/' in local part";
			break;
		case '|':
			*errstr = "'|' in local part";
			break;
		case '#':
			*errstr = "'#' in local part";
			break;
		default:
			*errstr = "'!' and '%' routing is not accepted";
			break;
		}
		memset(ma, 0, sizeof(*ma));
		return -1;
	}
	return 0;
}

int
addr_key(const struct mailaddr *ma, char *buf, size_t buflen)
{
	int	n;

	n = snprintf(buf, buflen, "%s@%s", ma->local, ma->domain);
	if (n < 0 || (size_t)n >= buflen)
		return -1;
	addr_lower(buf);
	return 0;
}

int
addr_strip_tag(const struct mailaddr *ma, const char *delimiters,
    struct mailaddr *base)
{
	size_t	n;

	*base = *ma;
	if (delimiters == NULL || delimiters[0] == '\0' || ma->local[0] == '"')
		return 0;
	n = strcspn(ma->local, delimiters);
	/* "+foo@d" is a name of its own, not an empty name with a tag. */
	if (n == 0 || ma->local[n] == '\0')
		return 0;
	base->local[n] = '\0';
	return 1;
}

void
addr_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s += 'a' - 'A';
}
