/*
 * mailadduser(8): adds, removes, changes and lists mailboxes.
 *
 * The users map is read and written only through mapsrc.c, under the
 * lock of the mapdir, so that two admins (or twenty scripts) never lose
 * each other's changes.  Whatever fails, every file is left as it was:
 * the Maildir of a new mailbox is made before the maps name it and
 * removed again if they cannot be installed, and a deleted mailbox's
 * Maildir goes to the attic before the maps forget it and comes back
 * if they cannot.
 *
 * It may be installed set-ID to the mail user, so that the owners of
 * domains (owner= in the domains map) run it on their own domains and
 * on nothing else: see caller.c, and SECURITY in mailadduser(8).
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "mailadduser.h"

static const char *conffile;

static int	 cmd_add(struct ctx *, int, char **);
static int	 cmd_del(struct ctx *, int, char **);
static int	 cmd_passwd(struct ctx *, int, char **);
static int	 cmd_mod(struct ctx *, int, char **);
static uint64_t	 parse_quota(const char *);
static void	 check_writer(const struct ctx *);
static void	 check_new(struct ctx *, const struct mailaddr *,
		    const char *);
static void	 check_compiled(struct ctx *, const char *, const char *,
		    const char *);
static uint64_t	 domain_quota(struct ctx *, const char *);
static void	 check_quota(struct ctx *, const char *, const char *,
		    uint64_t);
static void	 check_not_target(struct ctx *, const char *);
static int	 target_is(struct ctx *, const char *, const char *);
static int	 check_home(const struct ctx *, const char *, const char *);
static int	 attic_same_fs(const char *, const char *);
static int	 attic_move(const struct ctx *, const char *, const char *,
		    char *, size_t);
static void	 install_users(struct ctx *, const char *undo_created,
		    const char *undo_from, const char *undo_to);
static void	 put_user(struct ctx *, const char *key,
		    const struct mapsrc_user *, struct mapsrc_line *);
static void	 block_signals(void);
static void	 ctx_maps_close(struct ctx *);
static int	 update_user(struct ctx *, const char *, struct mapsrc_user *,
		    struct mapsrc_line *);

static const struct {
	const char *name;
	int	(*fn)(struct ctx *, int, char **);
} commands[] = {
	{ "add",	cmd_add },
	{ "del",	cmd_del },
	{ "passwd",	cmd_passwd },
	{ "mod",	cmd_mod },
	{ "list",	cmd_list },
	{ "info",	cmd_info },
};

__dead void
usage(void)
{
	fprintf(stderr,
	    "usage: mailadduser [-C file] add [-q quota] [-s scheme] "
	    "[-h fd | -H fd] address\n"
	    "       mailadduser [-C file] del [-f] address\n"
	    "       mailadduser [-C file] passwd [-s scheme] [-h fd | -H fd] "
	    "address\n"
	    "       mailadduser [-C file] mod [-q quota] [-L | -U] address\n"
	    "       mailadduser [-C file] list [domain]\n"
	    "       mailadduser [-C file] info [-j] address\n");
	exit(EX_USAGE);
}

int
main(int argc, char *argv[])
{
	struct ctx ctx;
	size_t	 i;
	int	 ch;

	memset(&ctx, 0, sizeof(ctx));
	ctx.keepfd = -1;
	if (caller_init(&ctx.caller) == -1)
		err(EX_OSERR, "cannot reset the process state");
	while ((ch = getopt(argc, argv, "+C:")) != -1) {
		switch (ch) {
		case 'C':
			conffile = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	/* Another mail.conf would name other maps: root's choice alone. */
	if (conffile != NULL && ctx.caller.setid && ctx.caller.uid != 0)
		errx(EX_NOPERM, "-C: only root may name another configuration "
		    "to a set-ID mailadduser");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name) == 0) {
			/* Rescan from argv[1]: argv[0] is the subcommand. */
			optind = 0;
			return commands[i].fn(&ctx, argc, argv);
		}
	}
	warnx("%s: unknown command", argv[0]);
	usage();
}

