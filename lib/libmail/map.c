/*
 * map.c: the Berkeley DB hash maps (mailmaps(5)), read side and build
 * side.
 *
 * The files are DB_HASH databases of the Berkeley DB 5.3 native API, the
 * format of Postfix's hash: tables: every key and every value is stored
 * with its trailing NUL byte and keys are lower case, so that
 * "postmap -q KEY hash:FILE" answers from our files and we read files
 * that postmap wrote.
 *
 * A map is never changed in place.  A writer builds a complete new
 * file next to the old one and renames it over the old one, so a
 * reader holds either the old or the new file, never a half-written
 * one, and a crash leaves one of the two.  Readers compare the file
 * name's inode, device, size and mtime with those of the file they
 * have open, and reopen when the name points elsewhere.  The inode
 * alone tells a new file: the one a reader holds open keeps its inode
 * number from being reused.  So the mtime of a new .db need not grow
 * (it is that of its text, see mapsrc.c, which newmaps after an edit
 * by hand may set back), and Postfix, which reopens a table whose open
 * file has no name left, sees every new one too.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmail.h"

/*
 * A reader's cache holds as much of the map as it can: with the
 * default (256 KB) every lookup in a map of a hundred thousand entries
 * is a pread(2).  Berkeley DB allocates the cache as pages are read,
 * so a big cache costs only the part of the map actually used.  (Hash
 * files are never mmap(2)ed by Berkeley DB: their pages pass through a
 * page-in function.)
 */
#define MAP_READ_CACHE_MIN	(256 * 1024)
#define MAP_READ_CACHE_MAX	(1024 * 1024 * 1024)
/*
 * A builder's cache holds the whole table while it is built: pages
 * evicted from a too small cache are written out and read back again
 * at every split of a bucket, which is what makes big builds slow.
 */
#define MAP_BUILD_CACHE_MIN	(4 * 1024 * 1024)
#define MAP_BUILD_CACHE_MAX	(1024U * 1024 * 1024)
#define MAP_GIGABYTE		(1024 * 1024 * 1024)
/*
 * The page size stays Berkeley DB's default, the file system's block
 * (4 KB): a lookup searches one bucket's page, and with 16 KB pages
 * lookups in a map of a million entries were a third slower.
 */

struct map {
	char		 path[PATH_MAX];
	DB		*db;
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtim;
};

struct map_builder {
	char		 path[PATH_MAX];
	char		 tmp[PATH_MAX];
	DB		*db;
	int		 created;	/* tmp exists and is ours to unlink */
	int		 prepared;	/* closed and fsynced, not renamed */
	mode_t		 mode;
	gid_t		 gid;
	struct timespec	 mtime;		/* UTIME_OMIT: leave it */
};

static int	 map_errno(int);
static DB	*map_db_open(const char *, struct stat *);
static void	 map_db_close(DB *);
static int	 map_key_fold(const char *, char *, size_t);
static int	 map_same_file(const struct map *, const struct stat *);
static void	 map_set_stat(struct map *, const struct stat *);
static int	 map_fsync_dir(const char *);
static int	 map_copy_fd(int, int, off_t);
static int	 map_build_prepare(struct map_builder *);
static int	 map_build_store(struct map_builder *, const char *, const char *,
	    u_int32_t);

/* Berkeley DB returns errno values or its own negative codes. */
static int
map_errno(int ret)
{
	if (ret > 0)
		return ret;
	return EIO;
}

/*
 * Opens path read-only and describes, in sb, the file actually opened
 * (through the descriptor, so that a rename between a stat(2) and the
 * open cannot mismatch them).
 */
static DB *
map_db_open(const char *path, struct stat *sb)
{
	DB	*db;
	size_t	 cache;
	int	 ret, fd;

	cache = MAP_READ_CACHE_MIN;
	if (stat(path, sb) == 0 && sb->st_size > 0)
		cache += sb->st_size < MAP_READ_CACHE_MAX ?
		    (size_t)sb->st_size : MAP_READ_CACHE_MAX;
	if ((ret = db_create(&db, NULL, 0)) != 0) {
		errno = map_errno(ret);
		return NULL;
	}
	if ((ret = db->set_cachesize(db, cache / MAP_GIGABYTE,
	    cache % MAP_GIGABYTE, 1)) != 0 ||
	    (ret = db->open(db, NULL, path, NULL, DB_HASH, DB_RDONLY,
	    0)) != 0 || (ret = db->fd(db, &fd)) != 0) {
		db->close(db, 0);
		errno = map_errno(ret);
		return NULL;
	}
	if (fstat(fd, sb) == -1) {
		ret = errno;
		db->close(db, 0);
		errno = ret;
		return NULL;
	}
	return db;
}

