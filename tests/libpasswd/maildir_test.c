/*
 * maildir.c: template expansion, creation, removal, the attic, usage.
 * Each test works in its own ATF work directory.
 */

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <atf-c.h>

#include "libmail.h"

/* snprintf(3) that fails the test when the path does not fit. */
static void
pf(char *buf, size_t len, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	ATF_REQUIRE(n >= 0 && (size_t)n < len);
}

static void
mkaddr(struct mailaddr *a, const char *local, const char *domain)
{
	memset(a, 0, sizeof(*a));
	strlcpy(a->local, local, sizeof(a->local));
	strlcpy(a->domain, domain, sizeof(a->domain));
}

/* An absolute path under the test's work directory. */
static void
here(char *buf, size_t len, const char *rel)
{
	char	cwd[PATH_MAX];

	ATF_REQUIRE(getcwd(cwd, sizeof(cwd)) != NULL);
	pf(buf, len, "%s/%s", cwd, rel);
}

static void
put(const char *path, size_t size)
{
	FILE	*fp;
	size_t	 i;

	ATF_REQUIRE((fp = fopen(path, "w")) != NULL);
	for (i = 0; i < size; i++)
		fputc('x', fp);
	fclose(fp);
}

static int
mode_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return -1;
	return st.st_mode & 07777;
}

ATF_TC_WITHOUT_HEAD(path_expands);
ATF_TC_BODY(path_expands, tc)
{
	struct mailaddr a;
	char	buf[PATH_MAX];

	mkaddr(&a, "Alice.Smith", "example.org");
	ATF_REQUIRE_EQ(maildir_path("/var/mail/vhosts/%d/%u", &a, buf,
	    sizeof(buf)), 0);
	ATF_CHECK_STREQ(buf, "/var/mail/vhosts/example.org/alice.smith");
	ATF_REQUIRE_EQ(maildir_path("/m/%u@%d/Maildir", &a, buf, sizeof(buf)),
	    0);
	ATF_CHECK_STREQ(buf, "/m/alice.smith@example.org/Maildir");
}

ATF_TC_WITHOUT_HEAD(path_refuses);
ATF_TC_BODY(path_refuses, tc)
{
	struct mailaddr a;
	char	buf[PATH_MAX];

	mkaddr(&a, "alice", "example.org");
	ATF_CHECK_EQ(maildir_path("/m/%d/%n", &a, buf, sizeof(buf)), -1);
	ATF_CHECK_EQ(maildir_path("/m/%d/%%", &a, buf, sizeof(buf)), -1);
	ATF_CHECK_EQ(maildir_path("/m/%d/%", &a, buf, sizeof(buf)), -1);
	ATF_CHECK_EQ(maildir_path("m/%d/%u", &a, buf, sizeof(buf)), -1);
	ATF_CHECK_EQ(maildir_path("/m/%d/%u", &a, buf, 12), -1);
	mkaddr(&a, "../etc", "example.org");
	ATF_CHECK_EQ(maildir_path("/m/%d/%u", &a, buf, sizeof(buf)), -1);
	mkaddr(&a, "a/b", "example.org");
	ATF_CHECK_EQ(maildir_path("/m/%d/%u", &a, buf, sizeof(buf)), -1);
	mkaddr(&a, "alice", "..");
	ATF_CHECK_EQ(maildir_path("/m/%d/%u", &a, buf, sizeof(buf)), -1);
}

