/* Tests of lib/libmail/log.c: logging in the foreground. */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <atf-c.h>

#include "libmail.h"

#define ERRFILE	"stderr.txt"

static void
capture_stderr(void)
{
	ATF_REQUIRE(freopen(ERRFILE, "w", stderr) != NULL);
}

/* What was written to stderr since capture_stderr() must be want. */
static void
check_stderr(const char *want)
{
	char	 buf[8192];
	size_t	 n;
	FILE	*fp;

	fflush(stderr);
	ATF_REQUIRE((fp = fopen(ERRFILE, "r")) != NULL);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	ATF_CHECK_STREQ(buf, want);
}

ATF_TC_WITHOUT_HEAD(info_foreground);
ATF_TC_BODY(info_foreground, tc)
{
	capture_stderr();
	log_init("smtpd", 1);
	log_info("queued %s, %d bytes", "0123456789abcdef", 42);
	check_stderr("smtpd: queued 0123456789abcdef, 42 bytes\n");
}

ATF_TC_WITHOUT_HEAD(warn_appends_strerror);
ATF_TC_BODY(warn_appends_strerror, tc)
{
	capture_stderr();
	log_init("deliver", 1);
	errno = ENOENT;
	log_warn("open %s", "/x");
	ATF_CHECK_EQ(errno, ENOENT);
	check_stderr("deliver: open /x: No such file or directory\n");
}

ATF_TC_WITHOUT_HEAD(warnx_without_strerror);
ATF_TC_BODY(warnx_without_strerror, tc)
{
	capture_stderr();
	log_init("deliver", 1);
	errno = ENOENT;
	log_warnx("bad line %d", 3);
	check_stderr("deliver: bad line 3\n");
}

ATF_TC_WITHOUT_HEAD(debug_only_in_foreground);
ATF_TC_BODY(debug_only_in_foreground, tc)
{
	capture_stderr();
	log_init("smtpd", 1);
	log_debug("shown");
	log_init("smtpd", 0);
	log_debug("not shown");
	check_stderr("smtpd: shown\n");
}

ATF_TC_WITHOUT_HEAD(control_characters_escaped);
ATF_TC_BODY(control_characters_escaped, tc)
{
	capture_stderr();
	log_init("smtpd", 1);
	log_info("HELO %s", "evil\r\nsmtpd: forged\x7f\x1b[0m");
	check_stderr("smtpd: HELO evil\\015\\012smtpd: forged\\177\\033[0m\n");
}

ATF_TC_WITHOUT_HEAD(high_bytes_and_backslash_escaped);
ATF_TC_BODY(high_bytes_and_backslash_escaped, tc)
{
	capture_stderr();
	log_init("smtpd", 1);
	log_info("HELO %s", "a\x9b" "2J\xc3\xa9\\012b");
	check_stderr("smtpd: HELO a\\2332J\\303\\251\\\\012b\n");
}

ATF_TC_WITHOUT_HEAD(long_message_truncated);
ATF_TC_BODY(long_message_truncated, tc)
{
	char	 big[3000], want[2000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(want, sizeof(want), "smtpd: %.1023s\n", big);
	capture_stderr();
	log_init("smtpd", 1);
	log_info("%s", big);
	check_stderr(want);
}

/* Runs fn in a child; the child's exit status must be 1. */
static void
check_exits_1(void (*fn)(void))
{
	pid_t	pid;
	int	status;

	fflush(stderr);
	ATF_REQUIRE((pid = fork()) != -1);
	if (pid == 0)
		fn();
	ATF_REQUIRE(waitpid(pid, &status, 0) == pid);
	ATF_CHECK(WIFEXITED(status));
	ATF_CHECK_EQ(WEXITSTATUS(status), 1);
}

static void
call_fatalx(void)
{
	fatalx("cannot go on: %s", "reason");
}

static void
call_fatal(void)
{
	errno = EACCES;
	fatal("bind %s", "127.0.0.1:25");
}

ATF_TC_WITHOUT_HEAD(fatalx_exits_1);
ATF_TC_BODY(fatalx_exits_1, tc)
{
	capture_stderr();
	log_init("deliver", 1);
	check_exits_1(call_fatalx);
	check_stderr("deliver: cannot go on: reason\n");
}

ATF_TC_WITHOUT_HEAD(fatal_exits_1_with_strerror);
ATF_TC_BODY(fatal_exits_1_with_strerror, tc)
{
	capture_stderr();
	log_init("smtpd", 1);
	check_exits_1(call_fatal);
	check_stderr("smtpd: bind 127.0.0.1:25: Permission denied\n");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, info_foreground);
	ATF_TP_ADD_TC(tp, warn_appends_strerror);
	ATF_TP_ADD_TC(tp, warnx_without_strerror);
	ATF_TP_ADD_TC(tp, debug_only_in_foreground);
	ATF_TP_ADD_TC(tp, control_characters_escaped);
	ATF_TP_ADD_TC(tp, high_bytes_and_backslash_escaped);
	ATF_TP_ADD_TC(tp, long_message_truncated);
	ATF_TP_ADD_TC(tp, fatalx_exits_1);
	ATF_TP_ADD_TC(tp, fatal_exits_1_with_strerror);
	return atf_no_error();
}
