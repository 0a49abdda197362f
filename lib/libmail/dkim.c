/*
 * dkim.c: DKIM signatures (RFC 6376; ed25519-sha256, RFC 8463) of the
 * messages smtpd, sendmail and deliver's bounces put in the spool.
 *
 * Which domain signs: the one of the From: field, if hosted and given
 * selectors by dkim= in the domains map; its keys are the files
 * mapdir/dkim/DOMAIN.SELECTOR.key.  The message is read back from the
 * spool (LF line ends, no CR: CRLF is what it becomes on the wire and
 * what is canonicalized), canonicalized relaxed/relaxed (RFC 6376
 * 3.4.2, 3.4.4) and hashed with SHA-256 here, and signed by libcrypto,
 * RSASSA-PKCS1-v1_5 or Ed25519 over that hash (RFC 6376 3.3, RFC 8463
 * 3).
 *
 * libopendkim made the signatures at first; it takes the private key
 * as text and decodes it again for every message, and OpenSSL 3's
 * decoder alone costs more than the RSA signature, which, on a key
 * object made for that one message, costs twice what it does on a key
 * kept (see dkimkey(8)).  So each key is decoded once per process and
 * kept in a small cache by path, checked against the file's inode,
 * size, mtime and ctime (one lstat(2) a message), and shared by the
 * threads of smtpd: libcrypto signs with one key in several threads.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "libmail.h"

/* A header section longer than this is not signed. */
#define DK_HEADER_MAX		(1024 * 1024)
#define DK_CACHE_SLOTS	32
#define DK_CHUNK		65536
#define DK_HASHLEN		32	/* SHA-256 */
#define DK_FOLD		76	/* DKIM-Signature: lines are folded here */

/* A decoded key, and the file it was read from. */
struct dk_keyslot {
	char		 path[PATH_MAX];
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
	struct timespec	 ctime;
	EVP_PKEY	*pkey;
	int		 type;
};

/* The header section, its fields with LF inside folded ones. */
struct dk_header {
	char		**fields;
	size_t		*lens;
	size_t		 n;
	size_t		 cap;
	size_t		 total;
};

/*
 * Canonical text on its way to a hash: buffered, so that the byte at
 * a time of the canonicalization is not a call of libcrypto each.
 */
struct dk_canon {
	EVP_MD_CTX	*md;
	unsigned char	 buf[4096];
	size_t		 len;
	int		 failed;
	/* the body's state (relaxed, RFC 6376 3.4.4) */
	size_t		 blank;	/* empty lines held back */
	int		 wsp;	/* blanks seen, not yet written as one SP */
	int		 text;	/* the line has text written */
};

/* A growing text: the DKIM-Signature: fields. */
struct dk_text {
	char		*p;
	size_t		 len;
	size_t		 cap;
	size_t		 col;	/* of the current line */
	int		 failed;
};

static int	 dk_key_pkey_type(EVP_PKEY *);
static EVP_PKEY	*dk_key_decode(const char *, size_t, int *);
static int	 dk_key_read(const char *, struct stat *, EVP_PKEY **, int *,
		    char *, size_t);
static int	 dk_key_get(const char *, EVP_PKEY **, int *, char *,
		    size_t);
static uint32_t	 dk_hash(const char *);
static bool	 dk_same_file(const struct dk_keyslot *, const char *,
		    const struct stat *);
static int	 dk_canon_init(struct dk_canon *);
static void	 dk_canon_put(struct dk_canon *, unsigned char);
static void	 dk_canon_flush(struct dk_canon *);
static int	 dk_canon_final(struct dk_canon *, unsigned char *);
static void	 dk_body_canon(struct dk_canon *, const unsigned char *,
		    size_t);
static void	 dk_body_end(struct dk_canon *);
static int	 dk_body_hash(FILE *, unsigned char *);
static void	 dk_header_canon(struct dk_canon *, const char *, size_t,
		    bool);
static int	 dk_header_read(FILE *, struct dk_header *);
static int	 dk_header_add(struct dk_header *, const char *, size_t);
static int	 dk_header_fold(struct dk_header *, const char *, size_t);
static void	 dk_header_free(struct dk_header *);
static size_t	 dk_field_name(const char *, size_t, size_t *);
static bool	 dk_field_signed(const char *, size_t);
static int	 dk_from_domain(const struct dk_header *, char *, size_t);
static const char *dk_from_addr(const char *, size_t, char *, size_t);
static void	 dk_text_add(struct dk_text *, const char *, size_t);
static void	 dk_text_token(struct dk_text *, const char *, size_t);
static void	 dk_text_hname(struct dk_text *, bool, const char *, size_t);
static void	 dk_text_b64(struct dk_text *, const unsigned char *,
		    size_t, bool);
