/*
 * mapsrc.c: the text maps, their checks, and their installation.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <atf-c.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "libmail.h"
#include "fixture.h"

#define HASH	"{BLF-CRYPT}$2b$10$abcdefghijklmnopqrstuOabcdefghijklmnopqrstuvwxyz012"

/* A map directory "m" with the three sources. */
static void
mapdir(const char *domains, const char *users, const char *aliases)
{
	ATF_REQUIRE(mkdir("m", 0755) == 0);
	if (domains != NULL)
		fixture_write("m/domains", domains);
	if (users != NULL)
		fixture_write("m/users", users);
	if (aliases != NULL)
		fixture_write("m/aliases", aliases);
}

/* Sends stderr to the end of file "err"; what to give stderr_back. */
static int
stderr_to_err(void)
{
	int	saved, fd;

	fflush(stderr);
	saved = dup(2);
	ATF_REQUIRE((fd = open("err", O_WRONLY | O_CREAT | O_APPEND,
	    0644)) != -1);
	dup2(fd, 2);
	close(fd);
	return saved;
}

static void
stderr_back(int saved)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
}

/* Opens "m" with stderr sent to file "err"; the error count. */
static int
open_quiet(struct mapset *ms, int lock)
{
	int	saved, n;

	saved = stderr_to_err();
	n = mapset_open(ms, "m", lock);
	if (n >= 0)
		n += mapset_check(ms);
	stderr_back(saved);
	return n;
}

static int
err_has(const char *needle)
{
	char	*text;
	int	 found;

	text = fixture_read("err", NULL);
	found = strstr(text, needle) != NULL;
	if (!found)
		fprintf(stderr, "no \"%s\" in:\n%s", needle, text);
	free(text);
	return found;
}

static const char good_domains[] =
    "# hosted\n"
    "example.org owner=alice maxusers=100 maxaliases=500 quota=1G\n"
    "\n"
    "Example.NET alias=Example.org\n";
static const char good_users[] =
    "alice@example.org:" HASH ":1000:1000::/var/mail/example.org/alice::"
    "userdb_quota_rule=*:storage=1G\n"
    "# bob is locked\n"
    "bob@example.org:" HASH ":1000:1000:Bob:/var/mail/example.org/bob::"
    "nologin\n";
static const char good_aliases[] =
    "info@example.org:   alice@example.org,bob@example.org\n"
    "   # comment, indented\n"
    "postmaster@example.org: alice+tag@example.net\n";

ATF_TC_WITHOUT_HEAD(good_maps_values);
ATF_TC_BODY(good_maps_values, tc)
{
	struct mapset		 ms;
	struct mapsrc_line	*l;

	mapdir(good_domains, good_users, good_aliases);
	ATF_REQUIRE_EQ(open_quiet(&ms, 0), 0);
	ATF_REQUIRE((l = mapsrc_find(&ms.src[MAP_DOMAINS], "EXAMPLE.org")));
	ATF_CHECK_STREQ(l->value,
	    "owner=alice maxusers=100 maxaliases=500 quota=1G");
	ATF_CHECK_EQ(l->lineno, 2);
	ATF_REQUIRE((l = mapsrc_find(&ms.src[MAP_DOMAINS], "example.net")));
	ATF_CHECK_STREQ(l->key, "example.net");
	ATF_CHECK_STREQ(l->value, "alias=example.org");
	ATF_REQUIRE((l = mapsrc_find(&ms.src[MAP_USERS], "bob@example.org")));
	ATF_CHECK_STREQ(l->value, HASH ":1000:1000:Bob:"
	    "/var/mail/example.org/bob::nologin");
	ATF_REQUIRE((l = mapsrc_find(&ms.src[MAP_ALIASES],
	    "info@example.org")));
	ATF_CHECK_STREQ(l->value, "alice@example.org, bob@example.org");
	ATF_REQUIRE((l = mapsrc_find(&ms.src[MAP_ALIASES], "postmaster@example.org")));
	ATF_CHECK_STREQ(l->value, "alice+tag@example.net");
	ATF_CHECK(mapsrc_find(&ms.src[MAP_ALIASES], "x@example.org") == NULL);
	ATF_CHECK_EQ(ms.src[MAP_USERS].nlines, 3);
	mapset_close(&ms);
}

ATF_TC_WITHOUT_HEAD(missing_sources_are_empty);
ATF_TC_BODY(missing_sources_are_empty, tc)
{
	struct mapset	ms;

	mapdir(NULL, NULL, NULL);
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	ATF_CHECK_EQ(ms.src[MAP_USERS].nlines, 0);
	ATF_CHECK(access("m/.lock", F_OK) == 0);
	mapset_close(&ms);
}

ATF_TC_WITHOUT_HEAD(domains_errors);
ATF_TC_BODY(domains_errors, tc)
{
	struct mapset	ms;

	mapdir("bad..domain\n"
	    "a.org color=red\n"
	    "b.org maxusers=x\n"
	    "c.org quota=lots\n"
	    "d.org owner=a owner=b\n"
	    "e.org alias=e.org\n"
	    "f.org noequals\n"
	    "h.org alias=nothere.org\n"
	    " g.org\n"
	    "h.org\n", NULL, NULL);
	ATF_CHECK_EQ(open_quiet(&ms, 0), 10);
	ATF_CHECK(err_has("m/domains:1: bad domain 'bad..domain'"));
	ATF_CHECK(err_has("m/domains:2: unknown attribute 'color'"));
	ATF_CHECK(err_has("m/domains:3: bad number 'x' for 'maxusers'"));
	ATF_CHECK(err_has("m/domains:4: bad size 'lots' for 'quota'"));
	ATF_CHECK(err_has("m/domains:5: attribute 'owner' given twice"));
	ATF_CHECK(err_has("m/domains:6: domain is an alias of itself"));
	ATF_CHECK(err_has("m/domains:7: attribute 'noequals' is not"));
	ATF_CHECK(err_has("m/domains:8: h.org: alias of 'nothere.org', "
	    "which is not hosted"));
	ATF_CHECK(err_has("m/domains:9: line starts with white space"));
	ATF_CHECK(err_has("m/domains:10: duplicate key 'h.org' (first on "
	    "line 8)"));
	ATF_CHECK_EQ(ms.src[MAP_DOMAINS].nerrors, 10);
	mapset_close(&ms);
}

ATF_TC_WITHOUT_HEAD(users_errors);
ATF_TC_BODY(users_errors, tc)
{
	struct mapset	ms;

	mapdir("example.org\nalias.org alias=example.org\n",
	    "Alice@example.org:h:1:1::/a\n"
	    "root@example.org:h:0:1::/a\n"
	    "g@example.org:h:1:0::/a\n"
	    "rel@example.org:h:1:1::a\n"
	    "dd@example.org:h:1:1::/a/../b\n"
	    "q@example.org:h:1:1::/a::userdb_quota_rule=*:storage=x\n"
	    "few@example.org:h:1\n"
	    "nohash@example.org::1:1::/a\n"
	    "noaddr\n"
	    "a/b@example.org:h:1:1::/a\n"
	    "x@nothosted.org:h:1:1::/a\n"
	    "x@alias.org:h:1:1::/a\n"
	    "ok@example.org:h:1:1::/a\n"
	    "ok@example.org:h:1:1::/b\n"
	    "ctl@example.org:h:1:1::/a\001\n"
	    "tab@example.org:h:1:1::/a\tb\n", NULL);
	ATF_CHECK_EQ(open_quiet(&ms, 0), 15);
	ATF_CHECK(err_has("m/users:1: address 'Alice@example.org' is not in "
	    "lower case"));
	ATF_CHECK(err_has("m/users:2: root@example.org: UID 0"));
	ATF_CHECK(err_has("m/users:3: g@example.org: GID 0"));
	ATF_CHECK(err_has("m/users:4: rel@example.org: home is not an "
	    "absolute path"));
	ATF_CHECK(err_has("m/users:5: dd@example.org: '..' in home"));
	ATF_CHECK(err_has("m/users:6: q@example.org: bad size in "
	    "userdb_quota_rule"));
	ATF_CHECK(err_has("m/users:7: few@example.org: too few fields"));
	ATF_CHECK(err_has("m/users:8: nohash@example.org: empty password"));
	ATF_CHECK(err_has("m/users:9: missing ':' after the address"));
	ATF_CHECK(err_has("m/users:10: bad address 'a/b@example.org'"));
	ATF_CHECK(err_has("m/users:11: x@nothosted.org: domain "
	    "'nothosted.org' is not hosted"));
	ATF_CHECK(err_has("m/users:12: x@alias.org: domain 'alias.org' is "
	    "an alias of 'example.org'"));
	ATF_CHECK(err_has("m/users:14: duplicate key 'ok@example.org'"));
	ATF_CHECK(err_has("m/users:15: control character in line"));
	ATF_CHECK(err_has("m/users:16: tab@example.org: control character "
	    "in home"));
	mapset_close(&ms);
}

