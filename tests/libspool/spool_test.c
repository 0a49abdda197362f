/*
 * spool.c: the spool layout and the queue file format that smtpd,
 * sendmail, deliver and mailq share.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <atf-c.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmail.h"

#define SPOOL	"spool"

static size_t
count_entries(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 n = 0;

	ATF_REQUIRE((d = opendir(dir)) != NULL);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
read_file(const char *path, char *buf, size_t len)
{
	FILE	*fp;
	size_t	 n;

	ATF_REQUIRE((fp = fopen(path, "r")) != NULL);
	n = fread(buf, 1, len - 1, fp);
	buf[n] = '\0';
	fclose(fp);
}

static void
queue_one(struct spool_msg *msg, const char *sender)
{
	char	*rcpts[] = { "alice@example.org", "bob@example.net" };

	ATF_REQUIRE_EQ(spool_create(SPOOL, msg), 0);
	ATF_REQUIRE_EQ(spool_envelope(msg, 1764150000, sender, rcpts, 2), 0);
	ATF_REQUIRE(fputs("Subject: hi\n\nbody\n", msg->fp) != EOF);
}

ATF_TC_WITHOUT_HEAD(init_creates_layout);
ATF_TC_BODY(init_creates_layout, tc)
{
	struct stat	 st;
	const char	*dirs[] = { SPOOL, SPOOL "/tmp", SPOOL "/queue",
			    SPOOL "/state", SPOOL "/hold" };
	size_t		 i;

	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
	for (i = 0; i < 5; i++) {
		ATF_REQUIRE_EQ(stat(dirs[i], &st), 0);
		ATF_CHECK(S_ISDIR(st.st_mode));
		ATF_CHECK_EQ(st.st_mode & 07777, 0700);
	}
	ATF_REQUIRE_EQ(lstat(SPOOL "/wakeup", &st), 0);
	ATF_CHECK(S_ISFIFO(st.st_mode));
	ATF_CHECK_EQ(st.st_mode & 07777, 0600);
	/* A second run over an existing spool changes nothing. */
	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
}

ATF_TC_WITHOUT_HEAD(init_refuses_file_as_wakeup);
ATF_TC_BODY(init_refuses_file_as_wakeup, tc)
{
	ATF_REQUIRE_EQ(mkdir(SPOOL, 0700), 0);
	ATF_REQUIRE(creat(SPOOL "/wakeup", 0600) != -1);
	ATF_CHECK_EQ(spool_init(SPOOL), -1);
}

ATF_TC_WITHOUT_HEAD(queue_file_format);
ATF_TC_BODY(queue_file_format, tc)
{
	struct spool_msg msg;
	char		 buf[1024], want[1024];
	struct stat	 st;

	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
	queue_one(&msg, "sender@example.com");
	ATF_REQUIRE_EQ(spool_commit(&msg), 0);
	snprintf(want, sizeof(want), "V 1\nI %s\nT 1764150000\n"
	    "S sender@example.com\nR alice@example.org\nR bob@example.net\n"
	    "\nSubject: hi\n\nbody\n", msg.id);
	ATF_CHECK(strncmp(msg.path, SPOOL "/queue/", 12) == 0);
	ATF_CHECK_STREQ(msg.path + 12, msg.id);
	read_file(msg.path, buf, sizeof(buf));
	ATF_CHECK_STREQ(buf, want);
	ATF_REQUIRE_EQ(stat(msg.path, &st), 0);
	ATF_CHECK_EQ(st.st_mode & 07777, 0600);
	ATF_CHECK_EQ(count_entries(SPOOL "/tmp"), 0);
	ATF_CHECK_EQ(count_entries(SPOOL "/queue"), 1);
}

ATF_TC_WITHOUT_HEAD(null_sender);
ATF_TC_BODY(null_sender, tc)
{
	struct spool_msg msg;
	char		 buf[1024];

	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
	queue_one(&msg, "");
	ATF_REQUIRE_EQ(spool_commit(&msg), 0);
	read_file(msg.path, buf, sizeof(buf));
	ATF_CHECK(strstr(buf, "\nS \nR alice@example.org\n") != NULL);
}

