/*
 * mailpasswd(1): a mailbox user changes the password of its mailbox,
 * on a terminal or for a webmail's password plugin (-f fd).
 *
 * Anyone may run it: it acts on the one mailbox whose current password
 * the caller gives.  It writes the users map, the mail user's, so it
 * is set-ID to the mail user like mailadduser (caller.c: the process
 * state is reset and the caller kept out).  A wrong password, an
 * unknown mailbox and a locked one take the same second and get the
 * same words, as smtpd's AUTH does, so that it is no faster oracle
 * than an SMTP login.  Passwords live in buffers wiped when done, and
 * never reach the log.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <readpassphrase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "libmail.h"

#define PASSWORD_MAX	1024
#define DEFAULT_SCHEME	"BLF-CRYPT"	/* mailadduser(8)'s default */
#define FAIL_MS		1000		/* as smtpd's AUTH */

struct secrets {
	char	 addr[ADDR_MAX + 2];
	char	 current[PASSWORD_MAX];
	char	 new[PASSWORD_MAX];
	char	 again[PASSWORD_MAX];
};

static __dead void usage(void);
static __dead void wipe_exit(struct secrets *, int, const char *);
static void	 read_line(struct secrets *, int, char *, size_t);
static void	 read_fd(struct secrets *, int, int);
static void	 read_tty(struct secrets *, int);
static void	 setup(struct conf *, struct caller *, uid_t *, gid_t *);
static __dead void refuse(struct secrets *, struct mapset *,
		    const struct timespec *, const struct caller *,
		    const char *, const char *);
static void	 change(struct secrets *, const struct conf *,
		    const struct caller *, uid_t, gid_t);

static __dead void
usage(void)
{
	fprintf(stderr, "usage: mailpasswd [-f fd] [address]\n");
	exit(EX_USAGE);
}

static __dead void
wipe_exit(struct secrets *s, int code, const char *msg)
{
	explicit_bzero(s, sizeof(*s));
	errx(code, "%s", msg);
}

/* One line of fd, without its newline (file_read_line). */
static void
read_line(struct secrets *s, int fd, char *buf, size_t size)
{
	if (file_read_line(fd, buf, size) != -1)
		return;
	if (errno == EINVAL)
		wipe_exit(s, EX_DATAERR, "a NUL byte in a line");
	if (errno == EMSGSIZE)
		wipe_exit(s, EX_DATAERR, "line too long");
	wipe_exit(s, EX_IOERR, "cannot read the descriptor");
}

/* -f fd: the address (unless given), the current password, the new. */
static void
read_fd(struct secrets *s, int fd, int haveaddr)
{
	if (!haveaddr)
		read_line(s, fd, s->addr, sizeof(s->addr));
	read_line(s, fd, s->current, sizeof(s->current));
	read_line(s, fd, s->new, sizeof(s->new));
}

static void
read_tty(struct secrets *s, int haveaddr)
{
	const int flags = RPP_REQUIRE_TTY;

	if (!haveaddr && readpassphrase("Mailbox address: ", s->addr,
	    sizeof(s->addr), flags | RPP_ECHO_ON) == NULL)
		wipe_exit(s, EX_USAGE, "no terminal to ask on: use -f fd");
	if (readpassphrase("Current password: ", s->current,
	    sizeof(s->current), flags) == NULL ||
	    readpassphrase("New password: ", s->new, sizeof(s->new),
	    flags) == NULL ||
	    readpassphrase("Retype new password: ", s->again,
	    sizeof(s->again), flags) == NULL)
		wipe_exit(s, EX_USAGE, "no terminal to ask on: use -f fd");
	if (strcmp(s->new, s->again) != 0)
		wipe_exit(s, EX_DATAERR, "new passwords do not match");
}