/* Reads mail.conf and the mail user; write: refuse who cannot write. */
void
ctx_load(struct ctx *ctx, int write)
{
	char	 errbuf[PATH_MAX + 256];

	caller_close_fds(ctx->keepfd);
	if (conf_load(&ctx->conf, conffile != NULL ? conffile : MAIL_CONF,
	    errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	if (conf_user_ids(&ctx->conf, &ctx->uid, &ctx->gid, errbuf,
	    sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s: %s", ctx->conf.path, errbuf);
	if (caller_become(&ctx->caller, ctx->uid, ctx->gid, errbuf,
	    sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	if (write)
		check_writer(ctx);
	/* Not set-ID: the caller's own rights decide what it can read. */
	if (!ctx->caller.delegated || !ctx->caller.setid)
		return;
	if (ctx->caller.login[0] == '\0')
		errx(EX_NOPERM, "uid %u has no login name to own a domain",
		    (unsigned)ctx->caller.uid);
	if (caller_conf_check(ctx->conf.path, errbuf, sizeof(errbuf)) == -1 ||
	    caller_mapdir_check(ctx->conf.mapdir, ctx->uid, errbuf,
	    sizeof(errbuf)) == -1)
		errx(EX_NOPERM, "%s", errbuf);
}

/*
 * A domain owner acts on the domains whose owner= names its login,
 * and on nothing else; postmaster@ and abuse@ stay the
 * administrator's (RFC 2142: complaints about a domain must reach
 * whoever runs the host).  The same refusal whether or not the domain
 * or the address exists, so that nothing is learnt of others.
 */
void
ctx_check_owner(struct ctx *ctx, const char *key, const char *domain,
    const char *local)
{
	struct mapsrc_line *d;

	if (!ctx->caller.delegated)
		return;
	d = mapsrc_find(&ctx->ms.src[MAP_DOMAINS], domain);
	if (d == NULL || !caller_owns(&ctx->caller, d->value))
		errx(EX_NOPERM, "%s: domain %s is not one of %s's (owner= in "
		    "%s/domains)", key, domain, ctx->caller.login,
		    ctx->conf.mapdir);
	if (local != NULL && (strcasecmp(local, "postmaster") == 0 ||
	    strcasecmp(local, "abuse") == 0))
		errx(EX_NOPERM, "%s: postmaster@ and abuse@ are the "
		    "administrator's", key);
}

/* An owner's mailboxes get at most the domain's quota= each. */
static void
check_quota(struct ctx *ctx, const char *key, const char *domain,
    uint64_t quota)
{
	uint64_t dq;

	if (!ctx->caller.delegated || (dq = domain_quota(ctx, domain)) == 0)
		return;
	if (quota == 0 || quota > dq)
		errx(EX_NOPERM, "%s: a quota above the domain's quota=%llu "
		    "bytes is the administrator's to give", key,
		    (unsigned long long)dq);
}

/*
 * Only root and the mail user can make a Maildir the mail user owns,
 * and the maps must be writable: say so before asking for a password.
 */
static void
check_writer(const struct ctx *ctx)
{
	char	 path[PATH_MAX + 8];
	uid_t	 euid = geteuid();

	if (euid != 0 && euid != ctx->uid)
		errx(EX_NOPERM, "must be run as root or as the mail user %s",
		    ctx->conf.user);
	if (access(ctx->conf.mapdir, W_OK) == -1)
		err(EX_NOPERM, "cannot write the maps in %s",
		    ctx->conf.mapdir);
	/*
	 * A map is replaced by a rename in the mapdir, never written in
	 * place: a set-ID process, the mail user's, may replace those
	 * that root wrote last.
	 */
	if (ctx->caller.setid)
		return;
	snprintf(path, sizeof(path), "%s/users", ctx->conf.mapdir);
	if (access(path, W_OK) == -1 && errno != ENOENT)
		err(EX_NOPERM, "cannot write %s", path);
}

void
ctx_maps_open(struct ctx *ctx, int flags)
{
	int	 n;

	n = mapset_open_ids(&ctx->ms, ctx->conf.mapdir, flags, ctx->uid,
	    ctx->gid);
	if (n == -1)
		errx(errno == EWOULDBLOCK ? EX_TEMPFAIL : EX_NOINPUT,
		    "cannot read the maps in %s", ctx->conf.mapdir);
	ctx->ms_open = 1;
	if (n > 0)
		errx(EX_DATAERR, "the maps in %s have %d error%s (above); "
		    "fix them and check with newmaps -n", ctx->conf.mapdir, n,
		    n == 1 ? "" : "s");
}

static void
ctx_maps_close(struct ctx *ctx)
{
	if (ctx->ms_open)
		mapset_close(&ctx->ms);
	ctx->ms_open = 0;
}

void
ctx_close(struct ctx *ctx)
{
	ctx_maps_close(ctx);
	conf_free(&ctx->conf);
}

/* addr_parse_safe, and the map key (lower case) into key. */
void
ctx_parse_address(const char *s, struct mailaddr *addr, char *key, size_t keylen)
{
	const char *errstr;

	if (addr_parse_safe(s, addr, &errstr) == -1)
		errx(EX_DATAERR, "%s: %s", s, errstr);
	if (addr_key(addr, key, keylen) == -1)
		errx(EX_DATAERR, "%s: address too long", s);
}

/* -q: a size as mail.conf writes them (K, M, G); 0 means none. */
static uint64_t
parse_quota(const char *s)
{
	uint64_t q;

	if (conf_parse_size(s, &q) == -1)
		errx(EX_USAGE, "-q %s: not a size (bytes, or with K, M, G)", s);
	return q;
}

/*
 * The checks of add: the domain is hosted here (compiled too) and not
 * an alias domain, the address names no mailbox and no alias, the
 * local part holds no recipient delimiter (user+tag@ belongs to user@,
 * and a mailbox of that name, found first, would take its mail), and
 * the domain's maxusers leaves room.
 */
static void
check_new(struct ctx *ctx, const struct mailaddr *addr, const char *key)
{
	struct mapsrc_line *d, *l;
	struct mapsrc *users = &ctx->ms.src[MAP_USERS];
	const char *errstr, *at;
	char	 buf[ADDR_DOMAIN_MAX + 1];
	long long max;
	size_t	 i, n = 0;

	ctx_check_owner(ctx, key, addr->domain, addr->local);
	if ((d = mapsrc_find(&ctx->ms.src[MAP_DOMAINS], addr->domain)) == NULL)
		errx(EX_DATAERR, "%s: domain %s is not hosted here", key,
		    addr->domain);
	check_compiled(ctx, key, addr->domain, d->value);
	if (mapsrc_domain_attr(d->value, "alias", buf, sizeof(buf)) != NULL)
		errx(EX_DATAERR, "%s: %s is an alias domain of %s; add the "
		    "mailbox there", key, addr->domain, buf);
	if (mapsrc_find(users, key) != NULL)
		errx(EX_DATAERR, "%s: is a mailbox already", key);
	if (mapsrc_find(&ctx->ms.src[MAP_ALIASES], key) != NULL)
		errx(EX_DATAERR, "%s: is an alias already", key);
	if (ctx->conf.recipient_delimiter[0] != '\0' &&
	    strpbrk(addr->local, ctx->conf.recipient_delimiter) != NULL)
		errx(EX_DATAERR, "%s: the local part holds the recipient "
		    "delimiter \"%s\"", key, ctx->conf.recipient_delimiter);
	if (mapsrc_domain_attr(d->value, "maxusers", buf, sizeof(buf)) == NULL)
		return;
	max = strtonum(buf, 0, LLONG_MAX, &errstr);
	if (errstr != NULL)
		errx(EX_DATAERR, "%s: maxusers=%s is %s", addr->domain, buf,
		    errstr);
	if (mapsrc_read_all(users) == -1)
		errx(EX_NOINPUT, "cannot read the maps in %s",
		    ctx->conf.mapdir);
	for (i = 0; i < users->nlines; i++) {
		l = &users->lines[i];
		if (l->key != NULL && (at = strrchr(l->key, '@')) != NULL &&
		    strcmp(at + 1, addr->domain) == 0)
			n++;
	}
	if ((long long)n >= max)
		errx(EX_DATAERR, "%s: domain %s has its maxusers=%lld "
		    "mailboxes", key, addr->domain, max);
}

/*
 * smtpd and deliver read domains.db: a domain as the domains file
 * gives it but not yet compiled there is not hosted for them, and a
 * mailbox in it would get no mail.
 */
static void
check_compiled(struct ctx *ctx, const char *key, const char *domain,
    const char *value)
{
	switch (resolve_domain_compiled(&ctx->conf, domain, value)) {
	case 0:
		errx(EX_DATAERR, "%s: domain %s is not in %s/domains.db as "
		    "the domains file has it; run newmaps first", key, domain,
		    ctx->conf.mapdir);
	case -1:
		err(EX_NOINPUT, "%s/domains.db", ctx->conf.mapdir);
	}
}

/* The domain's quota= attribute in bytes, 0 if none. */
static uint64_t
domain_quota(struct ctx *ctx, const char *domain)
{
	struct mapsrc_line *d;
	char	 buf[64];
	uint64_t q;

	d = mapsrc_find(&ctx->ms.src[MAP_DOMAINS], domain);
	if (d == NULL || mapsrc_domain_attr(d->value, "quota", buf,
	    sizeof(buf)) == NULL)
		return 0;
	if (conf_parse_size(buf, &q) == -1)
		errx(EX_DATAERR, "%s: quota=%s is not a size", domain, buf);
	return q;
}

/* The users line of key, parsed into u; exits EX_NOUSER if none. */
struct mapsrc_line *
ctx_find_user(struct ctx *ctx, const char *key, struct mapsrc_user *u)
{
	struct mapsrc_line *l;
	const char *errstr;

	if ((l = mapsrc_find(&ctx->ms.src[MAP_USERS], key)) == NULL)
		errx(EX_NOUSER, "%s: no such mailbox", key);
	if (mapsrc_user_parse(l->value, u, &errstr) == -1)
		errx(EX_DATAERR, "%s:%zu: %s", ctx->ms.src[MAP_USERS].path,
		    l->lineno, errstr);
	/* A line of a map trusted as compiled is not checked when read. */
	if (u->uid != ctx->uid || u->gid != ctx->gid)
		errx(EX_DATAERR, "%s:%zu: %s: UID %lu, GID %lu are not the "
		    "mail user's (%lu, %lu)", ctx->ms.src[MAP_USERS].path,
		    l->lineno, key, (unsigned long)u->uid,
		    (unsigned long)u->gid, (unsigned long)ctx->uid,
		    (unsigned long)ctx->gid);
	return l;
}

/* Formats u and puts it in the users map, replacing old if not NULL. */
static void
put_user(struct ctx *ctx, const char *key, const struct mapsrc_user *u,
    struct mapsrc_line *old)
{
	static char value[MAPSRC_LINE_MAX + 1], line[MAPSRC_LINE_MAX + 1];
	int	 n, rc;

	if (mapsrc_user_format(u, value, sizeof(value)) == -1)
		errx(EX_SOFTWARE, "%s: users line too long", key);
	n = snprintf(line, sizeof(line), "%s:%s", key, value);
	if (n < 0 || (size_t)n >= sizeof(line))
		errx(EX_SOFTWARE, "%s: users line too long", key);
	rc = old != NULL ? mapsrc_replace(&ctx->ms.src[MAP_USERS], old, line) :
	    mapsrc_add(&ctx->ms.src[MAP_USERS], line);
	explicit_bzero(line, sizeof(line));
	explicit_bzero(value, sizeof(value));
	if (rc == -1)
		errx(EX_SOFTWARE, "%s: cannot put the users line", key);
}

/*
 * From here on an interrupt would leave a Maildir without a mailbox
 * or the other way round: finish or undo, but don't stop half-way.
 */
static void
block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGTSTP);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/*
 * Installs the users map.  On failure, undoes what was done to the
 * Maildirs (removes undo_created, or renames undo_from back to
 * undo_to) and exits EX_IOERR: then no file has changed.
 */
static void
install_users(struct ctx *ctx, const char *undo_created,
    const char *undo_from, const char *undo_to)
{
	if (mapset_install(&ctx->ms, 1 << MAP_USERS, ctx->gid) == 0)
		return;
	if (undo_created != NULL && maildir_remove(undo_created) == -1)
		warn("%s: cannot remove it again", undo_created);
	if (undo_from != NULL && rename(undo_from, undo_to) == -1)
		warn("cannot move %s back to %s", undo_from, undo_to);
	errx(EX_IOERR, "the users map was not changed");
}

/* passwd and mod: replaces the users line old of key with u, and ends. */
static int
update_user(struct ctx *ctx, const char *key, struct mapsrc_user *u,
    struct mapsrc_line *old)
{
	put_user(ctx, key, u, old);
	block_signals();
	install_users(ctx, NULL, NULL, NULL);
	explicit_bzero(u, sizeof(*u));
	ctx_close(ctx);
	return EX_OK;
}

static int
cmd_add(struct ctx *ctx, int argc, char **argv)
{
	struct pwsource ps = { PW_PROMPT, -1, NULL };
	struct mapsrc_user u;
	struct mailaddr addr;
	char	 key[ADDR_MAX + 1], top[PATH_MAX];
	uint64_t quota = 0;
	int	 ch, qset = 0;

	while ((ch = getopt(argc, argv, "+q:s:h:H:")) != -1) {
		if (pwsource_option(&ps, ch, optarg))
			continue;
		if (ch != 'q')
			usage();
		quota = parse_quota(optarg);
		qset = 1;
	}
	if (argc - optind != 1)
		usage();
	ctx_parse_address(argv[optind], &addr, key, sizeof(key));
	ctx->keepfd = ps.fd;
	ctx_load(ctx, 1);
	memset(&u, 0, sizeof(u));
	u.uid = ctx->uid;
	u.gid = ctx->gid;
	if (maildir_path(ctx->conf.maildir, &addr, u.home, sizeof(u.home)) ==
	    -1 || strchr(u.home, ':') != NULL)
		errx(EX_CONFIG, "%s: maildir %s gives no usable path for %s",
		    ctx->conf.path, ctx->conf.maildir, key);
	if (ps.how == PW_PROMPT) {
		/* Don't ask for a password that will be refused. */
		ctx_maps_open(ctx, MAPSET_APPEND);
		check_new(ctx, &addr, key);
		ctx_maps_close(ctx);
	}
	pwsource_hash(&ps, key, u.hash, sizeof(u.hash));
	ctx_maps_open(ctx, MAPSET_LOCK | MAPSET_APPEND);
	check_new(ctx, &addr, key);
	u.quota = qset ? quota : domain_quota(ctx, addr.domain);
	check_quota(ctx, key, addr.domain, u.quota);
	put_user(ctx, key, &u, NULL);
	block_signals();
	if (maildir_create_new(u.home, ctx->uid, ctx->gid, top,
	    sizeof(top)) == -1) {
		if (errno == EEXIST)
			errx(EX_CANTCREAT, "%s: Maildir %s exists already; "
			    "move it away first", key, u.home);
		err(EX_CANTCREAT, "%s: Maildir %s", key, u.home);
	}
	install_users(ctx, top, NULL, NULL);
	explicit_bzero(&u, sizeof(u));
	ctx_close(ctx);
	return EX_OK;
}

/*
 * Is target (an alias target) the mailbox key?  Also through a +tag
 * or an alias domain, as deliver would resolve it.
 */
static int
target_is(struct ctx *ctx, const char *target, const char *key)
{
	struct mailaddr t, base;
	struct mapsrc_line *d;
	char	 k[ADDR_MAX + 1], dom[ADDR_DOMAIN_MAX + 1];
	const char *errstr;

	if (addr_parse(target, &t, &errstr) == -1)
		return 0;
	addr_strip_tag(&t, ctx->conf.recipient_delimiter, &base);
	d = mapsrc_find(&ctx->ms.src[MAP_DOMAINS], base.domain);
	if (d != NULL && mapsrc_domain_attr(d->value, "alias", dom,
	    sizeof(dom)) != NULL)
		strlcpy(base.domain, dom, sizeof(base.domain));
	return addr_key(&base, k, sizeof(k)) == 0 && strcmp(k, key) == 0;
}

/*
 * An alias that still names the mailbox would point at nothing once it
 * is gone (and newmaps -n would call the aliases map broken), and so
 * would mail.conf's postmaster: refuse, and name what to change first.
 */
static void
check_not_target(struct ctx *ctx, const char *key)
{
	struct mapsrc *aliases = &ctx->ms.src[MAP_ALIASES];
	struct mapsrc_line *l;
	char	*copy, *p, *t;
	size_t	 i, n = 0;

	for (i = 0; i < aliases->nlines; i++) {
		l = &aliases->lines[i];
		if (l->key == NULL)
			continue;
		if ((copy = strdup(l->value)) == NULL)
			err(EX_OSERR, NULL);
		for (p = copy; (t = strsep(&p, ",")) != NULL;) {
			t += strspn(t, " \t");
			t[strcspn(t, " \t")] = '\0';
			if (target_is(ctx, t, key)) {
				warnx("%s: a target of the alias %s", key,
				    l->key);
				n++;
				break;
			}
		}
		free(copy);
	}
	if (n > 0)
		errx(EX_DATAERR, "%s: still a target of %zu alias%s; remove it "
		    "there first (mailalias del ALIAS %s)", key, n,
		    n == 1 ? "" : "es", key);
	/* postmaster@ and abuse@ of every domain reach mail.conf's. */
	if (target_is(ctx, ctx->conf.postmaster, key))
		errx(EX_DATAERR, "%s: the postmaster of %s (%s); change it "
		    "there first", key, ctx->conf.path, ctx->conf.postmaster);
}

/*
 * A home from the users map we are about to move or remove: 1 if it
 * exists, 0 if not.  Only what basemail made is touched: a directory
 * of the mail user (or a link, which alone is moved).  A home that
 * someone else owns, such as a /home/bob of an imported Dovecot line,
 * is no Maildir of ours to put in the attic and purge.
 */
static int
check_home(const struct ctx *ctx, const char *key, const char *home)
{
	struct stat st;

	if (home[0] != '/' || strcmp(home, "/") == 0 ||
	    strstr(home, "/../") != NULL ||
	    (strlen(home) >= 3 && strcmp(home + strlen(home) - 3, "/..") == 0))
		errx(EX_DATAERR, "%s: home %s is no Maildir path; not touching "
		    "it", key, home);
	if (lstat(home, &st) == -1) {
		if (errno != ENOENT)
			err(EX_IOERR, "%s: Maildir %s", key, home);
		return 0;
	}
	if (!S_ISLNK(st.st_mode) && (!S_ISDIR(st.st_mode) ||
	    st.st_uid != ctx->uid))
		errx(EX_DATAERR, "%s: home %s is no directory of the mail user "
		    "%s; not touching it", key, home, ctx->conf.user);
	return 1;
}

/*
 * 0 if rename(2) cannot move home into the attic, which is on another
 * file system: found out before maildir_attic_move makes the attic
 * there for nothing.  The nearest existing ancestor of a missing attic
 * tells where it would be.  1 otherwise, or when unsure: then
 * maildir_attic_move reports what is wrong.
 */
static int
attic_same_fs(const char *attic, const char *home)
{
	struct stat ast, hst;
	char	 path[PATH_MAX], *slash;

	if (lstat(home, &hst) == -1 ||
	    strlcpy(path, attic, sizeof(path)) >= sizeof(path))
		return 1;
	while (stat(path, &ast) == -1) {
		if (errno != ENOENT || (slash = strrchr(path, '/')) == NULL ||
		    strcmp(path, "/") == 0)
			return 1;
		/* "/a" becomes "/", "/a/b" becomes "/a". */
		if (slash == path)
			slash++;
		*slash = '\0';
	}
	return ast.st_dev == hst.st_dev;
}

/*
 * Moves home into the attic, named after this second.  The same
 * address deleted twice within one second (a script that adds and
 * removes a mailbox) finds that name taken: it waits for the next
 * second, once, rather than refuse.
 */
static int
attic_move(const struct ctx *ctx, const char *key, const char *home,
    char *dest, size_t destlen)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	time_t	 now = time(NULL);

	if (maildir_attic_move(home, ctx->conf.attic, key, now, ctx->uid,
	    ctx->gid, dest, destlen) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	while (time(NULL) == now)
		nanosleep(&tick, NULL);
	return maildir_attic_move(home, ctx->conf.attic, key, time(NULL),
	    ctx->uid, ctx->gid, dest, destlen);
}

static int
cmd_del(struct ctx *ctx, int argc, char **argv)
{
	struct mapsrc_user u;
	struct mapsrc_line *l;
	struct mailaddr addr;
	char	 key[ADDR_MAX + 1], dest[PATH_MAX];
	int	 ch, force = 0, moved = 0, exists, attic;

	while ((ch = getopt(argc, argv, "+f")) != -1) {
		if (ch != 'f')
			usage();
		force = 1;
	}
	if (argc - optind != 1)
		usage();
	ctx_parse_address(argv[optind], &addr, key, sizeof(key));
	ctx_load(ctx, 1);
	ctx_maps_open(ctx, MAPSET_LOCK);
	ctx_check_owner(ctx, key, addr.domain, addr.local);
	l = ctx_find_user(ctx, key, &u);
	check_not_target(ctx, key);
	exists = check_home(ctx, key, u.home);
	attic = exists && attic_same_fs(ctx->conf.attic, u.home);
	if (exists && !attic && !force)
		errx(EX_CANTCREAT, "%s: the attic %s is not on the file system "
		    "of %s; change attic in %s, or use del -f", key,
		    ctx->conf.attic, u.home, ctx->conf.path);
	mapsrc_remove(&ctx->ms.src[MAP_USERS], l);
	block_signals();
	if (!exists)
		warnx("%s: Maildir %s does not exist", key, u.home);
	else if (attic && attic_move(ctx, key, u.home, dest,
	    sizeof(dest)) == 0)
		moved = 1;
	else if (!force)
		err(EX_CANTCREAT, "%s: cannot move %s into the attic %s", key,
		    u.home, ctx->conf.attic);
	install_users(ctx, NULL, moved ? dest : NULL, u.home);
	/* The maps no longer name it: now it may go for good. */
	if (force && maildir_remove(moved ? dest : u.home) == -1 &&
	    errno != ENOENT)
		err(EX_IOERR, "%s: removing %s", key, moved ? dest : u.home);
	explicit_bzero(&u, sizeof(u));
	ctx_close(ctx);
	return EX_OK;
}

static int
cmd_passwd(struct ctx *ctx, int argc, char **argv)
{
	struct pwsource ps = { PW_PROMPT, -1, NULL };
	struct mapsrc_user u;
	struct mapsrc_line *l;
	struct mailaddr addr;
	char	 key[ADDR_MAX + 1], hash[sizeof(u.hash)];
	int	 ch;

	while ((ch = getopt(argc, argv, "+s:h:H:")) != -1)
		if (!pwsource_option(&ps, ch, optarg))
			usage();
	if (argc - optind != 1)
		usage();
	ctx_parse_address(argv[optind], &addr, key, sizeof(key));
	ctx->keepfd = ps.fd;
	ctx_load(ctx, 1);
	if (ps.how == PW_PROMPT) {
		ctx_maps_open(ctx, 0);
		ctx_check_owner(ctx, key, addr.domain, addr.local);
		ctx_find_user(ctx, key, &u);
		ctx_maps_close(ctx);
	}
	pwsource_hash(&ps, key, hash, sizeof(hash));
	ctx_maps_open(ctx, MAPSET_LOCK);
	ctx_check_owner(ctx, key, addr.domain, addr.local);
	l = ctx_find_user(ctx, key, &u);
	strlcpy(u.hash, hash, sizeof(u.hash));
	explicit_bzero(hash, sizeof(hash));
	return update_user(ctx, key, &u, l);
}

static int
cmd_mod(struct ctx *ctx, int argc, char **argv)
{
	struct mapsrc_user u;
	struct mapsrc_line *l;
	struct mailaddr addr;
	char	 key[ADDR_MAX + 1];
	uint64_t quota = 0;
	int	 ch, qset = 0, lock = -1;

	while ((ch = getopt(argc, argv, "+q:LU")) != -1) {
		switch (ch) {
		case 'q':
			quota = parse_quota(optarg);
			qset = 1;
			break;
		case 'L':
		case 'U':
			if (lock != -1 && lock != (ch == 'L'))
				errx(EX_USAGE, "-L and -U exclude each other");
			lock = ch == 'L';
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || (!qset && lock == -1))
		usage();
	ctx_parse_address(argv[optind], &addr, key, sizeof(key));
	ctx_load(ctx, 1);
	ctx_maps_open(ctx, MAPSET_LOCK);
	ctx_check_owner(ctx, key, addr.domain, addr.local);
	l = ctx_find_user(ctx, key, &u);
	if (qset) {
		check_quota(ctx, key, addr.domain, quota);
		u.quota = quota;
	}
	if (lock != -1)
		u.nologin = lock;
	return update_user(ctx, key, &u, l);
}
