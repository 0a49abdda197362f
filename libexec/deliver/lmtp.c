/*
 * Local mail handed to an LMTP server (RFC 2033) instead of written
 * into Maildirs, when mail.conf has lmtp lines: Dovecot's LMTP in
 * front of its mail store, or a Dovecot proxy in front of a cluster.
 *
 * The transaction is remote.c's SMTP one, with what LMTP changes
 * carried by the connection (c->lmtp): the recipient is the final
 * mailbox address (after aliases, alias domains and +tag), the user
 * Dovecot's userdb knows, and after the final dot each recipient
 * accepted gets a reply of its own, recorded as it says: 2xx
 * delivered, 4xx deferred, 5xx bounced.  What is LMTP's own is here:
 * the servers, tried in the order of the lmtp lines, and LHLO.  The
 * message goes as the queue holds it: the LMTP server adds
 * Return-Path: and Delivered-To: itself (Dovecot does), and two of
 * each would be one too many.
 *
 * A local worker stays (pool.c), and so does its connection, from one
 * message to the next; the RSET that begins each message after the
 * first also tells whether the server is still there, and if it is
 * not, the worker connects again before a word of the message went.
 * When no server takes the connection, the job is deferred.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmail.h"
#include "deliver.h"
#include "smtp.h"

/* Seconds: the server is near, and others may take the mail. */
#define LMTP_CONNECT_TIMEOUT	10
#define LMTP_GREET_TIMEOUT	60

static int	 lmtp_open(const struct conf *, struct smtp_conn *, char *,
		    size_t);
static int	 lmtp_try_unix(const struct conf *, const char *,
		    struct smtp_conn *, char *, size_t);
static int	 lmtp_try_inet(const struct conf *, const struct conf_lmtp *,
		    struct smtp_conn *, char *, size_t);
static int	 lmtp_greet(const struct conf *, struct smtp_conn *, char *,
		    size_t);
static int	 lmtp_reset(struct smtp_conn *);

/* The worker's connection, kept between jobs. */
static struct smtp_conn	 lmtp_conn = { .fd = -1, .broken = 1 };

void
lmtp_run(const struct worker_ctx *ctx, struct job *j)
{
	struct smtp_conn *c = &lmtp_conn;
	struct txn	 tx;
	char		 reason[QUEUE_REASONLEN];

	if (!c->broken && lmtp_reset(c) == -1)
		smtp_close(c);
	if (c->broken && lmtp_open(ctx->conf, c, reason,
	    sizeof(reason)) == -1) {
		job_fail(ctx, j, DELIVER_TEMP, "none", reason);
		return;
	}
	tx.outcome = calloc(j->ntargets, sizeof(*tx.outcome));
	tx.reason = calloc(j->ntargets, sizeof(*tx.reason));
	if (tx.outcome == NULL || tx.reason == NULL)
		job_fail(ctx, j, DELIVER_TEMP, c->relay,
		    "4.3.0 out of memory");
	else {
		remote_transaction(ctx, c, j, &tx);
		job_finish(ctx, j, &tx, c->relay);
	}
	free(tx.outcome);
	free(tx.reason);
}

/* RSET, and its 250: 0, or -1 when the connection is of no more use. */
static int
lmtp_reset(struct smtp_conn *c)
{
	int	 code;

	smtp_timeout(c, LMTP_GREET_TIMEOUT);
	if (smtp_cmd(c, "RSET") == -1 || (code = smtp_reply(c, 0)) == -1)
		return -1;
	return code >= 200 && code < 300 ? 0 : -1;
}

/*
 * The first server of the lmtp lines that greets and takes LHLO: 0,
 * or -1 with the reason of the last failure.
 */
static int
lmtp_open(const struct conf *conf, struct smtp_conn *c, char *reason,
    size_t rlen)
{
	size_t	 i;

	reasonf(reason, rlen, "4.4.1 no lmtp server");
	for (i = 0; i < conf->nlmtp; i++) {
		if (conf->lmtp[i].path[0] != '\0') {
			if (lmtp_try_unix(conf, conf->lmtp[i].path, c, reason,
			    rlen) == 0)
				return 0;
		} else if (lmtp_try_inet(conf, &conf->lmtp[i], c, reason,
		    rlen) == 0)
			return 0;
	}
	return -1;
}

static int
lmtp_try_unix(const struct conf *conf, const char *path,
    struct smtp_conn *c, char *reason, size_t rlen)
{
	struct sockaddr_un	 sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		reasonf(reason, rlen, "4.3.5 lmtp unix:%s: path too long",
		    path);
		return -1;
	}
	if (smtp_connect(c, (struct sockaddr *)&sun, sizeof(sun), path,
	    LMTP_CONNECT_TIMEOUT, reason + 6, rlen - 6) == -1) {
		memcpy(reason, "4.4.1 ", 6);
		return -1;
	}
	return lmtp_greet(conf, c, reason, rlen);
}

/* Each address of the host, in the order getaddrinfo gives them. */
static int
lmtp_try_inet(const struct conf *conf, const struct conf_lmtp *l,
    struct smtp_conn *c, char *reason, size_t rlen)
{
	struct addrinfo	 hints, *res, *ai;
	int		 e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(l->host, l->port, &hints, &res)) != 0) {
		reasonf(reason, rlen, "4.4.3 lmtp %s:%s: %s", l->host,
		    l->port, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (smtp_connect(c, ai->ai_addr, ai->ai_addrlen, l->host,
		    LMTP_CONNECT_TIMEOUT, reason + 6, rlen - 6) == -1) {
			memcpy(reason, "4.4.1 ", 6);
			continue;
		}
		if (lmtp_greet(conf, c, reason, rlen) == 0) {
			freeaddrinfo(res);
			return 0;
		}
	}
	freeaddrinfo(res);
	return -1;
}

/*
 * The greeting and LHLO (RFC 2033 section 4.1; there is no HELO to
 * fall back to): 0, or -1 with the reason and the connection closed.
 */
static int
lmtp_greet(const struct conf *conf, struct smtp_conn *c, char *reason,
    size_t rlen)
{
	int	 code;

	c->lmtp = 1;
	smtp_timeout(c, LMTP_GREET_TIMEOUT);
	code = smtp_reply(c, 0);
	if (code >= 200 && code < 300) {
		code = smtp_cmd(c, "LHLO %s", conf->hostname) == -1 ? -1 :
		    smtp_reply(c, 1);
		if (code >= 200 && code < 300)
			return 0;
	}
	reasonf(reason, rlen, "%s %s said: %s", code == -1 ? "4.4.2" :
	    "4.4.1", c->host, c->reply);
	smtp_close(c);
	return -1;
}