ATF_TC_WITHOUT_HEAD(id_format);
ATF_TC_BODY(id_format, tc)
{
	struct spool_msg msg;
	size_t		 i;

	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
	ATF_REQUIRE_EQ(spool_create(SPOOL, &msg), 0);
	ATF_CHECK_EQ(strlen(msg.id), SPOOL_IDLEN);
	for (i = 0; i < SPOOL_IDLEN; i++)
		ATF_CHECK(strchr("0123456789abcdef", msg.id[i]) != NULL);
	spool_abort(&msg);
}

ATF_TC_WITHOUT_HEAD(ids_unique);
ATF_TC_BODY(ids_unique, tc)
{
	struct spool_msg msg[200];
	size_t		 i, j;

	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
	for (i = 0; i < 200; i++)
		ATF_REQUIRE_EQ(spool_create(SPOOL, &msg[i]), 0);
	for (i = 0; i < 200; i++)
		for (j = i + 1; j < 200; j++)
			ATF_CHECK(strcmp(msg[i].id, msg[j].id) != 0);
	ATF_CHECK_EQ(count_entries(SPOOL "/tmp"), 200);
	for (i = 0; i < 200; i++)
		spool_abort(&msg[i]);
	ATF_CHECK_EQ(count_entries(SPOOL "/tmp"), 0);
}

ATF_TC_WITHOUT_HEAD(uncommitted_in_tmp_only);
ATF_TC_BODY(uncommitted_in_tmp_only, tc)
{
	struct spool_msg msg;
	char		 path[PATH_MAX];

	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
	queue_one(&msg, "a@example.com");
	snprintf(path, sizeof(path), SPOOL "/tmp/%s", msg.id);
	ATF_CHECK_EQ(access(path, F_OK), 0);
	ATF_CHECK_EQ(count_entries(SPOOL "/queue"), 0);
	spool_abort(&msg);
	ATF_CHECK_EQ(access(path, F_OK), -1);
	ATF_CHECK_EQ(count_entries(SPOOL "/tmp"), 0);
}

ATF_TC_WITHOUT_HEAD(abort_after_commit_keeps_message);
ATF_TC_BODY(abort_after_commit_keeps_message, tc)
{
	struct spool_msg msg;

	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
	queue_one(&msg, "a@example.com");
	ATF_REQUIRE_EQ(spool_commit(&msg), 0);
	spool_abort(&msg);
	ATF_CHECK_EQ(access(msg.path, F_OK), 0);
	ATF_CHECK_EQ(count_entries(SPOOL "/queue"), 1);
}

ATF_TC_WITHOUT_HEAD(envelope_refuses_line_breaks);
ATF_TC_BODY(envelope_refuses_line_breaks, tc)
{
	struct spool_msg msg;
	char		*bad[] = { "a@example.org\nR evil@example.net" };
	char		*ok[] = { "a@example.org" };

	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
	ATF_REQUIRE_EQ(spool_create(SPOOL, &msg), 0);
	ATF_CHECK_EQ(spool_envelope(&msg, 0, "x@example.com", bad, 1), -1);
	ATF_CHECK_EQ(errno, EINVAL);
	spool_abort(&msg);
	ATF_REQUIRE_EQ(spool_create(SPOOL, &msg), 0);
	ATF_CHECK_EQ(spool_envelope(&msg, 0, "x@example.com\r", ok, 1), -1);
	spool_abort(&msg);
	ATF_CHECK_EQ(count_entries(SPOOL "/tmp"), 0);
	ATF_CHECK_EQ(count_entries(SPOOL "/queue"), 0);
}

ATF_TC_WITHOUT_HEAD(envelope_needs_recipient);
ATF_TC_BODY(envelope_needs_recipient, tc)
{
	struct spool_msg msg;

	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
	ATF_REQUIRE_EQ(spool_create(SPOOL, &msg), 0);
	ATF_CHECK_EQ(spool_envelope(&msg, 0, "x@example.com", NULL, 0), -1);
	spool_abort(&msg);
}

ATF_TC_WITHOUT_HEAD(create_fails_without_spool);
ATF_TC_BODY(create_fails_without_spool, tc)
{
	struct spool_msg msg;

	ATF_CHECK_EQ(spool_create("nonexistent", &msg), -1);
	ATF_CHECK_EQ(errno, ENOENT);
	spool_abort(&msg);
}

