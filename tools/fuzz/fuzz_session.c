/*
 * Whole SMTP conversations against smtpd's session code (session.c,
 * path.c, data.c, io.c, auth.c, sender.c and what they call), over a
 * socketpair, with the maps, the spool and mail.conf of a sandbox in
 * /dev/shm.  Input: one flag byte, then what the client sends, all of
 * it at once (pipelined), then end of input.
 *	bit 0	the client is outside relaynets (else inside)
 *	bit 1	a submission listener (AUTH before MAIL)
 *	bit 2	the input is an AUTH exchange: its first line is the AUTH
 *		argument ("PLAIN ...", "LOGIN"), the rest the client's
 *		responses, as if TLS were on and EHLO done (AUTH is offered
 *		only over TLS, which a fuzzer cannot mutate through)
 * Checked: no memory error or undefined behaviour (ASan, UBSan), every
 * reply line is "NNN" then ' ' or '-' and ends in CRLF, and the
 * session ends at end of input (a hang is a libFuzzer timeout).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <unistd.h>

#include "smtpd.h"
#include "fuzz.h"

struct smtpd	*env;

static struct smtpd	 fuzz_env;
static struct conf	 confs[2];	/* [0] client in relaynets, [1] not */
static char		 dir[] = "/dev/shm/fuzz_session.XXXXXX";
static unsigned long	 runs;
static struct passwd	 mailuser;	/* ourselves; nobody for root */

static void
write_text(const char *path, const char *text)
{
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    close(fd) == -1)
		err(1, "%s", path);
}

static void
sandbox_conf(struct conf *c, const char *name, int outside)
{
	char	 path[PATH_MAX], text[4096], e[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(text, sizeof(text),
	    "hostname mx.fuzz.test\nuser %s\nspool %s/spool\nmapdir %s/maps\n"
	    "maildir %s/vhosts/%%d/%%u\npostmaster postmaster@example.org\n"
	    "relaynets %s\ngreet_delay 0\ncommand_timeout 2s\n"
	    "data_timeout 2s\nmaxsize 64K\nmaxrcpt 5\nconn_rate none\n"
	    "msg_rate none\nmax_rcpt_refused none\nauth_fail_limit none\n"
	    "srs on\n", mailuser.pw_name, dir, dir, dir,
	    outside ? "none" : "127.0.0.0/8");
	write_text(path, text);
	if (conf_load(c, path, e, sizeof(e)) == -1)
		errx(1, "%s", e);
}

/* The maps, compiled as newmaps would: one domain of each kind. */
static void
sandbox_maps(void)
{
	struct mapset	 ms;
	char		 path[PATH_MAX], text[4096], hash[PASSWD_HASH_MAX];

	/* A cheap hash: each guess the fuzzer makes costs little. */
	if (passwd_hash("SHA256-CRYPT", "secret", hash, sizeof(hash)) == -1)
		errx(1, "passwd_hash");
	snprintf(path, sizeof(path), "%s/maps/domains", dir);
	write_text(path, "example.org senders=alice@example.org\n"
	    "example.net alias=example.org\ncatchall.test\n");
	snprintf(path, sizeof(path), "%s/maps/users", dir);
	snprintf(text, sizeof(text),
	    "alice@example.org:%s:%u:%u::%s/vhosts/example.org/alice::\n"
	    "bob@example.org:%s:%u:%u::%s/vhosts/example.org/bob::nologin\n",
	    hash, mailuser.pw_uid, mailuser.pw_gid, dir, hash, mailuser.pw_uid,
	    mailuser.pw_gid, dir);
	write_text(path, text);
	snprintf(path, sizeof(path), "%s/maps/aliases", dir);
	write_text(path, "info@example.org: alice@example.org, "
	    "bob@example.org\nsales@example.org: someone@elsewhere.test\n"
	    "@catchall.test: alice@example.org\n");
	if (mapset_open_ids(&ms, confs[0].mapdir, MAPSET_VERIFY | MAPSET_LOCK,
	    mailuser.pw_uid, mailuser.pw_gid) != 0 || mapset_check(&ms) != 0 ||
	    mapset_compile(&ms, (1 << MAP_COUNT) - 1, mailuser.pw_gid) == -1)
		errx(1, "the sandbox maps do not compile");
	mapset_close(&ms);
	if (srs_create(confs[0].mapdir, getuid(), getgid()) == -1)
		err(1, "srs_create");
}

/* At exit: the maps closed, the sandbox removed. */
static void
sandbox_remove(void)
{
	char	 cmd[PATH_MAX + 16];

	resolver_close(&env->resolver);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)system(cmd);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct passwd	*pw;
	char		 path[PATH_MAX];

	/* The mail user may not be root (UID 0 in the users map). */
	if ((pw = getpwuid(getuid() == 0 ? 65534 : getuid())) == NULL)
		errx(1, "no user for the mail system");
	mailuser = *pw;
	mailuser.pw_name = strdup(pw->pw_name);
	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	snprintf(path, sizeof(path), "%s/maps", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/spool", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/vhosts", dir);
	mkdir(path, 0755);
	sandbox_conf(&confs[0], "inside.conf", 0);
	sandbox_conf(&confs[1], "outside.conf", 1);
	sandbox_maps();
	if (spool_init(confs[0].spool) == -1)
		err(1, "spool_init");
	env = &fuzz_env;
	env->conf = confs[0];
	env->stopfd = -1;
	pthread_mutex_init(&env->maplock, NULL);
	pthread_mutex_init(&env->tlslock, NULL);
	if (resolver_open(&env->resolver, &env->conf) == -1)
		err(1, "resolver_open");
	atexit(sandbox_remove);
	if (srs_load(&env->srs, env->conf.mapdir, path, sizeof(path)) == -1)
		errx(1, "srs: %s", path);
	auth_init();
	limits_init(&env->conf);
	log_init("fuzz_session", 1);
	return 0;
}

