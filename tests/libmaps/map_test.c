/*
 * map.c: building, reading and replacing Berkeley DB hash maps.
 */
#include <sys/stat.h>

#include <atf-c.h>
#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmail.h"
#include "fixture.h"

static void
build(const char *path, const char *const *pairs)
{
	struct map_builder	*b;

	b = map_build_begin(path);
	ATF_REQUIRE(b != NULL);
	for (; *pairs != NULL; pairs += 2)
		ATF_REQUIRE_EQ(map_build_put(b, pairs[0], pairs[1]), 0);
	ATF_REQUIRE_EQ(map_build_commit(b), 0);
}

ATF_TC_WITHOUT_HEAD(lookup_hit_miss_fold);
ATF_TC_BODY(lookup_hit_miss_fold, tc)
{
	const char *const pairs[] = { "Alice@Example.ORG", "a", "bob@example.org",
	    "b", NULL };
	struct map	*m;
	char		 val[64];

	build("./users.db", pairs);
	ATF_REQUIRE((m = map_open(".", "users")) != NULL);
	ATF_CHECK_EQ(map_lookup(m, "alice@example.org", val, sizeof(val)), 1);
	ATF_CHECK_STREQ(val, "a");
	ATF_CHECK_EQ(map_lookup(m, "BOB@EXAMPLE.ORG", val, sizeof(val)), 1);
	ATF_CHECK_STREQ(val, "b");
	ATF_CHECK_EQ(map_lookup(m, "carol@example.org", val, sizeof(val)), 0);
	ATF_CHECK_EQ(map_lookup(m, "", val, sizeof(val)), 0);
	map_close(m);
}

ATF_TC_WITHOUT_HEAD(open_missing_fails);
ATF_TC_BODY(open_missing_fails, tc)
{
	errno = 0;
	ATF_CHECK(map_open(".", "nosuch") == NULL);
	ATF_CHECK_EQ(errno, ENOENT);
}

ATF_TC_WITHOUT_HEAD(value_too_long_for_buffer);
ATF_TC_BODY(value_too_long_for_buffer, tc)
{
	const char *const pairs[] = { "k", "0123456789", NULL };
	struct map	*m;
	char		 val[64];

	build("./m.db", pairs);
	ATF_REQUIRE((m = map_open(".", "m")) != NULL);
	ATF_CHECK_EQ(map_lookup(m, "k", val, 10), -1);
	ATF_CHECK_EQ(map_lookup(m, "k", val, 11), 1);
	ATF_CHECK_STREQ(val, "0123456789");
	map_close(m);
}

/* Keys and values carry their NUL and keys are lower case: postmap's form. */
ATF_TC_WITHOUT_HEAD(stored_with_nul_lower_case);
ATF_TC_BODY(stored_with_nul_lower_case, tc)
{
	const char *const pairs[] = { "Key@Example.Org", "Value", NULL };
	DB	*db;
	DBT	 k, v;

	build("./m.db", pairs);
	ATF_REQUIRE_EQ(db_create(&db, NULL, 0), 0);
	ATF_REQUIRE_EQ(db->open(db, NULL, "./m.db", NULL, DB_HASH, DB_RDONLY,
	    0), 0);
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = "key@example.org";
	k.size = sizeof("key@example.org");
	ATF_REQUIRE_EQ(db->get(db, NULL, &k, &v, 0), 0);
	ATF_CHECK_EQ(v.size, sizeof("Value"));
	ATF_CHECK(memcmp(v.data, "Value", sizeof("Value")) == 0);
	k.size = sizeof("key@example.org") - 1;
	ATF_CHECK_EQ(db->get(db, NULL, &k, &v, 0), DB_NOTFOUND);
	db->close(db, 0);
}

ATF_TC_WITHOUT_HEAD(duplicate_key_reported);
ATF_TC_BODY(duplicate_key_reported, tc)
{
	struct map_builder	*b;
	struct map		*m;
	char			 val[64];

	ATF_REQUIRE((b = map_build_begin("./m.db")) != NULL);
	ATF_CHECK_EQ(map_build_put(b, "a@example.org", "first"), 0);
	ATF_CHECK_EQ(map_build_put(b, "A@example.org", "second"), 1);
	ATF_REQUIRE_EQ(map_build_commit(b), 0);
	ATF_REQUIRE((m = map_open(".", "m")) != NULL);
	ATF_CHECK_EQ(map_lookup(m, "a@example.org", val, sizeof(val)), 1);
	ATF_CHECK_STREQ(val, "first");
	map_close(m);
}

ATF_TC_WITHOUT_HEAD(empty_key_or_value_refused);
ATF_TC_BODY(empty_key_or_value_refused, tc)
{
	struct map_builder	*b;

	ATF_REQUIRE((b = map_build_begin("./m.db")) != NULL);
	ATF_CHECK_EQ(map_build_put(b, "", "v"), -1);
	ATF_CHECK_EQ(map_build_put(b, "k", ""), -1);
	map_build_abort(b);
}

