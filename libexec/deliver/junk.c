/*
 * junk.c: the Junk folder of a Maildir, for the messages smtpd(8)
 * quarantined (a J record in their envelope: see spool.c).
 *
 * The folder is MAILDIR/.Junk, a Maildir++ subfolder as Dovecot and
 * Courier lay it out: its own tmp/, new/ and cur/, and an empty
 * maildirfolder file that tells a Maildir++ reader it is a folder and
 * keeps the quota in the parent's maildirsize.  A mailbox made by
 * mailadduser has none, so it is made at the first quarantined
 * message; its entries are fsynced before the message is written, so
 * that a crash cannot keep the message and lose the folder that holds
 * it.  Everything is opened relative to the Maildir's descriptor and
 * without following a symbolic link.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "libmail.h"
#include "deliver.h"

#define JUNK_FOLDER	".Junk"

static int	 junk_mkdir(int, const char *, int *);
static int	 junk_make(int, int);

/* 0 if name is a directory at dirfd now; *made if this call made it. */
static int
junk_mkdir(int dirfd, const char *name, int *made)
{
	struct stat	 st;

	if (mkdirat(dirfd, name, 0700) == 0) {
		*made = 1;
		return 0;
	}
	if (errno != EEXIST)
		return -1;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* The folder's subdirectories and maildirfolder; fsynced if made. */
static int
junk_make(int maildir, int junk)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	size_t		 i;
	int		 fd, made = 0;

	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++)
		if (junk_mkdir(junk, sub[i], &made) == -1)
			return -1;
	fd = openat(junk, "maildirfolder", O_WRONLY | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	close(fd);
	if (made && (fsync(junk) == -1 || fsync(maildir) == -1))
		return -1;
	return made;
}

int
junk_open(int maildir, const char *path)
{
	int	 fd, made = 0, r;

	if (junk_mkdir(maildir, JUNK_FOLDER, &made) == -1) {
		log_warn("%s/%s: cannot make the Junk folder", path,
		    JUNK_FOLDER);
		return -1;
	}
	fd = openat(maildir, JUNK_FOLDER, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1 || (r = junk_make(maildir, fd)) == -1) {
		log_warn("%s/%s: cannot make the Junk folder", path,
		    JUNK_FOLDER);
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (made || r == 1)
		log_info("%s/%s: made the Junk folder", path, JUNK_FOLDER);
	return fd;
}
