/*
 * dkim.c: DKIM signatures (RFC 6376; ed25519-sha256, RFC 8463) of the
 * messages smtpd, sendmail and deliver's bounces put in the spool.
 *
 * libopendkim makes the signature: canonicalization (relaxed/relaxed),
 * the hashes and the RSA or Ed25519 signing (through libcrypto).  Here
 * are only what it leaves to its caller: which domain signs (the one
 * of the From: field, if hosted and given selectors by dkim= in the
 * domains map), where its keys are (mapdir/dkim/DOMAIN.SELECTOR.key),
 * and the message read back from the spool with CRLF line ends, which
 * is how it travels and how it is canonicalized.
 *
 * The key files are read at each message (an open and an fstat(2));
 * their type (rsa or ed25519) is learnt by libcrypto when a file is
 * first seen or changed, and kept in a small cache by path, since
 * libopendkim must be told the algorithm before it reads the key.
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
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <dkim.h>

#include "libmail.h"

/* A header section longer than this is not signed. */
#define DK_HEADER_MAX		(1024 * 1024)
#define DK_CACHE_SLOTS	32
#define DK_CHUNK		65536

struct dk_keyslot {
	char		 path[PATH_MAX];
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
	struct timespec	 ctime;
	int		 type;
};

/* One key read for one message. */
struct dk_keydata {
	char		 data[DK_KEY_MAX + 1];
	size_t		 len;
	int		 type;
};

/* The header section, its fields with CRLF inside folded ones. */
struct dk_header {
	char		**fields;
	size_t		*lens;
	size_t		 n;
	size_t		 cap;
	size_t		 total;
};

static int	 dk_key_pkey_type(EVP_PKEY *);
static int	 dk_lib_init(void);
static void	 dk_lib_once(void);
static uint32_t	 dk_hash(const char *);
static int	 dk_key_type(const char *, size_t);
static int	 dk_key_load(const char *, struct dk_keydata *, char *,
		    size_t);
static int	 dk_header_read(FILE *, struct dk_header *);
static int	 dk_header_add(struct dk_header *, const char *, size_t);
static int	 dk_header_fold(struct dk_header *, const char *, size_t);
static void	 dk_header_free(struct dk_header *);
static int	 dk_from_domain(const struct dk_header *, char *, size_t);
static const char *dk_from_addr(const char *, size_t, char *, size_t);
static int	 dk_feed_body(FILE *, DKIM **, size_t);
static int	 dk_sign_all(struct spool_msg *, FILE *,
		    const struct dk_header *, const char *,
		    const struct dk_selectors *, const char *, char *,
		    size_t);
static int	 dk_signatures(DKIM **, size_t, char **, size_t *);

/* RFC 6376 5.4.1 and the list; From: also once more (5.4.2). */
static const char *dk_signhdrs[] = {
	"from", "to", "cc", "subject", "date", "message-id", "mime-version",
	"content-type", "content-transfer-encoding", "reply-to",
	"in-reply-to", "references", NULL
};
static const char *dk_oversignhdrs[] = { "from", NULL };

static DKIM_LIB		*dk_lib;
static pthread_once_t	 dk_lib_done = PTHREAD_ONCE_INIT;
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

/* DKIM_KEY_* of a PEM private key, or -1. */
static int
dk_key_type(const char *data, size_t len)
{
	EVP_PKEY	*pkey;
	BIO		*bio;
	int		 type = -1;

	if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL)
		return -1;
	if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) != NULL) {
		type = dk_key_pkey_type(pkey);
		EVP_PKEY_free(pkey);
	}
	BIO_free(bio);
	return type;
}

static uint32_t
dk_hash(const char *s)
{
	uint32_t	 h = 2166136261U;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619U;
	return h;
}

/*
 * Reads the key file at path into k; 0, or -1 with the reason in err.
 * A file the cache knows unchanged (same inode, size, mtime, ctime) is
 * not parsed again for its type.
 */
