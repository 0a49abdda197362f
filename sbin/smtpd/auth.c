/*
 * auth.c: SMTP AUTH (RFC 4954) with the mechanisms PLAIN (RFC 4616)
 * and LOGIN, against the users map of mailmaps(5): the login is the
 * mailbox address, the password is checked by passwd_verify against
 * the hash of its users line, and a locked (nologin) mailbox cannot
 * log in.  session.c offers AUTH only once TLS is on.
 *
 * Neither a password nor the base64 that carries it is ever logged;
 * the login and the outcome are.  The buffers that held a password
 * are zeroed once it is checked.  Failures (535) count toward
 * max_errors like every reply of 500 or more.
 *
 * Whether a login exists must not show in the time of the answer.  A
 * login that is no mailbox, a locked mailbox or a bad users line gets
 * a check of the same cost as a real one, against a hash made at start
 * in the default scheme and cost; and a failure is answered no sooner
 * than SMTPD_AUTH_FAIL_MS after the client's last response (not after
 * the AUTH command: a client that waits before it sends its password
 * would then see the bare time of the check).  That also slows down
 * guessing.
 *
 * A check costs a full hash, tens of milliseconds of a processor or
 * more, and any client can ask for one: at most auth_nslots run at
 * once, half the processors (at least one), so that failed logins can
 * never take the whole machine from the mail.  The others wait for a
 * slot, as long as command_timeout from their last response allows,
 * then get 454: a check that waits longer is no use to the client.
 */
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "smtpd.h"

#define AUTH_OK		0
#define AUTH_FAIL	1	/* 535: wrong login or password, or locked */
#define AUTH_TEMP	2	/* 454: the users map cannot be read */
#define AUTH_ABORT	3	/* cancelled, undecodable, or the client left */

/* RFC 4616: authorization identity, login and password, 255 each. */
#define AUTH_FIELD_MAX	255
#define AUTH_DECODED_MAX (SMTPD_AUTH_LINE_MAX / 4 * 3)
/* A users map value: hash, ids, home, extra fields. */
#define AUTH_VALUE_MAX	16384
/* mailadduser(8)'s default: what most users lines hold. */
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define AUTH_DUMMY_SCHEME "BLF-CRYPT"
#else
#define AUTH_DUMMY_SCHEME "SHA256-CRYPT"	/* tools/fuzz: cheap guesses */
#endif

struct auth_creds {
	char		 login[AUTH_FIELD_MAX + 1];
	char		 password[AUTH_FIELD_MAX + 1];
	struct timespec	 last;		/* the last response came then */
};

/* The users map, opened at the first AUTH; under env->maplock. */
static struct map	*auth_users;

/* What a login that cannot succeed is checked against. */
static char		 auth_dummy_hash[PASSWD_HASH_MAX];

/* Password checks that may start now, of auth_nslots. */
static pthread_mutex_t	 auth_slot_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 auth_slot_free;
static int		 auth_slots;

static int	auth_b64_decode(const char *, unsigned char *, size_t,
		    size_t *);
static int	auth_response_read(struct session *, const char *,
		    const char *, char *, unsigned char *, size_t *);
static int	auth_response(struct session *, struct auth_creds *,
		    const char *, const char *, unsigned char *, size_t *);
static int	auth_field(char *, const unsigned char *, size_t);
static int	auth_plain(struct session *, const char *, struct auth_creds *);
static int	auth_login(struct session *, const char *, struct auth_creds *);
static int	auth_lookup(const char *, char *, size_t);
static int	auth_user(const char *, char *, size_t, char *,
		    struct mapsrc_user *, const char **);
static int	auth_slot_take(void);
static void	auth_slot_give(void);
static int	auth_verify(const char *, const char *, const char **);
static int	auth_check(const struct auth_creds *, char *, size_t,
		    const char **);
static void	auth_fail_pause(const struct timespec *);

void
auth_init(void)
{
	pthread_condattr_t	 attr;
	cpu_set_t		 cpus;
	int			 n = 1;

	if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0)
		n = CPU_COUNT(&cpus);
	auth_slots = n / 2 > 1 ? n / 2 : 1;
	if (pthread_condattr_init(&attr) != 0 ||
	    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&auth_slot_free, &attr) != 0)
		fatalx("cannot set up the password check slots");
	pthread_condattr_destroy(&attr);
	if (passwd_hash(AUTH_DUMMY_SCHEME, "no login has this password",
	    auth_dummy_hash, sizeof(auth_dummy_hash)) == -1)
		fatal("cannot make the dummy password hash");
}

