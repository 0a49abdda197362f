/*
 * passwd.c: hashing in each scheme we write, verification of those and
 * of the hashes Dovecot writes (vectors made with doveadm pw of
 * Dovecot 2.3.19), and the checks of -H input.
 */

#include <sys/mman.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <atf-c.h>

#include "libmail.h"

/* doveadm pw -s SCHEME -p 'correct horse' (or the password named). */
#define ARGON2ID_VEC	"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$" \
	"wS1g0QXf8TvIrB86a4bjRg$dwRkjZ9rlsganf8pjGnuSmpLPMTiXnn3aNGzAw9Sn8o"
#define ARGON2I_VEC	"{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$" \
	"0l/F76S2bLkZKIPj8iU54A$jcwhofDSrHG57rsfZEAEJ1JLICnZuwW8KnhenYbxRiE"
#define PBKDF2_VEC	"{PBKDF2}$1$d8TF7ZHe6rHIrF6G$1000$" \
	"f422d25c767647c08c3f7e233aeea94101963baa"
/* doveadm pw -s PBKDF2 -p 'pässwörd' (UTF-8), default 5000 rounds. */
#define PBKDF2_UTF8_VEC	"{PBKDF2}$1$CTD.OGG9SpdhAKdM$5000$" \
	"e036b6a04e6fd730d2e58bbe2363c488147105cc"
/* doveadm pw -p 'Tr0ub4dor&3', the crypt(3) family. */
#define SHA512_VEC	"{SHA512-CRYPT}$6$UDHQgrDGUAviNszG$LSAb4RsMVZdesV5" \
	"WSPn32snozTZ3g56J9ZQ5szbuUxW2b1rhQFquFpltWrxK62PHtQTWPsxzzx7jvadHNKb5r."
#define SHA256_VEC	"{SHA256-CRYPT}$5$NZJyjzyZEAIcvz.N$" \
	"CAu9acxReHCqwb4/saFYrDGNcI3ZXj7ND3IH0ZdF1u8"
#define BLF_VEC		"{BLF-CRYPT}$2y$05$7YAvKJg9UCg8djzvw2SmR." \
	"Zaav5DB97ug2DFg4Yr189ZRw2y7Yj/6"

static void
hash_and_verify(const char *scheme, const char *prefix)
{
	char	 out[PASSWD_HASH_MAX], again[PASSWD_HASH_MAX];

	ATF_REQUIRE(passwd_scheme_valid(scheme));
	ATF_REQUIRE_EQ(passwd_hash(scheme, "s3cret pw", out, sizeof(out)), 0);
	ATF_CHECK_MSG(strncmp(out, prefix, strlen(prefix)) == 0,
	    "%s does not start with %s", out, prefix);
	ATF_CHECK(strstr(out, "s3cret") == NULL);
	ATF_CHECK(passwd_hash_valid(out));
	ATF_CHECK_EQ(passwd_verify(out, "s3cret pw"), 1);
	ATF_CHECK_EQ(passwd_verify(out, "s3cret pW"), 0);
	ATF_CHECK_EQ(passwd_verify(out, ""), 0);
	/* A new salt each time. */
	ATF_REQUIRE_EQ(passwd_hash(scheme, "s3cret pw", again, sizeof(again)),
	    0);
	ATF_CHECK(strcmp(out, again) != 0);
}

ATF_TC_WITHOUT_HEAD(blf_crypt);
ATF_TC_BODY(blf_crypt, tc)
{
	hash_and_verify("BLF-CRYPT", "{BLF-CRYPT}$2b$10$");
}

ATF_TC_WITHOUT_HEAD(sha512_crypt);
ATF_TC_BODY(sha512_crypt, tc)
{
	hash_and_verify("SHA512-CRYPT", "{SHA512-CRYPT}$6$");
}

ATF_TC_WITHOUT_HEAD(sha256_crypt);
ATF_TC_BODY(sha256_crypt, tc)
{
	hash_and_verify("SHA256-CRYPT", "{SHA256-CRYPT}$5$");
}

ATF_TC_WITHOUT_HEAD(crypt_yescrypt);
ATF_TC_BODY(crypt_yescrypt, tc)
{
	hash_and_verify("CRYPT", "{CRYPT}$y$");
}

