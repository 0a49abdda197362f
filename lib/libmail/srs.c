/*
 * srs.c: the Sender Rewriting Scheme, in the form that libsrs2 and
 * postsrsd write, so that either can read what the other wrote with
 * the same secret:
 *
 *	SRS0=HHHH=TT=orig.domain=orig-local@forwarder
 *	SRS1=HHHH=first.forwarder==HHHH=TT=orig.domain=orig-local@forwarder
 *
 * HHHH is the HMAC-SHA1, keyed with the secret, of the other fields
 * (lower-cased and run together: TT, the domain and the local part for
 * SRS0; the first forwarder and what followed its "SRS0" for SRS1),
 * in base64, cut to four characters.  TT is the day of the rewriting,
 * modulo 1024, in two base32 characters.  Mail systems fold the case
 * of local parts, so both are compared without case.
 *
 * An SRS0 address that comes back is checked (its hash, and its day
 * within SRS_LIFETIME_DAYS) and turned back into the original sender.
 * An SRS1 address is one we made from an SRS0 sender of another
 * forwarder: it goes back to that forwarder as its SRS0 address, which
 * that forwarder checks; its day is not ours to judge.
 *
 * The secrets are the lines of mapdir/srs.key (postsrsd's layout): the
 * first signs, each of them verifies, so that a new secret can be put
 * first while the old one still verifies the bounces on their way.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "libmail.h"

#define SRS_DAY		(24 * 60 * 60)
#define SRS_SLOTS	1024		/* days a two-character stamp tells */
#define SRS_KEY_BYTES	32		/* random bytes of a new secret */

static const char srs_base32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char srs_base64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int	 srs_hash(const char *, const char *, const char *,
		    const char *, char *);
static int	 srs_hash_ok(const struct srs *, const char *, size_t,
		    const char *, const char *, const char *);
static void	 srs_stamp(time_t, char *);
static int	 srs_stamp_ok(const char *, time_t);
static int	 srs_field(const char **, char *, size_t);
static int	 srs_fits(const char *, size_t, char *, size_t);

int
srs_is_srs(const char *local)
{
	return (strncasecmp(local, "SRS0=", 5) == 0 ||
	    strncasecmp(local, "SRS1=", 5) == 0);
}

/*
 * The hash of the fields a, b and c (c may be NULL) with secret, in
 * out (SRS_HASHLEN + 1 bytes); 0 or -1.
 */
static int
srs_hash(const char *secret, const char *a, const char *b, const char *c,
    char *out)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	char		 data[ADDR_MAX * 2 + 8];
	unsigned int	 mdlen;
	size_t		 len, i, bit;
	int		 n;

	n = snprintf(data, sizeof(data), "%s%s%s", a, b, c == NULL ? "" : c);
	if (n < 0 || (size_t)n >= sizeof(data))
		return -1;
	len = (size_t)n;
	for (i = 0; i < len; i++)
		data[i] = tolower((unsigned char)data[i]);
	if (HMAC(EVP_sha1(), secret, (int)strlen(secret),
	    (unsigned char *)data, len, md, &mdlen) == NULL)
		return -1;
	/* Base64 of the leading bits, six at a time. */
	for (i = 0, bit = 0; i < SRS_HASHLEN; i++, bit += 6) {
		n = md[bit / 8] << 8 | md[bit / 8 + 1];
		out[i] = srs_base64[(n >> (10 - bit % 8)) & 0x3f];
	}
	out[SRS_HASHLEN] = '\0';
	return 0;
}

/* 1 if hash (len bytes) is the hash of the fields by any secret. */
static int
srs_hash_ok(const struct srs *srs, const char *hash, size_t len,
    const char *a, const char *b, const char *c)
{
	char	 want[SRS_HASHLEN + 1];
	size_t	 i, k;
	int	 diff;

	if (len != SRS_HASHLEN)
		return 0;
	for (k = 0; k < srs->nsecrets; k++) {
		if (srs_hash(srs->secrets[k], a, b, c, want) == -1)
			return 0;
		for (diff = 0, i = 0; i < SRS_HASHLEN; i++)
			diff |= tolower((unsigned char)hash[i]) ^
			    tolower((unsigned char)want[i]);
		if (diff == 0)
			return 1;
	}
	return 0;
}

