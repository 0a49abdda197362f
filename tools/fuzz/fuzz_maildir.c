/*
 * maildir_path: the Maildir of an address, from a template.  Input:
 * one byte picking a template, then an address for addr_parse (so
 * quoted local parts reach maildir_path too).  An address never adds
 * a "." or ".." component, nor a '/', to the path.
 */
#include "libmail.h"
#include "fuzz.h"

static const char *const tmpls[] = {
	"/var/mail/vhosts/%d/%u",
	"/m/%u@%d",
	"/m/%d%u/x",
	"/m/.%u",
	"/m/%u.",
	"/m/%d/%u/%u",
};

static void
check_components(const char *path, size_t slashes)
{
	const char	*p, *c;
	size_t		 n = 0;

	CHECK(path[0] == '/');
	for (c = path; c != NULL; c = p) {
		c++;
		n++;
		p = strchr(c, '/');
		CHECK(p != c);
		if (p == NULL ? strcmp(c, ".") == 0 || strcmp(c, "..") == 0 :
		    (p - c == 1 && c[0] == '.') ||
		    (p - c == 2 && c[0] == '.' && c[1] == '.'))
			CHECK(0);
	}
	CHECK(n == slashes);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailaddr	 a;
	const char	*errstr, *tmpl, *p;
	char		*s, buf[PATH_MAX], small[24];
	size_t		 slashes;

	if (size < 1 || size > 600)
		return 0;
	tmpl = tmpls[data[0] % (sizeof(tmpls) / sizeof(tmpls[0]))];
	s = fuzz_cstr(data + 1, size - 1);
	if (addr_parse(s, &a, &errstr) == 0) {
		for (slashes = 0, p = tmpl; *p != '\0'; p++)
			slashes += *p == '/';
		if (maildir_path(tmpl, &a, buf, sizeof(buf)) == 0)
			check_components(buf, slashes);
		/* Too small a buffer is -1 with a terminated buffer. */
		if (maildir_path(tmpl, &a, small, sizeof(small)) == 0)
			CHECK(strlen(small) < sizeof(small));
	}
	free(s);
	return 0;
}
