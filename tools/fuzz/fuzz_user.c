/*
 * mapsrc_user_parse and mapsrc_user_format: what parses formats back
 * into a value that parses to the same fields.
 */
#include "libmail.h"
#include "fuzz.h"

static void
check_same(const struct mapsrc_user *a, const struct mapsrc_user *b)
{
	CHECK(strcmp(a->hash, b->hash) == 0);
	CHECK(a->uid == b->uid && a->gid == b->gid);
	CHECK(strcmp(a->gecos, b->gecos) == 0);
	CHECK(strcmp(a->home, b->home) == 0);
	CHECK(strcmp(a->shell, b->shell) == 0);
	CHECK(a->quota == b->quota);
	CHECK(a->nologin == b->nologin);
	CHECK(strcmp(a->extra, b->extra) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mapsrc_user a, b;
	static char	 buf[MAPSRC_LINE_MAX + 1];
	const char	*errstr;
	char		*value;

	if (size > MAPSRC_LINE_MAX)
		return 0;
	value = fuzz_cstr(data, size);
	memset(&a, 0, sizeof(a));
	errstr = NULL;
	if (mapsrc_user_parse(value, &a, &errstr) == 0) {
		CHECK(a.uid != 0 && a.gid != 0);
		CHECK(a.hash[0] != '\0');
		CHECK(a.home[0] == '/' && strstr(a.home, "/../") == NULL);
		CHECK(strlen(a.home) < 3 ||
		    strcmp(a.home + strlen(a.home) - 3, "/..") != 0);
		CHECK(mapsrc_user_format(&a, buf, sizeof(buf)) == 0);
		memset(&b, 0, sizeof(b));
		errstr = NULL;
		if (mapsrc_user_parse(buf, &b, &errstr) != 0) {
			fprintf(stderr, "formatted \"%s\": %s\n", buf, errstr);
			abort();
		}
		check_same(&a, &b);
	} else
		CHECK(errstr != NULL);
	free(value);
	return 0;
}