/*
 * "big@example.org:" and n - 1 targets of 30 characters, then one of
 * 11 + a + b, without spaces: stored with ", ", that is
 * 32 * (n - 1) + 11 + a + b bytes.
 */
static void
long_alias(FILE *fp, const char *key, int n, int a, int b)
{
	int	i;

	fprintf(fp, "%s:", key);
	for (i = 0; i < n - 1; i++)
		fprintf(fp, "abcdefghijklmnop%04d@r.example,", i);
	fprintf(fp, "last@%0*d.%0*d.test\n", a, 0, b, 0);
}

/* A value that grows past what the readers take is refused. */
ATF_TC_WITHOUT_HEAD(alias_value_too_long);
ATF_TC_BODY(alias_value_too_long, tc)
{
	struct mapset		 ms;
	struct mapsrc_line	*l;
	FILE			*fp;

	mapdir("example.org\n", NULL, NULL);
	ATF_REQUIRE((fp = fopen("m/aliases", "w")) != NULL);
	/* 32 * 2044 + 11 + 58 + 58 = 65535 and 65536 */
	long_alias(fp, "fits@example.org", 2045, 58, 58);
	long_alias(fp, "big@example.org", 2045, 59, 58);
	ATF_REQUIRE(fclose(fp) == 0);
	ATF_CHECK_EQ(open_quiet(&ms, 0), 1);
	ATF_CHECK(err_has("m/aliases:2: big@example.org: targets longer "
	    "than 65535 bytes when joined by \", \""));
	l = mapsrc_find(&ms.src[MAP_ALIASES], "fits@example.org");
	ATF_REQUIRE(l != NULL);
	ATF_CHECK_EQ(strlen(l->value), MAPSRC_LINE_MAX);
	mapset_close(&ms);
}

ATF_TC_WITHOUT_HEAD(aliases_errors);
ATF_TC_BODY(aliases_errors, tc)
{
	struct mapset	ms;

	mapdir("example.org\nalias.org alias=example.org\nplus.org\n",
	    "alice@example.org:h:1:1::/a\n",
	    "alice@example.org: bob@remote.net\n"
	    "a@example.org: nobody@example.org\n"
	    "b@example.org: alice+tag@alias.org, x@remote.net\n"
	    "c@example.org: a@b.c,, d@e.f\n"
	    "d@example.org:\n"
	    "e@example.org: a|b@c.d\n"
	    "f@example.org: alice@example.org, ALICE@example.org\n"
	    "@nothosted.org: alice@example.org\n"
	    "x@alias.org: alice@example.org\n"
	    "noc@example.org\n"
	    "g@example.org: someone@plus.org\n"
	    "@plus.org: alice@example.org\n"
	    "a@example.org: alice@example.org\n");
	ATF_CHECK_EQ(open_quiet(&ms, 0), 10);
	ATF_CHECK(err_has("m/aliases:1: alice@example.org: alias shadows"));
	ATF_CHECK(err_has("m/aliases:2: a@example.org: target "
	    "'nobody@example.org' is no mailbox, alias or catch-all"));
	ATF_CHECK(err_has("m/aliases:4: c@example.org: empty target"));
	ATF_CHECK(err_has("m/aliases:5: d@example.org: no target"));
	ATF_CHECK(err_has("m/aliases:6: e@example.org: bad target"));
	ATF_CHECK(err_has("m/aliases:7: f@example.org: target "
	    "'ALICE@example.org' given twice"));
	ATF_CHECK(err_has("m/aliases:8: @nothosted.org: domain "
	    "'nothosted.org' is not hosted"));
	ATF_CHECK(err_has("m/aliases:9: x@alias.org: domain 'alias.org' is "
	    "an alias"));
	ATF_CHECK(err_has("m/aliases:10: missing ':'"));
	ATF_CHECK(err_has("m/aliases:13: duplicate key 'a@example.org'"));
	mapset_close(&ms);
}

static int
quota_of(const char *rule, uint64_t *q)
{
	struct mapsrc_user	 u;
	const char		*errstr;
	char			 v[256];

	snprintf(v, sizeof(v), "h:1:1::/a::userdb_quota_rule=*:storage=%s",
	    rule);
	if (mapsrc_user_parse(v, &u, &errstr) == -1)
		return -1;
	*q = u.quota;
	return 0;
}

static const char *
quota_text(uint64_t q, char *buf, size_t len)
{
	struct mapsrc_user	 u;

	memset(&u, 0, sizeof(u));
	strlcpy(u.hash, "h", sizeof(u.hash));
	u.uid = u.gid = 1;
	strlcpy(u.home, "/a", sizeof(u.home));
	u.quota = q;
	ATF_REQUIRE_EQ(mapsrc_user_format(&u, buf, len), 0);
	return strstr(buf, "storage=");
}

/* As Dovecot: a bare number is KiB; B, K, M, G, T in any case. */
ATF_TC_WITHOUT_HEAD(user_quota_units);
ATF_TC_BODY(user_quota_units, tc)
{
	uint64_t	 q;
	char		 buf[256];

	ATF_REQUIRE_EQ(quota_of("10", &q), 0);
	ATF_CHECK_EQ(q, 10240);
	ATF_REQUIRE_EQ(quota_of("1000B", &q), 0);
	ATF_CHECK_EQ(q, 1000);
	ATF_REQUIRE_EQ(quota_of("1b", &q), 0);
	ATF_CHECK_EQ(q, 1);
	ATF_REQUIRE_EQ(quota_of("3k", &q), 0);
	ATF_CHECK_EQ(q, 3072);
	ATF_REQUIRE_EQ(quota_of("2m", &q), 0);
	ATF_CHECK_EQ(q, 2097152);
	ATF_REQUIRE_EQ(quota_of("1G", &q), 0);
	ATF_CHECK_EQ(q, 1073741824);
	ATF_REQUIRE_EQ(quota_of("1t", &q), 0);
	ATF_CHECK_EQ(q, 1099511627776ULL);
	ATF_REQUIRE_EQ(quota_of("16777215T", &q), 0);
	ATF_CHECK_EQ(q, 16777215ULL << 40);
	ATF_CHECK_EQ(quota_of("16777216T", &q), -1);
	ATF_CHECK_EQ(quota_of("18014398509481984", &q), -1);
	ATF_CHECK_EQ(quota_of("18446744073709551616B", &q), -1);
	ATF_CHECK_EQ(quota_of("", &q), -1);
	ATF_CHECK_EQ(quota_of("x", &q), -1);
	ATF_CHECK_EQ(quota_of("10X", &q), -1);
	ATF_CHECK_EQ(quota_of("1KB", &q), -1);
	ATF_CHECK_EQ(quota_of("-1K", &q), -1);
	ATF_CHECK_EQ(quota_of("10%", &q), -1);

	ATF_CHECK_STREQ(quota_text(1073741824, buf, sizeof(buf)),
	    "storage=1G");
	ATF_CHECK_STREQ(quota_text(1099511627776ULL, buf, sizeof(buf)),
	    "storage=1024G");
	ATF_CHECK_STREQ(quota_text(10485760, buf, sizeof(buf)),
	    "storage=10M");
	ATF_CHECK_STREQ(quota_text(1536 * 1024, buf, sizeof(buf)),
	    "storage=1536K");
	ATF_CHECK_STREQ(quota_text(1000, buf, sizeof(buf)), "storage=1000B");
	ATF_CHECK_STREQ(quota_text(1, buf, sizeof(buf)), "storage=1B");
	ATF_REQUIRE_EQ(quota_of("1536K", &q), 0);
	ATF_CHECK_EQ(q, 1536 * 1024);
}

