/*
 * Delivery status notifications (RFC 3464, in an RFC 6522
 * multipart/report): a human-readable part, a message/delivery-status
 * part with one group of fields per recipient, and the headers of the
 * original message as text/rfc822-headers, or the whole message as
 * message/rfc822 in a failure notice when the sender asked for it
 * (RFC 3461 RET=FULL).  They go through the queue like any message,
 * from the null sender, so that a DSN never causes another to its
 * sender.  The sender's ENVID and each recipient's ORCPT come back
 * decoded in Original-Envelope-Id: and Original-Recipient:.
 */

#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <signal.h>

#include "libmail.h"
#include "deliver.h"

/* Lines of a header section this long or longer are cut (RFC 5322). */
#define HEADER_LINE_MAX	998

static void	 rfc5322_date(time_t, char *, size_t);
static void	 dsn_status(const struct queue_target *, int, char *, size_t);
static void	 dsn_headers(FILE *, const struct conf *,
		    const struct queue_msg *, int, const char *,
		    const char *, const char *);
static void	 dsn_human(FILE *, const struct conf *,
		    const struct queue_msg *, const size_t *, size_t, int);
static void	 dsn_report(FILE *, const struct conf *,
		    const struct queue_msg *, const size_t *, size_t, int);
static void	 dsn_original(FILE *, const struct conf *,
		    const struct queue_msg *);
static int	 header_8bit(const struct conf *, const struct queue_msg *,
		    int);
static const char *dsn_action(const struct queue_target *, int);
static void	 dsn_orcpt(FILE *, const struct queue_msg *,
		    const struct queue_target *);
static void	 dsn_full(FILE *, const struct conf *,
		    const struct queue_msg *);

static void
rfc5322_date(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		strlcpy(buf, "Thu, 1 Jan 1970 00:00:00 +0000", len);
}

/*
 * The status code x.y.z: the enhanced code of the reason if it has
 * one (deliver's own reasons begin with one, remote replies mostly
 * carry one), else a generic one of the right class.
 */
static void
dsn_status(const struct queue_target *t, int kind, char *buf, size_t len)
{
	const char	*p = t->reason;
	size_t		 a, b, c;

	for (; *p != '\0'; p++) {
		if ((*p != '2' && *p != '4' && *p != '5') ||
		    (p > t->reason && !isspace((unsigned char)p[-1])) ||
		    p[1] != '.')
			continue;
		a = 2;
		for (b = 0; isdigit((unsigned char)p[a + b]) && b < 3; b++)
			;
		if (b == 0 || p[a + b] != '.')
			continue;
		for (c = 0; isdigit((unsigned char)p[a + b + 1 + c]) && c < 3;
		    c++)
			;
		if (c == 0 || (p[a + b + 1 + c] != '\0' &&
		    !isspace((unsigned char)p[a + b + 1 + c])))
			continue;
		snprintf(buf, len, "%.*s", (int)(a + b + 1 + c), p);
		return;
	}
	strlcpy(buf, kind == DSN_DELAYED ? "4.0.0" : "5.0.0", len);
}

/* The Action: of a target (RFC 3464 2.3.3). */
static const char *
dsn_action(const struct queue_target *t, int kind)
{
	if (kind == DSN_DELAYED)
		return "delayed";
	if (kind == DSN_FAILED)
		return "failed";
	/* A remote reply: relayed to a next hop without DSN. */
	return strstr(t->reason, " said: ") != NULL ? "relayed" : "delivered";
}

/* Original-Recipient: the ORCPT the client gave, else the recipient. */
static void
dsn_orcpt(FILE *fp, const struct queue_msg *m, const struct queue_target *t)
{
	const char	*o = m->orcpt[t->rcpt], *semi;
	char		 addr[DSN_ORCPT_MAX + 1];

	if (o != NULL && (semi = strchr(o, ';')) != NULL &&
	    dsn_xtext_decode(semi + 1, strlen(semi + 1), addr,
	    sizeof(addr)) == 0) {
		fprintf(fp, "Original-Recipient: %.*s; %s\n", (int)(semi - o),
		    o, addr);
		return;
	}
	if (strcasecmp(m->rcpts[t->rcpt], t->addr) != 0)
		fprintf(fp, "Original-Recipient: rfc822; %s\n",
		    m->rcpts[t->rcpt]);
}

