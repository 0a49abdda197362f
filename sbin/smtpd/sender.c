/*
 * sender.c: who may name which sender.
 *
 * An authenticated client may use as envelope sender only an address
 * it owns (resolve_sender_owned: its own, an alias that reaches it,
 * any address of a domain whose senders= lists it); with sender_check
 * header, the addresses of the From: header too, checked at the end of
 * DATA before the commit.  The null sender is let through, as Postfix's
 * reject_sender_login_mismatch lets it: it is how auto-replies and
 * receipts are sent, and no one's address.  relaynets clients, and
 * clients that did not authenticate (they may not relay), are not
 * checked.
 *
 * At RCPT, an SRS0 or SRS1 address of a hosted domain (srs on) is a
 * bounce coming back to a sender deliver rewrote: accepted only if its
 * hash verifies and it has not expired, so that a forged one is
 * refused now rather than bounced later.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "smtpd.h"

static int	 sender_owned(struct session *, const struct mailaddr *);

/* 1 if the login owns addr, 0 if not, -1 if a map cannot be read. */
static int
sender_owned(struct session *s, const struct mailaddr *addr)
{
	int	 r;

	pthread_mutex_lock(&env->maplock);
	r = resolve_sender_owned(&env->resolver, addr, s->login);
	pthread_mutex_unlock(&env->maplock);
	return r;
}

int
sender_check_mail(struct session *s, const struct path_args *pa)
{
	int	 r;

	if (env->conf.sender_check == SENDER_CHECK_NONE ||
	    s->login[0] == '\0' || pa->null)
		return 0;
	if ((r = sender_owned(s, &pa->addr)) == 1)
		return 0;
	if (r == -1) {
		session_reply(s, 451, "4.3.0", "Temporary lookup failure");
		return -1;
	}
	log_info("%s[%s]: from=<%s@%s> login=<%s>: sender address not owned",
	    s->name, s->addr, pa->addr.local, pa->addr.domain, s->login);
	session_reply(s, 553, "5.7.1", "Sender address not owned");
	return -1;
}

int
sender_from_next(const char **pp, char *box, size_t boxlen)
{
	const char	*p = *pp;
	size_t		 n = 0;
	int		 depth = 0, quoted = 0, angle = 0, closed = 0;

	if (*p == '\0')
		return 0;
	for (; *p != '\0'; p++) {
		if ((quoted || depth > 0) && *p == '\\' && p[1] != '\0') {
			if (!depth && !closed && n + 2 < boxlen) {
				box[n++] = p[0];
				box[n++] = p[1];
			}
			p++;
			continue;
		}
		if (!quoted && *p == '(') {
			depth++;
			continue;
		}
		if (depth > 0) {
			if (*p == ')')
				depth--;
			continue;
		}
		if (*p == '"')
			quoted = !quoted;
		else if (!quoted && !angle && (*p == ',' || *p == ';')) {
			p++;
			break;
		} else if (!quoted && !angle && *p == ':') {
			n = 0;		/* a group's name */
			continue;
		} else if (!quoted && *p == '<') {
			n = 0;		/* what came before is a name */
			angle = 1;
			continue;
		} else if (!quoted && angle && *p == '>') {
			angle = 0;
			closed = 1;
			continue;
		}
		if (!closed && n + 1 < boxlen)
			box[n++] = *p;
		else if (!closed) {
			n = boxlen;	/* too long: it will not parse */
			break;
		}
	}
	*pp = p;
	if (n >= boxlen) {
		/* Too long for an address: a byte addr_parse refuses. */
		box[0] = '\1';
		n = 1;
	}
	box[n] = '\0';
	return 1;
}

int
sender_from_mailbox(char *box, struct mailaddr *a)
{
	const char	*errstr;
	char		*p, *end;

	p = box + strspn(box, " \t");
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (*p == '\0')
		return 0;
	/* An obsolete route, "<@relay:a@b>". */
	if (*p == '@' && (p = strchr(p, ':')) != NULL)
		p++;
	if (p == NULL || addr_parse(p, a, &errstr) == -1)
		return -1;
	return 1;
}

int
sender_check_header(struct session *s, const struct data_result *res)
{
	struct mailaddr	 a;
	char		 box[ADDR_MAX + 2];
	const char	*p;
	int		 r;

	if (env->conf.sender_check != SENDER_CHECK_HEADER ||
	    s->login[0] == '\0' || res->from == NULL)
		return 0;
	if (res->fromlong) {
		log_info("%s: rejected: From: header too long to check",
		    s->msg.id);
		session_reply(s, 550, "5.7.1", "Message refused: From: header "
		    "too long");
		return -1;
	}
	for (p = res->from; sender_from_next(&p, box, sizeof(box));) {
		switch (sender_from_mailbox(box, &a)) {
		case 0:
			continue;
		case 1:
			r = sender_owned(s, &a);
			break;
		default:
			r = 0;		/* what does not parse is no one's */
			break;
		}
		if (r == 1)
			continue;
		if (r == -1) {
			session_reply(s, 451, "4.3.0", "Temporary lookup "
			    "failure");
			return -1;
		}
		log_info("%s: rejected: From: <%s> not owned by login=<%s>",
		    s->msg.id, box, s->login);
		session_reply(s, 550, "5.7.1", "Message refused: From: address "
		    "not owned");
		return -1;
	}
	return 0;
}

int
sender_srs_rcpt(struct session *s, const struct mailaddr *addr,
    const char *rcpt)
{
	char		 orig[SMTPD_ADDRLEN];
	int		 r;

	if (!env->conf.srs || !srs_is_srs(addr->local))
		return SENDER_SRS_NONE;
	if ((r = server_resolve(addr)) == RESOLVE_REMOTE)
		return SENDER_SRS_NONE;
	if (r == -1) {
		session_reply(s, 451, "4.3.0", "<%s>: Temporary lookup "
		    "failure", rcpt);
		return SENDER_SRS_REFUSED;
	}
	r = srs_reverse(&env->srs, addr->local, time(NULL), orig,
	    sizeof(orig));
	if (r == SRS_OK) {
		log_info("%s: to=<%s>: SRS address of <%s>", s->msg.id, rcpt,
		    orig);
		return SENDER_SRS_OK;
	}
	session_reply(s, 550, "5.1.1", "<%s>: Recipient address rejected: "
	    "%s SRS address", rcpt, r == SRS_EXPIRED ? "expired" :
	    "invalid");
	return SENDER_SRS_REFUSED;
}