ATF_TC_WITHOUT_HEAD(user_parse_format_roundtrip);
ATF_TC_BODY(user_parse_format_roundtrip, tc)
{
	const char	*v = HASH ":1000:1001:Al:/h/a:/bin/false:"
	    "userdb_quota_rule=*:storage=1M nologin mail=maildir:~/M";
	struct mapsrc_user u, w;
	const char	*errstr;
	char		 buf[2048];

	ATF_REQUIRE_EQ(mapsrc_user_parse(v, &u, &errstr), 0);
	ATF_CHECK_STREQ(u.hash, HASH);
	ATF_CHECK_EQ(u.uid, 1000);
	ATF_CHECK_EQ(u.gid, 1001);
	ATF_CHECK_STREQ(u.gecos, "Al");
	ATF_CHECK_STREQ(u.home, "/h/a");
	ATF_CHECK_STREQ(u.shell, "/bin/false");
	ATF_CHECK_EQ(u.quota, 1048576);
	ATF_CHECK_EQ(u.nologin, 1);
	ATF_CHECK_STREQ(u.extra, "mail=maildir:~/M");
	ATF_REQUIRE_EQ(mapsrc_user_format(&u, buf, sizeof(buf)), 0);
	ATF_CHECK_STREQ(buf, HASH ":1000:1001:Al:/h/a:/bin/false:"
	    "userdb_quota_rule=*:storage=1M nologin mail=maildir:~/M");

	memset(&w, 0, sizeof(w));
	strlcpy(w.hash, "{SHA512-CRYPT}$6$x", sizeof(w.hash));
	w.uid = w.gid = 5;
	strlcpy(w.home, "/var/mail/d/u", sizeof(w.home));
	ATF_REQUIRE_EQ(mapsrc_user_format(&w, buf, sizeof(buf)), 0);
	ATF_CHECK_STREQ(buf, "{SHA512-CRYPT}$6$x:5:5::/var/mail/d/u::");
	ATF_REQUIRE_EQ(mapsrc_user_parse(buf, &u, &errstr), 0);
	ATF_CHECK_EQ(u.quota, 0);
	ATF_CHECK_EQ(u.nologin, 0);
	ATF_CHECK_EQ(mapsrc_user_format(&w, buf, 10), -1);

	ATF_CHECK_EQ(mapsrc_user_parse("h:0:1::/a", &u, &errstr), -1);
	ATF_CHECK_EQ(mapsrc_user_parse("h:1:1::rel", &u, &errstr), -1);
	ATF_CHECK_STREQ(errstr, "home is not an absolute path");
}

ATF_TC_WITHOUT_HEAD(domain_attr_lookup);
ATF_TC_BODY(domain_attr_lookup, tc)
{
	char	buf[64];

	ATF_CHECK_STREQ(mapsrc_domain_attr("owner=a maxusers=100", "maxusers",
	    buf, sizeof(buf)), "100");
	ATF_CHECK(mapsrc_domain_attr("owner=a maxusers=100", "max", buf,
	    sizeof(buf)) == NULL);
	ATF_CHECK(mapsrc_domain_attr("-", "owner", buf, sizeof(buf)) == NULL);
	ATF_CHECK(mapsrc_domain_attr("owner=alice", "owner", buf, 3) == NULL);
}

/* Rewriting keeps comments, blank lines and order; edits land in place. */
ATF_TC_WITHOUT_HEAD(rewrite_keeps_comments);
ATF_TC_BODY(rewrite_keeps_comments, tc)
{
	struct mapset		 ms;
	struct mapsrc_line	*l;
	struct map		*m;
	char			*text, val[256];

	mapdir(good_domains, good_users, good_aliases);
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	ATF_REQUIRE((l = mapsrc_find(&ms.src[MAP_ALIASES],
	    "info@example.org")) != NULL);
	ATF_REQUIRE_EQ(mapsrc_replace(&ms.src[MAP_ALIASES], l,
	    "info@example.org: bob@example.org"), 0);
	ATF_REQUIRE_EQ(mapsrc_add(&ms.src[MAP_ALIASES],
	    "sales@example.org: carol@remote.net"), 0);
	ATF_REQUIRE_EQ(mapset_install(&ms, 1 << MAP_ALIASES, getgid()), 0);
	mapset_close(&ms);
	text = fixture_read("m/aliases", NULL);
	ATF_CHECK_STREQ(text, "info@example.org: bob@example.org\n"
	    "   # comment, indented\n"
	    "postmaster@example.org: alice+tag@example.net\n"
	    "sales@example.org: carol@remote.net\n");
	free(text);
	ATF_REQUIRE((m = map_open("m", "aliases")) != NULL);
	ATF_CHECK_EQ(map_lookup(m, "sales@example.org", val, sizeof(val)), 1);
	ATF_CHECK_STREQ(val, "carol@remote.net");
	ATF_CHECK_EQ(map_lookup(m, "info@example.org", val, sizeof(val)), 1);
	ATF_CHECK_STREQ(val, "bob@example.org");
	map_close(m);
}

/*
 * The lines kept are copied from the file as read, in runs, and the
 * others written: every mix gives the lines in order, one newline each,
 * also for a last line that had none.
 */
ATF_TC_WITHOUT_HEAD(rewrite_mixes_kept_and_new_lines);
ATF_TC_BODY(rewrite_mixes_kept_and_new_lines, tc)
{
	struct mapset		 ms;
	struct mapsrc		*src;
	char			*text;

	mapdir("example.org\n", NULL,
	    "a@example.org: x@remote.test\n"
	    "# one\n"
	    "b@example.org: x@remote.test\n"
	    "c@example.org: x@remote.test\n"
	    "\n"
	    "d@example.org: x@remote.test\n"
	    "e@example.org: x@remote.test");
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	src = &ms.src[MAP_ALIASES];
	mapsrc_remove(src, mapsrc_find(src, "b@example.org"));
	ATF_REQUIRE_EQ(mapsrc_replace(src, mapsrc_find(src, "d@example.org"),
	    "d@example.org: y@remote.test"), 0);
	ATF_REQUIRE_EQ(mapsrc_add(src, "f@example.org: z@remote.test"), 0);
	ATF_REQUIRE_EQ(mapset_install(&ms, 1 << MAP_ALIASES, getgid()), 0);
	text = fixture_read("m/aliases", NULL);
	ATF_CHECK_STREQ(text, "a@example.org: x@remote.test\n"
	    "# one\n"
	    "c@example.org: x@remote.test\n"
	    "\n"
	    "d@example.org: y@remote.test\n"
	    "e@example.org: x@remote.test\n"
	    "f@example.org: z@remote.test\n");
	free(text);
	/* Again in the same session, from the file read first. */
	mapsrc_remove(src, mapsrc_find(src, "a@example.org"));
	ATF_REQUIRE_EQ(mapset_install(&ms, 1 << MAP_ALIASES, getgid()), 0);
	mapset_close(&ms);
	text = fixture_read("m/aliases", NULL);
	ATF_CHECK_STREQ(text, "# one\n"
	    "c@example.org: x@remote.test\n"
	    "\n"
	    "d@example.org: y@remote.test\n"
	    "e@example.org: x@remote.test\n"
	    "f@example.org: z@remote.test\n");
	free(text);
}

