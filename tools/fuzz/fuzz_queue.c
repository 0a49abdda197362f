/*
 * queue_read: a queue file (envelope, then the message) and deliver's
 * state file, from a spool in a temporary directory, then the
 * functions that walk what was read.  Input: the queue file, a line
 * "%%", the state file.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "libmail.h"
#include "fuzz.h"

#define ID	"0123456789abcdef"

static char	dir[] = "/tmp/fuzz_queue.XXXXXX";
static char	qpath[PATH_MAX], spath[PATH_MAX];

static void
cleanup(void)
{
	char	path[PATH_MAX];

	unlink(qpath);
	unlink(spath);
	snprintf(path, sizeof(path), "%s/queue", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/state", dir);
	rmdir(path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	path[PATH_MAX];

	if (mkdtemp(dir) == NULL)
		abort();
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/queue", dir);
	if (mkdir(path, 0700) == -1)
		abort();
	snprintf(path, sizeof(path), "%s/state", dir);
	if (mkdir(path, 0700) == -1)
		abort();
	snprintf(qpath, sizeof(qpath), "%s/queue/" ID, dir);
	snprintf(spath, sizeof(spath), "%s/state/" ID, dir);
	return 0;
}

static void
write_file(const char *path, const uint8_t *p, size_t len)
{
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, p, len) != (ssize_t)len || close(fd) == -1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_msg	 m;
	struct queue_target	*t;
	char			 err[512];
	size_t			 qlen, i;
	FILE			*fp;

	if (size > 16384)
		return 0;
	for (qlen = 0; qlen + 3 <= size; qlen++)
		if ((qlen == 0 || data[qlen - 1] == '\n') &&
		    memcmp(data + qlen, "%%\n", 3) == 0)
			break;
	if (qlen + 3 > size) {
		write_file(qpath, data, size);
		unlink(spath);
	} else {
		write_file(qpath, data, qlen);
		write_file(spath, data + qlen + 3, size - qlen - 3);
	}
	if (queue_read(dir, ID, &m, err, sizeof(err)) == -1) {
		CHECK(errno != EINVAL || err[0] != '\0');
		return 0;
	}
	CHECK(strcmp(m.id, ID) == 0);
	CHECK(m.body >= 0 && m.size >= 0);
	for (i = 0; i < m.ntargets; i++) {
		CHECK(m.targets[i].rcpt < m.nrcpts);
		CHECK(memchr(m.targets[i].addr, '\0',
		    sizeof(m.targets[i].addr)) != NULL);
		t = queue_target_find(&m, m.targets[i].rcpt,
		    m.targets[i].addr);
		CHECK(t != NULL);
	}
	queue_msg_done(&m);
	queue_msg_due(&m);
	if ((fp = queue_body_open(dir, &m)) != NULL)
		fclose(fp);
	queue_msg_free(&m);
	return 0;
}
