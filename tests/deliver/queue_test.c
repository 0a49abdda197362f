/*
 * queue.c: the queue files and deliver's state files, as deliver and
 * mailq read them.
 */

#include <sys/stat.h>

#include <atf-c.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmail.h"

#define ID1	"6b08000000000001"
#define ID2	"6b08000000000002"

static void
spool_make(void)
{
	ATF_REQUIRE(mkdir("spool", 0700) == 0);
	ATF_REQUIRE(mkdir("spool/queue", 0700) == 0);
	ATF_REQUIRE(mkdir("spool/state", 0700) == 0);
}

static void
file_write(const char *path, const char *text)
{
	FILE	*fp;

	ATF_REQUIRE((fp = fopen(path, "w")) != NULL);
	ATF_REQUIRE(fputs(text, fp) != EOF);
	ATF_REQUIRE(fclose(fp) == 0);
}

static const char envelope[] =
    "V 1\nI " ID1 "\nT 1764150000\nS alice@example.org\n"
    "X some later record\nR bob@example.net\nR carol@example.com\n\n";
static const char body[] = "Subject: hi\n\nhello\n";

static void
msg_make(void)
{
	char	 text[512];

	spool_make();
	snprintf(text, sizeof(text), "%s%s", envelope, body);
	file_write("spool/queue/" ID1, text);
}

ATF_TC_WITHOUT_HEAD(id_valid);
ATF_TC_BODY(id_valid, tc)
{
	ATF_CHECK(queue_id_valid("0123456789abcdef"));
	ATF_CHECK(!queue_id_valid("0123456789ABCDEF"));
	ATF_CHECK(!queue_id_valid("0123456789abcde"));
	ATF_CHECK(!queue_id_valid("0123456789abcdef0"));
	ATF_CHECK(!queue_id_valid("../queue/0123456"));
	ATF_CHECK(!queue_id_valid(""));
}

ATF_TC_WITHOUT_HEAD(envelope_read);
ATF_TC_BODY(envelope_read, tc)
{
	struct queue_msg m;
	char		 err[128];

	msg_make();
	ATF_REQUIRE_MSG(queue_read("spool", ID1, &m, err, sizeof(err)) == 0,
	    "%s", err);
	ATF_CHECK_STREQ(m.id, ID1);
	ATF_CHECK_EQ(m.arrival, 1764150000);
	ATF_CHECK_STREQ(m.sender, "alice@example.org");
	ATF_REQUIRE_EQ(m.nrcpts, 2);
	ATF_CHECK_STREQ(m.rcpts[0], "bob@example.net");
	ATF_CHECK_STREQ(m.rcpts[1], "carol@example.com");
	ATF_CHECK_EQ(m.body, (off_t)strlen(envelope));
	ATF_CHECK_EQ(m.size, (off_t)strlen(body));
	ATF_CHECK_EQ(m.ntargets, 0);
	ATF_CHECK(!m.has_state);
	ATF_CHECK(!queue_msg_done(&m));
	ATF_CHECK_EQ(queue_msg_due(&m), 0);
	queue_msg_free(&m);
}

ATF_TC_WITHOUT_HEAD(envelope_malformed);
ATF_TC_BODY(envelope_malformed, tc)
{
	static const char *bad[] = {
		"I " ID1 "\nV 1\nT 1\nS a@b.c\nR d@e.f\n\nx\n",	/* V first */
		"V 2\nI " ID1 "\nT 1\nS a@b.c\nR d@e.f\n\nx\n",	/* version */
		"V 1\nI " ID2 "\nT 1\nS a@b.c\nR d@e.f\n\nx\n",	/* ID */
		"V 1\nI " ID1 "\nT x\nS a@b.c\nR d@e.f\n\nx\n",	/* time */
		"V 1\nI " ID1 "\nT 1\nS a@b.c\n\nx\n",		/* no R */
		"V 1\nI " ID1 "\nT 1\nS a@b.c\nR d@e.f\n",	/* no end */
		"V 1\nI " ID1 "\nT 1\nR d@e.f\n\nx\n",		/* no S */
	};
	struct queue_msg m;
	char		 err[128];
	size_t		 i;

	spool_make();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		file_write("spool/queue/" ID1, bad[i]);
		ATF_CHECK_EQ_MSG(queue_read("spool", ID1, &m, err,
		    sizeof(err)), -1, "case %zu", i);
		ATF_CHECK_EQ_MSG(errno, EINVAL, "case %zu", i);
		ATF_CHECK_MSG(err[0] != '\0', "case %zu", i);
	}
	ATF_CHECK_EQ(queue_read("spool", ID2, &m, err, sizeof(err)), -1);
	ATF_CHECK_EQ(errno, ENOENT);
	ATF_CHECK_EQ(queue_read("spool", "../x", &m, err, sizeof(err)), -1);
	ATF_CHECK_EQ(errno, EINVAL);
}

