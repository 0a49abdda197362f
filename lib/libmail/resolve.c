/*
 * resolve.c: what a recipient address means, from the maps
 * (mailmaps(5)).  smtpd asks resolve_rcpt() whether to accept a
 * recipient; deliver asks resolve_expand() where its mail goes; the
 * admin commands ask the same questions of the text maps they are
 * editing, so that all of them agree on one set of rules.
 *
 * For an address in a hosted domain, the rules are tried in this
 * order: the alias domain (x@alias means x@other, one level only), the
 * address itself as a mailbox and then as an alias, the same without
 * its +tag, postmaster@ and abuse@ (the domain's alias was found above;
 * otherwise mail.conf's postmaster), and last the catch-all "@domain",
 * which therefore never hides a mailbox or an alias.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "libmail.h"

/* The maps a resolver reads: domains, users, aliases (MAP_*). */
#define RESOLVE_MAPS	(MAP_ALIASES + 1)

/* Where an address stands in an expansion. */
#define SEEN_ACTIVE	1	/* being expanded: meeting it again is a loop */
#define SEEN_DONE	2	/* expanded: meeting it again is a duplicate */

struct seen_entry {
	char	*key;
	int	 state;
};

/* The addresses met in one expansion: an open-addressing hash set. */
struct seen {
	struct seen_entry	*tab;
	size_t			 size;	/* a power of two */
	size_t			 count;
};

struct expand {
	struct resolver		*r;
	struct resolve_target	*targets;
	size_t			 ntargets;
	size_t			 cap;
	struct seen		 seen;
	int			 loop;
	int			 nocatchall;	/* the catch-all leads nowhere */
};

static int	 resolver_map(struct resolver *, int, struct map **);
static int	 resolver_get(struct resolver *, int, const char *,
		    const char **);
static void	 resolve_unquote(struct mailaddr *);
static int	 resolve_domain(struct resolver *, const struct mailaddr *,
		    struct mailaddr *);
static int	 resolve_is_role(const struct mailaddr *);
static int	 resolve_name(struct resolver *, const struct mailaddr *);
static uint32_t	 seen_hash(const char *);
static struct seen_entry *seen_slot(struct seen *, const char *);
static int	 seen_grow(struct seen *);
static int	 seen_get(struct seen *, const char *);
static int	 seen_set(struct seen *, const char *, int);
static int	 seen_enter(struct expand *, const char *);
static void	 seen_free(struct seen *);
static struct resolve_target *expand_target(struct expand *, const char *);
static int	 expand_remote(struct expand *, const struct mailaddr *);
static int	 expand_mailbox(struct expand *, const char *, const char *);
static int	 expand_unknown(struct expand *, const char *);
static int	 expand_list(struct expand *, const char *, int);
static int	 expand_postmaster(struct expand *, int);
static int	 expand_hosted(struct expand *, const struct mailaddr *,
		    const char *, int, int);
static int	 expand_addr(struct expand *, const struct mailaddr *, int,
		    int);
static int	 sender_listed(struct resolver *, const char *, const char *);
static int	 sender_reaches(struct resolver *, const struct mailaddr *,
		    const char *);

int
resolver_open(struct resolver *r, const struct conf *conf)
{
	struct map	*m;
	int		 kind, ret, saved;

	memset(r, 0, sizeof(*r));
	r->conf = conf;
	if ((r->buf = malloc(RESOLVE_VALUE_MAX)) == NULL)
		return -1;
	ret = 0;
	saved = 0;
	for (kind = 0; kind < RESOLVE_MAPS; kind++)
		if (resolver_map(r, kind, &m) == -1) {
			saved = errno;
			ret = -1;
		}
	errno = saved;
	return ret;
}

int
resolver_open_mapset(struct resolver *r, const struct conf *conf,
    struct mapset *ms)
{
	memset(r, 0, sizeof(*r));
	r->conf = conf;
	r->mapset = ms;
	return 0;
}

