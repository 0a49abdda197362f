/*
 * mapsrc.c: the text maps of mailmaps(5) -- domains, users, aliases --
 * as the admin commands read, check, edit and install them.
 *
 * The text file is the source of truth and the .db an index of it,
 * the pattern of master.passwd and pwd_mkdb(8): a writer holds the
 * lock of the map directory, writes a new text file and a new .db to
 * temporary files, fsyncs both and renames them into place, the .db
 * first.  Lines the tools do not understand as entries (comments,
 * blank lines, and lines in error) are written back as they were.
 *
 * Sizes: a map of a million lines is read into one buffer and indexed
 * by an open-addressing hash table, so that reading, checking and
 * looking up stay linear; the strings made while parsing come from an
 * arena freed as a whole.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libmail.h"

const char *const mapsrc_names[MAP_COUNT] = {
	"domains", "users", "aliases", "tls_policy"
};

#define ARENA_CHUNK	(256 * 1024)
#define TEXT_IOV	1024		/* IOV_MAX of Linux: 512 lines */

/*
 * When a .db is known to be the index of the text file as read (see
 * mapsrc_read), a writer that changed few keys copies the .db and
 * applies the changes instead of inserting every pair again: on
 * 100,000 users (bench/maps), inserting them all costs about 250 ms of
 * CPU, the copy (copy_file_range(2) of the 30 MB of a 41 MB file that
 * are not holes) about 10 ms, and both then write the same 30 MB to
 * disk.  Below a thousand keys either takes a
 * few ms, and the full build, which depends on nothing but the text,
 * is used.
 */
#define INCREMENTAL_MIN_KEYS	1024
#define FIND_SCANS		4	/* lookups without an index */
#define INCREMENTAL_MAX_SHARE	8	/* at most 1/8 of the keys changed */

struct mapsrc_chunk {
	struct mapsrc_chunk	*next;
	size_t			 used;
	size_t			 size;
	char			 data[];
};

/* A user value split into its fields, pointing into the value. */
struct user_fields {
	const char	*f[6];		/* hash uid gid gecos home shell */
	size_t		 len[6];
	const char	*extra;		/* the rest, NUL-terminated */
	int		 nfields;
};

/*
 * The files a mapset_write() has made, to rename or to remove, and
 * hard links of the files they replace, to put back on a failure.
 */
struct pending {
	struct map_builder	*db;
	char			 tmp[PATH_MAX];	/* the new text, or "" */
	char			 undodb[PATH_MAX];	/* old .db, or "" */
	char			 undotext[PATH_MAX];	/* old text, or "" */
	int			 hadb, hadtext;	/* the old ones existed */
	int			 done;	/* 1: .db in place, 2: text too */
};

static void	*arena_alloc(struct mapsrc *, size_t);
static char	*arena_strndup(struct mapsrc *, const char *, size_t);
static void	 arena_free(struct mapsrc *);
static uint32_t	 key_hash(const char *);
static struct mapsrc_slot *index_probe(struct mapsrc *, const char *,
		    uint32_t);
static int	 index_insert(struct mapsrc *, size_t);
static int	 index_rebuild(struct mapsrc *, size_t, size_t);
static int	 key_fold(const char *, char *, size_t);
static int	 mapsrc_change(struct mapsrc *, const char *);
static int	 mapsrc_push(struct mapsrc *, char *, size_t);
static int	 mapsrc_read(struct mapsrc *, const char *, int);
static int	 mapsrc_read_text(struct mapsrc *);
static int	 mapsrc_defer(struct mapsrc *, const char *);
static struct mapsrc_line *deferred_find(struct mapsrc *, const char *);
static int	 mapsrc_load(struct mapsrc *, char *, size_t);
static int	 mapsrc_split(struct mapsrc *, struct mapsrc_line *);
static const char *mapsrc_parse(struct mapsrc *, struct mapsrc_line *);
static const char *line_check(const char *);
static const char *parse_domain(struct mapsrc *, struct mapsrc_line *);
static const char *parse_user(struct mapsrc *, struct mapsrc_line *);
static const char *parse_alias(struct mapsrc *, struct mapsrc_line *);
static const char *line_domain(const char **, char *, char *, size_t);
static const char *parse_tls_policy(struct mapsrc *, struct mapsrc_line *);
static int	 senders_check(char *, char *, size_t);
static const char *domain_attr_check(const char *, size_t, const char *,
		    char *, size_t);
static const char *alias_targets(struct mapsrc *, const char *, char **);
static int	 user_split(const char *, struct user_fields *,
		    const char **);
static const char *user_check(const struct user_fields *, uint64_t *,
		    int *);
static const char *user_line_check(const struct mapsrc *,
		    const struct user_fields *, char *, size_t);