static int
dk_key_load(const char *path, struct dk_keydata *k, char *err,
    size_t errlen)
{
	struct dk_keyslot	*slot;
	struct stat		 sb;
	ssize_t			 n;
	int			 fd, known;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		snprintf(err, errlen, "DKIM key %s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size <= 0 ||
	    sb.st_size > DK_KEY_MAX) {
		snprintf(err, errlen, "DKIM key %s: not a key file", path);
		close(fd);
		return -1;
	}
	n = read(fd, k->data, DK_KEY_MAX);
	close(fd);
	if (n != sb.st_size) {
		snprintf(err, errlen, "DKIM key %s: %s", path,
		    n == -1 ? strerror(errno) : "short read");
		return -1;
	}
	k->data[n] = '\0';
	k->len = (size_t)n;

	slot = &dk_cache[dk_hash(path) % DK_CACHE_SLOTS];
	pthread_mutex_lock(&dk_cachelock);
	known = strcmp(slot->path, path) == 0 && slot->dev == sb.st_dev &&
	    slot->ino == sb.st_ino && slot->size == sb.st_size &&
	    slot->mtime.tv_sec == sb.st_mtim.tv_sec &&
	    slot->mtime.tv_nsec == sb.st_mtim.tv_nsec &&
	    slot->ctime.tv_sec == sb.st_ctim.tv_sec &&
	    slot->ctime.tv_nsec == sb.st_ctim.tv_nsec;
	k->type = slot->type;
	pthread_mutex_unlock(&dk_cachelock);
	if (known)
		return 0;

	if ((k->type = dk_key_type(k->data, k->len)) == -1) {
		snprintf(err, errlen, "DKIM key %s: not an rsa or ed25519 "
		    "private key in PEM", path);
		explicit_bzero(k->data, sizeof(k->data));
		return -1;
	}
	pthread_mutex_lock(&dk_cachelock);
	strlcpy(slot->path, path, sizeof(slot->path));
	slot->dev = sb.st_dev;
	slot->ino = sb.st_ino;
	slot->size = sb.st_size;
	slot->mtime = sb.st_mtim;
	slot->ctime = sb.st_ctim;
	slot->type = k->type;
	pthread_mutex_unlock(&dk_cachelock);
	return 0;
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
	if ((h->fields[h->n] = strndup(line, len)) == NULL)
		return -1;
	h->lens[h->n++] = len;
	return 0;
}

/* A continuation line of the last field: CRLF, then the line. */
static int
dk_header_fold(struct dk_header *h, const char *line, size_t len)
{
	char	*f;
	size_t	 old;

	old = h->lens[h->n - 1];
	if ((f = realloc(h->fields[h->n - 1], old + 2 + len + 1)) == NULL)
		return -1;
	memcpy(f + old, "\r\n", 2);
	memcpy(f + old + 2, line, len);
	f[old + 2 + len] = '\0';
	h->fields[h->n - 1] = f;
	h->lens[h->n - 1] = old + 2 + len;
	return 0;
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
	size_t		 i, nlen, vlen = 0, nfrom = 0;

	for (i = 0; i < h->n; i++) {
		f = h->fields[i];
		nlen = strcspn(f, ":");
		if (f[nlen] != ':')
			continue;
		while (nlen > 0 && (f[nlen - 1] == ' ' || f[nlen - 1] == '\t'))
			nlen--;
		if (nlen != 4 || strncasecmp(f, "from", 4) != 0)
			continue;
		nfrom++;
		v = strchr(f, ':') + 1;
		vlen = h->lens[i] - (v - f);
	}
	if (nfrom != 1 ||
	    dk_from_addr(v, vlen, addr, sizeof(addr)) == NULL ||
	    addr_parse(addr, &a, &errstr) == -1 ||
	    strlcpy(domain, a.domain, len) >= len)
		return 0;
	return 1;
}

/* The rest of fp, LF line ends made CRLF, to every handle; 0 or -1. */
static int
dk_feed_body(FILE *fp, DKIM **d, size_t nd)
{
	unsigned char	*in, *out;
	size_t		 n, i, o, k;
	int		 last = '\n', ret = -1;

	in = malloc(DK_CHUNK);
	out = malloc(DK_CHUNK * 2 + 2);
	if (in == NULL || out == NULL)
		goto done;
	while ((n = fread(in, 1, DK_CHUNK, fp)) > 0) {
		for (i = o = 0; i < n; i++) {
			if (in[i] == '\n')
				out[o++] = '\r';
			out[o++] = in[i];
		}
		last = in[n - 1];
		for (k = 0; k < nd; k++)
			if (dkim_body(d[k], out, o) != DKIM_STAT_OK)
				goto done;
	}
	if (ferror(fp))
		goto done;
	/* What deliver sends ends in CRLF before the dot; so does this. */
	if (last != '\n')
		for (k = 0; k < nd; k++)
			if (dkim_body(d[k], (u_char *)"\r\n", 2) != DKIM_STAT_OK)
				goto done;
	ret = 0;
done:
	free(in);
	free(out);
	return ret;
}

/*
 * The DKIM-Signature: fields of the handles, one after another with
 * LF line ends, into *text (malloc'd); 0 or -1.
 */