ATF_TC_WITHOUT_HEAD(scheme_names);
ATF_TC_BODY(scheme_names, tc)
{
	char	out[PASSWD_HASH_MAX];

	ATF_CHECK(passwd_scheme_valid("sha512-crypt"));
	ATF_REQUIRE_EQ(passwd_hash("sha512-crypt", "x", out, sizeof(out)), 0);
	ATF_CHECK(strncmp(out, "{SHA512-CRYPT}$6$", 17) == 0);
	/* Verified, never written. */
	ATF_CHECK(!passwd_scheme_valid("ARGON2ID"));
	ATF_CHECK(!passwd_scheme_valid("PBKDF2"));
	ATF_CHECK(!passwd_scheme_valid("PLAIN"));
	ATF_CHECK(!passwd_scheme_valid("MD5"));
	ATF_CHECK(!passwd_scheme_valid(""));
	ATF_CHECK_EQ(passwd_hash("PLAIN", "x", out, sizeof(out)), -1);
	ATF_CHECK_EQ(passwd_hash("ARGON2ID", "x", out, sizeof(out)), -1);
}

ATF_TC_WITHOUT_HEAD(hash_too_long);
ATF_TC_BODY(hash_too_long, tc)
{
	char	out[40];

	ATF_CHECK_EQ(passwd_hash("SHA512-CRYPT", "x", out, sizeof(out)), -1);
}

ATF_TC_WITHOUT_HEAD(dovecot_crypt_vectors);
ATF_TC_BODY(dovecot_crypt_vectors, tc)
{
	ATF_CHECK_EQ(passwd_verify(SHA512_VEC, "Tr0ub4dor&3"), 1);
	ATF_CHECK_EQ(passwd_verify(SHA512_VEC, "Tr0ub4dor&4"), 0);
	ATF_CHECK_EQ(passwd_verify(SHA256_VEC, "Tr0ub4dor&3"), 1);
	ATF_CHECK_EQ(passwd_verify(SHA256_VEC, "tr0ub4dor&3"), 0);
	ATF_CHECK_EQ(passwd_verify(BLF_VEC, "Tr0ub4dor&3"), 1);
	ATF_CHECK_EQ(passwd_verify(BLF_VEC, "Tr0ub4dor&"), 0);
}

ATF_TC_WITHOUT_HEAD(argon2id);
ATF_TC_BODY(argon2id, tc)
{
	ATF_CHECK(passwd_hash_valid(ARGON2ID_VEC));
	ATF_CHECK_EQ(passwd_verify(ARGON2ID_VEC, "correct horse"), 1);
	ATF_CHECK_EQ(passwd_verify(ARGON2ID_VEC, "correct horsE"), 0);
}

ATF_TC_WITHOUT_HEAD(argon2i);
ATF_TC_BODY(argon2i, tc)
{
	ATF_CHECK(passwd_hash_valid(ARGON2I_VEC));
	ATF_CHECK_EQ(passwd_verify(ARGON2I_VEC, "correct horse"), 1);
	ATF_CHECK_EQ(passwd_verify(ARGON2I_VEC, "correct"), 0);
	/* The scheme names the variant: an argon2i body is no ARGON2ID. */
	ATF_CHECK_EQ(passwd_verify("{ARGON2ID}$argon2i$v=19$m=32768,t=4,"
	    "p=1$0l/F76S2bLkZKIPj8iU54A$jcwhofDSrHG57rsfZEAEJ1JLICnZuwW8"
	    "KnhenYbxRiE", "correct horse"), -1);
}

/*
 * Argon2's memory (m, KiB), passes (t), lanes (p), and memory times
 * passes are bounded (mailmaps(5)), before any allocation; the
 * defaults of doveadm pw (ARGON2ID_VEC, ARGON2I_VEC) and the common
 * tools' (64 to 100 MiB, 2 to 4 passes, up to 8 lanes) pass.
 */