int
bounce_enqueue(const struct conf *conf, const struct queue_msg *m,
    const size_t *tidx, size_t n, int kind, const char *rcpt, char *newid,
    size_t idlen)
{
	struct spool_msg	 sm;
	char			 boundary[128], err[512];
	char			*rcpts[1];

	if (spool_create(conf->spool, &sm) == -1)
		return -1;
	rcpts[0] = (char *)rcpt;
	/* It quotes the original's header, UTF-8 in an SMTPUTF8 message. */
	sm.smtputf8 = m->smtputf8;
	if (spool_envelope(&sm, time(NULL), "", rcpts, 1) == -1)
		goto fail;
	snprintf(boundary, sizeof(boundary), "%s/%.100s", sm.id, conf->hostname);
	dsn_headers(sm.fp, conf, m, kind, rcpt, sm.id, boundary);
	fprintf(sm.fp, "This is a MIME-encapsulated message.\n\n");
	fprintf(sm.fp, "--%s\n", boundary);
	dsn_human(sm.fp, conf, m, tidx, n, kind);
	fprintf(sm.fp, "\n--%s\n", boundary);
	dsn_report(sm.fp, conf, m, tidx, n, kind);
	fprintf(sm.fp, "\n--%s\n", boundary);
	if (kind == DSN_FAILED && m->ret == DSN_RET_FULL)
		dsn_full(sm.fp, conf, m);
	else
		dsn_original(sm.fp, conf, m);
	fprintf(sm.fp, "\n--%s--\n", boundary);
	if (ferror(sm.fp))
		goto fail;
	strlcpy(newid, sm.id, idlen);
	/* Signed as smtpd signs, when the hostname is a domain of ours. */
	if (dk_spool_sign(&sm, conf->mapdir, dk_lookup_mapdir, conf->mapdir,
	    err, sizeof(err)) == -1) {
		log_warnx("%s: bounce not queued: %s", m->id, err);
		goto fail;
	}
	if (spool_commit(&sm) == -1)
		goto fail;
	return 0;
fail:
	spool_abort(&sm);
	return -1;
}

static void
dsn_headers(FILE *fp, const struct conf *conf, const struct queue_msg *m,
    int kind, const char *rcpt, const char *id, const char *boundary)
{
	char	 date[64];

	rfc5322_date(time(NULL), date, sizeof(date));
	fprintf(fp, "Date: %s\n", date);
	fprintf(fp, "From: Mail Delivery System <MAILER-DAEMON@%s>\n",
	    conf->hostname);
	fprintf(fp, "To: <%s>\n", rcpt);
	fprintf(fp, "Subject: %s\n", kind == DSN_DELAYED ?
	    "Delayed Mail (still being retried)" : kind == DSN_SUCCESS ?
	    "Successful Mail Delivery Report" :
	    "Undelivered Mail Returned to Sender");
	fprintf(fp, "Message-ID: <%s.%s@%s>\n", id, m->id, conf->hostname);
	fprintf(fp, "Auto-Submitted: auto-replied\n");
	fprintf(fp, "MIME-Version: 1.0\n");
	fprintf(fp, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\n\tboundary=\"%s\"\n", boundary);
	/* The original header, or body when it is returned, may be 8-bit. */
	fprintf(fp, "Content-Transfer-Encoding: %s\n\n",
	    header_8bit(conf, m, kind == DSN_FAILED &&
	    m->ret == DSN_RET_FULL) ? "8bit" : "7bit");
}

static void
dsn_human(FILE *fp, const struct conf *conf, const struct queue_msg *m,
    const size_t *tidx, size_t n, int kind)
{
	const struct queue_target *t;
	char		 until[64];
	size_t		 i;

	fprintf(fp, "Content-Description: Notification\n");
	fprintf(fp, "Content-Type: text/plain; charset=us-ascii\n\n");
	fprintf(fp, "This is the mail system at host %s.\n\n",
	    conf->hostname);
	if (kind == DSN_DELAYED) {
		rfc5322_date(m->arrival + conf->queue_lifetime, until,
		    sizeof(until));
		fprintf(fp, "Your message %s could not be delivered yet to\n"
		    "the recipients below.  It will be tried again until\n"
		    "%s; you need not send it again.\n\n", m->id, until);
	} else if (kind == DSN_SUCCESS)
		fprintf(fp, "Your message %s was delivered to the "
		    "recipients below,\nor relayed to a system that sends "
		    "no delivery notices, as\nyou asked.\n\n", m->id);
	else
		fprintf(fp, "I'm sorry to have to inform you that your "
		    "message %s\ncould not be delivered to one or more "
		    "recipients.  Its headers are\nattached below.\n\n",
		    m->id);
	for (i = 0; i < n; i++) {
		t = &m->targets[tidx[i]];
		fprintf(fp, "<%s>: %s\n", t->addr, t->reason);
	}
}