ATF_TC_WITHOUT_HEAD(refresh_after_replace);
ATF_TC_BODY(refresh_after_replace, tc)
{
	const char *const v1[] = { "k", "old", NULL };
	const char *const v2[] = { "k", "new", "k2", "two", NULL };
	struct map	*m;
	char		 val[64];

	build("./m.db", v1);
	ATF_REQUIRE((m = map_open(".", "m")) != NULL);
	ATF_REQUIRE_EQ(map_refresh(m), 0);
	build("./m.db", v2);
	/* The open map is the old file until refreshed. */
	ATF_CHECK_EQ(map_lookup(m, "k", val, sizeof(val)), 1);
	ATF_CHECK_STREQ(val, "old");
	ATF_REQUIRE_EQ(map_refresh(m), 0);
	ATF_CHECK_EQ(map_lookup(m, "k", val, sizeof(val)), 1);
	ATF_CHECK_STREQ(val, "new");
	ATF_CHECK_EQ(map_lookup(m, "k2", val, sizeof(val)), 1);
	map_close(m);
}

ATF_TC_WITHOUT_HEAD(refresh_removed_map_fails);
ATF_TC_BODY(refresh_removed_map_fails, tc)
{
	const char *const v1[] = { "k", "v", NULL };
	struct map	*m;
	char		 val[64];

	build("./m.db", v1);
	ATF_REQUIRE((m = map_open(".", "m")) != NULL);
	ATF_REQUIRE_EQ(unlink("m.db"), 0);
	ATF_CHECK_EQ(map_refresh(m), -1);
	ATF_CHECK_EQ(map_lookup(m, "k", val, sizeof(val)), 1);
	map_close(m);
}

ATF_TC_WITHOUT_HEAD(abort_leaves_target_alone);
ATF_TC_BODY(abort_leaves_target_alone, tc)
{
	const char *const v1[] = { "k", "v", NULL };
	struct map_builder	*b;
	char			*before, *after;
	size_t			 blen, alen;

	ATF_REQUIRE_EQ(mkdir("d", 0755), 0);
	build("d/m.db", v1);
	before = fixture_read("d/m.db", &blen);
	ATF_REQUIRE((b = map_build_begin("d/m.db")) != NULL);
	ATF_CHECK_EQ(fixture_count_files("d"), 2);
	ATF_CHECK_EQ(map_build_put(b, "k", "other"), 0);
	map_build_abort(b);
	ATF_CHECK_EQ(fixture_count_files("d"), 1);
	after = fixture_read("d/m.db", &alen);
	ATF_CHECK(blen == alen && memcmp(before, after, blen) == 0);
	free(before);
	free(after);
}

ATF_TC_WITHOUT_HEAD(commit_mode_and_mtime);
ATF_TC_BODY(commit_mode_and_mtime, tc)
{
	struct map_builder	*b;
	struct timespec		 ts;
	struct stat		 sb;

	ATF_REQUIRE((b = map_build_begin("./m.db")) != NULL);
	ATF_CHECK_EQ(map_build_put(b, "k", "v"), 0);
	ts.tv_sec = 1000000000;
	ts.tv_nsec = 123456789;
	map_build_mode(b, 0640, getgid());
	map_build_mtime(b, &ts);
	ATF_REQUIRE_EQ(map_build_commit(b), 0);
	ATF_REQUIRE_EQ(stat("m.db", &sb), 0);
	ATF_CHECK_EQ(sb.st_mode & 07777, 0640);
	ATF_CHECK_EQ(sb.st_gid, getgid());
	ATF_CHECK_EQ(sb.st_mtim.tv_sec, ts.tv_sec);
	ATF_CHECK_EQ(sb.st_mtim.tv_nsec, ts.tv_nsec);
	ATF_CHECK_EQ(fixture_count_files("."), 1);
}

