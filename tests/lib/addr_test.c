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
	refused(addr_parse, ".a@b", "local part starts with a dot");
	refused(addr_parse, "a..b@c", "\"..\" in local part");
	refused(addr_parse, "a.@c", "local part ends with a dot");
	refused(addr_parse, "a b@c", "bad character in local part");
	refused(addr_parse, "a\nb@c", "bad character in local part");
	refused(addr_parse, "a\x7f@c", "bad character in local part");
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

/* RFC 6531: UTF-8 local parts kept as written, U-labels made A-labels. */
ATF_TC_WITHOUT_HEAD(utf8_accepted);
ATF_TC_BODY(utf8_accepted, tc)
{
	parse_ok("j\xc3\xb6rg@example.org", "j\xc3\xb6rg", "example.org");
	parse_ok("J\xc3\x96RG@example.org", "J\xc3\x96RG", "example.org");
	parse_ok("\"j\xc3\xb6 rg\"@example.org", "\"j\xc3\xb6 rg\"",
	    "example.org");
	parse_ok("a@m\xc3\xbcnchen.example", "a", "xn--mnchen-3ya.example");
	parse_ok("a@M\xc3\x9cNCHEN.Example", "a", "xn--mnchen-3ya.example");
	/* NFD (u + combining diaeresis) comes out the same. */
	parse_ok("a@mu\xcc\x88nchen.example", "a", "xn--mnchen-3ya.example");
	parse_ok("a@XN--MNCHEN-3YA.example", "a", "xn--mnchen-3ya.example");
	parse_ok("\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
	    "\xe5\xb9\xbf\xe5\x91\x8a", "\xe7\x94\xa8\xe6\x88\xb7",
	    "xn--fsqu00a.xn--4rr70v");
}

/* Bytes that are not UTF-8, or code points no address may hold. */
ATF_TC_WITHOUT_HEAD(utf8_malformed_refused);
ATF_TC_BODY(utf8_malformed_refused, tc)
{
	refused(addr_parse, "\xe9@example.org", "malformed UTF-8");
	refused(addr_parse, "a\xc3@example.org", "malformed UTF-8");
	refused(addr_parse, "a\x80" "b@example.org", "malformed UTF-8");
	/* Overlong forms of '/', '.' and NUL. */
	refused(addr_parse, "a\xc0\xaf" "b@example.org", "malformed UTF-8");
	refused(addr_parse, "a\xe0\x80\xae" "b@example.org", "malformed UTF-8");
	refused(addr_parse, "a\xc0\x80@example.org", "malformed UTF-8");
	/* A surrogate, U+D800, and beyond U+10FFFF. */
	refused(addr_parse, "a\xed\xa0\x80@example.org", "malformed UTF-8");
	refused(addr_parse, "a\xf4\x90\x80\x80@example.org",
	    "malformed UTF-8");
	refused(addr_parse, "a@b\xe9.org", "malformed UTF-8");
	/* C1 controls, U+0085 (NEL) and U+009B (CSI). */
	refused(addr_parse, "a\xc2\x85" "b@example.org", "control character");
	refused(addr_parse, "\"a\xc2\x9b\"@example.org", "control character");
	refused(addr_parse, "a@b\xc2\x85.org", "control character");
}

/* What libidn2 refuses, and what it lets through that no host has. */
ATF_TC_WITHOUT_HEAD(utf8_domain_refusals);
ATF_TC_BODY(utf8_domain_refusals, tc)
{
	struct mailaddr	 ma;
	const char	*errstr;

	ATF_CHECK(addr_parse("a@xn--abc.example", &ma, &errstr) == -1);
	ATF_CHECK(addr_parse("a@\xe2\x98\x83.example", &ma, &errstr) == -1);
	refused(addr_parse, "a@b\xc3\xbc" "cher..example",
	    "empty label in domain");
	refused(addr_parse, "a@b\xc3\xbc" "cher.example.",
	    "trailing dot in domain");
	refused(addr_parse, "a@b\xc3\xbc_cher.example",
	    "bad character in domain");
}