static int
dk_signatures(DKIM **d, size_t nd, char **text, size_t *textlen)
{
	static const char	 name[] = "DKIM-Signature: ";
	u_char			*sig;
	char			*t = NULL, *nt;
	size_t			 siglen, len = 0, i, j;

	for (i = 0; i < nd; i++) {
		if (dkim_getsighdr_d(d[i], sizeof(name) - 1, &sig, &siglen) !=
		    DKIM_STAT_OK) {
			free(t);
			return -1;
		}
		if ((nt = realloc(t, len + sizeof(name) + siglen + 1)) == NULL) {
			free(t);
			return -1;
		}
		t = nt;
		memcpy(t + len, name, sizeof(name) - 1);
		len += sizeof(name) - 1;
		for (j = 0; j < siglen; j++)
			if (sig[j] != '\r')
				t[len++] = sig[j];
		t[len++] = '\n';
	}
	*text = t;
	*textlen = len;
	return 0;
}

/* ---- signing ------------------------------------------------------ */

static void
dk_lib_once(void)
{
	if ((dk_lib = dkim_init(NULL, NULL)) == NULL)
		return;
	if (dkim_options(dk_lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
	    dk_signhdrs, sizeof(char **)) != DKIM_STAT_OK ||
	    dkim_options(dk_lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
	    dk_oversignhdrs, sizeof(char **)) != DKIM_STAT_OK) {
		dkim_close(dk_lib);
		dk_lib = NULL;
	}
}

static int
dk_lib_init(void)
{
	pthread_once(&dk_lib_done, dk_lib_once);
	return dk_lib == NULL ? -1 : 0;
}

/* One handle a selector, the message through all; 1 or -1. */
static int
dk_sign_all(struct spool_msg *msg, FILE *fp, const struct dk_header *h,
    const char *domain, const struct dk_selectors *sel,
    const char *mapdir, char *err, size_t errlen)
{
	struct dk_keydata	*k;
	DKIM			*d[DK_SELECTORS_MAX];
	DKIM_STAT		 st = DKIM_STAT_OK;
	char			 path[PATH_MAX], *text = NULL;
	size_t			 nd = 0, i, j, textlen;
	int			 ret = -1;

	if ((k = malloc(sizeof(*k))) == NULL) {
		snprintf(err, errlen, "DKIM: out of memory");
		return -1;
	}
	for (i = 0; i < sel->n; i++) {
		if (dk_key_path(mapdir, domain, sel->name[i], path,
		    sizeof(path)) == -1) {
			snprintf(err, errlen, "DKIM key of %s, selector %s: "
			    "%s", domain, sel->name[i], strerror(errno));
			goto done;
		}
		if (dk_key_load(path, k, err, errlen) == -1)
			goto done;
		d[nd] = dkim_sign(dk_lib, (u_char *)msg->id, NULL,
		    (dkim_sigkey_t)k->data, (u_char *)sel->name[i],
		    (u_char *)domain, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED,
		    k->type == DK_KEY_ED25519 ? DKIM_SIGN_ED25519SHA256 :
		    DKIM_SIGN_RSASHA256, -1, &st);
		explicit_bzero(k->data, k->len);
		if (d[nd] == NULL)
			goto failed;
		nd++;
	}
	for (i = 0; i < h->n; i++)
		for (j = 0; j < nd; j++)
			if ((st = dkim_header(d[j], (u_char *)h->fields[i],
			    h->lens[i])) != DKIM_STAT_OK)
				goto failed;
	for (j = 0; j < nd; j++)
		if ((st = dkim_eoh(d[j])) != DKIM_STAT_OK)
			goto failed;
	if (dk_feed_body(fp, d, nd) == -1) {
		snprintf(err, errlen, "DKIM: cannot read the message back");
		goto done;
	}
	for (j = 0; j < nd; j++)
		if ((st = dkim_eom(d[j], NULL)) != DKIM_STAT_OK)
			goto failed;
	if (dk_signatures(d, nd, &text, &textlen) == -1 ||
	    spool_prepend(msg, text, textlen) == -1) {
		snprintf(err, errlen, "DKIM: cannot write the signature: %s",
		    strerror(errno));
		goto done;
	}
	ret = 1;
	goto done;
failed:
	/* A message libopendkim cannot parse goes as it came, unsigned. */
	if (st == DKIM_STAT_SYNTAX)
		ret = 0;
	snprintf(err, errlen, "%s for %s: %s", ret == 0 ? "not DKIM-signed" :
	    "DKIM signing failed", domain,
	    nd > 0 && dkim_geterror(d[nd - 1]) != NULL ?
	    dkim_geterror(d[nd - 1]) : dkim_getresultstr(st));
done:
	for (j = 0; j < nd; j++)
		dkim_free(d[j]);
	free(text);
	explicit_bzero(k, sizeof(*k));
	free(k);
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
	if (dk_lib_init() == -1) {
		snprintf(err, errlen, "DKIM: libopendkim does not start");
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
