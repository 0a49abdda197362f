/*
 * Tests of srs.c.  The expected hashes were computed apart from this
 * code, with Python's hmac module: base64(HMAC-SHA1(secret, the
 * lower-cased fields run together))[:4], the form of libsrs2 and
 * postsrsd.
 */
#include <sys/stat.h>

#include <atf-c.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmail.h"
#include "fixture.h"

/* Day 20418 since the epoch: 962 of 1024, "6C" in base32. */
#define NOW	((time_t)1764150000)
#define DAY	((time_t)86400)

static void
srs_fixture(struct srs *srs, const char *first, const char *second)
{
	memset(srs, 0, sizeof(*srs));
	strlcpy(srs->secrets[srs->nsecrets++], first, SRS_SECRET_MAX + 1);
	if (second != NULL)
		strlcpy(srs->secrets[srs->nsecrets++], second,
		    SRS_SECRET_MAX + 1);
}

static void
parse(const char *s, struct mailaddr *a)
{
	const char	*errstr;

	ATF_REQUIRE_MSG(addr_parse(s, a, &errstr) == 0, "%s: %s", s, errstr);
}

ATF_TC_WITHOUT_HEAD(encode_srs0);
ATF_TC_BODY(encode_srs0, tc)
{
	struct srs	 srs;
	struct mailaddr	 a;
	char		 out[ADDR_LOCAL_MAX + 1];

	srs_fixture(&srs, "s3cret", NULL);
	parse("Alice.Smith@Example.COM", &a);
	ATF_REQUIRE(srs_forward(&srs, &a, NOW, out, sizeof(out)) == 0);
	/* The case of the local part is kept; the hash folds it. */
	ATF_CHECK_STREQ(out, "SRS0=jia4=6C=example.com=Alice.Smith");
}

ATF_TC_WITHOUT_HEAD(decode_srs0);
ATF_TC_BODY(decode_srs0, tc)
{
	struct srs	 srs;
	char		 out[ADDR_MAX + 1];

	srs_fixture(&srs, "s3cret", NULL);
	ATF_REQUIRE_EQ(srs_reverse(&srs, "SRS0=jia4=6C=example.com=Alice.Smith",
	    NOW + DAY, out, sizeof(out)), SRS_OK);
	ATF_CHECK_STREQ(out, "Alice.Smith@example.com");
}

ATF_TC_WITHOUT_HEAD(decode_case_folded);
ATF_TC_BODY(decode_case_folded, tc)
{
	struct srs	 srs;
	char		 out[ADDR_MAX + 1];

	srs_fixture(&srs, "s3cret", NULL);
	ATF_REQUIRE_EQ(srs_reverse(&srs, "srs0=JIA4=6c=EXAMPLE.com=alice.smith",
	    NOW, out, sizeof(out)), SRS_OK);
	ATF_CHECK_STREQ(out, "alice.smith@EXAMPLE.com");
}

ATF_TC_WITHOUT_HEAD(decode_forged_hash);
ATF_TC_BODY(decode_forged_hash, tc)
{
	struct srs	 srs;
	char		 out[ADDR_MAX + 1];

	srs_fixture(&srs, "s3cret", NULL);
	ATF_CHECK_EQ(srs_reverse(&srs, "SRS0=jia5=6C=example.com=Alice.Smith",
	    NOW, out, sizeof(out)), SRS_BAD);
	/* The right hash for another sender. */
	ATF_CHECK_EQ(srs_reverse(&srs, "SRS0=jia4=6C=example.com=mallory",
	    NOW, out, sizeof(out)), SRS_BAD);
	/* Another secret. */
	srs_fixture(&srs, "other", NULL);
	ATF_CHECK_EQ(srs_reverse(&srs, "SRS0=jia4=6C=example.com=Alice.Smith",
	    NOW, out, sizeof(out)), SRS_BAD);
}