/* Strict RFC 4648 base64: padding only at the end, nothing else. */
static int
auth_b64_decode(const char *in, unsigned char *out, size_t outlen,
    size_t *len)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char	*p;
	size_t		 n = strlen(in), i, o = 0;
	unsigned long	 acc;
	int		 j, pad;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4) {
		acc = 0;
		pad = 0;
		for (j = 0; j < 4; j++) {
			if (in[i + j] == '=' && i + 4 == n &&
			    (j == 3 || (j == 2 && in[i + 3] == '='))) {
				pad++;
				acc <<= 6;
				continue;
			}
			if (pad > 0 || (p = strchr(b64, in[i + j])) == NULL)
				return -1;
			acc = acc << 6 | (unsigned long)(p - b64);
		}
		if (o + 3 - pad > outlen)
			return -1;
		out[o++] = acc >> 16 & 0xff;
		if (pad < 2)
			out[o++] = acc >> 8 & 0xff;
		if (pad < 1)
			out[o++] = acc & 0xff;
	}
	*len = o;
	return 0;
}

/*
 * One response of the client: the initial response of the AUTH line
 * if there is one ("=" is an empty one), else a line read after a 334
 * with the challenge, into line.  Decoded into out (AUTH_DECODED_MAX
 * bytes).
 */
static int
auth_response_read(struct session *s, const char *initial,
    const char *challenge, char *line, unsigned char *out, size_t *outlen)
{
	size_t	 len;
	int	 r, crlf;

	if (initial == NULL) {
		io_printf(&s->io, "334 %s\r\n", challenge);
		r = io_getline(&s->io, line, SMTPD_AUTH_LINE_MAX, &len, &crlf,
		    env->conf.command_timeout * 1000);
		if (r == IO_EOF || r == IO_ERROR || r == IO_TIMEOUT) {
			if (r == IO_TIMEOUT)
				session_reply(s, 421, "4.4.2", "%s Error: "
				    "timeout exceeded", env->conf.hostname);
			else if (server_stopping())
				session_reply(s, 421, "4.3.2", "%s Service "
				    "shutting down", env->conf.hostname);
			s->quit = 1;
			return AUTH_ABORT;
		}
		if (r == IO_LONG) {
			session_reply(s, 500, "5.5.6", "Authentication "
			    "exchange line is too long");
			return AUTH_ABORT;
		}
		line[len - (crlf ? 2 : 1)] = '\0';
		initial = line;
	} else if (strcmp(initial, "=") == 0)
		initial = "";
	if (strcmp(initial, "*") == 0) {
		session_reply(s, 501, "5.7.0", "Authentication cancelled");
		return AUTH_ABORT;
	}
	if (auth_b64_decode(initial, out, AUTH_DECODED_MAX, outlen) == -1) {
		session_reply(s, 501, "5.5.2", "Cannot decode response");
		return AUTH_ABORT;
	}
	return AUTH_OK;
}

/*
 * auth_response_read, then the line wiped whatever happened: a line cut
 * short, too long or not base64 may still hold a password.
 */
static int
auth_response(struct session *s, struct auth_creds *c, const char *initial,
    const char *challenge, unsigned char *out, size_t *outlen)
{
	char	 line[SMTPD_AUTH_LINE_MAX + 1];
	int	 r;

	r = auth_response_read(s, initial, challenge, line, out, outlen);
	explicit_bzero(line, sizeof(line));
	clock_gettime(CLOCK_MONOTONIC, &c->last);
	return r;
}

