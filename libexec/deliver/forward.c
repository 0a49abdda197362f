/*
 * forward.c: the envelope sender of mail an alias sends on, and the
 * SRS addresses that bounces of such mail come back to.
 *
 * Forwarded as it came, a message from an outside sender to an
 * outside address would leave here under a sender whose domain does
 * not list us in its SPF record, and be refused.  With srs on, such a
 * message leaves under an SRS address of the alias's own domain
 * (srs.c), which does; a bounce to that address comes back here, and
 * goes on to the original sender.  A sender of a hosted domain is
 * left alone: its SPF record is ours to make right.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "libmail.h"
#include "deliver.h"

static struct srs	 forward_srs;
static int		 forward_on;

void
forward_init(const struct conf *conf)
{
	char	 err[PATH_MAX + 128];

	if (!conf->srs)
		return;
	if (srs_load(&forward_srs, conf->mapdir, err, sizeof(err)) == -1)
		errx(EX_CONFIG, "%s: srs on: %s", conf->path, err);
	forward_on = 1;
}

int
forward_reverse(struct resolver *res, const struct mailaddr *rcpt,
    char *out, size_t outlen, const char **why)
{
	int	 r;

	if (!forward_on || !srs_is_srs(rcpt->local))
		return 0;
	if ((r = resolve_rcpt(res, rcpt)) == RESOLVE_REMOTE)
		return 0;
	if (r == -1) {
		*why = "maps unreadable";
		return -1;
	}
	switch (srs_reverse(&forward_srs, rcpt->local, time(NULL), out,
	    outlen)) {
	case SRS_OK:
		return 1;
	case SRS_EXPIRED:
		*why = "5.1.1 SRS address expired";
		return -2;
	default:
		*why = "5.1.1 SRS address does not verify";
		return -2;
	}
}

int
forward_sender(struct resolver *res, const struct queue_msg *m,
    const char *rcpt, char *out, size_t outlen)
{
	struct mailaddr	 s, r;
	char		 local[ADDR_LOCAL_MAX + 1];
	const char	*errstr;
	int		 n;

	if (!forward_on || m->sender[0] == '\0' ||
	    addr_parse(m->sender, &s, &errstr) == -1 ||
	    addr_parse(rcpt, &r, &errstr) == -1)
		return 0;
	if (resolve_rcpt(res, &s) != RESOLVE_REMOTE)
		return 0;
	n = resolve_rcpt(res, &r);
	if (n == RESOLVE_REMOTE || n == -1)
		return 0;
	if (srs_forward(&forward_srs, &s, time(NULL), local,
	    sizeof(local)) == -1) {
		log_info("%s: from=<%s>: not rewritten with SRS: %s", m->id,
		    m->sender, strerror(errno));
		return 0;
	}
	n = snprintf(out, outlen, "%s@%s", local, r.domain);
	if (n < 0 || (size_t)n >= outlen || n > ADDR_MAX)
		return 0;
	return 1;
}
