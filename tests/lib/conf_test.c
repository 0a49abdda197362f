/* Tests of lib/libmail/conf.c: mail.conf(5). */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atf-c.h>

#include "libmail.h"
#include "fixture.h"

#define CONF	"mail.conf"

static char	err[512];

static int
load(struct conf *c, const char *text)
{
	fixture_write(CONF, text);
	err[0] = '\0';
	return conf_load(c, CONF, err, sizeof(err));
}

static void
load_ok(struct conf *c, const char *text)
{
	ATF_REQUIRE_MSG(load(c, text) == 0, "conf_load: %s", err);
}

/*
 * The text must be refused, with "mail.conf:LINE: " and then reason
 * in err.
 */
static void
load_err(const char *text, size_t line, const char *reason)
{
	struct conf	c;
	char		want[256];

	snprintf(want, sizeof(want), "%s:%zu: ", CONF, line);
	ATF_CHECK_EQ_MSG(load(&c, text), -1, "accepted: %s", text);
	ATF_CHECK_MSG(strncmp(err, want, strlen(want)) == 0 &&
	    strstr(err + strlen(want), reason) != NULL,
	    "for \"%s\": got \"%s\", want \"%s...%s...\"", text, err, want,
	    reason);
}

static void
check_defaults(const struct conf *c)
{
	static const time_t retry[] = { 300, 600, 1200, 2400, 3600, 7200,
	    14400 };
	const unsigned char lo[4] = { 127, 0, 0, 0 };
	size_t	i;

	ATF_CHECK_EQ(c->nlisten, 1);
	ATF_CHECK_STREQ(c->listen[0].host, "0.0.0.0");
	ATF_CHECK_STREQ(c->listen[0].port, "25");
	ATF_CHECK_EQ(c->listen[0].family, AF_INET);
	ATF_CHECK_EQ(c->listen[0].mode, LISTEN_PLAIN);
	ATF_CHECK_STREQ(c->user, "_mail");
	ATF_CHECK_STREQ(c->spool, "/var/spool/basemail");
	ATF_CHECK_STREQ(c->mapdir, "/etc/mail");
	ATF_CHECK_STREQ(c->maildir, "/var/mail/vhosts/%d/%u");
	ATF_REQUIRE_EQ(c->nrelaynets, 2);
	ATF_CHECK_EQ(c->relaynets[0].family, AF_INET);
	ATF_CHECK_EQ(c->relaynets[0].prefix, 8);
	ATF_CHECK(memcmp(c->relaynets[0].addr, lo, 4) == 0);
	ATF_CHECK_EQ(c->relaynets[1].family, AF_INET6);
	ATF_CHECK_EQ(c->relaynets[1].prefix, 128);
	ATF_CHECK_EQ(c->relaynets[1].addr[15], 1);
	ATF_CHECK_STREQ(c->relayhost, "");
	ATF_CHECK_EQ(c->relayhost_tls, CONF_TLS_MAY);
	ATF_CHECK_EQ(c->relayhost_smtps, 0);
	ATF_CHECK_STREQ(c->relayhost_auth, "");
	ATF_CHECK_STREQ(c->tls_ca_file, "");
	ATF_CHECK_EQ(c->maxsize, 35 * 1024 * 1024);
	ATF_CHECK_EQ(c->maxrcpt, 100);
	ATF_CHECK_STREQ(c->recipient_delimiter, "+");
	ATF_CHECK_EQ(c->queue_lifetime, 5 * 86400);
	ATF_CHECK_STREQ(c->postmaster, "root@localhost");
	ATF_CHECK_STREQ(c->tls_cert, "");
	ATF_CHECK_STREQ(c->tls_key, "");
	ATF_CHECK_EQ(c->sender_check, SENDER_CHECK_ENVELOPE);
	ATF_CHECK_EQ(c->srs, 0);
	ATF_CHECK_EQ(c->nmilters, 0);
	ATF_CHECK_EQ(c->milter_timeout, 30);
	ATF_CHECK_EQ(c->milter_default, CONF_MILTER_TEMPFAIL);
	ATF_CHECK_EQ(c->conn_rate.n, 60);
	ATF_CHECK_EQ(c->msg_rate.n, 120);
	ATF_CHECK_EQ(c->max_rcpt_refused.n, 20);
	ATF_CHECK_EQ(c->auth_fail_limit.n, 10);
	ATF_CHECK_EQ(c->auth_fail_limit.all, 0);
	ATF_CHECK_EQ(c->auth_fail_window, 600);
	ATF_CHECK_EQ(c->auth_fail_lockout, 600);
	ATF_CHECK_EQ(c->nlmtp, 0);
	ATF_CHECK_EQ(c->quota_check_at_rcpt, 1);
	ATF_CHECK_EQ(c->quota_full_tempfail, 1);
	ATF_CHECK_EQ(c->ndnsbl, 0);
	ATF_CHECK_STREQ(c->attic, "/var/mail/attic");
	ATF_CHECK_EQ(c->delete_grace, 2 * 86400);
	ATF_CHECK_EQ(c->command_timeout, 300);
	ATF_CHECK_EQ(c->data_timeout, 600);
	ATF_CHECK_EQ(c->max_errors, 10);
	ATF_CHECK_EQ(c->max_sessions, 100);
	ATF_CHECK_EQ(c->max_sessions_per_ip, 20);
	ATF_CHECK_EQ(c->max_sessions_per_ip_all, 0);
	ATF_CHECK_EQ(c->max_junk_commands, 100);
	ATF_CHECK_EQ(c->greet_delay, 1);
	ATF_REQUIRE_EQ(c->nretry_schedule, 7);
	for (i = 0; i < 7; i++)
		ATF_CHECK_EQ(c->retry_schedule[i], retry[i]);
	ATF_CHECK_EQ(c->delay_warning, 4 * 3600);
	ATF_CHECK_EQ(c->max_deliveries, 20);
	ATF_CHECK_EQ(c->max_per_destination, 4);
}

ATF_TC_WITHOUT_HEAD(defaults_of_an_empty_file);
ATF_TC_BODY(defaults_of_an_empty_file, tc)
{
	struct conf	c;
	char		host[256];

	load_ok(&c, "");
	check_defaults(&c);
	ATF_REQUIRE(gethostname(host, sizeof(host)) == 0);
	ATF_CHECK_STREQ(c.hostname, host);
	ATF_CHECK_STREQ(c.path, CONF);
	conf_free(&c);
	ATF_CHECK(c.listen == NULL && c.relaynets == NULL &&
	    c.retry_schedule == NULL);
}

ATF_TC_WITHOUT_HEAD(comments_and_blank_lines);
ATF_TC_BODY(comments_and_blank_lines, tc)
{
	struct conf	c;

	load_ok(&c, "# a comment\n\n   \t\nmaxrcpt 7 # trailing comment\n"
	    "\tmaxsize\t1K\t\r\n");
	ATF_CHECK_EQ(c.maxrcpt, 7);
	ATF_CHECK_EQ(c.maxsize, 1024);
	conf_free(&c);
}