/*
 * The temporary files and kept-aside copies of a writer that crashed
 * go with the next change of the maps; nothing else does, and a
 * writer that changes nothing removes nothing.
 */
ATF_TC_WITHOUT_HEAD(crash_leftovers_swept);
ATF_TC_BODY(crash_leftovers_swept, tc)
{
	static const char *const leftovers[] = { "m/.users.0badc0de",
	    "m/.users.db.12345678", "m/.aliases.undo.a1b2c3d4",
	    "m/.domains.db.undo.00ff00ff", NULL };
	static const char *const kept[] = { "m/.users.keep", "m/.usersx.12345678",
	    "m/.users.db.1234567", "m/.users.db.ABCDEF12", "m/users.0badc0de",
	    NULL };
	const char *const *f;
	struct mapset	 ms;

	mapdir("example.org\n", NULL, "a@example.org: x@remote.test\n");
	for (f = leftovers; *f != NULL; f++)
		fixture_write(*f, "x");
	for (f = kept; *f != NULL; f++)
		fixture_write(*f, "x");
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	mapset_close(&ms);
	for (f = leftovers; *f != NULL; f++)
		ATF_CHECK_MSG(access(*f, F_OK) == 0, "%s gone on a read", *f);
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	ATF_REQUIRE_EQ(mapsrc_add(&ms.src[MAP_ALIASES],
	    "b@example.org: y@remote.test"), 0);
	ATF_REQUIRE_EQ(mapset_install(&ms, 1 << MAP_ALIASES, getgid()), 0);
	mapset_close(&ms);
	for (f = leftovers; *f != NULL; f++)
		ATF_CHECK_MSG(access(*f, F_OK) == -1, "%s left", *f);
	for (f = kept; *f != NULL; f++)
		ATF_CHECK_MSG(access(*f, F_OK) == 0, "%s removed", *f);
}

/* "m" with good maps, installed so that each .db is the index of its text. */
static void
installed_mapdir(const char *users)
{
	struct mapset	 ms;

	mapdir(good_domains, users, good_aliases);
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	ATF_REQUIRE_EQ(mapset_compile(&ms, (1 << MAP_COUNT) - 1, getgid()),
	    0);
	mapset_close(&ms);
}

/*
 * MAPSET_APPEND: a miss and a hit answer as the text does, and an added
 * line lands after the file copied as it was, in the text and the .db.
 */
ATF_TC_WITHOUT_HEAD(append_finds_and_appends);
ATF_TC_BODY(append_finds_and_appends, tc)
{
	struct mapset		 ms;
	struct mapsrc		*src;
	struct mapsrc_line	*l;
	struct map		*m;
	char			*text, want[4096], val[512];

	installed_mapdir(good_users);
	ATF_REQUIRE_EQ(mapset_open_flags(&ms, "m", MAPSET_LOCK |
	    MAPSET_APPEND), 0);
	src = &ms.src[MAP_USERS];
	ATF_CHECK(mapsrc_find(src, "carol@example.org") == NULL);
	ATF_REQUIRE_EQ(mapsrc_add(src, "carol@example.org:" HASH
	    ":1000:1000::/var/mail/example.org/carol::"), 0);
	ATF_CHECK(mapsrc_find(src, "Carol@example.org") != NULL);
	ATF_CHECK_EQ(mapsrc_add(src, "carol@example.org:" HASH
	    ":1000:1000::/x::"), -1);
	ATF_REQUIRE_EQ(mapset_install(&ms, 1 << MAP_USERS, getgid()), 0);
	/* A key of the file: its line, with the file's line number. */
	ATF_REQUIRE((l = mapsrc_find(src, "BOB@example.org")) != NULL);
	ATF_CHECK_EQ(l->lineno, 3);
	ATF_CHECK(strstr(l->value, ":Bob:") != NULL);
	ATF_CHECK(mapsrc_find(src, "carol@example.org") != NULL);
	mapset_close(&ms);
	text = fixture_read("m/users", NULL);
	snprintf(want, sizeof(want), "%scarol@example.org:%s:1000:1000::"
	    "/var/mail/example.org/carol::\n", good_users, HASH);
	ATF_CHECK_STREQ(text, want);
	free(text);
	ATF_REQUIRE((m = map_open("m", "users")) != NULL);
	ATF_CHECK_EQ(map_lookup(m, "carol@example.org", val, sizeof(val)), 1);
	ATF_CHECK_EQ(map_lookup(m, "alice@example.org", val, sizeof(val)), 1);
	ATF_CHECK_EQ(map_lookup(m, "bob@example.org", val, sizeof(val)), 1);
	map_close(m);
	/* Trusted again: read with every check, nothing is wrong. */
	ATF_REQUIRE_EQ(mapset_open_flags(&ms, "m", MAPSET_VERIFY), 0);
	ATF_CHECK_EQ(mapset_check(&ms), 0);
	ATF_CHECK_EQ(ms.src[MAP_USERS].nkeys, 3);
	mapset_close(&ms);
}

/* A file without its last newline gets one before the line added. */
ATF_TC_WITHOUT_HEAD(append_after_missing_newline);
ATF_TC_BODY(append_after_missing_newline, tc)
{
	struct mapset	 ms;
	char		*text;

	installed_mapdir("alice@example.org:" HASH ":1:1::/a::\n"
	    "bob@example.org:" HASH ":1:1::/b::");
	ATF_REQUIRE_EQ(mapset_open_flags(&ms, "m", MAPSET_LOCK |
	    MAPSET_APPEND), 0);
	ATF_REQUIRE_EQ(mapsrc_add(&ms.src[MAP_USERS], "carol@example.org:"
	    HASH ":1:1::/c::"), 0);
	ATF_REQUIRE_EQ(mapset_install(&ms, 1 << MAP_USERS, getgid()), 0);
	mapset_close(&ms);
	text = fixture_read("m/users", NULL);
	ATF_CHECK_STREQ(text, "alice@example.org:" HASH ":1:1::/a::\n"
	    "bob@example.org:" HASH ":1:1::/b::\n"
	    "carol@example.org:" HASH ":1:1::/c::\n");
	free(text);
}

/* mapsrc_read_all: the lines of the file, then those added. */
ATF_TC_WITHOUT_HEAD(append_read_all_keeps_order);
ATF_TC_BODY(append_read_all_keeps_order, tc)
{
	struct mapset	 ms;
	struct mapsrc	*src;

	installed_mapdir(good_users);
	ATF_REQUIRE_EQ(mapset_open_flags(&ms, "m", MAPSET_LOCK |
	    MAPSET_APPEND), 0);
	src = &ms.src[MAP_USERS];
	ATF_REQUIRE_EQ(mapsrc_add(src, "carol@example.org:" HASH
	    ":1:1::/c::"), 0);
	ATF_REQUIRE_EQ(mapsrc_read_all(src), 0);
	ATF_REQUIRE_EQ(src->nlines, 4);
	ATF_CHECK_STREQ(src->lines[0].key, "alice@example.org");
	ATF_CHECK_STREQ(src->lines[1].text, "# bob is locked");
	ATF_CHECK_STREQ(src->lines[2].key, "bob@example.org");
	ATF_CHECK_STREQ(src->lines[3].key, "carol@example.org");
	ATF_CHECK_EQ(src->nkeys, 3);
	ATF_CHECK(mapsrc_find(src, "carol@example.org") == &src->lines[3]);
	mapset_close(&ms);
}

