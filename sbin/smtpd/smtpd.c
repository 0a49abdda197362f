/*
 * smtpd: the SMTP server of basemail.  This file is main: options,
 * the configuration, the privileges, the spool and the pidfile.
 *
 * Started as root, smtpd binds its ports, then becomes the mail user
 * for good (setgroups, setresgid, setresuid) before it reads a byte
 * from the network; started as another user it runs as that user,
 * which must be the mail user of mail.conf.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libutil.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "smtpd.h"

struct smtpd	*env;

static __dead void	usage(void);
static void		smtpd_check_conf(const struct conf *);
static void		smtpd_privdrop(const struct conf *, uid_t, gid_t);
static void		smtpd_spool(const struct conf *);
static struct pidfh	*smtpd_pidfile(const struct conf *);
static void		smtpd_rlimit(const struct conf *);

static __dead void
usage(void)
{
	fprintf(stderr, "usage: smtpd [-dn] [-C file]\n");
	exit(EX_USAGE);
}

/*
 * What mail.conf(5) lets through and smtpd cannot serve: a submission
 * listener without TLS could never take a message, since AUTH is
 * offered only over TLS (conf.c refuses smtps without TLS).
 */
static void
smtpd_check_conf(const struct conf *conf)
{
	const struct conf_listen *cl;
	size_t	 i;

	if (conf->nlisten == 0)
		errx(EX_CONFIG, "%s: no listen line", conf->path);
	for (i = 0; i < conf->nlisten; i++) {
		cl = &conf->listen[i];
		if (cl->mode == LISTEN_SUBMISSION && conf->tls_cert[0] == '\0')
			errx(EX_CONFIG, "%s: listen %s%s%s:%s submission needs "
			    "tls_cert and tls_key: AUTH is offered only over "
			    "TLS", conf->path, cl->family == AF_INET6 ? "[" : "",
			    cl->host, cl->family == AF_INET6 ? "]" : "",
			    cl->port);
	}
}

/* As root, a missing spool is made for the mail user. */
static void
smtpd_spool(const struct conf *conf)
{
	uid_t	 uid;
	gid_t	 gid;
	char	 e[256];

	if (geteuid() != 0)
		return;
	if (conf_user_ids(conf, &uid, &gid, e, sizeof(e)) == -1)
		errx(EX_CONFIG, "%s: %s", conf->path, e);
	if (mkdir(conf->spool, 0700) == 0) {
		if (chown(conf->spool, uid, gid) == -1)
			err(EX_OSERR, "chown %s", conf->spool);
	} else if (errno != EEXIST)
		err(EX_CANTCREAT, "mkdir %s", conf->spool);
}

static void
smtpd_privdrop(const struct conf *conf, uid_t uid, gid_t gid)
{
	if (geteuid() != 0)
		return;
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		err(EX_OSERR, "cannot become user %s", conf->user);
	if (setuid(0) != -1 || seteuid(0) != -1)
		errx(EX_OSERR, "could regain root after dropping it");
}

/*
 * SPOOL/smtpd.pid, written as the mail user after the drop: root
 * never writes into a directory that another user owns.
 */
static struct pidfh *
smtpd_pidfile(const struct conf *conf)
{
	struct pidfh	*pfh;
	char		 path[PATH_MAX];
	pid_t		 other;

	if (snprintf(path, sizeof(path), "%s/smtpd.pid", conf->spool) >=
	    (int)sizeof(path))
		errx(EX_CONFIG, "%s: spool path too long", conf->path);
	if ((pfh = pidfile_open(path, 0600, &other)) == NULL) {
		if (errno == EEXIST)
			errx(EX_UNAVAILABLE, "already running, pid %d",
			    (int)other);
		err(EX_CANTCREAT, "%s", path);
	}
	return pfh;
}

/*
 * A session in a transaction holds three descriptors (its socket, its
 * message and the spool directory), one more while it commits; and a
 * few for the listeners and the maps.
 */