ATF_TC_WITHOUT_HEAD(sample_file_gives_defaults);
ATF_TC_BODY(sample_file_gives_defaults, tc)
{
	struct conf	c;
	char		path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/../../etc/mail.conf",
	    atf_tc_get_config_var(tc, "srcdir"));
	ATF_REQUIRE_MSG(conf_load(&c, path, err, sizeof(err)) == 0, "%s", err);
	check_defaults(&c);
	conf_free(&c);
}

/*
 * Every keyword is in the sample, and each "#keyword value" line,
 * uncommented, gives the default.
 */
ATF_TC_WITHOUT_HEAD(sample_values_are_defaults);
ATF_TC_BODY(sample_values_are_defaults, tc)
{
	static const char *kws[] = { "hostname", "listen", "user", "spool",
	    "mapdir", "maildir", "relaynets", "relayhost", "maxsize",
	    "maxrcpt", "recipient_delimiter", "queue_lifetime", "postmaster",
	    "tls_cert", "tls_key", "attic", "delete_grace", "command_timeout",
	    "data_timeout", "max_errors", "max_sessions",
	    "max_sessions_per_ip", "retry_schedule", "delay_warning",
	    "max_deliveries", "max_per_destination", "max_junk_commands",
	    "greet_delay", "relayhost_auth", "relayhost_tls", "tls_ca_file",
	    "sender_check", "srs", "milter_timeout", "milter_default",
	    "conn_rate", "msg_rate", "max_rcpt_refused", "auth_fail_limit",
	    "dnsbl", "spf_policy", "dmarc_policy", "lmtp",
	    "quota_check_at_rcpt", "quota_full_tempfail" };
	struct conf	 c;
	char		 path[PATH_MAX], line[1024];
	char		 found[sizeof(kws) / sizeof(kws[0])] = { 0 };
	FILE		*in, *out;
	size_t		 i, len;
	int		 n = 0;

	snprintf(path, sizeof(path), "%s/../../etc/mail.conf",
	    atf_tc_get_config_var(tc, "srcdir"));
	ATF_REQUIRE((in = fopen(path, "r")) != NULL);
	ATF_REQUIRE((out = fopen(CONF, "w")) != NULL);
	while (fgets(line, sizeof(line), in) != NULL) {
		for (i = 0; i < sizeof(kws) / sizeof(kws[0]); i++) {
			len = strlen(kws[i]);
			if (line[0] == '#' && strncmp(line + 1, kws[i], len) ==
			    0 && (line[len + 1] == '\t' || line[len + 1] == ' '))
				found[i] = 1;
		}
		if (line[0] != '#' || line[1] < 'a' || line[1] > 'z' ||
		    strchr(line, '(') != NULL)
			continue;
		fputs(line + 1, out);
		n++;
	}
	fclose(in);
	ATF_REQUIRE(fclose(out) == 0);
	for (i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
		ATF_CHECK_MSG(found[i], "%s not in the sample", kws[i]);
	ATF_CHECK_EQ(n, 37);
	ATF_REQUIRE_MSG(conf_load(&c, CONF, err, sizeof(err)) == 0, "%s", err);
	check_defaults(&c);
	conf_free(&c);
}

ATF_TC_WITHOUT_HEAD(missing_file);
ATF_TC_BODY(missing_file, tc)
{
	struct conf	c;

	ATF_CHECK_EQ(conf_load(&c, "nonexistent.conf", err, sizeof(err)), -1);
	ATF_CHECK_STREQ(err, "nonexistent.conf: No such file or directory");
}

ATF_TC_WITHOUT_HEAD(unreadable_file);
ATF_TC_BODY(unreadable_file, tc)
{
	struct conf	c;

	ATF_CHECK_EQ(conf_load(&c, ".", err, sizeof(err)), -1);
	ATF_CHECK_STREQ(err, ".: Is a directory");
	if (getuid() == 0)
		atf_tc_skip("root reads any file");
	fixture_write(CONF, "maxrcpt 5\n");
	ATF_REQUIRE(chmod(CONF, 0) == 0);
	ATF_CHECK_EQ(conf_load(&c, CONF, err, sizeof(err)), -1);
	ATF_CHECK_STREQ(err, CONF ": Permission denied");
}

ATF_TC_WITHOUT_HEAD(error_leaves_nothing_to_free);
ATF_TC_BODY(error_leaves_nothing_to_free, tc)
{
	struct conf	c;

	ATF_CHECK_EQ(load(&c, "listen 127.0.0.1:25\nrelaynets 10.0.0.0/8\n"
	    "retry_schedule 1m\nbogus\n"), -1);
	ATF_CHECK(c.listen == NULL && c.relaynets == NULL &&
	    c.retry_schedule == NULL);
	ATF_CHECK(c.nlisten == 0 && c.nrelaynets == 0 &&
	    c.nretry_schedule == 0);
}

ATF_TC_WITHOUT_HEAD(unknown_keyword);
ATF_TC_BODY(unknown_keyword, tc)
{
	load_err("# c\nmaxrcpt 5\nmaxrcp 5\n", 3, "unknown keyword \"maxrcp\"");
	load_err("Hostname mx.example.org\n", 1, "unknown keyword");
}

ATF_TC_WITHOUT_HEAD(missing_argument);
ATF_TC_BODY(missing_argument, tc)
{
	load_err("\nspool\n", 2, "spool: missing argument");
	load_err("relaynets\n", 1, "relaynets: missing argument");
	load_err("retry_schedule\n", 1, "retry_schedule: missing argument");
}

ATF_TC_WITHOUT_HEAD(extra_argument);
ATF_TC_BODY(extra_argument, tc)
{
	load_err("maxrcpt 5 6\n", 1, "maxrcpt: too many arguments");
	load_err("listen 127.0.0.1:25 submission x\n", 1,
	    "listen: too many arguments");
}

ATF_TC_WITHOUT_HEAD(keyword_given_twice);
ATF_TC_BODY(keyword_given_twice, tc)
{
	load_err("user a\n\nuser b\n", 3, "user given twice (first on line 1)");
	load_err("retry_schedule 1m\nretry_schedule 2m\n", 2,
	    "retry_schedule given twice");
}

ATF_TC_WITHOUT_HEAD(line_too_long);
ATF_TC_BODY(line_too_long, tc)
{
	char	*text;

	ATF_REQUIRE((text = malloc(10000)) != NULL);
	strlcpy(text, "maxrcpt 5\n#", 10000);
	memset(text + 11, 'x', 5000);
	strlcpy(text + 5011, "\n", 10);
	load_err(text, 2, "line too long");
	free(text);
}

/* "At most 4096 bytes": the newline is not one of them. */
ATF_TC_WITHOUT_HEAD(line_of_4096_bytes);
ATF_TC_BODY(line_of_4096_bytes, tc)
{
	struct conf	 c;
	char		 text[5000];

	strlcpy(text, "maxrcpt 5 #", sizeof(text));
	memset(text + 11, 'x', 4096 - 11);
	strlcpy(text + 4096, "\n", 10);
	load_ok(&c, text);
	ATF_CHECK_EQ(c.maxrcpt, 5);
	conf_free(&c);
	text[4096] = '\0';
	load_ok(&c, text);
	conf_free(&c);
	strlcpy(text + 4096, "x\n", 10);
	load_err(text, 1, "line too long");
}

ATF_TC_WITHOUT_HEAD(too_many_words);
ATF_TC_BODY(too_many_words, tc)
{
	struct conf	c;
	char		text[1024];
	int		i;

	strlcpy(text, "relaynets", sizeof(text));
	for (i = 0; i < 63; i++)
		strlcat(text, " 10.0.0.1", sizeof(text));
	strlcat(text, "\n", sizeof(text));
	load_ok(&c, text);
	ATF_CHECK_EQ(c.nrelaynets, 63);
	conf_free(&c);
	text[strlen(text) - 1] = '\0';
	strlcat(text, " 10.0.0.1\n", sizeof(text));
	load_err(text, 1, "too many words");
}

ATF_TC_WITHOUT_HEAD(nul_byte_in_line);
ATF_TC_BODY(nul_byte_in_line, tc)
{
	struct conf	 c;
	FILE		*fp;

	ATF_REQUIRE((fp = fopen(CONF, "w")) != NULL);
	ATF_REQUIRE(fwrite("maxrcpt 5\0x\n", 1, 12, fp) == 12);
	ATF_REQUIRE(fclose(fp) == 0);
	ATF_CHECK_EQ(conf_load(&c, CONF, err, sizeof(err)), -1);
	ATF_CHECK_STREQ(err, CONF ":1: NUL byte in line");
}

ATF_TC_WITHOUT_HEAD(size_values);
ATF_TC_BODY(size_values, tc)
{
	uint64_t	v;

	ATF_CHECK(conf_parse_size("0", &v) == 0 && v == 0);
	ATF_CHECK(conf_parse_size("1", &v) == 0 && v == 1);
	ATF_CHECK(conf_parse_size("1K", &v) == 0 && v == 1024);
	ATF_CHECK(conf_parse_size("2k", &v) == 0 && v == 2048);
	ATF_CHECK(conf_parse_size("35M", &v) == 0 && v == 35 << 20);
	ATF_CHECK(conf_parse_size("1G", &v) == 0 && v == 1 << 30);
	ATF_CHECK(conf_parse_size("007", &v) == 0 && v == 7);
	ATF_CHECK(conf_parse_size("8589934591G", &v) == 0 &&
	    v == 8589934591ULL << 30);
	ATF_CHECK(conf_parse_size("9223372036854775807", &v) == 0 &&
	    v == INT64_MAX);
}

ATF_TC_WITHOUT_HEAD(size_refusals);
ATF_TC_BODY(size_refusals, tc)
{
	static const char *bad[] = { "", "K", "-1", "+1", " 1", "1 ", "1.5M",
	    "1T", "1KB", "1MK", "0x10", "8589934592G", "9223372036854775808",
	    "18446744073709551616", "99999999999999999999999" };
	uint64_t	v;
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ATF_CHECK_EQ_MSG(conf_parse_size(bad[i], &v), -1, "\"%s\"",
		    bad[i]);
}

ATF_TC_WITHOUT_HEAD(duration_values);
ATF_TC_BODY(duration_values, tc)
{
	time_t	t;

	ATF_CHECK(conf_parse_duration("0", &t) == 0 && t == 0);
	ATF_CHECK(conf_parse_duration("30", &t) == 0 && t == 30);
	ATF_CHECK(conf_parse_duration("30s", &t) == 0 && t == 30);
	ATF_CHECK(conf_parse_duration("5m", &t) == 0 && t == 300);
	ATF_CHECK(conf_parse_duration("2h", &t) == 0 && t == 7200);
	ATF_CHECK(conf_parse_duration("5d", &t) == 0 && t == 432000);
	ATF_CHECK(conf_parse_duration("2147483647", &t) == 0 &&
	    t == 2147483647);
	ATF_CHECK(conf_parse_duration("24855d", &t) == 0 &&
	    t == 24855L * 86400);
}

ATF_TC_WITHOUT_HEAD(duration_refusals);
ATF_TC_BODY(duration_refusals, tc)
{
	static const char *bad[] = { "", "m", "-5m", "+5", "1w", "1M", "1H",
	    "5mm", "1.5h", "1h30m", "2147483648", "24856d",
	    "99999999999999999999999d" };
	time_t	t;
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ATF_CHECK_EQ_MSG(conf_parse_duration(bad[i], &t), -1, "\"%s\"",
		    bad[i]);
}

ATF_TC_WITHOUT_HEAD(hostname);
ATF_TC_BODY(hostname, tc)
{
	struct conf	c;

	load_ok(&c, "hostname MX.Example.ORG\n");
	ATF_CHECK_STREQ(c.hostname, "mx.example.org");
	conf_free(&c);
	load_err("hostname mx.example.org.\n", 1, "bad hostname: trailing dot");
	load_err("hostname mx_1.example.org\n", 1, "bad hostname");
	load_err("hostname [192.0.2.1]\n", 1, "bad hostname");
	load_err("hostname 192.0.2.1\n", 1,
	    "bad hostname: all-numeric top-level domain");
}

ATF_TC_WITHOUT_HEAD(listen_forms);
ATF_TC_BODY(listen_forms, tc)
{
	struct conf	c;

	load_ok(&c, "listen 127.0.0.1:25\nlisten [::1]:587 submission\n"
	    "listen [2001:db8::1]:465 smtps\n"
	    "tls_cert /etc/ssl/c.pem\ntls_key /etc/ssl/k.pem\n");
	ATF_REQUIRE_EQ(c.nlisten, 3);
	ATF_CHECK_STREQ(c.listen[0].host, "127.0.0.1");
	ATF_CHECK_STREQ(c.listen[0].port, "25");
	ATF_CHECK_EQ(c.listen[0].family, AF_INET);
	ATF_CHECK_EQ(c.listen[0].mode, LISTEN_PLAIN);
	ATF_CHECK_STREQ(c.listen[1].host, "::1");
	ATF_CHECK_STREQ(c.listen[1].port, "587");
	ATF_CHECK_EQ(c.listen[1].family, AF_INET6);
	ATF_CHECK_EQ(c.listen[1].mode, LISTEN_SUBMISSION);
	ATF_CHECK_STREQ(c.listen[2].host, "2001:db8::1");
	ATF_CHECK_EQ(c.listen[2].mode, LISTEN_SMTPS);
	conf_free(&c);
}

ATF_TC_WITHOUT_HEAD(listen_refusals);
ATF_TC_BODY(listen_refusals, tc)
{
	load_err("listen localhost:25\n", 1, "not a numeric IP address");
	load_err("listen ::1:25\n", 1, "not a numeric IP address");
	load_err("listen 127.0.0.1\n", 1, "address must be written ADDR:PORT");
	load_err("listen [::1]25\n", 1, "IPv6 address must be written");
	load_err("listen [::1]\n", 1, "IPv6 address must be written");
	load_err("listen [127.0.0.1]:25\n", 1, "not a numeric IP address");
	load_err("listen 127.0.0.1:0\n", 1, "bad port");
	load_err("listen 127.0.0.1:65536\n", 1, "bad port");
	load_err("listen 127.0.0.1:smtp\n", 1, "bad port");
	load_err("listen 127.0.0.1:\n", 1, "bad port");
	load_err("listen :25\n", 1, "bad address");
	load_err("listen 127.0.0.1:25 imap\n", 1,
	    "mode must be submission or smtps");
	load_err("\nlisten 127.0.0.1:465 smtps\n", 2,
	    "smtps needs tls_cert and tls_key");
}

ATF_TC_WITHOUT_HEAD(user);
ATF_TC_BODY(user, tc)
{
	struct conf	c;

	load_ok(&c, "user _vmail\n");
	ATF_CHECK_STREQ(c.user, "_vmail");
	conf_free(&c);
	load_err("user -x\n", 1, "bad user name");
	load_err("user a/b\n", 1, "bad user name");
	load_err("user aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaa\n", 1, "user name too long");
}

ATF_TC_WITHOUT_HEAD(paths);
ATF_TC_BODY(paths, tc)
{
	struct conf	c;

	load_ok(&c, "spool /s\nmapdir /m\nattic /a\n"
	    "tls_cert /c.pem\ntls_key /k.pem\n");
	ATF_CHECK_STREQ(c.spool, "/s");
	ATF_CHECK_STREQ(c.mapdir, "/m");
	ATF_CHECK_STREQ(c.attic, "/a");
	ATF_CHECK_STREQ(c.tls_cert, "/c.pem");
	ATF_CHECK_STREQ(c.tls_key, "/k.pem");
	conf_free(&c);
	load_err("spool var/spool\n", 1, "path must be absolute");
	load_err("mapdir ./maps\n", 1, "path must be absolute");
	load_err("attic attic\n", 1, "path must be absolute");
	load_err("tls_cert c.pem\ntls_key /k\n", 1, "path must be absolute");
	load_err("spool /a\001b\n", 1, "control character in path");
}

ATF_TC_WITHOUT_HEAD(maildir_template);
ATF_TC_BODY(maildir_template, tc)
{
	struct conf	c;

	load_ok(&c, "maildir /home/vmail/%d/%u/Maildir\n");
	ATF_CHECK_STREQ(c.maildir, "/home/vmail/%d/%u/Maildir");
	conf_free(&c);
	load_err("maildir vhosts/%d/%u\n", 1, "path must be absolute");
	load_err("maildir /v/%d/%u/%n\n", 1, "unknown % escape");
	load_err("maildir /v/%d/%u%\n", 1, "unknown % escape");
	load_err("maildir /v/%u\n", 1, "template must contain %d and %u");
	load_err("maildir /v/%d\n", 1, "template must contain %d and %u");
	/* The users map takes no such home: mailadduser add could not. */
	load_err("maildir /v/../w/%d/%u\n", 1, "'..' component");
	load_err("maildir /v/%d/%u/..\n", 1, "'..' component");
	load_err("maildir /v/%d:%u\n", 1, "':'");
	load_ok(&c, "maildir /v/..x/%d/%u..\n");
	conf_free(&c);
}

ATF_TC_WITHOUT_HEAD(relaynets_parse);
ATF_TC_BODY(relaynets_parse, tc)
{
	struct conf	c;

	load_ok(&c, "relaynets 10.0.0.0/8 192.0.2.7\n"
	    "relaynets 2001:db8::/32 2001:db8::1 0.0.0.0/0\n");
	ATF_REQUIRE_EQ(c.nrelaynets, 5);
	ATF_CHECK_EQ(c.relaynets[0].prefix, 8);
	ATF_CHECK_EQ(c.relaynets[1].prefix, 32);
	ATF_CHECK_EQ(c.relaynets[2].family, AF_INET6);
	ATF_CHECK_EQ(c.relaynets[2].prefix, 32);
	ATF_CHECK_EQ(c.relaynets[3].prefix, 128);
	ATF_CHECK_EQ(c.relaynets[4].prefix, 0);
	conf_free(&c);
	load_ok(&c, "relaynets none\n");
	ATF_CHECK_EQ(c.nrelaynets, 0);
	conf_free(&c);
}

ATF_TC_WITHOUT_HEAD(relaynets_refusals);
ATF_TC_BODY(relaynets_refusals, tc)
{
	load_err("relaynets 10.0.0.1/8\n", 1,
	    "10.0.0.1/8: host bits set beyond the prefix");
	load_err("relaynets 192.0.2.128/24\n", 1, "192.0.2.128/24: host bits");
	load_err("relaynets 192.0.2.1/31\n", 1, "192.0.2.1/31: host bits");
	load_err("relaynets ::1/64\n", 1, "::1/64: host bits");
	load_err("relaynets 10.0.0.0/33\n", 1, "10.0.0.0/33: bad prefix");
	load_err("relaynets ::/129\n", 1, "::/129: bad prefix");
	load_err("relaynets 10.0.0.0/\n", 1, "10.0.0.0/: bad prefix");
	load_err("relaynets 10.0.0.0/+8\n", 1, "10.0.0.0/+8: bad prefix");
	load_err("relaynets localhost\n", 1, "localhost: bad network address");
	load_err("relaynets 10/8\n", 1, "10/8: bad network address");
	load_err("relaynets none 10.0.0.0/8\n", 1,
	    "relaynets none must stand alone");
	load_err("relaynets none\nrelaynets 10.0.0.0/8\n", 2,
	    "relaynets none must stand alone");
	load_err("relaynets 10.0.0.0/8\nrelaynets none\n", 2,
	    "relaynets none must stand alone");
}

static int
match4(const struct conf *c, const char *a)
{
	struct sockaddr_in	sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ATF_REQUIRE(inet_pton(AF_INET, a, &sin.sin_addr) == 1);
	return conf_relaynet_match(c, (struct sockaddr *)&sin);
}

static int
match6(const struct conf *c, const char *a)
{
	struct sockaddr_in6	sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	ATF_REQUIRE(inet_pton(AF_INET6, a, &sin6.sin6_addr) == 1);
	return conf_relaynet_match(c, (struct sockaddr *)&sin6);
}

ATF_TC_WITHOUT_HEAD(relaynets_match_default);
ATF_TC_BODY(relaynets_match_default, tc)
{
	struct conf	c;

	load_ok(&c, "");
	ATF_CHECK(match4(&c, "127.0.0.1"));
	ATF_CHECK(match4(&c, "127.255.255.255"));
	ATF_CHECK(!match4(&c, "128.0.0.1"));
	ATF_CHECK(!match4(&c, "126.255.255.255"));
	ATF_CHECK(match6(&c, "::1"));
	ATF_CHECK(!match6(&c, "::2"));
	ATF_CHECK(match6(&c, "::ffff:127.0.0.1"));
	ATF_CHECK(!match6(&c, "::ffff:10.0.0.1"));
	conf_free(&c);
}

ATF_TC_WITHOUT_HEAD(relaynets_match_edges);
ATF_TC_BODY(relaynets_match_edges, tc)
{
	struct sockaddr	sa;
	struct conf	c;

	load_ok(&c, "relaynets 192.0.2.0/25 198.51.100.9 2001:db8:8000::/33\n");
	ATF_CHECK(match4(&c, "192.0.2.0"));
	ATF_CHECK(match4(&c, "192.0.2.127"));
	ATF_CHECK(!match4(&c, "192.0.2.128"));
	ATF_CHECK(!match4(&c, "192.0.3.1"));
	ATF_CHECK(match4(&c, "198.51.100.9"));
	ATF_CHECK(!match4(&c, "198.51.100.8"));
	ATF_CHECK(!match4(&c, "127.0.0.1"));
	ATF_CHECK(match6(&c, "2001:db8:8000::1"));
	ATF_CHECK(match6(&c, "2001:db8:ffff:ffff::1"));
	ATF_CHECK(!match6(&c, "2001:db8:7fff:ffff::1"));
	ATF_CHECK(!match6(&c, "::1"));
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	ATF_CHECK(!conf_relaynet_match(&c, &sa));
	conf_free(&c);

	load_ok(&c, "relaynets 0.0.0.0/0\n");
	ATF_CHECK(match4(&c, "203.0.113.1"));
	ATF_CHECK(match6(&c, "::ffff:203.0.113.1"));
	ATF_CHECK(!match6(&c, "2001:db8::1"));
	conf_free(&c);

	load_ok(&c, "relaynets none\n");
	ATF_CHECK(!match4(&c, "127.0.0.1"));
	ATF_CHECK(!match6(&c, "::1"));
	conf_free(&c);
}

ATF_TC_WITHOUT_HEAD(relayhost_forms);
ATF_TC_BODY(relayhost_forms, tc)
{
	static const struct {
		const char *line, *host, *port;
	} ok[] = {
		{ "relayhost smtp.Example.net\n", "smtp.example.net", "25" },
		{ "relayhost smtp.example.net:587\n", "smtp.example.net",
		    "587" },
		{ "relayhost [smtp.example.net]:2525\n", "smtp.example.net",
		    "2525" },
		{ "relayhost [smtp.example.net]\n", "smtp.example.net", "25" },
		{ "relayhost 192.0.2.1:26\n", "192.0.2.1", "26" },
		{ "relayhost [192.0.2.1]\n", "192.0.2.1", "25" },
		{ "relayhost [2001:db8::25]:587\n", "2001:db8::25", "587" },
	};
	struct conf	c;
	size_t		i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		load_ok(&c, ok[i].line);
		ATF_CHECK_STREQ(c.relayhost, ok[i].host);
		ATF_CHECK_STREQ(c.relayport, ok[i].port);
		conf_free(&c);
	}
}