static void
dsn_report(FILE *fp, const struct conf *conf, const struct queue_msg *m,
    const size_t *tidx, size_t n, int kind)
{
	const struct queue_target *t;
	const char	*said;
	char		 date[64], status[16], host[ADDR_DOMAIN_MAX + 1];
	char		 envid[DSN_ENVID_MAX + 1];
	size_t		 i, hl;

	fprintf(fp, "Content-Description: Delivery report\n");
	fprintf(fp, "Content-Type: message/delivery-status\n\n");
	fprintf(fp, "Reporting-MTA: dns; %s\n", conf->hostname);
	if (m->envid[0] != '\0' && dsn_xtext_decode(m->envid,
	    strlen(m->envid), envid, sizeof(envid)) == 0)
		fprintf(fp, "Original-Envelope-Id: %s\n", envid);
	fprintf(fp, "X-Basemail-Queue-ID: %s\n", m->id);
	rfc5322_date(m->arrival, date, sizeof(date));
	fprintf(fp, "Arrival-Date: %s\n", date);
	for (i = 0; i < n; i++) {
		t = &m->targets[tidx[i]];
		fprintf(fp, "\nFinal-Recipient: rfc822; %s\n", t->addr);
		dsn_orcpt(fp, m, t);
		fprintf(fp, "Action: %s\n", dsn_action(t, kind));
		if (kind == DSN_SUCCESS)
			strlcpy(status, "2.0.0", sizeof(status));
		else
			dsn_status(t, kind, status, sizeof(status));
		fprintf(fp, "Status: %s\n", status);
		/* Remote reasons read "host[addr] said: reply". */
		if ((said = strstr(t->reason, " said: ")) != NULL &&
		    (hl = strcspn(t->reason, "[ ")) < sizeof(host) &&
		    t->reason[hl] == '[') {
			snprintf(host, sizeof(host), "%.*s", (int)hl,
			    t->reason);
			fprintf(fp, "Remote-MTA: dns; %s\n", host);
			fprintf(fp, "Diagnostic-Code: smtp; %s\n", said + 7);
		} else
			fprintf(fp, "Diagnostic-Code: X-Basemail; %s\n",
			    t->reason);
		if (t->last != 0) {
			rfc5322_date(t->last, date, sizeof(date));
			fprintf(fp, "Last-Attempt-Date: %s\n", date);
		}
		if (kind == DSN_DELAYED) {
			rfc5322_date(m->arrival + conf->queue_lifetime, date,
			    sizeof(date));
			fprintf(fp, "Will-Retry-Until: %s\n", date);
		}
	}
}

/*
 * 1 if the header section of the original (all of it, if whole) has a
 * byte above 127.
 */
static int
header_8bit(const struct conf *conf, const struct queue_msg *m, int whole)
{
	FILE	*body;
	int	 c, prev = '\n', found = 0;

	if ((body = queue_body_open(conf->spool, m)) == NULL)
		return 0;
	while ((c = getc(body)) != EOF &&
	    (whole || !(c == '\n' && prev == '\n'))) {
		if (c & 0x80) {
			found = 1;
			break;
		}
		prev = c;
	}
	fclose(body);
	return found;
}

/* RET=FULL: the whole original, as it was queued. */
static void
dsn_full(FILE *fp, const struct conf *conf, const struct queue_msg *m)
{
	FILE	*body;
	char	 buf[8192];
	size_t	 n;

	fprintf(fp, "Content-Description: Undelivered Message\n");
	fprintf(fp, "Content-Type: message/rfc822\n\n");
	if ((body = queue_body_open(conf->spool, m)) == NULL) {
		log_warn("%s: cannot read for its bounce", m->id);
		return;
	}
	while ((n = fread(buf, 1, sizeof(buf), body)) > 0)
		(void)fwrite(buf, 1, n, fp);
	fclose(body);
}

/* The header section of the original, up to its empty line. */
static void
dsn_original(FILE *fp, const struct conf *conf, const struct queue_msg *m)
{
	FILE	*body;
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 len;

	fprintf(fp, "Content-Description: Undelivered Message Headers\n");
	fprintf(fp, "Content-Type: text/rfc822-headers\n\n");
	if ((body = queue_body_open(conf->spool, m)) == NULL) {
		log_warn("%s: cannot read for its bounce", m->id);
		return;
	}
	while ((len = getline(&line, &cap, body)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			break;
		if (len > HEADER_LINE_MAX)
			line[HEADER_LINE_MAX] = '\0';
		fprintf(fp, "%s\n", line);
	}
	free(line);
	fclose(body);
}