/* mail.conf, and the process becomes the mail user (caller.c). */
static void
setup(struct conf *conf, struct caller *c, uid_t *uid, gid_t *gid)
{
	char	 errbuf[PATH_MAX + 256];

	if (conf_load(conf, MAIL_CONF, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	if (conf_user_ids(conf, uid, gid, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s: %s", conf->path, errbuf);
	if (caller_become(c, *uid, *gid, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	if (c->setid && c->delegated &&
	    (caller_conf_check(conf->path, errbuf, sizeof(errbuf)) == -1 ||
	    caller_mapdir_check(conf->mapdir, *uid, errbuf,
	    sizeof(errbuf)) == -1))
		errx(EX_NOPERM, "%s", errbuf);
}

/* The same second and the same words for every refusal; logged. */
static __dead void
refuse(struct secrets *s, struct mapset *ms, const struct timespec *start,
    const struct caller *c, const char *key, const char *why)
{
	struct timespec	 now;
	long		 ms_spent;

	explicit_bzero(s, sizeof(*s));
	mapset_close(ms);
	log_warnx("uid %u: password of %s not changed: %s",
	    (unsigned)c->uid, key, why);
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms_spent = (now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000;
	if (ms_spent < FAIL_MS)
		(void)poll(NULL, 0, FAIL_MS - ms_spent);
	errx(EX_NOPERM, "%s: wrong address or password, or the mailbox is "
	    "locked", key);
}

static void
change(struct secrets *s, const struct conf *conf, const struct caller *c,
    uid_t uid, gid_t gid)
{
	static char	 line[MAPSRC_LINE_MAX + 1];
	struct timespec	 start;
	struct mapset	 ms;
	struct mapsrc_user u;
	struct mapsrc_line *l;
	struct mailaddr	 addr;
	const char	*errstr;
	char		 key[ADDR_MAX + 1], dummy[PASSWD_HASH_MAX];
	size_t		 n;
	int		 rc, ok = 0;

	if (addr_parse_safe(s->addr, &addr, &errstr) == -1 ||
	    addr_key(&addr, key, sizeof(key)) == -1)
		wipe_exit(s, EX_DATAERR, "not a mailbox address");
	if (s->new[0] == '\0')
		wipe_exit(s, EX_DATAERR, "the new password is empty");
	clock_gettime(CLOCK_MONOTONIC, &start);
	if ((rc = mapset_open_ids(&ms, conf->mapdir, MAPSET_LOCK, uid,
	    gid)) != 0) {
		explicit_bzero(s, sizeof(*s));
		errx(rc == -1 && errno == EWOULDBLOCK ? EX_TEMPFAIL :
		    EX_UNAVAILABLE, "cannot read the maps in %s", conf->mapdir);
	}
	memset(&u, 0, sizeof(u));
	if ((l = mapsrc_find(&ms.src[MAP_USERS], key)) != NULL &&
	    mapsrc_user_parse(l->value, &u, &errstr) == 0)
		ok = passwd_verify(u.hash, s->current) == 1;
	else if (passwd_hash(DEFAULT_SCHEME, "no mailbox has this password",
	    dummy, sizeof(dummy)) == 0)
		/* The same work as for a mailbox, whatever the answer. */
		(void)passwd_verify(dummy, s->current);
	if (!ok)
		refuse(s, &ms, &start, c, key, l == NULL ? "no such mailbox" :
		    "wrong password");
	if (u.nologin)
		refuse(s, &ms, &start, c, key, "the mailbox is locked");
	if (passwd_hash(DEFAULT_SCHEME, s->new, u.hash, sizeof(u.hash)) == -1)
		wipe_exit(s, EX_SOFTWARE, "cannot hash the new password");
	explicit_bzero(s, sizeof(*s));
	n = strlcpy(line, key, sizeof(line));
	line[n++] = ':';
	if (mapsrc_user_format(&u, line + n, sizeof(line) - n) == -1 ||
	    mapsrc_replace(&ms.src[MAP_USERS], l, line) == -1)
		errx(EX_SOFTWARE, "%s: cannot make the users line", key);
	explicit_bzero(line, sizeof(line));
	explicit_bzero(&u, sizeof(u));
	if (mapset_install(&ms, 1 << MAP_USERS, gid) == -1)
		errx(EX_IOERR, "the users map was not changed");
	mapset_close(&ms);
	log_info("uid %u: password of %s changed", (unsigned)c->uid, key);
}

int
main(int argc, char *argv[])
{
	struct secrets	 s;
	struct caller	 c;
	struct conf	 conf;
	const char	*errstr;
	uid_t		 uid;
	gid_t		 gid;
	int		 ch, fd = -1;

	if (caller_init(&c) == -1)
		err(EX_OSERR, "cannot reset the process state");
	while ((ch = getopt(argc, argv, "f:")) != -1) {
		switch (ch) {
		case 'f':
			fd = strtonum(optarg, 0, INT_MAX, &errstr);
			if (errstr != NULL)
				errx(EX_USAGE, "-f %s: descriptor is %s",
				    optarg, errstr);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage();
	caller_close_fds(fd);
	memset(&s, 0, sizeof(s));
	if (argc == 1 && strlcpy(s.addr, argv[0], sizeof(s.addr)) >=
	    sizeof(s.addr))
		errx(EX_DATAERR, "%s: address too long", argv[0]);
	setup(&conf, &c, &uid, &gid);
	log_init("mailpasswd", 0);
	if (fd != -1)
		read_fd(&s, fd, argc == 1);
	else
		read_tty(&s, argc == 1);
	change(&s, &conf, &c, uid, gid);
	conf_free(&conf);
	return EX_OK;
}