int
resolver_refresh(struct resolver *r)
{
	struct map	**slot[RESOLVE_MAPS];
	struct map	 *m;
	int		  kind, ret;

	if (r->mapset != NULL)
		return 0;
	slot[MAP_DOMAINS] = &r->domains;
	slot[MAP_USERS] = &r->users;
	slot[MAP_ALIASES] = &r->aliases;
	ret = 0;
	for (kind = 0; kind < RESOLVE_MAPS; kind++) {
		if (*slot[kind] == NULL)
			ret |= resolver_map(r, kind, &m);
		else
			ret |= map_refresh(*slot[kind]);
	}
	return ret == 0 ? 0 : -1;
}

void
resolver_close(struct resolver *r)
{
	map_close(r->domains);
	map_close(r->users);
	map_close(r->aliases);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

/*
 * The open map of a kind, opened now if it could not be before (a
 * daemon may start before its maps exist); 0 or -1.
 */
static int
resolver_map(struct resolver *r, int kind, struct map **mp)
{
	struct map	**slot;

	switch (kind) {
	case MAP_DOMAINS:
		slot = &r->domains;
		break;
	case MAP_USERS:
		slot = &r->users;
		break;
	default:
		slot = &r->aliases;
		break;
	}
	if (*slot == NULL)
		*slot = map_open(r->conf->mapdir, mapsrc_names[kind]);
	*mp = *slot;
	return *slot == NULL ? -1 : 0;
}

/*
 * Looks key up in the map of a kind: 1 with *val pointing at the value
 * (valid until the next lookup), 0 if absent, -1 if it cannot be read.
 */
static int
resolver_get(struct resolver *r, int kind, const char *key,
    const char **val)
{
	struct mapsrc_line	*line;
	struct map		*m;
	int			 ret;

	if (r->mapset != NULL) {
		line = mapsrc_find(&r->mapset->src[kind], key);
		if (line == NULL)
			return 0;
		*val = line->value;
		return 1;
	}
	if (resolver_map(r, kind, &m) == -1)
		return -1;
	if ((ret = map_lookup(m, key, r->buf, RESOLVE_VALUE_MAX)) == 1)
		*val = r->buf;
	return ret;
}

/*
 * A quoted local part that needs no quotes, "alice"@d, is alice@d
 * (RFC 5321 4.1.2: the two forms are the same mailbox); any other stays
 * quoted, and matches no map key since the tools write none.
 */
static void
resolve_unquote(struct mailaddr *a)
{
	struct mailaddr	 u;
	char		 buf[ADDR_MAX + 1];
	const char	*p, *errstr;
	size_t		 n;

	if (a->local[0] != '"')
		return;
	for (n = 0, p = a->local + 1; *p != '\0' && *p != '"'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		if (n + 1 >= sizeof(buf))
			return;
		buf[n++] = *p;
	}
	buf[n] = '\0';
	if (strlcat(buf, "@", sizeof(buf)) >= sizeof(buf) ||
	    strlcat(buf, a->domain, sizeof(buf)) >= sizeof(buf))
		return;
	if (addr_parse(buf, &u, &errstr) == 0 && u.local[0] != '"')
		strlcpy(a->local, u.local, sizeof(a->local));
}

/*
 * The hosted form of an address: out is the address with an alias
 * domain replaced by its target and its local part unquoted where the
 * quotes are not needed.  RESOLVE_LOCAL if the domain is
 * hosted, RESOLVE_REMOTE if not, RESOLVE_UNKNOWN if it is an alias
 * domain that leads nowhere or to another alias domain (newmaps and
 * the admin commands refuse both; a chain could loop), -1 on a map
 * error.
 */
static int
resolve_domain(struct resolver *r, const struct mailaddr *in,
    struct mailaddr *out)
{
	char		 domain[ADDR_DOMAIN_MAX + 1];
	char		 target[ADDR_DOMAIN_MAX + 1];
	const char	*val, *errstr;
	int		 ret;

	*out = *in;
	addr_lower(out->domain);
	if ((ret = resolver_get(r, MAP_DOMAINS, out->domain, &val)) != 1)
		return ret == 0 ? RESOLVE_REMOTE : -1;
	resolve_unquote(out);
	if (mapsrc_domain_attr(val, "alias", target, sizeof(target)) == NULL)
		return RESOLVE_LOCAL;
	if (addr_domain_canon(target, domain, sizeof(domain), &errstr) == -1)
		return RESOLVE_UNKNOWN;
	if ((ret = resolver_get(r, MAP_DOMAINS, domain, &val)) != 1)
		return ret == 0 ? RESOLVE_UNKNOWN : -1;
	if (mapsrc_domain_attr(val, "alias", target, sizeof(target)) != NULL)
		return RESOLVE_UNKNOWN;
	strlcpy(out->domain, domain, sizeof(out->domain));
	return RESOLVE_LOCAL;
}

/* 1 for postmaster@ and abuse@ (RFC 5321 4.5.1, RFC 2142), any case. */
static int
resolve_is_role(const struct mailaddr *a)
{
	return strcasecmp(a->local, "postmaster") == 0 ||
	    strcasecmp(a->local, "abuse") == 0;
}

/* 1 if a hosted address is a mailbox or an alias, 0 if not, -1. */
static int
resolve_name(struct resolver *r, const struct mailaddr *a)
{
	char		 key[ADDR_MAX + 1];
	const char	*val;
	int		 ret;

	if (addr_key(a, key, sizeof(key)) == -1)
		return 0;
	if ((ret = resolver_get(r, MAP_USERS, key, &val)) != 0)
		return ret;
	return resolver_get(r, MAP_ALIASES, key, &val);
}

int
resolve_rcpt(struct resolver *r, const struct mailaddr *addr)
{
	struct mailaddr	 a, base;
	char		 key[ADDR_DOMAIN_MAX + 2];
	const char	*val;
	int		 ret, tagged;

	if ((ret = resolve_domain(r, addr, &a)) != RESOLVE_LOCAL)
		return ret;
	if ((ret = resolve_name(r, &a)) != 0)
		return ret == 1 ? RESOLVE_LOCAL : -1;
	tagged = addr_strip_tag(&a, r->conf->recipient_delimiter, &base);
	if (tagged && (ret = resolve_name(r, &base)) != 0)
		return ret == 1 ? RESOLVE_LOCAL : -1;
	if (resolve_is_role(&a) || (tagged && resolve_is_role(&base)))
		return RESOLVE_LOCAL;
	snprintf(key, sizeof(key), "@%s", a.domain);
	if ((ret = resolver_get(r, MAP_ALIASES, key, &val)) == -1)
		return -1;
	return ret == 1 ? RESOLVE_LOCAL : RESOLVE_UNKNOWN;
}

int
resolve_domain_attr(struct resolver *r, const char *domain, const char *attr,
    char *buf, size_t len)
{
	char		 key[ADDR_DOMAIN_MAX + 1];
	const char	*val;
	int		 ret;

	if (strlcpy(key, domain, sizeof(key)) >= sizeof(key))
		return 0;
	addr_lower(key);
	if ((ret = resolver_get(r, MAP_DOMAINS, key, &val)) != 1)
		return ret;
	return mapsrc_domain_attr(val, attr, buf, len) != NULL;
}

int
resolve_domain_compiled(const struct conf *conf, const char *domain,
    const char *value)
{
	struct map	*m;
	char		*buf;
	int		 ret;

	if ((m = map_open(conf->mapdir, mapsrc_names[MAP_DOMAINS])) == NULL)
		return errno == ENOENT ? 0 : -1;
	if ((buf = malloc(RESOLVE_VALUE_MAX)) == NULL) {
		map_close(m);
		return -1;
	}
	if ((ret = map_lookup(m, domain, buf, RESOLVE_VALUE_MAX)) == 1)
		ret = strcmp(buf, value) == 0;
	free(buf);
	map_close(m);
	return ret;
}

/* FNV-1a: short keys, no adversary who can choose many of them. */
static uint32_t
seen_hash(const char *s)
{
	uint32_t	h = 2166136261U;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619U;
	}
	return h;
}

