/*
 * passwd_hash_valid and passwd_verify on arbitrary stored strings, with
 * a fixed password.  The library bounds the costs a hash may ask for,
 * but its bounds (a bcrypt cost of 16, 10 million PBKDF2 rounds, 1 GiB
 * of Argon2 memory) take seconds each: passwd_verify is called only on
 * hashes whose cost, as read here, is small.  Every other hash is
 * verified, so a cost the library fails to bound shows as a timeout.
 */
#include <ctype.h>
#include <strings.h>

#include "libmail.h"
#include "fuzz.h"

static unsigned long
number_after(const char *s, const char *key)
{
	const char	*p;

	if ((p = strstr(s, key)) == NULL)
		return 0;
	return strtoul(p + strlen(key), NULL, 10);
}

/* 1 if verifying body would take more than a few milliseconds. */
static int
costly(const char *stored)
{
	const char	*body;

	if ((body = strchr(stored, '}')) == NULL)
		return 0;
	body++;
	if (strncmp(body, "$2", 2) == 0 && strlen(body) > 6)
		return (body[4] - '0') * 10 + (body[5] - '0') > 5;
	if (strncmp(body, "$5$rounds=", 10) == 0 ||
	    strncmp(body, "$6$rounds=", 10) == 0)
		return strtoul(body + 10, NULL, 10) > 20000;
	if (strncmp(body, "$argon2", 7) == 0)
		return number_after(body, "m=") > 4096 ||
		    number_after(body, "t=") > 2 ||
		    number_after(body, "p=") > 2;
	if (strncasecmp(stored, "{PBKDF2}", 8) == 0)
		return number_after(body + 3, "$") > 5000;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*stored;
	const char	*p;
	int		 valid, r;

	if (size > 1024)
		return 0;
	stored = fuzz_cstr(data, size);
	valid = passwd_hash_valid(stored);
	CHECK(valid == 0 || valid == 1);
	if (valid) {
		/* Nothing a passwd-file line or a Dovecot field splits on. */
		CHECK(strlen(stored) < PASSWD_HASH_MAX);
		for (p = stored; *p != '\0'; p++)
			CHECK(isgraph((unsigned char)*p) && *p != ':');
	}
	if (!valid || !costly(stored)) {
		r = passwd_verify(stored, "secret");
		CHECK(r == -1 || r == 0 || r == 1);
		CHECK(valid || r == -1);
	}
	free(stored);
	return 0;
}
