/*
 * The relayhost's credentials (relayhost_auth of mail.conf(5)): lines
 * "host[:port] login password", read once at start, as root before
 * the privileges are dropped, so that the file may be root's alone.
 * The file must be accessible to its owner only, and that owner root
 * or the mail user: anything else is a configuration error.
 *
 * The password lives in this file's memory and nowhere else: not in a
 * log line, not in the queue, not in a core dump (none is made once
 * it is loaded, and the process cannot be traced by other processes
 * of the mail user, smtpd among them).  Buffers that held it are wiped;
 * a worker that will not log in wipes its copy at once.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include <signal.h>

#include "libmail.h"
#include "deliver.h"

#define RELAYAUTH_FILE_MAX	65536

static struct relayauth	 cred;
static int		 loaded;

static int	 relayauth_read(const struct conf *, int, char *, size_t *);
static int	 relayauth_line(const struct conf *, char *, int *,
		    const char **);

/*
 * Once credentials are in memory, they must not reach a file; called
 * again after the privileges are dropped, which may reset "dumpable".
 */
void
relayauth_nodump(void)
{
	struct rlimit	 rl;

	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		err(EX_OSERR, "setrlimit RLIMIT_CORE");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		err(EX_OSERR, "prctl PR_SET_DUMPABLE");
}

/* The whole file into buf (len: its size), from a checked descriptor. */
static int
relayauth_read(const struct conf *conf, int fd, char *buf, size_t *len)
{
	ssize_t	 n;

	*len = 0;
	while ((n = read(fd, buf + *len, RELAYAUTH_FILE_MAX - *len)) > 0)
		*len += (size_t)n;
	if (n == -1)
		err(EX_CONFIG, "%s: relayhost_auth %s", conf->path,
		    conf->relayhost_auth);
	if (*len == RELAYAUTH_FILE_MAX)
		return -1;
	buf[*len] = '\0';
	return 0;
}

/*
 * One line: 0 if it is a comment, a blank line, or the credentials of
 * another host; 1 if it names the relayhost (*exact: with its port);
 * -1 with a reason.  The password is the rest of the line after the
 * blanks that follow the login: it may hold blanks itself.
 */
static int
relayauth_line(const struct conf *conf, char *line, int *exact,
    const char **why)
{
	char		*host, *port, *login, *pass, *end;
	const char	*p;

	for (p = line; *p != '\0'; p++)
		if (iscntrl((unsigned char)*p) && *p != '\t') {
			*why = "control character in line";
			return -1;
		}
	line += strspn(line, " \t");
	if (*line == '\0' || *line == '#')
		return 0;
	host = line;
	line += strcspn(line, " \t");
	if (*line != '\0')
		*line++ = '\0';
	login = line + strspn(line, " \t");
	line = login + strcspn(login, " \t");
	if (*line != '\0')
		*line++ = '\0';
	pass = line + strspn(line, " \t");
	if (*login == '\0' || *pass == '\0') {
		*why = "not \"host[:port] login password\"";
		return -1;
	}
	if (strlen(login) >= sizeof(cred.login) ||
	    strlen(pass) >= sizeof(cred.password)) {
		*why = "login or password longer than 255 characters";
		return -1;
	}
	port = NULL;
	if (*host == '[') {
		if ((end = strchr(host, ']')) == NULL ||
		    (end[1] != '\0' && end[1] != ':')) {
			*why = "bad host (host, host:port or [host]:port)";
			return -1;
		}
		*end = '\0';
		host++;
		if (end[1] == ':')
			port = end + 2;
	} else if ((port = strchr(host, ':')) != NULL)
		*port++ = '\0';
	if (strcasecmp(host, conf->relayhost) != 0 ||
	    (port != NULL && strcmp(port, conf->relayport) != 0))
		return 0;
	/* The first line for host:port, else the first for host. */
	if (loaded && (*exact || port == NULL))
		return 0;
	*exact = port != NULL;
	strlcpy(cred.login, login, sizeof(cred.login));
	strlcpy(cred.password, pass, sizeof(cred.password));
	loaded = 1;
	return 1;
}

void
relayauth_load(const struct conf *conf)
{
	struct stat	 sb;
	uid_t		 uid;
	gid_t		 gid;
	char		 errbuf[256], *buf, *line, *next, *nul;
	const char	*why = NULL;
	size_t		 len, lineno = 0;
	int		 fd, exact = 0;

	if (conf->relayhost_auth[0] == '\0')
		return;
	relayauth_nodump();
	if (conf_user_ids(conf, &uid, &gid, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	/* The wrong user: drop_privileges says so (77), not the file. */
	if (geteuid() != 0 && geteuid() != uid)
		return;
	fd = open(conf->relayhost_auth, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1 || fstat(fd, &sb) == -1)
		err(EX_CONFIG, "%s: relayhost_auth %s", conf->path,
		    conf->relayhost_auth);
	if (!S_ISREG(sb.st_mode))
		errx(EX_CONFIG, "%s: relayhost_auth %s: not a regular file",
		    conf->path, conf->relayhost_auth);
	if (sb.st_uid != 0 && sb.st_uid != uid)
		errx(EX_CONFIG, "%s: relayhost_auth %s: owned by uid %ld, not "
		    "by root or %s", conf->path, conf->relayhost_auth,
		    (long)sb.st_uid, conf->user);
	if ((sb.st_mode & 077) != 0)
		errx(EX_CONFIG, "%s: relayhost_auth %s: mode %04o, open to "
		    "group or others (make it 0600)", conf->path,
		    conf->relayhost_auth, (unsigned int)(sb.st_mode & 07777));
	if ((buf = malloc(RELAYAUTH_FILE_MAX + 1)) == NULL)
		err(EX_OSERR, NULL);
	if (relayauth_read(conf, fd, buf, &len) == -1)
		errx(EX_CONFIG, "%s: relayhost_auth %s: larger than 64K",
		    conf->path, conf->relayhost_auth);
	close(fd);
	if ((nul = memchr(buf, '\0', len)) != NULL) {
		for (line = buf; line < nul; line++)
			lineno += *line == '\n';
		lineno++;
		why = "NUL byte in line";
		len = 0;
	}
	for (line = buf; line < buf + len; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = buf + len;
		if (relayauth_line(conf, line, &exact, &why) == -1)
			break;
	}
	explicit_bzero(buf, RELAYAUTH_FILE_MAX + 1);
	free(buf);
	if (why != NULL) {
		relayauth_wipe();
		errx(EX_CONFIG, "%s:%zu: %s", conf->relayhost_auth, lineno,
		    why);
	}
	if (!loaded)
		errx(EX_CONFIG, "%s: relayhost_auth %s: no line for the "
		    "relayhost %s:%s", conf->path, conf->relayhost_auth,
		    conf->relayhost, conf->relayport);
}

const struct relayauth *
relayauth_get(void)
{
	return loaded ? &cred : NULL;
}

void
relayauth_wipe(void)
{
	explicit_bzero(&cred, sizeof(cred));
	loaded = 0;
}
