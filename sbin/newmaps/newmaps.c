/*
 * newmaps: compiles the text maps of mailmaps(5) into Berkeley DB hash
 * files, checks them, and queries the compiled maps.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "libmail.h"

/* The longest value a .db of ours holds: a line of a text map. */
#define VALUE_MAX	(MAPSRC_LINE_MAX + 1)

static __dead void	usage(void);
static int		map_kind(const char *);
static int		query(const struct conf *, const char *, const char *);
static int		compile(const struct conf *, int, int);

static __dead void
usage(void)
{
	fprintf(stderr, "usage: newmaps [-n] [-C file] [map ...]\n"
	    "       newmaps [-C file] -q key map\n");
	exit(EX_USAGE);
}

/* MAP_* for a map's name, or -1. */
static int
map_kind(const char *name)
{
	int	kind;

	for (kind = 0; kind < MAP_COUNT; kind++)
		if (strcmp(name, mapsrc_names[kind]) == 0)
			return kind;
	return -1;
}

/*
 * The key form of what was asked for (mailmaps(5)): an address, a
 * catch-all or a domain in U-labels is looked up by its A-labels, a
 * UTF-8 local part by its NFC.  What does not parse is asked as it is.
 */
static const char *
query_key(const char *key, char *buf, size_t len)
{
	struct mailaddr	 ma;
	const char	*errstr;

	if (key[0] == '@') {
		buf[0] = '@';
		if (addr_domain_canon(key + 1, buf + 1, len - 1, &errstr) == 0)
			return buf;
	} else if (strchr(key, '@') != NULL) {
		if (addr_parse(key, &ma, &errstr) == 0 &&
		    addr_key(&ma, buf, len) == 0)
			return buf;
	} else if (addr_domain_canon(key, buf, len, &errstr) == 0)
		return buf;
	return key;
}

/* Prints key's value in the compiled map: 0 if found, 1 if absent. */
static int
query(const struct conf *conf, const char *asked, const char *name)
{
	struct map	*m;
	char		*val, buf[MAP_KEY_MAX + 1];
	const char	*key;
	int		 ret;

	key = query_key(asked, buf, sizeof(buf));
	if ((m = map_open(conf->mapdir, name)) == NULL)
		err(EX_NOINPUT, "%s/%s.db", conf->mapdir, name);
	if ((val = malloc(VALUE_MAX)) == NULL)
		err(EX_OSERR, NULL);
	if ((ret = map_lookup(m, key, val, VALUE_MAX)) == -1)
		err(EX_NOINPUT, "%s/%s.db", conf->mapdir, name);
	if (ret == 1 && printf("%s\n", val) < 0)
		err(EX_IOERR, "stdout");
	free(val);
	map_close(m);
	return ret == 1 ? 0 : 1;
}

/*
 * Reads and checks all three maps; unless check_only, compiles those of
 * which.  Nothing is installed when any check fails, so that the
 * installed maps always agree with one another.
 */
static int
compile(const struct conf *conf, int which, int check_only)
{
	struct mapset	 ms;
	char		 errbuf[512];
	uid_t		 uid;
	gid_t		 gid;
	int		 errors;

	/*
	 * A configuration error, found before the lock is taken.  -n
	 * checks the maps where the mail user is unknown too (the maps are
	 * compiled once and copied), without the check of the ids then.
	 */
	if (conf_user_ids(conf, &uid, &gid, errbuf, sizeof(errbuf)) == -1) {
		if (!check_only)
			errx(EX_CONFIG, "%s: %s", conf->path, errbuf);
		uid = (uid_t)-1;
		gid = (gid_t)-1;
	}
	if ((errors = mapset_open_ids(&ms, conf->mapdir, MAPSET_VERIFY |
	    (check_only ? 0 : MAPSET_LOCK), uid, gid)) == -1)
		exit(errno == EWOULDBLOCK ? EX_TEMPFAIL : EX_NOINPUT);
	strlcpy(ms.delimiter, conf->recipient_delimiter,
	    sizeof(ms.delimiter));
	errors += mapset_check(&ms);
	if (errors > 0) {
		warnx("%d error%s%s", errors, errors == 1 ? "" : "s",
		    check_only ? "" : "; no map installed");
		mapset_close(&ms);
		return EX_DATAERR;
	}
	if (check_only) {
		mapset_close(&ms);
		return 0;
	}
	if (mapset_compile(&ms, which, gid) == -1)
		exit(EX_CANTCREAT);
	mapset_close(&ms);
	/* Under no lock: srs_create links a complete key, or keeps one. */
	if (conf->srs && srs_create(conf->mapdir, uid, gid) == -1)
		err(EX_CANTCREAT, "%s/%s", conf->mapdir, SRS_KEY_FILE);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct conf	 conf;
	const char	*confpath, *key;
	char		 errbuf[1024];
	int		 ch, check_only, which, kind, i, ret;

	confpath = NULL;
	key = NULL;
	check_only = 0;
	while ((ch = getopt(argc, argv, "C:nq:")) != -1) {
		switch (ch) {
		case 'C':
			confpath = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'q':
			key = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (key != NULL && (check_only || argc != 1))
		usage();
	which = argc == 0 ? (1 << MAP_COUNT) - 1 : 0;
	for (i = 0; i < argc; i++) {
		if ((kind = map_kind(argv[i])) == -1) {
			warnx("unknown map '%s' (domains, users, aliases or "
			    "tls_policy)", argv[i]);
			usage();
		}
		which |= 1 << kind;
	}
	if (conf_load(&conf, confpath, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	if (key != NULL)
		ret = query(&conf, key, argv[0]);
	else
		ret = compile(&conf, which, check_only);
	conf_free(&conf);
	return ret;
}