static void
smtpd_rlimit(const struct conf *conf)
{
	struct rlimit	 rl;
	rlim_t		 want = conf->max_sessions * 4 + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
	    want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		warn("setrlimit");
}

int
main(int argc, char *argv[])
{
	static struct smtpd	 smtpd;
	struct listener		*listeners;
	struct pidfh		*pfh;
	const char		*path = NULL;
	char			 e[512];
	size_t			 nlisteners;
	uid_t			 uid;
	gid_t			 gid;
	int			 ch, n, check = 0;

	env = &smtpd;
	while ((ch = getopt(argc, argv, "C:dn")) != -1) {
		switch (ch) {
		case 'C':
			path = optarg;
			break;
		case 'd':
			env->foreground = 1;
			break;
		case 'n':
			check = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	if (conf_load(&env->conf, path, e, sizeof(e)) == -1)
		errx(EX_CONFIG, "%s", e);
	if (conf_user_ids(&env->conf, &uid, &gid, e, sizeof(e)) == -1)
		errx(EX_CONFIG, "%s: %s", env->conf.path, e);
	smtpd_check_conf(&env->conf);
	/* As root: the key may be readable by nobody else. */
	env->tls = smtpd_tls_load(&env->conf);
	if (env->conf.srs &&
	    srs_load(&env->srs, env->conf.mapdir, e, sizeof(e)) == -1)
		errx(EX_CONFIG, "%s: srs on: %s", env->conf.path, e);
	if (check) {
		fprintf(stderr, "configuration OK\n");
		return EX_OK;
	}
	if (geteuid() != 0 && geteuid() != uid)
		errx(EX_NOPERM, "must be started as root or as the mail user "
		    "%s", env->conf.user);

	/* Threads share malloc arenas: a few are enough, each costs RSS. */
	(void)mallopt(M_ARENA_MAX, 2);
	smtpd_rlimit(&env->conf);
	listeners = listen_open(&env->conf, &nlisteners);
	smtpd_spool(&env->conf);
	smtpd_privdrop(&env->conf, uid, gid);
	if (chdir(env->conf.spool) == -1)
		err(EX_OSERR, "chdir %s", env->conf.spool);
	if (spool_init(env->conf.spool) == -1)
		err(EX_CANTCREAT, "spool %s", env->conf.spool);
	pfh = smtpd_pidfile(&env->conf);
	signal(SIGPIPE, SIG_IGN);

	log_init("smtpd", env->foreground);
	/* What a crash left in tmp/; a day is longer than any live writer. */
	if ((n = spool_clean_tmp(env->conf.spool, SMTPD_TMP_STALE)) > 0)
		log_info("removed %d stale files from %s/tmp", n,
		    env->conf.spool);
	pthread_mutex_init(&env->maplock, NULL);
	pthread_mutex_init(&env->tlslock, NULL);
	auth_init();
	authres_init(&env->conf);
	limits_init(&env->conf);
	/* A map missing now is opened when it appears; until then, 451. */
	if (resolver_open(&env->resolver, &env->conf) == -1)
		log_warn("maps in %s", env->conf.mapdir);
	if (!env->foreground && daemon(1, 0) == -1) {
		pidfile_remove(pfh);
		fatal("daemon");
	}
	if (pidfile_write(pfh) == -1)
		log_warn("pidfile");
	log_info("started, %zu listener%s", nlisteners,
	    nlisteners == 1 ? "" : "s");

	if (server_run(listeners, nlisteners) == -1) {
		/*
		 * Sessions still run, maybe inside libtls: exit(3) would run
		 * the libraries' exit handlers (OpenSSL frees its state in
		 * one) under their feet.  Nothing is left to flush.
		 */
		pidfile_remove(pfh);
		log_info("stopped, sessions abandoned");
		_exit(EX_OK);
	}
	pidfile_remove(pfh);
	log_info("stopped");
	return EX_OK;
}