static struct seen_entry *
seen_slot(struct seen *s, const char *key)
{
	size_t	i;

	i = seen_hash(key) & (s->size - 1);
	while (s->tab[i].key != NULL && strcmp(s->tab[i].key, key) != 0)
		i = (i + 1) & (s->size - 1);
	return &s->tab[i];
}

static int
seen_grow(struct seen *s)
{
	struct seen	 old = *s;
	size_t		 i;

	s->size = old.size == 0 ? 32 : old.size * 2;
	if ((s->tab = calloc(s->size, sizeof(*s->tab))) == NULL) {
		*s = old;
		return -1;
	}
	for (i = 0; i < old.size; i++)
		if (old.tab[i].key != NULL)
			*seen_slot(s, old.tab[i].key) = old.tab[i];
	free(old.tab);
	return 0;
}

/* The state of key: SEEN_ACTIVE, SEEN_DONE, or 0 if never met. */
static int
seen_get(struct seen *s, const char *key)
{
	if (s->size == 0)
		return 0;
	return seen_slot(s, key)->state;
}

/* Marks key with state; 0, or -1 if memory runs out. */
static int
seen_set(struct seen *s, const char *key, int state)
{
	struct seen_entry	*e;

	if ((s->count + 1) * 2 > s->size && seen_grow(s) == -1)
		return -1;
	e = seen_slot(s, key);
	if (e->key == NULL) {
		if ((e->key = strdup(key)) == NULL)
			return -1;
		s->count++;
	}
	e->state = state;
	return 0;
}