ATF_TC_WITHOUT_HEAD(create_makes_tree);
ATF_TC_BODY(create_makes_tree, tc)
{
	char	dir[PATH_MAX], sub[PATH_MAX];
	const char *const s[] = { "tmp", "new", "cur" };
	int	i;

	umask(022);
	here(dir, sizeof(dir), "vhosts/example.org/alice");
	ATF_REQUIRE_EQ(maildir_create(dir, getuid(), getgid()), 0);
	ATF_CHECK_EQ(mode_of(dir), 0700);
	here(sub, sizeof(sub), "vhosts/example.org");
	ATF_CHECK_EQ(mode_of(sub), 0700);
	for (i = 0; i < 3; i++) {
		pf(sub, sizeof(sub), "%s/%s", dir, s[i]);
		ATF_CHECK_EQ_MSG(mode_of(sub), 0700, "%s", sub);
	}
	/* Again: what exists is kept, a missing part is repaired. */
	pf(sub, sizeof(sub), "%s/new/m1", dir);
	put(sub, 3);
	pf(sub, sizeof(sub), "%s/tmp", dir);
	ATF_REQUIRE_EQ(rmdir(sub), 0);
	ATF_REQUIRE_EQ(maildir_create(dir, getuid(), getgid()), 0);
	ATF_CHECK_EQ(mode_of(sub), 0700);
	pf(sub, sizeof(sub), "%s/new/m1", dir);
	ATF_CHECK(access(sub, F_OK) == 0);
}

ATF_TC_WITHOUT_HEAD(create_new_refuses_existing);
ATF_TC_BODY(create_new_refuses_existing, tc)
{
	char	dir[PATH_MAX], top[PATH_MAX], f[PATH_MAX];

	here(dir, sizeof(dir), "vhosts/example.org/alice");
	ATF_REQUIRE_EQ(maildir_create(dir, getuid(), getgid()), 0);
	pf(f, sizeof(f), "%s/cur/old", dir);
	put(f, 1);
	ATF_CHECK_EQ(maildir_create_new(dir, getuid(), getgid(), top,
	    sizeof(top)), -1);
	ATF_CHECK_EQ(errno, EEXIST);
	ATF_CHECK_STREQ(top, "");
	ATF_CHECK(access(f, F_OK) == 0);
}

ATF_TC_WITHOUT_HEAD(create_new_reports_top);
ATF_TC_BODY(create_new_reports_top, tc)
{
	char	dir[PATH_MAX], top[PATH_MAX], want[PATH_MAX];

	here(want, sizeof(want), "vhosts");
	ATF_REQUIRE_EQ(mkdir(want, 0755), 0);
	here(dir, sizeof(dir), "vhosts/example.org/bob");
	ATF_REQUIRE_EQ(maildir_create_new(dir, getuid(), getgid(), top,
	    sizeof(top)), 0);
	here(want, sizeof(want), "vhosts/example.org");
	ATF_CHECK_STREQ(top, want);
	/* Undoing it leaves what was there before. */
	ATF_REQUIRE_EQ(maildir_remove(top), 0);
	ATF_CHECK(access(want, F_OK) == -1);
	here(want, sizeof(want), "vhosts");
	ATF_CHECK_EQ(mode_of(want), 0755);
}

ATF_TC_WITHOUT_HEAD(create_follows_own_link);
ATF_TC_BODY(create_follows_own_link, tc)
{
	char	dir[PATH_MAX], target[PATH_MAX], link[PATH_MAX];

	/* Our own link is followed (as /var/mail -> /data/mail is). */
	here(target, sizeof(target), "data");
	here(link, sizeof(link), "vhosts");
	ATF_REQUIRE_EQ(mkdir(target, 0755), 0);
	ATF_REQUIRE_EQ(symlink(target, link), 0);
	here(dir, sizeof(dir), "vhosts/example.org/carol");
	ATF_CHECK_EQ(maildir_create(dir, getuid(), getgid()), 0);
	here(dir, sizeof(dir), "data/example.org/carol/new");
	ATF_CHECK(access(dir, F_OK) == 0);
	/* A link to something else than a directory is no parent. */
	here(link, sizeof(link), "file");
	put(link, 1);
	here(dir, sizeof(dir), "file/example.org/dave");
	ATF_CHECK_EQ(maildir_create(dir, getuid(), getgid()), -1);
}