ATF_TC_WITHOUT_HEAD(argon2_cost_bounded);
ATF_TC_BODY(argon2_cost_bounded, tc)
{
	static const char *const bad[] = {
		/* 4 GiB, and the 1 GiB of a careless import. */
		"{ARGON2ID}$argon2id$v=19$m=4194304,t=3,p=1$",
		"{ARGON2ID}$argon2id$v=19$m=1048576,t=1,p=4$",
		"{ARGON2ID}$argon2id$v=19$m=262145,t=1,p=1$",
		"{ARGON2ID}$argon2id$v=19$m=131072,t=3,p=1$",
		"{ARGON2I}$argon2i$v=19$m=65536,t=65,p=1$",
		"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=17$",
	};
	static const char *const good[] = {
		"{ARGON2ID}$argon2id$v=19$m=262144,t=1,p=4$",
		"{ARGON2ID}$argon2id$v=19$m=65536,t=4,p=1$",
		"{ARGON2ID}$argon2id$v=19$m=102400,t=2,p=8$",
		"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=16$",
	};
	char	 hash[256];
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(hash, sizeof(hash), "%swS1g0QXf8TvIrB86a4bjRg$dwRkjZ9"
		    "rlsganf8pjGnuSmpLPMTiXnn3aNGzAw9Sn8o", bad[i]);
		ATF_CHECK_MSG(!passwd_hash_valid(hash), "valid: %s", hash);
		ATF_CHECK_EQ_MSG(passwd_verify(hash, "correct horse"), -1,
		    "%s", hash);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(hash, sizeof(hash), "%swS1g0QXf8TvIrB86a4bjRg$dwRkjZ9"
		    "rlsganf8pjGnuSmpLPMTiXnn3aNGzAw9Sn8o", good[i]);
		ATF_CHECK_MSG(passwd_hash_valid(hash), "refused: %s", hash);
	}
	ATF_CHECK(passwd_hash_valid(ARGON2ID_VEC));
	ATF_CHECK(passwd_hash_valid(ARGON2I_VEC));
}

/*
 * passwd_hash_cost_check, for the users lines of newmaps: the reason
 * names the parameter and the bound; a hash without {SCHEME} is a
 * crypt(3) one, as Dovecot takes it; schemes we do not verify have no
 * cost we know of.
 */
ATF_TC_WITHOUT_HEAD(cost_check_reasons);
ATF_TC_BODY(cost_check_reasons, tc)
{
	static const struct {
		const char	*hash;
		const char	*why;
	} bad[] = {
		{ "{BLF-CRYPT}$2y$16$7YAvKJg9UCg8djzvw2SmR.Zaav5DB97ug2DFg4Yr18"
		    "9ZRw2y7Yj/6", "bcrypt cost 16 above 13" },
		{ "$2y$14$7YAvKJg9UCg8djzvw2SmR.Zaav5DB97ug2DFg4Yr189ZRw2y7Yj/6",
		    "bcrypt cost 14 above 13" },
		{ "{SHA512-CRYPT}$6$rounds=1000001$UDHQgrDGUAviNszG$x",
		    "SHA-crypt rounds above 1000000" },
		{ "{ARGON2ID}$argon2id$v=19$m=1048576,t=3,p=1$c2FsdHNhbHQ$aGFzaA",
		    "Argon2 memory m=1048576 above 262144 KiB" },
		{ "{ARGON2ID}$argon2id$v=19$m=131072,t=3,p=1$c2FsdHNhbHQ$aGFzaA",
		    "Argon2 memory times passes above 262144 KiB" },
		{ "{ARGON2I}$argon2i$v=19$m=65536,t=3,p=32$c2FsdHNhbHQ$aGFzaA",
		    "Argon2 lanes p=32 above 16" },
		{ "{PBKDF2}$1$d8TF7ZHe6rHIrF6G$500001$f422d25c767647c08c3f7e233a"
		    "eea94101963baa", "PBKDF2 rounds above 500000" },
		{ "{CRYPT}$y$jFT$abcdefgh$re7T7rFzlV4tY8idp98aRxY691eFpw6e5OO2"
		    "COaqZCD", "yescrypt memory above 256 MiB" },
		{ "{CRYPT}_zzzzabcdFGyXGQzuVNE", "BSDi DES rounds above 4194304" },
	};
	static const char *const good[] = {
		BLF_VEC, SHA512_VEC, SHA256_VEC, ARGON2ID_VEC, ARGON2I_VEC,
		PBKDF2_VEC, PBKDF2_UTF8_VEC,
		"{BLF-CRYPT}$2y$13$7YAvKJg9UCg8djzvw2SmR.Zaav5DB97ug2DFg4Yr189Z"
		    "Rw2y7Yj/6",
		"{SHA512-CRYPT}$6$rounds=1000000$UDHQgrDGUAviNszG$x",
		"{CRYPT}$y$jDT$abcdefgh$re7T7rFzlV4tY8idp98aRxY691eFpw6e5OO2COaq"
		    "ZCD",
		"{PLAIN}secret", "{SSHA512}anything", "",
	};
	char	 why[256];
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		ATF_CHECK_EQ_MSG(passwd_hash_cost_check(bad[i].hash, why,
		    sizeof(why)), -1, "passed: %s", bad[i].hash);
		ATF_CHECK_STREQ_MSG(why, bad[i].why, "%s", bad[i].hash);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ATF_CHECK_EQ_MSG(passwd_hash_cost_check(good[i], why,
		    sizeof(why)), 0, "refused: %s: %s", good[i], why);
}