ATF_TC_WITHOUT_HEAD(relayhost_refusals);
ATF_TC_BODY(relayhost_refusals, tc)
{
	load_err("relayhost [smtp.example.net:25\n", 1, "missing ']'");
	load_err("relayhost [smtp.example.net]x\n", 1, "junk after ']'");
	load_err("relayhost smtp.example.net:0\n", 1, "bad port");
	load_err("relayhost smtp.example.net:\n", 1, "bad port");
	load_err("relayhost smtp.example.net:25:25\n", 1, "bad port");
	load_err("relayhost smtp_x.example.net\n", 1, "bad host");
	load_err("relayhost smtp.example.net.\n", 1, "bad host");
	load_err("relayhost []:25\n", 1, "bad host");
	load_err("relayhost 192.0.2.256\n", 1,
	    "bad host: all-numeric top-level domain");
}

/* smtps:// or port 465: implicit TLS, and may is encrypt there. */
ATF_TC_WITHOUT_HEAD(relayhost_smtps);
ATF_TC_BODY(relayhost_smtps, tc)
{
	static const struct {
		const char *line, *host, *port;
		int smtps;
	} ok[] = {
		{ "relayhost smtps://[smtp.example.net]\n", "smtp.example.net",
		    "465", 1 },
		{ "relayhost SMTPS://smtp.example.net:2465\n",
		    "smtp.example.net", "2465", 1 },
		{ "relayhost [smtp.example.net]:465\n", "smtp.example.net",
		    "465", 1 },
		{ "relayhost [smtp.example.net]:587\n", "smtp.example.net",
		    "587", 0 },
	};
	struct conf	c;
	size_t		i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		load_ok(&c, ok[i].line);
		ATF_CHECK_STREQ(c.relayhost, ok[i].host);
		ATF_CHECK_STREQ(c.relayport, ok[i].port);
		ATF_CHECK_EQ(c.relayhost_smtps, ok[i].smtps);
		ATF_CHECK_EQ(c.relayhost_tls, ok[i].smtps ? CONF_TLS_ENCRYPT :
		    CONF_TLS_MAY);
		conf_free(&c);
	}
	load_err("relayhost smtps://\n", 1, "bad host");
	load_err("relayhost smtps://[::1]:465\nrelayhost_tls none\n", 2,
	    "relayhost_tls none with an smtps relayhost");
}

