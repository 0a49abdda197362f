/*
 * libiocut.so: an LD_PRELOAD shim for the power-loss and the fault
 * campaigns (tools/powercut, tools/faultinj).  It looks only at files
 * under $IOCUT_ROOT, and does one of two things:
 *
 * Record (IOCUT_LOG set): at each fsync(2) or fdatasync(2) it writes
 * down what that call made durable, in the simplest sound model: a
 * regular file's contents (copied to IOCUT_LOG.d/SEQ), a directory's
 * entries (name, inode identity, type).  A SEQ number orders the
 * events of every process.  Each reply "250 2.0.0 Ok: queued as ID"
 * that smtpd sends is logged too, after the fsyncs that it follows.
 * The replay (powercut.py) rebuilds the tree a cut at any SEQ leaves.
 *
 * Fail (IOCUT_FAIL=N:ERRNO): the Nth call, counted over every process,
 * of open (for writing), write (pwrite, writev, copy_file_range and
 * ftruncate too), fsync, rename, link, unlink or mkdir on a file under
 * the root fails with ERRNO (EIO, ENOSPC) and does nothing.
 * Without IOCUT_FAIL, the calls are only counted.  The stdio calls a
 * program makes (fwrite, fputs, fputc, putc, fprintf, fflush, fclose)
 * count as writes: glibc's stdio calls write(2) from inside the
 * library, where no shim sees it.
 *
 * The counters and SEQ live in IOCUT_COUNT, a file mapped shared by
 * every process (made by the driver, 4096 bytes of zeros).  Each call
 * checked appends "OP PID PATH" to IOCUT_TRACE when that is set.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct shared {
	uint64_t	seq;		/* events of the record */
	uint64_t	calls;		/* calls counted for IOCUT_FAIL */
	uint64_t	failed;		/* the call failed, 0: none yet */
	uint64_t	byop[8];
};

enum op { OP_OPEN, OP_WRITE, OP_FSYNC, OP_RENAME, OP_LINK, OP_UNLINK,
    OP_MKDIR };
static const char *const opname[] = {
	"open", "write", "fsync", "rename", "link", "unlink", "mkdir"
};

static struct shared	*sh;
static const char	*root;
static size_t		 rootlen;
static const char	*logpath;
static uint64_t		 fail_at;
static int		 fail_errno;
static int		 inited;
static __thread int	 inside;

#define REAL(name, ret, ...)						\
	static ret (*real_##name)(__VA_ARGS__);				\
	if (real_##name == NULL)					\
		real_##name = dlsym(RTLD_NEXT, #name)

static void
iocut_init(void)
{
	const char	*p, *count;
	int		 fd;

	if (inited)
		return;
	inited = 1;
	if ((root = getenv("IOCUT_ROOT")) == NULL)
		return;
	rootlen = strlen(root);
	logpath = getenv("IOCUT_LOG");
	if ((p = getenv("IOCUT_FAIL")) != NULL) {
		fail_at = strtoull(p, NULL, 10);
		p = strchr(p, ':');
		fail_errno = p != NULL && strcmp(p + 1, "ENOSPC") == 0 ?
		    ENOSPC : EIO;
	}
	if ((count = getenv("IOCUT_COUNT")) == NULL)
		return;
	if ((fd = open(count, O_RDWR | O_CLOEXEC)) == -1)
		return;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    0);
	close(fd);
	if (sh == MAP_FAILED)
		sh = NULL;
}

static int
under_root(const char *path)
{
	return root != NULL && path != NULL &&
	    strncmp(path, root, rootlen) == 0 &&
	    (path[rootlen] == '/' || path[rootlen] == '\0');
}

static int
fd_path(int fd, char *buf, size_t len)
{
	char	 link[64];
	ssize_t	 n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, buf, len - 1)) == -1)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* The absolute path of name relative to dirfd. */
static int
at_path(int dirfd, const char *name, char *buf, size_t len)
{
	char	 dir[PATH_MAX];

	if (name == NULL)
		return -1;
	if (name[0] == '/') {
		snprintf(buf, len, "%s", name);
		return 0;
	}
	if (dirfd == AT_FDCWD) {
		if (getcwd(dir, sizeof(dir)) == NULL)
			return -1;
	} else if (fd_path(dirfd, dir, sizeof(dir)) == -1)
		return -1;
	if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
		return -1;
	return 0;
}

