/*
 * The caller of a set-ID command (mailadduser, mailalias, mailpasswd):
 * who it is, what it handed us, and which domains it may change.
 *
 * Those programs are set-user-ID and set-group-ID to the mail user, as
 * sendmail is, and trust nothing of the caller but its real UID: the
 * environment, the descriptors above 2, the signal state and the
 * limits that let a process die half-way are reset before anything
 * else runs, core dumps are off, and once mail.conf is read the
 * process becomes the mail user wholly (real, effective and saved
 * IDs), so the caller can neither signal nor trace it.  Root, calling
 * a set-ID copy, becomes root again: it keeps every power.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <paths.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmail.h"

extern char	**environ;

static int	 caller_env_scrub(void);
static int	 caller_fds_sane(void);
static int	 caller_state_reset(void);
static int	 file_safe(const char *, uid_t, int, char *, size_t);

/* Nothing the caller chose: no variable, PATH the system's. */
static int
caller_env_scrub(void)
{
	static char	*empty[] = { NULL };

	environ = empty;
	return setenv("PATH", _PATH_STDPATH, 1);
}

/* 0-2 closed by the caller must not become a map we open. */
static int
caller_fds_sane(void)
{
	int	 fd;

	for (fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) == -1 &&
		    open(_PATH_DEVNULL, fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			return -1;
	return 0;
}

/*
 * What a process keeps across execve(2) that could stop it half-way
 * through an update, or leak what it read: the signal mask and ignored signals, interval timers, soft CPU and file
 * size limits below the hard ones, and core dumps (of a process that
 * holds password hashes, and for a moment a clear-text password).
 */
static int
caller_state_reset(void)
{
	static const int	 raised[] = { RLIMIT_CPU, RLIMIT_FSIZE };
	static const int	 timers[] = { ITIMER_REAL, ITIMER_VIRTUAL,
				    ITIMER_PROF };
	struct sigaction	 sa;
	struct itimerval	 off;
	struct rlimit		 rl;
	sigset_t		 none;
	size_t			 i;
	int			 sig;

	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) == -1)
		return -1;
	for (sig = 1; sig < NSIG; sig++)
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN) {
			sa.sa_handler = SIG_DFL;
			(void)sigaction(sig, &sa, NULL);
		}
	memset(&off, 0, sizeof(off));
	for (i = 0; i < sizeof(timers) / sizeof(timers[0]); i++)
		if (setitimer(timers[i], &off, NULL) == -1)
			return -1;
	for (i = 0; i < sizeof(raised) / sizeof(raised[0]); i++)
		if (getrlimit(raised[i], &rl) == 0 && rl.rlim_cur != rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(raised[i], &rl);
		}
	rl.rlim_cur = rl.rlim_max = 0;
	return setrlimit(RLIMIT_CORE, &rl);
}

int
caller_init(struct caller *c)
{
	struct passwd	*pw;

	memset(c, 0, sizeof(*c));
	c->setid = getuid() != geteuid() || getgid() != getegid();
	if (c->setid && caller_env_scrub() == -1)
		return -1;
	if (caller_fds_sane() == -1 || caller_state_reset() == -1)
		return -1;
	/*
	 * Linux makes a set-ID process undumpable already (unless
	 * suid_dumpable says otherwise): make sure, and so untraceable
	 * by its caller.  Others stay traceable, for strace(1).
	 */
	if (c->setid && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return -1;
	umask(022);
	c->uid = getuid();
	if ((pw = getpwuid(c->uid)) != NULL &&
	    strlen(pw->pw_name) < sizeof(c->login))
		strlcpy(c->login, pw->pw_name, sizeof(c->login));
	endpwent();
	return 0;
}

/*
 * Descriptors above 2 are the caller's files in a process of the mail
 * user: closed, but for the one an option names (-h fd).
 */
void
caller_close_fds(int keep)
{
	int	 fd;

	if (keep < 3) {
		closefrom(3);
		return;
	}
	for (fd = 3; fd < keep; fd++)
		(void)close(fd);
	closefrom(keep + 1);
}

int
caller_become(struct caller *c, uid_t mailuid, gid_t mailgid, char *err,
    size_t errlen)
{
	gid_t	 gid;

	c->mailuid = mailuid;
	c->delegated = c->uid != 0 && c->uid != mailuid;
	if (!c->setid)
		return 0;
	if (c->uid == 0) {
		gid = getgid();
		if (setresgid(gid, gid, gid) == -1 ||
		    setresuid(0, 0, 0) == -1)
			goto fail;
		return 0;
	}
	if (geteuid() != mailuid || getegid() != mailgid) {
		snprintf(err, errlen, "set-ID to %u:%u, but the mail user is "
		    "%u:%u", (unsigned)geteuid(), (unsigned)getegid(),
		    (unsigned)mailuid, (unsigned)mailgid);
		return -1;
	}
	if (setresgid(mailgid, mailgid, mailgid) == -1 ||
	    setresuid(mailuid, mailuid, mailuid) == -1)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot set the user and group IDs: %s",
	    strerror(errno));
	return -1;
}

