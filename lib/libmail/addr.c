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
 *	jörg@münchen.example	UTF-8 (RFC 6531): the local part as written,
 *				the domain turned into its A-label form,
 *				xn--mnchen-3ya.example.
 *	bytes that are not UTF-8, overlong forms, surrogates, C0 and C1
 *	controls and DEL		refused anywhere in the address.
 * The domain is a host name: LDH labels of 1 to 63 octets, neither
 * starting nor ending with '-', at most 255 octets in all, the last
 * one not all digits, lower-cased; a single label (localhost) is a
 * domain.  A domain with U-labels (or with "xn--" labels) goes through
 * libidn2 (IDNA2008, UTS 46 non-transitional mapping, NFC first), and
 * what comes out must be such a host name: so every domain, however
 * written, has one form, and münchen.example and xn--mnchen-3ya.example
 * are one domain in every map and every comparison.  The whole
 * address is at most 254 octets, as written and in its A-label form.
 *
 * Local parts keep the case and the normalisation they were written
 * with; only their map key (addr_key) is folded: ASCII lower-casing
 * alone, because that is what Dovecot does to a login (%Lu lower-cases
 * ASCII only), and a mailbox of the users file must be what Dovecot
 * logs in as; then NFC, so that one name has one key.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>
#include <uninorm.h>
#include <unistr.h>

#include "libmail.h"

/* RFC 5322 atext, without ALPHA and DIGIT. */
static const char atext_specials[] = "!#$%&'*+-/=?^_`{|}~";

static int	addr_is_atext(int);
static int	addr_parse_quoted(const char *, size_t *, const char **);
static int	addr_parse_dotstring(const char *, size_t *, const char **);
static int	addr_label_valid(const char *, size_t, const char **);
static int	addr_has_alabel(const char *);

/* RFC 6531 3.3: atext =/ UTF8-non-ascii (checked as UTF-8 before). */
static int
addr_is_atext(int c)
{
	if (c >= 0x80)
		return 1;
	if (c == '\0' || c > 0x7e)
		return 0;
	return isalnum(c) || strchr(atext_specials, c) != NULL;
}

int
addr_is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

int
addr_utf8_valid(const char *s, const char **errstr)
{
	const uint8_t	*p = (const uint8_t *)s;
	size_t		 n = strlen(s);
	ucs4_t		 uc;
	int		 len;

	/* u8_check refuses overlong forms, surrogates and > U+10FFFF. */
	if (u8_check(p, n) != NULL) {
		*errstr = "malformed UTF-8";
		return -1;
	}
	for (; n > 0; p += len, n -= len) {
		len = u8_mbtouc(&uc, p, n);
		if (uc >= 0x80 && uc <= 0x9f) {
			*errstr = "control character";
			return -1;
		}
	}
	return 0;
}

