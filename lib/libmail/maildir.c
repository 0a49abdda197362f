/*
 * Maildirs: where a mailbox lives, creating one, measuring one (and
 * reading its maildirsize, for deliver and smtpd), and retiring one
 * into the attic.
 *
 * Directories are created and entered one component at a time with
 * openat(O_NOFOLLOW), and owners set with fchown on the open
 * descriptor: when root creates a Maildir under a tree the mail user
 * can write, a symbolic link swapped in mid-way must not send the
 * chown or the mkdir elsewhere.  Removing a tree and moving one into
 * the attic work by descriptor for the same reason: the mail user
 * must not be able to point root's rename or unlink elsewhere.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
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

/* Deeper than any Maildir++ tree: a deeper one is refused, not removed. */
#define MAILDIR_DEPTH_MAX	64

static const char *const subdirs[] = { "tmp", "new", "cur" };

static int	 part_safe(const char *);
static int	 append(char *, size_t, size_t *, const char *);
static void	 close_saving_errno(int);
static int	 link_trusted(int, const char *);
static int	 enter_at(int, const char *);
static int	 mkdir_at(int, const char *, int *, uid_t, gid_t);
static int	 open_parent(const char *, char *, size_t);
static int	 remove_at(int, const char *, dev_t, int);
static int	 walk(const char *, int, int, uid_t, gid_t, char *, size_t);
static int	 create_tree(const char *, int, int, uid_t, gid_t, char *,
		    size_t);
static int	 scan_dir(int, const char *, uint64_t *, uint64_t *);
static int	 size_from_name(const char *, uint64_t *);
static void	 sum_add(uint64_t *, uint64_t);
static int	 usage_folder(int, uint64_t *, uint64_t *);
static int	 size_number(char **, int, uint64_t *, int *);
static int	 size_limits(char *, uint64_t);
static int	 size_usage(char *, uint64_t *);

/* A path component from an address: no '/', no leading '.', not empty. */
static int
part_safe(const char *s)
{
	return s[0] != '\0' && s[0] != '.' && strchr(s, '/') == NULL;
}

static int
append(char *buf, size_t buflen, size_t *len, const char *s)
{
	size_t	n = strlen(s);

	if (*len + n >= buflen)
		return -1;
	memcpy(buf + *len, s, n + 1);
	*len += n;
	return 0;
}

int
maildir_path(const char *tmpl, const struct mailaddr *addr, char *buf,
    size_t buflen)
{
	char	 local[sizeof(addr->local)], one[2] = { 0, 0 };
	const char *p;
	size_t	 len = 0;

	if (buflen == 0 || tmpl[0] != '/')
		return -1;
	strlcpy(local, addr->local, sizeof(local));
	/* The users map and Dovecot fold logins to lower case. */
	addr_lower(local);
	if (!part_safe(local) || !part_safe(addr->domain))
		return -1;
	buf[0] = '\0';
	for (p = tmpl; *p != '\0'; p++) {
		if (*p != '%') {
			one[0] = *p;
			if (append(buf, buflen, &len, one) == -1)
				return -1;
			continue;
		}
		p++;
		if (*p == 'd' && append(buf, buflen, &len, addr->domain) == 0)
			continue;
		if (*p == 'u' && append(buf, buflen, &len, local) == 0)
			continue;
		return -1;
	}
	return 0;
}

static void
close_saving_errno(int fd)
{
	int	save = errno;

	close(fd);
	errno = save;
}

/*
 * A symbolic link among the existing parents (/var/mail -> /data/mail)
 * is followed only if root or we made it: never one the mail user
 * could have planted for root to follow.
 */
static int
link_trusted(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	return S_ISLNK(st.st_mode) && (st.st_uid == 0 || st.st_uid == geteuid());
}

/* Opens the directory name under dirfd, through a trusted link only. */
static int
enter_at(int dirfd, const char *name)
{
	int	fd;

	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1 && (errno == ELOOP || errno == ENOTDIR) &&
	    link_trusted(dirfd, name))
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd;
}

/*
 * Creates (or enters) name under the directory dirfd; *created tells
 * whether it is new.  New directories get mode 0700 and, when we are
 * root, the owner uid:gid.  Returns the open directory or -1.
 */