/* Each reply line: three digits, ' ' or '-', text, CRLF. */
static void
check_replies(const char *out, size_t len)
{
	size_t	 i = 0, end;

	while (i < len) {
		for (end = i; end < len && out[end] != '\n'; end++)
			;
		/* The last line may be cut only if the session ended so. */
		if (end == len)
			break;
		CHECK(end - i >= 5);
		CHECK(isdigit((unsigned char)out[i]) &&
		    isdigit((unsigned char)out[i + 1]) &&
		    isdigit((unsigned char)out[i + 2]));
		CHECK(out[i + 3] == ' ' || out[i + 3] == '-');
		CHECK(out[end - 1] == '\r');
		i = end + 1;
	}
}

/* The queue files of the run before: a fresh spool for each input. */
static void
spool_empty(void)
{
	static const char *const sub[] = { "queue", "state", "tmp", "hold" };
	struct dirent	*de;
	char		 path[PATH_MAX];
	DIR		*d;
	size_t		 i;

	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", confs[0].spool, sub[i]);
		if ((d = opendir(path)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s",
			    confs[0].spool, sub[i], de->d_name);
			unlink(path);
		}
		closedir(d);
	}
}

/* No park_init here: a session waits in its thread, never parked. */
static void *
session_thread(void *arg)
{
	session_run(arg);
	return NULL;
}

static void *
auth_thread(void *arg)
{
	struct session	*s = arg;
	char		 line[SMTPD_AUTH_LINE_MAX + 1];
	size_t		 len;
	int		 crlf;

	s->line = line;
	if (io_getline(&s->io, s->line, SMTPD_AUTH_LINE_MAX, &len, &crlf,
	    1000) == IO_OK) {
		s->line[len - (crlf ? 2 : 1)] = '\0';
		auth_session(s, s->line);
	}
	(void)io_flush(&s->io);
	close(s->fd);
	session_free(s);
	return NULL;
}

/* Sends in, reads every reply until the session closes; the replies. */
static size_t
converse(int fd, const uint8_t *in, size_t inlen, char *out, size_t outmax)
{
	struct pollfd	 pfd;
	size_t		 sent = 0, got = 0;
	ssize_t		 n;
	char		 sink[4096];

	if (inlen == 0)
		shutdown(fd, SHUT_WR);
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN | (sent < inlen ? POLLOUT : 0);
		/* A session that hangs is caught by libFuzzer's -timeout. */
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
			abort();
		if (pfd.revents & POLLOUT) {
			n = send(fd, in + sent, inlen - sent, MSG_NOSIGNAL);
			if (n > 0 && (sent += n) == inlen)
				shutdown(fd, SHUT_WR);
			else if (n == -1)
				sent = inlen;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, got < outmax ? out + got : sink,
			    got < outmax ? outmax - got : sizeof(sink));
			if (n <= 0)
				return got;
			if (got < outmax)
				got += n;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		 out[1 << 16];
	struct sockaddr_in	 sin;
	struct session		*s;
	pthread_t		 t;
	size_t			 got;
	int			 sv[2], flags, mode;

	if (size < 1 || size > 1 << 16)
		return 0;
	flags = data[0];
	env->conf = confs[flags & 1];
	mode = flags & 2 ? LISTEN_SUBMISSION : LISTEN_PLAIN;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(40000);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = session_new(sv[0], (struct sockaddr *)&sin, sizeof(sin),
	    mode)) == NULL)
		abort();
	if (flags & 4) {
		s->esmtp = 1;
		s->state = S_HELO;
		strlcpy(s->helo, "client.fuzz.test", sizeof(s->helo));
		strlcpy(s->tlsinfo, "TLSv1.3 (fuzz)", sizeof(s->tlsinfo));
	}
	if (pthread_create(&t, NULL, flags & 4 ? auth_thread : session_thread,
	    s) != 0)
		abort();
	got = converse(sv[1], data + 1, size - 1, out, sizeof(out));
	pthread_join(t, NULL);
	close(sv[1]);
	check_replies(out, got);
	if (++runs % 64 == 0)
		spool_empty();
	return 0;
}
