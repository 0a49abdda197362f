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

/* The value of a digit of crypt(3)'s base 64; 64 for any other byte. */
static int
digit(char c)
{
	static const char b64[] = "./0123456789"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	const char	*p;

	if (c == '\0' || (p = strchr(b64, c)) == NULL)
		return 64;
	return p - b64;
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
	if (strncmp(body, "$sha1$", 6) == 0)
		return strtoul(body + 6, NULL, 10) > 20000;
	if (strncmp(body, "$md5,rounds=", 12) == 0)
		return strtoul(body + 12, NULL, 10) > 20000;
	/* yescrypt and scrypt: log2(N) above 2^12, as crypt(3) writes it. */
	if (strncmp(body, "$y$", 3) == 0 && strlen(body) >= 5)
		return digit(body[4]) > 11;
	if (strncmp(body, "$gy$", 4) == 0 && strlen(body) >= 6)
		return digit(body[5]) > 11;
	if (strncmp(body, "$7$", 3) == 0)
		return digit(body[3]) > 12;
	/* BSDi: 24 bits of DES rounds, least significant digit first. */
	if (body[0] == '_' && strlen(body) >= 5)
		return digit(body[3]) > 0 || digit(body[4]) > 0;
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
