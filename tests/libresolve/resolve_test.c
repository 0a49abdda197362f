/*
 * Tests of resolve.c: every rule of resolve_rcpt (smtpd's RCPT check)
 * and resolve_expand (deliver's alias expansion), over .db maps built
 * in the test's work directory.
 */
#include <sys/stat.h>

#include <atf-c.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmail.h"

#define HASH	"{BLF-CRYPT}$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"
#define USER(home, extra) HASH ":1000:1000::" home "::" extra

static const char *const domains[] = {
	"example.org", "maxaliases=100",
	"example.net", "alias=example.org",
	"chain.test", "alias=example.net",
	"dangling.test", "alias=nowhere.test",
	"other.org", "-",
	"catch.test", "-",
	"loopy.test", "-",
	NULL
};

static const char *const users[] = {
	"alice@example.org",
	    USER("/mail/example.org/alice", "userdb_quota_rule=*:storage=1024"),
	"bob@example.org", USER("/mail/example.org/bob", ""),
	"locked@example.org", USER("/mail/example.org/locked", "nologin"),
	"a+b@example.org", USER("/mail/example.org/a+b", ""),
	"carol@other.org", USER("/mail/other.org/carol", ""),
	"dan@catch.test", USER("/mail/catch.test/dan", ""),
	NULL
};

static const char *const aliases[] = {
	"info@example.org", "alice@example.org, bob@example.org",
	"team@example.org",
	    "info@example.org, alice@example.org, Carol@Remote.Example",
	"team2@example.org", "team@example.org, carol@remote.example",
	"team3@example.org", "team@example.org, Carol@remote.example",
	"loop1@example.org", "loop2@example.org, bob@example.org",
	"loop2@example.org", "loop1@example.org, alice@example.org",
	"ring1@example.org", "ring2@example.org",
	"ring2@example.org", "ring1@example.org",
	"self@example.org", "self@example.org",
	"stale@example.org", "gone@example.org, bob@example.org",
	"viadomain@example.org", "alice@example.net, bob+x@example.org",
	"tagalias@example.org", "alice+news@example.org",
	"postmaster@other.org", "carol@other.org",
	"@catch.test", "dan@catch.test",
	"sales@catch.test", "bob@example.org",
	"@loopy.test", "nobody@loopy.test",
	"badtarget@example.org", "not an address",
	NULL
};

static struct conf conf;

static void
build(const char *name, const char *const *pairs)
{
	struct map_builder	*b;
	char			 path[PATH_MAX];
	size_t			 i;

	snprintf(path, sizeof(path), "maps/%s.db", name);
	ATF_REQUIRE((b = map_build_begin(path)) != NULL);
	for (i = 0; pairs[i] != NULL; i += 2)
		ATF_REQUIRE_EQ(map_build_put(b, pairs[i], pairs[i + 1]), 0);
	ATF_REQUIRE_EQ(map_build_commit(b), 0);
}

/* The deep chain d0 -> d1 -> ... -> d<n> -> alice. */
static void
build_chain(int n)
{
	struct map_builder	*b;
	char			 key[64], val[64];
	size_t			 i;
	int			 d;

	ATF_REQUIRE((b = map_build_begin("maps/aliases.db")) != NULL);
	for (i = 0; aliases[i] != NULL; i += 2)
		ATF_REQUIRE_EQ(map_build_put(b, aliases[i], aliases[i + 1]), 0);
	for (d = 0; d < n; d++) {
		snprintf(key, sizeof(key), "d%d@example.org", d);
		snprintf(val, sizeof(val), "d%d@example.org", d + 1);
		ATF_REQUIRE_EQ(map_build_put(b, key, val), 0);
	}
	snprintf(key, sizeof(key), "d%d@example.org", n);
	ATF_REQUIRE_EQ(map_build_put(b, key, "alice@example.org"), 0);
	ATF_REQUIRE_EQ(map_build_commit(b), 0);
}

static void
setup(struct resolver *r)
{
	memset(&conf, 0, sizeof(conf));
	ATF_REQUIRE(getcwd(conf.mapdir, sizeof(conf.mapdir)) != NULL);
	strlcat(conf.mapdir, "/maps", sizeof(conf.mapdir));
	strlcpy(conf.recipient_delimiter, "+", sizeof(conf.recipient_delimiter));
	strlcpy(conf.postmaster, "root@admin.example", sizeof(conf.postmaster));
	ATF_REQUIRE(mkdir("maps", 0755) == 0 || errno == EEXIST);
	build("domains", domains);
	build("users", users);
	build("aliases", aliases);
	if (r != NULL)
		ATF_REQUIRE_EQ(resolver_open(r, &conf), 0);
}