/* A field of at most AUTH_FIELD_MAX octets and no NUL, as a string. */
static int
auth_field(char *dst, const unsigned char *src, size_t len)
{
	if (len > AUTH_FIELD_MAX || memchr(src, '\0', len) != NULL)
		return -1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

/*
 * RFC 4616: [authzid] NUL authcid NUL passwd.  An authorization
 * identity other than the login itself would be acting for another
 * user, which nobody may do here.
 */
static int
auth_plain(struct session *s, const char *initial, struct auth_creds *c)
{
	unsigned char	 buf[AUTH_DECODED_MAX];
	unsigned char	*nul1, *nul2, *end;
	size_t		 len;
	int		 r, bad;

	if ((r = auth_response(s, c, initial, "", buf, &len)) != AUTH_OK) {
		explicit_bzero(buf, sizeof(buf));
		return r;
	}
	end = buf + len;
	bad = (nul1 = memchr(buf, '\0', len)) == NULL ||
	    (nul2 = memchr(nul1 + 1, '\0', end - nul1 - 1)) == NULL ||
	    auth_field(c->login, nul1 + 1, nul2 - nul1 - 1) == -1 ||
	    auth_field(c->password, nul2 + 1, end - nul2 - 1) == -1 ||
	    (nul1 != buf && ((size_t)(nul1 - buf) != strlen(c->login) ||
	    memcmp(buf, c->login, nul1 - buf) != 0));
	explicit_bzero(buf, sizeof(buf));
	return bad ? AUTH_FAIL : AUTH_OK;
}

/* LOGIN: the login, then the password, each after its prompt. */
static int
auth_login(struct session *s, const char *initial, struct auth_creds *c)
{
	unsigned char	 buf[AUTH_DECODED_MAX];
	size_t		 len;
	int		 r, bad;

	/* "Username:" and "Password:" in base64, as clients expect. */
	if ((r = auth_response(s, c, initial, "VXNlcm5hbWU6", buf,
	    &len)) != AUTH_OK)
		return r;
	bad = auth_field(c->login, buf, len) == -1;
	if ((r = auth_response(s, c, NULL, "UGFzc3dvcmQ6", buf,
	    &len)) == AUTH_OK)
		bad |= auth_field(c->password, buf, len) == -1;
	explicit_bzero(buf, sizeof(buf));
	if (r != AUTH_OK)
		return r;
	return bad ? AUTH_FAIL : AUTH_OK;
}

/* The users map value of key: 1, 0 if absent, -1 if unreadable. */
static int
auth_lookup(const char *key, char *val, size_t vallen)
{
	int	 r;

	pthread_mutex_lock(&env->maplock);
	if (auth_users == NULL)
		auth_users = map_open(env->conf.mapdir, "users");
	else if (map_refresh(auth_users) == -1)
		log_warn("users map in %s", env->conf.mapdir);
	if (auth_users == NULL) {
		log_warn("users map in %s", env->conf.mapdir);
		r = -1;
	} else
		r = map_lookup(auth_users, key, val, vallen);
	pthread_mutex_unlock(&env->maplock);
	return r;
}

/*
 * The users line of login, parsed into u: AUTH_OK if it may log in,
 * AUTH_FAIL with the reason, or AUTH_TEMP.  key gets the map key.
 */
static int
auth_user(const char *login, char *key, size_t keylen, char *val,
    struct mapsrc_user *u, const char **why)
{
	struct mailaddr	 a;
	const char	*errstr;
	int		 r;

	strlcpy(key, login, keylen);
	if (addr_parse_safe(login, &a, &errstr) == -1 ||
	    addr_key(&a, key, keylen) == -1) {
		*why = "not a mailbox address";
		return AUTH_FAIL;
	}
	if ((r = auth_lookup(key, val, AUTH_VALUE_MAX)) == -1) {
		*why = "users map unreadable";
		return AUTH_TEMP;
	}
	if (r == 0) {
		*why = "no such mailbox";
		return AUTH_FAIL;
	}
	if (mapsrc_user_parse(val, u, &errstr) == -1) {
		log_warnx("users map: %s: %s", key, errstr);
		*why = "bad users line";
		return AUTH_FAIL;
	}
	if (u->nologin) {
		*why = "mailbox locked";
		return AUTH_FAIL;
	}
	return AUTH_OK;
}

/*
 * One of the slots, waiting for it no longer than command_timeout from
 * the client's last response (which came just before): 0, or -1.
 */
static int
auth_slot_take(void)
{
	struct timespec	 deadline;

	io_deadline(&deadline, env->conf.command_timeout * 1000);
	pthread_mutex_lock(&auth_slot_lock);
	while (auth_slots == 0)
		if (pthread_cond_timedwait(&auth_slot_free, &auth_slot_lock,
		    &deadline) == ETIMEDOUT && auth_slots == 0) {
			pthread_mutex_unlock(&auth_slot_lock);
			return -1;
		}
	auth_slots--;
	pthread_mutex_unlock(&auth_slot_lock);
	return 0;
}

static void
auth_slot_give(void)
{
	pthread_mutex_lock(&auth_slot_lock);
	auth_slots++;
	pthread_cond_signal(&auth_slot_free);
	pthread_mutex_unlock(&auth_slot_lock);
}

/* passwd_verify in a slot: 1, 0, -1 (unusable hash) or -2 (no slot). */
static int
auth_verify(const char *hash, const char *password, const char **why)
{
	int	 r;

	if (auth_slot_take() == -1) {
		*why = "too many password checks waiting";
		return -2;
	}
	r = passwd_verify(hash, password);
	auth_slot_give();
	return r;
}

/* AUTH_OK, AUTH_FAIL with a reason for the log, or AUTH_TEMP. */
static int
auth_check(const struct auth_creds *c, char *key, size_t keylen,
    const char **why)
{
	struct mapsrc_user *u;
	char		 *val;
	int		  r, verdict;

	if ((val = malloc(AUTH_VALUE_MAX)) == NULL ||
	    (u = malloc(sizeof(*u))) == NULL) {
		free(val);
		strlcpy(key, c->login, keylen);
		*why = "out of memory";
		return AUTH_TEMP;
	}
	verdict = auth_user(c->login, key, keylen, val, u, why);
	if (verdict == AUTH_FAIL) {
		/* The same work as for a mailbox, whatever the answer. */
		if (auth_verify(auth_dummy_hash, c->password, why) == -2)
			verdict = AUTH_TEMP;
	} else if (verdict == AUTH_OK) {
		r = auth_verify(u->hash, c->password, why);
		if (r == -1) {
			log_warnx("users map: %s: unusable password hash",
			    key);
			*why = "unusable password hash";
		} else if (r == 0)
			*why = "wrong password";
		verdict = r == 1 ? AUTH_OK : r == -2 ? AUTH_TEMP : AUTH_FAIL;
	}
	explicit_bzero(u, sizeof(*u));
	explicit_bzero(val, AUTH_VALUE_MAX);
	free(u);
	free(val);
	return verdict;
}

/* Until SMTPD_AUTH_FAIL_MS after last. */
static void
auth_fail_pause(const struct timespec *last)
{
	struct timespec	 now;
	long		 ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - last->tv_sec) * 1000 +
	    (now.tv_nsec - last->tv_nsec) / 1000000;
	if (ms < SMTPD_AUTH_FAIL_MS)
		(void)poll(NULL, 0, SMTPD_AUTH_FAIL_MS - ms);
}