/* Records as deliver writes them, then read back. */
ATF_TC_WITHOUT_HEAD(state_records);
ATF_TC_BODY(state_records, tc)
{
	struct queue_msg	 m;
	struct queue_target	 t, *p;
	char			 err[128];
	int			 fd;

	msg_make();
	ATF_REQUIRE((fd = queue_state_open("spool", ID1)) != -1);
	memset(&t, 0, sizeof(t));
	t.rcpt = 0;
	strlcpy(t.addr, "bob@example.org", sizeof(t.addr));
	ATF_REQUIRE(queue_state_append(fd, QUEUE_REC_EXPAND, &t, 10) == 0);
	strlcpy(t.addr, "dave@example.org", sizeof(t.addr));
	ATF_REQUIRE(queue_state_append(fd, QUEUE_REC_EXPAND, &t, 10) == 0);
	t.rcpt = 1;
	strlcpy(t.addr, "carol@example.com", sizeof(t.addr));
	t.attempts = 1;
	t.next = 500;
	strlcpy(t.reason, "451 try\tlater\n", sizeof(t.reason));
	ATF_REQUIRE(queue_state_append(fd, QUEUE_REC_DEFERRED, &t, 20) == 0);
	t.rcpt = 0;
	strlcpy(t.addr, "bob@example.org", sizeof(t.addr));
	strlcpy(t.reason, "250 ok", sizeof(t.reason));
	ATF_REQUIRE(queue_state_append(fd, QUEUE_REC_DELIVERED, &t, 30) == 0);
	strlcpy(t.addr, "dave@example.org", sizeof(t.addr));
	strlcpy(t.reason, "550 no", sizeof(t.reason));
	ATF_REQUIRE(queue_state_append(fd, QUEUE_REC_BOUNCED, &t, 40) == 0);
	ATF_REQUIRE(close(fd) == 0);

	ATF_REQUIRE(queue_read("spool", ID1, &m, err, sizeof(err)) == 0);
	ATF_CHECK(m.has_state);
	ATF_REQUIRE_EQ(m.ntargets, 3);
	ATF_CHECK(m.expanded[0] && m.expanded[1]);
	p = queue_target_find(&m, 0, "bob@example.org");
	ATF_REQUIRE(p != NULL);
	ATF_CHECK_EQ(p->status, QUEUE_DELIVERED);
	ATF_CHECK_EQ(p->last, 30);
	p = queue_target_find(&m, 1, "carol@example.com");
	ATF_REQUIRE(p != NULL);
	ATF_CHECK_EQ(p->status, QUEUE_DEFERRED);
	ATF_CHECK_EQ(p->next, 500);
	ATF_CHECK_EQ(p->attempts, 1);
	/* Control characters are written as spaces: one record a line. */
	ATF_CHECK_STREQ(p->reason, "451 try later ");
	p = queue_target_find(&m, 0, "dave@example.org");
	ATF_REQUIRE(p != NULL);
	ATF_CHECK_EQ(p->status, QUEUE_BOUNCED);
	ATF_CHECK(!p->notified);
	ATF_CHECK_EQ(queue_msg_due(&m), 0);	/* a bounce to send */
	ATF_CHECK(!queue_msg_done(&m));
	queue_msg_free(&m);
}

ATF_TC_WITHOUT_HEAD(state_done_due_flush);
ATF_TC_BODY(state_done_due_flush, tc)
{
	struct queue_msg m;
	char		 err[128];

	msg_make();
	file_write("spool/state/" ID1,
	    "X\t0\t1\t0\t0\tbob@example.net\t\n"
	    "X\t1\t1\t0\t0\tcarol@example.com\t\n"
	    "D\t0\t2\t1\t0\tbob@example.net\t250 ok\n"
	    "Q\t1\t2\t1\t900\tcarol@example.com\t451 later\n");
	ATF_REQUIRE(queue_read("spool", ID1, &m, err, sizeof(err)) == 0);
	ATF_CHECK_EQ(queue_msg_due(&m), 900);
	ATF_CHECK(!queue_msg_done(&m));
	queue_msg_free(&m);

	/* mailq -f: due now. */
	ATF_REQUIRE(queue_flush("spool", ID1, 5) == 0);
	ATF_REQUIRE(queue_read("spool", ID1, &m, err, sizeof(err)) == 0);
	ATF_CHECK_EQ(queue_msg_due(&m), 0);
	queue_msg_free(&m);

	file_write("spool/state/" ID1,
	    "D\t0\t2\t1\t0\tbob@example.net\t250 ok\n"
	    "B\t1\t3\t2\t0\tcarol@example.com\t550 no\n"
	    "N\t1\t3\t0\t0\tcarol@example.com\t\n");
	ATF_REQUIRE(queue_read("spool", ID1, &m, err, sizeof(err)) == 0);
	ATF_CHECK(queue_msg_done(&m));
	ATF_CHECK_EQ(queue_msg_due(&m), 0);	/* to be removed */
	queue_msg_free(&m);
}