ATF_TC_WITHOUT_HEAD(copy_then_change_keys);
ATF_TC_BODY(copy_then_change_keys, tc)
{
	const char *const v1[] = { "a", "1", "b", "2", "c", "3", NULL };
	struct map_builder	*b;
	struct map		*m;
	char			 val[64];

	build("./m.db", v1);
	ATF_REQUIRE((b = map_build_begin_copy("./m.db", "./m.db")) != NULL);
	ATF_CHECK_EQ(map_build_set(b, "a", "one"), 0);
	ATF_CHECK_EQ(map_build_del(b, "b"), 1);
	ATF_CHECK_EQ(map_build_del(b, "nosuch"), 0);
	ATF_CHECK_EQ(map_build_set(b, "D", "4"), 0);
	ATF_REQUIRE_EQ(map_build_commit(b), 0);
	ATF_REQUIRE((m = map_open(".", "m")) != NULL);
	ATF_CHECK_EQ(map_lookup(m, "a", val, sizeof(val)), 1);
	ATF_CHECK_STREQ(val, "one");
	ATF_CHECK_EQ(map_lookup(m, "b", val, sizeof(val)), 0);
	ATF_CHECK_EQ(map_lookup(m, "c", val, sizeof(val)), 1);
	ATF_CHECK_STREQ(val, "3");
	ATF_CHECK_EQ(map_lookup(m, "d", val, sizeof(val)), 1);
	ATF_CHECK_STREQ(val, "4");
	map_close(m);
	ATF_CHECK_EQ(fixture_count_files("."), 1);
}

/*
 * A hash table reserves bucket pages a doubling ahead, as holes of the
 * file; the copy of a writer keeps them holes rather than writing, and
 * syncing, zeros in their place.
 */
ATF_TC_WITHOUT_HEAD(copy_keeps_holes);
ATF_TC_BODY(copy_keeps_holes, tc)
{
	struct map_builder	*b;
	struct map		*m;
	struct stat		 before, after;
	char			 key[64], val[160];
	int			 i;

	ATF_REQUIRE((b = map_build_begin_hint("./m.db", 8000)) != NULL);
	for (i = 0; i < 8000; i++) {
		snprintf(key, sizeof(key), "user%d@example.org", i);
		snprintf(val, sizeof(val), "%0120d", i);
		ATF_REQUIRE_EQ(map_build_put(b, key, val), 0);
	}
	ATF_REQUIRE_EQ(map_build_commit(b), 0);
	ATF_REQUIRE_EQ(stat("m.db", &before), 0);
	if (before.st_blocks * 512 >= before.st_size)
		atf_tc_skip("this file system stored the table without holes");
	ATF_REQUIRE((b = map_build_begin_copy("./m.db", "./m.db")) != NULL);
	ATF_CHECK_EQ(map_build_set(b, "new@example.org", "1"), 0);
	ATF_REQUIRE_EQ(map_build_commit(b), 0);
	ATF_REQUIRE_EQ(stat("m.db", &after), 0);
	ATF_CHECK_EQ(after.st_size, before.st_size);
	ATF_CHECK_MSG(after.st_blocks <= before.st_blocks + 64,
	    "copy: %jd blocks, original: %jd", (intmax_t)after.st_blocks,
	    (intmax_t)before.st_blocks);
	ATF_REQUIRE((m = map_open(".", "m")) != NULL);
	for (i = 0; i < 8000; i++) {
		snprintf(key, sizeof(key), "user%d@example.org", i);
		ATF_REQUIRE_EQ(map_lookup(m, key, val, sizeof(val)), 1);
		ATF_CHECK_EQ(atoi(val), i);
	}
	ATF_CHECK_EQ(map_lookup(m, "new@example.org", val, sizeof(val)), 1);
	map_close(m);
	ATF_CHECK_EQ(fixture_count_files("."), 1);
}

/*
 * file.c: the names beside a file that writers use, in the form the
 * leftover sweep of mapsrc.c recognises; and the directory fsync.
 */
/* A line a byte at a time: the rest stays on the descriptor. */
ATF_TC_WITHOUT_HEAD(file_read_lines);
ATF_TC_BODY(file_read_lines, tc)
{
	char	 buf[8];
	int	 p[2];

	ATF_REQUIRE(pipe(p) == 0);
	ATF_REQUIRE(write(p[1], "abc\n\nlast", 9) == 9);
	ATF_REQUIRE(close(p[1]) == 0);
	ATF_CHECK_EQ(file_read_line(p[0], buf, sizeof(buf)), 3);
	ATF_CHECK_STREQ(buf, "abc");
	ATF_CHECK_EQ(file_read_line(p[0], buf, sizeof(buf)), 0);
	ATF_CHECK_STREQ(buf, "");
	ATF_CHECK_EQ(file_read_line(p[0], buf, sizeof(buf)), 4);
	ATF_CHECK_STREQ(buf, "last");
	close(p[0]);

	ATF_REQUIRE(pipe(p) == 0);
	ATF_REQUIRE(write(p[1], "ab\0cd\n1234567\n12345678\n", 24) == 24);
	ATF_REQUIRE(close(p[1]) == 0);
	ATF_CHECK_EQ(file_read_line(p[0], buf, sizeof(buf)), -1);
	ATF_CHECK_EQ(errno, EINVAL);
	ATF_CHECK_EQ(memcmp(buf, "\0\0\0", 3), 0);
	ATF_CHECK_EQ(file_read_line(p[0], buf, sizeof(buf)), 2);
	ATF_CHECK_STREQ(buf, "cd");
	ATF_CHECK_EQ(file_read_line(p[0], buf, sizeof(buf)), 7);
	ATF_CHECK_EQ(file_read_line(p[0], buf, sizeof(buf)), -1);
	ATF_CHECK_EQ(errno, EMSGSIZE);
	ATF_CHECK_EQ(buf[0], '\0');
	close(p[0]);
}

