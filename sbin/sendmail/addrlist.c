/*
 * addrlist.c: the addresses of an RFC 5322 address-list (To:, Cc:,
 * Bcc: for sendmail -t).  Display names, comments and group names are
 * dropped; an angle-addr wins over the text around it; a source route
 * in an angle-addr is dropped (RFC 5322 section 4.4).
 */
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libmail.h"
#include "sendmail.h"

struct addrlist_state {
	char	plain[ADDR_MAX + 2];	/* text outside <> and comments */
	size_t	nplain;
	char	angle[ADDR_MAX + 2];	/* text inside <> */
	size_t	nangle;
	int	inangle;
	int	sawangle;
	int	inquote;
	int	depth;			/* of comments */
};

static int	addrlist_put(struct addrlist_state *, char);
static int	addrlist_flush(struct addrlist_state *,
		    int (*)(const char *, void *), void *);

static int
addrlist_put(struct addrlist_state *st, char c)
{
	if (st->inangle) {
		if (st->nangle + 1 >= sizeof(st->angle))
			return -1;
		st->angle[st->nangle++] = c;
	} else {
		if (st->nplain + 1 >= sizeof(st->plain))
			return -1;
		st->plain[st->nplain++] = c;
	}
	return 0;
}

/*
 * An empty element of the list ("a, , b", an empty group) is skipped;
 * an empty <> is no address at all, and "@domain" without a route's
 * ':' goes to cb, which refuses it, rather than being dropped.
 */
static int
addrlist_flush(struct addrlist_state *st, int (*cb)(const char *, void *),
    void *arg)
{
	char	*a, *route;
	int	 r = 0;

	while (st->nplain > 0 && st->plain[st->nplain - 1] == ' ')
		st->nplain--;
	st->plain[st->nplain] = '\0';
	st->angle[st->nangle] = '\0';
	a = st->sawangle ? st->angle : st->plain;
	while (*a == ' ')
		a++;
	if (a[0] == '@' && (route = strchr(a, ':')) != NULL)
		a = route + 1;
	if (a[0] != '\0')
		r = cb(a, arg);
	else if (st->sawangle) {
		errno = EINVAL;
		r = -1;
	}
	st->nplain = st->nangle = 0;
	st->sawangle = st->inangle = 0;
	return r;
}

/*
 * Calls cb for each address of the list s; stops at the first non-zero
 * return of cb (which must be positive) and returns it.  -1 (errno
 * EINVAL) for a list that does not parse: an unbalanced quote, comment
 * or angle bracket, an empty <>, or an address longer than ADDR_MAX.
 */
int
addrlist_split(const char *s, int (*cb)(const char *, void *), void *arg)
{
	struct addrlist_state	 st;
	int			 r;

	memset(&st, 0, sizeof(st));
	for (; *s != '\0'; s++) {
		if (st.depth > 0) {
			if (*s == '\\' && s[1] != '\0')
				s++;
			else if (*s == '(')
				st.depth++;
			else if (*s == ')')
				st.depth--;
			continue;
		}
		if (st.inquote) {
			if (*s == '\\' && s[1] != '\0') {
				if (addrlist_put(&st, *s++) == -1)
					goto bad;
			} else if (*s == '"')
				st.inquote = 0;
			if (addrlist_put(&st, *s) == -1)
				goto bad;
			continue;
		}
		switch (*s) {
		case '"':
			st.inquote = 1;
			if (addrlist_put(&st, *s) == -1)
				goto bad;
			break;
		case '(':
			st.depth = 1;
			break;
		case ')':
		case '>':
			if (*s == ')' || !st.inangle)
				goto bad;
			st.inangle = 0;
			break;
		case '<':
			if (st.inangle || st.sawangle)
				goto bad;
			st.inangle = st.sawangle = 1;
			break;
		case ':':
			/* A group's name, unless inside <> (a source route). */
			if (st.inangle) {
				if (addrlist_put(&st, *s) == -1)
					goto bad;
			} else
				st.nplain = 0;
			break;
		case ',':
		case ';':
			if (st.inangle) {
				if (*s == ';' || addrlist_put(&st, *s) == -1)
					goto bad;
				break;
			}
			if ((r = addrlist_flush(&st, cb, arg)) != 0)
				return r;
			break;
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			/*
			 * Kept outside <>, so that "John Doe john@example.org"
			 * is refused rather than read as one address.
			 */
			if (!st.inangle && st.nplain > 0 &&
			    st.plain[st.nplain - 1] != ' ' &&
			    addrlist_put(&st, ' ') == -1)
				goto bad;
			break;
		default:
			if (addrlist_put(&st, *s) == -1)
				goto bad;
		}
	}
	if (st.inquote || st.depth > 0 || st.inangle)
		goto bad;
	return addrlist_flush(&st, cb, arg);
bad:
	errno = EINVAL;
	return -1;
}