ATF_TC_WITHOUT_HEAD(pbkdf2);
ATF_TC_BODY(pbkdf2, tc)
{
	ATF_CHECK(passwd_hash_valid(PBKDF2_VEC));
	ATF_CHECK_EQ(passwd_verify(PBKDF2_VEC, "correct horse"), 1);
	ATF_CHECK_EQ(passwd_verify(PBKDF2_VEC, "correct horse "), 0);
	ATF_CHECK_EQ(passwd_verify(PBKDF2_UTF8_VEC, "p\xc3\xa4ssw\xc3\xb6rd"),
	    1);
	ATF_CHECK_EQ(passwd_verify(PBKDF2_UTF8_VEC, "passwort"), 0);
}

/* RFC 6070's PBKDF2-HMAC-SHA1 vectors, in Dovecot's encoding. */
ATF_TC_WITHOUT_HEAD(pbkdf2_rfc6070);
ATF_TC_BODY(pbkdf2_rfc6070, tc)
{
	ATF_CHECK_EQ(passwd_verify("{PBKDF2}$1$salt$1$"
	    "0c60c80f961f0e71f3a9b524af6012062fe037a6", "password"), 1);
	ATF_CHECK_EQ(passwd_verify("{PBKDF2}$1$salt$2$"
	    "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957", "password"), 1);
	ATF_CHECK_EQ(passwd_verify("{PBKDF2}$1$salt$4096$"
	    "4B007901B765489ABEAD49D926F721D065A429C1", "password"), 1);
	ATF_CHECK_EQ(passwd_verify("{PBKDF2}$1$saltSALTsaltSALTsaltSALTsalt"
	    "SALTsalt$4096$3d2eec4fe41c849b80c8d83662c0e44a8b291a96",
	    "passwordPASSWORDpassword"), 1);
	ATF_CHECK_EQ(passwd_verify("{PBKDF2}$1$salt$2$"
	    "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957", "passwordX"), 0);
}

/* A password longer than SHA-1's block is hashed into the HMAC key. */
ATF_TC_WITHOUT_HEAD(pbkdf2_long_password);
ATF_TC_BODY(pbkdf2_long_password, tc)
{
	char	pw[71];

	memset(pw, 'x', 70);
	pw[70] = '\0';
	/* doveadm pw -s PBKDF2 -r 100 -p xxx...x (70 times) */
	ATF_CHECK_EQ(passwd_verify("{PBKDF2}$1$lcNgmuyM1yEc9gLC$100$"
	    "8a792eda33fcc9bbaa92aec3760cb5094339cf12", pw), 1);
	pw[69] = '\0';
	ATF_CHECK_EQ(passwd_verify("{PBKDF2}$1$lcNgmuyM1yEc9gLC$100$"
	    "8a792eda33fcc9bbaa92aec3760cb5094339cf12", pw), 0);
}

ATF_TC_WITHOUT_HEAD(pbkdf2_malformed);
ATF_TC_BODY(pbkdf2_malformed, tc)
{
	static const char *const bad[] = {
		"{PBKDF2}$2$salt$1$0c60c80f961f0e71f3a9b524af6012062fe037a6",
		"{PBKDF2}$1$$1$0c60c80f961f0e71f3a9b524af6012062fe037a6",
		"{PBKDF2}$1$salt$0$0c60c80f961f0e71f3a9b524af6012062fe037a6",
		"{PBKDF2}$1$salt$x$0c60c80f961f0e71f3a9b524af6012062fe037a6",
		"{PBKDF2}$1$salt$1$0c60c80f961f0e71f3a9b524af6012062fe037",
		"{PBKDF2}$1$salt$1$0c60c80f961f0e71f3a9b524af6012062fe037zz",
		("{PBKDF2}$1$salt$99999999999$0c60c80f961f0e71f3a9b524af60120"
		     "62fe037a6"),
		"{PBKDF2}$1$s:lt$1$0c60c80f961f0e71f3a9b524af6012062fe037a6",
	};
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ATF_CHECK_MSG(!passwd_hash_valid(bad[i]), "valid: %s", bad[i]);
		ATF_CHECK_EQ_MSG(passwd_verify(bad[i], "password"), -1, "%s",
		    bad[i]);
	}
}

