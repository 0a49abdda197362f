/*
 * mailalias(8): adds, removes and lists the aliases and catch-alls of
 * the aliases map (mailmaps(5)).
 *
 * Every change is made under the lock of the mapdir, to the text map
 * and its .db together (mapset_install), and only after every check
 * passed: a refused command changes no file.  Whether a target in a
 * hosted domain leads somewhere is decided by the resolver that smtpd
 * and deliver use, run over the text maps being edited.
 *
 * It may be installed set-ID to the mail user, for the owners of
 * domains (owner= in the domains map): they change the aliases of
 * their own domains alone.  See caller.c, and SECURITY in mailalias(8).
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "libmail.h"

/* An alias name: "local@domain", or "@domain" for the catch-all. */
struct alias_name {
	char	key[ADDR_DOMAIN_MAX + 2];	/* lower case */
	char	domain[ADDR_DOMAIN_MAX + 1];
	int	catchall;
};

/* The targets of one alias, in the order they were added. */
struct alias_targets {
	char	**v;
	size_t	  n;
};

/* Who runs us: root, the mail user, or the owner of some domains. */
static struct caller caller;

static __dead void usage(void);
static void	 caller_setup(const struct conf *);
static void	 check_owner(struct mapset *, const struct conf *,
		    const struct alias_name *);
static int	 owned(struct mapset *, const char *);
static void	 alias_name_parse(const char *, struct alias_name *);
static const char *alias_key_domain(const char *);
static int	 alias_addr_format(const struct mailaddr *, char *, size_t);
static void	 mapset_load(struct mapset *, const struct conf *, int);
static void	 check_writer(const struct conf *);
static void	 targets_split(struct alias_targets *, const char *);
static ssize_t	 targets_find(const struct alias_targets *, const char *);
static void	 targets_push(struct alias_targets *, const char *);
static void	 targets_free(struct alias_targets *);
static void	 alias_edit(struct mapset *, struct mapsrc_line *,
		    const struct alias_name *, const struct alias_targets *);
static void	 alias_install(struct mapset *);
static int	 alias_led_through(struct mapset *, const struct conf *,
		    const struct mailaddr *, const struct alias_name *);
static void	 alias_check_orphans(struct mapset *, const struct conf *,
		    const struct alias_name *);
static void	 alias_check_domain(struct mapset *, const struct conf *,
		    const struct alias_name *);
static void	 alias_check_max(struct mapset *, const struct alias_name *);
static void	 alias_target(struct resolver *, const struct alias_name *,
		    const char *, char *, size_t);
static int	 cmd_add(const struct conf *, int, char **);
static int	 cmd_del(const struct conf *, int, char **);
static int	 cmd_list(const struct conf *, int, char **);
static int	 list_cmp(const void *, const void *);

static __dead void
usage(void)
{
	fprintf(stderr,
	    "usage: mailalias [-C file] add address target ...\n"
	    "       mailalias [-C file] del address [target ...]\n"
	    "       mailalias [-C file] list [domain]\n");
	exit(EX_USAGE);
}

