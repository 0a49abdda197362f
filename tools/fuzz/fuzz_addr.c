/*
 * addr_parse, addr_parse_safe, addr_strip_tag.  Input: "DELIMS\nADDRESS"
 * or just ADDRESS (delimiters "+-").
 */
#include <ctype.h>
#include <strings.h>

#include "libmail.h"
#include "fuzz.h"

static void
check_parsed(const struct mailaddr *a)
{
	struct mailaddr	 b;
	char		 key[ADDR_MAX + 1], key2[ADDR_MAX + 1];
	const char	*errstr, *p;

	CHECK(strlen(a->local) > 0 && strlen(a->local) <= ADDR_LOCAL_MAX);
	CHECK(strlen(a->domain) > 0 && strlen(a->domain) <= ADDR_DOMAIN_MAX);
	CHECK(strlen(a->local) + 1 + strlen(a->domain) <= ADDR_MAX);
	for (p = a->domain; *p != '\0'; p++)
		CHECK(!isupper((unsigned char)*p));
	CHECK(addr_domain_valid(a->domain, &errstr) == 0);
	CHECK(addr_utf8_valid(a->local, &errstr) == 0);
	for (p = a->local; *p != '\0'; p++)
		CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	/* The NFC of a key can be longer than what was written, only. */
	if (addr_key(a, key, sizeof(key)) == -1 ||
	    addr_parse(key, &b, &errstr) == -1) {
		CHECK(!addr_utf8_nfc(a->local));
		return;
	}
	if (addr_is_ascii(a->local))
		CHECK(strcasecmp(a->local, b.local) == 0);
	CHECK(strcmp(a->domain, b.domain) == 0);
	CHECK(addr_key(&b, key2, sizeof(key2)) == 0);
	CHECK(strcmp(key, key2) == 0);
}

static void
check_safe(const struct mailaddr *a)
{
	const char	*p;
	size_t		 len;

	len = strlen(a->local);
	CHECK(strchr(a->local, '/') == NULL);
	CHECK(strstr(a->local, "..") == NULL);
	CHECK(a->local[0] != '.' && a->local[len - 1] != '.');
	CHECK(strpbrk(a->local, "\"!%|#:, \\") == NULL);
	for (p = a->local; *p != '\0'; p++)
		CHECK(!iscntrl((unsigned char)*p));
	CHECK(strchr(a->domain, '/') == NULL);
	CHECK(strstr(a->domain, "..") == NULL && a->domain[0] != '.');
}

static void
check_tag(const struct mailaddr *a, const char *delims)
{
	struct mailaddr	 base;
	size_t		 n;
	int		 r;

	r = addr_strip_tag(a, delims, &base);
	CHECK(r == 0 || r == 1);
	CHECK(strcmp(base.domain, a->domain) == 0);
	if (r == 0) {
		CHECK(strcmp(base.local, a->local) == 0);
		return;
	}
	n = strlen(base.local);
	CHECK(n > 0 && n < strlen(a->local));
	CHECK(strncmp(base.local, a->local, n) == 0);
	CHECK(strchr(delims, a->local[n]) != NULL);
	CHECK(strcspn(base.local, delims) == n);
	CHECK(a->local[0] != '"');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailaddr	 a, s;
	const char	*errstr, *delims = "+-";
	char		*in, *addr, *nl;
	int		 r, rs;

	if (size > 1024)
		return 0;
	in = fuzz_cstr(data, size);
	addr = in;
	if ((nl = strchr(in, '\n')) != NULL && nl - in <= 7) {
		*nl = '\0';
		delims = in;
		addr = nl + 1;
	}
	errstr = NULL;
	r = addr_parse(addr, &a, &errstr);
	CHECK(r == 0 || (r == -1 && errstr != NULL));
	errstr = NULL;
	rs = addr_parse_safe(addr, &s, &errstr);
	CHECK(rs == 0 || (rs == -1 && errstr != NULL));
	if (rs == 0) {
		/* Whatever the strict parser takes, the lenient one takes. */
		CHECK(r == 0);
		CHECK(strcmp(a.local, s.local) == 0);
		CHECK(strcmp(a.domain, s.domain) == 0);
		check_safe(&s);
	}
	if (r == 0) {
		check_parsed(&a);
		check_tag(&a, delims);
		check_tag(&a, "");
	}
	errstr = NULL;
	r = addr_domain_valid(addr, &errstr);
	CHECK(r == 0 || (r == -1 && errstr != NULL));
	free(in);
	return 0;
}