ATF_TC_WITHOUT_HEAD(file_sibling_names);
ATF_TC_BODY(file_sibling_names, tc)
{
	char	 buf[64];

	ATF_REQUIRE_EQ(file_sibling_name("d/users.db", NULL, buf,
	    sizeof(buf)), 0);
	ATF_CHECK_EQ(strlen(buf), strlen("d/.users.db.") + 8);
	ATF_CHECK(strncmp(buf, "d/.users.db.", 12) == 0);
	ATF_CHECK_EQ(strspn(buf + 12, "0123456789abcdef"), 8);
	ATF_REQUIRE_EQ(file_sibling_name("users", "undo", buf, sizeof(buf)),
	    0);
	ATF_CHECK_EQ(strlen(buf), strlen(".users.undo.") + 8);
	ATF_CHECK(strncmp(buf, ".users.undo.", 12) == 0);
	errno = 0;
	ATF_CHECK_EQ(file_sibling_name("d/users", NULL, buf, 16), -1);
	ATF_CHECK_EQ(errno, ENAMETOOLONG);
	ATF_CHECK_EQ(file_sync_dir("."), 0);
	ATF_CHECK_EQ(file_sync_dir("nosuch"), -1);
}

/*
 * file_copy_range copies all the bytes asked for or fails: a source
 * cut short since its size was taken (a text map truncated in place
 * by an editor) must not leave the end of the copy a hole of NULs.
 */
ATF_TC_WITHOUT_HEAD(copy_range_short_source_fails);
ATF_TC_BODY(copy_range_short_source_fails, tc)
{
	int	from, to;

	ATF_REQUIRE((from = open("from", O_RDWR | O_CREAT, 0644)) != -1);
	ATF_REQUIRE(write(from, "12345", 5) == 5);
	ATF_REQUIRE((to = open("to", O_RDWR | O_CREAT, 0644)) != -1);
	ATF_CHECK_EQ(file_copy_range(from, to, 0, 5), 0);
	ATF_CHECK_EQ(file_copy_range(from, to, 0, 10), -1);
	ATF_CHECK_EQ(file_copy_range(from, to, 3, 4), -1);
	close(from);
	close(to);
}

ATF_TC_WITHOUT_HEAD(big_build_with_hint);
ATF_TC_BODY(big_build_with_hint, tc)
{
	struct map_builder	*b;
	struct map		*m;
	char			 key[64], val[64];
	int			 i;

	ATF_REQUIRE((b = map_build_begin_hint("./m.db", 20000)) != NULL);
	for (i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "user%d@example.org", i);
		snprintf(val, sizeof(val), "value %d", i);
		ATF_REQUIRE_EQ(map_build_put(b, key, val), 0);
	}
	ATF_REQUIRE_EQ(map_build_commit(b), 0);
	ATF_REQUIRE((m = map_open(".", "m")) != NULL);
	for (i = 0; i < 20000; i += 997) {
		snprintf(key, sizeof(key), "USER%d@example.org", i);
		ATF_REQUIRE_EQ(map_lookup(m, key, val, sizeof(val)), 1);
		snprintf(key, sizeof(key), "value %d", i);
		ATF_CHECK_STREQ(val, key);
	}
	map_close(m);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, lookup_hit_miss_fold);
	ATF_TP_ADD_TC(tp, copy_keeps_holes);
	ATF_TP_ADD_TC(tp, copy_range_short_source_fails);
	ATF_TP_ADD_TC(tp, file_sibling_names);
	ATF_TP_ADD_TC(tp, file_read_lines);
	ATF_TP_ADD_TC(tp, open_missing_fails);
	ATF_TP_ADD_TC(tp, value_too_long_for_buffer);
	ATF_TP_ADD_TC(tp, stored_with_nul_lower_case);
	ATF_TP_ADD_TC(tp, duplicate_key_reported);
	ATF_TP_ADD_TC(tp, empty_key_or_value_refused);
	ATF_TP_ADD_TC(tp, refresh_after_replace);
	ATF_TP_ADD_TC(tp, refresh_removed_map_fails);
	ATF_TP_ADD_TC(tp, abort_leaves_target_alone);
	ATF_TP_ADD_TC(tp, commit_mode_and_mtime);
	ATF_TP_ADD_TC(tp, copy_then_change_keys);
	ATF_TP_ADD_TC(tp, big_build_with_hint);
	return atf_no_error();
}