/* verify by default with credentials, which go over TLS only. */
ATF_TC_WITHOUT_HEAD(relayhost_tls_policy);
ATF_TC_BODY(relayhost_tls_policy, tc)
{
	struct conf	c;

	load_ok(&c, "relayhost [192.0.2.1]:587\nrelayhost_auth /etc/a\n");
	ATF_CHECK_EQ(c.relayhost_tls, CONF_TLS_VERIFY);
	ATF_CHECK_STREQ(c.relayhost_auth, "/etc/a");
	conf_free(&c);
	load_ok(&c, "relayhost_tls encrypt\nrelayhost h.example\n"
	    "relayhost_auth /etc/a\ntls_ca_file /etc/ca.pem\n");
	ATF_CHECK_EQ(c.relayhost_tls, CONF_TLS_ENCRYPT);
	ATF_CHECK_STREQ(c.tls_ca_file, "/etc/ca.pem");
	conf_free(&c);
	load_ok(&c, "relayhost h.example\nrelayhost_tls none\n");
	ATF_CHECK_EQ(c.relayhost_tls, CONF_TLS_NONE);
	conf_free(&c);
	load_err("relayhost_tls sometimes\n", 1,
	    "relayhost_tls: must be none, may, encrypt or verify");
	load_err("relayhost_auth etc/a\n", 1, "path must be absolute");
	load_err("relayhost_auth /etc/a\n", 1, "relayhost_auth without "
	    "relayhost");
	load_err("relayhost h.example\nrelayhost_tls may\n"
	    "relayhost_auth /etc/a\n", 2, "relayhost_tls may with "
	    "relayhost_auth: the password goes only over TLS");
	ATF_CHECK_EQ(conf_tls_policy("verify"), CONF_TLS_VERIFY);
	ATF_CHECK_EQ(conf_tls_policy("Verify"), -1);
	ATF_CHECK_STREQ(conf_tls_policy_name(CONF_TLS_NONE), "none");
}

