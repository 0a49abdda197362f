/*
 * path.c: the arguments of MAIL and RCPT (RFC 5321 4.1.2):
 *	FROM:<reverse-path> [SP Mail-parameters]
 *	TO:<forward-path> [SP Rcpt-parameters]
 *
 * Relaying is decided on what this file returns, so it trusts nothing:
 * the path is cut at the '>' that closes it outside quotes, a source
 * route (@a,@b:) is dropped as RFC 5321 section C lets a server do,
 * and the mailbox that remains goes through addr_parse, whose domain
 * is the one after the last unquoted '@'.  Address literals, a '@' in
 * an unquoted local part and trailing dots never parse, so they can
 * never name a domain other than the one checked.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtpd.h"

static const char	*path_close(const char *);
static const char	*path_skip_route(const char *, const char *);
static int		 path_mailbox(const char *, size_t, struct path_args *);
static int		 path_params(const char *, int, struct path_args *);
static int		 path_xtext(const char *, size_t);
static int		 path_dsn(const char *, size_t, int,
			    struct path_args *);
static int		 path_param(const char *, size_t, int,
			    struct path_args *);

/* The '>' that closes the path at s (after '<'), outside quotes. */
static const char *
path_close(const char *s)
{
	int	 quoted = 0;

	for (; *s != '\0'; s++) {
		if (quoted && *s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '"')
			quoted = !quoted;
		else if (!quoted && *s == '>')
			return s;
	}
	return NULL;
}

/* A-d-l ":" of RFC 5321: "@dom,@dom:"; returns what follows, or NULL. */
static const char *
path_skip_route(const char *s, const char *end)
{
	const char	*p;

	for (p = s; p < end && *p != ':'; p++)
		if (!isalnum((unsigned char)*p) && strchr("@,.-[]", *p) == NULL)
			return NULL;
	if (p == end)
		return NULL;
	return p + 1;
}

static int
path_mailbox(const char *s, size_t len, struct path_args *pa)
{
	char		 box[ADDR_MAX + 2];
	const char	*at = NULL, *p;
	int		 quoted = 0;

	if (len >= sizeof(box)) {
		pa->errstr = "address too long";
		return PATH_ADDRESS;
	}
	memcpy(box, s, len);
	box[len] = '\0';
	for (p = box; *p != '\0'; p++) {
		if (quoted && *p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == '@')
			at = p;
	}
	if (at != NULL && at[1] == '[') {
		pa->errstr = "address literals are not accepted";
		return PATH_LITERAL;
	}
	if (addr_parse(box, &pa->addr, &pa->errstr) == -1)
		return PATH_ADDRESS;
	pa->utf8 = !addr_is_ascii(box);
	return PATH_OK;
}

/* RFC 3461 xtext: printable ASCII, '+' and '=' only as "+XX". */
static int
path_xtext(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '+') {
			if (i + 2 >= len || !isxdigit((unsigned char)s[i + 1]) ||
			    !isxdigit((unsigned char)s[i + 2]))
				return 0;
			i += 2;
		} else if (s[i] < 33 || s[i] > 126 || s[i] == '=')
			return 0;
	}
	return 1;
}

/*
 * RFC 3461: RET= and ENVID= of MAIL, NOTIFY= and ORCPT= of RCPT, each
 * once.  PATH_OK, PATH_BADVALUE, or -1 if s is none of them.
 */
static int
path_dsn(const char *s, size_t len, int from, struct path_args *pa)
{
	char	 buf[DSN_ORCPT_MAX + 1];
	size_t	 klen = strcspn(s, "=");

	if (klen >= len)
		return -1;
	s += klen + 1;
	len -= klen + 1;
	if (from && klen == 3 && strncasecmp(s - 4, "RET", 3) == 0) {
		pa->errstr = "bad RET parameter";
		if (pa->ret != DSN_RET_NONE)
			return PATH_BADVALUE;
		if (len == 4 && strncasecmp(s, "FULL", 4) == 0)
			pa->ret = DSN_RET_FULL;
		else if (len == 4 && strncasecmp(s, "HDRS", 4) == 0)
			pa->ret = DSN_RET_HDRS;
		else
			return PATH_BADVALUE;
		return PATH_OK;
	}
	if (from && klen == 5 && strncasecmp(s - 6, "ENVID", 5) == 0) {
		pa->errstr = "bad ENVID parameter";
		if (pa->envid[0] != '\0' || len > DSN_ENVID_MAX ||
		    dsn_xtext_decode(s, len, buf, sizeof(buf)) == -1)
			return PATH_BADVALUE;
		memcpy(pa->envid, s, len);
		pa->envid[len] = '\0';
		return PATH_OK;
	}
	if (!from && klen == 6 && strncasecmp(s - 7, "NOTIFY", 6) == 0) {
		pa->errstr = "bad NOTIFY parameter";
		if (pa->notify != 0 ||
		    (pa->notify = dsn_notify_parse(s, len)) == -1)
			return PATH_BADVALUE;
		return PATH_OK;
	}
	if (!from && klen == 5 && strncasecmp(s - 6, "ORCPT", 5) == 0) {
		pa->errstr = "bad ORCPT parameter";
		if (pa->orcpt[0] != '\0' || !dsn_orcpt_valid(s, len))
			return PATH_BADVALUE;
		memcpy(pa->orcpt, s, len);
		pa->orcpt[len] = '\0';
		return PATH_OK;
	}
	return -1;
}