ATF_TC_WITHOUT_HEAD(remove_keeps_link_targets);
ATF_TC_BODY(remove_keeps_link_targets, tc)
{
	char	dir[PATH_MAX], outside[PATH_MAX], link[PATH_MAX], f[PATH_MAX];

	here(outside, sizeof(outside), "outside");
	ATF_REQUIRE_EQ(mkdir(outside, 0700), 0);
	pf(f, sizeof(f), "%s/precious", outside);
	put(f, 5);
	here(dir, sizeof(dir), "md");
	ATF_REQUIRE_EQ(maildir_create(dir, getuid(), getgid()), 0);
	pf(link, sizeof(link), "%s/cur/evil", dir);
	ATF_REQUIRE_EQ(symlink(outside, link), 0);
	pf(link, sizeof(link), "%s/new/msg", dir);
	put(link, 10);
	ATF_CHECK_EQ(maildir_remove(dir), 0);
	ATF_CHECK(access(dir, F_OK) == -1);
	ATF_CHECK(access(f, F_OK) == 0);
}

/* Like maildir_create, removal takes no ".." that could lead out of the tree. */
ATF_TC_WITHOUT_HEAD(remove_refuses_dotdot);
ATF_TC_BODY(remove_refuses_dotdot, tc)
{
	char	dir[PATH_MAX], f[PATH_MAX];

	here(dir, sizeof(dir), "md");
	ATF_REQUIRE_EQ(maildir_create(dir, getuid(), getgid()), 0);
	pf(f, sizeof(f), "%s/cur/m1", dir);
	put(f, 3);
	here(dir, sizeof(dir), "md/cur/../../md");
	ATF_CHECK_EQ(maildir_remove(dir), -1);
	ATF_CHECK_EQ(errno, EINVAL);
	ATF_CHECK(access(f, F_OK) == 0);
	here(dir, sizeof(dir), "md/..");
	ATF_CHECK_EQ(maildir_remove(dir), -1);
	ATF_CHECK(access(f, F_OK) == 0);
}

/* The top itself a link: the link goes, what it points at stays. */
ATF_TC_WITHOUT_HEAD(remove_link_itself);
ATF_TC_BODY(remove_link_itself, tc)
{
	char	dir[PATH_MAX], link[PATH_MAX], f[PATH_MAX];

	here(dir, sizeof(dir), "md");
	ATF_REQUIRE_EQ(maildir_create(dir, getuid(), getgid()), 0);
	pf(f, sizeof(f), "%s/new/m1", dir);
	put(f, 3);
	here(link, sizeof(link), "md-link/");
	ATF_REQUIRE_EQ(symlink(dir, "md-link"), 0);
	ATF_CHECK_EQ(maildir_remove(link), 0);
	ATF_CHECK(access("md-link", F_OK) == -1 && errno == ENOENT);
	ATF_CHECK(access(f, F_OK) == 0);
	ATF_CHECK_EQ(maildir_remove("/nonexistent-basemail/md"), -1);
	ATF_CHECK_EQ(errno, ENOENT);
}

ATF_TC_WITHOUT_HEAD(attic_name);
ATF_TC_BODY(attic_name, tc)
{
	char	buf[PATH_MAX];

	/* 2026-11-26 12:00:00 UTC */
	ATF_REQUIRE_EQ(maildir_attic_name("/var/mail/attic", "alice@example.org",
	    1795694400, buf, sizeof(buf)), 0);
	ATF_CHECK_STREQ(buf, "/var/mail/attic/20261126T120000.alice@example.org");
	ATF_CHECK_EQ(maildir_attic_name("/a", "../x@example.org", 0, buf,
	    sizeof(buf)), -1);
	ATF_CHECK_EQ(maildir_attic_name("/a", "x/y@example.org", 0, buf,
	    sizeof(buf)), -1);
	ATF_CHECK_EQ(maildir_attic_name("/a", "x@example.org", 0, buf, 10),
	    -1);
}