static int
rcpt(struct resolver *r, const char *s)
{
	struct mailaddr	 a;
	const char	*errstr;

	ATF_REQUIRE_MSG(addr_parse(s, &a, &errstr) == 0, "%s: %s", s, errstr);
	return resolve_rcpt(r, &a);
}

static int
expand(struct resolver *r, const char *s, struct resolve_target **t)
{
	struct mailaddr	 a;
	const char	*errstr;

	ATF_REQUIRE_MSG(addr_parse(s, &a, &errstr) == 0, "%s: %s", s, errstr);
	return resolve_expand(r, &a, t);
}

static const struct resolve_target *
find(const struct resolve_target *t, int n, const char *addr)
{
	int	i;

	for (i = 0; i < n; i++)
		if (strcmp(t[i].addr, addr) == 0)
			return &t[i];
	return NULL;
}

/* n targets, exactly the local mailboxes and remote addresses listed. */
static void
expect(struct resolver *r, const char *addr, const char *local,
    const char *remote)
{
	struct resolve_target		*t;
	const struct resolve_target	*f;
	char				*list, *p, *item;
	int				 n, want = 0, pass;

	n = expand(r, addr, &t);
	for (pass = 0; pass < 2; pass++) {
		if ((list = strdup(pass == 0 ? local : remote)) == NULL)
			atf_tc_fail("strdup");
		p = list;
		while ((item = strsep(&p, " ")) != NULL) {
			if (*item == '\0')
				continue;
			want++;
			f = find(t, n, item);
			ATF_REQUIRE_MSG(f != NULL, "%s: %s missing", addr, item);
			ATF_CHECK_EQ_MSG(f->local, pass == 0, "%s: %s local=%d",
			    addr, item, f->local);
			ATF_CHECK_EQ(f->unknown, 0);
		}
		free(list);
	}
	ATF_CHECK_EQ_MSG(n, want, "%s: %d targets, expected %d", addr, n,
	    want);
	free(t);
}