ATF_TC_WITHOUT_HEAD(maxsize);
ATF_TC_BODY(maxsize, tc)
{
	struct conf	c;

	load_ok(&c, "maxsize 10M\n");
	ATF_CHECK_EQ(c.maxsize, 10 << 20);
	conf_free(&c);
	load_ok(&c, "maxsize 1000\n");
	ATF_CHECK_EQ(c.maxsize, 1000);
	conf_free(&c);
	load_err("maxsize 0\n", 1, "size must be more than 0");
	load_err("maxsize 10MB\n", 1, "bad size");
}

ATF_TC_WITHOUT_HEAD(counts);
ATF_TC_BODY(counts, tc)
{
	struct conf	c;

	load_ok(&c, "maxrcpt 1\nmax_errors 3\nmax_sessions 1000000\n"
	    "max_sessions_per_ip 5\nmax_deliveries 7\nmax_per_destination 2\n");
	ATF_CHECK_EQ(c.maxrcpt, 1);
	ATF_CHECK_EQ(c.max_errors, 3);
	ATF_CHECK_EQ(c.max_sessions, 1000000);
	ATF_CHECK_EQ(c.max_sessions_per_ip, 5);
	ATF_CHECK_EQ(c.max_deliveries, 7);
	ATF_CHECK_EQ(c.max_per_destination, 2);
	conf_free(&c);
	load_err("maxrcpt 0\n", 1, "not a number from 1 to 1000000");
	load_err("max_errors -1\n", 1, "not a number");
	load_err("max_sessions 1000001\n", 1, "not a number");
	load_err("max_sessions_per_ip +5\n", 1, "not a number");
	load_err("max_deliveries 5x\n", 1, "not a number");
	load_err("max_per_destination many\n", 1, "not a number");
}