ATF_TC_WITHOUT_HEAD(commit_fails_cleanly_on_missing_queue);
ATF_TC_BODY(commit_fails_cleanly_on_missing_queue, tc)
{
	struct spool_msg msg;

	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
	queue_one(&msg, "a@example.com");
	ATF_REQUIRE_EQ(rmdir(SPOOL "/queue"), 0);
	ATF_CHECK_EQ(spool_commit(&msg), -1);
	spool_abort(&msg);
	ATF_CHECK_EQ(count_entries(SPOOL "/tmp"), 0);
}

ATF_TC_WITHOUT_HEAD(commit_wakes_deliver);
ATF_TC_BODY(commit_wakes_deliver, tc)
{
	struct spool_msg msg;
	char		 c;
	int		 fd;

	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
	ATF_REQUIRE((fd = open(SPOOL "/wakeup", O_RDONLY | O_NONBLOCK)) != -1);
	queue_one(&msg, "a@example.com");
	ATF_REQUIRE_EQ(spool_commit(&msg), 0);
	ATF_CHECK_EQ(read(fd, &c, 1), 1);
	spool_wakeup(SPOOL);
	ATF_CHECK_EQ(read(fd, &c, 1), 1);
	close(fd);
}

ATF_TC_WITHOUT_HEAD(commit_hold_goes_to_hold);
ATF_TC_BODY(commit_hold_goes_to_hold, tc)
{
	struct spool_msg msg;
	char		 path[PATH_MAX], c;
	int		 fd;

	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
	ATF_REQUIRE((fd = open(SPOOL "/wakeup", O_RDONLY | O_NONBLOCK)) != -1);
	queue_one(&msg, "a@example.com");
	msg.hold = 1;
	ATF_REQUIRE_EQ(spool_commit(&msg), 0);
	snprintf(path, sizeof(path), SPOOL "/hold/%s", msg.id);
	ATF_CHECK_EQ(access(path, F_OK), 0);
	ATF_CHECK_EQ(count_entries(SPOOL "/queue"), 0);
	ATF_CHECK_EQ(count_entries(SPOOL "/tmp"), 0);
	/* Nothing for deliver to do: no wakeup. */
	ATF_CHECK(read(fd, &c, 1) != 1);
	close(fd);
}

ATF_TC_WITHOUT_HEAD(rewrite_replaces_message);
ATF_TC_BODY(rewrite_replaces_message, tc)
{
	struct spool_msg msg, tmp;
	char		 buf[512];
	FILE		*fp;

	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
	queue_one(&msg, "a@example.com");
	ATF_REQUIRE_EQ(spool_rewrite_begin(&msg, &tmp), 0);
	fputs("V 1\nS b@example.com\nR c@example.org\n\n", tmp.fp);
	tmp.body = ftello(tmp.fp);
	fputs("X-New: 1\nSubject: hi\n\nbody\n", tmp.fp);
	ATF_REQUIRE_EQ(spool_rewrite_end(&msg, &tmp), 0);
	ATF_CHECK_EQ(count_entries(SPOOL "/tmp"), 1);
	ATF_REQUIRE((fp = spool_reopen(&msg)) != NULL);
	ATF_REQUIRE(fgets(buf, sizeof(buf), fp) != NULL);
	ATF_CHECK_STREQ(buf, "X-New: 1\n");
	fclose(fp);
	/* The writer goes on at the end of the new file. */
	fputs("more\n", msg.fp);
	ATF_REQUIRE_EQ(spool_commit(&msg), 0);
	read_file(msg.path, buf, sizeof(buf));
	ATF_CHECK_STREQ(buf, "V 1\nS b@example.com\nR c@example.org\n\n"
	    "X-New: 1\nSubject: hi\n\nbody\nmore\n");

	/* Dropped: the message stays as it was. */
	queue_one(&msg, "a@example.com");
	ATF_REQUIRE_EQ(spool_rewrite_begin(&msg, &tmp), 0);
	fputs("junk", tmp.fp);
	spool_rewrite_abort(&tmp);
	ATF_CHECK_EQ(count_entries(SPOOL "/tmp"), 1);
	ATF_REQUIRE_EQ(spool_commit(&msg), 0);
	read_file(msg.path, buf, sizeof(buf));
	ATF_CHECK(strstr(buf, "Subject: hi\n\nbody\n") != NULL);
}