static void
trace(enum op op, const char *path)
{
	const char	*t;
	char		 line[PATH_MAX + 64];
	int		 fd, n;

	if ((t = getenv("IOCUT_TRACE")) == NULL)
		return;
	if ((fd = open(t, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) == -1)
		return;
	n = snprintf(line, sizeof(line), "%llu %s %ld %s\n",
	    (unsigned long long)(sh != NULL ? sh->calls : 0), opname[op],
	    (long)getpid(), path);
	(void)!write(fd, line, (size_t)n);
	close(fd);
}

/* 1 if this call on path is the one to fail (errno set). */
static int
should_fail(enum op op, const char *path)
{
	uint64_t	 n;

	iocut_init();
	if (inside || sh == NULL || !under_root(path))
		return 0;
	n = __atomic_add_fetch(&sh->calls, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&sh->byop[op], 1, __ATOMIC_SEQ_CST);
	inside = 1;
	trace(op, path);
	inside = 0;
	if (fail_at == 0 || n != fail_at)
		return 0;
	sh->failed = n;
	errno = fail_errno;
	return 1;
}

static int
fd_fails(enum op op, int fd)
{
	char	 path[PATH_MAX];

	iocut_init();
	if (root == NULL || inside || fd_path(fd, path, sizeof(path)) == -1)
		return 0;
	return should_fail(op, path);
}

static int
at_fails(enum op op, int dirfd, const char *name)
{
	char	 path[PATH_MAX];

	iocut_init();
	if (root == NULL || inside ||
	    at_path(dirfd, name, path, sizeof(path)) == -1)
		return 0;
	return should_fail(op, path);
}

/* ---- the record ------------------------------------------------------ */

static void
log_line(const char *line, size_t len)
{
	int	 fd;

	if ((fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) == -1)
		return;
	(void)!write(fd, line, len);
	close(fd);
}

/* "ino.btime_sec.btime_nsec": an inode number alone is reused. */
static void
identity(int dirfd, const char *name, int flags, char *buf, size_t len,
    char *type)
{
	struct statx	 stx;

	if (statx(dirfd, name, flags | AT_SYMLINK_NOFOLLOW,
	    STATX_INO | STATX_BTIME | STATX_TYPE, &stx) == -1) {
		snprintf(buf, len, "?");
		*type = '?';
		return;
	}
	snprintf(buf, len, "%llu.%lld.%u", (unsigned long long)stx.stx_ino,
	    (long long)stx.stx_btime.tv_sec, stx.stx_btime.tv_nsec);
	*type = S_ISDIR(stx.stx_mode) ? 'd' : S_ISREG(stx.stx_mode) ? 'f' :
	    'o';
}

/*
 * The SEQ of a record is taken once its copy is made: what the copy
 * holds happened before it, and the real fsync, after it, makes all
 * of that durable.
 */
static void
record_file(int fd, const char *path)
{
	char	 tmp[PATH_MAX], blob[PATH_MAX], id[96], buf[65536];
	char	 line[PATH_MAX + 256], type;
	ssize_t	 n;
	off_t	 off = 0;
	uint64_t seq;
	int	 in, out, len;

	snprintf(tmp, sizeof(tmp), "%s.d/tmp.%ld.%ld", logpath,
	    (long)getpid(), (long)gettid());
	snprintf(line, sizeof(line), "/proc/self/fd/%d", fd);
	if ((in = open(line, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		close(in);
		return;
	}
	while ((n = pread(in, buf, sizeof(buf), off)) > 0) {
		(void)!write(out, buf, (size_t)n);
		off += n;
	}
	close(in);
	close(out);
	identity(fd, "", AT_EMPTY_PATH, id, sizeof(id), &type);
	seq = __atomic_add_fetch(&sh->seq, 1, __ATOMIC_SEQ_CST);
	snprintf(blob, sizeof(blob), "%s.d/%llu", logpath,
	    (unsigned long long)seq);
	if (rename(tmp, blob) == -1)
		return;
	len = snprintf(line, sizeof(line), "F %llu %s %s\n",
	    (unsigned long long)seq, id, path);
	log_line(line, (size_t)len);
}

/*
 * An entry that is gone by the time it is looked at was unlinked
 * before the real fsync, which makes that durable too: left out.  The
 * listing is no snapshot (others rename and unlink meanwhile), so it
 * carries the SEQ of its start as well as of its end: the replay
 * takes a name that one listing lacks for removed only if that
 * listing began after the last one that had it ended.
 */
static void
record_dir(int fd, const char *path)
{
	struct dirent	*de;
	DIR		*d;
	char		*buf, *nb, head[PATH_MAX + 64], id[96], type;
	size_t		 cap = 65536, used = 0;
	uint64_t	 start, seq;
	int		 dfd, n;

	start = __atomic_add_fetch(&sh->seq, 1, __ATOMIC_SEQ_CST);
	if ((dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	if ((buf = malloc(cap)) == NULL) {
		closedir(d);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		identity(dirfd(d), de->d_name, 0, id, sizeof(id), &type);
		if (type == '?')
			continue;
		if (used + strlen(de->d_name) + 128 > cap) {
			cap *= 2;
			if ((nb = realloc(buf, cap)) == NULL)
				break;
			buf = nb;
		}
		used += (size_t)snprintf(buf + used, cap - used,
		    "E %c %s %s\n", type, id, de->d_name);
	}
	closedir(d);
	used += (size_t)snprintf(buf + used, cap - used, ".\n");
	seq = __atomic_add_fetch(&sh->seq, 1, __ATOMIC_SEQ_CST);
	n = snprintf(head, sizeof(head), "D %llu %llu %s\n",
	    (unsigned long long)start, (unsigned long long)seq, path);
	if ((nb = malloc(used + (size_t)n)) != NULL) {
		memcpy(nb, head, (size_t)n);
		memcpy(nb + n, buf, used);
		log_line(nb, used + (size_t)n);
		free(nb);
	}
	free(buf);
}

/* Before the real fsync: what it is about to make durable. */
static void
record_sync(int fd)
{
	struct stat	 st;
	char		 path[PATH_MAX];

	iocut_init();
	if (logpath == NULL || sh == NULL || inside ||
	    fd_path(fd, path, sizeof(path)) == -1 || !under_root(path) ||
	    fstat(fd, &st) == -1)
		return;
	inside = 1;
	if (S_ISDIR(st.st_mode))
		record_dir(fd, path);
	else if (S_ISREG(st.st_mode))
		record_file(fd, path);
	inside = 0;
}

/* smtpd's 250 for a message, once it is sent. */
static void
record_ack(const void *buf, size_t len)
{
	static const char	 tag[] = "250 2.0.0 Ok: queued as ";
	const char		*p;
	char			 line[128];
	uint64_t		 seq;
	int			 n;

	iocut_init();
	if (logpath == NULL || sh == NULL || inside || len < sizeof(tag) ||
	    (p = memmem(buf, len, tag, sizeof(tag) - 1)) == NULL)
		return;
	p += sizeof(tag) - 1;
	inside = 1;
	seq = __atomic_add_fetch(&sh->seq, 1, __ATOMIC_SEQ_CST);
	n = snprintf(line, sizeof(line), "A %llu %.16s\n",
	    (unsigned long long)seq, p);
	log_line(line, (size_t)n);
	inside = 0;
}

/* ---- the calls ------------------------------------------------------- */

static int
open_writes(int flags)
{
	return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND))
	    != 0;
}

int
open(const char *path, int flags, ...)
{
	va_list	 ap;
	mode_t	 mode = 0;
	REAL(open, int, const char *, int, ...);

	va_start(ap, flags);
	if (flags & (O_CREAT | O_TMPFILE))
		mode = va_arg(ap, mode_t);
	va_end(ap);
	if (open_writes(flags) && at_fails(OP_OPEN, AT_FDCWD, path))
		return -1;
	return real_open(path, flags, mode);
}

int
open64(const char *path, int flags, ...)
{
	va_list	 ap;
	mode_t	 mode = 0;
	REAL(open64, int, const char *, int, ...);

	va_start(ap, flags);
	if (flags & (O_CREAT | O_TMPFILE))
		mode = va_arg(ap, mode_t);
	va_end(ap);
	if (open_writes(flags) && at_fails(OP_OPEN, AT_FDCWD, path))
		return -1;
	return real_open64(path, flags, mode);
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	va_list	 ap;
	mode_t	 mode = 0;
	REAL(openat, int, int, const char *, int, ...);

	va_start(ap, flags);
	if (flags & (O_CREAT | O_TMPFILE))
		mode = va_arg(ap, mode_t);
	va_end(ap);
	if (open_writes(flags) && at_fails(OP_OPEN, dirfd, path))
		return -1;
	return real_openat(dirfd, path, flags, mode);
}

int
openat64(int dirfd, const char *path, int flags, ...)
{
	va_list	 ap;
	mode_t	 mode = 0;
	REAL(openat64, int, int, const char *, int, ...);

	va_start(ap, flags);
	if (flags & (O_CREAT | O_TMPFILE))
		mode = va_arg(ap, mode_t);
	va_end(ap);
	if (open_writes(flags) && at_fails(OP_OPEN, dirfd, path))
		return -1;
	return real_openat64(dirfd, path, flags, mode);
}

FILE *
fopen(const char *path, const char *mode)
{
	REAL(fopen, FILE *, const char *, const char *);

	if (strpbrk(mode, "wa+") != NULL &&
	    at_fails(OP_OPEN, AT_FDCWD, path))
		return NULL;
	return real_fopen(path, mode);
}

FILE *
fopen64(const char *path, const char *mode)
{
	REAL(fopen64, FILE *, const char *, const char *);

	if (strpbrk(mode, "wa+") != NULL &&
	    at_fails(OP_OPEN, AT_FDCWD, path))
		return NULL;
	return real_fopen64(path, mode);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	ssize_t	 n;
	REAL(write, ssize_t, int, const void *, size_t);

	if (fd_fails(OP_WRITE, fd))
		return -1;
	n = real_write(fd, buf, len);
	if (n > 0)
		record_ack(buf, (size_t)n);
	return n;
}

ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
	ssize_t	 n;
	REAL(send, ssize_t, int, const void *, size_t, int);

	n = real_send(fd, buf, len, flags);
	if (n > 0)
		record_ack(buf, (size_t)n);
	return n;
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	REAL(pwrite, ssize_t, int, const void *, size_t, off_t);

	if (fd_fails(OP_WRITE, fd))
		return -1;
	return real_pwrite(fd, buf, len, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	REAL(pwrite64, ssize_t, int, const void *, size_t, off_t);

	if (fd_fails(OP_WRITE, fd))
		return -1;
	return real_pwrite64(fd, buf, len, off);
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	REAL(writev, ssize_t, int, const struct iovec *, int);

	if (fd_fails(OP_WRITE, fd))
		return -1;
	return real_writev(fd, iov, n);
}

static int
file_fails(FILE *fp)
{
	int	 fd;

	if (fp == NULL || (fd = fileno(fp)) == -1)
		return 0;
	return fd_fails(OP_WRITE, fd);
}

size_t
fwrite(const void *p, size_t size, size_t n, FILE *fp)
{
	REAL(fwrite, size_t, const void *, size_t, size_t, FILE *);

	if (file_fails(fp))
		return 0;
	return real_fwrite(p, size, n, fp);
}

int
fputs(const char *s, FILE *fp)
{
	REAL(fputs, int, const char *, FILE *);

	if (file_fails(fp))
		return EOF;
	return real_fputs(s, fp);
}

int
fputc(int c, FILE *fp)
{
	REAL(fputc, int, int, FILE *);

	if (file_fails(fp))
		return EOF;
	return real_fputc(c, fp);
}

int
putc(int c, FILE *fp)
{
	REAL(putc, int, int, FILE *);

	if (file_fails(fp))
		return EOF;
	return real_putc(c, fp);
}

int
vfprintf(FILE *fp, const char *fmt, va_list ap)
{
	REAL(vfprintf, int, FILE *, const char *, va_list);

	if (file_fails(fp))
		return -1;
	return real_vfprintf(fp, fmt, ap);
}

int
fprintf(FILE *fp, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vfprintf(fp, fmt, ap);
	va_end(ap);
	return n;
}

int
fflush(FILE *fp)
{
	REAL(fflush, int, FILE *);

	if (file_fails(fp))
		return EOF;
	return real_fflush(fp);
}

/* A close that fails still closes (as close(2) does). */
int
fclose(FILE *fp)
{
	int	 fail;
	REAL(fclose, int, FILE *);

	fail = file_fails(fp);
	if (real_fclose(fp) == EOF || fail) {
		if (fail)
			errno = fail_errno;
		return EOF;
	}
	return 0;
}

int
fsync(int fd)
{
	REAL(fsync, int, int);

	if (fd_fails(OP_FSYNC, fd))
		return -1;
	record_sync(fd);
	return real_fsync(fd);
}

int
fdatasync(int fd)
{
	REAL(fdatasync, int, int);

	if (fd_fails(OP_FSYNC, fd))
		return -1;
	record_sync(fd);
	return real_fdatasync(fd);
}

int
rename(const char *from, const char *to)
{
	REAL(rename, int, const char *, const char *);

	if (at_fails(OP_RENAME, AT_FDCWD, to))
		return -1;
	return real_rename(from, to);
}

int
renameat(int fromfd, const char *from, int tofd, const char *to)
{
	REAL(renameat, int, int, const char *, int, const char *);

	if (at_fails(OP_RENAME, tofd, to))
		return -1;
	return real_renameat(fromfd, from, tofd, to);
}

int
renameat2(int fromfd, const char *from, int tofd, const char *to,
    unsigned int flags)
{
	REAL(renameat2, int, int, const char *, int, const char *,
	    unsigned int);

	if (at_fails(OP_RENAME, tofd, to))
		return -1;
	return real_renameat2(fromfd, from, tofd, to, flags);
}

int
link(const char *from, const char *to)
{
	REAL(link, int, const char *, const char *);

	if (at_fails(OP_LINK, AT_FDCWD, to))
		return -1;
	return real_link(from, to);
}

int
linkat(int fromfd, const char *from, int tofd, const char *to, int flags)
{
	REAL(linkat, int, int, const char *, int, const char *, int);

	if (at_fails(OP_LINK, tofd, to))
		return -1;
	return real_linkat(fromfd, from, tofd, to, flags);
}

int
unlink(const char *path)
{
	REAL(unlink, int, const char *);

	if (at_fails(OP_UNLINK, AT_FDCWD, path))
		return -1;
	return real_unlink(path);
}

int
unlinkat(int dirfd, const char *path, int flags)
{
	REAL(unlinkat, int, int, const char *, int);

	if (at_fails(OP_UNLINK, dirfd, path))
		return -1;
	return real_unlinkat(dirfd, path, flags);
}

ssize_t
copy_file_range(int in, off_t *inoff, int out, off_t *outoff, size_t len,
    unsigned int flags)
{
	REAL(copy_file_range, ssize_t, int, off_t *, int, off_t *, size_t,
	    unsigned int);

	if (fd_fails(OP_WRITE, out))
		return -1;
	return real_copy_file_range(in, inoff, out, outoff, len, flags);
}

int
ftruncate(int fd, off_t len)
{
	REAL(ftruncate, int, int, off_t);

	if (fd_fails(OP_WRITE, fd))
		return -1;
	return real_ftruncate(fd, len);
}

int
mkdir(const char *path, mode_t mode)
{
	REAL(mkdir, int, const char *, mode_t);

	if (at_fails(OP_MKDIR, AT_FDCWD, path))
		return -1;
	return real_mkdir(path, mode);
}

int
mkdirat(int dirfd, const char *path, mode_t mode)
{
	REAL(mkdirat, int, int, const char *, mode_t);

	if (at_fails(OP_MKDIR, dirfd, path))
		return -1;
	return real_mkdirat(dirfd, path, mode);
}