ATF_TC_WITHOUT_HEAD(sessions_per_ip_all);
ATF_TC_BODY(sessions_per_ip_all, tc)
{
	struct conf	c;

	load_ok(&c, "max_sessions_per_ip 5\n");
	ATF_CHECK_EQ(c.max_sessions_per_ip, 5);
	ATF_CHECK_EQ(c.max_sessions_per_ip_all, 0);
	conf_free(&c);
	load_ok(&c, "max_sessions_per_ip 7 all\n");
	ATF_CHECK_EQ(c.max_sessions_per_ip, 7);
	ATF_CHECK_EQ(c.max_sessions_per_ip_all, 1);
	conf_free(&c);
	load_err("max_sessions_per_ip 7 some\n", 1, "may only be \"all\"");
	load_err("max_sessions_per_ip 0 all\n", 1, "not a number");
	load_err("max_sessions_per_ip 7 all more\n", 1, "");
}

ATF_TC_WITHOUT_HEAD(greet_delay);
ATF_TC_BODY(greet_delay, tc)
{
	struct conf	c;

	load_ok(&c, "greet_delay 0\n");
	ATF_CHECK_EQ(c.greet_delay, 0);
	conf_free(&c);
	load_ok(&c, "greet_delay 5s\nmax_junk_commands 3\n");
	ATF_CHECK_EQ(c.greet_delay, 5);
	ATF_CHECK_EQ(c.max_junk_commands, 3);
	conf_free(&c);
	load_err("greet_delay 25d\n", 1, "at most 24d");
	load_err("greet_delay soon\n", 1, "bad duration");
	load_err("max_junk_commands 0\n", 1, "not a number");
}

ATF_TC_WITHOUT_HEAD(recipient_delimiter);
ATF_TC_BODY(recipient_delimiter, tc)
{
	struct conf	c;

	load_ok(&c, "recipient_delimiter -+\n");
	ATF_CHECK_STREQ(c.recipient_delimiter, "-+");
	conf_free(&c);
	load_ok(&c, "recipient_delimiter none\n");
	ATF_CHECK_STREQ(c.recipient_delimiter, "");
	conf_free(&c);
	load_err("recipient_delimiter @\n", 1, "delimiter must be punctuation");
	load_err("recipient_delimiter .\n", 1, "delimiter must be punctuation");
	load_err("recipient_delimiter x\n", 1, "delimiter must be punctuation");
	load_err("recipient_delimiter /\n", 1, "delimiter must be punctuation");
	load_err("recipient_delimiter ++++++++\n", 1,
	    "at most 7 delimiter characters");
}

ATF_TC_WITHOUT_HEAD(durations);
ATF_TC_BODY(durations, tc)
{
	struct conf	c;

	load_ok(&c, "queue_lifetime 3d\ndelete_grace 0\ncommand_timeout 30\n"
	    "data_timeout 2m\ndelay_warning 1h\n");
	ATF_CHECK_EQ(c.queue_lifetime, 3 * 86400);
	ATF_CHECK_EQ(c.delete_grace, 0);
	ATF_CHECK_EQ(c.command_timeout, 30);
	ATF_CHECK_EQ(c.data_timeout, 120);
	ATF_CHECK_EQ(c.delay_warning, 3600);
	conf_free(&c);
	load_err("queue_lifetime 0\n", 1, "duration must be more than 0");
	load_err("command_timeout 0s\n", 1, "duration must be more than 0");
	load_err("data_timeout 1w\n", 1, "bad duration");
	/* poll(2) would take 25 days in milliseconds as no timeout. */
	load_ok(&c, "command_timeout 24d\ndata_timeout 2073600s\n");
	conf_free(&c);
	load_err("command_timeout 25d\n", 1, "at most 24d");
	load_err("\ndata_timeout 2073601\n", 2, "at most 24d");
	load_err("delete_grace 2 days\n", 1, "delete_grace: too many arguments");
	load_err("delay_warning never\n", 1, "bad duration");
}

ATF_TC_WITHOUT_HEAD(delay_warning_none);
ATF_TC_BODY(delay_warning_none, tc)
{
	struct conf	c;

	load_ok(&c, "delay_warning none\n");
	ATF_CHECK_EQ(c.delay_warning, 0);
	conf_free(&c);
	load_ok(&c, "delay_warning 0\n");
	ATF_CHECK_EQ(c.delay_warning, 0);
	conf_free(&c);
}

ATF_TC_WITHOUT_HEAD(milters_in_order);
ATF_TC_BODY(milters_in_order, tc)
{
	struct conf	c;

	load_ok(&c, "milter inet:127.0.0.1:11332\nmilter unix:/run/clamav/"
	    "milter.sock\nmilter inet:[::1]:8891\nmilter inet:filter.test:1\n"
	    "milter_timeout 2m\nmilter_default accept\n");
	ATF_REQUIRE_EQ(c.nmilters, 4);
	ATF_CHECK_EQ(c.milters[0].family, AF_UNSPEC);
	ATF_CHECK_STREQ(c.milters[0].host, "127.0.0.1");
	ATF_CHECK_STREQ(c.milters[0].port, "11332");
	ATF_CHECK_STREQ(c.milters[0].name, "inet:127.0.0.1:11332");
	ATF_CHECK_EQ(c.milters[1].family, AF_UNIX);
	ATF_CHECK_STREQ(c.milters[1].path, "/run/clamav/milter.sock");
	ATF_CHECK_STREQ(c.milters[2].host, "::1");
	ATF_CHECK_STREQ(c.milters[2].port, "8891");
	ATF_CHECK_STREQ(c.milters[3].host, "filter.test");
	ATF_CHECK_EQ(c.milter_timeout, 120);
	ATF_CHECK_EQ(c.milter_default, CONF_MILTER_ACCEPT);
	conf_free(&c);
	load_err("milter 127.0.0.1:11332\n", 1, "unix:PATH or inet:HOST:PORT");
	load_err("milter unix:milter.sock\n", 1, "path must be absolute");
	load_err("milter inet:127.0.0.1\n", 1, "inet:HOST:PORT");
	load_err("milter inet:127.0.0.1:0\n", 1, "bad port");
	load_err("milter inet:[::1:25\n", 1, "inet:[ADDR]:PORT");
	load_err("milter inet:bad_host:25\n", 1, "bad host");
	load_err("milter_default reject\n", 1, "tempfail or accept");
	load_err("milter_timeout 0\n", 1, "more than 0");
	load_err("milter_timeout 30s\nmilter_timeout 1m\n", 2, "given twice");
}