/* A line added to path in place, as by someone who took no lock. */
static void
edit_in_place(const char *path)
{
	int	fd;

	ATF_REQUIRE((fd = open(path, O_WRONLY | O_APPEND)) != -1);
	ATF_REQUIRE(write(fd, "# edited\n", 9) == 9);
	close(fd);
}

/*
 * mapset_install of the users map in ms refuses, naming the file at
 * fault, and m/users stays as it was, nothing left beside it; closes ms.
 */
static void
install_refused(struct mapset *ms, const char *fault)
{
	char	*before, *after;
	int	 saved;

	before = fixture_read("m/users", NULL);
	saved = stderr_to_err();
	ATF_CHECK_EQ(mapset_install(ms, 1 << MAP_USERS, getgid()), -1);
	stderr_back(saved);
	mapset_close(ms);
	ATF_CHECK(err_has(fault));
	after = fixture_read("m/users", NULL);
	ATF_CHECK_STREQ(after, before);
	free(before);
	free(after);
	ATF_CHECK_EQ(fixture_count_files("m"), 7);
}

/*
 * A file changed on disk after it was opened, by someone who did not
 * take the lock, is not overwritten with what was copied before.
 */
ATF_TC_WITHOUT_HEAD(append_refuses_file_changed_meanwhile);
ATF_TC_BODY(append_refuses_file_changed_meanwhile, tc)
{
	struct mapset	 ms;

	installed_mapdir(good_users);
	ATF_REQUIRE_EQ(mapset_open_flags(&ms, "m", MAPSET_LOCK |
	    MAPSET_APPEND), 0);
	ATF_REQUIRE_EQ(mapsrc_add(&ms.src[MAP_USERS], "carol@example.org:"
	    HASH ":1:1::/c::"), 0);
	edit_in_place("m/users");
	install_refused(&ms, "m/users");
}

/*
 * A lookup in a map left unread whose text then cannot be read (here:
 * changed in place since) has no answer: "not found" would let a
 * mailbox shadow an alias.  No map of the set is written after it.
 */
ATF_TC_WITHOUT_HEAD(append_unread_answer_blocks_every_write);
ATF_TC_BODY(append_unread_answer_blocks_every_write, tc)
{
	struct mapset	 ms;
	int		 saved;

	installed_mapdir(good_users);
	ATF_REQUIRE_EQ(mapset_open_flags(&ms, "m", MAPSET_LOCK |
	    MAPSET_APPEND), 0);
	edit_in_place("m/aliases");
	saved = stderr_to_err();
	ATF_CHECK(mapsrc_find(&ms.src[MAP_ALIASES], "info@example.org") ==
	    NULL);
	stderr_back(saved);
	ATF_REQUIRE_EQ(mapsrc_add(&ms.src[MAP_USERS], "info@example.org:"
	    HASH ":1:1::/i::"), 0);
	install_refused(&ms, "m/aliases");
}

/*
 * A .db built in full from a map left unread gets the lines of its
 * file too, not only those added (mapset_compile builds in full).
 */
ATF_TC_WITHOUT_HEAD(append_full_build_reads_the_file);
ATF_TC_BODY(append_full_build_reads_the_file, tc)
{
	struct mapset	 ms;
	struct map	*m;
	char		 val[512];

	installed_mapdir(good_users);
	ATF_REQUIRE_EQ(mapset_open_flags(&ms, "m", MAPSET_LOCK |
	    MAPSET_APPEND), 0);
	ATF_REQUIRE_EQ(mapsrc_add(&ms.src[MAP_USERS], "carol@example.org:"
	    HASH ":1:1::/c::"), 0);
	ATF_REQUIRE_EQ(mapset_compile(&ms, 1 << MAP_USERS, getgid()), 0);
	mapset_close(&ms);
	ATF_REQUIRE((m = map_open("m", "users")) != NULL);
	ATF_CHECK_EQ(map_lookup(m, "alice@example.org", val, sizeof(val)), 1);
	ATF_CHECK_EQ(map_lookup(m, "bob@example.org", val, sizeof(val)), 1);
	ATF_CHECK_EQ(map_lookup(m, "carol@example.org", val, sizeof(val)), 1);
	map_close(m);
}

ATF_TC_WITHOUT_HEAD(add_replace_remove_refusals);
ATF_TC_BODY(add_replace_remove_refusals, tc)
{
	struct mapset		 ms;
	struct mapsrc		*src;
	struct mapsrc_line	*l;

	mapdir(good_domains, good_users, good_aliases);
	ATF_REQUIRE_EQ(open_quiet(&ms, 0), 0);
	src = &ms.src[MAP_USERS];
	ATF_CHECK_EQ(mapsrc_add(src, "alice@example.org:" HASH
	    ":1:1::/x"), -1);
	ATF_CHECK_EQ(mapsrc_add(src, "carol@example.org:" HASH ":0:1::/x"),
	    -1);
	ATF_CHECK_EQ(src->nlines, 3);
	ATF_REQUIRE((l = mapsrc_find(src, "bob@example.org")) != NULL);
	ATF_CHECK_EQ(mapsrc_replace(src, l, "alice@example.org:" HASH
	    ":1:1::/x"), -1);
	ATF_CHECK_EQ(mapsrc_replace(src, l, "bob@example.org:" HASH
	    ":1:1::/new"), 0);
	ATF_REQUIRE((l = mapsrc_find(src, "bob@example.org")) != NULL);
	ATF_CHECK(strstr(l->value, "/new") != NULL);
	mapsrc_remove(src, l);
	ATF_CHECK(mapsrc_find(src, "bob@example.org") == NULL);
	ATF_CHECK(mapsrc_find(src, "alice@example.org") != NULL);
	ATF_CHECK_EQ(mapsrc_add(src, "bob@example.org:" HASH ":1:1::/x"), 0);
	ATF_CHECK(mapsrc_find(src, "bob@example.org") != NULL);
	mapset_close(&ms);
}

ATF_TC_WITHOUT_HEAD(install_modes);
ATF_TC_BODY(install_modes, tc)
{
	struct mapset	ms;
	struct stat	sb;

	mapdir(good_domains, good_users, good_aliases);
	ATF_REQUIRE(chmod("m/users", 0666) == 0);
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	ATF_REQUIRE_EQ(mapset_install(&ms, (1 << MAP_COUNT) - 1, getgid()),
	    0);
	mapset_close(&ms);
	ATF_REQUIRE(stat("m/users", &sb) == 0);
	ATF_CHECK_EQ(sb.st_mode & 07777, 0640);
	ATF_CHECK_EQ(sb.st_gid, getgid());
	ATF_REQUIRE(stat("m/users.db", &sb) == 0);
	ATF_CHECK_EQ(sb.st_mode & 07777, 0640);
	ATF_REQUIRE(stat("m/domains.db", &sb) == 0);
	ATF_CHECK_EQ(sb.st_mode & 07777, 0644);
	ATF_REQUIRE(stat("m/aliases", &sb) == 0);
	ATF_CHECK_EQ(sb.st_mode & 07777, 0644);
	/* The three sources, their .db and the lock: no temporary file. */
	ATF_CHECK_EQ(fixture_count_files("m"), 7);
}