static int	 dk_sign_hash(EVP_PKEY *, int, const unsigned char *,
		    struct dk_text *);
static int	 dk_sign_one(const struct dk_header *, const char *,
		    const char *, EVP_PKEY *, int, time_t,
		    const unsigned char *, struct dk_text *);
static int	 dk_sign_all(struct spool_msg *, FILE *,
		    const struct dk_header *, const char *,
		    const struct dk_selectors *, const char *, char *,
		    size_t);

/*
 * RFC 6376 5.4.1 and the list, compared without case; From:
 * is also listed once more than it occurs (5.4.2).
 */
static const char *dk_signhdrs[] = {
	"from", "to", "cc", "subject", "date", "message-id", "mime-version",
	"content-type", "content-transfer-encoding", "reply-to",
	"in-reply-to", "references", NULL
};

static pthread_mutex_t	 dk_cachelock = PTHREAD_MUTEX_INITIALIZER;
static struct dk_keyslot dk_cache[DK_CACHE_SLOTS];

/* ---- names -------------------------------------------------------- */

/*
 * A selector is one DNS label of letters, digits and '-', in lower
 * case: RFC 6376 allows dots too, but one label keeps the file name
 * DOMAIN.SELECTOR.key readable both ways (the selector is what follows
 * the last dot), and nothing in it can climb out of the key directory.
 */
int
dk_selector_valid(const char *s, const char **errstr)
{
	size_t	 i, len;

	len = strlen(s);
	if (len == 0 || len > DK_SELECTOR_MAX) {
		*errstr = "a selector has 1 to 63 characters";
		return -1;
	}
	for (i = 0; i < len; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '-') {
			*errstr = "a selector has only a-z, 0-9 and '-'";
			return -1;
		}
	if (s[0] == '-' || s[len - 1] == '-') {
		*errstr = "a selector neither begins nor ends with '-'";
		return -1;
	}
	return 0;
}

int
dk_selectors_parse(const char *value, struct dk_selectors *out,
    const char **errstr)
{
	struct dk_selectors	 sel;
	const char		*p = value;
	size_t			 len, i;

	memset(&sel, 0, sizeof(sel));
	for (;;) {
		len = strcspn(p, ",");
		if (sel.n == DK_SELECTORS_MAX) {
			*errstr = "at most two selectors";
			return -1;
		}
		if (len > DK_SELECTOR_MAX) {
			*errstr = "a selector has 1 to 63 characters";
			return -1;
		}
		memcpy(sel.name[sel.n], p, len);
		sel.name[sel.n][len] = '\0';
		if (dk_selector_valid(sel.name[sel.n], errstr) == -1)
			return -1;
		for (i = 0; i < sel.n; i++)
			if (strcmp(sel.name[i], sel.name[sel.n]) == 0) {
				*errstr = "a selector given twice";
				return -1;
			}
		sel.n++;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	if (out != NULL)
		*out = sel;
	return 0;
}

int
dk_key_path(const char *mapdir, const char *domain, const char *selector,
    char *buf, size_t len)
{
	const char	*errstr;
	size_t		 i;
	int		 n;

	if (addr_domain_valid(domain, &errstr) == -1 ||
	    dk_selector_valid(selector, &errstr) == -1) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; domain[i] != '\0'; i++)
		if (isupper((unsigned char)domain[i])) {
			errno = EINVAL;
			return -1;
		}
	n = snprintf(buf, len, "%s/%s/%s.%s.key", mapdir, DK_KEYDIR,
	    domain, selector);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* ---- keys --------------------------------------------------------- */

static int
dk_key_pkey_type(EVP_PKEY *pkey)
{
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		return DK_KEY_RSA;
	case EVP_PKEY_ED25519:
		return DK_KEY_ED25519;
	default:
		return -1;
	}
}

/* The rsa or ed25519 private key of PEM text, its DK_KEY_* in *type. */
static EVP_PKEY *
dk_key_decode(const char *data, size_t len, int *type)
{
	EVP_PKEY	*pkey;
	BIO		*bio;

	if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL)
		return NULL;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey != NULL && (*type = dk_key_pkey_type(pkey)) == -1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	return pkey;
}