void
auth_session(struct session *s, char *arg)
{
	struct auth_creds c;
	struct timespec	 last;
	char		 key[SMTPD_ADDRLEN], *initial;
	const char	*mech, *why = "malformed credentials";
	int		 r;

	mech = arg;
	if ((initial = strchr(arg, ' ')) != NULL)
		*initial++ = '\0';
	if (*mech == '\0' || (initial != NULL &&
	    (*initial == '\0' || strchr(initial, ' ') != NULL))) {
		session_reply(s, 501, "5.5.4", "Syntax: AUTH mechanism "
		    "[initial-response]");
		return;
	}
	memset(&c, 0, sizeof(c));
	clock_gettime(CLOCK_MONOTONIC, &c.last);
	if (strcasecmp(mech, "PLAIN") == 0) {
		mech = "PLAIN";
		r = auth_plain(s, initial, &c);
	} else if (strcasecmp(mech, "LOGIN") == 0) {
		mech = "LOGIN";
		r = auth_login(s, initial, &c);
	} else {
		session_reply(s, 504, "5.5.4", "Unrecognized authentication "
		    "type");
		return;
	}
	io_scrub(&s->io);
	key[0] = '\0';
	if (r == AUTH_OK)
		r = auth_check(&c, key, sizeof(key), &why);
	else
		strlcpy(key, c.login, sizeof(key));
	last = c.last;
	explicit_bzero(&c, sizeof(c));
	if (r == AUTH_ABORT) {
		log_info("%s[%s]: auth=%s aborted", s->name, s->addr, mech);
		return;
	}
	if (r == AUTH_OK) {
		strlcpy(s->login, key, sizeof(s->login));
		log_info("%s[%s]: auth=%s login=<%s> status=ok", s->name,
		    s->addr, mech, key);
		session_reply(s, 235, "2.7.0", "Authentication successful");
		return;
	}
	log_info("%s[%s]: auth=%s login=<%s> status=%s (%s)", s->name,
	    s->addr, mech, key, r == AUTH_TEMP ? "deferred" : "failed", why);
	if (r == AUTH_TEMP) {
		session_reply(s, 454, "4.7.0", "Temporary authentication "
		    "failure");
		return;
	}
	limits_auth_fail(s);
	auth_fail_pause(&last);
	session_reply(s, 535, "5.7.8", "Authentication credentials invalid");
}