/*
 * Starts the expansion of key: 1 if it may go on (key is now active),
 * 0 if key was met before (a duplicate, or a loop when it is still
 * being expanded further up), -1 if memory runs out.
 */
static int
seen_enter(struct expand *e, const char *key)
{
	switch (seen_get(&e->seen, key)) {
	case SEEN_ACTIVE:
		e->loop = 1;
		return 0;
	case SEEN_DONE:
		return 0;
	}
	return seen_set(&e->seen, key, SEEN_ACTIVE) == -1 ? -1 : 1;
}

static void
seen_free(struct seen *s)
{
	size_t	i;

	for (i = 0; i < s->size; i++)
		free(s->tab[i].key);
	free(s->tab);
}

/* A new, zeroed target with addr set; NULL if memory runs out. */
static struct resolve_target *
expand_target(struct expand *e, const char *addr)
{
	struct resolve_target	*t;
	size_t			 cap;

	if (e->ntargets == e->cap) {
		cap = e->cap == 0 ? 4 : e->cap * 2;
		t = reallocarray(e->targets, cap, sizeof(*t));
		if (t == NULL)
			return NULL;
		e->targets = t;
		e->cap = cap;
	}
	t = &e->targets[e->ntargets++];
	memset(t, 0, sizeof(*t));
	strlcpy(t->addr, addr, sizeof(t->addr));
	return t;
}

/*
 * A remote address is one target per spelling of its local part, which
 * only the remote host may fold (RFC 5321 2.4); its domain is lower
 * case already (resolve_domain).
 */
static int
expand_remote(struct expand *e, const struct mailaddr *a)
{
	char	addr[ADDR_MAX + 1];
	int	n, ret;

	n = snprintf(addr, sizeof(addr), "%s@%s", a->local, a->domain);
	if (n < 0 || (size_t)n >= sizeof(addr)) {
		errno = EINVAL;
		return -1;
	}
	if ((ret = seen_enter(e, addr)) != 1)
		return ret;
	if (seen_set(&e->seen, addr, SEEN_DONE) == -1)
		return -1;
	return expand_target(e, addr) == NULL ? -1 : 0;
}