ATF_TC_WITHOUT_HEAD(hash_valid_refusals);
ATF_TC_BODY(hash_valid_refusals, tc)
{
	static const char *const bad[] = {
		"",
		"$6$abc$def",
		"{PLAIN}secret",
		"{SHA512-CRYPT}",
		"{SHA512-CRYPT}secret",
		("{SHA512-CRYPT}$5$NZJyjzyZEAIcvz.N$CAu9acxReHCqwb4/saFYrDGNcI3Z"
		     "Xj7ND3IH0ZdF1u8"),
		"{BLF-CRYPT}$2y$05$7YAvKJg9UCg8djzvw2SmR.Zaav5DB97ug2DFg4Yr189Z",
		("{BLF-CRYPT}$2y$05$7YAvKJg9UCg8djzvw2SmR.Zaav5DB97ug2DFg4Yr189"
		     "ZRw2y7Yj:6"),
		("{SHA256-CRYPT}$5$NZJyjzyZEAIcvz.N$CAu9acxReHCqwb4/saFYrDGNcI3Z"
		     "Xj7ND3IH0ZdF1u8 nologin"),
		"{CRYPT}$y$j9T$9tPJ156ohXpcrJKwJSr3z0$fZ2pGuUdzMEnhhJi.yAZDgs\n",
		"{CRYPT}*0",
		"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$wS1g0QXf8TvIrB86a4bjRg",
		("{ARGON2ID}$argon2id$v=19$m=65536,t=0,p=1$wS1g0QXf8TvIrB86a4bjRg"
		     "$dwRkjZ9rlsganf8pjGnuSmpLPMTiXnn3aNGzAw9Sn8o"),
	};
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ATF_CHECK_MSG(!passwd_hash_valid(bad[i]), "valid: %s", bad[i]);
}

/* Like Argon2's, the costs of the crypt(3) family are bounded. */
ATF_TC_WITHOUT_HEAD(crypt_cost_bounded);
ATF_TC_BODY(crypt_cost_bounded, tc)
{
	static const char *const bad[] = {
		("{BLF-CRYPT}$2y$14$7YAvKJg9UCg8djzvw2SmR.Zaav5DB97ug2DFg4Yr189"
		     "ZRw2y7Yj/6"),
		("{BLF-CRYPT}$2y$16$7YAvKJg9UCg8djzvw2SmR.Zaav5DB97ug2DFg4Yr189"
		     "ZRw2y7Yj/6"),
		("{SHA512-CRYPT}$6$rounds=1000001$UDHQgrDGUAviNszG$LSAb4RsMVZd"
		     "esV5WSPn32snozTZ3g56J9ZQ5szbuUxW2b1rhQFquFpltWrxK62PHtQTWPsx"
		     "zzx7jvadHNKb5r."),
		("{CRYPT}$2b$31$7YAvKJg9UCg8djzvw2SmR.Zaav5DB97ug2DFg4Yr189"
		     "ZRw2y7Yj/6"),
		("{SHA512-CRYPT}$6$rounds=999999999$UDHQgrDGUAviNszG$LSAb4RsMVZd"
		     "esV5WSPn32snozTZ3g56J9ZQ5szbuUxW2b1rhQFquFpltWrxK62PHtQTWPsx"
		     "zzx7jvadHNKb5r."),
		("{CRYPT}$5$rounds=5000001$NZJyjzyZEAIcvz.N$CAu9acxReHCqwb4/saFY"
		     "rDGNcI3ZXj7ND3IH0ZdF1u8"),
	};
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ATF_CHECK_MSG(!passwd_hash_valid(bad[i]), "valid: %s", bad[i]);
		ATF_CHECK_EQ_MSG(passwd_verify(bad[i], "x"), -1, "%s", bad[i]);
	}
	ATF_CHECK(passwd_hash_valid("{BLF-CRYPT}$2y$13$7YAvKJg9UCg8djzvw2SmR."
	    "Zaav5DB97ug2DFg4Yr189ZRw2y7Yj/6"));
	ATF_CHECK(passwd_hash_valid("{SHA512-CRYPT}$6$rounds=1000000$UDHQgrDG"
	    "UAviNszG$LSAb4RsMVZdesV5WSPn32snozTZ3g56J9ZQ5szbuUxW2b1rhQFquFpl"
	    "tWrxK62PHtQTWPsxzzx7jvadHNKb5r."));
}