static uint32_t
dk_hash(const char *s)
{
	uint32_t	 h = 2166136261U;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619U;
	return h;
}

static bool
dk_same_file(const struct dk_keyslot *slot, const char *path,
    const struct stat *sb)
{
	return slot->pkey != NULL && strcmp(slot->path, path) == 0 &&
	    slot->dev == sb->st_dev && slot->ino == sb->st_ino &&
	    slot->size == sb->st_size &&
	    slot->mtime.tv_sec == sb->st_mtim.tv_sec &&
	    slot->mtime.tv_nsec == sb->st_mtim.tv_nsec &&
	    slot->ctime.tv_sec == sb->st_ctim.tv_sec &&
	    slot->ctime.tv_nsec == sb->st_ctim.tv_nsec;
}

/*
 * Reads and decodes the key file at path (no symbolic link, a regular
 * file of at most DK_KEY_MAX bytes), the file's fstat in sb; 0, or -1
 * with the reason in err.  The text of the key does not outlive it.
 */
static int
dk_key_read(const char *path, struct stat *sb, EVP_PKEY **pkey, int *type,
    char *err, size_t errlen)
{
	char	*data;
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    fstat(fd, sb) == -1) {
		snprintf(err, errlen, "DKIM key %s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!S_ISREG(sb->st_mode) || sb->st_size <= 0 ||
	    sb->st_size > DK_KEY_MAX) {
		snprintf(err, errlen, "DKIM key %s: not a key file", path);
		close(fd);
		return -1;
	}
	if ((data = malloc(DK_KEY_MAX)) == NULL) {
		snprintf(err, errlen, "DKIM: out of memory");
		close(fd);
		return -1;
	}
	n = read(fd, data, DK_KEY_MAX);
	close(fd);
	if (n != sb->st_size)
		snprintf(err, errlen, "DKIM key %s: %s", path,
		    n == -1 ? strerror(errno) : "short read");
	else if ((*pkey = dk_key_decode(data, (size_t)n, type)) == NULL)
		snprintf(err, errlen, "DKIM key %s: not an rsa or ed25519 "
		    "private key in PEM", path);
	explicit_bzero(data, DK_KEY_MAX);
	free(data);
	/*
	 * What the decoder left in the thread's error queue would be taken
	 * for an error of the next TLS call of the thread (SSL_get_error).
	 */
	ERR_clear_error();
	return n == sb->st_size && *pkey != NULL ? 0 : -1;
}

/*
 * The key of the file at path into *pkey (a reference of the caller's,
 * for EVP_PKEY_free), its DK_KEY_* in *type; 0, or -1 with the reason
 * in err.  A file the cache holds unchanged is not read again.
 */
static int
dk_key_get(const char *path, EVP_PKEY **pkey, int *type, char *err,
    size_t errlen)
{
	struct dk_keyslot	*slot;
	struct stat		 sb;
	EVP_PKEY		*old;

	slot = &dk_cache[dk_hash(path) % DK_CACHE_SLOTS];
	if (lstat(path, &sb) == 0) {
		pthread_mutex_lock(&dk_cachelock);
		if (dk_same_file(slot, path, &sb) &&
		    EVP_PKEY_up_ref(slot->pkey) == 1) {
			*pkey = slot->pkey;
			*type = slot->type;
			pthread_mutex_unlock(&dk_cachelock);
			return 0;
		}
		pthread_mutex_unlock(&dk_cachelock);
	}
	if (dk_key_read(path, &sb, pkey, type, err, errlen) == -1)
		return -1;
	if (EVP_PKEY_up_ref(*pkey) != 1)
		return 0;	/* signs, but is not kept */
	pthread_mutex_lock(&dk_cachelock);
	old = slot->pkey;
	strlcpy(slot->path, path, sizeof(slot->path));
	slot->dev = sb.st_dev;
	slot->ino = sb.st_ino;
	slot->size = sb.st_size;
	slot->mtime = sb.st_mtim;
	slot->ctime = sb.st_ctim;
	slot->pkey = *pkey;
	slot->type = *type;
	pthread_mutex_unlock(&dk_cachelock);
	EVP_PKEY_free(old);
	return 0;
}

/* ---- canonicalization (relaxed, RFC 6376 3.4.2 and 3.4.4) ---------- */

