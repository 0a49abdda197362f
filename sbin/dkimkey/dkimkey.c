/*
 * dkimkey: makes, shows, lists and removes the DKIM signing keys of
 * the hosted domains, mapdir/dkim/DOMAIN.SELECTOR.key (dkimkey(8)).
 *
 * The keys are made by libcrypto and written as PEM (PKCS #8), mode
 * 0600, owned by the mail user that signs with them (smtpd, deliver,
 * sendmail): to a temporary file, fsynced, then linked to its name,
 * which fails rather than replace a key of the same name, and the
 * directory fsynced.  Both names are checked before a path is made of
 * them (dk_key_path).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "libmail.h"

/* The strings of a TXT record hold 255 octets each (RFC 1035 3.3). */
#define TXT_STRING_MAX	255
#define RSA_BITS_MIN	1024
#define RSA_BITS_MAX	4096
#define RSA_BITS_DEFAULT 2048

struct ctx {
	struct conf	 conf;
	uid_t		 uid;
	gid_t		 gid;
	char		 dir[PATH_MAX];		/* mapdir/dkim */
};

/* One key file of the directory. */
struct keyname {
	char	 domain[ADDR_DOMAIN_MAX + 1];
	char	 selector[DK_SELECTOR_MAX + 1];
};

static __dead void usage(void);
static void	 ctx_load(struct ctx *, const char *);
static void	 check_runner(const struct ctx *);
static void	 check_names(char *, char *);
static void	 check_hosted(const struct ctx *, const char *);
static int	 selector_active(const struct ctx *, const char *,
		    const char *);
static int	 selector_listed(const char *, const char *);
static EVP_PKEY	*key_generate(int, int);
static void	 key_write(const struct ctx *, const char *, EVP_PKEY *);
static EVP_PKEY	*key_read(const char *);
static char	*key_record(EVP_PKEY *, int *);
static void	 print_txt(const char *, const char *, const char *);
static int	 show_one(const struct ctx *, const char *, const char *);
static int	 keyname_parse(const char *, struct keyname *);
static int	 keyname_cmp(const void *, const void *);
static size_t	 keys_scan(const struct ctx *, struct keyname **);
static int	 cmd_gen(struct ctx *, int, char **);
static int	 cmd_show(struct ctx *, int, char **);
static int	 cmd_list(struct ctx *, int, char **);
static int	 cmd_del(struct ctx *, int, char **);

static const struct {
	const char	*name;
	int		(*fn)(struct ctx *, int, char **);
} commands[] = {
	{ "gen", cmd_gen },
	{ "show", cmd_show },
	{ "list", cmd_list },
	{ "del", cmd_del },
};

static __dead void
usage(void)
{
	fprintf(stderr,
	    "usage: dkimkey [-C file] gen [-t rsa | ed25519] [-b bits] "
	    "domain selector\n"
	    "       dkimkey [-C file] show domain [selector]\n"
	    "       dkimkey [-C file] list\n"
	    "       dkimkey [-C file] del domain selector\n");
	exit(EX_USAGE);
}