static int	 number_id(const char *, size_t, uint32_t *);
static const char *quota_rule(const char *, size_t, uint64_t *);
static const char *home_check(const char *, size_t);
static void	 check_report(struct mapset *, int, const struct mapsrc_line *,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
static int	 check_domain_of(struct mapset *, int,
		    const struct mapsrc_line *, const char *);
static int	 check_domains(struct mapset *);
static int	 check_users(struct mapset *);
static int	 check_aliases(struct mapset *, struct resolver *);
static int	 check_targets(struct mapset *, struct resolver *,
		    const struct mapsrc_line *);
static int	 group_allowed(gid_t);
static int	 lock_secure(int, const char *, uid_t, gid_t);
static int	 lock_take(struct mapset *, uid_t, gid_t);
static int	 tmp_create(const char *, char *, size_t);
static struct timespec text_mtime(const struct mapsrc *,
		    const struct timespec *);
static int	 text_write(struct mapsrc *, mode_t, gid_t,
		    struct timespec *, char *, size_t);
static int	 text_sync(const char *, const char *);
static int	 writev_all(int, struct iovec *, size_t);
static int	 text_source_intact(const struct mapsrc *);
static int	 text_copy_unread(struct mapsrc *, int, int);
static int	 line_original(const struct mapsrc *, size_t);
static size_t	 text_copy_run(struct mapsrc *, size_t, int);
static size_t	 text_writev_run(struct mapsrc *, size_t, int, int);
static struct map_builder *db_write(struct mapsrc *, const char *, int,
		    mode_t, gid_t, const struct timespec *);
static int	 db_fill(struct mapsrc *, struct map_builder *, int);
static int	 mapset_write(struct mapset *, int, gid_t, int);
static int	 leftover_name(const char *);
static void	 leftover_sweep(const char *);

/* ---- the arena ---------------------------------------------------- */

static void *
arena_alloc(struct mapsrc *src, size_t n)
{
	struct mapsrc_chunk	*c;
	size_t			 size;

	c = src->arena;
	if (c == NULL || c->size - c->used < n) {
		size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		if ((c = malloc(sizeof(*c) + size)) == NULL)
			return NULL;
		c->size = size;
		c->used = 0;
		c->next = src->arena;
		src->arena = c;
	}
	c->used += n;
	return c->data + c->used - n;
}

static char *
arena_strndup(struct mapsrc *src, const char *s, size_t n)
{
	char	*p;

	if ((p = arena_alloc(src, n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void
arena_free(struct mapsrc *src)
{
	struct mapsrc_chunk	*c, *next;

	for (c = src->arena; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	src->arena = NULL;
}

/* ---- the index: key -> line --------------------------------------- */

/* A slot of the index: the key's hash, and its line + 1 (0: empty). */
struct mapsrc_slot {
	uint32_t	hash;
	uint32_t	line;
};

/*
 * FNV-1a, then a final mix: the low bits, which pick the slot, of plain
 * FNV-1a hardly differ between keys that differ in a digit or two.
 * Keys are short, and a map's author is no adversary of it.
 */
static uint32_t
key_hash(const char *s)
{
	uint32_t	h = 2166136261U;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619U;
	}
	h ^= h >> 16;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	return h;
}

/* The slot of key: the one that holds it, or the empty one to take. */
static struct mapsrc_slot *
index_probe(struct mapsrc *src, const char *key, uint32_t hash)
{
	struct mapsrc_slot	*slot;
	size_t			 h, mask;

	mask = src->indexsize - 1;
	for (h = hash & mask;; h = (h + 1) & mask) {
		slot = &src->index[h];
		if (slot->line == 0 || (slot->hash == hash &&
		    strcmp(src->lines[slot->line - 1].key, key) == 0))
			return slot;
	}
}

/*
 * Adds line i, the last line, to the index; 1 if its key is there
 * already (the index keeps the first), 0, or -1 if memory runs out.
 */
static int
index_insert(struct mapsrc *src, size_t i)
{
	struct mapsrc_slot	*slot;
	uint32_t		 hash;

	if ((src->nkeys + 1) * 2 > src->indexsize &&
	    index_rebuild(src, i, src->nkeys + 1) == -1)
		return -1;
	hash = key_hash(src->lines[i].key);
	slot = index_probe(src, src->lines[i].key, hash);
	if (slot->line != 0)
		return 1;
	slot->hash = hash;
	slot->line = i + 1;
	src->nkeys++;
	return 0;
}

/*
 * Rebuilds the index of the first upto lines, with room for room keys;
 * 0 or -1.
 */
static int
index_rebuild(struct mapsrc *src, size_t upto, size_t room)
{
	struct mapsrc_slot	*slot;
	size_t			 size, i, n;
	uint32_t		 hash;

	if (src->nlines >= UINT32_MAX) {
		errno = EFBIG;
		return -1;
	}
	for (size = 64; size < room * 2 + 2; size *= 2)
		;
	free(src->index);
	src->index = calloc(size, sizeof(*src->index));
	if (src->index == NULL) {
		src->indexsize = 0;
		src->indexstale = 1;
		return -1;
	}
	src->indexsize = size;
	n = 0;
	for (i = 0; i < upto; i++) {
		if (src->lines[i].key == NULL)
			continue;
		hash = key_hash(src->lines[i].key);
		slot = index_probe(src, src->lines[i].key, hash);
		if (slot->line == 0) {
			slot->hash = hash;
			slot->line = i + 1;
			n++;
		}
	}
	src->nkeys = n;
	src->indexstale = 0;
	return 0;
}

static int
key_fold(const char *key, char *buf, size_t buflen)
{
	size_t	i;

	for (i = 0; key[i] != '\0'; i++) {
		if (i + 1 >= buflen)
			return -1;
		buf[i] = key[i] >= 'A' && key[i] <= 'Z' ?
		    key[i] - 'A' + 'a' : key[i];
	}
	buf[i] = '\0';
	return 0;
}

/*
 * Looks a key up.  Without an index, the first few lookups go through
 * the lines in order: for the one or two lookups of "mailadduser add"
 * in a map of a hundred thousand lines, reading them in order takes a
 * fraction of the time that building the index takes with its cache
 * misses.
 */
struct mapsrc_line *
mapsrc_find(struct mapsrc *src, const char *key)
{
	struct mapsrc_slot	*slot;
	char			 k[MAP_KEY_MAX + 1];
	size_t			 i;

	if (key_fold(key, k, sizeof(k)) == -1)
		return NULL;
	if (src->deferred != NULL)
		return deferred_find(src, k);
	if (src->indexstale && src->nscans < FIND_SCANS) {
		src->nscans++;
		for (i = 0; i < src->nlines; i++)
			if (src->lines[i].key != NULL &&
			    src->lines[i].key[0] == k[0] &&
			    strcmp(src->lines[i].key, k) == 0)
				return &src->lines[i];
		return NULL;
	}
	if (src->indexstale && index_rebuild(src, src->nlines,
	    src->nkeys) == -1)
		return NULL;
	if (src->indexsize == 0)
		return NULL;
	slot = index_probe(src, k, key_hash(k));
	return slot->line == 0 ? NULL : &src->lines[slot->line - 1];
}

/*
 * mapsrc_find in a map MAPSET_APPEND left unread: the lines added, then
 * the .db.  A key the .db has is looked up in the lines, read then: the
 * caller wants the line.  If they cannot be read, the lookup answers
 * NULL whatever the map holds, so the map is marked, and no map of the
 * set is written after (see mapset_write).
 */
static struct mapsrc_line *
deferred_find(struct mapsrc *src, const char *key)
{
	char	 val[MAPSRC_LINE_MAX + 1];
	size_t	 i;

	for (i = 0; i < src->nlines; i++)
		if (src->lines[i].key != NULL &&
		    strcmp(src->lines[i].key, key) == 0)
			return &src->lines[i];
	if (map_lookup(src->deferred, key, val, sizeof(val)) == 0)
		return NULL;
	if (mapsrc_read_all(src) == -1)
		return NULL;
	return mapsrc_find(src, key);
}

/* ---- parsing ------------------------------------------------------ */

/* What no line of a text map may hold; NULL if the line is clean. */
static const char *
line_check(const char *text)
{
	const unsigned char	*p;

	if (strlen(text) > MAPSRC_LINE_MAX)
		return "line too long";
	for (p = (const unsigned char *)text; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return "control character in line";
	if (*text == ' ' || *text == '\t') {
		for (p = (const unsigned char *)text; *p == ' ' || *p == '\t';
		    p++)
			;
		if (*p != '\0' && *p != '#')
			return "line starts with white space";
	}
	return NULL;
}

/*
 * Parses l->text for the map's kind, setting key and value (NULL for a
 * comment or a blank line).  Returns NULL, or the reason it is bad.
 */
static const char *
mapsrc_parse(struct mapsrc *src, struct mapsrc_line *l)
{
	const char	*p, *reason;

	l->key = l->value = NULL;
	l->bad = 0;
	if ((reason = line_check(l->text)) != NULL)
		return reason;
	p = l->text + strspn(l->text, " \t");
	if (*p == '\0' || *p == '#')
		return NULL;
	switch (src->kind) {
	case MAP_DOMAINS:
		return parse_domain(src, l);
	case MAP_USERS:
		return parse_user(src, l);
	case MAP_TLS_POLICY:
		return parse_tls_policy(src, l);
	default:
		return parse_alias(src, l);
	}
}

/*
 * The domain that begins a domains or tls_policy line, in its key form
 * (A-labels, lower case: addr_domain_canon), into name (ADDR_DOMAIN_MAX
 * + 1 bytes); *pp is moved past it.  NULL, or why it is refused (in
 * reason).
 */
static const char *
line_domain(const char **pp, char *name, char *reason, size_t reasonlen)
{
	const char	*errstr;
	char		 written[ADDR_DOMAIN_MAX + 1];
	size_t		 len;

	len = strcspn(*pp, " \t");
	if (len > ADDR_DOMAIN_MAX)
		return "domain longer than 255 characters";
	memcpy(written, *pp, len);
	written[len] = '\0';
	if (addr_domain_canon(written, name, ADDR_DOMAIN_MAX + 1,
	    &errstr) == -1) {
		snprintf(reason, reasonlen, "bad domain '%s': %s", written,
		    errstr);
		return reason;
	}
	*pp += len;
	return NULL;
}

/* "domain policy": deliver(8)'s TLS policy toward the domain's MX hosts. */
static const char *
parse_tls_policy(struct mapsrc *src, struct mapsrc_line *l)
{
	static char	 reason[512];
	char		 name[ADDR_DOMAIN_MAX + 1], policy[16];
	const char	*p = l->text, *bad;
	size_t		 len;

	if ((bad = line_domain(&p, name, reason, sizeof(reason))) != NULL)
		return bad;
	p += strspn(p, " \t");
	len = strcspn(p, " \t");
	if (len == 0)
		return "missing policy (none, may, encrypt or verify)";
	if (p[len + strspn(p + len, " \t")] != '\0')
		return "one policy only (none, may, encrypt or verify)";
	snprintf(policy, sizeof(policy), "%.*s", (int)len, p);
	if (len >= sizeof(policy) || conf_tls_policy(policy) == -1) {
		snprintf(reason, sizeof(reason), "bad policy '%.*s' (none, "
		    "may, encrypt or verify)", (int)(len > 64 ? 64 : len), p);
		return reason;
	}
	if ((l->key = arena_strndup(src, name, strlen(name))) == NULL ||
	    (l->value = arena_strndup(src, policy, len)) == NULL)
		return "out of memory";
	return NULL;
}

static const char *const domain_attrs[] = {
	"owner", "maxusers", "maxaliases", "quota", "alias", "dkim",
	"senders", NULL
};

/*
 * Checks the value of one attribute of a domain (name, the value of
 * vlen bytes at v); NULL or a reason in buf.
 */
static const char *
domain_attr_check(const char *v, size_t vlen, const char *name, char *buf,
    size_t buflen)
{
	char		 val[ADDR_DOMAIN_MAX + 1], canon[ADDR_DOMAIN_MAX + 1];
	const char	*errstr;
	uint64_t	 size;
	uint32_t	 n;

	if (vlen == 0) {
		snprintf(buf, buflen, "empty value of attribute '%s'", name);
		return buf;
	}
	if (vlen >= sizeof(val)) {
		snprintf(buf, buflen, "value of '%s' too long", name);
		return buf;
	}
	memcpy(val, v, vlen);
	val[vlen] = '\0';
	if (strcmp(name, "maxusers") == 0 || strcmp(name, "maxaliases") == 0) {
		if (number_id(val, vlen, &n) == -1) {
			snprintf(buf, buflen, "bad number '%s' for '%s'", val,
			    name);
			return buf;
		}
	} else if (strcmp(name, "quota") == 0) {
		if (conf_parse_size(val, &size) == -1) {
			snprintf(buf, buflen, "bad size '%s' for 'quota' "
			    "(a number with K, M or G)", val);
			return buf;
		}
	} else if (strcmp(name, "senders") == 0) {
		if (senders_check(val, buf, buflen) == -1)
			return buf;
	} else if (strcmp(name, "owner") == 0) {
		if (caller_owners_valid(val, buf, buflen) == -1)
			return buf;
	} else if (strcmp(name, "alias") == 0) {
		if (addr_domain_canon(val, canon, sizeof(canon),
		    &errstr) == -1) {
			snprintf(buf, buflen, "bad domain '%s' for 'alias': "
			    "%s", val, errstr);
			return buf;
		}
	} else if (strcmp(name, "dkim") == 0) {
		if (dk_selectors_parse(val, NULL, &errstr) == -1) {
			snprintf(buf, buflen, "bad selectors '%s' for 'dkim': "
			    "%s", val, errstr);
			return buf;
		}
	}
	return NULL;
}

/* senders=: mailbox addresses, as AUTH logins are, split by ','. */
static int
senders_check(char *val, char *buf, size_t buflen)
{
	struct mailaddr	 a;
	const char	*errstr;
	char		*p, *item;
	int		 ret = 0;

	for (p = val; ret == 0 && (item = strsep(&p, ",")) != NULL;)
		if (addr_parse_safe(item, &a, &errstr) == -1) {
			snprintf(buf, buflen, "bad address '%s' in 'senders': "
			    "%s", item, errstr);
			ret = -1;
		}
	return ret;
}

static const char *
parse_domain(struct mapsrc *src, struct mapsrc_line *l)
{
	static char	 reason[1024];
	char		 name[ADDR_DOMAIN_MAX + 1], val[MAPSRC_LINE_MAX + 2];
	const char	*p, *tok, *eq, *errstr;
	const char	*seen[sizeof(domain_attrs) / sizeof(domain_attrs[0])];
	size_t		 len, nlen, vlen, nseen, i;
	int		 known;

	p = l->text;
	if ((tok = line_domain(&p, name, reason, sizeof(reason))) != NULL)
		return tok;
	val[0] = '\0';
	vlen = 0;
	nseen = 0;
	for (len = 0;; p += len) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		tok = p;
		len = strcspn(p, " \t");
		if ((eq = memchr(tok, '=', len)) == NULL) {
			snprintf(reason, sizeof(reason), "attribute '%.*s' "
			    "is not name=value", (int)(len > 64 ? 64 : len),
			    tok);
			return reason;
		}
		nlen = eq - tok;
		for (known = 0, i = 0; domain_attrs[i] != NULL; i++)
			if (strlen(domain_attrs[i]) == nlen &&
			    strncmp(domain_attrs[i], tok, nlen) == 0) {
				known = 1;
				break;
			}
		if (!known) {
			snprintf(reason, sizeof(reason), "unknown attribute "
			    "'%.*s'", (int)(nlen > 64 ? 64 : nlen), tok);
			return reason;
		}
		for (nlen = 0; nlen < nseen; nlen++)
			if (seen[nlen] == domain_attrs[i]) {
				snprintf(reason, sizeof(reason), "attribute "
				    "'%s' given twice", domain_attrs[i]);
				return reason;
			}
		seen[nseen++] = domain_attrs[i];
		if ((errstr = domain_attr_check(eq + 1, len - (eq + 1 - tok),
		    domain_attrs[i], reason, sizeof(reason))) != NULL)
			return errstr;
		if (vlen > 0)
			val[vlen++] = ' ';
		memcpy(val + vlen, tok, len);
		vlen += len;
		val[vlen] = '\0';
		/* The alias domain is a key of this map: lower case. */
		if (domain_attrs[i] == domain_attrs[4]) {
			addr_lower(val + vlen - (len - (eq + 1 - tok)));
			if (strcmp(val + vlen - (len - (eq + 1 - tok)),
			    name) == 0)
				return "domain is an alias of itself";
		}
	}
	if (vlen == 0)
		strlcpy(val, "-", sizeof(val));
	if ((l->key = arena_strndup(src, name, strlen(name))) == NULL ||
	    (l->value = arena_strndup(src, val, strlen(val))) == NULL)
		return "out of memory";
	return NULL;
}

/* "1" .. "4294967294": a UID, a GID or a limit; 0 or -1. */
static int
number_id(const char *s, size_t len, uint32_t *n)
{
	uint64_t	v;
	size_t		i;

	if (len == 0 || len > 10 || (s[0] == '0' && len > 1))
		return -1;
	for (v = 0, i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v >= UINT32_MAX)
		return -1;
	*n = v;
	return 0;
}

/*
 * Splits a users value at its first five colons: HASH UID GID GECOS
 * HOME, then SHELL and the extra fields if present (the extra fields
 * may hold colons of their own).  0 or -1 with errstr.
 */
static int
user_split(const char *value, struct user_fields *uf, const char **errstr)
{
	const char	*p, *colon;
	int		 i;

	memset(uf, 0, sizeof(*uf));
	uf->extra = "";
	p = value;
	for (i = 0; i < 6; i++) {
		uf->f[i] = p;
		colon = strchr(p, ':');
		uf->len[i] = colon != NULL ? (size_t)(colon - p) : strlen(p);
		uf->nfields = i + 1;
		if (colon == NULL)
			break;
		p = colon + 1;
		if (i == 5)
			uf->extra = p;
	}
	if (uf->nfields < 5) {
		*errstr = "too few fields (hash:uid:gid:gecos:home[:shell:"
		    "extra])";
		return -1;
	}
	return 0;
}

/*
 * "*:storage=N" as Dovecot reads it: a bare number is KiB, or a
 * suffix B, K, M, G or T (any case).  The quota in bytes.
 */
static const char *
quota_rule(const char *rule, size_t len, uint64_t *quota)
{
	const char	*p, *end;
	uint64_t	 v, unit;

	if (len <= 10 || strncmp(rule, "*:storage=", 10) != 0)
		return "bad userdb_quota_rule (want *:storage=N[BKMGT])";
	p = rule + 10;
	end = rule + len;
	if (!isdigit((unsigned char)*p))
		return "bad size in userdb_quota_rule";
	for (v = 0; p < end && isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return "size in userdb_quota_rule too large";
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == end)
		unit = 1024;
	else if (p + 1 != end)
		return "bad size in userdb_quota_rule";
	else {
		switch (tolower((unsigned char)*p)) {
		case 'b':
			unit = 1;
			break;
		case 'k':
			unit = 1024;
			break;
		case 'm':
			unit = 1024ULL * 1024;
			break;
		case 'g':
			unit = 1024ULL * 1024 * 1024;
			break;
		case 't':
			unit = 1024ULL * 1024 * 1024 * 1024;
			break;
		default:
			return "bad unit in userdb_quota_rule (B, K, M, G "
			    "or T)";
		}
	}
	if (v > UINT64_MAX / unit)
		return "size in userdb_quota_rule too large";
	*quota = v * unit;
	return NULL;
}

static const char *
home_check(const char *home, size_t len)
{
	const char	*p, *end;

	if (len == 0 || home[0] != '/')
		return "home is not an absolute path";
	if (len >= PATH_MAX)
		return "home too long";
	end = home + len;
	for (p = home; p < end; p++) {
		if (iscntrl((unsigned char)*p))
			return "control character in home";
		if (*p != '/')
			continue;
		if (p + 3 <= end && p[1] == '.' && p[2] == '.' &&
		    (p + 3 == end || p[3] == '/'))
			return "'..' in home";
	}
	return NULL;
}

/*
 * Checks the fields of a users value; quota and nologin come out of
 * the extra fields.  NULL or the reason.
 */
static const char *
user_check(const struct user_fields *uf, uint64_t *quota, int *nologin)
{
	const char	*p, *reason;
	size_t		 len, i;
	uint32_t	 id;

	*quota = 0;
	*nologin = 0;
	if (uf->len[0] == 0)
		return "empty password hash";
	if (uf->len[0] >= sizeof(((struct mapsrc_user *)0)->hash))
		return "password hash too long";
	for (i = 0; i < uf->len[0]; i++)
		if (uf->f[0][i] == ' ' || uf->f[0][i] == '\t')
			return "white space in password hash";
	if (number_id(uf->f[1], uf->len[1], &id) == -1)
		return "bad UID";
	if (id == 0)
		return "UID 0 is not allowed";
	if (number_id(uf->f[2], uf->len[2], &id) == -1)
		return "bad GID";
	if (id == 0)
		return "GID 0 is not allowed";
	if (uf->len[3] >= sizeof(((struct mapsrc_user *)0)->gecos))
		return "gecos field too long";
	if ((reason = home_check(uf->f[4], uf->len[4])) != NULL)
		return reason;
	if (uf->nfields > 5 && uf->len[5] >= PATH_MAX)
		return "shell field too long";
	for (p = uf->extra;; p += len) {
		p += strspn(p, " ");
		if (*p == '\0')
			break;
		len = strcspn(p, " ");
		if (len == 7 && strncmp(p, "nologin", 7) == 0)
			*nologin = 1;
		else if (len > 18 &&
		    strncmp(p, "userdb_quota_rule=", 18) == 0 &&
		    (reason = quota_rule(p + 18, len - 18, quota)) != NULL)
			return reason;
	}
	if (strlen(uf->extra) >= sizeof(((struct mapsrc_user *)0)->extra))
		return "extra fields too long";
	return NULL;
}

/*
 * What only a line of the users file is checked for, not a value of
 * users.db that smtpd or deliver reads: the ids of the mail user (any
 * others would have Dovecot act as another user), and a hash that asks
 * for no more work than passwd.c's bounds.  NULL or the reason, in why.
 */
static const char *
user_line_check(const struct mapsrc *src, const struct user_fields *uf,
    char *why, size_t whylen)
{
	char		 hash[sizeof(((struct mapsrc_user *)0)->hash)];
	uint32_t	 uid, gid;

	number_id(uf->f[1], uf->len[1], &uid);
	number_id(uf->f[2], uf->len[2], &gid);
	if (src->uid != (uid_t)-1 && uid != src->uid) {
		snprintf(why, whylen, "UID %lu is not the mail user's (%lu)",
		    (unsigned long)uid, (unsigned long)src->uid);
		return why;
	}
	if (src->gid != (gid_t)-1 && gid != src->gid) {
		snprintf(why, whylen, "GID %lu is not the mail user's (%lu)",
		    (unsigned long)gid, (unsigned long)src->gid);
		return why;
	}
	memcpy(hash, uf->f[0], uf->len[0]);
	hash[uf->len[0]] = '\0';
	if (passwd_hash_cost_check(hash, why, whylen) == -1)
		return why;
	return NULL;
}

static const char *
parse_user(struct mapsrc *src, struct mapsrc_line *l)
{
	static char		 reason[1024];
	struct user_fields	 uf;
	struct mailaddr		 ma;
	const char		*colon, *errstr;
	char			 key[ADDR_MAX + 1], why[256];
	char			 canon[ADDR_MAX + 1];
	size_t			 len, i;
	uint64_t		 quota;
	int			 nologin;

	if ((colon = strchr(l->text, ':')) == NULL)
		return "missing ':' after the address";
	len = colon - l->text;
	if (len > ADDR_MAX)
		return "address longer than 254 characters";
	memcpy(key, l->text, len);
	key[len] = '\0';
	if (addr_parse_safe(key, &ma, &errstr) == -1) {
		snprintf(reason, sizeof(reason), "bad address '%s': %s", key,
		    errstr);
		return reason;
	}
	for (i = 0; i < len; i++)
		if (key[i] >= 'A' && key[i] <= 'Z') {
			snprintf(reason, sizeof(reason), "address '%s' is not "
			    "in lower case", key);
			return reason;
		}
	/*
	 * Dovecot reads this file too, and takes the address as written:
	 * it must be the key of the .db, so that a login, an LMTP
	 * recipient and a look-up in users.db name one mailbox.
	 */
	if (addr_key(&ma, canon, sizeof(canon)) == -1)
		return "address too long";
	if (strcmp(canon, key) != 0) {
		snprintf(reason, sizeof(reason), "address '%s' is not in its "
		    "key form '%s' (domain in A-labels)", key, canon);
		return reason;
	}
	if (user_split(colon + 1, &uf, &errstr) == -1 ||
	    (errstr = user_check(&uf, &quota, &nologin)) != NULL ||
	    (errstr = user_line_check(src, &uf, why, sizeof(why))) != NULL) {
		snprintf(reason, sizeof(reason), "%s: %s", key, errstr);
		return reason;
	}
	if ((l->key = arena_strndup(src, key, len)) == NULL)
		return "out of memory";
	l->value = (char *)colon + 1;
	return NULL;
}

/*
 * Checks the targets after an alias's colon and joins them with ", "
 * into *out; NULL or the reason.
 */
static const char *
alias_targets(struct mapsrc *src, const char *p, char **out)
{
	static char	 reason[1024];
	struct mailaddr	 ma;
	const char	*errstr, *t;
	char		 target[ADDR_MAX + 1], *val, *q, *dup;
	size_t		 len, vlen, n;

	if ((val = arena_alloc(src, strlen(p) * 2 + 1)) == NULL)
		return "out of memory";
	vlen = 0;
	val[0] = '\0';
	for (n = 0;; n++) {
		p += strspn(p, " \t");
		t = p;
		len = strcspn(p, ",");
		p += len;
		while (len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\t'))
			len--;
		if (len == 0)
			return n == 0 && *p == '\0' ? "no target" :
			    "empty target";
		if (len > ADDR_MAX) {
			snprintf(reason, sizeof(reason), "target '%.40s...' "
			    "longer than 254 characters", t);
			return reason;
		}
		memcpy(target, t, len);
		target[len] = '\0';
		if (addr_parse_safe(target, &ma, &errstr) == -1) {
			snprintf(reason, sizeof(reason), "bad target '%s': %s",
			    target, errstr);
			return reason;
		}
		/* A second copy of a target is surely a mistake. */
		for (q = val; (dup = strcasestr(q, target)) != NULL;
		    q = dup + 1)
			if ((dup == val || dup[-1] == ' ') &&
			    (dup[len] == ',' || dup[len] == '\0')) {
				snprintf(reason, sizeof(reason), "target '%s' "
				    "given twice", target);
				return reason;
			}
		/*
		 * The readers of the .db (resolve.c, newmaps -q) take a
		 * value of at most a line; "a,b" grows as it is stored.
		 */
		if (vlen + (vlen > 0 ? 2 : 0) + len > MAPSRC_LINE_MAX) {
			snprintf(reason, sizeof(reason), "targets longer than "
			    "%d bytes when joined by \", \"",
			    MAPSRC_LINE_MAX);
			return reason;
		}
		if (vlen > 0) {
			memcpy(val + vlen, ", ", 2);
			vlen += 2;
		}
		memcpy(val + vlen, target, len + 1);
		vlen += len;
		if (*p == '\0')
			break;
		p++;
	}
	*out = val;
	return NULL;
}

static const char *
parse_alias(struct mapsrc *src, struct mapsrc_line *l)
{
	static char	 reason[1024];
	struct mailaddr	 ma;
	const char	*colon, *errstr;
	char		 key[ADDR_DOMAIN_MAX + 2], domain[ADDR_DOMAIN_MAX + 1];
	size_t		 len;

	if ((colon = strchr(l->text, ':')) == NULL)
		return "missing ':' after the alias";
	len = colon - l->text;
	while (len > 0 && (l->text[len - 1] == ' ' || l->text[len - 1] == '\t'))
		len--;
	if (len > ADDR_MAX + 1)
		return "alias longer than 254 characters";
	memcpy(key, l->text, len);
	key[len] = '\0';
	if (key[0] == '@') {
		if (addr_domain_canon(key + 1, domain, sizeof(domain),
		    &errstr) == -1) {
			snprintf(reason, sizeof(reason), "bad catch-all "
			    "'%s': %s", key, errstr);
			return reason;
		}
		snprintf(key, sizeof(key), "@%s", domain);
	} else if (addr_parse_safe(key, &ma, &errstr) == -1) {
		snprintf(reason, sizeof(reason), "bad alias '%s': %s", key,
		    errstr);
		return reason;
	} else if (addr_key(&ma, key, sizeof(key)) == -1)
		return "alias too long";
	len = strlen(key);
	if ((errstr = alias_targets(src, colon + 1, &l->value)) != NULL) {
		snprintf(reason, sizeof(reason), "%s: %.700s", key, errstr);
		return reason;
	}
	if ((l->key = arena_strndup(src, key, len)) == NULL)
		return "out of memory";
	return NULL;
}

/* ---- reading ------------------------------------------------------ */

/* Appends a line (text stays where it is); 0 or -1. */
static int
mapsrc_push(struct mapsrc *src, char *text, size_t lineno)
{
	struct mapsrc_line	*lines;
	size_t			 cap;

	if (src->nlines == src->cap) {
		cap = src->cap == 0 ? 256 : src->cap * 2;
		lines = reallocarray(src->lines, cap, sizeof(*lines));
		if (lines == NULL)
			return -1;
		src->lines = lines;
		src->cap = cap;
	}
	memset(&src->lines[src->nlines], 0, sizeof(src->lines[0]));
	src->lines[src->nlines].text = text;
	src->lines[src->nlines].lineno = lineno;
	src->nlines++;
	return 0;
}

/*
 * Splits a line of a trusted text map (see mapsrc_read) into key and
 * value without checking it: 0, or -1 if the line needs the full parse
 * (a comment, or an alias line whose targets are not written in the
 * stored form).
 */
static int
mapsrc_split(struct mapsrc *src, struct mapsrc_line *l)
{
	const char	*colon, *v, *p;
	size_t		 len;

	if (l->text[0] == '\0' || l->text[0] == '#' || l->text[0] == ' ' ||
	    l->text[0] == '\t' || (colon = strchr(l->text, ':')) == NULL)
		return -1;
	len = colon - l->text;
	v = colon + 1;
	if (src->kind == MAP_ALIASES) {
		while (len > 0 && (l->text[len - 1] == ' ' ||
		    l->text[len - 1] == '\t'))
			len--;
		v += strspn(v, " \t");
		if (*v == '\0')
			return -1;
		for (p = v; *p != '\0'; p++)
			if (*p == '\t' || (*p == ' ' && p[-1] != ',') ||
			    (*p == ',' && (p[1] != ' ' || p[2] == ' ' ||
			    p[2] == ',' || p[2] == '\0')))
				return -1;
	}
	if (len == 0 || (l->key = arena_strndup(src, l->text, len)) == NULL)
		return -1;
	/* A UTF-8 key has another form in the .db (addr_key): parse it. */
	if (!addr_is_ascii(l->key)) {
		l->key = NULL;
		return -1;
	}
	addr_lower(l->key);
	l->value = (char *)v;
	return 0;
}

/* Splits and parses the buffer of a text map (len bytes, NUL after). */
static int
mapsrc_load(struct mapsrc *src, char *buf, size_t len)
{
	struct mapsrc_line	*l, *first;
	const char		*reason;
	char			*p, *end, *nl;
	size_t			 lineno, n;
	int			 dup, nul;

	/*
	 * A checked map is indexed as it is read, to find duplicate keys;
	 * the index is sized to the lines, since a bigger one costs cache
	 * misses.  A trusted map has no duplicate and is indexed only if
	 * looked up often (see mapsrc_find).
	 */
	end = buf + len;
	if (src->trusted)
		n = len / 64 + 16;
	else {
		for (n = 1, p = buf; p < end && (nl = memchr(p, '\n',
		    end - p)) != NULL; p = nl + 1)
			n++;
		if (index_rebuild(src, 0, n) == -1)
			return -1;
	}
	if (src->cap < n) {
		l = reallocarray(src->lines, n, sizeof(*l));
		if (l == NULL)
			return -1;
		src->lines = l;
		src->cap = n;
	}
	nul = memchr(buf, '\0', len) != NULL;
	for (p = buf, lineno = 1; p < end; p = nl + 1, lineno++) {
		if ((nl = memchr(p, '\n', end - p)) == NULL) {
			nl = end;
			src->texttail = p;
		}
		*nl = '\0';
		if (mapsrc_push(src, p, lineno) == -1)
			return -1;
		l = &src->lines[src->nlines - 1];
		if (nul && strlen(p) != (size_t)(nl - p))
			reason = "NUL byte in line";
		else if (src->trusted && mapsrc_split(src, l) == 0)
			reason = NULL;
		else
			reason = mapsrc_parse(src, l);
		if (reason == NULL && l->key != NULL && src->trusted) {
			src->nkeys++;
			src->indexstale = 1;
		} else if (reason == NULL && l->key != NULL) {
			if ((dup = index_insert(src, src->nlines - 1)) == -1)
				return -1;
			if (dup == 1) {
				first = mapsrc_find(src, l->key);
				warnx("%s:%zu: duplicate key '%s' (first on "
				    "line %zu)", src->path, lineno, l->key,
				    first->lineno);
				l->key = l->value = NULL;
				l->bad = 1;
				src->nerrors++;
			}
		} else if (reason != NULL) {
			warnx("%s:%zu: %s", src->path, lineno, reason);
			l->key = l->value = NULL;
			l->bad = 1;
			src->nerrors++;
		}
	}
	return 0;
}

/*
 * Reads a text map into src; a missing file is an empty map.
 *
 * Reading a map of a hundred thousand mailboxes line by line through
 * every check takes longer than the rest of "mailadduser add" together,
 * so a text file is trusted, and its lines only split into key and
 * value, when its .db was compiled from exactly that file: the writers
 * (newmaps and mapset_install) give a .db the mtime of its text file,
 * to the nanosecond, only after every line of it passed the checks;
 * any other change to the text file gives it another mtime.  The
 * domains map, small, is always checked; so is every map with
 * MAPSET_VERIFY (newmaps).  0 or -1 with warn(3).
 */
static int
mapsrc_read(struct mapsrc *src, const char *mapdir, int flags)
{
	struct stat	 sb, dbsb;
	char		 dbpath[PATH_MAX];
	int		 fd;

	if ((fd = open(src->path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		warn("%s", src->path);
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		warn("%s", src->path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		warnx("%s: not a regular file", src->path);
		close(fd);
		return -1;
	}
	/* Kept to copy the lines that stay from (see text_write). */
	src->textfd = fd;
	src->hastextfd = 1;
	src->textlen = sb.st_size;
	src->textmtime = sb.st_mtim;
	src->exists = 1;
	src->mtime = sb.st_mtim;
	snprintf(dbpath, sizeof(dbpath), "%s/%s.db", mapdir,
	    mapsrc_names[src->kind]);
	src->dbmatch = stat(dbpath, &dbsb) == 0 && S_ISREG(dbsb.st_mode) &&
	    dbsb.st_mtim.tv_sec == sb.st_mtim.tv_sec &&
	    dbsb.st_mtim.tv_nsec == sb.st_mtim.tv_nsec;
	src->trusted = src->dbmatch && src->kind != MAP_DOMAINS &&
	    (flags & MAPSET_VERIFY) == 0;
	if (src->trusted && (flags & MAPSET_APPEND) && mapsrc_defer(src,
	    mapdir) == 0)
		return 0;
	if (mapsrc_read_text(src) == -1) {
		warn("%s", src->path);
		return -1;
	}
	return 0;
}

/* Reads and splits the text file src->textfd; 0 or -1. */
static int
mapsrc_read_text(struct mapsrc *src)
{
	char	*buf;
	size_t	 len;
	ssize_t	 n;

	if ((buf = arena_alloc(src, src->textlen + 1)) == NULL)
		return -1;
	/* A file that grows while read is cut at the size it had. */
	for (len = 0; len < src->textlen; len += n) {
		n = pread(src->textfd, buf + len, src->textlen - len, len);
		if (n == -1)
			return -1;
		if (n == 0)
			break;
	}
	src->textbuf = buf;
	src->textlen = len;
	buf[len] = '\0';
	return mapsrc_load(src, buf, len);
}

/*
 * MAPSET_APPEND: leaves a trusted text file unread, its .db, which is
 * exactly its index, to answer mapsrc_find.  Reading and splitting the
 * 18 MB of a hundred thousand mailboxes is a third of the time of
 * "mailadduser add", which needs none of it: it copies the file as it
 * is and appends a line.  0, or -1 if it is to be read after all.
 */
static int
mapsrc_defer(struct mapsrc *src, const char *mapdir)
{
	char	 last;

	if (src->textlen == 0 || pread(src->textfd, &last, 1,
	    src->textlen - 1) != 1)
		return -1;
	if ((src->deferred = map_open(mapdir, mapsrc_names[src->kind])) ==
	    NULL)
		return -1;
	src->textnonl = last != '\n';
	src->indexstale = 1;
	return 0;
}

int
mapsrc_read_all(struct mapsrc *src)
{
	struct mapsrc_line	*added;
	size_t			 nadded, addedkeys, i;

	if (src->deferred == NULL)
		return 0;
	map_close(src->deferred);
	src->deferred = NULL;
	/* The lines added so far come after those of the file. */
	added = src->lines;
	nadded = src->nlines;
	addedkeys = src->nkeys;
	src->lines = NULL;
	src->nlines = src->cap = src->nkeys = 0;
	if (!text_source_intact(src)) {
		errno = ESTALE;
		goto fail;
	}
	if (mapsrc_read_text(src) == -1)
		goto fail;
	for (i = 0; i < nadded; i++) {
		if (mapsrc_push(src, added[i].text, 0) == -1)
			goto fail;
		src->lines[src->nlines - 1] = added[i];
	}
	src->nkeys += addedkeys;
	src->indexstale = 1;
	free(added);
	return 0;
fail:
	warn("%s", src->path);
	src->unreadable = 1;
	free(added);
	return -1;
}

int
mapset_open(struct mapset *ms, const char *mapdir, int lock)
{
	return mapset_open_flags(ms, mapdir, lock ? MAPSET_LOCK : 0);
}

int
mapset_open_flags(struct mapset *ms, const char *mapdir, int flags)
{
	return mapset_open_ids(ms, mapdir, flags, (uid_t)-1, (gid_t)-1);
}

/*
 * The lock file belongs to the mail user, mode 0600: Linux grants
 * flock(LOCK_EX) on a descriptor open for reading only, so whoever can
 * open the file can stop every writer.  0640 would let the group in,
 * and Dovecot's auth user is in the mail user's group to read the
 * users map.  Root makes the file the mail user's, who can then take
 * the lock too; a lock file another user made readable (the 0644 of
 * older writers) is put right by its owner or root.
 */
static int
lock_secure(int fd, const char *path, uid_t uid, gid_t gid)
{
	struct stat	sb;

	if (fstat(fd, &sb) == -1) {
		warn("%s", path);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		warnx("%s: not a regular file", path);
		return -1;
	}
	if (geteuid() == 0 && uid != (uid_t)-1 && (sb.st_uid != uid ||
	    sb.st_gid != gid) && fchown(fd, uid, gid) == -1) {
		warn("%s", path);
		return -1;
	}
	if ((sb.st_mode & 07777) != 0600 && fchmod(fd, 0600) == -1)
		warn("%s: cannot make it mode 0600: until its owner or root "
		    "does, any local user can hold the lock", path);
	return 0;
}

int	mapset_lock_wait = MAPSET_LOCK_WAIT;

/*
 * Takes the lock of the map directory, waiting at most
 * mapset_lock_wait seconds for a writer that holds it: a writer that
 * hangs, or whoever else could lock the file, must not hold up
 * mailadduser and newmaps for ever.  0, or -1 (warn(3); errno
 * EWOULDBLOCK if the wait ran out).
 */
static int
lock_take(struct mapset *ms, uid_t uid, gid_t gid)
{
	struct timespec	 now, end, pause = { 0, 10 * 1000 * 1000 };
	char		 path[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s/.lock", ms->mapdir);
	ms->lockfd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK, 0600);
	if (ms->lockfd == -1) {
		warn("%s", path);
		return -1;
	}
	if (lock_secure(ms->lockfd, path, uid, gid) == -1)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += mapset_lock_wait;
	while (flock(ms->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			warn("%s", path);
			return -1;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec &&
		    now.tv_nsec >= end.tv_nsec)) {
			warnx("%s: another writer has held the lock for %d "
			    "s; giving up", path, mapset_lock_wait);
			errno = EWOULDBLOCK;
			return -1;
		}
		nanosleep(&pause, NULL);
		/* From 10 ms, doubling, up to a quarter of a second. */
		pause.tv_nsec *= 2;
		if (pause.tv_nsec > 250 * 1000 * 1000)
			pause.tv_nsec = 250 * 1000 * 1000;
	}
	return 0;
}

int
mapset_open_ids(struct mapset *ms, const char *mapdir, int flags, uid_t uid,
    gid_t gid)
{
	int	kind, n, errors, saved;

	memset(ms, 0, sizeof(*ms));
	ms->lockfd = -1;
	strlcpy(ms->delimiter, "+", sizeof(ms->delimiter));
	if (strlcpy(ms->mapdir, mapdir, sizeof(ms->mapdir)) >=
	    sizeof(ms->mapdir)) {
		warnx("%s: map directory name too long", mapdir);
		return -1;
	}
	for (kind = 0; kind < MAP_COUNT; kind++) {
		ms->src[kind].kind = kind;
		ms->src[kind].uid = uid;
		ms->src[kind].gid = gid;
		n = snprintf(ms->src[kind].path, sizeof(ms->src[kind].path),
		    "%s/%s", mapdir, mapsrc_names[kind]);
		if (n < 0 || (size_t)n >= sizeof(ms->src[kind].path)) {
			warnx("%s: map directory name too long", mapdir);
			return -1;
		}
	}
	if ((flags & MAPSET_LOCK) && lock_take(ms, uid, gid) == -1) {
		saved = errno;
		mapset_close(ms);
		errno = saved;
		return -1;
	}
	errors = 0;
	for (kind = 0; kind < MAP_COUNT; kind++) {
		if (mapsrc_read(&ms->src[kind], mapdir, flags) == -1) {
			mapset_close(ms);
			return -1;
		}
		errors += ms->src[kind].nerrors;
	}
	return errors;
}

void
mapset_close(struct mapset *ms)
{
	struct mapsrc	*src;
	int		 kind;

	for (kind = 0; kind < MAP_COUNT; kind++) {
		src = &ms->src[kind];
		arena_free(src);
		free(src->lines);
		free(src->index);
		free(src->changed);
		src->lines = NULL;
		src->index = NULL;
		src->changed = NULL;
		src->nlines = src->cap = src->nkeys = src->indexsize = 0;
		if (src->hastextfd)
			close(src->textfd);
		src->hastextfd = 0;
		if (src->deferred != NULL)
			map_close(src->deferred);
		src->deferred = NULL;
		src->nchanged = src->changedcap = 0;
	}
	if (ms->lockfd != -1)
		close(ms->lockfd);
	ms->lockfd = -1;
}

/* ---- editing ------------------------------------------------------ */

/* Records a key whose entry changed since the map was read; 0 or -1. */
static int
mapsrc_change(struct mapsrc *src, const char *key)
{
	char	**changed;
	size_t	  cap;

	if (key == NULL)
		return 0;
	if (src->nchanged == src->changedcap) {
		cap = src->changedcap == 0 ? 16 : src->changedcap * 2;
		changed = reallocarray(src->changed, cap, sizeof(*changed));
		if (changed == NULL)
			return -1;
		src->changed = changed;
		src->changedcap = cap;
	}
	if ((src->changed[src->nchanged] = arena_strndup(src, key,
	    strlen(key))) == NULL)
		return -1;
	src->nchanged++;
	return 0;
}

int
mapsrc_add(struct mapsrc *src, const char *text)
{
	struct mapsrc_line	 n;
	const char		*reason;

	memset(&n, 0, sizeof(n));
	if ((n.text = arena_strndup(src, text, strlen(text))) == NULL) {
		warn("%s", src->path);
		return -1;
	}
	if ((reason = mapsrc_parse(src, &n)) != NULL) {
		warnx("%s: %s", src->path, reason);
		return -1;
	}
	if (n.key != NULL && mapsrc_find(src, n.key) != NULL) {
		warnx("%s: duplicate key '%s'", src->path, n.key);
		return -1;
	}
	if (mapsrc_push(src, n.text, 0) == -1) {
		warn("%s", src->path);
		return -1;
	}
	if (mapsrc_change(src, n.key) == -1) {
		warn("%s", src->path);
		src->nlines--;
		return -1;
	}
	src->lines[src->nlines - 1] = n;
	if (n.key != NULL && src->indexstale)
		src->nkeys++;
	else if (n.key != NULL && index_insert(src, src->nlines - 1) == -1)
		src->indexstale = 1;
	return 0;
}

int
mapsrc_replace(struct mapsrc *src, struct mapsrc_line *l, const char *text)
{
	struct mapsrc_line	 n, *other;
	const char		*reason;

	memset(&n, 0, sizeof(n));
	n.lineno = l->lineno;
	if ((n.text = arena_strndup(src, text, strlen(text))) == NULL) {
		warn("%s", src->path);
		return -1;
	}
	if ((reason = mapsrc_parse(src, &n)) != NULL) {
		warnx("%s: %s", src->path, reason);
		return -1;
	}
	if (n.key != NULL && (other = mapsrc_find(src, n.key)) != NULL &&
	    other != l) {
		warnx("%s: duplicate key '%s'", src->path, n.key);
		return -1;
	}
	if (mapsrc_change(src, l->key) == -1 ||
	    mapsrc_change(src, n.key) == -1) {
		warn("%s", src->path);
		return -1;
	}
	if (l->key == NULL || n.key == NULL || strcmp(l->key, n.key) != 0)
		src->indexstale = 1;
	*l = n;
	return 0;
}

void
mapsrc_remove(struct mapsrc *src, struct mapsrc_line *l)
{
	size_t	i;

	i = l - src->lines;
	if (i >= src->nlines)
		return;
	/* Out of memory here only costs the incremental update. */
	if (mapsrc_change(src, l->key) == -1)
		src->dbmatch = 0;
	if (l->key != NULL && src->nkeys > 0)
		src->nkeys--;
	memmove(l, l + 1, (src->nlines - i - 1) * sizeof(*l));
	src->nlines--;
	src->indexstale = 1;
}

/* ---- values ------------------------------------------------------- */

const char *
mapsrc_domain_attr(const char *value, const char *attr, char *buf,
    size_t buflen)
{
	const char	*p;
	size_t		 alen, len;

	alen = strlen(attr);
	for (p = value; *p != '\0'; p += len) {
		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (len > alen && strncmp(p, attr, alen) == 0 &&
		    p[alen] == '=') {
			if (len - alen - 1 >= buflen)
				return NULL;
			memcpy(buf, p + alen + 1, len - alen - 1);
			buf[len - alen - 1] = '\0';
			return buf;
		}
	}
	return NULL;
}

int
mapsrc_user_parse(const char *value, struct mapsrc_user *u,
    const char **errstr)
{
	struct user_fields	 uf;
	const char		*p;
	size_t			 len, elen;
	uint32_t		 id;

	if (user_split(value, &uf, errstr) == -1 ||
	    (*errstr = user_check(&uf, &u->quota, &u->nologin)) != NULL)
		return -1;
	memcpy(u->hash, uf.f[0], uf.len[0]);
	u->hash[uf.len[0]] = '\0';
	number_id(uf.f[1], uf.len[1], &id);
	u->uid = id;
	number_id(uf.f[2], uf.len[2], &id);
	u->gid = id;
	memcpy(u->gecos, uf.f[3], uf.len[3]);
	u->gecos[uf.len[3]] = '\0';
	memcpy(u->home, uf.f[4], uf.len[4]);
	u->home[uf.len[4]] = '\0';
	u->shell[0] = '\0';
	if (uf.nfields > 5) {
		memcpy(u->shell, uf.f[5], uf.len[5]);
		u->shell[uf.len[5]] = '\0';
	}
	u->extra[0] = '\0';
	elen = 0;
	for (p = uf.extra;; p += len) {
		p += strspn(p, " ");
		if (*p == '\0')
			break;
		len = strcspn(p, " ");
		if ((len == 7 && strncmp(p, "nologin", 7) == 0) ||
		    strncmp(p, "userdb_quota_rule=", 18) == 0)
			continue;
		if (elen > 0)
			u->extra[elen++] = ' ';
		memcpy(u->extra + elen, p, len);
		elen += len;
		u->extra[elen] = '\0';
	}
	return 0;
}

/*
 * With the largest unit that is exact, because Dovecot would take a
 * bare number for KiB.
 */
static void
quota_format(uint64_t q, char *buf, size_t buflen)
{
	static const char	 units[] = "GMK";
	int			 shift;
	size_t			 i;

	for (i = 0, shift = 30; i < sizeof(units) - 1; i++, shift -= 10)
		if ((q & ((1ULL << shift) - 1)) == 0) {
			snprintf(buf, buflen, "userdb_quota_rule=*:storage="
			    "%llu%c", (unsigned long long)(q >> shift),
			    units[i]);
			return;
		}
	snprintf(buf, buflen, "userdb_quota_rule=*:storage=%lluB",
	    (unsigned long long)q);
}

int
mapsrc_user_format(const struct mapsrc_user *u, char *buf, size_t buflen)
{
	char	quota[64];
	int	n;

	quota[0] = '\0';
	if (u->quota > 0)
		quota_format(u->quota, quota, sizeof(quota));
	n = snprintf(buf, buflen, "%s:%lu:%lu:%s:%s:%s:%s%s%s%s%s",
	    u->hash, (unsigned long)u->uid, (unsigned long)u->gid, u->gecos,
	    u->home, u->shell, quota,
	    quota[0] != '\0' && u->nologin ? " " : "",
	    u->nologin ? "nologin" : "",
	    (quota[0] != '\0' || u->nologin) && u->extra[0] != '\0' ? " " : "",
	    u->extra);
	if (n < 0 || (size_t)n >= buflen)
		return -1;
	return 0;
}

/* ---- cross-checks ------------------------------------------------- */

static void
check_report(struct mapset *ms, int kind, const struct mapsrc_line *l,
    const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->lineno > 0)
		warnx("%s:%zu: %s", ms->src[kind].path, l->lineno, msg);
	else
		warnx("%s: %s", ms->src[kind].path, msg);
	ms->src[kind].nerrors++;
}

/* A mailbox or an alias must be in a hosted domain that is no alias. */
static int
check_domain_of(struct mapset *ms, int kind, const struct mapsrc_line *l,
    const char *domain)
{
	struct mapsrc_line	*d;
	char			 target[ADDR_DOMAIN_MAX + 1];

	if ((d = mapsrc_find(&ms->src[MAP_DOMAINS], domain)) == NULL) {
		check_report(ms, kind, l, "%s: domain '%s' is not hosted "
		    "(not in %s)", l->key, domain,
		    ms->src[MAP_DOMAINS].path);
		return 1;
	}
	if (mapsrc_domain_attr(d->value, "alias", target,
	    sizeof(target)) != NULL) {
		check_report(ms, kind, l, "%s: domain '%s' is an alias of "
		    "'%s'", l->key, domain, target);
		return 1;
	}
	return 0;
}

static int
check_domains(struct mapset *ms)
{
	struct mapsrc		*src = &ms->src[MAP_DOMAINS];
	struct mapsrc_line	*l, *t;
	char			 target[ADDR_DOMAIN_MAX + 1];
	char			 other[ADDR_DOMAIN_MAX + 1];
	char			 canon[ADDR_DOMAIN_MAX + 1];
	const char		*errstr;
	size_t			 i;
	int			 errors;

	errors = 0;
	for (i = 0; i < src->nlines; i++) {
		l = &src->lines[i];
		if (l->key == NULL || mapsrc_domain_attr(l->value, "alias",
		    target, sizeof(target)) == NULL)
			continue;
		if (addr_domain_canon(target, canon, sizeof(canon),
		    &errstr) == -1 || (t = mapsrc_find(src, canon)) == NULL) {
			check_report(ms, MAP_DOMAINS, l, "%s: alias of "
			    "'%s', which is not hosted", l->key, target);
			errors++;
		} else if (mapsrc_domain_attr(t->value, "alias", other,
		    sizeof(other)) != NULL) {
			check_report(ms, MAP_DOMAINS, l, "%s: alias of '%s', "
			    "which is an alias domain itself", l->key, target);
			errors++;
		}
	}
	return errors;
}

static int
check_users(struct mapset *ms)
{
	struct mapsrc		*src = &ms->src[MAP_USERS];
	struct mapsrc_line	*l;
	size_t			 i;
	int			 errors;

	errors = 0;
	for (i = 0; i < src->nlines; i++) {
		l = &src->lines[i];
		if (l->key != NULL)
			errors += check_domain_of(ms, MAP_USERS, l,
			    strchr(l->key, '@') + 1);
	}
	return errors;
}

/*
 * Every target in a hosted domain must lead somewhere: a mailbox, an
 * alias or a catch-all, after the alias domain and the +tag, by the
 * rules of resolve.c that smtpd and deliver follow.
 */
static int
check_targets(struct mapset *ms, struct resolver *r,
    const struct mapsrc_line *l)
{
	struct mailaddr	 ma;
	const char	*p, *errstr;
	char		 target[ADDR_MAX + 1];
	size_t		 len;
	int		 errors;

	errors = 0;
	for (p = l->value; *p != '\0'; p += len) {
		p += strspn(p, ", ");
		len = strcspn(p, ",");
		if (len == 0 || len > ADDR_MAX)
			break;
		memcpy(target, p, len);
		target[len] = '\0';
		if (addr_parse_safe(target, &ma, &errstr) == -1)
			continue;
		if (mapsrc_find(&ms->src[MAP_DOMAINS], ma.domain) == NULL)
			continue;
		if (resolve_rcpt(r, &ma) == RESOLVE_UNKNOWN) {
			check_report(ms, MAP_ALIASES, l, "%s: target '%s' is "
			    "no mailbox, alias or catch-all", l->key, target);
			errors++;
		}
	}
	return errors;
}

static int
check_aliases(struct mapset *ms, struct resolver *r)
{
	struct mapsrc		*src = &ms->src[MAP_ALIASES];
	struct mapsrc_line	*l;
	const char		*domain;
	size_t			 i;
	int			 errors;

	errors = 0;
	for (i = 0; i < src->nlines; i++) {
		l = &src->lines[i];
		if (l->key == NULL)
			continue;
		domain = l->key[0] == '@' ? l->key + 1 :
		    strchr(l->key, '@') + 1;
		errors += check_domain_of(ms, MAP_ALIASES, l, domain);
		if (l->key[0] != '@' &&
		    mapsrc_find(&ms->src[MAP_USERS], l->key) != NULL) {
			check_report(ms, MAP_ALIASES, l, "%s: alias shadows "
			    "the mailbox of the same name", l->key);
			errors++;
		}
		errors += check_targets(ms, r, l);
	}
	return errors;
}

int
mapset_check(struct mapset *ms)
{
	struct resolver	 r;
	struct conf	*conf;
	int		 errors, kind;

	if ((conf = calloc(1, sizeof(*conf))) == NULL) {
		warn("mapset_check");
		return 1;
	}
	strlcpy(conf->recipient_delimiter, ms->delimiter,
	    sizeof(conf->recipient_delimiter));
	errors = 0;
	for (kind = 0; kind < MAP_COUNT; kind++)
		if (mapsrc_read_all(&ms->src[kind]) == -1)
			errors++;
	resolver_open_mapset(&r, conf, ms);
	errors += check_domains(ms);
	errors += check_users(ms);
	errors += check_aliases(ms, &r);
	resolver_close(&r);
	free(conf);
	return errors;
}

/* ---- installing --------------------------------------------------- */

/* 1 if we may give our files group gid: as root, or a group of ours. */
static int
group_allowed(gid_t gid)
{
	gid_t	groups[NGROUPS_MAX];
	int	n, i;

	if (geteuid() == 0 || getegid() == gid)
		return 1;
	if ((n = getgroups(NGROUPS_MAX, groups)) == -1)
		return 0;
	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/*
 * Creates "dir/.name.XXXXXXXX" next to path, O_EXCL; the descriptor,
 * or -1 with errno set.
 */
static int
tmp_create(const char *path, char *tmp, size_t tmplen)
{
	int	 fd, tries;

	for (tries = 0; tries < 10; tries++) {
		if (file_sibling_name(path, NULL, tmp, tmplen) == -1)
			return -1;
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/*
 * The mtime of a new text file: the time, or, if that is not later in
 * whole seconds than the mtime of the file it replaces, one second
 * after that.  Dovecot's passwd-file rereads the users file only when
 * its mtime in whole seconds or its size differ from those of the
 * version it read last, which may be any earlier one; a change that
 * keeps the size (a new password of the same scheme) within the second
 * of that version would go unseen.  With seconds that grow at every
 * change, no version looks like any earlier one, whatever the clock
 * does.  The price: in a burst of more than one change a second the
 * mtime runs ahead of the clock, by a second for each change in excess
 * of one a second, and falls back to it by a second for each second
 * without a change (see mailmaps(5)).
 */
static struct timespec
text_mtime(const struct mapsrc *src, const struct timespec *now)
{
	struct timespec	ts;

	ts = *now;
	if (src->exists && src->mtime.tv_sec >= ts.tv_sec)
		ts.tv_sec = src->mtime.tv_sec + 1;
	return ts;
}

/*
 * Writes the lines of src to a new temporary file next to it, with
 * mode, group and mtime (text_mtime); its name in tmp, and in mtime the
 * mtime as the file system keeps it.  0 or -1 (warn(3) done, nothing
 * left behind).
 */
static int
text_write(struct mapsrc *src, mode_t mode, gid_t gid,
    struct timespec *mtime, char *tmp, size_t tmplen)
{
	struct timespec	 ts[2];
	struct stat	 sb;
	size_t		 i;
	int		 fd, saved, copy;

	if ((fd = tmp_create(src->path, tmp, tmplen)) == -1) {
		warn("%s", src->path);
		tmp[0] = '\0';
		return -1;
	}
	copy = text_source_intact(src);
	if (src->deferred != NULL && text_copy_unread(src, fd, copy) == -1)
		goto fail;
	for (i = 0; i < src->nlines;) {
		if (copy && line_original(src, i))
			i = text_copy_run(src, i, fd);
		else
			i = text_writev_run(src, i, fd, copy);
		if (i == (size_t)-1)
			goto fail;
	}
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = *mtime;
	/*
	 * The fsync comes later (text_sync): started now, the write-back
	 * of a big text runs while the .db is built.
	 */
	if (sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) == -1 ||
	    (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) == -1) ||
	    fchmod(fd, mode) == -1 || futimens(fd, ts) == -1 ||
	    fstat(fd, &sb) == -1)
		goto fail;
	/* A file system that rounds or clamps it may undo the new second. */
	if (src->exists && sb.st_mtim.tv_sec <= src->mtime.tv_sec) {
		close(fd);
		unlink(tmp);
		tmp[0] = '\0';
		warnx("%s: the file system keeps no mtime later than %lld",
		    src->path, (long long)src->mtime.tv_sec);
		return -1;
	}
	*mtime = sb.st_mtim;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	tmp[0] = '\0';
	errno = saved;
	warn("%s", src->path);
	return -1;
}

/*
 * The file of a map left unread, whole, then a newline if it lacks its
 * last one; the lines added follow.  0 or -1.
 */
static int
text_copy_unread(struct mapsrc *src, int fd, int intact)
{
	if (!intact) {
		errno = ESTALE;
		return -1;
	}
	if (file_copy_range(src->textfd, fd, 0, src->textlen) == -1 ||
	    lseek(fd, src->textlen, SEEK_SET) == -1)
		return -1;
	if (src->textnonl && write(fd, "\n", 1) != 1)
		return -1;
	return 0;
}

/*
 * The lines that stay as they were read are copied from the text file
 * as read, by copy_file_range(2), in runs: the kernel copies them from
 * its cache without a trip through our memory, which for a map of a
 * hundred thousand lines takes a third of the time of writing them.
 * 1 if that file is still as read (it is open since; an editor may
 * have written into it in place).
 */
static int
text_source_intact(const struct mapsrc *src)
{
	struct stat	sb;

	return src->hastextfd && fstat(src->textfd, &sb) == 0 &&
	    (size_t)sb.st_size == src->textlen &&
	    sb.st_mtim.tv_sec == src->textmtime.tv_sec &&
	    sb.st_mtim.tv_nsec == src->textmtime.tv_nsec;
}

/*
 * 1 if line i is as read, its text where it was read to, followed in
 * the file by a newline.
 */
static int
line_original(const struct mapsrc *src, size_t i)
{
	const struct mapsrc_line *l = &src->lines[i];

	return l->lineno > 0 && l->text >= src->textbuf &&
	    l->text < src->textbuf + src->textlen && l->text != src->texttail;
}

/*
 * Copies the run of original lines from line i that follow one another
 * in the file; the line after the run, or (size_t)-1.
 */
static size_t
text_copy_run(struct mapsrc *src, size_t i, int fd)
{
	const struct mapsrc_line *last;
	loff_t			 off;
	size_t			 j, len;
	ssize_t			 n;

	for (j = i + 1; j < src->nlines && src->lines[j].lineno ==
	    src->lines[j - 1].lineno + 1 && line_original(src, j); j++)
		;
	last = &src->lines[j - 1];
	off = src->lines[i].text - src->textbuf;
	len = last->text + strlen(last->text) + 1 - src->lines[i].text;
	while (len > 0) {
		n = copy_file_range(src->textfd, &off, fd, NULL, len, 0);
		if (n == -1 && (errno == EXDEV || errno == EINVAL ||
		    errno == ENOSYS || errno == EOPNOTSUPP) &&
		    off == src->lines[i].text - src->textbuf)
			return text_writev_run(src, i, fd, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return (size_t)-1;
		}
		len -= n;
	}
	return j;
}

/*
 * Writes lines from line i by writev(2): up to the next original line
 * if copy, or up to TEXT_IOV / 2 lines; the line after, or (size_t)-1.
 */
static size_t
text_writev_run(struct mapsrc *src, size_t i, int fd, int copy)
{
	struct iovec	 iov[TEXT_IOV];
	size_t		 n;

	for (n = 0; n < TEXT_IOV && i < src->nlines; i++) {
		if (copy && n > 0 && line_original(src, i))
			break;
		iov[n].iov_base = src->lines[i].text;
		iov[n++].iov_len = strlen(src->lines[i].text);
		iov[n].iov_base = "\n";
		iov[n++].iov_len = 1;
	}
	return writev_all(fd, iov, n) == -1 ? (size_t)-1 : i;
}

/* writev(2) until all of iov is written; 0 or -1. */
static int
writev_all(int fd, struct iovec *iov, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = writev(fd, iov, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (; n > 0 && (size_t)w >= iov->iov_len; iov++, n--)
			w -= iov->iov_len;
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= w;
		}
	}
	return 0;
}

/* fsyncs the text file written by text_write; 0 or -1 (warn(3) done). */
static int
text_sync(const char *path, const char *tmp)
{
	int	fd, saved;

	if ((fd = open(tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 ||
	    fsync(fd) == -1) {
		saved = errno;
		if (fd != -1)
			close(fd);
		errno = saved;
		warn("%s", path);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Puts the entries of src into a builder: all of them (a new table),
 * or only the keys changed since it was read (a copy of its .db).
 */
static int
db_fill(struct mapsrc *src, struct map_builder *b, int incremental)
{
	struct mapsrc_line	*l;
	size_t			 i;

	if (incremental) {
		for (i = 0; i < src->nchanged; i++) {
			l = mapsrc_find(src, src->changed[i]);
			if (l != NULL && map_build_set(b, l->key,
			    l->value) == -1)
				return -1;
			if (l == NULL && map_build_del(b,
			    src->changed[i]) == -1)
				return -1;
		}
		return 0;
	}
	for (i = 0; i < src->nlines; i++) {
		l = &src->lines[i];
		/* A duplicate key was reported when read; the first wins. */
		if (l->key != NULL && map_build_put(b, l->key, l->value) == -1)
			return -1;
	}
	return 0;
}

/*
 * Builds the new .db of src, ready to be renamed; the builder, or NULL
 * (warn(3) done, nothing left behind).
 */
static struct map_builder *
db_write(struct mapsrc *src, const char *dbpath, int text, mode_t mode,
    gid_t gid, const struct timespec *mtime)
{
	struct map_builder	*b;
	int			 incremental;

	/* Only a writer of the text knows which keys changed. */
	incremental = text && src->dbmatch && (src->deferred != NULL ||
	    (src->nkeys >= INCREMENTAL_MIN_KEYS &&
	    src->nchanged <= src->nkeys / INCREMENTAL_MAX_SHARE));
	/* A full build puts every line: those of a file left unread too. */
	if (!incremental && mapsrc_read_all(src) == -1)
		return NULL;
	if (incremental)
		b = map_build_begin_copy(dbpath, dbpath);
	else
		b = map_build_begin_hint(dbpath, src->nkeys);
	if (b == NULL) {
		warn("%s", dbpath);
		return NULL;
	}
	map_build_mode(b, mode, gid);
	map_build_mtime(b, mtime);
	if (db_fill(src, b, incremental) == -1 || map_build_ready(b) == -1) {
		warn("%s", dbpath);
		map_build_abort(b);
		return NULL;
	}
	return b;
}

/*
 * Keeps a hard link of path aside, for undo_restore: its name in undo,
 * or "" if there is no path or it cannot be linked (a file of another
 * user under fs.protected_hardlinks); in that case only it will not be
 * put back.  1 if path exists, else 0.
 */
static int
undo_keep(const char *path, char *undo, size_t len)
{
	int	 tries;

	for (tries = 0; tries < 10; tries++) {
		if (file_sibling_name(path, "undo", undo, len) == -1)
			break;
		if (link(path, undo) == 0)
			return 1;
		if (errno != EEXIST)
			break;
	}
	undo[0] = '\0';
	return access(path, F_OK) == 0 || errno != ENOENT;
}

/*
 * Puts back the file undo_keep kept, or removes path if there was
 * none; the link is gone after.
 */
static void
undo_restore(const char *path, char *undo, int existed)
{
	if (undo[0] != '\0') {
		if (rename(undo, path) == -1)
			warn("%s: cannot put the old file back", path);
		/* Still there if path was that file already. */
		unlink(undo);
	} else if (!existed && unlink(path) == -1 && errno != ENOENT)
		warn("%s: cannot remove the new file", path);
	undo[0] = '\0';
}

/*
 * Renames the new .db of src, then its new text, into place, keeping
 * the old ones aside first.  0 or -1 (warn(3) done; pp->done says
 * what is to be undone).
 */
static int
commit_one(struct mapsrc *src, struct pending *pp)
{
	char	dbpath[PATH_MAX];

	snprintf(dbpath, sizeof(dbpath), "%s.db", src->path);
	pp->hadb = undo_keep(dbpath, pp->undodb, sizeof(pp->undodb));
	if (pp->tmp[0] != '\0')
		pp->hadtext = undo_keep(src->path, pp->undotext,
		    sizeof(pp->undotext));
	/* A failed commit may have renamed before its fsync failed. */
	pp->done = 1;
	if (map_build_commit(pp->db) == -1) {
		pp->db = NULL;
		warn("%s", dbpath);
		return -1;
	}
	pp->db = NULL;
	if (pp->tmp[0] == '\0')
		return 0;
	if (rename(pp->tmp, src->path) == -1) {
		warn("%s", src->path);
		return -1;
	}
	pp->tmp[0] = '\0';
	pp->done = 2;
	return 0;
}

/*
 * 1 if name is one file_sibling_name gives a writer's temporary files
 * and the files it keeps aside (".users.db.1a2b3c4d",
 * ".users.undo.1a2b3c4d"): only a writer that crashed leaves one.
 */
static int
leftover_name(const char *name)
{
	size_t	 i, n;

	if (*name++ != '.')
		return 0;
	for (i = 0; i < MAP_COUNT; i++) {
		n = strlen(mapsrc_names[i]);
		if (strncmp(name, mapsrc_names[i], n) == 0 && name[n] == '.')
			break;
	}
	if (i == MAP_COUNT)
		return 0;
	name += n;
	if (strncmp(name, ".db.", 4) == 0)
		name += 3;
	if (strncmp(name, ".undo.", 6) == 0)
		name += 5;
	if (*name++ != '.' || strlen(name) != 8)
		return 0;
	return strspn(name, "0123456789abcdef") == 8;
}

/*
 * Removes what writers that crashed left in mapdir.  Under the lock no
 * writer is at work, and whatever a crash left, each map is its old or
 * its new file (see mailmaps(5)); the leftovers are only disk space.
 */
static void
leftover_sweep(const char *mapdir)
{
	DIR		*dir;
	struct dirent	*e;

	if ((dir = opendir(mapdir)) == NULL)
		return;
	while ((e = readdir(dir)) != NULL)
		if (leftover_name(e->d_name) &&
		    unlinkat(dirfd(dir), e->d_name, 0) == -1 && errno != ENOENT)
			warn("%s/%s", mapdir, e->d_name);
	closedir(dir);
}

/*
 * Writes the .db (and, if text, the text file) of each map in which,
 * all of them ready before any rename, then renames each .db and its
 * text file into place.  If one fails, the maps already renamed get
 * their old files back, so that -1 means that nothing changed.
 */
static int
mapset_write(struct mapset *ms, int which, gid_t usersgid, int text)
{
	struct pending	 p[MAP_COUNT];
	struct mapsrc	*src;
	struct timespec	 now, dbmtime, mtime[MAP_COUNT];
	char		 dbpath[PATH_MAX];
	mode_t		 mode;
	gid_t		 gid;
	int		 kind, ret, renamed;

	memset(p, 0, sizeof(p));
	/*
	 * Any map: a lookup in one that could not be read found nothing,
	 * whatever it holds, and a change may rest on that answer.
	 */
	for (kind = 0; kind < MAP_COUNT; kind++)
		if (ms->src[kind].unreadable) {
			warnx("%s could not be read: no map changed",
			    ms->src[kind].path);
			return -1;
		}
	/* An optional map: without its text there is no .db to make. */
	if (!ms->src[MAP_TLS_POLICY].exists)
		which &= ~(1 << MAP_TLS_POLICY);
	if (ms->lockfd != -1)
		leftover_sweep(ms->mapdir);
	clock_gettime(CLOCK_REALTIME, &now);
	ret = renamed = 0;
	for (kind = 0; kind < MAP_COUNT && ret == 0; kind++) {
		if ((which & (1 << kind)) == 0)
			continue;
		src = &ms->src[kind];
		mode = kind == MAP_USERS ? 0640 : 0644;
		gid = kind == MAP_USERS && group_allowed(usersgid) ?
		    usersgid : (gid_t)-1;
		if (text)
			mtime[kind] = text_mtime(src, &now);
		else
			mtime[kind] = src->exists ? src->mtime : now;
		snprintf(dbpath, sizeof(dbpath), "%s.db", src->path);
		if (text && text_write(src, mode, gid, &mtime[kind],
		    p[kind].tmp, sizeof(p[kind].tmp)) == -1) {
			ret = -1;
			continue;
		}
		/*
		 * The .db carries the mtime of its text (see mapsrc_read),
		 * but not for a text with errors: that one is read in full
		 * again next time.
		 */
		dbmtime = mtime[kind];
		if (src->nerrors > 0)
			dbmtime.tv_nsec = (dbmtime.tv_nsec + 1) % 1000000000;
		if ((p[kind].db = db_write(src, dbpath, text, mode, gid,
		    &dbmtime)) == NULL)
			ret = -1;
		else if (text && text_sync(src->path, p[kind].tmp) == -1)
			ret = -1;
	}
	for (kind = 0; kind < MAP_COUNT && ret == 0; kind++)
		if ((which & (1 << kind)) != 0 &&
		    commit_one(&ms->src[kind], &p[kind]) == -1)
			ret = -1;
	for (kind = 0; kind < MAP_COUNT; kind++) {
		src = &ms->src[kind];
		snprintf(dbpath, sizeof(dbpath), "%s.db", src->path);
		if (ret == -1 && p[kind].done == 2)
			undo_restore(src->path, p[kind].undotext,
			    p[kind].hadtext);
		if (ret == -1 && p[kind].done >= 1)
			undo_restore(dbpath, p[kind].undodb, p[kind].hadb);
		renamed = renamed || p[kind].done > 0;
		if (p[kind].undodb[0] != '\0')
			unlink(p[kind].undodb);
		if (p[kind].undotext[0] != '\0')
			unlink(p[kind].undotext);
		map_build_abort(p[kind].db);
		if (p[kind].tmp[0] != '\0')
			unlink(p[kind].tmp);
		if (ret == 0 && (which & (1 << kind)) != 0) {
			src->mtime = mtime[kind];
			src->exists = src->exists || text;
			src->dbmatch = src->nerrors == 0;
			src->nchanged = 0;
		}
	}
	/*
	 * map_build_commit made the last .db durable, but not the text
	 * renamed after it, nor the files put back.
	 */
	if (renamed && file_sync_dir(ms->mapdir) == -1) {
		warn("%s", ms->mapdir);
		ret = -1;
	}
	return ret;
}


int
mapset_install(struct mapset *ms, int which, gid_t usersgid)
{
	return mapset_write(ms, which, usersgid, 1);
}

int
mapset_compile(struct mapset *ms, int which, gid_t usersgid)
{
	return mapset_write(ms, which, usersgid, 0);
}