ATF_TC_WITHOUT_HEAD(sender_check_and_srs);
ATF_TC_BODY(sender_check_and_srs, tc)
{
	struct conf	c;

	load_ok(&c, "sender_check none\nsrs on\n");
	ATF_CHECK_EQ(c.sender_check, SENDER_CHECK_NONE);
	ATF_CHECK_EQ(c.srs, 1);
	conf_free(&c);
	load_ok(&c, "sender_check header\nsrs off\n");
	ATF_CHECK_EQ(c.sender_check, SENDER_CHECK_HEADER);
	ATF_CHECK_EQ(c.srs, 0);
	conf_free(&c);
	load_err("sender_check From\n", 1, "none, envelope or header");
	load_err("srs yes\n", 1, "on or off");
}

ATF_TC_WITHOUT_HEAD(lmtp_servers);
ATF_TC_BODY(lmtp_servers, tc)
{
	struct conf	c;

	load_ok(&c, "lmtp unix:/run/dovecot/lmtp\nlmtp LMTP.example.org:24\n"
	    "lmtp [::1]:2424\nlmtp 127.0.0.1:24\n");
	ATF_REQUIRE_EQ(c.nlmtp, 4);
	ATF_CHECK_STREQ(c.lmtp[0].path, "/run/dovecot/lmtp");
	ATF_CHECK_STREQ(c.lmtp[1].path, "");
	ATF_CHECK_STREQ(c.lmtp[1].host, "lmtp.example.org");
	ATF_CHECK_STREQ(c.lmtp[1].port, "24");
	ATF_CHECK_STREQ(c.lmtp[2].host, "::1");
	ATF_CHECK_STREQ(c.lmtp[2].port, "2424");
	ATF_CHECK_STREQ(c.lmtp[3].host, "127.0.0.1");
	/* With LMTP the Maildirs are out of smtpd's sight. */
	ATF_CHECK_EQ(c.quota_check_at_rcpt, 0);
	conf_free(&c);
	load_err("lmtp unix:run/lmtp\n", 1, "absolute path");
	load_err("lmtp localhost\n", 1, "unix:PATH or HOST:PORT");
	load_err("lmtp [::1]\n", 1, "unix:PATH or HOST:PORT");
	load_err("lmtp localhost:0\n", 1, "bad port");
	load_err("lmtp localhost:24x\n", 1, "bad port");
	load_err("lmtp -bad-:24\n", 1, "bad host");
	load_err("lmtp unix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 1,
	    "too long");
}

ATF_TC_WITHOUT_HEAD(quota_check_at_rcpt);
ATF_TC_BODY(quota_check_at_rcpt, tc)
{
	struct conf	c;

	load_ok(&c, "quota_check_at_rcpt no\nquota_full_tempfail no\n");
	ATF_CHECK_EQ(c.quota_check_at_rcpt, 0);
	ATF_CHECK_EQ(c.quota_full_tempfail, 0);
	conf_free(&c);
	/* Given, it holds with lmtp too: a store smtpd can see. */
	load_ok(&c, "lmtp 127.0.0.1:24\nquota_check_at_rcpt yes\n");
	ATF_CHECK_EQ(c.quota_check_at_rcpt, 1);
	conf_free(&c);
	load_err("quota_check_at_rcpt on\n", 1, "yes or no");
	load_err("quota_full_tempfail 452\n", 1, "yes or no");
}

ATF_TC_WITHOUT_HEAD(retry_schedule);
ATF_TC_BODY(retry_schedule, tc)
{
	struct conf	c;

	load_ok(&c, "retry_schedule 1m 1m 15m 1h\n");
	ATF_REQUIRE_EQ(c.nretry_schedule, 4);
	ATF_CHECK_EQ(c.retry_schedule[0], 60);
	ATF_CHECK_EQ(c.retry_schedule[1], 60);
	ATF_CHECK_EQ(c.retry_schedule[2], 900);
	ATF_CHECK_EQ(c.retry_schedule[3], 3600);
	conf_free(&c);
	load_err("retry_schedule 5m 1m\n", 1,
	    "retry_schedule: 1m: intervals must not get shorter");
	load_err("retry_schedule 0 1m\n", 1,
	    "retry_schedule: 0: duration must be more than 0");
	load_err("retry_schedule 1m x\n", 1, "retry_schedule: x: bad duration");
}

ATF_TC_WITHOUT_HEAD(postmaster);
ATF_TC_BODY(postmaster, tc)
{
	struct conf	c;

	load_ok(&c, "postmaster Hostmaster@Example.ORG\n");
	ATF_CHECK_STREQ(c.postmaster, "Hostmaster@example.org");
	conf_free(&c);
	load_err("postmaster root\n", 1, "bad address: missing @domain");
	load_err("postmaster \"ab\"@example.org\n", 1, "bad address: quoted");
	load_err("postmaster a@[192.0.2.1]\n", 1,
	    "bad address: address literals are not accepted");
}

ATF_TC_WITHOUT_HEAD(tls_both_or_neither);
ATF_TC_BODY(tls_both_or_neither, tc)
{
	load_err("maxrcpt 5\ntls_cert /c.pem\n", 2, "tls_cert without tls_key");
	load_err("tls_key /k.pem\n", 1, "tls_key without tls_cert");
}

ATF_TC_WITHOUT_HEAD(user_ids);
ATF_TC_BODY(user_ids, tc)
{
	struct passwd	*pw;
	struct conf	 c;
	char		 text[128];
	uid_t		 uid;
	gid_t		 gid;

	if (getuid() == 0 || getgid() == 0)
		atf_tc_skip("runs as an unprivileged user");
	ATF_REQUIRE((pw = getpwuid(getuid())) != NULL);
	snprintf(text, sizeof(text), "user %s\n", pw->pw_name);
	load_ok(&c, text);
	ATF_REQUIRE_MSG(conf_user_ids(&c, &uid, &gid, err, sizeof(err)) == 0,
	    "%s", err);
	ATF_CHECK_EQ(uid, getuid());
	ATF_CHECK_EQ(gid, pw->pw_gid);
	conf_free(&c);
}

ATF_TC_WITHOUT_HEAD(user_ids_refuses_root);
ATF_TC_BODY(user_ids_refuses_root, tc)
{
	struct conf	c;
	uid_t		uid;
	gid_t		gid;

	load_ok(&c, "user root\n");
	ATF_CHECK_EQ(conf_user_ids(&c, &uid, &gid, err, sizeof(err)), -1);
	ATF_CHECK_STREQ(err,
	    "user root: has uid or gid 0; the mail user must not be root");
	conf_free(&c);
}

ATF_TC_WITHOUT_HEAD(user_ids_unknown_user);
ATF_TC_BODY(user_ids_unknown_user, tc)
{
	struct conf	c;
	uid_t		uid;
	gid_t		gid;

	load_ok(&c, "user no_such_user_here\n");
	ATF_CHECK_EQ(conf_user_ids(&c, &uid, &gid, err, sizeof(err)), -1);
	ATF_CHECK_STREQ(err, "user no_such_user_here: no such user");
	conf_free(&c);
}