/* A mailbox, from its users map value. */
static int
expand_mailbox(struct expand *e, const char *key, const char *val)
{
	struct mapsrc_user	 u;
	struct resolve_target	*t;
	const char		*errstr;

	if (mapsrc_user_parse(val, &u, &errstr) == -1) {
		errno = EINVAL;
		return -1;
	}
	if ((t = expand_target(e, key)) == NULL)
		return -1;
	t->local = 1;
	strlcpy(t->maildir, u.home, sizeof(t->maildir));
	t->quota = u.quota;
	return 0;
}

static int
expand_unknown(struct expand *e, const char *key)
{
	struct resolve_target	*t;

	if ((t = expand_target(e, key)) == NULL)
		return -1;
	t->unknown = 1;
	return 0;
}

/*
 * The targets of an alias, "a@b, c@d" as the map stores them.  A
 * target that does not parse was not written by our tools: a map to
 * fix, so a temporary failure rather than mail lost to a guess.
 */
static int
expand_list(struct expand *e, const char *val, int depth)
{
	struct mailaddr	 a;
	char		*list, *p, *item;
	const char	*errstr;
	int		 ret;

	if ((list = strdup(val)) == NULL)
		return -1;
	ret = 0;
	p = list;
	while (ret == 0 && (item = strsep(&p, ",")) != NULL) {
		item += strspn(item, " \t");
		item[strcspn(item, " \t")] = '\0';
		if (*item == '\0')
			continue;
		if (addr_parse(item, &a, &errstr) == -1) {
			errno = EINVAL;
			ret = -1;
		} else
			ret = expand_addr(e, &a, depth, 0);
	}
	free(list);
	return ret;
}

/* postmaster@ or abuse@ of a domain that defines no alias for it. */
static int
expand_postmaster(struct expand *e, int depth)
{
	struct mailaddr	 a;
	const char	*errstr;

	if (addr_parse(e->r->conf->postmaster, &a, &errstr) == -1) {
		errno = EINVAL;
		return -1;
	}
	return expand_addr(e, &a, depth, 0);
}

/*
 * A hosted address, already marked active under key: a mailbox, an
 * alias, the same without its +tag, a role address, the catch-all.
 * top: the address the caller asked for, which resolving to nothing
 * is not a target but the answer 0.
 */
static int
expand_hosted(struct expand *e, const struct mailaddr *a, const char *key,
    int depth, int top)
{
	struct mailaddr	 base;
	char		 catchall[ADDR_DOMAIN_MAX + 2];
	const char	*val;
	int		 ret;

	if ((ret = resolver_get(e->r, MAP_USERS, key, &val)) != 0)
		return ret == 1 ? expand_mailbox(e, key, val) : -1;
	if ((ret = resolver_get(e->r, MAP_ALIASES, key, &val)) != 0)
		return ret == 1 ? expand_list(e, val, depth + 1) : -1;
	if (addr_strip_tag(a, e->r->conf->recipient_delimiter, &base))
		return expand_addr(e, &base, depth + 1, top);
	if (resolve_is_role(a))
		return expand_postmaster(e, depth + 1);
	if (e->nocatchall)
		return top ? 0 : expand_unknown(e, key);
	snprintf(catchall, sizeof(catchall), "@%s", a->domain);
	if ((ret = resolver_get(e->r, MAP_ALIASES, catchall, &val)) == 0)
		return top ? 0 : expand_unknown(e, key);
	if (ret == -1)
		return -1;
	/* A catch-all that leads back into itself is a loop. */
	if ((ret = seen_enter(e, catchall)) != 1)
		return ret;
	ret = expand_list(e, val, depth + 1);
	if (seen_set(&e->seen, catchall, SEEN_DONE) == -1)
		return -1;
	return ret;
}