/*
 * path must be what it says, not a link to elsewhere: lstat(2) shows
 * the kind (dir: a directory, else a regular file, or missing if
 * optional), and only root and the mail user may own it or write it.
 */
static int
file_safe(const char *path, uid_t mailuid, int dir, char *err, size_t errlen)
{
	struct stat	 st;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT && !dir)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a %s%s", path,
		    dir ? "directory" : "regular file",
		    S_ISLNK(st.st_mode) ? " but a symbolic link" : "");
		return -1;
	}
	if ((st.st_uid != 0 && st.st_uid != mailuid) ||
	    (st.st_mode & S_IWOTH) != 0) {
		snprintf(err, errlen, "%s: owned by uid %u, mode %03o: only "
		    "root and the mail user may write it", path,
		    (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777));
		return -1;
	}
	return 0;
}

int
caller_mapdir_check(const char *mapdir, uid_t mailuid, char *err,
    size_t errlen)
{
	char	 real[PATH_MAX], path[PATH_MAX];
	int	 kind, n;

	if (realpath(mapdir, real) == NULL) {
		snprintf(err, errlen, "%s: %s", mapdir, strerror(errno));
		return -1;
	}
	if (strcmp(real, mapdir) != 0) {
		snprintf(err, errlen, "%s: not its real path %s (a symbolic "
		    "link, or . or ..): refused to anyone but root", mapdir,
		    real);
		return -1;
	}
	if (file_safe(mapdir, mailuid, 1, err, errlen) == -1)
		return -1;
	for (kind = 0; kind < MAP_COUNT; kind++) {
		n = snprintf(path, sizeof(path), "%s/%s", mapdir,
		    mapsrc_names[kind]);
		if (n < 0 || (size_t)n >= sizeof(path) ||
		    file_safe(path, mailuid, 0, err, errlen) == -1)
			return -1;
		if (strlcat(path, ".db", sizeof(path)) >= sizeof(path) ||
		    file_safe(path, mailuid, 0, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/*
 * mail.conf names the mapdir, the spool and the mail user: a file the
 * mail user could change would let whoever runs as it give itself
 * more.  Root's alone, in a directory that is root's alone.
 */
int
caller_conf_check(const char *conffile, char *err, size_t errlen)
{
	struct stat	 st;
	char		 dir[PATH_MAX], *slash;

	if (strlcpy(dir, conffile, sizeof(dir)) >= sizeof(dir) ||
	    (slash = strrchr(dir, '/')) == NULL) {
		snprintf(err, errlen, "%s: not an absolute path", conffile);
		return -1;
	}
	*(slash == dir ? slash + 1 : slash) = '\0';
	if (lstat(conffile, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
	    stat(dir, &st) == -1 || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(err, errlen, "%s and its directory must be root's, "
		    "writable by root alone, for domain owners to use the "
		    "set-ID commands", conffile);
		return -1;
	}
	return 0;
}

int
caller_owns(const struct caller *c, const char *domvalue)
{
	char	 buf[MAPSRC_LINE_MAX + 1], *p, *login;

	if (!c->delegated)
		return 1;
	if (c->login[0] == '\0' ||
	    mapsrc_domain_attr(domvalue, "owner", buf, sizeof(buf)) == NULL)
		return 0;
	for (p = buf; (login = strsep(&p, ",")) != NULL;)
		if (strcmp(login, c->login) == 0)
			return 1;
	return 0;
}

int
caller_owners_valid(const char *value, char *why, size_t whylen)
{
	const char	*p, *end;
	size_t		 len;

	for (p = value; ; p = end + 1) {
		end = p + strcspn(p, ",");
		len = end - p;
		if (len == 0 || len > CALLER_LOGIN_MAX || *p == '-' ||
		    strspn(p, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") < len) {
			snprintf(why, whylen, "bad login '%.*s' in 'owner': "
			    "Unix login names, split by ',' (no @group)",
			    (int)(len > 64 ? 64 : len), p);
			return -1;
		}
		if (*end == '\0')
			return 0;
	}
}
