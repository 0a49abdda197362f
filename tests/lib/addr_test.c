/* Tests of lib/libmail/addr.c: addresses. */
#include <string.h>

#include <atf-c.h>

#include "libmail.h"

/* s must parse, giving local and domain. */
static void
parse_ok(const char *s, const char *local, const char *domain)
{
	struct mailaddr	 ma;
	const char	*errstr = NULL;

	ATF_CHECK_EQ_MSG(addr_parse(s, &ma, &errstr), 0, "\"%s\": %s", s,
	    errstr);
	ATF_CHECK_STREQ_MSG(ma.local, local, "for \"%s\"", s);
	ATF_CHECK_STREQ_MSG(ma.domain, domain, "for \"%s\"", s);
}

/* s must be refused by parse with exactly reason. */
static void
refused(int (*parse)(const char *, struct mailaddr *, const char **),
    const char *s, const char *reason)
{
	struct mailaddr	 ma;
	const char	*errstr = NULL;

	ATF_CHECK_EQ_MSG(parse(s, &ma, &errstr), -1, "\"%s\" accepted", s);
	if (errstr != NULL)
		ATF_CHECK_STREQ_MSG(errstr, reason, "for \"%s\"", s);
}

static char *
repeat(char *buf, int c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

ATF_TC_WITHOUT_HEAD(valid_forms);
ATF_TC_BODY(valid_forms, tc)
{
	parse_ok("alice@example.org", "alice", "example.org");
	parse_ok("a.b.c@example.org", "a.b.c", "example.org");
	parse_ok("user+tag@example.org", "user+tag", "example.org");
	parse_ok("x!#$%&'*+-/=?^_`{|}~y@e.org", "x!#$%&'*+-/=?^_`{|}~y",
	    "e.org");
	parse_ok("root@localhost", "root", "localhost");
	parse_ok("a@mx-1.sub.example.org", "a", "mx-1.sub.example.org");
	parse_ok("a@123.example", "a", "123.example");
	parse_ok("a@example.x1", "a", "example.x1");
	parse_ok("a!b@c", "a!b", "c");
	parse_ok("a%b@c", "a%b", "c");
}

ATF_TC_WITHOUT_HEAD(domain_lower_cased_local_kept);
ATF_TC_BODY(domain_lower_cased_local_kept, tc)
{
	parse_ok("Alice.Smith@Example.ORG", "Alice.Smith", "example.org");
}

ATF_TC_WITHOUT_HEAD(quoted_local_parts);
ATF_TC_BODY(quoted_local_parts, tc)
{
	parse_ok("\"a b\"@example.org", "\"a b\"", "example.org");
	parse_ok("\"a@b\"@example.org", "\"a@b\"", "example.org");
	parse_ok("\"a\\\"b\"@example.org", "\"a\\\"b\"", "example.org");
	parse_ok("\"..\"@example.org", "\"..\"", "example.org");
	parse_ok("\"\"@example.org", "\"\"", "example.org");
	refused(addr_parse, "\"abc@example.org", "unterminated quoted local part");
	refused(addr_parse, "\"a\tb\"@example.org",
	    "bad character in quoted local part");
	refused(addr_parse, "\"a\\", "bad character in quoted local part");
	refused(addr_parse, "\"a\"b@example.org",
	    "bad character after quoted local part");
	refused(addr_parse, "\"a\"", "missing @domain");
}

ATF_TC_WITHOUT_HEAD(refusals);
ATF_TC_BODY(refusals, tc)
{
	refused(addr_parse, "", "empty address");
	refused(addr_parse, "alice", "missing @domain");
	refused(addr_parse, "@example.org", "empty local part");
	refused(addr_parse, "@route:a@b", "source routes are not accepted");
	refused(addr_parse, "@r1,@r2:a@b", "source routes are not accepted");
	refused(addr_parse, "a@b@c", "bad character in domain");
	refused(addr_parse, "a@", "empty domain");
	refused(addr_parse, "a@[192.0.2.1]",
	    "address literals are not accepted");
	refused(addr_parse, "a@[IPv6:::1]", "address literals are not accepted");
	refused(addr_parse, "a@example.org.", "trailing dot in domain");
	refused(addr_parse, "a@192.0.2.1", "all-numeric top-level domain");
	refused(addr_parse, "a@example.123", "all-numeric top-level domain");
	refused(addr_parse, "a@0", "all-numeric top-level domain");
	refused(addr_parse, "a@.example.org", "empty label in domain");
	refused(addr_parse, "a@example..org", "empty label in domain");
	refused(addr_parse, "a@-x.org", "domain label starts or ends with '-'");
	refused(addr_parse, "a@x-.org", "domain label starts or ends with '-'");
	refused(addr_parse, "a@ex_ample.org", "bad character in domain");
	refused(addr_parse, "a@exa mple.org", "bad character in domain");
	refused(addr_parse, "a@b\xc3\xa9.org", "bad character in domain");
	refused(addr_parse, ".a@b", "local part starts with a dot");
	refused(addr_parse, "a..b@c", "\"..\" in local part");
	refused(addr_parse, "a.@c", "local part ends with a dot");
	refused(addr_parse, "a b@c", "bad character in local part");
	refused(addr_parse, "a\nb@c", "bad character in local part");
	refused(addr_parse, "a\x7f@c", "bad character in local part");
	refused(addr_parse, "\xc3\xa9@c", "bad character in local part");
	refused(addr_parse, "a:b@c", "bad character in local part");
	refused(addr_parse, "a,b@c", "bad character in local part");
	refused(addr_parse, "a\\b@c", "bad character in local part");
	refused(addr_parse, "<a@b>", "bad character in local part");
}

ATF_TC_WITHOUT_HEAD(length_limits);
ATF_TC_BODY(length_limits, tc)
{
	struct mailaddr	 ma;
	const char	*errstr;
	char		 local[80], label[80], addr[400], dom[400];

	/* local part: 64 at most */
	snprintf(addr, sizeof(addr), "%s@d.org", repeat(local, 'a', 64));
	parse_ok(addr, local, "d.org");
	snprintf(addr, sizeof(addr), "%s@d.org", repeat(local, 'a', 65));
	refused(addr_parse, addr, "local part longer than 64 characters");
	snprintf(addr, sizeof(addr), "\"%s\"@d.org", repeat(local, 'a', 62));
	ATF_CHECK_EQ(addr_parse(addr, &ma, &errstr), 0);
	snprintf(addr, sizeof(addr), "\"%s\"@d.org", repeat(local, 'a', 63));
	refused(addr_parse, addr, "local part longer than 64 characters");

	/* label: 63 at most */
	snprintf(addr, sizeof(addr), "a@%s.org", repeat(label, 'b', 63));
	ATF_CHECK_EQ(addr_parse(addr, &ma, &errstr), 0);
	snprintf(addr, sizeof(addr), "a@%s.org", repeat(label, 'b', 64));
	refused(addr_parse, addr, "domain label longer than 63 characters");

	/* domain: 255 at most (4 * 63 + 3 dots = 255) */
	repeat(label, 'c', 63);
	snprintf(dom, sizeof(dom), "%s.%s.%s.%s", label, label, label, label);
	ATF_CHECK_EQ(strlen(dom), 255);
	ATF_CHECK_EQ(addr_domain_valid(dom, &errstr), 0);
	snprintf(dom, sizeof(dom), "%s.%s.%s.%s.c", label, label, label,
	    repeat(local, 'c', 62));
	ATF_CHECK_EQ(strlen(dom), 256);
	ATF_CHECK_EQ(addr_domain_valid(dom, &errstr), -1);
	ATF_CHECK_STREQ(errstr, "domain longer than 255 characters");

	/* address: 254 at most; 64 + 1 + 189 */
	repeat(label, 'd', 63);
	snprintf(dom, sizeof(dom), "%s.%s.%s", label, label, label);
	ATF_CHECK_EQ(strlen(dom), 191);
	dom[189] = '\0';
	snprintf(addr, sizeof(addr), "%s@%s", repeat(local, 'a', 64), dom);
	ATF_CHECK_EQ(strlen(addr), 254);
	parse_ok(addr, local, dom);
	snprintf(addr, sizeof(addr), "%s@%se", repeat(local, 'a', 64), dom);
	ATF_CHECK_EQ(strlen(addr), 255);
	refused(addr_parse, addr, "address longer than 254 characters");
}

ATF_TC_WITHOUT_HEAD(domain_valid);
ATF_TC_BODY(domain_valid, tc)
{
	const char	*errstr;

	ATF_CHECK_EQ(addr_domain_valid("example.org", &errstr), 0);
	ATF_CHECK_EQ(addr_domain_valid("localhost", &errstr), 0);
	ATF_CHECK_EQ(addr_domain_valid("xn--bcher-kva.example", &errstr), 0);
	ATF_CHECK_EQ(addr_domain_valid("", &errstr), -1);
	ATF_CHECK_STREQ(errstr, "empty domain");
	ATF_CHECK_EQ(addr_domain_valid("[127.0.0.1]", &errstr), -1);
	ATF_CHECK_STREQ(errstr, "address literals are not accepted");
	ATF_CHECK_EQ(addr_domain_valid("a/b.org", &errstr), -1);
	ATF_CHECK_STREQ(errstr, "bad character in domain");
	ATF_CHECK_EQ(addr_domain_valid("..", &errstr), -1);
}

ATF_TC_WITHOUT_HEAD(safe_accepts_plain_addresses);
ATF_TC_BODY(safe_accepts_plain_addresses, tc)
{
	struct mailaddr	 ma;
	const char	*errstr;

	ATF_CHECK_EQ(addr_parse_safe("First.Last+tag-x_y=z@Example.org", &ma,
	    &errstr), 0);
	ATF_CHECK_STREQ(ma.local, "First.Last+tag-x_y=z");
	ATF_CHECK_STREQ(ma.domain, "example.org");
}

ATF_TC_WITHOUT_HEAD(safe_refusals);
ATF_TC_BODY(safe_refusals, tc)
{
	refused(addr_parse_safe, "\"a b\"@d.org",
	    "quoted local parts are not accepted");
	refused(addr_parse_safe, "\"../x\"@d.org",
	    "quoted local parts are not accepted");
	refused(addr_parse_safe, "a/b@d.org", "'/' in local part");
	refused(addr_parse_safe, "a!b@d.org",
	    "'!' and '%' routing is not accepted");
	refused(addr_parse_safe, "a%b@d.org",
	    "'!' and '%' routing is not accepted");
	refused(addr_parse_safe, "|cmd@d.org", "'|' in local part");
	refused(addr_parse_safe, "#x@d.org", "'#' in local part");
	refused(addr_parse_safe, "..@d.org", "local part starts with a dot");
	refused(addr_parse_safe, ".x@d.org", "local part starts with a dot");
	refused(addr_parse_safe, "a..b@d.org", "\"..\" in local part");
	refused(addr_parse_safe, "x.@d.org", "local part ends with a dot");
	refused(addr_parse_safe, "a\001@d.org", "bad character in local part");
	refused(addr_parse_safe, "a:b@d.org", "bad character in local part");
	refused(addr_parse_safe, "a,b@d.org", "bad character in local part");
	refused(addr_parse_safe, "a@b@d.org", "bad character in domain");
	refused(addr_parse_safe, "@r:a@d.org", "source routes are not accepted");
	refused(addr_parse_safe, "a@[192.0.2.1]",
	    "address literals are not accepted");
}

ATF_TC_WITHOUT_HEAD(key_folds_case);
ATF_TC_BODY(key_folds_case, tc)
{
	struct mailaddr	 ma;
	const char	*errstr;
	char		 key[ADDR_MAX + 1], small[8];

	ATF_REQUIRE_EQ(addr_parse("Alice.Smith@Example.ORG", &ma, &errstr), 0);
	ATF_CHECK_EQ(addr_key(&ma, key, sizeof(key)), 0);
	ATF_CHECK_STREQ(key, "alice.smith@example.org");
	ATF_CHECK_STREQ(ma.local, "Alice.Smith");
	ATF_CHECK_EQ(addr_key(&ma, small, sizeof(small)), -1);
}

static void
strip(const char *addr, const char *delims, int want, const char *base)
{
	struct mailaddr	 ma, b;
	const char	*errstr;

	ATF_REQUIRE_EQ(addr_parse(addr, &ma, &errstr), 0);
	ATF_CHECK_EQ_MSG(addr_strip_tag(&ma, delims, &b), want, "\"%s\"",
	    addr);
	ATF_CHECK_STREQ_MSG(b.local, base, "for \"%s\"", addr);
	ATF_CHECK_STREQ(b.domain, ma.domain);
}

ATF_TC_WITHOUT_HEAD(strip_tag);
ATF_TC_BODY(strip_tag, tc)
{
	strip("user+tag@d.org", "+", 1, "user");
	strip("user+a+b@d.org", "+", 1, "user");
	strip("user+@d.org", "+", 1, "user");
	strip("user@d.org", "+", 0, "user");
	strip("+foo@d.org", "+", 0, "+foo");
	strip("user-tag@d.org", "+", 0, "user-tag");
	strip("user-tag+x@d.org", "-+", 1, "user");
	strip("user+tag-x@d.org", "-+", 1, "user");
	strip("user+tag@d.org", "", 0, "user+tag");
	strip("user+tag@d.org", NULL, 0, "user+tag");
	strip("\"user+tag\"@d.org", "+", 0, "\"user+tag\"");
	strip("User+Tag@D.org", "+", 1, "User");
}

ATF_TC_WITHOUT_HEAD(lower);
ATF_TC_BODY(lower, tc)
{
	char	s[] = "MiXeD-Case.ORG\xc3\x89";

	addr_lower(s);
	ATF_CHECK_STREQ(s, "mixed-case.org\xc3\x89");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, valid_forms);
	ATF_TP_ADD_TC(tp, domain_lower_cased_local_kept);
	ATF_TP_ADD_TC(tp, quoted_local_parts);
	ATF_TP_ADD_TC(tp, refusals);
	ATF_TP_ADD_TC(tp, length_limits);
	ATF_TP_ADD_TC(tp, domain_valid);
	ATF_TP_ADD_TC(tp, safe_accepts_plain_addresses);
	ATF_TP_ADD_TC(tp, safe_refusals);
	ATF_TP_ADD_TC(tp, key_folds_case);
	ATF_TP_ADD_TC(tp, strip_tag);
	ATF_TP_ADD_TC(tp, lower);
	return atf_no_error();
}