/*
 * {CRYPT} takes libxcrypt's other methods too, and bounds their costs:
 * sha1crypt's and SunMD5's rounds go up to 2^32 (hours of CPU for one
 * login), yescrypt's and scrypt's N to gigabytes of memory.  Found by
 * tools/fuzz.  Hashes of "Tr0ub4dor&3" from crypt(3) at low costs pass;
 * the same with a cost raised are refused, and never computed.
 */
ATF_TC_WITHOUT_HEAD(crypt_other_costs_bounded);
ATF_TC_BODY(crypt_other_costs_bounded, tc)
{
	static const char *const good[] = {
		"{CRYPT}$sha1$1000$abcdefgh$A5C./Zedk7RFwIu6c2TQyEZb.k9R",
		"{CRYPT}$md5,rounds=1000$abcdefgh$$9i6XsoFJHP5yUTgH3/TL60",
		("{CRYPT}$y$j9T$abcdefgh$re7T7rFzlV4tY8idp98aRxY691eFpw6e5OO2"
		     "COaqZCD"),
		("{CRYPT}$gy$j75$abcdefgh$JGB/X5I6lo.s1Wim9CnFEBf1ojyGPxSKEV60"
		     "xTzkm54"),
		("{CRYPT}$7$C6..../....abcdefgh$6qbrS7rEp46S1vmGD0MF/9.joMUql"
		     "ML4WMasmHvpw93"),
	};
	static const char *const bad[] = {
		"{CRYPT}$sha1$4294967295$abcdefgh$A5C./Zedk7RFwIu6c2TQyEZb.k9R",
		"{CRYPT}$sha1$500001$abcdefgh$A5C./Zedk7RFwIu6c2TQyEZb.k9R",
		"{CRYPT}$md5,rounds=300001$abcdefgh$$9i6XsoFJHP5yUTgH3/TL60",
		"{CRYPT}_zzzzabcdFGyXGQzuVNE",
		("{CRYPT}$md5,rounds=2147483647$abcdefgh$$9i6XsoFJHP5yUTgH3/"
		     "TL60"),
		"{CRYPT}$md5,round=1000$abcdefgh$$9i6XsoFJHP5yUTgH3/TL60",
		/* N = 2^19, r = 32: 2 GiB. */
		("{CRYPT}$y$jGT$abcdefgh$re7T7rFzlV4tY8idp98aRxY691eFpw6e5OO2"
		     "COaqZCD"),
		("{CRYPT}$gy$jzT$abcdefgh$JGB/X5I6lo.s1Wim9CnFEBf1ojyGPxSKEV60"
		     "xTzkm54"),
		("{CRYPT}$7$J6..../....abcdefgh$6qbrS7rEp46S1vmGD0MF/9.joMUql"
		     "ML4WMasmHvpw93"),
		/* p = 2^29. */
		("{CRYPT}$7$C6..../...zabcdefgh$6qbrS7rEp46S1vmGD0MF/9.joMUql"
		     "ML4WMasmHvpw93"),
	};
	size_t	i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ATF_CHECK_MSG(passwd_hash_valid(good[i]), "refused: %s",
		    good[i]);
		ATF_CHECK_EQ_MSG(passwd_verify(good[i], "Tr0ub4dor&3"), 1, "%s",
		    good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ATF_CHECK_MSG(!passwd_hash_valid(bad[i]), "valid: %s", bad[i]);
}

/*
 * A copy of s whose NUL is the last byte before an unmapped page: a
 * read past the end of the string faults.
 */
static const char *
at_page_end(const char *s)
{
	size_t	 page = sysconf(_SC_PAGESIZE), len = strlen(s) + 1;
	char	*p;

	ATF_REQUIRE(len <= page);
	p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ATF_REQUIRE(p != MAP_FAILED);
	ATF_REQUIRE(mprotect(p + page, page, PROT_NONE) == 0);
	memcpy(p + page - len, s, len);
	return p + page - len;
}

/*
 * Hashes cut short inside the cost parameters are refused without a
 * read past their end (tools/fuzz found "{CRYPt}$y$A").
 */
ATF_TC_WITHOUT_HEAD(crypt_cost_truncated);
ATF_TC_BODY(crypt_cost_truncated, tc)
{
	static const char *const cut[] = {
		"{CRYPT}$y$", "{CRYPT}$y$A", "{CRYPT}$y$j9", "{CRYPT}$gy$j",
		"{CRYPT}$7$", "{CRYPT}$7$C6..", "{CRYPT}$sha1$",
		"{CRYPT}$md5,", "{CRYPT}$md5,rounds=", "{CRYPT}$2b$",
		"{CRYPT}$2b$1", "{SHA512-CRYPT}$6$rounds=",
	};
	const char	*s;
	size_t		 i;

	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		s = at_page_end(cut[i]);
		ATF_CHECK_MSG(!passwd_hash_valid(s), "valid: %s", s);
		ATF_CHECK_EQ_MSG(passwd_verify(s, "x"), -1, "%s", s);
	}
}