static void
ctx_load(struct ctx *ctx, const char *conffile)
{
	char	 errbuf[PATH_MAX + 256];

	if (conf_load(&ctx->conf, conffile, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	if (conf_user_ids(&ctx->conf, &ctx->uid, &ctx->gid, errbuf,
	    sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s: %s", ctx->conf.path, errbuf);
	if ((size_t)snprintf(ctx->dir, sizeof(ctx->dir), "%s/%s",
	    ctx->conf.mapdir, DK_KEYDIR) >= sizeof(ctx->dir))
		errx(EX_CONFIG, "%s: mapdir too long", ctx->conf.path);
}

/* Only root and the mail user may touch the keys the mail user reads. */
static void
check_runner(const struct ctx *ctx)
{
	uid_t	 euid = geteuid();

	if (euid != 0 && euid != ctx->uid)
		errx(EX_NOPERM, "must be run as root or as the mail user %s",
		    ctx->conf.user);
}

/* Lower-cases and checks both names; exits EX_DATAERR on a bad one. */
static void
check_names(char *domain, char *selector)
{
	const char	*errstr;

	addr_lower(domain);
	if (addr_domain_valid(domain, &errstr) == -1)
		errx(EX_DATAERR, "%s: bad domain: %s", domain, errstr);
	if (selector == NULL)
		return;
	addr_lower(selector);
	if (dk_selector_valid(selector, &errstr) == -1)
		errx(EX_DATAERR, "%s: bad selector: %s", selector, errstr);
}

/* A key is made for a domain of the domains map only. */
static void
check_hosted(const struct ctx *ctx, const char *domain)
{
	struct mapset	 ms;
	int		 n;

	if ((n = mapset_open_flags(&ms, ctx->conf.mapdir, MAPSET_APPEND)) ==
	    -1)
		errx(EX_NOINPUT, "cannot read the maps in %s",
		    ctx->conf.mapdir);
	if (n > 0)
		errx(EX_DATAERR, "the maps in %s have %d error%s (above); "
		    "fix them and check with newmaps -n", ctx->conf.mapdir, n,
		    n == 1 ? "" : "s");
	if (mapsrc_find(&ms.src[MAP_DOMAINS], domain) == NULL)
		errx(EX_DATAERR, "%s: domain not hosted here", domain);
	mapset_close(&ms);
}

/* 1 if value, a dkim= list, names selector. */
static int
selector_listed(const char *value, const char *selector)
{
	struct dk_selectors	 sel;
	const char		*errstr;
	size_t			 i;

	if (dk_selectors_parse(value, &sel, &errstr) == -1)
		return 0;
	for (i = 0; i < sel.n; i++)
		if (strcmp(sel.name[i], selector) == 0)
			return 1;
	return 0;
}

/*
 * 1 if the domain signs with selector: its dkim= in the domains file,
 * or in domains.db (what smtpd reads until newmaps runs), names it.
 */
static int
selector_active(const struct ctx *ctx, const char *domain,
    const char *selector)
{
	struct mapset		 ms;
	struct mapsrc_line	*l;
	char			 value[DK_SELECTORS_MAX *
				    (DK_SELECTOR_MAX + 1)];
	int			 active = 0;

	if (dk_lookup_mapdir(ctx->conf.mapdir, domain, value,
	    sizeof(value)) == 1 && selector_listed(value, selector))
		return 1;
	if (mapset_open_flags(&ms, ctx->conf.mapdir, MAPSET_APPEND) == -1)
		errx(EX_NOINPUT, "cannot read the maps in %s",
		    ctx->conf.mapdir);
	if ((l = mapsrc_find(&ms.src[MAP_DOMAINS], domain)) != NULL &&
	    mapsrc_domain_attr(l->value, "dkim", value, sizeof(value)) !=
	    NULL && selector_listed(value, selector))
		active = 1;
	mapset_close(&ms);
	return active;
}

static EVP_PKEY *
key_generate(int type, int bits)
{
	EVP_PKEY	*pkey = NULL;

	if (type == DK_KEY_ED25519)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	if (pkey == NULL)
		errx(EX_SOFTWARE, "libcrypto cannot make the key");
	return pkey;
}

/*
 * Writes the key to path: a temporary file beside it (0600, the mail
 * user's), fsynced, linked to path, then the directory fsynced.
 */
static void
key_write(const struct ctx *ctx, const char *path, EVP_PKEY *pkey)
{
	char	 tmp[PATH_MAX];
	FILE	*fp;
	int	 fd, e;

	if (file_sibling_name(path, "tmp", tmp, sizeof(tmp)) == -1)
		err(EX_CANTCREAT, "%s", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		err(EX_CANTCREAT, "%s", tmp);
	if ((geteuid() == 0 && fchown(fd, ctx->uid, ctx->gid) == -1) ||
	    (fp = fdopen(fd, "w")) == NULL) {
		e = errno;
		(void)unlink(tmp);
		errc(EX_CANTCREAT, e, "%s", tmp);
	}
	if (PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fflush(fp) == EOF || fsync(fd) == -1) {
		e = errno;
		(void)unlink(tmp);
		errc(EX_IOERR, e, "%s", tmp);
	}
	fclose(fp);
	if (link(tmp, path) == -1) {
		e = errno;
		(void)unlink(tmp);
		if (e == EEXIST)
			errx(EX_CANTCREAT, "%s: a key of that name exists "
			    "already", path);
		errc(EX_CANTCREAT, e, "%s", path);
	}
	if (unlink(tmp) == -1 || file_sync_dir(ctx->dir) == -1)
		err(EX_IOERR, "%s", ctx->dir);
}

static EVP_PKEY *
key_read(const char *path)
{
	EVP_PKEY	*pkey;
	FILE		*fp;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return NULL;
	if ((fp = fdopen(fd, "r")) == NULL) {
		close(fd);
		return NULL;
	}
	pkey = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (pkey == NULL)
		errno = EINVAL;
	return pkey;
}

/*
 * The TXT record's text, "v=DKIM1; k=...; p=...": for rsa p= is the
 * DER SubjectPublicKeyInfo (RFC 6376 3.6.1), for ed25519 the bare 32
 * octets of the public key (RFC 8463 4.2), in base64.  *bits gets the
 * key's size.  malloc'd, or NULL for a key of another type.
 */
static char *
key_record(EVP_PKEY *pkey, int *bits)
{
	unsigned char	 raw[32], *der = NULL;
	const char	*k;
	char		*b64, *rec = NULL;
	size_t		 rawlen = sizeof(raw);
	int		 len;

	*bits = EVP_PKEY_get_bits(pkey);
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		k = "rsa";
		if ((len = i2d_PUBKEY(pkey, &der)) <= 0)
			return NULL;
		break;
	case EVP_PKEY_ED25519:
		k = "ed25519";
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1)
			return NULL;
		len = (int)rawlen;
		break;
	default:
		return NULL;
	}
	if ((b64 = malloc(((size_t)len + 2) / 3 * 4 + 1)) == NULL)
		err(EX_OSERR, NULL);
	EVP_EncodeBlock((unsigned char *)b64, der != NULL ? der : raw, len);
	OPENSSL_free(der);
	if (asprintf(&rec, "v=DKIM1; k=%s; p=%s", k, b64) == -1)
		err(EX_OSERR, NULL);
	free(b64);
	return rec;
}

/* "SELECTOR._domainkey.DOMAIN. IN TXT "..." "..."", as zone files take it. */
static void
print_txt(const char *domain, const char *selector, const char *rec)
{
	size_t	 len, off;

	printf("%s._domainkey.%s. IN TXT", selector, domain);
	len = strlen(rec);
	for (off = 0; off < len; off += TXT_STRING_MAX)
		printf(" \"%.*s\"", TXT_STRING_MAX, rec + off);
	printf("\n");
}

static int
show_one(const struct ctx *ctx, const char *domain, const char *selector)
{
	EVP_PKEY	*pkey;
	char		 path[PATH_MAX], *rec;
	int		 bits;

	if (dk_key_path(ctx->conf.mapdir, domain, selector, path,
	    sizeof(path)) == -1)
		err(EX_DATAERR, "%s, selector %s", domain, selector);
	if ((pkey = key_read(path)) == NULL) {
		if (errno == ENOENT)
			errx(EX_NOINPUT, "%s: no key of selector %s", domain,
			    selector);
		err(EX_NOINPUT, "%s", path);
	}
	if ((rec = key_record(pkey, &bits)) == NULL)
		errx(EX_DATAERR, "%s: not an rsa or ed25519 key", path);
	print_txt(domain, selector, rec);
	free(rec);
	EVP_PKEY_free(pkey);
	return 0;
}

/* "DOMAIN.SELECTOR.key" into its names; 0, or -1 for any other file. */
static int
keyname_parse(const char *file, struct keyname *kn)
{
	const char	*dot, *errstr;
	size_t		 len = strlen(file);
	char		 check[PATH_MAX];

	if (file[0] == '.' || len < 5 || strcmp(file + len - 4, ".key") != 0)
		return -1;
	len -= 4;
	if ((dot = memrchr(file, '.', len)) == NULL ||
	    (size_t)(dot - file) >= sizeof(kn->domain) ||
	    len - (dot - file) - 1 >= sizeof(kn->selector))
		return -1;
	memcpy(kn->domain, file, dot - file);
	kn->domain[dot - file] = '\0';
	memcpy(kn->selector, dot + 1, len - (dot - file) - 1);
	kn->selector[len - (dot - file) - 1] = '\0';
	if (dk_selector_valid(kn->selector, &errstr) == -1 ||
	    dk_key_path("", kn->domain, kn->selector, check,
	    sizeof(check)) == -1)
		return -1;
	return 0;
}

static int
keyname_cmp(const void *a, const void *b)
{
	const struct keyname	*x = a, *y = b;
	int			 c;

	if ((c = strcmp(x->domain, y->domain)) != 0)
		return c;
	return strcmp(x->selector, y->selector);
}

/* The keys of the directory, sorted; their count (0 if no directory). */
static size_t
keys_scan(const struct ctx *ctx, struct keyname **out)
{
	struct keyname	*v = NULL, *nv;
	struct dirent	*de;
	DIR		*dp;
	size_t		 n = 0;

	*out = NULL;
	if ((dp = opendir(ctx->dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		err(EX_NOINPUT, "%s", ctx->dir);
	}
	while ((de = readdir(dp)) != NULL) {
		if ((nv = reallocarray(v, n + 1, sizeof(*v))) == NULL)
			err(EX_OSERR, NULL);
		v = nv;
		if (keyname_parse(de->d_name, &v[n]) == 0)
			n++;
	}
	closedir(dp);
	if (n > 0)
		qsort(v, n, sizeof(*v), keyname_cmp);
	*out = v;
	return n;
}

static int
cmd_gen(struct ctx *ctx, int argc, char **argv)
{
	EVP_PKEY	*pkey;
	struct stat	 sb;
	const char	*errstr;
	char		 path[PATH_MAX], *rec;
	int		 ch, type = DK_KEY_RSA, bits = 0;

	while ((ch = getopt(argc, argv, "b:t:")) != -1) {
		switch (ch) {
		case 'b':
			bits = (int)strtonum(optarg, RSA_BITS_MIN, RSA_BITS_MAX,
			    &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-b %s: %s (%d to %d)", optarg,
				    errstr, RSA_BITS_MIN, RSA_BITS_MAX);
			break;
		case 't':
			if (strcmp(optarg, "rsa") == 0)
				type = DK_KEY_RSA;
			else if (strcmp(optarg, "ed25519") == 0)
				type = DK_KEY_ED25519;
			else
				errx(EX_USAGE, "-t %s: rsa or ed25519", optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	if (type == DK_KEY_ED25519 && bits != 0)
		errx(EX_USAGE, "-b is for rsa keys; ed25519 has one size");
	if (bits == 0)
		bits = RSA_BITS_DEFAULT;
	check_names(argv[0], argv[1]);
	check_runner(ctx);
	check_hosted(ctx, argv[0]);
	if (dk_key_path(ctx->conf.mapdir, argv[0], argv[1], path,
	    sizeof(path)) == -1)
		err(EX_DATAERR, "%s, selector %s", argv[0], argv[1]);
	if (lstat(path, &sb) == 0 || errno != ENOENT)
		errx(EX_CANTCREAT, "%s: a key of that name exists already",
		    path);
	if (mkdir(ctx->dir, 0700) == 0) {
		if (geteuid() == 0 && chown(ctx->dir, ctx->uid, ctx->gid) == -1)
			err(EX_CANTCREAT, "%s", ctx->dir);
		if (file_sync_dir(ctx->conf.mapdir) == -1)
			err(EX_IOERR, "%s", ctx->conf.mapdir);
	} else if (errno != EEXIST)
		err(EX_CANTCREAT, "%s", ctx->dir);
	if (lstat(ctx->dir, &sb) == -1 || !S_ISDIR(sb.st_mode))
		errx(EX_CANTCREAT, "%s: not a directory", ctx->dir);
	pkey = key_generate(type, bits);
	key_write(ctx, path, pkey);
	if ((rec = key_record(pkey, &bits)) == NULL)
		errx(EX_SOFTWARE, "no public key of the new key");
	print_txt(argv[0], argv[1], rec);
	free(rec);
	EVP_PKEY_free(pkey);
	return 0;
}

static int
cmd_show(struct ctx *ctx, int argc, char **argv)
{
	struct keyname	*keys;
	size_t		 n, i, shown = 0;

	if (argc != 2 && argc != 3)
		usage();
	check_names(argv[1], argc == 3 ? argv[2] : NULL);
	if (argc == 3)
		return show_one(ctx, argv[1], argv[2]);
	n = keys_scan(ctx, &keys);
	for (i = 0; i < n; i++)
		if (strcmp(keys[i].domain, argv[1]) == 0) {
			show_one(ctx, keys[i].domain, keys[i].selector);
			shown++;
		}
	free(keys);
	if (shown == 0)
		errx(EX_NOINPUT, "%s: no DKIM key", argv[1]);
	return 0;
}

static int
cmd_list(struct ctx *ctx, int argc, char **argv)
{
	struct keyname	*keys;
	EVP_PKEY	*pkey;
	char		 path[PATH_MAX];
	const char	*type;
	size_t		 n, i;
	int		 ret = 0;

	if (argc != 1)
		usage();
	n = keys_scan(ctx, &keys);
	for (i = 0; i < n; i++) {
		if (dk_key_path(ctx->conf.mapdir, keys[i].domain,
		    keys[i].selector, path, sizeof(path)) == -1 ||
		    (pkey = key_read(path)) == NULL) {
			warn("%s", path);
			ret = EX_NOINPUT;
			continue;
		}
		type = EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519 ?
		    "ed25519" : EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA ?
		    "rsa" : "other";
		printf("%s %s %s %d%s\n", keys[i].domain, keys[i].selector,
		    type, EVP_PKEY_get_bits(pkey),
		    selector_active(ctx, keys[i].domain, keys[i].selector) ?
		    " active" : "");
		EVP_PKEY_free(pkey);
	}
	free(keys);
	return ret;
}

static int
cmd_del(struct ctx *ctx, int argc, char **argv)
{
	struct stat	 sb;
	char		 path[PATH_MAX];

	if (argc != 3)
		usage();
	check_names(argv[1], argv[2]);
	check_runner(ctx);
	if (dk_key_path(ctx->conf.mapdir, argv[1], argv[2], path,
	    sizeof(path)) == -1)
		err(EX_DATAERR, "%s, selector %s", argv[1], argv[2]);
	if (lstat(path, &sb) == -1) {
		if (errno == ENOENT)
			errx(EX_NOINPUT, "%s: no key of selector %s", argv[1],
			    argv[2]);
		err(EX_NOINPUT, "%s", path);
	}
	if (selector_active(ctx, argv[1], argv[2]))
		errx(EX_DATAERR, "%s: selector %s is in use (dkim= in %s/"
		    "domains or domains.db); switch to another and run "
		    "newmaps first", argv[1], argv[2], ctx->conf.mapdir);
	if (unlink(path) == -1)
		err(EX_IOERR, "%s", path);
	if (file_sync_dir(ctx->dir) == -1)
		err(EX_IOERR, "%s", ctx->dir);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct ctx	 ctx;
	const char	*conffile = NULL;
	size_t		 i;
	int		 ch;

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
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[0], commands[i].name) == 0) {
			memset(&ctx, 0, sizeof(ctx));
			ctx_load(&ctx, conffile);
			umask(077);
			/* Rescan from argv[1]: argv[0] is the subcommand. */
			optind = 0;
			return commands[i].fn(&ctx, argc, argv);
		}
	warnx("%s: unknown command", argv[0]);
	usage();
}