ATF_TC_WITHOUT_HEAD(wakeup_without_reader_returns);
ATF_TC_BODY(wakeup_without_reader_returns, tc)
{
	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
	spool_wakeup(SPOOL);
	spool_wakeup("nonexistent");
	ATF_CHECK_EQ(count_entries(SPOOL), 5);
}

ATF_TC_WITHOUT_HEAD(clean_tmp_removes_stale_only);
ATF_TC_BODY(clean_tmp_removes_stale_only, tc)
{
	struct spool_msg msg;
	struct timespec	 old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	int		 fd;

	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
	ATF_REQUIRE((fd = creat(SPOOL "/tmp/stale", 0600)) != -1);
	close(fd);
	ATF_REQUIRE_EQ(utimensat(AT_FDCWD, SPOOL "/tmp/stale", old, 0), 0);
	ATF_REQUIRE_EQ(mkdir(SPOOL "/tmp/olddir", 0700), 0);
	ATF_REQUIRE_EQ(utimensat(AT_FDCWD, SPOOL "/tmp/olddir", old, 0), 0);
	queue_one(&msg, "a@example.com");
	ATF_CHECK_EQ(spool_clean_tmp(SPOOL, 3600), 1);
	ATF_CHECK_EQ(access(SPOOL "/tmp/stale", F_OK), -1);
	ATF_CHECK_EQ(access(SPOOL "/tmp/olddir", F_OK), 0);
	ATF_CHECK_EQ(access(msg.tmppath, F_OK), 0);
	ATF_REQUIRE_EQ(spool_commit(&msg), 0);
	ATF_CHECK_EQ(count_entries(SPOOL "/queue"), 1);
	ATF_CHECK_EQ(spool_clean_tmp("nonexistent", 3600), -1);
}

/* The message of a committed file: what follows its envelope. */
static char *
message_of(const char *path, size_t *len)
{
	FILE	*fp;
	char	*all, *m;
	long	 n;

	ATF_REQUIRE((fp = fopen(path, "r")) != NULL);
	ATF_REQUIRE_EQ(fseek(fp, 0, SEEK_END), 0);
	ATF_REQUIRE((n = ftell(fp)) > 0);
	rewind(fp);
	ATF_REQUIRE((all = malloc(n + 1)) != NULL);
	ATF_REQUIRE_EQ(fread(all, 1, n, fp), (size_t)n);
	all[n] = '\0';
	fclose(fp);
	ATF_REQUIRE((m = strstr(all, "\n\n")) != NULL);
	*len = n - (m + 2 - all);
	memmove(all, m + 2, *len + 1);
	return all;
}

ATF_TC_WITHOUT_HEAD(rewrite_in_place);
ATF_TC_BODY(rewrite_in_place, tc)
{
	struct spool_msg msg;
	struct spool_cut cut;
	struct spool_edit ed;
	struct stat	 before, after;
	char		 buf[1024];

	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
	queue_one(&msg, "sender@example.com");
	ATF_REQUIRE_EQ(stat(msg.tmppath, &before), 0);
	/* "Subject: hi\n" left out, a record and a field added. */
	cut.off = 0;
	cut.len = 12;
	memset(&ed, 0, sizeof(ed));
	ed.rectype = 'J';
	ed.recvalue = "dmarc";
	ed.top = "Authentication-Results: x; none\n";
	ed.toplen = strlen(ed.top);
	ed.cuts = &cut;
	ed.ncuts = 1;
	ATF_REQUIRE_EQ(spool_rewrite(&msg, &ed), 0);
	ATF_REQUIRE_EQ(stat(msg.tmppath, &after), 0);
	ATF_CHECK_EQ(before.st_ino, after.st_ino);
	ATF_CHECK_EQ(count_entries(SPOOL "/tmp"), 1);
	/* The writer goes on at the end. */
	ATF_REQUIRE(fputs("more\n", msg.fp) != EOF);
	ATF_REQUIRE_EQ(spool_commit(&msg), 0);
	read_file(msg.path, buf, sizeof(buf));
	ATF_CHECK(strstr(buf, "R bob@example.net\nJ dmarc\n\n"
	    "Authentication-Results: x; none\n\nbody\nmore\n") != NULL);
}