/* The domain of a map key is its A-label, whichever form was written. */
ATF_TC_WITHOUT_HEAD(ulabel_alabel_one_key);
ATF_TC_BODY(ulabel_alabel_one_key, tc)
{
	struct mailaddr	 a, b;
	const char	*errstr;
	char		 ka[ADDR_MAX + 1], kb[ADDR_MAX + 1];
	char		 d[ADDR_DOMAIN_MAX + 1];

	ATF_REQUIRE(addr_parse("Bob@M\xc3\xbcnchen.example", &a, &errstr) == 0);
	ATF_REQUIRE(addr_parse("bob@xn--mnchen-3ya.EXAMPLE", &b, &errstr) == 0);
	ATF_REQUIRE(addr_key(&a, ka, sizeof(ka)) == 0);
	ATF_REQUIRE(addr_key(&b, kb, sizeof(kb)) == 0);
	ATF_CHECK_STREQ(ka, "bob@xn--mnchen-3ya.example");
	ATF_CHECK_STREQ(ka, kb);
	ATF_REQUIRE(addr_domain_canon("M\xc3\xbcnchen.example", d, sizeof(d),
	    &errstr) == 0);
	ATF_CHECK_STREQ(d, "xn--mnchen-3ya.example");
	ATF_REQUIRE(addr_domain_canon("Example.ORG", d, sizeof(d), &errstr) == 0);
	ATF_CHECK_STREQ(d, "example.org");
}

/*
 * The key of a UTF-8 local part: NFC, and ASCII lower-casing only (as
 * Dovecot folds logins): "J\xc3\x96RG" keeps its capital O-umlaut.
 */
ATF_TC_WITHOUT_HEAD(utf8_key_nfc_ascii_fold);
ATF_TC_BODY(utf8_key_nfc_ascii_fold, tc)
{
	struct mailaddr	 ma;
	const char	*errstr;
	char		 key[ADDR_MAX + 1];

	ATF_REQUIRE(addr_parse("J\xc3\x96RG@example.org", &ma, &errstr) == 0);
	ATF_REQUIRE(addr_key(&ma, key, sizeof(key)) == 0);
	ATF_CHECK_STREQ(key, "j\xc3\x96rg@example.org");
	/* o + U+0308 COMBINING DIAERESIS: the key is the NFC o-umlaut. */
	ATF_REQUIRE(addr_parse("jo\xcc\x88rg@example.org", &ma, &errstr) == 0);
	ATF_CHECK_STREQ(ma.local, "jo\xcc\x88rg");
	ATF_REQUIRE(addr_key(&ma, key, sizeof(key)) == 0);
	ATF_CHECK_STREQ(key, "j\xc3\xb6rg@example.org");
	ATF_CHECK(addr_key(&ma, key, 8) == -1);
	/* "T" + U+0308 has no composed form; "t" + U+0308 is U+1E97. */
	ATF_REQUIRE(addr_parse("T\xcc\x88@example.org", &ma, &errstr) == 0);
	ATF_REQUIRE(addr_key(&ma, key, sizeof(key)) == 0);
	ATF_CHECK_STREQ(key, "\xe1\xba\x97@example.org");
	/* U+212A KELVIN SIGN: its NFC is ASCII "K", so the key has "k". */
	ATF_REQUIRE(addr_parse("\xe2\x84\xaa" "a@example.org", &ma,
	    &errstr) == 0);
	ATF_REQUIRE(addr_key(&ma, key, sizeof(key)) == 0);
	ATF_CHECK_STREQ(key, "ka@example.org");
}

/* What the admin commands write is in NFC, or refused. */
ATF_TC_WITHOUT_HEAD(safe_refuses_non_nfc);
ATF_TC_BODY(safe_refuses_non_nfc, tc)
{
	struct mailaddr	 ma;
	const char	*errstr;

	ATF_CHECK(addr_parse_safe("j\xc3\xb6rg@m\xc3\xbcnchen.example", &ma,
	    &errstr) == 0);
	refused(addr_parse_safe, "jo\xcc\x88rg@example.org",
	    "not in Unicode normalization form C (NFC)");
	refused(addr_parse_safe, "a@mu\xcc\x88nchen.example",
	    "not in Unicode normalization form C (NFC)");
	/* A fullwidth solidus is no '/': a byte string a path may hold. */
	ATF_CHECK(addr_parse_safe("a\xef\xbc\x8f" "b@example.org", &ma,
	    &errstr) == 0);
	ATF_CHECK(addr_utf8_nfc("plain"));
	ATF_CHECK(addr_is_ascii("plain"));
	ATF_CHECK(!addr_is_ascii("j\xc3\xb6rg"));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, utf8_accepted);
	ATF_TP_ADD_TC(tp, utf8_malformed_refused);
	ATF_TP_ADD_TC(tp, utf8_domain_refusals);
	ATF_TP_ADD_TC(tp, ulabel_alabel_one_key);
	ATF_TP_ADD_TC(tp, utf8_key_nfc_ascii_fold);
	ATF_TP_ADD_TC(tp, safe_refuses_non_nfc);
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