/* A crash in the middle of a write leaves a line without its newline. */
ATF_TC_WITHOUT_HEAD(state_torn_and_malformed);
ATF_TC_BODY(state_torn_and_malformed, tc)
{
	struct queue_msg	 m;
	struct queue_target	*p;
	char			 err[128];

	msg_make();
	file_write("spool/state/" ID1,
	    "X\t0\t1\t0\t0\tbob@example.net\t\n"
	    "D\t7\t2\t1\t0\tbob@example.net\t250 rcpt out of range\n"
	    "D\t0\tjunk\t1\t0\tbob@example.net\t250 bad time\n"
	    "D\t0\t2\t1\t0\t\t250 no address\n"
	    "Z\t0\t2\t1\t0\tbob@example.net\tunknown type\n"
	    "D\t0\t2\t1\tbob@example.net\ttoo few fields\n"
	    "D\t0\t2\t1\t0\tbob@example.net\t250 o");
	ATF_REQUIRE(queue_read("spool", ID1, &m, err, sizeof(err)) == 0);
	ATF_REQUIRE_EQ(m.ntargets, 1);
	p = queue_target_find(&m, 0, "bob@example.net");
	ATF_REQUIRE(p != NULL);
	ATF_CHECK_EQ(p->status, QUEUE_PENDING);
	queue_msg_free(&m);
}

ATF_TC_WITHOUT_HEAD(record_in_memory);
ATF_TC_BODY(record_in_memory, tc)
{
	struct queue_msg	 m;
	struct queue_target	 t;
	char			 err[128];

	msg_make();
	ATF_REQUIRE(queue_read("spool", ID1, &m, err, sizeof(err)) == 0);
	memset(&t, 0, sizeof(t));
	t.rcpt = 1;
	strlcpy(t.addr, "carol@example.com", sizeof(t.addr));
	ATF_REQUIRE(queue_state_record(-1, &m, QUEUE_REC_EXPAND, &t, 1) == 0);
	ATF_CHECK_EQ(m.ntargets, 1);
	ATF_CHECK(m.expanded[1]);
	ATF_CHECK(!m.expanded[0]);
	/* Nothing on disk. */
	ATF_CHECK(access("spool/state/" ID1, F_OK) == -1);
	queue_msg_free(&m);
}

ATF_TC_WITHOUT_HEAD(list_remove_orphans);
ATF_TC_BODY(list_remove_orphans, tc)
{
	char	**ids;
	size_t	 n;

	msg_make();
	file_write("spool/queue/" ID2, "x");
	file_write("spool/queue/not-an-id", "x");
	file_write("spool/state/" ID1, "");
	file_write("spool/state/" ID2, "");
	ATF_REQUIRE(queue_list("spool", &ids, &n) == 0);
	ATF_REQUIRE_EQ(n, 2);
	ATF_CHECK_STREQ(ids[0], ID1);
	ATF_CHECK_STREQ(ids[1], ID2);
	queue_list_free(ids, n);

	/* Unlinked alone, then the orphan state goes. */
	ATF_REQUIRE(queue_unlink("spool", ID2) == 0);
	ATF_CHECK(access("spool/state/" ID2, F_OK) == 0);
	ATF_CHECK_EQ(queue_clean_orphans("spool"), 1);
	ATF_CHECK(access("spool/state/" ID2, F_OK) == -1);
	ATF_CHECK(access("spool/state/" ID1, F_OK) == 0);

	ATF_REQUIRE(queue_remove("spool", ID1) == 0);
	ATF_CHECK(access("spool/queue/" ID1, F_OK) == -1);
	ATF_CHECK(access("spool/state/" ID1, F_OK) == -1);
	ATF_CHECK(queue_unlink_sync("spool", ID2) == 0);
	ATF_CHECK_EQ(queue_remove("spool", "../../etc"), -1);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, id_valid);
	ATF_TP_ADD_TC(tp, envelope_read);
	ATF_TP_ADD_TC(tp, envelope_malformed);
	ATF_TP_ADD_TC(tp, state_records);
	ATF_TP_ADD_TC(tp, state_done_due_flush);
	ATF_TP_ADD_TC(tp, state_torn_and_malformed);
	ATF_TP_ADD_TC(tp, record_in_memory);
	ATF_TP_ADD_TC(tp, list_remove_orphans);
	return atf_no_error();
}