ATF_TC_WITHOUT_HEAD(hash_valid_accepts);
ATF_TC_BODY(hash_valid_accepts, tc)
{
	ATF_CHECK(passwd_hash_valid(SHA512_VEC));
	ATF_CHECK(passwd_hash_valid(SHA256_VEC));
	ATF_CHECK(passwd_hash_valid(BLF_VEC));
	ATF_CHECK(passwd_hash_valid("{CRYPT}$y$j9T$9tPJ156ohXpcrJKwJSr3z0$"
	    "fZ2pGuUdzMEnhhJi.yAZDgsDuYCZXjWePYuZSl2y373"));
	/* {CRYPT} takes whatever crypt(3) takes, bcrypt too. */
	ATF_CHECK(passwd_hash_valid("{CRYPT}$2y$05$7YAvKJg9UCg8djzvw2SmR."
	    "Zaav5DB97ug2DFg4Yr189ZRw2y7Yj/6"));
	ATF_CHECK_EQ(passwd_verify("{crypt}$2y$05$7YAvKJg9UCg8djzvw2SmR."
	    "Zaav5DB97ug2DFg4Yr189ZRw2y7Yj/6", "Tr0ub4dor&3"), 1);
	ATF_CHECK(passwd_hash_valid(PBKDF2_VEC));
}

ATF_TC_WITHOUT_HEAD(verify_unknown);
ATF_TC_BODY(verify_unknown, tc)
{
	ATF_CHECK_EQ(passwd_verify("{PLAIN}secret", "secret"), -1);
	ATF_CHECK_EQ(passwd_verify("secret", "secret"), -1);
	ATF_CHECK_EQ(passwd_verify("{SHA512-CRYPT}*0", "*0"), -1);
	ATF_CHECK_EQ(passwd_verify("", ""), -1);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, blf_crypt);
	ATF_TP_ADD_TC(tp, sha512_crypt);
	ATF_TP_ADD_TC(tp, sha256_crypt);
	ATF_TP_ADD_TC(tp, crypt_yescrypt);
	ATF_TP_ADD_TC(tp, scheme_names);
	ATF_TP_ADD_TC(tp, hash_too_long);
	ATF_TP_ADD_TC(tp, dovecot_crypt_vectors);
	ATF_TP_ADD_TC(tp, argon2id);
	ATF_TP_ADD_TC(tp, argon2i);
	ATF_TP_ADD_TC(tp, argon2_cost_bounded);
	ATF_TP_ADD_TC(tp, cost_check_reasons);
	ATF_TP_ADD_TC(tp, pbkdf2);
	ATF_TP_ADD_TC(tp, pbkdf2_rfc6070);
	ATF_TP_ADD_TC(tp, pbkdf2_long_password);
	ATF_TP_ADD_TC(tp, pbkdf2_malformed);
	ATF_TP_ADD_TC(tp, hash_valid_refusals);
	ATF_TP_ADD_TC(tp, crypt_cost_bounded);
	ATF_TP_ADD_TC(tp, crypt_other_costs_bounded);
	ATF_TP_ADD_TC(tp, crypt_cost_truncated);
	ATF_TP_ADD_TC(tp, hash_valid_accepts);
	ATF_TP_ADD_TC(tp, verify_unknown);
	return atf_no_error();
}