static void
srs_stamp(time_t now, char *out)
{
	unsigned long	 day = (unsigned long)(now / SRS_DAY) % SRS_SLOTS;

	out[0] = srs_base32[day >> 5];
	out[1] = srs_base32[day & 31];
	out[2] = '\0';
}

/* 1 if the stamp is of a day from now back to SRS_LIFETIME_DAYS ago. */
static int
srs_stamp_ok(const char *stamp, time_t now)
{
	const char	*p;
	long		 then = 0, today;
	size_t		 i;

	if (strlen(stamp) != 2)
		return 0;
	for (i = 0; i < 2; i++) {
		if ((p = strchr(srs_base32,
		    toupper((unsigned char)stamp[i]))) == NULL || *p == '\0')
			return 0;
		then = then << 5 | (p - srs_base32);
	}
	today = (long)((now / SRS_DAY) % SRS_SLOTS);
	if (today < then)
		today += SRS_SLOTS;
	return today - then <= SRS_LIFETIME_DAYS;
}

/* Copies the field at *p up to the next '=' into buf, and steps over it. */
static int
srs_field(const char **p, char *buf, size_t len)
{
	size_t	 n;

	n = strcspn(*p, "=");
	if (n == 0 || (*p)[n] != '=' || n >= len)
		return -1;
	memcpy(buf, *p, n);
	buf[n] = '\0';
	*p += n + 1;
	return 0;
}