#define DK_WSP(c)	((c) == ' ' || (c) == '\t')

static int
dk_canon_init(struct dk_canon *c)
{
	memset(c, 0, sizeof(*c));
	if ((c->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c->md);
		c->md = NULL;
		return -1;
	}
	return 0;
}

static void
dk_canon_flush(struct dk_canon *c)
{
	if (c->len > 0 && EVP_DigestUpdate(c->md, c->buf, c->len) != 1)
		c->failed = 1;
	c->len = 0;
}

static void
dk_canon_put(struct dk_canon *c, unsigned char ch)
{
	c->buf[c->len++] = ch;
	if (c->len == sizeof(c->buf))
		dk_canon_flush(c);
}

/* The SHA-256 of what was put, into hash; the context freed.  0 or -1. */
static int
dk_canon_final(struct dk_canon *c, unsigned char *hash)
{
	unsigned int	 len = 0;

	dk_canon_flush(c);
	if (EVP_DigestFinal_ex(c->md, hash, &len) != 1 || len != DK_HASHLEN)
		c->failed = 1;
	EVP_MD_CTX_free(c->md);
	c->md = NULL;
	return c->failed ? -1 : 0;
}

/*
 * Body bytes, LF line ends: blanks at the end of a line go, a run of
 * blanks within one becomes one SP, every line ends in CRLF, and empty
 * lines are held back until a line with text follows, since those at
 * the end of the body do not count.
 */
static void
dk_body_canon(struct dk_canon *c, const unsigned char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			if (c->text) {
				dk_canon_put(c, '\r');
				dk_canon_put(c, '\n');
			} else
				c->blank++;
			c->text = c->wsp = 0;
			continue;
		}
		if (DK_WSP(p[i])) {
			c->wsp = 1;
			continue;
		}
		for (; c->blank > 0; c->blank--) {
			dk_canon_put(c, '\r');
			dk_canon_put(c, '\n');
		}
		if (c->wsp)
			dk_canon_put(c, ' ');
		c->wsp = 0;
		c->text = 1;
		dk_canon_put(c, p[i]);
	}
}

/* A last line without its line end gets one; an empty body stays so. */
static void
dk_body_end(struct dk_canon *c)
{
	if (c->text) {
		dk_canon_put(c, '\r');
		dk_canon_put(c, '\n');
	}
}

/* The hash of the canonical body, the rest of fp; 0 or -1. */
static int
dk_body_hash(FILE *fp, unsigned char *hash)
{
	struct dk_canon	 c;
	unsigned char	*in;
	size_t		 n;

	if ((in = malloc(DK_CHUNK)) == NULL)
		return -1;
	if (dk_canon_init(&c) == -1) {
		free(in);
		return -1;
	}
	while ((n = fread(in, 1, DK_CHUNK, fp)) > 0)
		dk_body_canon(&c, in, n);
	free(in);
	if (ferror(fp))
		c.failed = 1;
	dk_body_end(&c);
	return dk_canon_final(&c, hash);
}

/*
 * One header field, "Name: value" with LF before each continuation
 * line: the name in lower case, no blanks around the colon, the value
 * unfolded, its runs of blanks made one SP and those at its ends
 * removed; CRLF after it when crlf (not for the DKIM-Signature: field
 * being made, which the hash ends with).
 */
static void
dk_header_canon(struct dk_canon *c, const char *f, size_t len, bool crlf)
{
	size_t	 i, nlen, colon;
	int	 wsp = 0, started = 0;

	nlen = dk_field_name(f, len, &colon);
	for (i = 0; i < nlen; i++)
		dk_canon_put(c, f[i] >= 'A' && f[i] <= 'Z' ? f[i] + 32 : f[i]);
	dk_canon_put(c, ':');
	for (i = colon + 1; i < len; i++) {
		if (f[i] == '\r' || f[i] == '\n')
			continue;
		if (DK_WSP(f[i])) {
			wsp = 1;
			continue;
		}
		if (wsp && started)
			dk_canon_put(c, ' ');
		wsp = 0;
		started = 1;
		dk_canon_put(c, f[i]);
	}
	if (crlf) {
		dk_canon_put(c, '\r');
		dk_canon_put(c, '\n');
	}
}

/* ---- the message -------------------------------------------------- */

static void
dk_header_free(struct dk_header *h)
{
	size_t	 i;

	for (i = 0; i < h->n; i++)
		free(h->fields[i]);
	free(h->fields);
	free(h->lens);
	memset(h, 0, sizeof(*h));
}