ATF_TC_WITHOUT_HEAD(rewrite_moves_large_message);
ATF_TC_BODY(rewrite_moves_large_message, tc)
{
	struct spool_msg msg;
	struct spool_cut cut;
	struct spool_edit ed;
	char		*rcpts[] = { "alice@example.org" };
	char		*got, *want;
	size_t		 i, n = 300000, gotlen;

	ATF_REQUIRE((want = malloc(n + 1)) != NULL);
	/* More than the 64 KB a move takes at a time, no two alike. */
	for (i = 0; i < n; i++)
		want[i] = i % 61 == 60 ? '\n' : 'a' + (i / 61 + i) % 26;
	want[n] = '\0';
	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
	ATF_REQUIRE_EQ(spool_create(SPOOL, &msg), 0);
	ATF_REQUIRE_EQ(spool_envelope(&msg, 1764150000, "", rcpts, 1), 0);
	ATF_REQUIRE(fputs("X-Cut: me\n", msg.fp) != EOF);
	ATF_REQUIRE_EQ(fwrite(want, 1, n, msg.fp), n);
	/* Down by the cut (longer than the top), then up. */
	cut.off = 0;
	cut.len = 10;
	memset(&ed, 0, sizeof(ed));
	ed.top = "T: 1\n";
	ed.toplen = 5;
	ed.cuts = &cut;
	ed.ncuts = 1;
	ATF_REQUIRE_EQ(spool_rewrite(&msg, &ed), 0);
	ATF_REQUIRE_EQ(spool_prepend(&msg, "P: 2\n", 5), 0);
	ATF_REQUIRE_EQ(spool_commit(&msg), 0);
	got = message_of(msg.path, &gotlen);
	ATF_REQUIRE_EQ(gotlen, n + 10);
	ATF_CHECK(strncmp(got, "P: 2\nT: 1\n", 10) == 0);
	ATF_CHECK(memcmp(got + 10, want, n) == 0);
	free(got);
	free(want);
}

ATF_TC_WITHOUT_HEAD(rewrite_refuses_bad_cut);
ATF_TC_BODY(rewrite_refuses_bad_cut, tc)
{
	struct spool_msg msg;
	struct spool_cut cut;
	struct spool_edit ed;
	char		 buf[1024];

	ATF_REQUIRE_EQ(spool_init(SPOOL), 0);
	queue_one(&msg, "sender@example.com");
	cut.off = 10;
	cut.len = 100;
	memset(&ed, 0, sizeof(ed));
	ed.top = "A: b\n";
	ed.toplen = 5;
	ed.cuts = &cut;
	ed.ncuts = 1;
	errno = 0;
	ATF_CHECK_EQ(spool_rewrite(&msg, &ed), -1);
	ATF_CHECK_EQ(errno, EINVAL);
	ATF_REQUIRE_EQ(spool_commit(&msg), 0);
	read_file(msg.path, buf, sizeof(buf));
	ATF_CHECK(strstr(buf, "\n\nSubject: hi\n\nbody\n") != NULL);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, init_creates_layout);
	ATF_TP_ADD_TC(tp, init_refuses_file_as_wakeup);
	ATF_TP_ADD_TC(tp, queue_file_format);
	ATF_TP_ADD_TC(tp, null_sender);
	ATF_TP_ADD_TC(tp, id_format);
	ATF_TP_ADD_TC(tp, ids_unique);
	ATF_TP_ADD_TC(tp, uncommitted_in_tmp_only);
	ATF_TP_ADD_TC(tp, abort_after_commit_keeps_message);
	ATF_TP_ADD_TC(tp, envelope_refuses_line_breaks);
	ATF_TP_ADD_TC(tp, envelope_needs_recipient);
	ATF_TP_ADD_TC(tp, create_fails_without_spool);
	ATF_TP_ADD_TC(tp, commit_fails_cleanly_on_missing_queue);
	ATF_TP_ADD_TC(tp, commit_wakes_deliver);
	ATF_TP_ADD_TC(tp, wakeup_without_reader_returns);
	ATF_TP_ADD_TC(tp, commit_hold_goes_to_hold);
	ATF_TP_ADD_TC(tp, rewrite_replaces_message);
	ATF_TP_ADD_TC(tp, clean_tmp_removes_stale_only);
	ATF_TP_ADD_TC(tp, rewrite_in_place);
	ATF_TP_ADD_TC(tp, rewrite_moves_large_message);
	ATF_TP_ADD_TC(tp, rewrite_refuses_bad_cut);
	return atf_no_error();
}
