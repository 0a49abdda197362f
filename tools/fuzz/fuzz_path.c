/*
 * smtpd's MAIL FROM / RCPT TO argument parser (sbin/smtpd/path.c).
 * Input: one flag byte (bit 0: RCPT TO rather than MAIL FROM, bit 1: no
 * EHLO), then the argument.
 */
#include <stddef.h>
#include <strings.h>

#include "smtpd.h"
#include "fuzz.h"

/* 1 if s is empty or " PARAM..." of parameters path_parse may take. */
static int
only_params(const char *s)
{
	size_t	 len;

	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			return 1;
		len = strcspn(s, " ");
		if (len == 8 && strncasecmp(s, "SMTPUTF8", 8) == 0) {
			s += len;
			continue;
		}
		if (len < 5 || (strncasecmp(s, "SIZE=", 5) != 0 &&
		    strncasecmp(s, "BODY=", 5) != 0 &&
		    strncasecmp(s, "AUTH=", 5) != 0))
			return 0;
		s += len;
	}
}

/*
 * The domain relaying is decided on must be the one the client wrote
 * right before a '>' that ends the path (after an '@'), in its key form
 * (a U-label domain as its A-labels): a '>' followed by nothing but
 * parameters (which may hold a '>' of their own, as AUTH=<> does).
 */
static int
written_is(const char *arg, const char *close, const char *domain)
{
	const char	*at, *errstr;
	char		 written[ADDR_DOMAIN_MAX + 1], canon[ADDR_DOMAIN_MAX + 1];

	for (at = close; at > arg && at[-1] != '@'; at--)
		;
	if (at == arg || (size_t)(close - at) > ADDR_DOMAIN_MAX)
		return 0;
	memcpy(written, at, close - at);
	written[close - at] = '\0';
	return addr_domain_canon(written, canon, sizeof(canon), &errstr) == 0 &&
	    strcmp(canon, domain) == 0;
}

static void
check_ok(const char *arg, const struct path_args *pa)
{
	const char	*errstr, *close;
	int		 found = 0;

	if (pa->null || pa->postmaster)
		return;
	CHECK(addr_domain_valid(pa->addr.domain, &errstr) == 0);
	for (close = arg; !found && (close = strchr(close, '>')) != NULL;
	    close++)
		found = written_is(arg, close, pa->addr.domain) &&
		    (close[1] == '\0' || close[1] == ' ') &&
		    only_params(close + 1);
	CHECK(found);
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