ATF_TC_WITHOUT_HEAD(rcpt_mailbox);
ATF_TC_BODY(rcpt_mailbox, tc)
{
	struct resolver	r;

	setup(&r);
	ATF_CHECK_EQ(rcpt(&r, "alice@example.org"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "ALICE@Example.ORG"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "carol@other.org"), RESOLVE_LOCAL);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(rcpt_quoted_local_part);
ATF_TC_BODY(rcpt_quoted_local_part, tc)
{
	struct resolver		 r;
	struct resolve_target	*t;

	setup(&r);
	/* Quotes that are not needed change nothing (RFC 5321 4.1.2). */
	ATF_CHECK_EQ(rcpt(&r, "\"alice\"@example.org"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "\"al\\ice\"@example.org"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "\"info+x\"@example.net"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "\"a b\"@example.org"), RESOLVE_UNKNOWN);
	ATF_CHECK_EQ(rcpt(&r, "\"../alice\"@example.org"), RESOLVE_UNKNOWN);
	ATF_CHECK_EQ(rcpt(&r, "\"\"@example.org"), RESOLVE_UNKNOWN);
	expect(&r, "\"alice\"@example.org", "alice@example.org", "");
	/* A remote address is passed on as it was written. */
	expect(&r, "\"odd..name\"@remote.example", "",
	    "\"odd..name\"@remote.example");
	expect(&r, "\"bob\"@remote.example", "", "\"bob\"@remote.example");
	ATF_CHECK_EQ(expand(&r, "\"a b\"@example.org", &t), 0);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(rcpt_locked_mailbox);
ATF_TC_BODY(rcpt_locked_mailbox, tc)
{
	struct resolver	r;

	setup(&r);
	ATF_CHECK_EQ(rcpt(&r, "locked@example.org"), RESOLVE_LOCAL);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(rcpt_alias);
ATF_TC_BODY(rcpt_alias, tc)
{
	struct resolver	r;

	setup(&r);
	ATF_CHECK_EQ(rcpt(&r, "info@example.org"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "Team@example.org"), RESOLVE_LOCAL);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(rcpt_unknown);
ATF_TC_BODY(rcpt_unknown, tc)
{
	struct resolver	r;

	setup(&r);
	ATF_CHECK_EQ(rcpt(&r, "nobody@example.org"), RESOLVE_UNKNOWN);
	ATF_CHECK_EQ(rcpt(&r, "nobody@other.org"), RESOLVE_UNKNOWN);
	ATF_CHECK_EQ(rcpt(&r, "alice@other.org"), RESOLVE_UNKNOWN);
	ATF_CHECK_EQ(rcpt(&r, "\"alice@example.org\"@example.org"),
	    RESOLVE_UNKNOWN);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(rcpt_remote);
ATF_TC_BODY(rcpt_remote, tc)
{
	struct resolver	r;

	setup(&r);
	ATF_CHECK_EQ(rcpt(&r, "alice@remote.example"), RESOLVE_REMOTE);
	ATF_CHECK_EQ(rcpt(&r, "alice@sub.example.org"), RESOLVE_REMOTE);
	ATF_CHECK_EQ(rcpt(&r, "nowhere@nowhere.test"), RESOLVE_REMOTE);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(rcpt_alias_domain);
ATF_TC_BODY(rcpt_alias_domain, tc)
{
	struct resolver	r;

	setup(&r);
	ATF_CHECK_EQ(rcpt(&r, "alice@example.net"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "info@EXAMPLE.net"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "alice+tag@example.net"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "postmaster@example.net"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "nobody@example.net"), RESOLVE_UNKNOWN);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(rcpt_alias_domain_chain_refused);
ATF_TC_BODY(rcpt_alias_domain_chain_refused, tc)
{
	struct resolver	r;

	setup(&r);
	ATF_CHECK_EQ(rcpt(&r, "alice@chain.test"), RESOLVE_UNKNOWN);
	ATF_CHECK_EQ(rcpt(&r, "postmaster@chain.test"), RESOLVE_UNKNOWN);
	ATF_CHECK_EQ(rcpt(&r, "alice@dangling.test"), RESOLVE_UNKNOWN);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(rcpt_tag);
ATF_TC_BODY(rcpt_tag, tc)
{
	struct resolver	r;

	setup(&r);
	ATF_CHECK_EQ(rcpt(&r, "alice+news@example.org"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "info+x@example.org"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "a+b@example.org"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "nobody+x@example.org"), RESOLVE_UNKNOWN);
	ATF_CHECK_EQ(rcpt(&r, "+alice@example.org"), RESOLVE_UNKNOWN);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(rcpt_tag_delimiter_off);
ATF_TC_BODY(rcpt_tag_delimiter_off, tc)
{
	struct resolver	r;

	setup(&r);
	conf.recipient_delimiter[0] = '\0';
	ATF_CHECK_EQ(rcpt(&r, "alice+news@example.org"), RESOLVE_UNKNOWN);
	ATF_CHECK_EQ(rcpt(&r, "a+b@example.org"), RESOLVE_LOCAL);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(rcpt_postmaster_abuse);
ATF_TC_BODY(rcpt_postmaster_abuse, tc)
{
	struct resolver	r;

	setup(&r);
	ATF_CHECK_EQ(rcpt(&r, "postmaster@example.org"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "PostMaster@example.org"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "abuse@example.org"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "postmaster@other.org"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "abuse+x@loopy.test"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "hostmaster@example.org"), RESOLVE_UNKNOWN);
	ATF_CHECK_EQ(rcpt(&r, "postmaster@remote.example"), RESOLVE_REMOTE);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(rcpt_catchall);
ATF_TC_BODY(rcpt_catchall, tc)
{
	struct resolver	r;

	setup(&r);
	ATF_CHECK_EQ(rcpt(&r, "anything@catch.test"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "dan@catch.test"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "sales@catch.test"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "\"odd name\"@catch.test"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "anything@other.org"), RESOLVE_UNKNOWN);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(rcpt_map_missing);
ATF_TC_BODY(rcpt_map_missing, tc)
{
	struct resolver	r;

	setup(NULL);
	ATF_REQUIRE_EQ(unlink("maps/users.db"), 0);
	ATF_CHECK_EQ(resolver_open(&r, &conf), -1);
	ATF_CHECK_EQ(rcpt(&r, "alice@example.org"), -1);
	ATF_CHECK_EQ(rcpt(&r, "nobody@example.org"), -1);
	/* The maps appear: the next lookup opens them. */
	build("users", users);
	ATF_CHECK_EQ(rcpt(&r, "alice@example.org"), RESOLVE_LOCAL);
	resolver_close(&r);

	ATF_REQUIRE_EQ(unlink("maps/domains.db"), 0);
	ATF_CHECK_EQ(resolver_open(&r, &conf), -1);
	ATF_CHECK_EQ(rcpt(&r, "alice@remote.example"), -1);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(rcpt_map_unreadable);
ATF_TC_BODY(rcpt_map_unreadable, tc)
{
	struct resolver	r;
	FILE		*fp;

	if (geteuid() == 0)
		atf_tc_skip("root reads any file");
	setup(NULL);
	ATF_REQUIRE_EQ(chmod("maps/aliases.db", 0), 0);
	ATF_CHECK_EQ(resolver_open(&r, &conf), -1);
	ATF_CHECK_EQ(rcpt(&r, "info@example.org"), -1);
	ATF_CHECK_EQ(rcpt(&r, "nobody@example.org"), -1);
	resolver_close(&r);

	/* Not a database at all. */
	ATF_REQUIRE_EQ(unlink("maps/aliases.db"), 0);
	ATF_REQUIRE((fp = fopen("maps/aliases.db", "w")) != NULL);
	fputs("info@example.org alice@example.org\n", fp);
	fclose(fp);
	ATF_CHECK_EQ(resolver_open(&r, &conf), -1);
	ATF_CHECK_EQ(rcpt(&r, "info@example.org"), -1);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(refresh_replaced_map);
ATF_TC_BODY(refresh_replaced_map, tc)
{
	static const char *const more[] = {
		"newbie@example.org", USER("/mail/example.org/newbie", ""),
		NULL
	};
	struct resolver	r;

	setup(&r);
	ATF_CHECK_EQ(rcpt(&r, "newbie@example.org"), RESOLVE_UNKNOWN);
	build("users", more);
	ATF_CHECK_EQ(resolver_refresh(&r), 0);
	ATF_CHECK_EQ(rcpt(&r, "newbie@example.org"), RESOLVE_LOCAL);
	ATF_CHECK_EQ(rcpt(&r, "alice@example.org"), RESOLVE_UNKNOWN);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(expand_mailbox);
ATF_TC_BODY(expand_mailbox, tc)
{
	struct resolver		 r;
	struct resolve_target	*t;

	setup(&r);
	ATF_REQUIRE_EQ(expand(&r, "Alice@EXAMPLE.org", &t), 1);
	ATF_CHECK_STREQ(t[0].addr, "alice@example.org");
	ATF_CHECK_EQ(t[0].local, 1);
	ATF_CHECK_EQ(t[0].unknown, 0);
	ATF_CHECK_STREQ(t[0].maildir, "/mail/example.org/alice");
	ATF_CHECK_EQ(t[0].quota, 1048576);
	free(t);
	ATF_REQUIRE_EQ(expand(&r, "bob@example.org", &t), 1);
	ATF_CHECK_EQ(t[0].quota, 0);
	free(t);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(expand_locked_mailbox);
ATF_TC_BODY(expand_locked_mailbox, tc)
{
	struct resolver	r;

	setup(&r);
	expect(&r, "locked@example.org", "locked@example.org", "");
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(expand_alias_several_targets);
ATF_TC_BODY(expand_alias_several_targets, tc)
{
	struct resolver	r;

	setup(&r);
	expect(&r, "info@example.org", "alice@example.org bob@example.org",
	    "");
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(expand_nested_duplicates_removed);
ATF_TC_BODY(expand_nested_duplicates_removed, tc)
{
	struct resolver	r;

	setup(&r);
	/* info's alice, alice again, and one remote address twice. */
	expect(&r, "team@example.org", "alice@example.org bob@example.org",
	    "Carol@remote.example");
	expect(&r, "team3@example.org", "alice@example.org bob@example.org",
	    "Carol@remote.example");
	/* Only the remote host may say that Carol and carol are one. */
	expect(&r, "team2@example.org", "alice@example.org bob@example.org",
	    "Carol@remote.example carol@remote.example");
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(expand_loop_keeps_other_targets);
ATF_TC_BODY(expand_loop_keeps_other_targets, tc)
{
	struct resolver	r;

	setup(&r);
	expect(&r, "loop1@example.org", "alice@example.org bob@example.org",
	    "");
	expect(&r, "loop2@example.org", "alice@example.org bob@example.org",
	    "");
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(expand_loop_nothing_left);
ATF_TC_BODY(expand_loop_nothing_left, tc)
{
	struct resolver		 r;
	struct resolve_target	*t;

	setup(&r);
	ATF_CHECK_EQ(expand(&r, "ring1@example.org", &t), -2);
	ATF_CHECK_EQ(t, NULL);
	ATF_CHECK_EQ(expand(&r, "self@example.org", &t), -2);
	ATF_CHECK_EQ(expand(&r, "anyone@loopy.test", &t), -2);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(expand_depth_limit);
ATF_TC_BODY(expand_depth_limit, tc)
{
	struct resolver		 r;
	struct resolve_target	*t;

	setup(NULL);
	build_chain(RESOLVE_DEPTH_MAX - 1);
	ATF_REQUIRE_EQ(resolver_open(&r, &conf), 0);
	expect(&r, "d0@example.org", "alice@example.org", "");
	resolver_close(&r);
	build_chain(RESOLVE_DEPTH_MAX + 5);
	ATF_REQUIRE_EQ(resolver_open(&r, &conf), 0);
	ATF_CHECK_EQ(expand(&r, "d0@example.org", &t), -2);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(expand_alias_domain);
ATF_TC_BODY(expand_alias_domain, tc)
{
	struct resolver		 r;
	struct resolve_target	*t;

	setup(&r);
	expect(&r, "alice@example.net", "alice@example.org", "");
	expect(&r, "info@example.net", "alice@example.org bob@example.org",
	    "");
	expect(&r, "viadomain@example.org", "alice@example.org "
	    "bob@example.org", "");
	ATF_CHECK_EQ(expand(&r, "nobody@example.net", &t), 0);
	ATF_CHECK_EQ(expand(&r, "alice@chain.test", &t), 0);
	ATF_CHECK_EQ(expand(&r, "alice@dangling.test", &t), 0);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(expand_catchall_only_when_no_mailbox_or_alias);
ATF_TC_BODY(expand_catchall_only_when_no_mailbox_or_alias, tc)
{
	struct resolver	r;

	setup(&r);
	expect(&r, "anything@catch.test", "dan@catch.test", "");
	expect(&r, "sales@catch.test", "bob@example.org", "");
	expect(&r, "dan+x@catch.test", "dan@catch.test", "");
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(expand_tag_to_base_mailbox);
ATF_TC_BODY(expand_tag_to_base_mailbox, tc)
{
	struct resolver	r;

	setup(&r);
	expect(&r, "alice+news@example.org", "alice@example.org", "");
	expect(&r, "tagalias@example.org", "alice@example.org", "");
	expect(&r, "info+x@example.org", "alice@example.org bob@example.org",
	    "");
	/* A mailbox named with the delimiter is found before the split. */
	expect(&r, "a+b@example.org", "a+b@example.org", "");
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(expand_postmaster_with_alias);
ATF_TC_BODY(expand_postmaster_with_alias, tc)
{
	struct resolver	r;

	setup(&r);
	expect(&r, "postmaster@other.org", "carol@other.org", "");
	expect(&r, "Postmaster+x@other.org", "carol@other.org", "");
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(expand_postmaster_without_alias);
ATF_TC_BODY(expand_postmaster_without_alias, tc)
{
	struct resolver		 r;
	struct resolve_target	*t;

	setup(&r);
	expect(&r, "postmaster@example.org", "", "root@admin.example");
	expect(&r, "abuse@example.net", "", "root@admin.example");
	expect(&r, "abuse@other.org", "", "root@admin.example");
	/* mail.conf's postmaster may be a mailbox or an alias here. */
	strlcpy(conf.postmaster, "info@example.org", sizeof(conf.postmaster));
	expect(&r, "postmaster@example.org", "alice@example.org "
	    "bob@example.org", "");
	/* Pointing back at a role address with no alias: a loop. */
	strlcpy(conf.postmaster, "postmaster@example.org",
	    sizeof(conf.postmaster));
	ATF_CHECK_EQ(expand(&r, "abuse@example.org", &t), -2);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(expand_unknown);
ATF_TC_BODY(expand_unknown, tc)
{
	struct resolver		 r;
	struct resolve_target	*t;
	const struct resolve_target *f;
	int			 n;

	setup(&r);
	ATF_CHECK_EQ(expand(&r, "nobody@example.org", &t), 0);
	ATF_CHECK_EQ(t, NULL);
	ATF_CHECK_EQ(expand(&r, "nobody+x@example.org", &t), 0);
	/* A target whose mailbox went away is bounced on its own. */
	ATF_REQUIRE_EQ(n = expand(&r, "stale@example.org", &t), 2);
	ATF_REQUIRE((f = find(t, n, "gone@example.org")) != NULL);
	ATF_CHECK_EQ(f->unknown, 1);
	ATF_CHECK_EQ(f->local, 0);
	ATF_REQUIRE((f = find(t, n, "bob@example.org")) != NULL);
	ATF_CHECK_EQ(f->unknown, 0);
	ATF_CHECK_EQ(f->local, 1);
	free(t);
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(expand_remote);
ATF_TC_BODY(expand_remote, tc)
{
	struct resolver	r;

	setup(&r);
	expect(&r, "Someone@Remote.Example", "", "Someone@remote.example");
	resolver_close(&r);
}

ATF_TC_WITHOUT_HEAD(expand_map_missing_or_bad);
ATF_TC_BODY(expand_map_missing_or_bad, tc)
{
	static const char *const badusers[] = {
		"alice@example.org", "no colons here",
		NULL
	};
	struct resolver		 r;
	struct resolve_target	*t;

	setup(&r);
	/* A target that does not parse: defer, never guess. */
	ATF_CHECK_EQ(expand(&r, "badtarget@example.org", &t), -1);
	ATF_CHECK_EQ(t, NULL);
	build("users", badusers);
	ATF_REQUIRE_EQ(resolver_refresh(&r), 0);
	ATF_CHECK_EQ(expand(&r, "info@example.org", &t), -1);
	resolver_close(&r);

	ATF_REQUIRE_EQ(unlink("maps/aliases.db"), 0);
	ATF_CHECK_EQ(resolver_open(&r, &conf), -1);
	ATF_CHECK_EQ(expand(&r, "info@example.org", &t), -1);
	ATF_CHECK_EQ(expand(&r, "nobody@example.org", &t), -1);
	resolver_close(&r);
}

/* The text form of a map, for the mapset backend. */
static void
write_text(const char *name, const char *const *pairs, const char *sep)
{
	char	 path[PATH_MAX];
	FILE	*fp;
	size_t	 i;

	snprintf(path, sizeof(path), "maps/%s", name);
	ATF_REQUIRE((fp = fopen(path, "w")) != NULL);
	for (i = 0; pairs[i] != NULL; i += 2) {
		if (strcmp(pairs[i], "badtarget@example.org") == 0)
			continue;
		if (strcmp(pairs[i + 1], "-") == 0)
			fprintf(fp, "%s\n", pairs[i]);
		else
			fprintf(fp, "%s%s%s\n", pairs[i], sep, pairs[i + 1]);
	}
	ATF_REQUIRE_EQ(fclose(fp), 0);
}

/* The domain as the text map gives it, and as domains.db holds it. */
ATF_TC_WITHOUT_HEAD(domain_compiled);
ATF_TC_BODY(domain_compiled, tc)
{
	memset(&conf, 0, sizeof(conf));
	ATF_REQUIRE(getcwd(conf.mapdir, sizeof(conf.mapdir)) != NULL);
	strlcat(conf.mapdir, "/maps", sizeof(conf.mapdir));
	ATF_REQUIRE(mkdir("maps", 0755) == 0);
	/* No domains.db: nothing is compiled. */
	ATF_CHECK_EQ(resolve_domain_compiled(&conf, "example.org",
	    "maxaliases=100"), 0);
	build("domains", domains);
	ATF_CHECK_EQ(resolve_domain_compiled(&conf, "example.org",
	    "maxaliases=100"), 1);
	ATF_CHECK_EQ(resolve_domain_compiled(&conf, "Example.ORG",
	    "maxaliases=100"), 1);
	ATF_CHECK_EQ(resolve_domain_compiled(&conf, "other.org", "-"), 1);
	/* Changed in the text map, or added there, since. */
	ATF_CHECK_EQ(resolve_domain_compiled(&conf, "example.org",
	    "maxaliases=10"), 0);
	ATF_CHECK_EQ(resolve_domain_compiled(&conf, "new.org", "-"), 0);
	/* A domains.db that cannot be read. */
	ATF_REQUIRE(unlink("maps/domains.db") == 0);
	ATF_REQUIRE(mkdir("maps/domains.db", 0755) == 0);
	ATF_CHECK_EQ(resolve_domain_compiled(&conf, "other.org", "-"), -1);
}

ATF_TC_WITHOUT_HEAD(mapset_backend_agrees);
ATF_TC_BODY(mapset_backend_agrees, tc)
{
	static const char *const addrs[] = {
		"alice@example.org", "locked@example.org", "info@example.org",
		"alice@example.net", "nobody@example.net", "alice@chain.test",
		"alice+x@example.org", "nobody+x@example.org",
		"a+b@example.org", "postmaster@example.org", "abuse@other.org",
		"hostmaster@other.org", "anything@catch.test",
		"x@remote.example", NULL
	};
	struct resolver	 db, txt;
	struct mapset	 ms;
	size_t		 i;

	setup(&db);
	write_text("domains", domains, " ");
	write_text("users", users, ":");
	write_text("aliases", aliases, ": ");
	ATF_REQUIRE_EQ(mapset_open(&ms, conf.mapdir, 0), 0);
	ATF_REQUIRE_EQ(resolver_open_mapset(&txt, &conf, &ms), 0);
	for (i = 0; addrs[i] != NULL; i++)
		ATF_CHECK_EQ_MSG(rcpt(&txt, addrs[i]), rcpt(&db, addrs[i]),
		    "%s", addrs[i]);
	expect(&txt, "team@example.org", "alice@example.org bob@example.org",
	    "Carol@remote.example");
	resolver_close(&txt);
	resolver_close(&db);
	mapset_close(&ms);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, rcpt_mailbox);
	ATF_TP_ADD_TC(tp, rcpt_quoted_local_part);
	ATF_TP_ADD_TC(tp, rcpt_locked_mailbox);
	ATF_TP_ADD_TC(tp, rcpt_alias);
	ATF_TP_ADD_TC(tp, rcpt_unknown);
	ATF_TP_ADD_TC(tp, rcpt_remote);
	ATF_TP_ADD_TC(tp, rcpt_alias_domain);
	ATF_TP_ADD_TC(tp, rcpt_alias_domain_chain_refused);
	ATF_TP_ADD_TC(tp, rcpt_tag);
	ATF_TP_ADD_TC(tp, rcpt_tag_delimiter_off);
	ATF_TP_ADD_TC(tp, rcpt_postmaster_abuse);
	ATF_TP_ADD_TC(tp, rcpt_catchall);
	ATF_TP_ADD_TC(tp, rcpt_map_missing);
	ATF_TP_ADD_TC(tp, rcpt_map_unreadable);
	ATF_TP_ADD_TC(tp, refresh_replaced_map);
	ATF_TP_ADD_TC(tp, expand_mailbox);
	ATF_TP_ADD_TC(tp, expand_locked_mailbox);
	ATF_TP_ADD_TC(tp, expand_alias_several_targets);
	ATF_TP_ADD_TC(tp, expand_nested_duplicates_removed);
	ATF_TP_ADD_TC(tp, expand_loop_keeps_other_targets);
	ATF_TP_ADD_TC(tp, expand_loop_nothing_left);
	ATF_TP_ADD_TC(tp, expand_depth_limit);
	ATF_TP_ADD_TC(tp, expand_alias_domain);
	ATF_TP_ADD_TC(tp, expand_catchall_only_when_no_mailbox_or_alias);
	ATF_TP_ADD_TC(tp, expand_tag_to_base_mailbox);
	ATF_TP_ADD_TC(tp, expand_postmaster_with_alias);
	ATF_TP_ADD_TC(tp, expand_postmaster_without_alias);
	ATF_TP_ADD_TC(tp, expand_unknown);
	ATF_TP_ADD_TC(tp, expand_remote);
	ATF_TP_ADD_TC(tp, expand_map_missing_or_bad);
	ATF_TP_ADD_TC(tp, mapset_backend_agrees);
	ATF_TP_ADD_TC(tp, domain_compiled);
	return atf_no_error();
}