static int
expand_addr(struct expand *e, const struct mailaddr *addr, int depth,
    int top)
{
	struct mailaddr	 a;
	char		 key[ADDR_MAX + 1];
	int		 ret, go;

	if (depth > RESOLVE_DEPTH_MAX) {
		e->loop = 1;
		return 0;
	}
	if ((ret = resolve_domain(e->r, addr, &a)) == -1)
		return -1;
	if (ret == RESOLVE_REMOTE)
		return expand_remote(e, &a);
	if (addr_key(&a, key, sizeof(key)) == -1) {
		errno = EINVAL;
		return -1;
	}
	if ((go = seen_enter(e, key)) != 1)
		return go;
	if (ret == RESOLVE_UNKNOWN)
		ret = top ? 0 : expand_unknown(e, key);
	else
		ret = expand_hosted(e, &a, key, depth, top);
	if (seen_set(&e->seen, key, SEEN_DONE) == -1)
		return -1;
	return ret;
}

int
resolve_expand(struct resolver *r, const struct mailaddr *addr,
    struct resolve_target **targets)
{
	struct expand	e;
	int		saved;

	memset(&e, 0, sizeof(e));
	e.r = r;
	*targets = NULL;
	if (expand_addr(&e, addr, 0, 1) == -1) {
		saved = errno;
		free(e.targets);
		seen_free(&e.seen);
		errno = saved;
		return -1;
	}
	seen_free(&e.seen);
	if (e.ntargets == 0) {
		free(e.targets);
		return e.loop ? -2 : 0;
	}
	if (e.ntargets > INT32_MAX) {
		free(e.targets);
		errno = EOVERFLOW;
		return -1;
	}
	*targets = e.targets;
	return (int)e.ntargets;
}

/* 1 if the senders= attribute of domain lists login, 0 if not, -1. */
static int
sender_listed(struct resolver *r, const char *domain, const char *login)
{
	char		 list[ADDR_DOMAIN_MAX + 1], *p, *item;
	const char	*val;
	int		 ret;

	if ((ret = resolver_get(r, MAP_DOMAINS, domain, &val)) != 1)
		return ret;
	if (mapsrc_domain_attr(val, "senders", list, sizeof(list)) == NULL)
		return 0;
	for (p = list; (item = strsep(&p, ",")) != NULL;)
		if (strcasecmp(item, login) == 0)
			return 1;
	return 0;
}

/*
 * 1 if the expansion of a hosted address reaches the mailbox login.
 * A catch-all takes mail for names no one has, which makes no one
 * their owner: it is left out.
 */
static int
sender_reaches(struct resolver *r, const struct mailaddr *addr,
    const char *login)
{
	struct expand	 e;
	size_t		 i;
	int		 ret, found = 0;

	memset(&e, 0, sizeof(e));
	e.r = r;
	e.nocatchall = 1;
	ret = expand_addr(&e, addr, 0, 1);
	for (i = 0; ret == 0 && i < e.ntargets; i++)
		if (e.targets[i].local &&
		    strcasecmp(e.targets[i].addr, login) == 0)
			found = 1;
	free(e.targets);
	seen_free(&e.seen);
	return ret == -1 ? -1 : found;
}

int
resolve_sender_owned(struct resolver *r, const struct mailaddr *addr,
    const char *login)
{
	struct mailaddr	 a;
	char		 domain[ADDR_DOMAIN_MAX + 1];
	int		 ret;

	if ((ret = resolve_domain(r, addr, &a)) != RESOLVE_LOCAL)
		return ret == -1 ? -1 : 0;
	strlcpy(domain, addr->domain, sizeof(domain));
	addr_lower(domain);
	if ((ret = sender_listed(r, a.domain, login)) != 0)
		return ret;
	if (strcmp(domain, a.domain) != 0 &&
	    (ret = sender_listed(r, domain, login)) != 0)
		return ret;
	return sender_reaches(r, &a, login);
}