/* A failed install changes nothing and leaves no temporary file. */
ATF_TC_WITHOUT_HEAD(install_failure_changes_nothing);
ATF_TC_BODY(install_failure_changes_nothing, tc)
{
	struct mapset	 ms;
	char		*before, *after;

	mapdir(good_domains, good_users, good_aliases);
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	ATF_REQUIRE_EQ(mapset_install(&ms, 1 << MAP_USERS, getgid()), 0);
	before = fixture_read("m/users.db", NULL);
	ATF_REQUIRE_EQ(mapsrc_add(&ms.src[MAP_USERS], "carol@example.org:"
	    HASH ":1:1::/x"), 0);
	/* users.db is a directory now: its rename must fail. */
	ATF_REQUIRE(rename("m/users.db", "m/saved.db") == 0);
	ATF_REQUIRE(mkdir("m/users.db", 0755) == 0);
	ATF_REQUIRE(mkdir("m/users.db/x", 0755) == 0);
	ATF_CHECK_EQ(mapset_install(&ms, 1 << MAP_USERS, getgid()), -1);
	mapset_close(&ms);
	ATF_CHECK(strstr(fixture_read("m/users", NULL), "carol") == NULL);
	after = fixture_read("m/saved.db", NULL);
	ATF_CHECK(memcmp(before, after, 4096) == 0);
	/* sources, saved.db, users.db (the directory), the lock */
	ATF_CHECK_EQ(fixture_count_files("m"), 6);
	free(before);
	free(after);
}

/*
 * The install of three maps fails at the last .db: the two installed
 * already get their old text and .db back, and no link is left.
 */
ATF_TC_WITHOUT_HEAD(install_failure_puts_back);
ATF_TC_BODY(install_failure_puts_back, tc)
{
	static const char *const files[] = {
		"m/domains", "m/domains.db", "m/users", "m/users.db"
	};
	struct mapset	 ms;
	char		*before[4], *after;
	struct stat	 st[4], st2;
	size_t		 i;

	mapdir(good_domains, good_users, good_aliases);
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	ATF_REQUIRE_EQ(mapset_install(&ms, 7, getgid()), 0);
	for (i = 0; i < 4; i++) {
		before[i] = fixture_read(files[i], NULL);
		ATF_REQUIRE(stat(files[i], &st[i]) == 0);
	}
	ATF_REQUIRE_EQ(mapsrc_add(&ms.src[MAP_DOMAINS], "new.org"), 0);
	ATF_REQUIRE_EQ(mapsrc_add(&ms.src[MAP_USERS], "carol@example.org:"
	    HASH ":1:1::/x"), 0);
	ATF_REQUIRE_EQ(mapsrc_add(&ms.src[MAP_ALIASES],
	    "x@example.org: alice@example.org"), 0);
	ATF_REQUIRE(unlink("m/aliases.db") == 0);
	ATF_REQUIRE(mkdir("m/aliases.db", 0755) == 0);
	ATF_REQUIRE(mkdir("m/aliases.db/x", 0755) == 0);
	ATF_CHECK_EQ(mapset_install(&ms, 7, getgid()), -1);
	mapset_close(&ms);
	for (i = 0; i < 4; i++) {
		after = fixture_read(files[i], NULL);
		ATF_REQUIRE(stat(files[i], &st2) == 0);
		ATF_CHECK_MSG(st2.st_size == st[i].st_size &&
		    memcmp(before[i], after, st2.st_size) == 0 &&
		    st2.st_ino == st[i].st_ino, "%s changed", files[i]);
		free(before[i]);
		free(after);
	}
	ATF_CHECK(strstr(fixture_read("m/aliases", NULL), "x@example.org") == NULL);
	/* the three sources, domains.db, users.db, aliases.db, the lock */
	ATF_CHECK_EQ(fixture_count_files("m"), 7);
}

/* The incremental path (copy of the .db) gives the same answers. */
ATF_TC_WITHOUT_HEAD(incremental_install_agrees);
ATF_TC_BODY(incremental_install_agrees, tc)
{
	struct mapset		 ms;
	struct mapsrc_line	*l;
	struct map		*m;
	FILE			*fp;
	char			 line[512], val[512];
	int			 i;

	mapdir("example.org\n", NULL, NULL);
	ATF_REQUIRE((fp = fopen("m/users", "w")) != NULL);
	for (i = 0; i < 3000; i++)
		fprintf(fp, "u%d@example.org:" HASH ":1:1::/m/u%d\n", i, i);
	fclose(fp);
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	ATF_CHECK_EQ(ms.src[MAP_USERS].dbmatch, 0);
	ATF_REQUIRE_EQ(mapset_compile(&ms, 1 << MAP_USERS, getgid()), 0);
	mapset_close(&ms);

	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	ATF_CHECK_EQ(ms.src[MAP_USERS].dbmatch, 1);
	ATF_REQUIRE_EQ(mapsrc_add(&ms.src[MAP_USERS], "new@example.org:"
	    HASH ":1:1::/m/new"), 0);
	ATF_REQUIRE((l = mapsrc_find(&ms.src[MAP_USERS], "u7@example.org")));
	mapsrc_remove(&ms.src[MAP_USERS], l);
	ATF_REQUIRE((l = mapsrc_find(&ms.src[MAP_USERS], "u8@example.org")));
	snprintf(line, sizeof(line), "u8@example.org:" HASH ":1:1::/m/eight");
	ATF_REQUIRE_EQ(mapsrc_replace(&ms.src[MAP_USERS], l, line), 0);
	ATF_REQUIRE_EQ(mapset_install(&ms, 1 << MAP_USERS, getgid()), 0);
	/* A second change in the same session stays consistent. */
	ATF_REQUIRE_EQ(mapsrc_add(&ms.src[MAP_USERS], "two@example.org:"
	    HASH ":1:1::/m/two"), 0);
	ATF_REQUIRE_EQ(mapset_install(&ms, 1 << MAP_USERS, getgid()), 0);
	mapset_close(&ms);

	ATF_REQUIRE((m = map_open("m", "users")) != NULL);
	ATF_CHECK_EQ(map_lookup(m, "u7@example.org", val, sizeof(val)), 0);
	ATF_CHECK_EQ(map_lookup(m, "new@example.org", val, sizeof(val)), 1);
	ATF_CHECK_EQ(map_lookup(m, "two@example.org", val, sizeof(val)), 1);
	ATF_CHECK_EQ(map_lookup(m, "u8@example.org", val, sizeof(val)), 1);
	ATF_CHECK(strstr(val, "/m/eight") != NULL);
	ATF_CHECK_EQ(map_lookup(m, "u2999@example.org", val, sizeof(val)), 1);
	map_close(m);
	ATF_REQUIRE_EQ(open_quiet(&ms, 0), 0);
	ATF_CHECK_EQ(ms.src[MAP_USERS].dbmatch, 1);
	ATF_CHECK(mapsrc_find(&ms.src[MAP_USERS], "two@example.org") != NULL);
	mapset_close(&ms);
}