static void
map_db_close(DB *db)
{
	db->close(db, 0);
}

static void
map_set_stat(struct map *m, const struct stat *sb)
{
	m->dev = sb->st_dev;
	m->ino = sb->st_ino;
	m->size = sb->st_size;
	m->mtim = sb->st_mtim;
}

static int
map_same_file(const struct map *m, const struct stat *sb)
{
	return m->dev == sb->st_dev && m->ino == sb->st_ino &&
	    m->size == sb->st_size && m->mtim.tv_sec == sb->st_mtim.tv_sec &&
	    m->mtim.tv_nsec == sb->st_mtim.tv_nsec;
}

struct map *
map_open(const char *mapdir, const char *name)
{
	struct map	*m;
	struct stat	 sb;
	int		 n, saved;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	n = snprintf(m->path, sizeof(m->path), "%s/%s.db", mapdir, name);
	if (n < 0 || (size_t)n >= sizeof(m->path)) {
		free(m);
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((m->db = map_db_open(m->path, &sb)) == NULL) {
		saved = errno;
		free(m);
		errno = saved;
		return NULL;
	}
	map_set_stat(m, &sb);
	return m;
}

/*
 * Copies key with its NUL into buf, folded to lower case; the length
 * with the NUL, or 0 if it does not fit (no stored key is that long).
 */
static int
map_key_fold(const char *key, char *buf, size_t buflen)
{
	size_t	i;

	for (i = 0; key[i] != '\0'; i++) {
		if (i + 1 >= buflen)
			return 0;
		buf[i] = tolower((unsigned char)key[i]);
	}
	buf[i] = '\0';
	return i + 1;
}

int
map_lookup(struct map *m, const char *key, char *val, size_t vallen)
{
	char	 kbuf[MAP_KEY_MAX + 1];
	DBT	 k, v;
	int	 klen, ret;

	if ((klen = map_key_fold(key, kbuf, sizeof(kbuf))) == 0)
		return 0;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = kbuf;
	k.size = klen;
	v.data = val;
	v.ulen = vallen > UINT32_MAX ? UINT32_MAX : vallen;
	v.flags = DB_DBT_USERMEM;
	ret = m->db->get(m->db, NULL, &k, &v, 0);
	if (ret == DB_NOTFOUND)
		return 0;
	if (ret == DB_BUFFER_SMALL) {
		errno = EMSGSIZE;
		return -1;
	}
	if (ret != 0) {
		errno = map_errno(ret);
		return -1;
	}
	/* A value without its NUL was not written by postmap or by us. */
	if (v.size == 0 || val[v.size - 1] != '\0' ||
	    memchr(val, '\0', v.size - 1) != NULL) {
		errno = EINVAL;
		return -1;
	}
	return 1;
}

int
map_refresh(struct map *m)
{
	struct stat	 sb;
	DB		*db;

	if (stat(m->path, &sb) == -1)
		return -1;
	if (map_same_file(m, &sb))
		return 0;
	if ((db = map_db_open(m->path, &sb)) == NULL)
		return -1;
	map_db_close(m->db);
	m->db = db;
	map_set_stat(m, &sb);
	return 0;
}

void
map_close(struct map *m)
{
	if (m == NULL)
		return;
	map_db_close(m->db);
	free(m);
}

static int
map_fsync_dir(const char *path)
{
	char	 dir[PATH_MAX];
	char	*slash;

	if (strlcpy(dir, path, sizeof(dir)) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((slash = strrchr(dir, '/')) == NULL)
		strlcpy(dir, ".", sizeof(dir));
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	return file_sync_dir(dir);
}

struct map_builder *
map_build_begin(const char *dbpath)
{
	return map_build_begin_hint(dbpath, 0);
}

struct map_builder *
map_build_begin_hint(const char *dbpath, size_t nkeys)
{
	struct map_builder	*b;
	size_t			 cache;
	int			 ret, tries;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->mode = 0644;
	b->gid = (gid_t)-1;
	b->mtime.tv_nsec = UTIME_OMIT;
	if (strlcpy(b->path, dbpath, sizeof(b->path)) >= sizeof(b->path)) {
		free(b);
		errno = ENAMETOOLONG;
		return NULL;
	}
	/* About 400 bytes a pair once the hash pages are filled. */
	cache = nkeys > MAP_BUILD_CACHE_MAX / 400 ? MAP_BUILD_CACHE_MAX :
	    nkeys * 400;
	if (cache < MAP_BUILD_CACHE_MIN)
		cache = MAP_BUILD_CACHE_MIN;
	for (tries = 0; tries < 10; tries++) {
		if (file_sibling_name(b->path, NULL, b->tmp, sizeof(b->tmp)) ==
		    -1)
			break;
		if ((ret = db_create(&b->db, NULL, 0)) != 0) {
			errno = map_errno(ret);
			break;
		}
		if ((ret = b->db->set_cachesize(b->db, 0, cache, 1)) != 0 ||
		    (nkeys > 0 && nkeys <= UINT32_MAX &&
		    (ret = b->db->set_h_nelem(b->db, nkeys)) != 0)) {
			b->db->close(b->db, 0);
			errno = map_errno(ret);
			break;
		}
		/* DB_EXCL: O_EXCL, never someone else's file or link. */
		ret = b->db->open(b->db, NULL, b->tmp, NULL, DB_HASH,
		    DB_CREATE | DB_EXCL, 0600);
		if (ret == 0) {
			b->created = 1;
			return b;
		}
		b->db->close(b->db, 0);
		if (ret != EEXIST) {
			errno = map_errno(ret);
			break;
		}
	}
	ret = errno;
	free(b);
	errno = ret;
	return NULL;
}

int
map_build_mode(struct map_builder *b, mode_t mode, gid_t gid)
{
	b->mode = mode;
	b->gid = gid;
	return 0;
}

/*
 * Copies a file of size bytes, holes and all.  A hash table reserves
 * its bucket pages a doubling at a time, and those not used yet are
 * holes of the file: on 100,000 users, a quarter of the .db.  A plain
 * copy would write them out as zeros, which the disk then has to
 * store, sync and free again on every change.
 */
static int
map_copy_fd(int from, int to, off_t size)
{
	off_t	 data, hole;

	for (data = 0; data < size; data = hole) {
		if ((data = lseek(from, data, SEEK_DATA)) == -1) {
			if (errno == ENXIO)
				break;
			if (errno != EINVAL)
				return -1;
			/* No SEEK_DATA here: all of it is data. */
			data = 0;
			hole = size;
		} else if ((hole = lseek(from, data, SEEK_HOLE)) == -1)
			return -1;
		if (hole > size)
			hole = size;
		if (file_copy_range(from, to, data, hole - data) == -1)
			return -1;
	}
	return ftruncate(to, size);
}

/*
 * Stores key and val with their NULs, the key folded; flags are those
 * of DB->put.  1 if DB_NOOVERWRITE found the key there, 0, or -1.
 */
static int
map_build_store(struct map_builder *b, const char *key, const char *val,
    u_int32_t flags)
{
	char	 kbuf[MAP_KEY_MAX + 1];
	DBT	 k, v;
	int	 klen, ret;

	if ((klen = map_key_fold(key, kbuf, sizeof(kbuf))) == 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (klen == 1 || *val == '\0') {
		errno = EINVAL;
		return -1;
	}
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = kbuf;
	k.size = klen;
	v.data = (void *)val;
	v.size = strlen(val) + 1;
	ret = b->db->put(b->db, NULL, &k, &v, flags);
	if (ret == DB_KEYEXIST)
		return 1;
	if (ret != 0) {
		errno = map_errno(ret);
		return -1;
	}
	return 0;
}

int
map_build_put(struct map_builder *b, const char *key, const char *val)
{
	return map_build_store(b, key, val, DB_NOOVERWRITE);
}

int
map_build_del(struct map_builder *b, const char *key)
{
	char	 kbuf[MAP_KEY_MAX + 1];
	DBT	 k;
	int	 klen, ret;

	if ((klen = map_key_fold(key, kbuf, sizeof(kbuf))) == 0)
		return 0;
	memset(&k, 0, sizeof(k));
	k.data = kbuf;
	k.size = klen;
	ret = b->db->del(b->db, NULL, &k, 0);
	if (ret == DB_NOTFOUND)
		return 0;
	if (ret != 0) {
		errno = map_errno(ret);
		return -1;
	}
	return 1;
}

int
map_build_set(struct map_builder *b, const char *key, const char *val)
{
	return map_build_store(b, key, val, 0);
}

/*
 * Opens a builder on a copy of an existing .db, for a writer that
 * changes a few keys of a big map (map_build_set, map_build_del): the
 * copy is made with copy_file_range(2), which costs far less than
 * inserting every pair again.
 */
struct map_builder *
map_build_begin_copy(const char *dbpath, const char *frompath)
{
	struct map_builder	*b;
	struct stat		 sb;
	int			 from, to, ret, tries;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->mode = 0644;
	b->gid = (gid_t)-1;
	b->mtime.tv_nsec = UTIME_OMIT;
	to = -1;
	if ((from = open(frompath, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(from, &sb) == -1)
		goto fail;
	if (strlcpy(b->path, dbpath, sizeof(b->path)) >= sizeof(b->path)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	for (tries = 0; tries < 10; tries++) {
		if (file_sibling_name(b->path, NULL, b->tmp, sizeof(b->tmp)) ==
		    -1)
			goto fail;
		to = open(b->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
		if (to != -1 || errno != EEXIST)
			break;
	}
	if (to == -1)
		goto fail;
	b->created = 1;
	/* The write-back starts now; map_build_ready waits for it. */
	if (map_copy_fd(from, to, sb.st_size) == -1 ||
	    sync_file_range(to, 0, 0, SYNC_FILE_RANGE_WRITE) == -1 ||
	    close(to) == -1) {
		to = -1;
		goto fail;
	}
	to = -1;
	close(from);
	from = -1;
	if ((ret = db_create(&b->db, NULL, 0)) != 0) {
		errno = map_errno(ret);
		goto fail;
	}
	if ((ret = b->db->set_cachesize(b->db, 0, MAP_BUILD_CACHE_MIN,
	    1)) != 0 || (ret = b->db->open(b->db, NULL, b->tmp, NULL,
	    DB_HASH, 0, 0)) != 0) {
		b->db->close(b->db, 0);
		b->db = NULL;
		errno = map_errno(ret);
		goto fail;
	}
	return b;
fail:
	ret = errno;
	if (from != -1)
		close(from);
	if (to != -1)
		close(to);
	if (b->created)
		unlink(b->tmp);
	free(b);
	errno = ret;
	return NULL;
}

/*
 * Everything of a commit but the rename: the table written out and
 * closed, the file given its mode, group and mtime, and fsynced, so
 * that a writer of several maps can make all of them ready before it
 * renames any.
 */
static int
map_build_prepare(struct map_builder *b)
{
	struct timespec	 ts[2];
	int		 ret, fd, saved;

	if (b->prepared)
		return 0;
	ret = b->db->sync(b->db, 0);
	if (ret == 0)
		ret = b->db->close(b->db, 0);
	else
		b->db->close(b->db, 0);
	b->db = NULL;
	if (ret != 0) {
		errno = map_errno(ret);
		return -1;
	}
	if ((fd = open(b->tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = b->mtime;
	if ((b->gid != (gid_t)-1 && fchown(fd, (uid_t)-1, b->gid) == -1) ||
	    fchmod(fd, b->mode) == -1 || futimens(fd, ts) == -1 ||
	    fsync(fd) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	b->prepared = 1;
	return 0;
}

int
map_build_ready(struct map_builder *b)
{
	int	saved;

	if (map_build_prepare(b) == 0)
		return 0;
	saved = errno;
	if (b->db != NULL)
		b->db->close(b->db, DB_NOSYNC);
	b->db = NULL;
	errno = saved;
	return -1;
}

int
map_build_commit(struct map_builder *b)
{
	int	ret, saved;

	if (map_build_prepare(b) == -1 || rename(b->tmp, b->path) == -1) {
		map_build_abort(b);
		return -1;
	}
	b->created = 0;
	ret = map_fsync_dir(b->path);
	saved = errno;
	free(b);
	errno = saved;
	return ret;
}

int
map_build_mtime(struct map_builder *b, const struct timespec *ts)
{
	b->mtime = *ts;
	return 0;
}

void
map_build_abort(struct map_builder *b)
{
	int	saved;

	if (b == NULL)
		return;
	saved = errno;
	if (b->db != NULL)
		b->db->close(b->db, DB_NOSYNC);
	if (b->created)
		unlink(b->tmp);
	free(b);
	errno = saved;
}
