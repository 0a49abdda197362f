/*
 * quota.c: a full mailbox refused at RCPT (quota_check_at_rcpt), so
 * that mail for it does not wait in the queue for days only to bounce.
 *
 * A mailbox is full when the usage its maildirsize records has reached
 * the quota of the users map; the file is read as deliver reads it
 * (maildir_size_read, lib/libmail/maildir.c).  smtpd only reads: when
 * the file is missing or must be counted again, the recipient is
 * accepted, and deliver, which counts and rewrites it, decides.  An
 * alias, or a catch-all, is refused only when every target it expands
 * to is a full mailbox: one who can still take the message gets it,
 * and deliver defers (and in the end bounces) for the others.  The
 * reply is 452 4.2.2, a temporary failure the sender retries (the
 * mailbox may be emptied meanwhile), or with quota_full_tempfail no
 * 552 5.2.2 (RFC 3463: mailbox full).
 *
 * With lmtp lines the Maildirs are the LMTP server's, out of sight, so
 * the check is off unless mail.conf asks for it; Dovecot's reply after
 * DATA then decides, in deliver.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtpd.h"

static int	 quota_full(const struct resolve_target *);

/* 1 if the mailbox has reached its quota, as far as maildirsize says. */
static int
quota_full(const struct resolve_target *rt)
{
	uint64_t	 used;
	int		 fd, r;

	if (!rt->local || rt->unknown || rt->quota == 0)
		return 0;
	fd = open(rt->maildir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return 0;
	r = maildir_size_read(fd, rt->quota, &used);
	close(fd);
	return r == 1 && used >= rt->quota;
}

int
quota_rcpt(struct session *s, const struct mailaddr *addr, const char *rcpt)
{
	struct resolve_target	*rt = NULL;
	int			 n, i;

	if (!env->conf.quota_check_at_rcpt)
		return 0;
	pthread_mutex_lock(&env->maplock);
	n = resolve_expand(&env->resolver, addr, &rt);
	pthread_mutex_unlock(&env->maplock);
	for (i = 0; i < n; i++)
		if (!quota_full(&rt[i]))
			break;
	free(rt);
	if (n <= 0 || i < n)
		return 0;
	if (env->conf.quota_full_tempfail)
		session_reply(s, 452, "4.2.2", "<%s>: Mailbox full", rcpt);
	else
		session_reply(s, 552, "5.2.2", "<%s>: Mailbox full", rcpt);
	return -1;
}