ATF_TC_WITHOUT_HEAD(attic_move);
ATF_TC_BODY(attic_move, tc)
{
	char	dir[PATH_MAX], attic[PATH_MAX], dest[PATH_MAX], f[PATH_MAX];

	here(dir, sizeof(dir), "vhosts/example.org/alice");
	here(attic, sizeof(attic), "attic");
	ATF_REQUIRE_EQ(maildir_create(dir, getuid(), getgid()), 0);
	pf(f, sizeof(f), "%s/cur/m1", dir);
	put(f, 4);
	ATF_REQUIRE_EQ(maildir_attic_move(dir, attic, "alice@example.org",
	    1795694400, getuid(), getgid(), dest, sizeof(dest)), 0);
	pf(f, sizeof(f), "%s/20261126T120000.alice@example.org/cur/m1",
	    attic);
	ATF_CHECK(access(f, F_OK) == 0);
	ATF_CHECK(access(dir, F_OK) == -1);
	ATF_CHECK_EQ(mode_of(attic), 0700);
	/* The attic is a plain directory, no Maildir. */
	pf(dest, sizeof(dest), "%s/new", attic);
	ATF_CHECK(access(dest, F_OK) == -1);
	/* The same name again (same second): refused, nothing replaced. */
	ATF_REQUIRE_EQ(maildir_create(dir, getuid(), getgid()), 0);
	ATF_CHECK_EQ(maildir_attic_move(dir, attic, "alice@example.org",
	    1795694400, getuid(), getgid(), dest, sizeof(dest)), -1);
	ATF_CHECK_EQ(errno, EEXIST);
	ATF_CHECK(access(dir, F_OK) == 0);
	ATF_CHECK(access(f, F_OK) == 0);
}

ATF_TC_WITHOUT_HEAD(usage_counts);
ATF_TC_BODY(usage_counts, tc)
{
	char	dir[PATH_MAX], f[PATH_MAX];
	uint64_t bytes, count;

	here(dir, sizeof(dir), "md");
	ATF_REQUIRE_EQ(maildir_create(dir, getuid(), getgid()), 0);
	ATF_REQUIRE_EQ(maildir_usage(dir, &bytes, &count), 0);
	ATF_CHECK_EQ(bytes, 0);
	ATF_CHECK_EQ(count, 0);
	/* The size in the name wins over the file's size (Dovecot's S=). */
	pf(f, sizeof(f), "%s/new/1.M1P1.host,S=1000", dir);
	put(f, 10);
	pf(f, sizeof(f), "%s/cur/2.M2P2.host,S=2000,W=2040:2,S", dir);
	put(f, 10);
	/* No S=: stat(2) tells. */
	pf(f, sizeof(f), "%s/cur/3.M3P3.host:2,", dir);
	put(f, 7);
	/* Not counted: tmp, dot files. */
	pf(f, sizeof(f), "%s/tmp/4.M4P4.host,S=5000", dir);
	put(f, 1);
	pf(f, sizeof(f), "%s/cur/.hidden", dir);
	put(f, 100);
	pf(f, sizeof(f), "%s/maildirsize", dir);
	put(f, 100);
	/* A Maildir++ folder counts. */
	pf(f, sizeof(f), "%s/.Sent", dir);
	ATF_REQUIRE_EQ(maildir_create(f, getuid(), getgid()), 0);
	pf(f, sizeof(f), "%s/.Sent/cur/5.M5P5.host,S=300:2,S", dir);
	put(f, 1);
	ATF_REQUIRE_EQ(maildir_usage(dir, &bytes, &count), 0);
	ATF_CHECK_EQ(bytes, 1000 + 2000 + 7 + 300);
	ATF_CHECK_EQ(count, 4);
}

ATF_TC_WITHOUT_HEAD(usage_missing);
ATF_TC_BODY(usage_missing, tc)
{
	uint64_t bytes, count;

	ATF_CHECK_EQ(maildir_usage("/nonexistent/md", &bytes, &count), -1);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, path_expands);
	ATF_TP_ADD_TC(tp, path_refuses);
	ATF_TP_ADD_TC(tp, create_makes_tree);
	ATF_TP_ADD_TC(tp, create_new_refuses_existing);
	ATF_TP_ADD_TC(tp, create_new_reports_top);
	ATF_TP_ADD_TC(tp, create_follows_own_link);
	ATF_TP_ADD_TC(tp, remove_keeps_link_targets);
	ATF_TP_ADD_TC(tp, remove_refuses_dotdot);
	ATF_TP_ADD_TC(tp, remove_link_itself);
	ATF_TP_ADD_TC(tp, attic_name);
	ATF_TP_ADD_TC(tp, attic_move);
	ATF_TP_ADD_TC(tp, usage_counts);
	ATF_TP_ADD_TC(tp, usage_missing);
	return atf_no_error();
}