int
addr_utf8_nfc(const char *s)
{
	uint8_t	*norm;
	size_t	 n = strlen(s), normlen;
	int	 same;

	if (addr_is_ascii(s))
		return 1;
	norm = u8_normalize(UNINORM_NFC, (const uint8_t *)s, n, NULL,
	    &normlen);
	if (norm == NULL)
		return 0;
	same = normlen == n && memcmp(norm, s, n) == 0;
	free(norm);
	return same;
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
		/* RFC 6531 3.3: qtextSMTP =/ UTF8-non-ascii. */
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
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
	if (!addr_is_ascii(s)) {
		*errstr = "bad character in domain";
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

/* 1 if a label of the domain begins with the ACE prefix "xn--". */
static int
addr_has_alabel(const char *s)
{
	for (;;) {
		if (strncasecmp(s, "xn--", 4) == 0)
			return 1;
		if ((s = strchr(s, '.')) == NULL)
			return 0;
		s++;
	}
}

int
addr_domain_canon(const char *s, char *out, size_t outlen,
    const char **errstr)
{
	uint8_t	*alabel;
	size_t	 len = strlen(s);
	int	 r;

	if (len == 0 || s[0] == '[' || len > ADDR_DOMAIN_MAX ||
	    s[len - 1] == '.' || (addr_is_ascii(s) && !addr_has_alabel(s))) {
		if (addr_domain_valid(s, errstr) == -1)
			return -1;
		if (strlcpy(out, s, outlen) >= outlen) {
			*errstr = "domain too long";
			return -1;
		}
		addr_lower(out);
		return 0;
	}
	if (addr_utf8_valid(s, errstr) == -1)
		return -1;
	r = idn2_lookup_u8((const uint8_t *)s, &alabel,
	    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (r != IDN2_OK) {
		*errstr = idn2_strerror(r);
		return -1;
	}
	if (strlcpy(out, (char *)alabel, outlen) >= outlen) {
		idn2_free(alabel);
		*errstr = "domain longer than 255 characters in A-label form";
		return -1;
	}
	idn2_free(alabel);
	addr_lower(out);
	/* libidn2 lets "a_b" and empty labels through; a host name does not. */
	return addr_domain_valid(out, errstr);
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
	if (addr_utf8_valid(s, errstr) == -1)
		return -1;
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
	if (addr_domain_canon(s + len + 1, ma->domain, sizeof(ma->domain),
	    errstr) == -1) {
		memset(ma, 0, sizeof(*ma));
		return -1;
	}
	if (len + 1 + strlen(ma->domain) > ADDR_MAX) {
		memset(ma, 0, sizeof(*ma));
		*errstr = "address longer than 254 characters in A-label form";
		return -1;
	}
	memcpy(ma->local, s, len);
	ma->local[len] = '\0';
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
	 * What is written into a map is what Dovecot will compare logins
	 * with, byte for byte: one normalisation form only, NFC (RFC 6532
	 * section 3.1 asks for it).
	 */
	if (!addr_utf8_nfc(s)) {
		memset(ma, 0, sizeof(*ma));
		*errstr = "not in Unicode normalization form C (NFC)";
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

/*
 * The NFC of a lower-cased UTF-8 local part into buf (not terminated),
 * its length into *len; 0 or -1.  Lower-casing first, then NFC, and
 * again while NFC brings back an ASCII capital (U+212A KELVIN SIGN is
 * K): so the key of a key is itself ("T" and U+0308 have no composed
 * form, "t" and U+0308 have).
 */
static int
addr_key_local(const char *local, char *buf, size_t buflen, size_t *len)
{
	char	 tmp[MAP_KEY_MAX + 1];
	uint8_t	*norm;
	size_t	 n, i;
	int	 round;

	if (strlcpy(tmp, local, sizeof(tmp)) >= sizeof(tmp))
		return -1;
	n = strlen(tmp);
	for (round = 0; round < 4; round++) {
		addr_lower(tmp);
		*len = buflen;
		norm = u8_normalize(UNINORM_NFC, (const uint8_t *)tmp, n,
		    (uint8_t *)buf, len);
		if (norm == NULL)
			return -1;
		if (norm != (uint8_t *)buf) {
			free(norm);
			return -1;
		}
		for (i = 0; i < *len && (buf[i] < 'A' || buf[i] > 'Z'); i++)
			;
		if (i == *len)
			return 0;
		if (*len >= sizeof(tmp))
			return -1;
		memcpy(tmp, buf, *len);
		tmp[*len] = '\0';
		n = *len;
	}
	return -1;
}

int
addr_key(const struct mailaddr *ma, char *buf, size_t buflen)
{
	size_t	 len;
	int	 n;

	if (addr_is_ascii(ma->local)) {
		n = snprintf(buf, buflen, "%s@%s", ma->local, ma->domain);
		if (n < 0 || (size_t)n >= buflen)
			return -1;
		addr_lower(buf);
		return 0;
	}
	if (addr_key_local(ma->local, buf, buflen, &len) == -1)
		return -1;
	n = snprintf(buf + len, buflen - len, "@%s", ma->domain);
	if (n < 0 || (size_t)n >= buflen - len)
		return -1;
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