static int
dk_header_add(struct dk_header *h, const char *line, size_t len)
{
	char	**nf;
	size_t	 *nl;

	if (h->n == h->cap) {
		h->cap = h->cap == 0 ? 32 : h->cap * 2;
		if ((nf = reallocarray(h->fields, h->cap, sizeof(*nf))) ==
		    NULL)
			return -1;
		h->fields = nf;
		if ((nl = reallocarray(h->lens, h->cap, sizeof(*nl))) == NULL)
			return -1;
		h->lens = nl;
	}
	if ((h->fields[h->n] = malloc(len + 1)) == NULL)
		return -1;
	memcpy(h->fields[h->n], line, len);
	h->fields[h->n][len] = '\0';
	h->lens[h->n++] = len;
	return 0;
}

/* A continuation line of the last field: LF, then the line. */
static int
dk_header_fold(struct dk_header *h, const char *line, size_t len)
{
	char	*f;
	size_t	 old;

	old = h->lens[h->n - 1];
	if ((f = realloc(h->fields[h->n - 1], old + 1 + len + 1)) == NULL)
		return -1;
	f[old] = '\n';
	memcpy(f + old + 1, line, len);
	f[old + 1 + len] = '\0';
	h->fields[h->n - 1] = f;
	h->lens[h->n - 1] = old + 1 + len;
	return 0;
}

/*
 * The length of the name of field f, blanks before the colon left out;
 * *colon is where the colon is (len if there is none).
 */
static size_t
dk_field_name(const char *f, size_t len, size_t *colon)
{
	const char	*p;
	size_t		 n;

	n = *colon = (p = memchr(f, ':', len)) == NULL ? len : (size_t)(p - f);
	while (n > 0 && DK_WSP(f[n - 1]))
		n--;
	return n;
}

/* Whether a field of that name is signed (dk_signhdrs). */
static bool
dk_field_signed(const char *f, size_t len)
{
	size_t	 i, nlen, colon;

	nlen = dk_field_name(f, len, &colon);
	if (colon == len)
		return false;
	for (i = 0; dk_signhdrs[i] != NULL; i++)
		if (strlen(dk_signhdrs[i]) == nlen &&
		    strncasecmp(f, dk_signhdrs[i], nlen) == 0)
			return true;
	return false;
}

/*
 * Reads the header section up to the empty line (or the end: a
 * message without a body); the reader is left at the body.  1, 0 if
 * it cannot be signed (too long; a first line that is a continuation;
 * a line that is no field), -1 on a read error or no memory.
 */
