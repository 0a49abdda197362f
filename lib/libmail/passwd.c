/*
 * Password hashes in Dovecot's schemes: "{SCHEME}hash", as Dovecot's
 * passwd-file reads them, so one users file serves both basemail and
 * Dovecot.  We write the crypt(3) family through libxcrypt and verify
 * that family plus the schemes people import from other Dovecot
 * installations: Argon2 (libargon2) and Dovecot's PBKDF2-HMAC-SHA1.
 */

#include <sys/types.h>

#include <argon2.h>
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sha.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "libmail.h"

/*
 * bcrypt cost 10 takes about 80 ms on the build machine: slow enough
 * to hurt an offline attack, fast enough for an interactive login and
 * for mailadduser.  Cost 12 took 300 ms.
 */
#define BCRYPT_COST		10

/*
 * Bounds on the work a hash may ask for, one set for what the admin
 * commands and newmaps accept and for what passwd_verify computes: a
 * users line is trusted data, but a typo or a hostile import must not
 * make every login allocate gigabytes or spin for seconds, and smtpd
 * runs a check for every AUTH that fails.  Each bound costs about half
 * a second of CPU for one check on the build machine (bcrypt 13:
 * 0.41 s, SHA-crypt 10^6 rounds: 0.30 s, Argon2 256 MiB x 1 pass:
 * 0.36 s, PBKDF2 500000 rounds: 0.30 s), and each is above what
 * doveadm pw makes by default (bcrypt 5, SHA-crypt 5000 rounds,
 * Argon2id 64 MiB x 3 passes, Argon2i 32 MiB x 4, PBKDF2 5000 rounds)
 * and what common tools make (PHP's bcrypt 10 to 12, passlib's
 * SHA-crypt 656000 rounds, libxcrypt's yescrypt 16 MiB, Argon2 of PHP,
 * argon2-cffi and Django: 64 to 100 MiB, 2 to 4 passes, 1 to 8 lanes).
 * Memory is bounded as Argon2's for yescrypt and scrypt too.
 */
#define BCRYPT_LIMIT_COST	13
#define SHACRYPT_LIMIT_ROUNDS	1000000
#define MEMORY_LIMIT		(256ULL * 1024 * 1024)	/* bytes */
#define ARGON2_LIMIT_MEMORY	(MEMORY_LIMIT / 1024)	/* KiB */
#define ARGON2_LIMIT_WORK	ARGON2_LIMIT_MEMORY	/* KiB x passes */
#define ARGON2_LIMIT_TIME	64
#define ARGON2_LIMIT_LANES	16
#define PBKDF2_LIMIT_ROUNDS	500000
/* {CRYPT} also takes libxcrypt's other methods, with costs of their own. */
#define SHA1CRYPT_LIMIT_ROUNDS	500000		/* $sha1$: 0.36 s */
#define SUNMD5_LIMIT_ROUNDS	300000		/* $md5,rounds=: 0.43 s */
#define BSDI_LIMIT_ROUNDS	(1UL << 22)	/* "_": 0.5 s */
#define PBKDF2_KEYLEN		SHA_DIGEST_LENGTH	/* one block, as Dovecot */

#define HASH_MAX		512

#define KIND_CRYPT		0
#define KIND_ARGON2		1
#define KIND_PBKDF2		2

struct scheme {
	const char	*name;		/* Dovecot's name, upper case */
	int		 kind;
	const char	*prefix;	/* crypt(3) prefix we write, NULL: none */
	unsigned long	 cost;		/* 0: libxcrypt's default */
	argon2_type	 atype;
};

static const struct scheme schemes[] = {
	{ "BLF-CRYPT",		KIND_CRYPT,	"$2b$",	BCRYPT_COST,	0 },
	{ "SHA512-CRYPT",	KIND_CRYPT,	"$6$",	0,		0 },
	{ "SHA256-CRYPT",	KIND_CRYPT,	"$5$",	0,		0 },
	{ "CRYPT",		KIND_CRYPT,	"$y$",	0,		0 },
	{ "ARGON2ID",		KIND_ARGON2,	NULL,	0,	Argon2_id },
	{ "ARGON2I",		KIND_ARGON2,	NULL,	0,	Argon2_i },
	{ "PBKDF2",		KIND_PBKDF2,	NULL,	0,		0 },
};