/* conn_rate, msg_rate, max_rcpt_refused: N, N all, none. */
ATF_TC_WITHOUT_HEAD(abuse_limits);
ATF_TC_BODY(abuse_limits, tc)
{
	struct conf	c;

	load_ok(&c, "conn_rate 5\nmsg_rate 7 all\nmax_rcpt_refused none\n");
	ATF_CHECK_EQ(c.conn_rate.n, 5);
	ATF_CHECK_EQ(c.conn_rate.all, 0);
	ATF_CHECK_EQ(c.msg_rate.n, 7);
	ATF_CHECK_EQ(c.msg_rate.all, 1);
	ATF_CHECK_EQ(c.max_rcpt_refused.n, 0);
	conf_free(&c);
	load_err("conn_rate 0\n", 1, "not a number");
	load_err("msg_rate 5 some\n", 1, "may only be \"all\"");
	load_err("max_rcpt_refused none all\n", 1, "none stands alone");
}

/* auth_fail_limit N WINDOW [LOCKOUT] [all]; the lock-out is the window. */
ATF_TC_WITHOUT_HEAD(auth_fail_limit);
ATF_TC_BODY(auth_fail_limit, tc)
{
	struct conf	c;

	load_ok(&c, "auth_fail_limit 5 2m\n");
	ATF_CHECK_EQ(c.auth_fail_limit.n, 5);
	ATF_CHECK_EQ(c.auth_fail_window, 120);
	ATF_CHECK_EQ(c.auth_fail_lockout, 120);
	ATF_CHECK_EQ(c.auth_fail_limit.all, 0);
	conf_free(&c);
	load_ok(&c, "auth_fail_limit 3 1m 1h all\n");
	ATF_CHECK_EQ(c.auth_fail_window, 60);
	ATF_CHECK_EQ(c.auth_fail_lockout, 3600);
	ATF_CHECK_EQ(c.auth_fail_limit.all, 1);
	conf_free(&c);
	load_ok(&c, "auth_fail_limit none\n");
	ATF_CHECK_EQ(c.auth_fail_limit.n, 0);
	conf_free(&c);
	load_err("auth_fail_limit 5\n", 1, "missing window");
	load_err("auth_fail_limit 101 1m\n", 1, "at most 100");
	load_err("auth_fail_limit 5 0\n", 1, "more than 0");
	load_err("auth_fail_limit 5 1m 1h 2h\n", 1, "may only be \"all\"");
	load_err("auth_fail_limit 5 25d\n", 1, "at most 24d");
}

/* dnsbl ZONE [THRESHOLD], repeatable; a threshold no zones can meet. */
ATF_TC_WITHOUT_HEAD(dnsbl);
ATF_TC_BODY(dnsbl, tc)
{
	struct conf	c;

	load_ok(&c, "dnsbl Zen.Spamhaus.org\ndnsbl bl.spamcop.net 2\n");
	ATF_REQUIRE_EQ(c.ndnsbl, 2);
	ATF_CHECK_STREQ(c.dnsbl[0].zone, "zen.spamhaus.org");
	ATF_CHECK_EQ(c.dnsbl[0].threshold, 1);
	ATF_CHECK_EQ(c.dnsbl[1].threshold, 2);
	conf_free(&c);
	load_err("dnsbl bad_zone\n", 1, "bad zone");
	ATF_CHECK_EQ(load(&c, "dnsbl a.test 2\n"), -1);
	ATF_CHECK_MSG(strstr(err, "threshold 2, but only 1") != NULL, "%s", err);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, abuse_limits);
	ATF_TP_ADD_TC(tp, auth_fail_limit);
	ATF_TP_ADD_TC(tp, dnsbl);
	ATF_TP_ADD_TC(tp, defaults_of_an_empty_file);
	ATF_TP_ADD_TC(tp, comments_and_blank_lines);
	ATF_TP_ADD_TC(tp, sample_file_gives_defaults);
	ATF_TP_ADD_TC(tp, sample_values_are_defaults);
	ATF_TP_ADD_TC(tp, missing_file);
	ATF_TP_ADD_TC(tp, unreadable_file);
	ATF_TP_ADD_TC(tp, error_leaves_nothing_to_free);
	ATF_TP_ADD_TC(tp, unknown_keyword);
	ATF_TP_ADD_TC(tp, sender_check_and_srs);
	ATF_TP_ADD_TC(tp, milters_in_order);
	ATF_TP_ADD_TC(tp, lmtp_servers);
	ATF_TP_ADD_TC(tp, quota_check_at_rcpt);
	ATF_TP_ADD_TC(tp, missing_argument);
	ATF_TP_ADD_TC(tp, extra_argument);
	ATF_TP_ADD_TC(tp, keyword_given_twice);
	ATF_TP_ADD_TC(tp, line_too_long);
	ATF_TP_ADD_TC(tp, line_of_4096_bytes);
	ATF_TP_ADD_TC(tp, too_many_words);
	ATF_TP_ADD_TC(tp, nul_byte_in_line);
	ATF_TP_ADD_TC(tp, size_values);
	ATF_TP_ADD_TC(tp, size_refusals);
	ATF_TP_ADD_TC(tp, duration_values);
	ATF_TP_ADD_TC(tp, duration_refusals);
	ATF_TP_ADD_TC(tp, hostname);
	ATF_TP_ADD_TC(tp, listen_forms);
	ATF_TP_ADD_TC(tp, listen_refusals);
	ATF_TP_ADD_TC(tp, user);
	ATF_TP_ADD_TC(tp, paths);
	ATF_TP_ADD_TC(tp, maildir_template);
	ATF_TP_ADD_TC(tp, relaynets_parse);
	ATF_TP_ADD_TC(tp, relaynets_refusals);
	ATF_TP_ADD_TC(tp, relaynets_match_default);
	ATF_TP_ADD_TC(tp, relaynets_match_edges);
	ATF_TP_ADD_TC(tp, relayhost_forms);
	ATF_TP_ADD_TC(tp, relayhost_refusals);
	ATF_TP_ADD_TC(tp, relayhost_smtps);
	ATF_TP_ADD_TC(tp, relayhost_tls_policy);
	ATF_TP_ADD_TC(tp, maxsize);
	ATF_TP_ADD_TC(tp, counts);
	ATF_TP_ADD_TC(tp, sessions_per_ip_all);
	ATF_TP_ADD_TC(tp, greet_delay);
	ATF_TP_ADD_TC(tp, recipient_delimiter);
	ATF_TP_ADD_TC(tp, durations);
	ATF_TP_ADD_TC(tp, delay_warning_none);
	ATF_TP_ADD_TC(tp, retry_schedule);
	ATF_TP_ADD_TC(tp, postmaster);
	ATF_TP_ADD_TC(tp, tls_both_or_neither);
	ATF_TP_ADD_TC(tp, user_ids);
	ATF_TP_ADD_TC(tp, user_ids_refuses_root);
	ATF_TP_ADD_TC(tp, user_ids_unknown_user);
	return atf_no_error();
}