static int
dk_header_read(FILE *fp, struct dk_header *h)
{
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 len;
	int	 ret = 1;

	while ((len = getline(&line, &cap, fp)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			break;
		h->total += len + 2;
		if (h->total > DK_HEADER_MAX) {
			ret = 0;
			break;
		}
		if (line[0] != ' ' && line[0] != '\t' &&
		    memchr(line, ':', len) == NULL) {
			ret = 0;
			break;
		}
		if (line[0] == ' ' || line[0] == '\t') {
			if (h->n == 0) {
				ret = 0;
				break;
			}
			if (dk_header_fold(h, line, len) == -1) {
				ret = -1;
				break;
			}
		} else if (dk_header_add(h, line, len) == -1) {
			ret = -1;
			break;
		}
	}
	if (ferror(fp))
		ret = -1;
	free(line);
	return ret;
}

/*
 * The addr-spec of a From: field value that holds one mailbox (RFC
 * 5322 3.4): the angle-addr if there is one, else the value; comments
 * and folding white space dropped, quoted strings kept.  NULL for a
 * list of mailboxes, a group, or what does not parse.
 */
static const char *
dk_from_addr(const char *v, size_t len, char *buf, size_t buflen)
{
	size_t	 i, n = 0, depth = 0;
	int	 quoted = 0, angle = 0, angled = 0;

	for (i = 0; i < len; i++) {
		if (quoted) {
			if (v[i] == '\\' && i + 1 < len) {
				if (n + 2 >= buflen)
					return NULL;
				buf[n++] = v[i++];
			} else if (v[i] == '"')
				quoted = 0;
			if (n + 1 >= buflen)
				return NULL;
			buf[n++] = v[i];
			continue;
		}
		if (depth > 0) {
			if (v[i] == '\\')
				i++;
			else if (v[i] == '(')
				depth++;
			else if (v[i] == ')')
				depth--;
			continue;
		}
		switch (v[i]) {
		case '(':
			depth++;
			continue;
		case ' ': case '\t': case '\r': case '\n':
			continue;
		case ',': case ';': case ':':
			if (!angle)
				return NULL;
			break;
		case '<':
			if (angle || angled)
				return NULL;
			angle = 1;
			n = 0;		/* what came before is a display name */
			continue;
		case '>':
			if (!angle)
				return NULL;
			angle = 0;
			angled = 1;
			continue;
		case '"':
			quoted = 1;
			break;
		}
		if (angled)
			continue;	/* a trailing word: ignored by the parse */
		if (n + 1 >= buflen)
			return NULL;
		buf[n++] = v[i];
	}
	if (quoted || depth > 0 || angle || n == 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

/*
 * The domain of the one From: field, lower case, into domain: 1, or 0
 * if there is no From:, more than one, or one that is not a single
 * mailbox with a domain name.
 */
static int
dk_from_domain(const struct dk_header *h, char *domain, size_t len)
{
	struct mailaddr	 a;
	char		 addr[ADDR_MAX * 2 + 3];
	const char	*f, *v = NULL, *errstr;
	size_t		 i, nlen, colon, vlen = 0, nfrom = 0;

	for (i = 0; i < h->n; i++) {
		f = h->fields[i];
		nlen = dk_field_name(f, h->lens[i], &colon);
		if (colon == h->lens[i] || nlen != 4 ||
		    strncasecmp(f, "from", 4) != 0)
			continue;
		nfrom++;
		v = f + colon + 1;
		vlen = h->lens[i] - colon - 1;
	}
	if (nfrom != 1 ||
	    dk_from_addr(v, vlen, addr, sizeof(addr)) == NULL ||
	    addr_parse(addr, &a, &errstr) == -1 ||
	    strlcpy(domain, a.domain, len) >= len)
		return 0;
	return 1;
}

/* ---- the DKIM-Signature: fields ------------------------------------ */

static void
dk_text_add(struct dk_text *t, const char *s, size_t n)
{
	char	*np;
	size_t	 cap;

	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		for (cap = t->cap == 0 ? 1024 : t->cap; cap < t->len + n + 1;
		    cap *= 2)
			;
		if ((np = realloc(t->p, cap)) == NULL) {
			t->failed = 1;
			return;
		}
		t->p = np;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
	t->col += n;
}

/* A tag after a blank, or at the start of a new line if it is full. */
static void
dk_text_token(struct dk_text *t, const char *s, size_t n)
{
	if (t->col + 1 + n > DK_FOLD) {
		dk_text_add(t, "\n\t", 2);
		t->col = 8;
	} else
		dk_text_add(t, " ", 1);
	dk_text_add(t, s, n);
}

/* A header name of h=, after "h=" or a colon, which a fold may follow. */
static void
dk_text_hname(struct dk_text *t, bool first, const char *name, size_t n)
{
	char	 tag[sizeof("h=content-transfer-encoding")];

	if (first) {
		snprintf(tag, sizeof(tag), "h=%.*s", (int)n, name);
		dk_text_token(t, tag, strlen(tag));
		return;
	}
	dk_text_add(t, ":", 1);
	if (t->col + n > DK_FOLD) {
		dk_text_add(t, "\n\t", 2);
		t->col = 8;
	}
	dk_text_add(t, name, n);
}

/* data in base64, folded at DK_FOLD (blanks in b= do not count) if fold. */
static void
dk_text_b64(struct dk_text *t, const unsigned char *data, size_t len,
    bool fold)
{
	char	*b64;
	size_t	 n, done, room;

	if ((b64 = malloc(4 * ((len + 2) / 3) + 1)) == NULL) {
		t->failed = 1;
		return;
	}
	n = EVP_EncodeBlock((unsigned char *)b64, data, (int)len);
	for (done = 0; done < n; done += room) {
		room = !fold ? n : t->col < DK_FOLD ? DK_FOLD - t->col : 0;
		if (room == 0) {
			dk_text_add(t, "\n\t ", 3);
			t->col = 9;
			continue;
		}
		if (room > n - done)
			room = n - done;
		dk_text_add(t, b64 + done, room);
	}
	free(b64);
}

/*
 * The signature of hash (SHA-256 of the header data): RSASSA-PKCS1-v1_5
 * with SHA-256 (RFC 6376 3.3.1), or PureEdDSA Ed25519 over the 32
 * octets (RFC 8463 3), in base64 onto t; 0 or -1.
 */
static int
dk_sign_hash(EVP_PKEY *pkey, int type, const unsigned char *hash,
    struct dk_text *t)
{
	EVP_PKEY_CTX	*pctx = NULL;
	EVP_MD_CTX	*mctx = NULL;
	unsigned char	*sig;
	size_t		 siglen;
	int		 size, ok;

	if ((size = EVP_PKEY_get_size(pkey)) <= 0 ||
	    (sig = malloc(size)) == NULL)
		return -1;
	siglen = (size_t)size;
	if (type == DK_KEY_RSA)
		ok = (pctx = EVP_PKEY_CTX_new(pkey, NULL)) != NULL &&
		    EVP_PKEY_sign_init(pctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) == 1 &&
		    EVP_PKEY_sign(pctx, sig, &siglen, hash, DK_HASHLEN) == 1;
	else
		ok = (mctx = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestSignInit(mctx, NULL, NULL, NULL, pkey) == 1 &&
		    EVP_DigestSign(mctx, sig, &siglen, hash, DK_HASHLEN) == 1;
	if (ok)
		dk_text_b64(t, sig, siglen, true);
	else
		ERR_clear_error();	/* as in dk_key_read */
	EVP_PKEY_CTX_free(pctx);
	EVP_MD_CTX_free(mctx);
	free(sig);
	return ok ? 0 : -1;
}

/*
 * One DKIM-Signature: field onto t, LF line ends.  The signed fields
 * are listed in h= from the bottom of the header up: a verifier takes
 * the instances of a name listed twice from the bottom up (RFC 6376
 * 5.4.2), so each is hashed where it is listed; From is listed once
 * more, for no field.  The hash ends with this field, "b=" its last
 * tag and empty (3.5, 3.7).  0 or -1.
 */
static int
dk_sign_one(const struct dk_header *h, const char *domain,
    const char *selector, EVP_PKEY *pkey, int type, time_t now,
    const unsigned char *bodyhash, struct dk_text *t)
{
	struct dk_canon	 c;
	unsigned char	 hash[DK_HASHLEN];
	char		 tag[ADDR_DOMAIN_MAX + DK_SELECTOR_MAX + 80];
	size_t		 i, start = t->len, nlen, colon;
	bool		 first = true;
	int		 n;

	n = snprintf(tag, sizeof(tag), "DKIM-Signature: v=1; a=%s; "
	    "c=relaxed/relaxed; d=%s; s=%s;", type == DK_KEY_ED25519 ?
	    "ed25519-sha256" : "rsa-sha256", domain, selector);
	if (n < 0 || (size_t)n >= sizeof(tag))
		return -1;
	t->col = 0;
	dk_text_add(t, tag, n);
	n = snprintf(tag, sizeof(tag), "t=%lld;", (long long)now);
	dk_text_token(t, tag, n);
	memcpy(tag, "bh=", 3);
	n = 3 + EVP_EncodeBlock((unsigned char *)tag + 3, bodyhash,
	    DK_HASHLEN);
	tag[n++] = ';';
	dk_text_token(t, tag, n);
	if (dk_canon_init(&c) == -1)
		return -1;
	for (i = h->n; i-- > 0;) {
		if (!dk_field_signed(h->fields[i], h->lens[i]))
			continue;
		dk_header_canon(&c, h->fields[i], h->lens[i], true);
		nlen = dk_field_name(h->fields[i], h->lens[i], &colon);
		dk_text_hname(t, first, h->fields[i], nlen);
		first = false;
	}
	dk_text_hname(t, false, "From", 4);
	dk_text_add(t, ";", 1);
	dk_text_token(t, "b=", 2);
	if (!t->failed)
		dk_header_canon(&c, t->p + start, t->len - start, false);
	if (dk_canon_final(&c, hash) == -1 || t->failed ||
	    dk_sign_hash(pkey, type, hash, t) == -1)
		return -1;
	dk_text_add(t, "\n", 1);
	return t->failed ? -1 : 0;
}

/* ---- signing ------------------------------------------------------ */

/*
 * The keys first (one that cannot be read defers the message before
 * any work), the body hashed once for all, then one signature a key;
 * 1 or -1.
 */
static int
dk_sign_all(struct spool_msg *msg, FILE *fp, const struct dk_header *h,
    const char *domain, const struct dk_selectors *sel,
    const char *mapdir, char *err, size_t errlen)
{
	struct dk_text	 t;
	EVP_PKEY	*pkey[DK_SELECTORS_MAX];
	unsigned char	 bodyhash[DK_HASHLEN];
	char		 path[PATH_MAX];
	size_t		 nk = 0, i;
	time_t		 now;
	int		 type[DK_SELECTORS_MAX], ret = -1;

	memset(&t, 0, sizeof(t));
	for (; nk < sel->n; nk++) {
		if (dk_key_path(mapdir, domain, sel->name[nk], path,
		    sizeof(path)) == -1) {
			snprintf(err, errlen, "DKIM key of %s, selector %s: "
			    "%s", domain, sel->name[nk], strerror(errno));
			goto done;
		}
		if (dk_key_get(path, &pkey[nk], &type[nk], err, errlen) == -1)
			goto done;
	}
	if (dk_body_hash(fp, bodyhash) == -1) {
		snprintf(err, errlen, "DKIM: cannot read the message back");
		goto done;
	}
	now = time(NULL);
	for (i = 0; i < nk; i++)
		if (dk_sign_one(h, domain, sel->name[i], pkey[i], type[i], now,
		    bodyhash, &t) == -1) {
			snprintf(err, errlen, "DKIM signing failed for %s, "
			    "selector %s: %s", domain, sel->name[i],
			    t.failed ? "out of memory" : "libcrypto error");
			goto done;
		}
	if (spool_prepend(msg, t.p, t.len) == -1) {
		snprintf(err, errlen, "DKIM: cannot write the signature: %s",
		    strerror(errno));
		goto done;
	}
	ret = 1;
done:
	for (i = 0; i < nk; i++)
		EVP_PKEY_free(pkey[i]);
	free(t.p);
	return ret;
}

int
dk_spool_sign(struct spool_msg *msg, const char *mapdir,
    int (*lookup)(const void *, const char *, char *, size_t),
    const void *arg, char *err, size_t errlen)
{
	struct dk_header	 h;
	struct dk_selectors	 sel;
	char			 domain[ADDR_DOMAIN_MAX + 1];
	char			 value[DK_SELECTORS_MAX *
				    (DK_SELECTOR_MAX + 1)];
	const char		*errstr;
	FILE			*fp;
	int			 ret;

	err[0] = '\0';
	memset(&h, 0, sizeof(h));
	if ((fp = spool_reopen(msg)) == NULL) {
		snprintf(err, errlen, "DKIM: cannot read the message back: %s",
		    strerror(errno));
		return -1;
	}
	if ((ret = dk_header_read(fp, &h)) != 1) {
		if (ret == -1)
			snprintf(err, errlen, "DKIM: cannot read the header");
		else
			snprintf(err, errlen, "not DKIM-signed: header "
			    "section too long or malformed");
		goto done;
	}
	if (dk_from_domain(&h, domain, sizeof(domain)) != 1) {
		ret = 0;
		goto done;
	}
	if ((ret = lookup(arg, domain, value, sizeof(value))) != 1) {
		if (ret == -1)
			snprintf(err, errlen, "DKIM: domains map unreadable");
		goto done;
	}
	if (dk_selectors_parse(value, &sel, &errstr) == -1) {
		snprintf(err, errlen, "DKIM: dkim=%s of %s: %s", value, domain,
		    errstr);
		ret = -1;
		goto done;
	}
	ret = dk_sign_all(msg, fp, &h, domain, &sel, mapdir, err, errlen);
done:
	fclose(fp);
	dk_header_free(&h);
	return ret;
}

int
dk_lookup_mapdir(const void *mapdir, const char *domain, char *buf,
    size_t len)
{
	struct map	*m;
	char		*val;
	int		 ret;

	if ((m = map_open(mapdir, mapsrc_names[MAP_DOMAINS])) == NULL)
		return errno == ENOENT ? 0 : -1;
	if ((val = malloc(RESOLVE_VALUE_MAX)) == NULL) {
		map_close(m);
		return -1;
	}
	if ((ret = map_lookup(m, domain, val, RESOLVE_VALUE_MAX)) == 1)
		ret = mapsrc_domain_attr(val, "dkim", buf, len) != NULL;
	free(val);
	map_close(m);
	return ret;
}