ATF_TC_WITHOUT_HEAD(decode_malformed);
ATF_TC_BODY(decode_malformed, tc)
{
	static const char *const bad[] = {
		"SRS0=", "SRS0=jia4", "SRS0=jia4=6C", "SRS0=jia4=6C=example.com",
		"SRS0=jia4=6C=example.com=", "SRS0=jia=6C=example.com=a",
		"SRS0=jia4=6C=not_a_domain=a", "SRS0==6C=example.com=a",
		"SRS1=3e9K=fwd.example=abcd", NULL
	};
	struct srs	 srs;
	char		 out[ADDR_MAX + 1];
	size_t		 i;

	srs_fixture(&srs, "s3cret", NULL);
	for (i = 0; bad[i] != NULL; i++)
		ATF_CHECK_EQ_MSG(srs_reverse(&srs, bad[i], NOW, out,
		    sizeof(out)), SRS_BAD, "%s", bad[i]);
	ATF_CHECK_EQ(srs_reverse(&srs, "alice", NOW, out, sizeof(out)),
	    SRS_NOT);
	ATF_CHECK_EQ(srs_reverse(&srs, "SRS2=jia4=6C=example.com=a", NOW, out,
	    sizeof(out)), SRS_NOT);
}

ATF_TC_WITHOUT_HEAD(decode_expired);
ATF_TC_BODY(decode_expired, tc)
{
	struct srs	 srs;
	char		 out[ADDR_MAX + 1];
	const char	*a = "SRS0=jia4=6C=example.com=Alice.Smith";

	srs_fixture(&srs, "s3cret", NULL);
	ATF_CHECK_EQ(srs_reverse(&srs, a, NOW + SRS_LIFETIME_DAYS * DAY, out,
	    sizeof(out)), SRS_OK);
	ATF_CHECK_EQ(srs_reverse(&srs, a, NOW + (SRS_LIFETIME_DAYS + 1) * DAY,
	    out, sizeof(out)), SRS_EXPIRED);
	/* A day ahead of ours is 1023 days old, not young. */
	ATF_CHECK_EQ(srs_reverse(&srs, a, NOW - DAY, out, sizeof(out)),
	    SRS_EXPIRED);
	/* The stamp wraps after 1024 days. */
	ATF_CHECK_EQ(srs_reverse(&srs, a, NOW + 1024 * DAY, out, sizeof(out)),
	    SRS_OK);
}

ATF_TC_WITHOUT_HEAD(old_secret_verifies);
ATF_TC_BODY(old_secret_verifies, tc)
{
	struct srs	 srs;
	struct mailaddr	 a;
	char		 out[ADDR_MAX + 1];

	srs_fixture(&srs, "new", "s3cret");
	ATF_CHECK_EQ(srs_reverse(&srs, "SRS0=jia4=6C=example.com=Alice.Smith",
	    NOW, out, sizeof(out)), SRS_OK);
	parse("Alice.Smith@example.com", &a);
	ATF_REQUIRE(srs_forward(&srs, &a, NOW, out, sizeof(out)) == 0);
	ATF_CHECK(strncmp(out, "SRS0=jia4=", 10) != 0);
}

ATF_TC_WITHOUT_HEAD(srs1_forward_and_back);
ATF_TC_BODY(srs1_forward_and_back, tc)
{
	struct srs	 srs;
	struct mailaddr	 a;
	char		 out[ADDR_MAX + 1], back[ADDR_MAX + 1];

	srs_fixture(&srs, "s3cret", NULL);
	/* An SRS0 sender of another forwarder: SRS1, hash of ours. */
	parse("SRS0=abcd=AB=orig.example=bob@fwd.example", &a);
	ATF_REQUIRE(srs_forward(&srs, &a, NOW, out, sizeof(out)) == 0);
	ATF_CHECK_STREQ(out, "SRS1=3e9K=fwd.example==abcd=AB=orig.example=bob");
	ATF_REQUIRE_EQ(srs_reverse(&srs, out, NOW, back, sizeof(back)),
	    SRS_OK);
	ATF_CHECK_STREQ(back, "SRS0=abcd=AB=orig.example=bob@fwd.example");
	/* An SRS1 sender: the first forwarder stays, the hash is ours. */
	parse("SRS1=zzzz=first.example==abcd=AB=orig.example=bob@second.example",
	    &a);
	ATF_REQUIRE(srs_forward(&srs, &a, NOW, out, sizeof(out)) == 0);
	ATF_CHECK_STREQ(out,
	    "SRS1=n41O=first.example==abcd=AB=orig.example=bob");
	ATF_CHECK_EQ(srs_reverse(&srs,
	    "SRS1=n41P=first.example==abcd=AB=orig.example=bob", NOW, out,
	    sizeof(out)), SRS_BAD);
}