int
main(int argc, char *argv[])
{
	struct conf	 conf;
	const char	*path = NULL;
	char		 errbuf[PATH_MAX + 256];
	int		 ch, ret;

	if (caller_init(&caller) == -1)
		err(EX_OSERR, "cannot reset the process state");
	/* Options end at the command: "-x@example.org" is an address. */
	while ((ch = getopt(argc, argv, "+C:")) != -1) {
		switch (ch) {
		case 'C':
			path = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (strcmp(argv[0], "add") != 0 && strcmp(argv[0], "del") != 0 &&
	    strcmp(argv[0], "list") != 0)
		usage();
	/* "add -- -x@example.org ...", as getopt(3) users would write it. */
	if (argc > 1 && strcmp(argv[1], "--") == 0) {
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	/* Another mail.conf would name other maps: root's choice alone. */
	if (path != NULL && caller.setid && caller.uid != 0)
		errx(EX_NOPERM, "-C: only root may name another configuration "
		    "to a set-ID mailalias");
	if (conf_load(&conf, path != NULL ? path : MAIL_CONF, errbuf,
	    sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	caller_setup(&conf);
	if (strcmp(argv[0], "add") == 0)
		ret = cmd_add(&conf, argc - 1, argv + 1);
	else if (strcmp(argv[0], "del") == 0)
		ret = cmd_del(&conf, argc - 1, argv + 1);
	else
		ret = cmd_list(&conf, argc - 1, argv + 1);
	conf_free(&conf);
	return ret;
}

/*
 * A set-ID mailalias becomes the mail user (or root) for good; an
 * owner is then held to a mapdir and a mail.conf no one else can
 * change under it (caller.c).
 */
static void
caller_setup(const struct conf *conf)
{
	char	 errbuf[PATH_MAX + 256];
	uid_t	 uid;
	gid_t	 gid;

	caller_close_fds(-1);
	if (conf_user_ids(conf, &uid, &gid, errbuf, sizeof(errbuf)) == -1) {
		if (caller.setid)
			errx(EX_CONFIG, "%s: %s", conf->path, errbuf);
		/* Not set-ID: the caller's own rights decide. */
		uid = (uid_t)-1;
		gid = (gid_t)-1;
	}
	if (caller_become(&caller, uid, gid, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	if (!caller.delegated || !caller.setid)
		return;
	if (caller.login[0] == '\0')
		errx(EX_NOPERM, "uid %u has no login name to own a domain",
		    (unsigned)caller.uid);
	if (caller_conf_check(conf->path, errbuf, sizeof(errbuf)) == -1 ||
	    caller_mapdir_check(conf->mapdir, uid, errbuf,
	    sizeof(errbuf)) == -1)
		errx(EX_NOPERM, "%s", errbuf);
}

/* 1 if the caller may change the aliases of domain (owner=). */
static int
owned(struct mapset *ms, const char *domain)
{
	struct mapsrc_line	*d;

	if (!caller.delegated)
		return 1;
	d = mapsrc_find(&ms->src[MAP_DOMAINS], domain);
	return d != NULL && caller_owns(&caller, d->value);
}

/*
 * An owner's alias or catch-all is of its own domains, so that it can
 * capture no one else's address; its targets may be anywhere (that is
 * forwarding).  postmaster@ and abuse@ stay the administrator's (RFC
 * 2142: complaints about a domain must reach whoever runs the host).
 * The same refusal whether or not the domain exists.
 */
static void
check_owner(struct mapset *ms, const struct conf *conf,
    const struct alias_name *an)
{
	const char	*local = an->key;

	if (!caller.delegated)
		return;
	if (!owned(ms, an->domain))
		errx(EX_NOPERM, "%s: domain %s is not one of %s's (owner= in "
		    "%s/domains)", an->key, an->domain, caller.login,
		    conf->mapdir);
	if (!an->catchall && (strncmp(local, "postmaster@", 11) == 0 ||
	    strncmp(local, "abuse@", 6) == 0))
		errx(EX_NOPERM, "%s: postmaster@ and abuse@ are the "
		    "administrator's", an->key);
}

/* Parses an alias name from the command line, or exits EX_DATAERR. */
static void
alias_name_parse(const char *arg, struct alias_name *an)
{
	struct mailaddr	 ma;
	const char	*errstr;

	memset(an, 0, sizeof(*an));
	if (arg[0] == '@') {
		if (addr_domain_canon(arg + 1, an->domain, sizeof(an->domain),
		    &errstr) == -1)
			errx(EX_DATAERR, "%s: %s", arg, errstr);
		snprintf(an->key, sizeof(an->key), "@%s", an->domain);
		an->catchall = 1;
		return;
	}
	if (addr_parse_safe(arg, &ma, &errstr) == -1)
		errx(EX_DATAERR, "%s: %s", arg, errstr);
	if (addr_key(&ma, an->key, sizeof(an->key)) == -1)
		errx(EX_DATAERR, "%s: address too long", arg);
	strlcpy(an->domain, ma.domain, sizeof(an->domain));
}

/* "local@domain" as parsed: the case of the local part kept; 0 or -1. */
static int
alias_addr_format(const struct mailaddr *ma, char *buf, size_t buflen)
{
	int	n;

	n = snprintf(buf, buflen, "%s@%s", ma->local, ma->domain);
	return n < 0 || (size_t)n >= buflen ? -1 : 0;
}

/* The domain of an aliases key: after its last '@'. */
static const char *
alias_key_domain(const char *key)
{
	const char	*at;

	at = strrchr(key, '@');
	return at == NULL ? key : at + 1;
}

/* One who cannot write the maps is told so before anything is read. */
static void
check_writer(const struct conf *conf)
{
	char	path[PATH_MAX + 8];

	if (access(conf->mapdir, W_OK) == -1)
		err(EX_NOPERM, "cannot write the maps in %s", conf->mapdir);
	/* Replaced by a rename: a set-ID caller may replace root's map. */
	if (caller.setid)
		return;
	snprintf(path, sizeof(path), "%s/aliases", conf->mapdir);
	if (access(path, W_OK) == -1 && errno != ENOENT)
		err(EX_NOPERM, "cannot write %s", path);
}

/*
 * Reads the three text maps, under the lock if lock is set.  A map
 * with bad lines is not edited: mapset_open reported each of them.
 */
static void
mapset_load(struct mapset *ms, const struct conf *conf, int lock)
{
	char	errbuf[256];
	uid_t	uid;
	gid_t	gid;
	int	nerr;

	/* A writer's lock file is made the mail user's (mailmaps(5)). */
	if (conf_user_ids(conf, &uid, &gid, errbuf, sizeof(errbuf)) == -1) {
		if (lock)
			errx(EX_CONFIG, "%s: %s", conf->path, errbuf);
		uid = (uid_t)-1;
		gid = (gid_t)-1;
	}
	if ((nerr = mapset_open_ids(ms, conf->mapdir, lock ? MAPSET_LOCK : 0,
	    uid, gid)) == -1)
		errx(errno == EWOULDBLOCK ? EX_TEMPFAIL : EX_IOERR,
		    "%s: cannot read the maps", conf->mapdir);
	if (nerr > 0)
		errx(EX_DATAERR, "%s: %d bad line%s in the maps, fix %s first",
		    conf->mapdir, nerr, nerr == 1 ? "" : "s",
		    nerr == 1 ? "it" : "them");
}

/* "a@b, c@d" as the aliases map stores it. */
static void
targets_split(struct alias_targets *t, const char *val)
{
	char	*list, *p, *item;

	if ((list = strdup(val)) == NULL)
		err(EX_OSERR, NULL);
	p = list;
	while ((item = strsep(&p, ",")) != NULL) {
		item += strspn(item, " \t");
		item[strcspn(item, " \t")] = '\0';
		if (*item != '\0')
			targets_push(t, item);
	}
	free(list);
}

/* The index of target in t (addresses compare without case), or -1. */
static ssize_t
targets_find(const struct alias_targets *t, const char *target)
{
	size_t	i;

	for (i = 0; i < t->n; i++)
		if (strcasecmp(t->v[i], target) == 0)
			return i;
	return -1;
}

static void
targets_push(struct alias_targets *t, const char *target)
{
	char	**v;

	if ((v = reallocarray(t->v, t->n + 1, sizeof(*v))) == NULL)
		err(EX_OSERR, NULL);
	t->v = v;
	if ((t->v[t->n] = strdup(target)) == NULL)
		err(EX_OSERR, NULL);
	t->n++;
}

static void
targets_free(struct alias_targets *t)
{
	size_t	i;

	for (i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/*
 * Puts "key: target, target" in place of line (NULL: a new alias), or
 * removes line when no target remains; in memory, installed later.
 */
static void
alias_edit(struct mapset *ms, struct mapsrc_line *line,
    const struct alias_name *an, const struct alias_targets *t)
{
	char	*text;
	size_t	 len, i;
	int	 ret;

	if (t->n == 0) {
		mapsrc_remove(&ms->src[MAP_ALIASES], line);
		return;
	}
	len = strlen(an->key) + 2;
	for (i = 0; i < t->n; i++)
		len += strlen(t->v[i]) + 2;
	/* len counts a ", " after the last target: the line is shorter. */
	if (len - 2 > MAPSRC_LINE_MAX)
		errx(EX_DATAERR, "%s: too many targets for one line of %d "
		    "characters", an->key, MAPSRC_LINE_MAX);
	if ((text = malloc(len + 1)) == NULL)
		err(EX_OSERR, NULL);
	strlcpy(text, an->key, len + 1);
	for (i = 0; i < t->n; i++) {
		strlcat(text, i == 0 ? ": " : ", ", len + 1);
		strlcat(text, t->v[i], len + 1);
	}
	if (line == NULL)
		ret = mapsrc_add(&ms->src[MAP_ALIASES], text);
	else
		ret = mapsrc_replace(&ms->src[MAP_ALIASES], line, text);
	free(text);
	if (ret == -1)
		errx(EX_SOFTWARE, "%s: cannot add the alias", an->key);
}

static void
alias_install(struct mapset *ms)
{
	if (mapset_install(ms, 1 << MAP_ALIASES, (gid_t)-1) == -1)
		errx(EX_IOERR, "%s: the aliases map is unchanged",
		    ms->mapdir);
}

/*
 * 1 if target ma may have led through the alias an: it is an, the same
 * with a +tag, or the same through an alias domain; or, an being a
 * catch-all, any address of its domain.
 */
static int
alias_led_through(struct mapset *ms, const struct conf *conf,
    const struct mailaddr *ma, const struct alias_name *an)
{
	struct mailaddr		 h, base;
	struct mapsrc_line	*d;
	char			 other[ADDR_DOMAIN_MAX + 1], key[ADDR_MAX + 1];

	h = *ma;
	d = mapsrc_find(&ms->src[MAP_DOMAINS], h.domain);
	if (d != NULL && mapsrc_domain_attr(d->value, "alias", other,
	    sizeof(other)) != NULL)
		strlcpy(h.domain, other, sizeof(h.domain));
	if (an->catchall)
		return strcasecmp(h.domain, an->domain) == 0;
	if (addr_key(&h, key, sizeof(key)) == 0 && strcmp(key, an->key) == 0)
		return 1;
	return addr_strip_tag(&h, conf->recipient_delimiter, &base) &&
	    addr_key(&base, key, sizeof(key)) == 0 &&
	    strcmp(key, an->key) == 0;
}

/*
 * Once the alias an is gone from the maps (in memory), no other alias
 * may keep a target that led through it and now leads nowhere: deliver
 * would bounce it, and newmaps -n would call the map broken.  Nor may
 * the postmaster of mail.conf, which every domain's postmaster@ and
 * abuse@ reach: smtpd would accept them, and deliver bounce.  Refuses,
 * naming those aliases, as mailadduser del does for a mailbox.
 */
static void
alias_check_orphans(struct mapset *ms, const struct conf *conf,
    const struct alias_name *an)
{
	struct resolver		 res;
	struct mapsrc		*src = &ms->src[MAP_ALIASES];
	struct alias_targets	 t;
	struct mailaddr		 ma;
	const char		*errstr;
	size_t			 i, j, n;
	int			 pm = 0;

	resolver_open_mapset(&res, conf, ms);
	memset(&t, 0, sizeof(t));
	for (i = n = 0; i < src->nlines; i++) {
		if (src->lines[i].key == NULL)
			continue;
		targets_split(&t, src->lines[i].value);
		for (j = 0; j < t.n; j++) {
			if (addr_parse_safe(t.v[j], &ma, &errstr) == -1 ||
			    !alias_led_through(ms, conf, &ma, an) ||
			    resolve_rcpt(&res, &ma) != RESOLVE_UNKNOWN)
				continue;
			warnx("%s: the target %s of the alias %s would lead "
			    "nowhere", an->key, t.v[j], src->lines[i].key);
			n++;
			break;
		}
		targets_free(&t);
	}
	/* postmaster@ and abuse@ of every domain reach mail.conf's. */
	if (addr_parse(conf->postmaster, &ma, &errstr) == 0 &&
	    alias_led_through(ms, conf, &ma, an) &&
	    resolve_rcpt(&res, &ma) == RESOLVE_UNKNOWN) {
		warnx("%s: the postmaster %s of %s would lead nowhere",
		    an->key, conf->postmaster, conf->path);
		pm = 1;
	}
	resolver_close(&res);
	if (n > 0)
		errx(EX_DATAERR, "%s: still needed by %zu alias%s; change "
		    "%s first", an->key, n, n == 1 ? "" : "es",
		    n == 1 ? "it" : "them");
	if (pm)
		errx(EX_DATAERR, "%s: still needed by the postmaster of %s; "
		    "change it first", an->key, conf->path);
}

/* The alias's domain must be hosted, and not as an alias domain. */
static void
alias_check_domain(struct mapset *ms, const struct conf *conf,
    const struct alias_name *an)
{
	struct mapsrc_line	*dom;
	char			 other[ADDR_DOMAIN_MAX + 1];

	if ((dom = mapsrc_find(&ms->src[MAP_DOMAINS], an->domain)) == NULL)
		errx(EX_DATAERR, "%s: domain %s is not hosted", an->key,
		    an->domain);
	/* smtpd and deliver host what domains.db holds. */
	switch (resolve_domain_compiled(conf, an->domain, dom->value)) {
	case 0:
		errx(EX_DATAERR, "%s: domain %s is not in %s/domains.db as "
		    "the domains file has it; run newmaps first", an->key,
		    an->domain, conf->mapdir);
	case -1:
		err(EX_NOINPUT, "%s/domains.db", conf->mapdir);
	}
	if (mapsrc_domain_attr(dom->value, "alias", other,
	    sizeof(other)) != NULL)
		errx(EX_DATAERR, "%s: %s is an alias domain of %s; "
		    "add the alias in %s", an->key, an->domain, other, other);
	if (!an->catchall &&
	    mapsrc_find(&ms->src[MAP_USERS], an->key) != NULL)
		errx(EX_DATAERR, "%s: is a mailbox; an alias may not "
		    "shadow it", an->key);
}

/* A new alias of a domain: its maxaliases counts catch-alls too. */
static void
alias_check_max(struct mapset *ms, const struct alias_name *an)
{
	struct mapsrc_line	*dom, *l;
	struct mapsrc		*src = &ms->src[MAP_ALIASES];
	char			 buf[32];
	const char		*errstr;
	long long		 max;
	size_t			 i, n;

	dom = mapsrc_find(&ms->src[MAP_DOMAINS], an->domain);
	if (mapsrc_domain_attr(dom->value, "maxaliases", buf,
	    sizeof(buf)) == NULL)
		return;
	max = strtonum(buf, 0, LLONG_MAX, &errstr);
	if (errstr != NULL)
		errx(EX_DATAERR, "%s: maxaliases=%s of %s is %s", an->key,
		    buf, an->domain, errstr);
	for (i = n = 0; i < src->nlines; i++) {
		l = &src->lines[i];
		if (l->key != NULL &&
		    strcmp(alias_key_domain(l->key), an->domain) == 0)
			n++;
	}
	if ((long long)n >= max)
		errx(EX_DATAERR, "%s: domain %s has its maximum of %lld "
		    "aliases", an->key, an->domain, max);
}

/*
 * Checks one target given to add and puts its stored form in out: an
 * address in a hosted domain (in lower case, as map keys are) must
 * resolve to a mailbox, an alias or a catch-all, as smtpd would
 * accept it; a remote one keeps the case of its local part.
 */
static void
alias_target(struct resolver *res, const struct alias_name *an,
    const char *arg, char *out, size_t outlen)
{
	struct mailaddr	 ma;
	const char	*errstr;
	int		 ret;

	if (addr_parse_safe(arg, &ma, &errstr) == -1)
		errx(EX_DATAERR, "%s: target %s: %s", an->key, arg, errstr);
	if (addr_key(&ma, out, outlen) == -1)
		errx(EX_DATAERR, "%s: target %s: address too long", an->key,
		    arg);
	/* Also as x@aliasdomain or x+tag@: deliver would only loop. */
	if (strcmp(out, an->key) == 0 || (!an->catchall &&
	    alias_led_through(res->mapset, res->conf, &ma, an)))
		errx(EX_DATAERR, "%s: target %s: is the alias itself",
		    an->key, arg);
	ret = resolve_rcpt(res, &ma);
	if (ret == -1)
		errx(EX_SOFTWARE, "%s: target %s: cannot resolve", an->key,
		    arg);
	if (ret == RESOLVE_UNKNOWN)
		errx(EX_DATAERR, "%s: target %s: no such mailbox, alias or "
		    "catch-all in hosted domain %s", an->key, arg, ma.domain);
	if (ret == RESOLVE_REMOTE && alias_addr_format(&ma, out, outlen) == -1)
		errx(EX_DATAERR, "%s: target %s: address too long", an->key,
		    arg);
}

static int
cmd_add(const struct conf *conf, int argc, char **argv)
{
	struct mapset		 ms;
	struct resolver		 res;
	struct alias_name	 an;
	struct alias_targets	 t;
	struct mapsrc_line	*line;
	char			 target[ADDR_MAX + 1];
	size_t			 before;
	int			 i;

	if (argc < 2)
		usage();
	alias_name_parse(argv[0], &an);
	check_writer(conf);
	mapset_load(&ms, conf, 1);
	check_owner(&ms, conf, &an);
	alias_check_domain(&ms, conf, &an);
	memset(&t, 0, sizeof(t));
	if ((line = mapsrc_find(&ms.src[MAP_ALIASES], an.key)) != NULL)
		targets_split(&t, line->value);
	else
		alias_check_max(&ms, &an);
	before = t.n;
	resolver_open_mapset(&res, conf, &ms);
	for (i = 1; i < argc; i++) {
		alias_target(&res, &an, argv[i], target, sizeof(target));
		if (targets_find(&t, target) == -1)
			targets_push(&t, target);
	}
	resolver_close(&res);
	if (t.n > before) {
		alias_edit(&ms, line, &an, &t);
		alias_install(&ms);
	}
	targets_free(&t);
	mapset_close(&ms);
	return EX_OK;
}

static int
cmd_del(const struct conf *conf, int argc, char **argv)
{
	struct mapset		 ms;
	struct alias_name	 an;
	struct alias_targets	 t;
	struct mapsrc_line	*line;
	struct mailaddr		 ma;
	char			 target[ADDR_MAX + 1];
	const char		*errstr;
	ssize_t			 at;
	int			 i;

	if (argc < 1)
		usage();
	alias_name_parse(argv[0], &an);
	for (i = 1; i < argc; i++)
		if (addr_parse_safe(argv[i], &ma, &errstr) == -1)
			errx(EX_DATAERR, "%s: target %s: %s", an.key, argv[i],
			    errstr);
	check_writer(conf);
	mapset_load(&ms, conf, 1);
	check_owner(&ms, conf, &an);
	if ((line = mapsrc_find(&ms.src[MAP_ALIASES], an.key)) == NULL)
		errx(EX_NOUSER, "%s: no such alias", an.key);
	memset(&t, 0, sizeof(t));
	if (argc > 1)
		targets_split(&t, line->value);
	for (i = 1; i < argc; i++) {
		addr_parse_safe(argv[i], &ma, &errstr);
		if (alias_addr_format(&ma, target, sizeof(target)) == -1 ||
		    (at = targets_find(&t, target)) == -1)
			errx(EX_NOUSER, "%s: %s is not one of its targets",
			    an.key, argv[i]);
		free(t.v[at]);
		memmove(&t.v[at], &t.v[at + 1], (t.n - at - 1) * sizeof(*t.v));
		t.n--;
	}
	alias_edit(&ms, line, &an, &t);
	if (t.n == 0)
		alias_check_orphans(&ms, conf, &an);
	alias_install(&ms);
	targets_free(&t);
	mapset_close(&ms);
	return EX_OK;
}

/* By domain, then by address, the catch-all first of its domain. */
static int
list_cmp(const void *a, const void *b)
{
	const struct mapsrc_line	*la = *(const struct mapsrc_line *const *)a;
	const struct mapsrc_line	*lb = *(const struct mapsrc_line *const *)b;
	int				 c;

	c = strcmp(alias_key_domain(la->key), alias_key_domain(lb->key));
	if (c != 0)
		return c;
	/* Not by strcmp alone: '-' and digits sort before '@'. */
	if ((la->key[0] == '@') != (lb->key[0] == '@'))
		return la->key[0] == '@' ? -1 : 1;
	return strcmp(la->key, lb->key);
}

static int
cmd_list(const struct conf *conf, int argc, char **argv)
{
	struct mapset		  ms;
	struct mapsrc		 *src;
	struct mapsrc_line	**v;
	char			  domain[ADDR_DOMAIN_MAX + 1];
	const char		 *errstr;
	size_t			  i, n;

	if (argc > 1)
		usage();
	if (argc == 1) {
		if (addr_domain_canon(argv[0], domain, sizeof(domain),
		    &errstr) == -1)
			errx(EX_DATAERR, "%s: %s", argv[0], errstr);
	}
	mapset_load(&ms, conf, 0);
	if (argc == 1 && !owned(&ms, domain))
		errx(EX_NOPERM, "%s: domain %s is not one of %s's (owner= in "
		    "%s/domains)", domain, domain, caller.login, conf->mapdir);
	if (argc == 1 && mapsrc_find(&ms.src[MAP_DOMAINS], domain) == NULL)
		errx(EX_DATAERR, "%s: domain not hosted", domain);
	src = &ms.src[MAP_ALIASES];
	if ((v = reallocarray(NULL, src->nlines + 1, sizeof(*v))) == NULL)
		err(EX_OSERR, NULL);
	for (i = n = 0; i < src->nlines; i++) {
		if (src->lines[i].key == NULL)
			continue;
		if (argc == 1 &&
		    strcmp(alias_key_domain(src->lines[i].key), domain) != 0)
			continue;
		if (!owned(&ms, alias_key_domain(src->lines[i].key)))
			continue;
		v[n++] = &src->lines[i];
	}
	qsort(v, n, sizeof(*v), list_cmp);
	for (i = 0; i < n; i++)
		printf("%s: %s\n", v[i]->key, v[i]->value);
	free(v);
	mapset_close(&ms);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(EX_IOERR, "stdout");
	return EX_OK;
}