/* Copies a local part into out if it is one RFC 5321 allows; 0 or -1. */
static int
srs_fits(const char *local, size_t len, char *out, size_t outlen)
{
	if (len > ADDR_LOCAL_MAX || len >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(out, local, len);
	out[len] = '\0';
	return 0;
}

int
srs_forward(const struct srs *srs, const struct mailaddr *sender,
    time_t now, char *out, size_t outlen)
{
	char		 local[ADDR_MAX * 2], hash[SRS_HASHLEN + 1];
	char		 stamp[3], host[ADDR_DOMAIN_MAX + 1];
	const char	*p;
	int		 n;

	if (srs->nsecrets == 0 || sender->local[0] == '"') {
		errno = EINVAL;
		return -1;
	}
	if (strncasecmp(sender->local, "SRS1=", 5) == 0) {
		/* Another hop: the first forwarder stays, the hash is ours. */
		p = sender->local + 5;
		if (srs_field(&p, hash, sizeof(hash)) == -1 ||
		    srs_field(&p, host, sizeof(host)) == -1 || *p != '=') {
			errno = EINVAL;
			return -1;
		}
		if (srs_hash(srs->secrets[0], host, p, NULL, hash) == -1)
			return -1;
		n = snprintf(local, sizeof(local), "SRS1=%s=%s=%s", hash, host,
		    p);
	} else if (strncasecmp(sender->local, "SRS0=", 5) == 0) {
		p = sender->local + 4;
		if (srs_hash(srs->secrets[0], sender->domain, p, NULL,
		    hash) == -1)
			return -1;
		n = snprintf(local, sizeof(local), "SRS1=%s=%s=%s", hash,
		    sender->domain, p);
	} else {
		srs_stamp(now, stamp);
		if (srs_hash(srs->secrets[0], stamp, sender->domain,
		    sender->local, hash) == -1)
			return -1;
		n = snprintf(local, sizeof(local), "SRS0=%s=%s=%s=%s", hash,
		    stamp, sender->domain, sender->local);
	}
	if (n < 0 || (size_t)n >= sizeof(local)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return srs_fits(local, (size_t)n, out, outlen);
}

int
srs_reverse(const struct srs *srs, const char *local, time_t now,
    char *out, size_t outlen)
{
	char		 hash[SRS_HASHLEN + 2], stamp[4];
	char		 host[ADDR_DOMAIN_MAX + 1];
	const char	*p, *errstr;
	int		 n, srs1;

	if (!srs_is_srs(local))
		return SRS_NOT;
	srs1 = local[3] == '1';
	p = local + 5;
	if (srs_field(&p, hash, sizeof(hash)) == -1)
		return SRS_BAD;
	if (!srs1 && srs_field(&p, stamp, sizeof(stamp)) == -1)
		return SRS_BAD;
	if (srs_field(&p, host, sizeof(host)) == -1 ||
	    addr_domain_valid(host, &errstr) == -1 || *p == '\0')
		return SRS_BAD;
	if (srs1) {
		/* What followed "SRS0" at the first forwarder: "=HHHH=...". */
		if (*p != '=' || !srs_hash_ok(srs, hash, strlen(hash), host,
		    p, NULL))
			return SRS_BAD;
		n = snprintf(out, outlen, "SRS0%s@%s", p, host);
	} else {
		if (!srs_hash_ok(srs, hash, strlen(hash), stamp, host, p))
			return SRS_BAD;
		if (!srs_stamp_ok(stamp, now))
			return SRS_EXPIRED;
		n = snprintf(out, outlen, "%s@%s", p, host);
	}
	if (n < 0 || (size_t)n >= outlen)
		return SRS_BAD;
	return SRS_OK;
}

int
srs_load(struct srs *srs, const char *mapdir, char *err, size_t errlen)
{
	char		 path[PATH_MAX], line[SRS_SECRET_MAX + 2];
	struct stat	 st;
	FILE		*fp;
	size_t		 len;
	int		 fd, bad;

	memset(srs, 0, sizeof(*srs));
	if (snprintf(path, sizeof(path), "%s/%s", mapdir, SRS_KEY_FILE) >=
	    (int)sizeof(path)) {
		snprintf(err, errlen, "%s/%s: path too long", mapdir,
		    SRS_KEY_FILE);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
		    errno == ENOENT ? " (newmaps makes it)" : "");
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: not a regular file of mode 0600",
		    path);
		close(fd);
		return -1;
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	bad = 0;
	while (!bad && fgets(line, sizeof(line), fp) != NULL) {
		len = strcspn(line, "\r\n");
		if (line[len] == '\0' && !feof(fp)) {
			snprintf(err, errlen, "%s: a secret is longer than "
			    "%d bytes", path, SRS_SECRET_MAX);
			bad = 1;
		} else if (len > 0 && srs->nsecrets == SRS_SECRETS_MAX) {
			snprintf(err, errlen, "%s: more than %d secrets",
			    path, SRS_SECRETS_MAX);
			bad = 1;
		} else if (len > 0) {
			line[len] = '\0';
			memcpy(srs->secrets[srs->nsecrets++], line, len + 1);
		}
	}
	explicit_bzero(line, sizeof(line));
	if (!bad && ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		bad = 1;
	} else if (!bad && srs->nsecrets == 0) {
		snprintf(err, errlen, "%s: no secret in it", path);
		bad = 1;
	}
	fclose(fp);
	if (bad)
		explicit_bzero(srs, sizeof(*srs));
	return bad ? -1 : 0;
}

int
srs_create(const char *mapdir, uid_t uid, gid_t gid)
{
	unsigned char	 key[SRS_KEY_BYTES];
	char		 path[PATH_MAX], tmp[PATH_MAX];
	char		 text[SRS_KEY_BYTES * 2 + 2];
	struct stat	 st;
	size_t		 i;
	int		 fd, saved;

	if (snprintf(path, sizeof(path), "%s/%s", mapdir, SRS_KEY_FILE) >=
	    (int)sizeof(path) || file_sibling_name(path, NULL, tmp,
	    sizeof(tmp)) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (lstat(path, &st) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	arc4random_buf(key, sizeof(key));
	for (i = 0; i < sizeof(key); i++)
		snprintf(text + 2 * i, 3, "%02x", key[i]);
	text[2 * sizeof(key)] = '\n';
	text[2 * sizeof(key) + 1] = '\0';
	explicit_bzero(key, sizeof(key));
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		goto fail;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    (geteuid() == 0 && fchown(fd, uid, gid) == -1) ||
	    fsync(fd) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		goto fail_unlink;
	}
	close(fd);
	/* link(2), not rename(2): a key made meanwhile is kept. */
	if (link(tmp, path) == -1 && errno != EEXIST)
		goto fail_unlink;
	(void)unlink(tmp);
	explicit_bzero(text, sizeof(text));
	return file_sync_dir(mapdir) == -1 ? -1 : 1;
fail_unlink:
	saved = errno;
	(void)unlink(tmp);
	errno = saved;
fail:
	explicit_bzero(text, sizeof(text));
	return -1;
}