/* One "KEY[=VALUE]" of RFC 5321 Mail-parameters. */
static int
path_param(const char *s, size_t len, int from, struct path_args *pa)
{
	const char	*v;
	char		*end;
	unsigned long long n;
	int		 r;

	if ((r = path_dsn(s, len, from, pa)) != -1)
		return r;
	pa->errstr = "unsupported parameter";
	if (!from)
		return PATH_PARAM;
	if (len > 5 && strncasecmp(s, "SIZE=", 5) == 0) {
		v = s + 5;
		if (pa->has_size || !isdigit((unsigned char)*v) || len - 5 > 20)
			goto bad;
		errno = 0;
		n = strtoull(v, &end, 10);
		/*
		 * RFC 1870 allows 20 digits, more than 64 bits hold: such a
		 * size is too big (552, strtoull gives ULLONG_MAX), not a
		 * bad parameter.
		 */
		if (end != s + len || (errno != 0 && errno != ERANGE))
			goto bad;
		pa->has_size = 1;
		pa->size = n;
		return PATH_OK;
	}
	if ((len == 9 && strncasecmp(s, "BODY=7BIT", 9) == 0) ||
	    (len == 13 && strncasecmp(s, "BODY=8BITMIME", 13) == 0))
		return PATH_OK;
	/* RFC 6531 3.4: a keyword without a value. */
	if (len == 8 && strncasecmp(s, "SMTPUTF8", 8) == 0) {
		pa->smtputf8 = 1;
		return PATH_OK;
	}
	/*
	 * RFC 4954 5: the sender as another server authenticated it.  We
	 * trust no such claim (that is its "AUTH=<>"), so it is only
	 * checked for syntax and dropped.
	 */
	if (len > 5 && strncasecmp(s, "AUTH=", 5) == 0) {
		if ((len == 7 && memcmp(s + 5, "<>", 2) == 0) ||
		    path_xtext(s + 5, len - 5))
			return PATH_OK;
		pa->errstr = "bad AUTH parameter";
		return PATH_PARAM;
	}
	return PATH_PARAM;
bad:
	pa->errstr = "bad SIZE parameter";
	return PATH_PARAM;
}

static int
path_params(const char *s, int from, struct path_args *pa)
{
	size_t	 len;
	int	 r;

	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			return PATH_OK;
		len = strcspn(s, " ");
		if ((r = path_param(s, len, from, pa)) != PATH_OK)
			return r;
		s += len;
	}
}

int
path_parse(const char *arg, const char *keyword, int esmtp,
    struct path_args *pa)
{
	const char	*open, *close, *box;
	size_t		 klen = strlen(keyword);
	int		 from, r;

	memset(pa, 0, sizeof(*pa));
	pa->errstr = "syntax error";
	from = strcasecmp(keyword, "FROM") == 0;
	if (strncasecmp(arg, keyword, klen) != 0 || arg[klen] != ':')
		return PATH_SYNTAX;
	/* RFC 5321 has no space here; many clients send one anyway. */
	for (open = arg + klen + 1; *open == ' '; open++)
		;
	if (*open != '<' || (close = path_close(open + 1)) == NULL)
		return PATH_SYNTAX;
	if (close[1] != '\0' && close[1] != ' ')
		return PATH_SYNTAX;
	box = open + 1;
	if (*box == '@' && (box = path_skip_route(box, close)) == NULL) {
		pa->errstr = "bad source route";
		return PATH_ADDRESS;
	}
	if (box == close) {
		if (!from || box != open + 1) {
			pa->errstr = "empty address";
			return PATH_ADDRESS;
		}
		pa->null = 1;
	} else if (!from && close - box == 10 &&
	    strncasecmp(box, "postmaster", 10) == 0)
		pa->postmaster = 1;
	else if ((r = path_mailbox(box, close - box, pa)) != PATH_OK)
		return r;
	if (close[1] != '\0' && !esmtp) {
		pa->errstr = "parameters need EHLO";
		return PATH_PARAM;
	}
	return path_params(close + 1, from, pa);
}
