/*
 * Where a password comes from: a descriptor (-h fd, clear text; -H fd,
 * a ready hash), as pw(8) takes them, or the terminal, asked twice.
 * Never from argv, where every user of ps(1) would see it.  The clear
 * text lives only in buffers that are wiped as soon as it is hashed.
 */

#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <limits.h>
#include <readpassphrase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "mailadduser.h"

#define DEFAULT_SCHEME	"BLF-CRYPT"

static size_t	read_line(int, char *, size_t);
static void	ask(const char *, char *, size_t);
static __dead void wipe_exit(char *, size_t, int, const char *);

int
pwsource_option(struct pwsource *ps, int opt, const char *arg)
{
	const char *errstr;

	switch (opt) {
	case 's':
		if (!passwd_scheme_valid(arg))
			errx(EX_USAGE, "%s: unknown scheme; use BLF-CRYPT, "
			    "SHA512-CRYPT, SHA256-CRYPT or CRYPT", arg);
		if (ps->how == PW_HASH)
			errx(EX_USAGE, "-s and -H exclude each other");
		ps->scheme = arg;
		return 1;
	case 'h':
	case 'H':
		if (ps->how != PW_PROMPT)
			errx(EX_USAGE, "-h and -H exclude each other");
		if (opt == 'H' && ps->scheme != NULL)
			errx(EX_USAGE, "-s and -H exclude each other");
		ps->fd = strtonum(arg, 0, INT_MAX, &errstr);
		if (errstr != NULL)
			errx(EX_USAGE, "-%c %s: descriptor is %s", opt, arg,
			    errstr);
		ps->how = opt == 'h' ? PW_CLEAR : PW_HASH;
		return 1;
	default:
		return 0;
	}
}

static __dead void
wipe_exit(char *buf, size_t len, int code, const char *msg)
{
	explicit_bzero(buf, len);
	errx(code, "%s", msg);
}

/*
 * One line from fd, its newline stripped, read a byte at a time so
 * that nothing after it is consumed (a script may pass more on the
 * same descriptor).  Returns its length.
 */
static size_t
read_line(int fd, char *buf, size_t size)
{
	ssize_t	 len;

	if ((len = file_read_line(fd, buf, size)) != -1)
		return (size_t)len;
	if (errno == EINVAL)
		errx(EX_DATAERR, "a NUL byte in the password line");
	if (errno == EMSGSIZE)
		errx(EX_DATAERR, "password line too long");
	err(EX_IOERR, "descriptor %d", fd);
}

static void
ask(const char *addr, char *buf, size_t size)
{
	char	 again[PASSWORD_MAX], prompt[ADDR_MAX + 32];
	int	 same;

	snprintf(prompt, sizeof(prompt), "Password for %s: ", addr);
	if (readpassphrase(prompt, buf, size, RPP_REQUIRE_TTY) == NULL)
		wipe_exit(buf, size, EX_USAGE, "no terminal to ask for the "
		    "password: use -h fd or -H fd");
	if (readpassphrase("Retype password: ", again, sizeof(again),
	    RPP_REQUIRE_TTY) == NULL) {
		explicit_bzero(again, sizeof(again));
		wipe_exit(buf, size, EX_USAGE, "cannot read the password "
		    "from the terminal");
	}
	same = strcmp(buf, again) == 0;
	explicit_bzero(again, sizeof(again));
	if (!same)
		wipe_exit(buf, size, EX_DATAERR, "passwords do not match");
}

void
pwsource_hash(const struct pwsource *ps, const char *addr, char *out,
    size_t outlen)
{
	char	 clear[PASSWORD_MAX], why[256];
	int	 rc;

	if (ps->how == PW_HASH) {
		read_line(ps->fd, out, outlen);
		if (passwd_hash_cost_check(out, why, sizeof(why)) == -1)
			errx(EX_DATAERR, "descriptor %d: %s (see mailmaps(5))",
			    ps->fd, why);
		if (!passwd_hash_valid(out))
			errx(EX_DATAERR, "descriptor %d: not a hash of a "
			    "known scheme (\"{SCHEME}hash\")", ps->fd);
		return;
	}
	if (ps->how == PW_CLEAR)
		read_line(ps->fd, clear, sizeof(clear));
	else
		ask(addr, clear, sizeof(clear));
	if (clear[0] == '\0')
		wipe_exit(clear, sizeof(clear), EX_DATAERR,
		    "the password is empty");
	rc = passwd_hash(ps->scheme != NULL ? ps->scheme : DEFAULT_SCHEME,
	    clear, out, outlen);
	explicit_bzero(clear, sizeof(clear));
	if (rc == -1)
		err(EX_SOFTWARE, "hashing the password");
}