ATF_TC_WITHOUT_HEAD(encode_too_long);
ATF_TC_BODY(encode_too_long, tc)
{
	struct srs	 srs;
	struct mailaddr	 a;
	char		 out[ADDR_LOCAL_MAX + 1];

	srs_fixture(&srs, "s3cret", NULL);
	/* 13 + 17 + 1 + 34 = 65 octets: one too many (64 fit). */
	parse("bounce-0123456789-0123456789-abcde@lists.example.com", &a);
	errno = 0;
	ATF_CHECK(srs_forward(&srs, &a, NOW, out, sizeof(out)) == -1);
	ATF_CHECK_EQ(errno, ENAMETOOLONG);
	parse("\"a b\"@example.com", &a);
	ATF_CHECK(srs_forward(&srs, &a, NOW, out, sizeof(out)) == -1);
}

ATF_TC_WITHOUT_HEAD(key_create_and_load);
ATF_TC_BODY(key_create_and_load, tc)
{
	struct srs	 srs;
	struct stat	 st;
	char		 err[256], *first;
	size_t		 len;

	ATF_REQUIRE_EQ(srs_create(".", getuid(), getgid()), 1);
	ATF_REQUIRE(stat(SRS_KEY_FILE, &st) == 0);
	ATF_CHECK_EQ(st.st_mode & 07777, 0600);
	first = fixture_read(SRS_KEY_FILE, &len);
	ATF_CHECK_EQ(len, 65);
	/* There already: kept as it is. */
	ATF_REQUIRE_EQ(srs_create(".", getuid(), getgid()), 0);
	ATF_CHECK_STREQ(fixture_read(SRS_KEY_FILE, &len), first);
	ATF_CHECK_EQ(fixture_count_files("."), 1);
	ATF_REQUIRE_MSG(srs_load(&srs, ".", err, sizeof(err)) == 0, "%s",
	    err);
	ATF_CHECK_EQ(srs.nsecrets, 1);
	ATF_CHECK_EQ(strlen(srs.secrets[0]), 64);
}

ATF_TC_WITHOUT_HEAD(key_load_refuses);
ATF_TC_BODY(key_load_refuses, tc)
{
	struct srs	 srs;
	char		 err[256];

	ATF_CHECK(srs_load(&srs, ".", err, sizeof(err)) == -1);
	ATF_CHECK(strstr(err, "newmaps") != NULL);
	fixture_write(SRS_KEY_FILE, "s3cret\n");
	ATF_REQUIRE(chmod(SRS_KEY_FILE, 0640) == 0);
	ATF_CHECK(srs_load(&srs, ".", err, sizeof(err)) == -1);
	ATF_CHECK(strstr(err, "0600") != NULL);
	ATF_REQUIRE(chmod(SRS_KEY_FILE, 0600) == 0);
	fixture_write(SRS_KEY_FILE, "\n\n");
	ATF_CHECK(srs_load(&srs, ".", err, sizeof(err)) == -1);
	ATF_CHECK(strstr(err, "no secret") != NULL);
	fixture_write(SRS_KEY_FILE, "new\n\ns3cret");
	ATF_REQUIRE_MSG(srs_load(&srs, ".", err, sizeof(err)) == 0, "%s",
	    err);
	ATF_CHECK_EQ(srs.nsecrets, 2);
	ATF_CHECK_STREQ(srs.secrets[0], "new");
	ATF_CHECK_STREQ(srs.secrets[1], "s3cret");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, encode_srs0);
	ATF_TP_ADD_TC(tp, decode_srs0);
	ATF_TP_ADD_TC(tp, decode_case_folded);
	ATF_TP_ADD_TC(tp, decode_forged_hash);
	ATF_TP_ADD_TC(tp, decode_malformed);
	ATF_TP_ADD_TC(tp, decode_expired);
	ATF_TP_ADD_TC(tp, old_secret_verifies);
	ATF_TP_ADD_TC(tp, srs1_forward_and_back);
	ATF_TP_ADD_TC(tp, encode_too_long);
	ATF_TP_ADD_TC(tp, key_create_and_load);
	ATF_TP_ADD_TC(tp, key_load_refuses);
	return atf_no_error();
}