static const char b64crypt[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static const char b64std[] =
    "+/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int	 ct_differ(const void *, const void *, size_t);
static const struct scheme *scheme_lookup(const char *, size_t);
static const struct scheme *scheme_split(const char *, const char **);
static int	 span_of(const char *, size_t, const char *);
static int	 crypt_chars(const char *);
static int	 refuse(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	 b64crypt_digit(char);
static int	 yescrypt_cost_check(const char *, char *, size_t);
static int	 scrypt_cost_check(const char *, char *, size_t);
static int	 rounds_check(const char *, unsigned long, char, const char *,
		    char *, size_t);
static int	 bsdi_cost_check(const char *, char *, size_t);
static int	 crypt_cost_check(const char *, char *, size_t);
static int	 crypt_body_valid(const struct scheme *, const char *);
static int	 argon2_params(const struct scheme *, const char *,
		    unsigned long *, unsigned long *, unsigned long *,
		    const char **);
static int	 argon2_cost_check(const struct scheme *, const char *,
		    char *, size_t);
static int	 argon2_body_valid(const struct scheme *, const char *);
static int	 pbkdf2_cost_check(const char *, char *, size_t);
static int	 pbkdf2_body_parse(const char *, const char **, size_t *,
		    unsigned long *, unsigned char *);
static int	 body_valid(const struct scheme *, const char *);
static int	 verify_crypt(const char *, const char *);
static int	 verify_argon2(const struct scheme *, const char *,
		    const char *);
static int	 verify_pbkdf2(const char *, const char *);
static void	 hmac_sha1(const unsigned char *, size_t,
		    const unsigned char *, size_t, const unsigned char *,
		    size_t, unsigned char *);
static void	 pbkdf2_sha1(const char *, const unsigned char *, size_t,
		    unsigned long, unsigned char *);

/*
 * Constant-time comparison: nonzero if the buffers differ.  libbsd
 * 0.11 has no timingsafe_bcmp(3), so here is the same idea.
 */
static int
ct_differ(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *p = a, *q = b;
	unsigned char d = 0;
	size_t	 i;

	for (i = 0; i < len; i++)
		d |= p[i] ^ q[i];
	return d != 0;
}

static const struct scheme *
scheme_lookup(const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strlen(schemes[i].name) == len &&
		    strncasecmp(schemes[i].name, name, len) == 0)
			return &schemes[i];
	return NULL;
}

int
passwd_scheme_valid(const char *scheme)
{
	const struct scheme *s;

	s = scheme_lookup(scheme, strlen(scheme));
	return s != NULL && s->prefix != NULL;
}

int
passwd_hash(const char *scheme, const char *clear, char *out, size_t outlen)
{
	const struct scheme *s;
	char	*setting, *hash;
	void	*data = NULL;
	int	 size = 0, n, rv = -1;

	s = scheme_lookup(scheme, strlen(scheme));
	if (s == NULL || s->prefix == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((setting = crypt_gensalt_ra(s->prefix, s->cost, NULL, 0)) == NULL)
		return -1;
	hash = crypt_ra(clear, setting, &data, &size);
	/* libxcrypt signals failure with a hash starting with '*'. */
	if (hash != NULL && hash[0] != '*') {
		n = snprintf(out, outlen, "{%s}%s", s->name, hash);
		if (n >= 0 && (size_t)n < outlen)
			rv = 0;
		else
			errno = ENAMETOOLONG;
	} else if (errno == 0)
		errno = EINVAL;
	if (data != NULL) {
		explicit_bzero(data, size);
		free(data);
	}
	free(setting);
	return rv;
}

/* Splits "{SCHEME}body": the scheme, with *body after the brace. */
static const struct scheme *
scheme_split(const char *stored, const char **body)
{
	const char *end;

	if (stored[0] != '{' || (end = strchr(stored, '}')) == NULL)
		return NULL;
	*body = end + 1;
	return scheme_lookup(stored + 1, end - stored - 1);
}

/* Length of the run of characters of set at s, at most max. */
static int
span_of(const char *s, size_t max, const char *set)
{
	size_t	n;

	for (n = 0; n < max && s[n] != '\0' && strchr(set, s[n]) != NULL; n++)
		;
	return n;
}

static int
crypt_chars(const char *s)
{
	for (; *s != '\0'; s++)
		if (strchr(b64crypt, *s) == NULL && strchr("$=,", *s) == NULL)
			return 0;
	return 1;
}

/* The value of a digit of crypt(3)'s base 64, or -1. */
static int
b64crypt_digit(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64crypt, c)) == NULL)
		return -1;
	return p - b64crypt;
}

