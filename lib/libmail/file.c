/*
 * Durable file operations shared by the writers of the maps, the spool
 * and the Maildirs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmail.h"

/*
 * A rename is durable only once the directory holding it is on disk:
 * fsync of the file alone does not cover its name.
 */
int
file_sync_dir(const char *dir)
{
	int	 fd, ret;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

/*
 * Copies the size bytes of from at offset off to the same offset of
 * to, by copy_file_range(2), which copies from the kernel's cache
 * without a trip through our memory, or else through a buffer; the
 * file offsets do not move.  0, or -1 with errno (EIO if from ends
 * before off + size).
 */
int
file_copy_range(int from, int to, off_t off, off_t size)
{
	char	 buf[65536];
	off_t	 in, out;
	ssize_t	 n, w, done;

	in = out = off;
	while (size > 0) {
		n = copy_file_range(from, &in, to, &out, size, 0);
		if (n == -1 && (errno == EXDEV || errno == ENOSYS ||
		    errno == EINVAL || errno == EOPNOTSUPP))
			break;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			goto cut;
		size -= n;
	}
	while (size > 0) {
		n = pread(from, buf, size < (off_t)sizeof(buf) ? size :
		    (off_t)sizeof(buf), in);
		if (n == 0)
			goto cut;
		if (n == -1)
			return -1;
		for (done = 0; done < n; done += w)
			if ((w = pwrite(to, buf + done, n - done,
			    out + done)) == -1)
				return -1;
		in += n;
		out += n;
		size -= n;
	}
	return 0;
cut:
	/* Cut short since its size was taken: the copy would end in a hole. */
	errno = EIO;
	return -1;
}

/*
 * A name beside path for a file that will replace it or stand in for
 * it: "dir/.base.1a2b3c4d", or with tag "dir/.base.tag.1a2b3c4d".  In
 * the same directory, so that a rename stays on one file system; the
 * leading dot keeps it out of the way of people listing it.  0, or -1
 * (ENAMETOOLONG).
 */
int
file_sibling_name(const char *path, const char *tag, char *buf, size_t len)
{
	const char	*slash, *base;
	int		 n;

	slash = strrchr(path, '/');
	base = slash == NULL ? path : slash + 1;
	n = snprintf(buf, len, "%.*s.%s%s%s.%08x",
	    slash == NULL ? 0 : (int)(slash - path + 1), path, base,
	    tag == NULL ? "" : ".", tag == NULL ? "" : tag, arc4random());
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

ssize_t
file_read_line(int fd, char *buf, size_t size)
{
	size_t	 len = 0;
	ssize_t	 n;
	char	 c;

	for (;;) {
		if ((n = read(fd, &c, 1)) == -1 && errno == EINTR)
			continue;
		if (n == 0 || (n == 1 && c == '\n'))
			break;
		if (n == -1 || c == '\0' || len + 1 >= size) {
			if (n == 1)
				errno = c == '\0' ? EINVAL : EMSGSIZE;
			explicit_bzero(buf, size);
			return -1;
		}
		buf[len++] = c;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}