/* An edit of the text behind the tools' back forces a full rebuild. */
ATF_TC_WITHOUT_HEAD(edited_text_not_incremental);
ATF_TC_BODY(edited_text_not_incremental, tc)
{
	struct timeval	tv[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	struct mapset	ms;
	struct map	*m;
	FILE		*fp;
	char		 val[512];
	int		 i;

	mapdir("example.org\n", NULL, NULL);
	ATF_REQUIRE((fp = fopen("m/users", "w")) != NULL);
	for (i = 0; i < 2000; i++)
		fprintf(fp, "u%d@example.org:" HASH ":1:1::/m/u%d\n", i, i);
	fclose(fp);
	/* An old mtime, so that the edit below surely changes it. */
	ATF_REQUIRE(utimes("m/users", tv) == 0);
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	ATF_REQUIRE_EQ(mapset_compile(&ms, 1 << MAP_USERS, getgid()), 0);
	mapset_close(&ms);
	ATF_REQUIRE((fp = fopen("m/users", "a")) != NULL);
	fprintf(fp, "hand@example.org:" HASH ":1:1::/m/hand\n");
	fclose(fp);
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	ATF_CHECK_EQ(ms.src[MAP_USERS].dbmatch, 0);
	ATF_REQUIRE_EQ(mapsrc_add(&ms.src[MAP_USERS], "tool@example.org:"
	    HASH ":1:1::/m/tool"), 0);
	ATF_REQUIRE_EQ(mapset_install(&ms, 1 << MAP_USERS, getgid()), 0);
	mapset_close(&ms);
	ATF_REQUIRE((m = map_open("m", "users")) != NULL);
	ATF_CHECK_EQ(map_lookup(m, "hand@example.org", val, sizeof(val)), 1);
	ATF_CHECK_EQ(map_lookup(m, "tool@example.org", val, sizeof(val)), 1);
	map_close(m);
}

/*
 * A text map its .db was compiled from is read without the checks
 * (trusted), and gives the same keys and values as a full reading.
 */
ATF_TC_WITHOUT_HEAD(trusted_reading_agrees);
ATF_TC_BODY(trusted_reading_agrees, tc)
{
	const char *const keys[] = { "a@example.org", "b@example.org",
	    "c@example.org", "d@example.org", "alice@example.org", NULL };
	struct mapset		 ms, vs;
	struct mapsrc_line	*l, *v;
	int			 kind, i;

	mapdir("example.org\n",
	    "alice@example.org:" HASH ":1:1::/m/alice::nologin\n",
	    "a@example.org: alice@example.org, x@remote.test\n"
	    "B@Example.ORG:alice@example.org,x@remote.test\n"
	    "c@example.org:\talice@example.org ,  x@remote.test  \n"
	    "# comment\n"
	    "d@example.org: alice@example.org\n");
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	ATF_REQUIRE_EQ(mapset_compile(&ms, (1 << MAP_COUNT) - 1, getgid()),
	    0);
	mapset_close(&ms);
	ATF_REQUIRE_EQ(open_quiet(&ms, 0), 0);
	ATF_CHECK_EQ(ms.src[MAP_ALIASES].trusted, 1);
	ATF_CHECK_EQ(ms.src[MAP_USERS].trusted, 1);
	ATF_REQUIRE(mapset_open_flags(&vs, "m", MAPSET_VERIFY) == 0);
	ATF_CHECK_EQ(vs.src[MAP_ALIASES].trusted, 0);
	for (i = 0; keys[i] != NULL; i++) {
		kind = i < 4 ? MAP_ALIASES : MAP_USERS;
		l = mapsrc_find(&ms.src[kind], keys[i]);
		v = mapsrc_find(&vs.src[kind], keys[i]);
		ATF_REQUIRE_MSG(l != NULL && v != NULL, "%s", keys[i]);
		ATF_CHECK_STREQ(l->key, v->key);
		ATF_CHECK_STREQ(l->value, v->value);
	}
	l = mapsrc_find(&ms.src[MAP_ALIASES], "c@example.org");
	ATF_CHECK_STREQ(l->value, "alice@example.org, x@remote.test");
	ATF_CHECK_EQ(ms.src[MAP_ALIASES].nlines, 5);
	mapset_close(&ms);
	mapset_close(&vs);
}

/*
 * Each text map installed has an mtime later in whole seconds than the
 * file it replaces, ahead of the clock (as after a burst of changes, or
 * a clock set back) or not, and its .db that mtime to the nanosecond,
 * so that it is trusted when read next.
 */
ATF_TC_WITHOUT_HEAD(install_mtime_later_than_replaced);
ATF_TC_BODY(install_mtime_later_than_replaced, tc)
{
	/* By kind: MAP_DOMAINS, MAP_USERS, MAP_ALIASES. */
	static const char *const texts[] = { "m/domains", "m/users",
	    "m/aliases", NULL };
	struct timespec	 ts[2], before, after;
	struct mapset	 ms;
	struct stat	 sb, dbsb;
	char		 dbpath[64];
	time_t		 last;
	int		 i, kind;

	mapdir(good_domains, good_users, good_aliases);
	ATF_REQUIRE(clock_gettime(CLOCK_REALTIME, &before) == 0);
	ts[0].tv_sec = ts[1].tv_sec = before.tv_sec + 3600;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	for (kind = 0; texts[kind] != NULL; kind++)
		ATF_REQUIRE(utimensat(AT_FDCWD, texts[kind], ts, 0) == 0);
	/* Three in a row, within a second of one another. */
	for (last = ts[1].tv_sec, i = 0; i < 3; i++, last++) {
		ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
		for (kind = 0; texts[kind] != NULL; kind++)
			ATF_CHECK_EQ(ms.src[kind].dbmatch, i > 0);
		ATF_REQUIRE_EQ(mapset_install(&ms, 1 << MAP_DOMAINS |
		    1 << MAP_USERS | 1 << MAP_ALIASES, getgid()), 0);
		mapset_close(&ms);
		for (kind = 0; texts[kind] != NULL; kind++) {
			snprintf(dbpath, sizeof(dbpath), "%s.db", texts[kind]);
			ATF_REQUIRE(stat(texts[kind], &sb) == 0);
			ATF_REQUIRE(stat(dbpath, &dbsb) == 0);
			ATF_CHECK_EQ(sb.st_mtim.tv_sec, last + 1);
			ATF_CHECK(dbsb.st_mtim.tv_sec == sb.st_mtim.tv_sec &&
			    dbsb.st_mtim.tv_nsec == sb.st_mtim.tv_nsec);
		}
	}
	/* Behind the clock: the time of the install. */
	ts[0].tv_sec = ts[1].tv_sec = 1000000000;
	ATF_REQUIRE(utimensat(AT_FDCWD, "m/users", ts, 0) == 0);
	ATF_REQUIRE(clock_gettime(CLOCK_REALTIME, &before) == 0);
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	ATF_REQUIRE_EQ(mapset_install(&ms, 1 << MAP_USERS, getgid()), 0);
	mapset_close(&ms);
	ATF_REQUIRE(clock_gettime(CLOCK_REALTIME, &after) == 0);
	ATF_REQUIRE(stat("m/users", &sb) == 0);
	ATF_CHECK(sb.st_mtim.tv_sec >= before.tv_sec &&
	    sb.st_mtim.tv_sec <= after.tv_sec);
}

ATF_TC_WITHOUT_HEAD(lock_is_exclusive);
ATF_TC_BODY(lock_is_exclusive, tc)
{
	struct mapset	ms;
	int		fd;

	mapdir(good_domains, good_users, good_aliases);
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	ATF_REQUIRE((fd = open("m/.lock", O_RDONLY)) != -1);
	ATF_CHECK_EQ(flock(fd, LOCK_EX | LOCK_NB), -1);
	mapset_close(&ms);
	ATF_CHECK_EQ(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
}

/*
 * Whoever can open the lock file can take the lock (Linux grants
 * LOCK_EX on a read-only descriptor): it is made 0600, and an existing
 * one readable by others (the 0644 of older writers) is put right.
 */
ATF_TC_WITHOUT_HEAD(lock_file_0600);
ATF_TC_BODY(lock_file_0600, tc)
{
	struct mapset	ms;
	struct stat	sb;

	umask(022);
	mapdir(good_domains, good_users, good_aliases);
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	ATF_REQUIRE(stat("m/.lock", &sb) == 0);
	ATF_CHECK_EQ(sb.st_mode & 07777, 0600);
	mapset_close(&ms);
}

ATF_TC_WITHOUT_HEAD(lock_file_mode_fixed);
ATF_TC_BODY(lock_file_mode_fixed, tc)
{
	struct mapset	ms;
	struct stat	sb;

	mapdir(good_domains, good_users, good_aliases);
	fixture_write("m/.lock", "");
	ATF_REQUIRE(chmod("m/.lock", 0644) == 0);
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	ATF_REQUIRE(stat("m/.lock", &sb) == 0);
	ATF_CHECK_EQ(sb.st_mode & 07777, 0600);
	mapset_close(&ms);
	/* A reader takes no lock and changes nothing. */
	ATF_REQUIRE(chmod("m/.lock", 0644) == 0);
	ATF_REQUIRE_EQ(open_quiet(&ms, 0), 0);
	ATF_REQUIRE(stat("m/.lock", &sb) == 0);
	ATF_CHECK_EQ(sb.st_mode & 07777, 0644);
	mapset_close(&ms);
}

/*
 * A writer waits for a lock held by another for mapset_lock_wait
 * seconds, then gives up with EWOULDBLOCK (the commands exit 75).  The
 * alarm ends the test if it waits for ever.
 */
ATF_TC_WITHOUT_HEAD(lock_wait_bounded);
ATF_TC_BODY(lock_wait_bounded, tc)
{
	struct mapset	ms;
	struct timespec	t0, t1;
	int		fd, saved, n, e;

	mapdir(good_domains, good_users, good_aliases);
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	mapset_close(&ms);
	ATF_REQUIRE((fd = open("m/.lock", O_RDONLY)) != -1);
	ATF_REQUIRE(flock(fd, LOCK_EX) == 0);
	mapset_lock_wait = 1;
	alarm(10);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	saved = stderr_to_err();
	n = mapset_open(&ms, "m", 1);
	e = errno;
	stderr_back(saved);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	alarm(0);
	ATF_CHECK_EQ(n, -1);
	ATF_CHECK_EQ(e, EWOULDBLOCK);
	ATF_CHECK(t1.tv_sec - t0.tv_sec >= 1 && t1.tv_sec - t0.tv_sec < 5);
	ATF_CHECK(err_has("m/.lock: another writer has held the lock for 1 s; "
	    "giving up"));
	close(fd);
	ATF_REQUIRE_EQ(open_quiet(&ms, 1), 0);
	mapset_close(&ms);
}

/*
 * Opened for the mail user, a users line must name its UID and GID
 * (mailmaps(5)); so must a line added.  Without ids, any but 0 pass.
 */
ATF_TC_WITHOUT_HEAD(users_ids_of_mail_user);
ATF_TC_BODY(users_ids_of_mail_user, tc)
{
	static const char users[] =
	    "alice@example.org:" HASH ":1000:1000::/var/mail/a::\n"
	    "bob@example.org:" HASH ":1:1000::/var/mail/b::\n"
	    "carol@example.org:" HASH ":1000:1::/var/mail/c::\n";
	struct mapset	ms;
	int		saved, n;

	mapdir(good_domains, users, "");
	saved = stderr_to_err();
	n = mapset_open_ids(&ms, "m", MAPSET_LOCK, 1000, 1000);
	ATF_CHECK_EQ(mapsrc_add(&ms.src[MAP_USERS], "dave@example.org:" HASH
	    ":1000:1001::/var/mail/d::"), -1);
	ATF_CHECK_EQ(mapsrc_add(&ms.src[MAP_USERS], "erin@example.org:" HASH
	    ":1000:1000::/var/mail/e::"), 0);
	stderr_back(saved);
	ATF_CHECK_EQ(n, 2);
	ATF_CHECK(err_has("m/users:2: bob@example.org: UID 1 is not the mail "
	    "user's (1000)\n"));
	ATF_CHECK(err_has("m/users:3: carol@example.org: GID 1 is not the "
	    "mail user's (1000)\n"));
	ATF_CHECK(err_has("m/users: dave@example.org: GID 1001 is not the "
	    "mail user's (1000)\n"));
	mapset_close(&ms);
	ATF_REQUIRE_EQ(open_quiet(&ms, 0), 0);
	mapset_close(&ms);
}

/* A users line whose hash asks for too much work is an error. */
ATF_TC_WITHOUT_HEAD(users_hash_cost_bounded);
ATF_TC_BODY(users_hash_cost_bounded, tc)
{
	static const char users[] =
	    "alice@example.org:{BLF-CRYPT}$2b$16$abcdefghijklmnopqrstuOabcdef"
	    "ghijklmnopqrstuvwxyz012:1000:1000::/var/mail/a::\n"
	    "bob@example.org:{ARGON2ID}$argon2id$v=19$m=1048576,t=1,p=4$c2Fs"
	    "dHNhbHQ$aGFzaGhhc2g:1000:1000::/var/mail/b::\n"
	    "carol@example.org:{BLF-CRYPT}$2b$13$abcdefghijklmnopqrstuOabcdef"
	    "ghijklmnopqrstuvwxyz012:1000:1000::/var/mail/c::\n"
	    "dave@example.org:{PLAIN}notours:1000:1000::/var/mail/d"
	    "::\n";
	struct mapset	ms;

	mapdir(good_domains, users, "");
	ATF_CHECK_EQ(open_quiet(&ms, 0), 2);
	ATF_CHECK(err_has("m/users:1: alice@example.org: bcrypt cost 16 "
	    "above 13\n"));
	ATF_CHECK(err_has("m/users:2: bob@example.org: Argon2 memory "
	    "m=1048576 above 262144 KiB\n"));
	mapset_close(&ms);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, lock_file_0600);
	ATF_TP_ADD_TC(tp, lock_file_mode_fixed);
	ATF_TP_ADD_TC(tp, lock_wait_bounded);
	ATF_TP_ADD_TC(tp, users_ids_of_mail_user);
	ATF_TP_ADD_TC(tp, users_hash_cost_bounded);
	ATF_TP_ADD_TC(tp, good_maps_values);
	ATF_TP_ADD_TC(tp, crash_leftovers_swept);
	ATF_TP_ADD_TC(tp, append_finds_and_appends);
	ATF_TP_ADD_TC(tp, append_after_missing_newline);
	ATF_TP_ADD_TC(tp, append_read_all_keeps_order);
	ATF_TP_ADD_TC(tp, append_refuses_file_changed_meanwhile);
	ATF_TP_ADD_TC(tp, append_unread_answer_blocks_every_write);
	ATF_TP_ADD_TC(tp, append_full_build_reads_the_file);
	ATF_TP_ADD_TC(tp, missing_sources_are_empty);
	ATF_TP_ADD_TC(tp, domains_errors);
	ATF_TP_ADD_TC(tp, users_errors);
	ATF_TP_ADD_TC(tp, aliases_errors);
	ATF_TP_ADD_TC(tp, alias_value_too_long);
	ATF_TP_ADD_TC(tp, user_parse_format_roundtrip);
	ATF_TP_ADD_TC(tp, domain_attr_lookup);
	ATF_TP_ADD_TC(tp, rewrite_keeps_comments);
	ATF_TP_ADD_TC(tp, rewrite_mixes_kept_and_new_lines);
	ATF_TP_ADD_TC(tp, add_replace_remove_refusals);
	ATF_TP_ADD_TC(tp, install_modes);
	ATF_TP_ADD_TC(tp, install_failure_changes_nothing);
	ATF_TP_ADD_TC(tp, install_failure_puts_back);
	ATF_TP_ADD_TC(tp, install_mtime_later_than_replaced);
	ATF_TP_ADD_TC(tp, incremental_install_agrees);
	ATF_TP_ADD_TC(tp, edited_text_not_incremental);
	ATF_TP_ADD_TC(tp, trusted_reading_agrees);
	ATF_TP_ADD_TC(tp, lock_is_exclusive);
	ATF_TP_ADD_TC(tp, user_quota_units);
	return atf_no_error();
}