static int
mkdir_at(int dirfd, const char *name, int *created, uid_t uid, gid_t gid)
{
	int	fd;

	*created = 0;
	if (mkdirat(dirfd, name, 0700) == 0)
		*created = 1;
	else if (errno != EEXIST)
		return -1;
	if (*created)
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	else
		fd = enter_at(dirfd, name);
	if (fd == -1)
		return -1;
	if (*created && (fchmod(fd, 0700) == -1 ||
	    (geteuid() == 0 && fchown(fd, uid, gid) == -1))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Opens dir, walking down from the root one component at a time: no
 * "..", and no symbolic link but a trusted one.  With create, missing
 * directories are made (see mkdir_at), top gets the highest one made
 * ("" if none) and, with excl, dir itself must be new.  The open
 * directory, or -1.
 */
static int
walk(const char *dir, int create, int excl, uid_t uid, gid_t gid, char *top,
    size_t toplen)
{
	char	 path[PATH_MAX], *comp, *next;
	int	 fd, nfd, created = 0;

	if (top != NULL && toplen > 0)
		top[0] = '\0';
	if (dir[0] != '/' || strlcpy(path, dir, sizeof(path)) >= sizeof(path)) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	for (comp = path + 1; comp != NULL && *comp != '\0'; comp = next) {
		if ((next = strchr(comp, '/')) != NULL)
			*next++ = '\0';
		if (*comp == '\0')
			continue;
		if (strcmp(comp, "..") == 0) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
		nfd = create ? mkdir_at(fd, comp, &created, uid, gid) :
		    enter_at(fd, comp);
		if (nfd != -1 && created && top != NULL && top[0] == '\0')
			snprintf(top, toplen, "%.*s", (int)(comp - path +
			    strlen(comp)), dir);
		/* A new directory lasts only once its parent is on disk. */
		if (nfd != -1 && created && fsync(fd) == -1) {
			close_saving_errno(nfd);
			nfd = -1;
		}
		close_saving_errno(fd);
		if ((fd = nfd) == -1)
			return -1;
		if (create && !created && excl &&
		    (next == NULL || *next == '\0')) {
			close(fd);
			errno = EEXIST;
			return -1;
		}
	}
	return fd;
}

/*
 * Walks dir from the root, creating what is missing, then (with
 * maildir) its tmp, new and cur; with excl, dir itself must not exist
 * yet.  top gets the highest directory created ("" if none), for
 * maildir_remove on a rollback.
 */
static int
create_tree(const char *dir, int maildir, int excl, uid_t uid, gid_t gid,
    char *top, size_t toplen)
{
	int	 fd, nfd, created, i;

	if ((fd = walk(dir, 1, excl, uid, gid, top, toplen)) == -1)
		return -1;
	for (i = 0; maildir && i < 3; i++) {
		if ((nfd = mkdir_at(fd, subdirs[i], &created, uid, gid)) == -1) {
			close_saving_errno(fd);
			return -1;
		}
		close(nfd);
	}
	if (fsync(fd) == -1) {
		close_saving_errno(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
maildir_create(const char *dir, uid_t uid, gid_t gid)
{
	return create_tree(dir, 1, 0, uid, gid, NULL, 0);
}

int
maildir_create_new(const char *dir, uid_t uid, gid_t gid, char *top,
    size_t toplen)
{
	int	save;

	if (create_tree(dir, 1, 1, uid, gid, top, toplen) == 0)
		return 0;
	save = errno;
	/* Leave nothing half made behind, and never touch what existed. */
	if (save != EEXIST && top != NULL && top[0] != '\0')
		maildir_remove(top);
	if (top != NULL && toplen > 0)
		top[0] = '\0';
	errno = save;
	return -1;
}

/*
 * Opens (with walk) the directory that holds the last component of
 * path; name gets that last component.  The open directory, or -1.
 */
static int
open_parent(const char *path, char *name, size_t namelen)
{
	char	 buf[PATH_MAX], *last;

	if (path[0] != '/' || strlcpy(buf, path, sizeof(buf)) >= sizeof(buf)) {
		errno = EINVAL;
		return -1;
	}
	while ((last = strrchr(buf, '/')) != buf && last[1] == '\0')
		*last = '\0';
	if (last[1] == '\0' || strcmp(last + 1, ".") == 0 ||
	    strcmp(last + 1, "..") == 0 ||
	    strlcpy(name, last + 1, namelen) >= namelen) {
		errno = EINVAL;
		return -1;
	}
	last[1] = '\0';
	return walk(buf, 0, 0, 0, 0, NULL, 0);
}

/*
 * Removes name under dirfd and, for a directory, everything below it,
 * by descriptor: the mail user may swap a directory for a symbolic
 * link while root removes the tree, and a removal by path would then
 * follow it.  A link is removed, never followed; another file system
 * (dev) is not entered.
 */
static int
remove_at(int dirfd, const char *name, dev_t dev, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR	*d;
	int	 fd, save = 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0);
	if (depth >= MAILDIR_DEPTH_MAX || st.st_dev != dev) {
		errno = depth >= MAILDIR_DEPTH_MAX ? ELOOP : EXDEV;
		return -1;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close_saving_errno(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* Gone meanwhile (Dovecot expunged it): that is fine. */
		if (remove_at(fd, de->d_name, dev, depth + 1) == -1 &&
		    errno != ENOENT && save == 0)
			save = errno;
	}
	closedir(d);
	if (save == 0)
		return unlinkat(dirfd, name, AT_REMOVEDIR);
	errno = save;
	return -1;
}

int
maildir_remove(const char *dir)
{
	char	 name[NAME_MAX + 1];
	struct stat st;
	int	 pfd, rv = -1;

	if ((pfd = open_parent(dir, name, sizeof(name))) == -1)
		return -1;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		rv = remove_at(pfd, name, st.st_dev, 0);
	close_saving_errno(pfd);
	return rv;
}

int
maildir_attic_name(const char *attic, const char *addr, time_t when,
    char *buf, size_t buflen)
{
	struct tm tm;
	char	 stamp[32];
	int	 n;

	if (gmtime_r(&when, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm) == 0)
		return -1;
	if (!part_safe(addr))
		return -1;
	n = snprintf(buf, buflen, "%s/%s.%s", attic, stamp, addr);
	return n >= 0 && (size_t)n < buflen ? 0 : -1;
}

int
maildir_attic_move(const char *dir, const char *attic, const char *addr,
    time_t when, uid_t uid, gid_t gid, char *dest, size_t destlen)
{
	char	 from[NAME_MAX + 1], to[NAME_MAX + 1];
	struct stat st;
	int	 fromfd = -1, tofd = -1, rv = -1, saved;

	if (maildir_attic_name(attic, addr, when, dest, destlen) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (create_tree(attic, 0, 0, uid, gid, NULL, 0) == -1)
		return -1;
	/* By descriptor, for the reason remove_at gives. */
	if ((fromfd = open_parent(dir, from, sizeof(from))) == -1 ||
	    (tofd = open_parent(dest, to, sizeof(to))) == -1)
		goto done;
	/* rename(2) would replace an empty directory of that name. */
	if (fstatat(tofd, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		goto done;
	}
	if (errno != ENOENT || renameat(fromfd, from, tofd, to) == -1)
		goto done;
	if (fsync(tofd) == 0 && fsync(fromfd) == 0)
		rv = 0;
	else {
		/*
		 * The caller keeps the mailbox in the maps on a failure:
		 * its Maildir must not wait in the attic to be purged.
		 */
		saved = errno;
		(void)renameat(tofd, to, fromfd, from);
		errno = saved;
	}
done:
	if (fromfd != -1)
		close_saving_errno(fromfd);
	if (tofd != -1)
		close_saving_errno(tofd);
	return rv;
}

/* The size a Maildir file name announces (",S=1234"); 0 if none. */
static int
size_from_name(const char *name, uint64_t *size)
{
	const char *p;
	uint64_t n = 0;

	if ((p = strstr(name, ",S=")) == NULL || !isdigit((unsigned char)p[3]))
		return 0;
	for (p += 3; isdigit((unsigned char)*p); p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return 0;
		n = n * 10 + (*p - '0');
	}
	if (*p != '\0' && *p != ',' && *p != ':')
		return 0;
	*size = n;
	return 1;
}

/*
 * A sum that stops at UINT64_MAX: the sizes come from names anyone
 * with access to the Maildir can choose, and a sum that wrapped would
 * let a full mailbox look empty.
 */
static void
sum_add(uint64_t *sum, uint64_t n)
{
	*sum = n > UINT64_MAX - *sum ? UINT64_MAX : *sum + n;
}

/* Adds the messages of dirfd/name (new or cur) to bytes and count. */
static int
scan_dir(int dirfd, const char *name, uint64_t *bytes, uint64_t *count)
{
	struct dirent *de;
	struct stat st;
	uint64_t size;
	DIR	*d;
	int	 fd;

	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (!size_from_name(de->d_name, &size)) {
			/* Expunged between readdir and stat: not there. */
			if (fstatat(fd, de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == -1)
				continue;
			if (!S_ISREG(st.st_mode))
				continue;
			size = st.st_size;
		}
		sum_add(bytes, size);
		sum_add(count, 1);
	}
	closedir(d);
	return 0;
}

static int
usage_folder(int fd, uint64_t *bytes, uint64_t *count)
{
	if (scan_dir(fd, "new", bytes, count) == -1 ||
	    scan_dir(fd, "cur", bytes, count) == -1)
		return -1;
	return 0;
}

/*
 * Counts new/ and cur/ of the Maildir and of its Maildir++ folders
 * (".Sent", ".Trash", ...), as a Maildir++ quota does.  We always
 * count rather than trust maildirsize: Dovecot rewrites that file only
 * when its quota backend is "maildir", so it may be stale.
 */
int
maildir_usage(const char *dir, uint64_t *bytes, uint64_t *count)
{
	int	 fd, rv;

	*bytes = *count = 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	rv = maildir_usage_fd(fd, bytes, count);
	close_saving_errno(fd);
	return rv;
}

int
maildir_usage_fd(int fd, uint64_t *bytes, uint64_t *count)
{
	struct dirent *de;
	DIR	*d;
	int	 sub, rv = 0;

	*bytes = *count = 0;
	if (usage_folder(fd, bytes, count) == -1)
		return -1;
	if ((sub = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(sub)) == NULL) {
		close_saving_errno(sub);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (sub == -1)
			continue;
		if (usage_folder(sub, bytes, count) == -1)
			rv = -1;
		close(sub);
	}
	closedir(d);
	return rv;
}

/*
 * maildirsize, the Maildir++ quota file, as Dovecot's "maildir" quota
 * backend keeps it: a first line with the limits ("<bytes>S", perhaps
 * ",<messages>C"), then lines "<bytes> <messages>" that add up to the
 * usage, those of deletions negative.  Past 5120 bytes the file is
 * due to be counted again.
 */
#define MAILDIRSIZE_MAX	5120

/*
 * Opened without following a link, and non-blocking: a FIFO there
 * would block the open or the read, and hold the caller for good.
 */
int
maildir_size_open(int dirfd, int flags)
{
	struct stat	 st;
	int		 fd, save;

	fd = openat(dirfd, "maildirsize", flags | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd != -1) {
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			return fd;
		close(fd);
	} else {
		save = errno;
		if (save == ENOENT || fstatat(dirfd, "maildirsize", &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || S_ISREG(st.st_mode)) {
			errno = save;
			return -1;
		}
	}
	errno = EINVAL;
	return -1;
}

/*
 * A number at *p, moved past it: digits only, after a '-' if sign
 * allows one; no blank, no '+', nothing past 64 bits (as strtoull
 * would take, or wrap).  0, or -1 if there is none.
 */
static int
size_number(char **p, int sign, uint64_t *n, int *neg)
{
	char	*s = *p;
	int	 digit;

	*neg = sign && *s == '-';
	if (*neg)
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	for (*n = 0; isdigit((unsigned char)*s); s++) {
		digit = *s - '0';
		if (*n > (UINT64_MAX - digit) / 10)
			return -1;
		*n = *n * 10 + digit;
	}
	*p = s;
	return 0;
}

/*
 * 1 if the limits line has our limit in bytes.  The message count is
 * Dovecot's to enforce.
 */
static int
size_limits(char *line, uint64_t limit)
{
	char		*item;
	uint64_t	 n;
	int		 match = 0, neg;

	while ((item = strsep(&line, ",")) != NULL) {
		if (size_number(&item, 0, &n, &neg) == -1 ||
		    (*item != 'S' && *item != 'C') || item[1] != '\0')
			return 0;
		if (*item == 'S')
			match = n == limit;
	}
	return match;
}

/*
 * The lines after the limits, each ended by a newline.  As in Dovecot,
 * a total below zero means the file is wrong, and so does one that
 * reaches UINT64_MAX: 1 with the usage, 0 to count again.
 */
static int
size_usage(char *p, uint64_t *used)
{
	char		*line;
	uint64_t	 bytes, count, added = 0, removed = 0;
	int		 neg, cneg;

	while ((line = strsep(&p, "\n")) != NULL) {
		if (*line == '\0' && p == NULL)
			break;
		if (size_number(&line, 1, &bytes, &neg) == -1 ||
		    *line++ != ' ' ||
		    size_number(&line, 1, &count, &cneg) == -1 ||
		    *line != '\0' || p == NULL)
			return 0;
		sum_add(neg ? &removed : &added, bytes);
	}
	if (added == UINT64_MAX || removed > added)
		return 0;
	*used = added - removed;
	return 1;
}

int
maildir_size_read(int dirfd, uint64_t limit, uint64_t *used)
{
	char		 buf[MAILDIRSIZE_MAX + 1], *line, *p;
	ssize_t		 n;
	int		 fd;

	if ((fd = maildir_size_open(dirfd, O_RDONLY)) == -1)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, buf, sizeof(buf));
	close_saving_errno(fd);
	if (n == -1)
		return -1;
	if (n == 0 || n >= MAILDIRSIZE_MAX)
		return 0;
	buf[n] = '\0';
	p = buf;
	line = strsep(&p, "\n");
	if (p == NULL || !size_limits(line, limit))
		return 0;
	return size_usage(p, used);
}