/* Fills why (if whylen > 0) and returns -1. */
static int
refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list	ap;

	if (whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * yescrypt's parameters after "$y$" or "$gy$", as crypt_gensalt(3)
 * writes them: three digits, the flavour, log2(N) - 1 and r - 1.  A
 * longer form sets parameters whose cost is not read off as simply,
 * and is refused.  The memory is 128 * r * N bytes.
 */
static int
yescrypt_cost_check(const char *p, char *why, size_t whylen)
{
	int	 d[3], nlog, r, i;

	/* One at a time: the string may end at any of them. */
	for (i = 0; i < 3; i++) {
		d[i] = b64crypt_digit(p[i]);
		/* Digits above 47 begin a longer encoding of the number. */
		if (d[i] < 0 || d[i] > 47)
			break;
	}
	if (i < 3 || p[3] != '$')
		return refuse(why, whylen, "yescrypt parameters not in the "
		    "form crypt_gensalt(3) writes");
	nlog = d[1] + 1;
	r = d[2] + 1;
	if (nlog > 30 || ((uint64_t)128 * r << nlog) > MEMORY_LIMIT)
		return refuse(why, whylen, "yescrypt memory above %llu MiB",
		    MEMORY_LIMIT >> 20);
	return 0;
}

/*
 * scrypt's "$7$": a digit of log2(N), then r and p in five digits each,
 * least significant first.  Memory is 128 * r * N bytes, and p times
 * that is the work; both within MEMORY_LIMIT.
 */
static int
scrypt_cost_check(const char *p, char *why, size_t whylen)
{
	uint64_t v[2], work;
	int	 nlog, d, i, j;

	if ((nlog = b64crypt_digit(p[0])) < 0)
		return refuse(why, whylen, "bad scrypt parameters");
	for (i = 0; i < 2; i++) {
		v[i] = 0;
		for (j = 0; j < 5; j++) {
			if ((d = b64crypt_digit(p[1 + 5 * i + j])) < 0)
				return refuse(why, whylen, "bad scrypt "
				    "parameters");
			v[i] |= (uint64_t)d << (6 * j);
		}
	}
	work = (uint64_t)128 << (nlog > 30 ? 31 : nlog);
	if (nlog > 30 || v[0] == 0 || v[0] > MEMORY_LIMIT / work ||
	    v[1] == 0 || v[1] > MEMORY_LIMIT / (work * v[0]))
		return refuse(why, whylen, "scrypt memory times parallelism "
		    "above %llu MiB", MEMORY_LIMIT >> 20);
	return 0;
}

/* Decimal rounds of name at s, ended by end: at most max. */
static int
rounds_check(const char *s, unsigned long max, char end, const char *name,
    char *why, size_t whylen)
{
	unsigned long	 n;
	char		*ep;

	if (!isdigit((unsigned char)s[0]))
		return refuse(why, whylen, "bad %s rounds", name);
	errno = 0;
	n = strtoul(s, &ep, 10);
	if (*ep != end)
		return refuse(why, whylen, "bad %s rounds", name);
	if (errno != 0 || n > max)
		return refuse(why, whylen, "%s rounds above %lu", name, max);
	return 0;
}

/* BSDi's "_": the rounds in four digits, least significant first. */
static int
bsdi_cost_check(const char *p, char *why, size_t whylen)
{
	unsigned long	 n;
	int		 d, i;

	for (n = 0, i = 0; i < 4; i++) {
		if ((d = b64crypt_digit(p[i])) < 0)
			return refuse(why, whylen, "bad BSDi DES rounds");
		n |= (unsigned long)d << (6 * i);
	}
	if (n > BSDI_LIMIT_ROUNDS)
		return refuse(why, whylen, "BSDi DES rounds above %lu",
		    BSDI_LIMIT_ROUNDS);
	return 0;
}

/*
 * The cost a crypt(3) setting asks for, within the bounds above:
 * bcrypt's "$2b$NN$" and SHA-crypt's "$6$rounds=N$", under their own
 * scheme or under {CRYPT}, which takes either; and under {CRYPT} the
 * rounds of sha1crypt, SunMD5 and BSDi DES and the memory of yescrypt
 * and scrypt.  The other methods have a fixed cost.
 */
static int
crypt_cost_check(const char *body, char *why, size_t whylen)
{
	int	 cost;

	if (strncmp(body, "$2", 2) == 0 && body[2] != '\0' &&
	    body[3] == '$') {
		if (!isdigit((unsigned char)body[4]) ||
		    !isdigit((unsigned char)body[5]) || body[6] != '$')
			return refuse(why, whylen, "bad bcrypt cost");
		cost = (body[4] - '0') * 10 + (body[5] - '0');
		if (cost > BCRYPT_LIMIT_COST)
			return refuse(why, whylen, "bcrypt cost %d above %d",
			    cost, BCRYPT_LIMIT_COST);
		return 0;
	}
	if (strncmp(body, "$5$rounds=", 10) == 0 ||
	    strncmp(body, "$6$rounds=", 10) == 0)
		return rounds_check(body + 10, SHACRYPT_LIMIT_ROUNDS, '$',
		    "SHA-crypt", why, whylen);
	if (strncmp(body, "$sha1$", 6) == 0)
		return rounds_check(body + 6, SHA1CRYPT_LIMIT_ROUNDS, '$',
		    "sha1crypt", why, whylen);
	if (strncmp(body, "$md5,", 5) == 0) {
		if (strncmp(body + 5, "rounds=", 7) != 0)
			return refuse(why, whylen, "bad SunMD5 rounds");
		return rounds_check(body + 12, SUNMD5_LIMIT_ROUNDS, '$',
		    "SunMD5", why, whylen);
	}
	if (strncmp(body, "$y$", 3) == 0)
		return yescrypt_cost_check(body + 3, why, whylen);
	if (strncmp(body, "$gy$", 4) == 0)
		return yescrypt_cost_check(body + 4, why, whylen);
	if (strncmp(body, "$7$", 3) == 0)
		return scrypt_cost_check(body + 3, why, whylen);
	if (body[0] == '_')
		return bsdi_cost_check(body + 1, why, whylen);
	return 0;
}

static int
crypt_body_valid(const struct scheme *s, const char *body)
{
	const char *p;
	int	 rc;

	/* The crypt(3) alphabet: nothing a passwd-file line would split. */
	if (body[0] == '\0' || !crypt_chars(body))
		return 0;
	rc = crypt_checksalt(body);
	if ((rc != CRYPT_SALT_OK && rc != CRYPT_SALT_METHOD_LEGACY) ||
	    crypt_cost_check(body, NULL, 0) == -1)
		return 0;
	if (strcmp(s->name, "BLF-CRYPT") == 0) {
		/* $2b$NN$ then 22 salt and 31 hash characters. */
		if (strncmp(body, "$2a$", 4) != 0 &&
		    strncmp(body, "$2b$", 4) != 0 &&
		    strncmp(body, "$2y$", 4) != 0)
			return 0;
		return strlen(body) == 60 && body[6] == '$' &&
		    span_of(body + 7, 53, b64crypt) == 53;
	}
	if (strcmp(s->name, "SHA512-CRYPT") == 0 ||
	    strcmp(s->name, "SHA256-CRYPT") == 0) {
		if (strncmp(body, s->prefix, 3) != 0 ||
		    (p = strrchr(body, '$')) == NULL || p < body + 3)
			return 0;
		return strlen(p + 1) == (s->prefix[1] == '6' ? 86 : 43) &&
		    span_of(p + 1, 86, b64crypt) == (int)strlen(p + 1);
	}
	/* {CRYPT}: whatever libxcrypt takes; it needs a hash after the salt. */
	return strlen(body) >= 13;
}

/*
 * "$argon2id$v=19$m=65536,t=3,p=1$": the parameters of an Argon2 hash
 * of scheme s, then *rest after the '$' that ends them; 0 or -1.
 */
static int
argon2_params(const struct scheme *s, const char *body, unsigned long *m,
    unsigned long *t, unsigned long *l, const char **rest)
{
	const char *p = body, *type;
	char	*end;

	type = s->atype == Argon2_id ? "$argon2id$" : "$argon2i$";
	if (strncmp(p, type, strlen(type)) != 0)
		return -1;
	p += strlen(type);
	if (strncmp(p, "v=19$", 5) == 0 || strncmp(p, "v=16$", 5) == 0)
		p += 5;
	if (strncmp(p, "m=", 2) != 0 || !isdigit((unsigned char)p[2]))
		return -1;
	*m = strtoul(p + 2, &end, 10);
	if (strncmp(end, ",t=", 3) != 0 || !isdigit((unsigned char)end[3]))
		return -1;
	*t = strtoul(end + 3, &end, 10);
	if (strncmp(end, ",p=", 3) != 0 || !isdigit((unsigned char)end[3]))
		return -1;
	*l = strtoul(end + 3, &end, 10);
	if (*t < 1 || *l < 1 || *m / 8 < *l || *end != '$')
		return -1;
	*rest = end + 1;
	return 0;
}

/* Memory, passes and lanes of an Argon2 hash, within the bounds above. */
static int
argon2_cost_check(const struct scheme *s, const char *body, char *why,
    size_t whylen)
{
	unsigned long	 m, t, l;
	const char	*rest;

	if (argon2_params(s, body, &m, &t, &l, &rest) == -1)
		return refuse(why, whylen, "bad Argon2 parameters");
	if (m > ARGON2_LIMIT_MEMORY)
		return refuse(why, whylen, "Argon2 memory m=%lu above %llu "
		    "KiB", m, ARGON2_LIMIT_MEMORY);
	if (t > ARGON2_LIMIT_TIME)
		return refuse(why, whylen, "Argon2 passes t=%lu above %d", t,
		    ARGON2_LIMIT_TIME);
	if (l > ARGON2_LIMIT_LANES)
		return refuse(why, whylen, "Argon2 lanes p=%lu above %d", l,
		    ARGON2_LIMIT_LANES);
	if (m * t > ARGON2_LIMIT_WORK)
		return refuse(why, whylen, "Argon2 memory times passes above "
		    "%llu KiB", ARGON2_LIMIT_WORK);
	return 0;
}

/* $argon2id$v=19$m=65536,t=3,p=1$SALT$HASH, with bounded costs. */
static int
argon2_body_valid(const struct scheme *s, const char *body)
{
	unsigned long m, t, l;
	const char *p;
	int	 n;

	if (argon2_cost_check(s, body, NULL, 0) == -1 ||
	    argon2_params(s, body, &m, &t, &l, &p) == -1)
		return 0;
	/* The salt, then the hash, in base64 without padding. */
	if ((n = span_of(p, HASH_MAX, b64std)) < 11 || p[n] != '$')
		return 0;
	p += n + 1;
	n = span_of(p, HASH_MAX, b64std);
	return n >= 6 && p[n] == '\0';
}

/* The rounds of Dovecot's PBKDF2 ("$1$SALT$ROUNDS$HEX"), bounded. */
static int
pbkdf2_cost_check(const char *body, char *why, size_t whylen)
{
	const char *r;

	if (strncmp(body, "$1$", 3) != 0 || (r = strchr(body + 3, '$')) ==
	    NULL)
		return refuse(why, whylen, "bad PBKDF2 rounds");
	return rounds_check(r + 1, PBKDF2_LIMIT_ROUNDS, '$', "PBKDF2", why,
	    whylen);
}

/*
 * Dovecot's PBKDF2 (password-scheme-pbkdf2.c): "$1$SALT$ROUNDS$HEX",
 * where SALT is used as the ASCII text it is (never decoded) and HEX
 * is the 20-byte PBKDF2-HMAC-SHA1 output.
 */
static int
pbkdf2_body_parse(const char *body, const char **salt, size_t *saltlen,
    unsigned long *rounds, unsigned char *key)
{
	const char *p, *r, *h;
	char	*end;
	size_t	 i;
	int	 hi, lo;

	if (strncmp(body, "$1$", 3) != 0)
		return -1;
	p = body + 3;
	if ((r = strchr(p, '$')) == NULL || r == p)
		return -1;
	if (!isdigit((unsigned char)r[1]))
		return -1;
	errno = 0;
	*rounds = strtoul(r + 1, &end, 10);
	if (errno != 0 || *end != '$' || *rounds < 1 ||
	    *rounds > PBKDF2_LIMIT_ROUNDS)
		return -1;
	h = end + 1;
	if (strlen(h) != PBKDF2_KEYLEN * 2)
		return -1;
	for (i = 0; i < PBKDF2_KEYLEN; i++) {
		if (!isxdigit((unsigned char)h[2 * i]) ||
		    !isxdigit((unsigned char)h[2 * i + 1]))
			return -1;
		hi = isdigit((unsigned char)h[2 * i]) ? h[2 * i] - '0' :
		    tolower((unsigned char)h[2 * i]) - 'a' + 10;
		lo = isdigit((unsigned char)h[2 * i + 1]) ? h[2 * i + 1] - '0' :
		    tolower((unsigned char)h[2 * i + 1]) - 'a' + 10;
		key[i] = hi << 4 | lo;
	}
	*salt = p;
	*saltlen = r - p;
	for (i = 0; i < *saltlen; i++)
		if (!isgraph((unsigned char)p[i]) || p[i] == ':')
			return -1;
	return 0;
}

static int
body_valid(const struct scheme *s, const char *body)
{
	unsigned char key[PBKDF2_KEYLEN];
	const char *salt;
	size_t	 saltlen;
	unsigned long rounds;

	if (strlen(body) > HASH_MAX)
		return 0;
	switch (s->kind) {
	case KIND_CRYPT:
		return crypt_body_valid(s, body);
	case KIND_ARGON2:
		return argon2_body_valid(s, body);
	default:
		return pbkdf2_body_parse(body, &salt, &saltlen, &rounds,
		    key) == 0;
	}
}

int
passwd_hash_valid(const char *hash)
{
	const struct scheme *s;
	const char *body;

	if ((s = scheme_split(hash, &body)) == NULL)
		return 0;
	return body_valid(s, body);
}

int
passwd_hash_cost_check(const char *hash, char *why, size_t whylen)
{
	const struct scheme *s;
	const char *body;

	/* Without a {SCHEME}, Dovecot's passwd-file takes a crypt(3) hash. */
	if (hash[0] != '{')
		return crypt_cost_check(hash, why, whylen);
	if ((s = scheme_split(hash, &body)) == NULL)
		return 0;
	switch (s->kind) {
	case KIND_CRYPT:
		return crypt_cost_check(body, why, whylen);
	case KIND_ARGON2:
		return argon2_cost_check(s, body, why, whylen);
	default:
		return pbkdf2_cost_check(body, why, whylen);
	}
}

static int
verify_crypt(const char *body, const char *clear)
{
	char	*out;
	void	*data = NULL;
	int	 size = 0, rv = 0;
	size_t	 len = strlen(body);

	out = crypt_ra(clear, body, &data, &size);
	if (out == NULL || out[0] == '*')
		rv = -1;
	else if (strlen(out) == len && ct_differ(out, body, len) == 0)
		rv = 1;
	if (data != NULL) {
		explicit_bzero(data, size);
		free(data);
	}
	return rv;
}

static int
verify_argon2(const struct scheme *s, const char *body, const char *clear)
{
	int	 rc;

	/* argon2_verify compares in constant time itself. */
	rc = argon2_verify(body, clear, strlen(clear), s->atype);
	if (rc == ARGON2_OK)
		return 1;
	if (rc == ARGON2_VERIFY_MISMATCH)
		return 0;
	return -1;
}

/* RFC 2104 HMAC-SHA1 over the concatenation of two message parts. */
static void
hmac_sha1(const unsigned char *key, size_t keylen, const unsigned char *m1,
    size_t m1len, const unsigned char *m2, size_t m2len, unsigned char *out)
{
	unsigned char k[SHA1_BLOCK_LENGTH], pad[SHA1_BLOCK_LENGTH];
	unsigned char inner[SHA_DIGEST_LENGTH];
	SHA_CTX	 ctx;
	size_t	 i;

	memset(k, 0, sizeof(k));
	if (keylen > sizeof(k)) {
		SHA1_Init(&ctx);
		SHA1_Update(&ctx, key, keylen);
		SHA1_Final(k, &ctx);
	} else
		memcpy(k, key, keylen);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	SHA1_Init(&ctx);
	SHA1_Update(&ctx, pad, sizeof(pad));
	SHA1_Update(&ctx, m1, m1len);
	if (m2len > 0)
		SHA1_Update(&ctx, m2, m2len);
	SHA1_Final(inner, &ctx);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	SHA1_Init(&ctx);
	SHA1_Update(&ctx, pad, sizeof(pad));
	SHA1_Update(&ctx, inner, sizeof(inner));
	SHA1_Final(out, &ctx);
	explicit_bzero(k, sizeof(k));
	explicit_bzero(pad, sizeof(pad));
	explicit_bzero(inner, sizeof(inner));
	explicit_bzero(&ctx, sizeof(ctx));
}

/* RFC 8018 PBKDF2 with HMAC-SHA1, first (and only) block: 20 bytes. */
static void
pbkdf2_sha1(const char *clear, const unsigned char *salt, size_t saltlen,
    unsigned long rounds, unsigned char *out)
{
	static const unsigned char block1[4] = { 0, 0, 0, 1 };
	unsigned char u[SHA_DIGEST_LENGTH];
	size_t	 len = strlen(clear), i;
	unsigned long r;

	hmac_sha1((const unsigned char *)clear, len, salt, saltlen, block1,
	    sizeof(block1), u);
	memcpy(out, u, sizeof(u));
	for (r = 1; r < rounds; r++) {
		hmac_sha1((const unsigned char *)clear, len, u, sizeof(u),
		    NULL, 0, u);
		for (i = 0; i < sizeof(u); i++)
			out[i] ^= u[i];
	}
	explicit_bzero(u, sizeof(u));
}

static int
verify_pbkdf2(const char *body, const char *clear)
{
	unsigned char want[PBKDF2_KEYLEN], got[PBKDF2_KEYLEN];
	const char *salt;
	size_t	 saltlen;
	unsigned long rounds;
	int	 rv;

	if (pbkdf2_body_parse(body, &salt, &saltlen, &rounds, want) == -1)
		return -1;
	pbkdf2_sha1(clear, (const unsigned char *)salt, saltlen, rounds, got);
	rv = ct_differ(want, got, sizeof(got)) == 0;
	explicit_bzero(got, sizeof(got));
	return rv;
}

int
passwd_verify(const char *stored, const char *clear)
{
	const struct scheme *s;
	const char *body;

	if ((s = scheme_split(stored, &body)) == NULL || !body_valid(s, body))
		return -1;
	switch (s->kind) {
	case KIND_CRYPT:
		return verify_crypt(body, clear);
	case KIND_ARGON2:
		return verify_argon2(s, body, clear);
	default:
		return verify_pbkdf2(body, clear);
	}
}
