/*
 * smtpd's MAIL FROM / RCPT TO argument parser (sbin/smtpd/path.c).
 * Input: one flag byte (bit 0: RCPT TO rather than MAIL FROM, bit 1: no
 * EHLO), then the argument.
 */
#include <stddef.h>
#include <strings.h>

#include "smtpd.h"
#include "fuzz.h"

/*
 * The domain relaying is decided on must be the one the client wrote
 * right before the closing '>' (or a parameter's space).
 */
static void
check_ok(const char *arg, const struct path_args *pa)
{
	const char	*errstr, *close;
	size_t		 dlen;

	if (pa->null || pa->postmaster)
		return;
	CHECK(addr_domain_valid(pa->addr.domain, &errstr) == 0);
	/* The parameters that pass hold no '>': the last one closes the path. */
	CHECK((close = strrchr(arg, '>')) != NULL);
	dlen = strlen(pa->addr.domain);
	CHECK((size_t)(close - arg) > dlen);
	CHECK(close[-(ptrdiff_t)dlen - 1] == '@');
	CHECK(strncasecmp(close - dlen, pa->addr.domain, dlen) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct path_args pa;
	char		*arg;
	int		 r;

	if (size < 1 || size > SMTP_CMD_MAX)
		return 0;
	arg = fuzz_cstr(data + 1, size - 1);
	r = path_parse(arg, data[0] & 1 ? "TO" : "FROM", !(data[0] & 2), &pa);
	CHECK(r >= PATH_OK && r <= PATH_LITERAL);
	CHECK(r == PATH_OK || pa.errstr != NULL);
	if (r == PATH_OK) {
		CHECK(!(pa.null && pa.postmaster));
		CHECK(!pa.null || !(data[0] & 1));
		check_ok(arg, &pa);
	}
	free(arg);
	return 0;
}
