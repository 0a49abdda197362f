/*
 * Durable file operations shared by the writers of the maps, the spool
 * and the Maildirs.
 */
#include <fcntl.h>
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
