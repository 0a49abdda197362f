/*
 * authres.c: sender authentication of the mail of clients that are
 * neither in relaynets, nor authenticated, nor on the loopback
 * interface (a program of this host: SPF has no meaning for it, and
 * libspf2 passes it outright).  Each check is done by a library kept
 * by others, not here: SPF (RFC 7208) by libspf2, DKIM (RFC 6376) by
 * libopendkim, DMARC (RFC 7489) by libopendmarc, with the Public
 * Suffix List for the organizational domain.  The DKIM keys and the
 * DMARC records are looked up by authdns.c (why: there), SPF's names
 * by libspf2.
 *
 * SPF is looked at at MAIL FROM, for the MAIL FROM identity and the
 * HELO one (RFC 7208 2.3, 2.4); with spf_policy reject a fail of the
 * MAIL FROM identity is refused there, 550 5.7.1, before any recipient
 * is taken.  DKIM and DMARC are looked at at the end of DATA, from the
 * file in SPOOL/tmp/, before the commit: every signature is verified
 * (up to AR_DKIM_MAX), and DMARC is evaluated for each domain of the
 * From: field (up to AR_FROM_MAX), the strictest verdict winning, so
 * that a second From: mailbox cannot hide the first.  The results go
 * into one Authentication-Results: field (RFC 8601) at the top of the
 * message, with the hostname as authserv-id; fields of that name the
 * client sent that claim our authserv-id are removed in the same copy
 * of the file, so that a reader trusting ours sees only ours.
 *
 * What a failure gets is spf_policy's and dmarc_policy's: refused,
 * quarantined (a J record in the envelope: deliver puts the local
 * copies into the Junk folder), or only marked.  A DNS failure is a
 * temperror and never refuses, whatever the policy.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <spf2/spf.h>
#include <dkim.h>
#include <opendmarc/dmarc.h>

#include "smtpd.h"

#define AR_DKIM_MAX	8	/* signatures verified; others ignored */
#define AR_FROM_MAX	4	/* From: domains evaluated by DMARC */
#define AR_CHUNK	65536
#define AR_PSL		"/usr/share/publicsuffix/public_suffix_list.dat"

/*
 * The organizational domain from the Public Suffix List the library
 * read: what opendmarc_policy_query_dmarc uses, exported by
 * libopendmarc but missing from its dmarc.h.
 */
int	 opendmarc_get_tld(u_char *, u_char *, size_t);

/* What smtpd does with a message. */
#define AR_ACCEPT	0
#define AR_QUARANTINE	1
#define AR_REJECT	2

struct ar_dkim {
	int	 result;		/* AR_* */
	char	 domain[ADDR_DOMAIN_MAX + 1];
	char	 selector[64];
	char	 b[16];			/* the start of b=, RFC 8601 2.7.1 */
};

struct ar_dmarc {
	int	 result;		/* AR_* */
	char	 domain[ADDR_DOMAIN_MAX + 1];
	char	 policy;		/* 'r', 'q', 'n' of the record used */
	int	 action;		/* AR_ACCEPT... asked by the domain */
};

/* One message read back from the spool. */
struct ar_msg {
	DKIM		*dkim;		/* NULL: no signature to verify */
	char		*field;		/* the field being read, CRLF folded */
	size_t		 fieldlen, fieldcap;
	off_t		 fieldoff;	/* its offset in the message */
	off_t		 fieldsize;	/* its bytes in the file */
	struct spool_cut *cuts;		/* our forged authserv-id */
	size_t		 ncuts;
	char		 from[DATA_FROM_MAX];
	size_t		 fromlen;
	int		 fromlong;
	struct ar_dkim	 sigs[AR_DKIM_MAX];
	size_t		 nsigs;
	struct ar_dmarc	 dmarc[AR_FROM_MAX];
	size_t		 ndmarc;
	int		 nofrom;	/* no domain could be read */
};

static int	 authres_exempt(const struct session *);
static int	 authres_v4(const struct session *, struct in_addr *);
static int	 authres_helo_domain(const char *);
static int	 authres_spf(const struct session *, const char *,
		    const char *);
static int	 ar_token_safe(const char *);
static const char *ar_skip_cfws(const char *);
static int	 ar_authserv_ours(const char *);
static int	 ar_field_add(struct ar_msg *, const char *, size_t);
static int	 ar_field_done(struct ar_msg *);
static int	 ar_from_add(struct ar_msg *, const char *, size_t);
static int	 ar_header(struct ar_msg *, FILE *, off_t);
static int	 ar_body(struct ar_msg *, FILE *);
static int	 ar_read(struct session *, struct ar_msg *);
static void	 ar_dkim_results(struct ar_msg *);
static int	 ar_dkim_result(DKIM_SIGINFO *);
static DKIM_CBSTAT ar_dkim_prescreen(DKIM *, DKIM_SIGINFO **, int);
static void	 ar_dmarc_all(struct session *, struct ar_msg *);
static void	 ar_dmarc_one(struct session *, struct ar_msg *,
		    struct ar_dmarc *);
static int	 ar_dmarc_store(struct session *, struct ar_msg *,
		    DMARC_POLICY_T *, const char *);
static int	 ar_dmarc_version(const char *);
static int	 ar_dmarc_query(DMARC_POLICY_T *, const char *);
static int	 ar_verdict(const struct session *, const struct ar_msg *,
		    const char **);
static char	*ar_compose(const struct session *, const struct ar_msg *,
		    size_t *);
static void	 ar_log(const struct session *, const struct ar_msg *,
		    const char *);
static int	 ar_rewrite(struct session *, struct ar_msg *, int,
		    const char *);
static void	 ar_free(struct ar_msg *);
static void	 ar_spf_log(const char *, int, const char *);
static __dead void ar_spf_fatal(const char *, int, const char *);

static const char *const ar_names[] = {
	"none", "pass", "fail", "softfail", "neutral", "temperror",
	"permerror"
};

static SPF_server_t	*ar_spf;
static DKIM_LIB		*ar_dkim;
static OPENDMARC_LIB_T	 ar_dmarc_lib;

static void
ar_spf_log(const char *file, int line, const char *msg)
{
	log_debug("libspf2: %s", msg);
}

static __dead void
ar_spf_fatal(const char *file, int line, const char *msg)
{
	fatalx("libspf2: %s:%d: %s", file, line, msg);
}

void
authres_init(const struct conf *conf)
{
	SPF_error_handler = ar_spf_fatal;
	SPF_warning_handler = ar_spf_log;
	SPF_info_handler = ar_spf_log;
	SPF_debug_handler = NULL;
	/* The cache layer is shared by the sessions, under its own lock. */
	if ((ar_spf = SPF_server_new(SPF_DNS_CACHE, 0)) == NULL)
		fatalx("libspf2: cannot make the SPF server");
	if (SPF_server_set_rec_dom(ar_spf, conf->hostname) != SPF_E_SUCCESS)
		fatalx("libspf2: cannot set the receiving domain");
	if ((ar_dkim = dkim_init(NULL, NULL)) == NULL)
		fatalx("libopendkim: cannot make the verifier");
	authdns_dkim(ar_dkim);
	if (dkim_set_prescreen(ar_dkim, ar_dkim_prescreen) != DKIM_STAT_OK)
		fatalx("libopendkim: cannot set the prescreen");
	memset(&ar_dmarc_lib, 0, sizeof(ar_dmarc_lib));
	if (access(AR_PSL, R_OK) == 0) {
		ar_dmarc_lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
		strlcpy((char *)ar_dmarc_lib.tld_source_file, AR_PSL,
		    sizeof(ar_dmarc_lib.tld_source_file));
	} else
		log_warn("%s: DMARC takes the From: domain as its own "
		    "organizational domain", AR_PSL);
	if (opendmarc_policy_library_init(&ar_dmarc_lib) != DMARC_PARSE_OKAY)
		fatalx("libopendmarc: cannot initialize");
}

/* ---- SPF, at MAIL FROM ---------------------------------------------- */

static int
authres_exempt(const struct session *s)
{
	const struct sockaddr_in6 *sin6;
	struct in_addr	 in;

	if (s->trusted || s->login[0] != '\0')
		return 1;
	if (authres_v4(s, &in))
		return (ntohl(in.s_addr) >> 24) == 127;
	sin6 = (const struct sockaddr_in6 *)&s->ss;
	return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
}

/* 1 with the address if the client is IPv4 (or IPv4-mapped IPv6). */
static int
authres_v4(const struct session *s, struct in_addr *in)
{
	const struct sockaddr_in6 *sin6;

	if (s->ss.ss_family == AF_INET) {
		*in = ((const struct sockaddr_in *)&s->ss)->sin_addr;
		return 1;
	}
	sin6 = (const struct sockaddr_in6 *)&s->ss;
	if (s->ss.ss_family != AF_INET6 ||
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return 0;
	memcpy(&in->s_addr, &sin6->sin6_addr.s6_addr[12], 4);
	return 1;
}

/* A HELO that names a domain (not an address literal) SPF can check. */
static int
authres_helo_domain(const char *helo)
{
	const char	*errstr;

	return helo[0] != '\0' && helo[0] != '[' &&
	    strchr(helo, '.') != NULL && addr_domain_valid(helo, &errstr) == 0;
}

/* libspf2's answer for the client, HELO helo and MAIL FROM from. */
static int
authres_spf(const struct session *s, const char *helo, const char *from)
{
	SPF_request_t	*req;
	SPF_response_t	*res = NULL;
	struct in_addr	 in;
	int		 r = AR_TEMPERROR;

	if ((req = SPF_request_new(ar_spf)) == NULL)
		return AR_TEMPERROR;
	if ((authres_v4(s, &in) ? SPF_request_set_ipv4(req, in) :
	    SPF_request_set_ipv6(req,
	    ((const struct sockaddr_in6 *)&s->ss)->sin6_addr)) !=
	    SPF_E_SUCCESS ||
	    (helo != NULL && SPF_request_set_helo_dom(req, helo) !=
	    SPF_E_SUCCESS) || SPF_request_set_env_from(req, from) != 0) {
		SPF_request_free(req);
		return AR_PERMERROR;
	}
	(void)SPF_request_query_mailfrom(req, &res);
	if (res != NULL) {
		switch (SPF_response_result(res)) {
		case SPF_RESULT_PASS:
			r = AR_PASS;
			break;
		case SPF_RESULT_FAIL:
			r = AR_FAIL;
			break;
		case SPF_RESULT_SOFTFAIL:
			r = AR_SOFTFAIL;
			break;
		case SPF_RESULT_NEUTRAL:
			r = AR_NEUTRAL;
			break;
		case SPF_RESULT_NONE:
			r = AR_NONE;
			break;
		case SPF_RESULT_PERMERROR:
			r = AR_PERMERROR;
			break;
		default:
			r = AR_TEMPERROR;
			break;
		}
		SPF_response_free(res);
	}
	SPF_request_free(req);
	return r;
}

int
authres_mail(struct session *s, const struct path_args *pa)
{
	struct authres	*ar = &s->ar;
	char		 from[SMTPD_ADDRLEN];
	const char	*helo;

	memset(ar, 0, sizeof(*ar));
	ar->spf_helo = -1;
	if (authres_exempt(s))
		return 0;
	ar->checked = 1;
	helo = authres_helo_domain(s->helo) ? s->helo : NULL;
	if (pa->null) {
		/* RFC 7208 2.4: the HELO identity stands for <>. */
		ar->spf = helo != NULL ? authres_spf(s, helo, "") : AR_NONE;
		if (helo != NULL)
			strlcpy(ar->spf_domain, helo, sizeof(ar->spf_domain));
	} else {
		(void)snprintf(from, sizeof(from), "%s@%s", pa->addr.local,
		    pa->addr.domain);
		ar->spf = authres_spf(s, helo, from);
		strlcpy(ar->spf_domain, pa->addr.domain,
		    sizeof(ar->spf_domain));
		if (helo != NULL)
			ar->spf_helo = authres_spf(s, helo, "");
	}
	if (ar->spf != AR_FAIL || env->conf.spf_policy != CONF_POLICY_REJECT)
		return 0;
	log_info("%s[%s]: from=<%s>: refused: SPF fail for %s", s->name,
	    s->addr, pa->null ? "" : from, ar->spf_domain);
	session_reply(s, 550, "5.7.1", "Sender refused: SPF of %s does not "
	    "allow %s to send its mail", ar->spf_domain, s->addr);
	return -1;
}

/* ---- the message read back: header fields, DKIM ------------------- */

/* Letters, digits and ".-_": what may go into the field unquoted. */
static int
ar_token_safe(const char *t)
{
	if (*t == '\0')
		return 0;
	for (; *t != '\0'; t++)
		if (!isalnum((unsigned char)*t) && strchr(".-_", *t) == NULL)
			return 0;
	return 1;
}

/* Past folding white space and comments (RFC 5322 3.2.2). */
static const char *
ar_skip_cfws(const char *p)
{
	int	 depth = 0;

	for (; *p != '\0'; p++) {
		if (depth > 0 && *p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '(')
			depth++;
		else if (depth > 0 && *p == ')')
			depth--;
		else if (depth == 0 && !isspace((unsigned char)*p))
			break;
	}
	return p;
}

/*
 * 1 if the value of an Authentication-Results: field (NUL-terminated,
 * maybe folded) begins with our authserv-id, compared without regard to case
 * (RFC 8601 2.5: it is a domain name, or a quoted string).
 */
static int
ar_authserv_ours(const char *v)
{
	char		 id[ADDR_DOMAIN_MAX + 2];
	const char	*p;
	size_t		 n = 0;

	p = ar_skip_cfws(v);
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			if (n + 1 >= sizeof(id))
				return 0;
			id[n++] = *p;
		}
	} else {
		for (; *p != '\0' && *p != ';' && *p != '(' &&
		    !isspace((unsigned char)*p); p++) {
			if (n + 1 >= sizeof(id))
				return 0;
			id[n++] = *p;
		}
	}
	id[n] = '\0';
	return strcasecmp(id, env->conf.hostname) == 0;
}

static int
ar_from_add(struct ar_msg *am, const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if (am->fromlen + 1 >= sizeof(am->from)) {
			am->fromlong = 1;
			return 0;
		}
		am->from[am->fromlen++] = s[i];
	}
	am->from[am->fromlen] = '\0';
	return 0;
}

/* The field read so far ends: to DKIM, and looked at. */
static int
ar_field_done(struct ar_msg *am)
{
	struct spool_cut *c;
	char		*f = am->field;
	size_t		 nlen, len = am->fieldlen;

	if (len == 0)
		return 0;
	am->fieldlen = 0;
	f[len] = '\0';
	if (am->dkim != NULL &&
	    dkim_header(am->dkim, (u_char *)f, len) != DKIM_STAT_OK) {
		dkim_free(am->dkim);
		am->dkim = NULL;
	}
	nlen = strcspn(f, ":");
	if (f[nlen] != ':')
		return 0;
	while (nlen > 0 && (f[nlen - 1] == ' ' || f[nlen - 1] == '\t'))
		nlen--;
	if (nlen == 4 && strncasecmp(f, "From", 4) == 0) {
		if (am->fromlen > 0)
			(void)ar_from_add(am, ",", 1);
		return ar_from_add(am, strchr(f, ':') + 1,
		    len - (strchr(f, ':') + 1 - f));
	}
	if (nlen != 22 || strncasecmp(f, "Authentication-Results", 22) != 0 ||
	    !ar_authserv_ours(strchr(f, ':') + 1))
		return 0;
	c = reallocarray(am->cuts, am->ncuts + 1, sizeof(*am->cuts));
	if (c == NULL)
		return -1;
	am->cuts = c;
	c[am->ncuts].off = am->fieldoff;
	c[am->ncuts].len = am->fieldsize;
	am->ncuts++;
	return 0;
}

/* A line of a field (without its LF) onto the field being read. */
static int
ar_field_add(struct ar_msg *am, const char *line, size_t len)
{
	char	*n;
	size_t	 need = am->fieldlen + len + 3;

	if (need > am->fieldcap) {
		if ((n = realloc(am->field, need * 2)) == NULL)
			return -1;
		am->field = n;
		am->fieldcap = need * 2;
	}
	if (am->fieldlen > 0) {
		memcpy(am->field + am->fieldlen, "\r\n", 2);
		am->fieldlen += 2;
	}
	memcpy(am->field + am->fieldlen, line, len);
	am->fieldlen += len;
	return 0;
}

/*
 * The header section of fp, from its start at file offset start;
 * leaves fp at the first byte of the body.  A line that is neither a
 * field nor a continuation ends the header, as RFC 5322 has no place
 * for it: it is read again as the body.
 */
static int
ar_header(struct ar_msg *am, FILE *fp, off_t start)
{
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;
	off_t	 pos = start;
	int	 ret = 0;

	while ((n = getline(&line, &cap, fp)) > 0) {
		if (n == 1 && line[0] == '\n')
			break;
		if (line[n - 1] == '\n')
			n--;
		if ((line[0] == ' ' || line[0] == '\t') && am->fieldlen > 0) {
			if (ar_field_add(am, line, n) == -1)
				ret = -1;
			am->fieldsize += n + 1;
			pos += n + 1;
			continue;
		}
		if (ar_field_done(am) == -1)
			ret = -1;
		if (memchr(line, ':', n) == NULL) {
			if (fseeko(fp, pos, SEEK_SET) == -1)
				ret = -1;
			break;
		}
		am->fieldoff = pos - start;
		am->fieldsize = n + 1;
		if (ar_field_add(am, line, n) == -1)
			ret = -1;
		pos += n + 1;
	}
	if (ar_field_done(am) == -1 || ferror(fp))
		ret = -1;
	free(line);
	return ret;
}

/* The body, LF made CRLF as it travels, to the verifier; 0 or -1. */
static int
ar_body(struct ar_msg *am, FILE *fp)
{
	unsigned char	*in, *out;
	size_t		 n, i, o;
	int		 ret = -1;

	in = malloc(AR_CHUNK);
	out = malloc(AR_CHUNK * 2);
	if (in == NULL || out == NULL)
		goto done;
	while ((n = fread(in, 1, AR_CHUNK, fp)) > 0) {
		for (i = o = 0; i < n; i++) {
			if (in[i] == '\n')
				out[o++] = '\r';
			out[o++] = in[i];
		}
		if (dkim_body(am->dkim, out, o) != DKIM_STAT_OK)
			break;
	}
	if (!ferror(fp))
		ret = 0;
done:
	free(in);
	free(out);
	return ret;
}

/* RFC 8601 2.7.1 from what libopendkim made of one signature. */
static int
ar_dkim_result(DKIM_SIGINFO *sig)
{
	unsigned int	 flags = dkim_sig_getflags(sig);

	if ((flags & DKIM_SIGFLAG_PASSED) != 0 &&
	    dkim_sig_getbh(sig) == DKIM_SIGBH_MATCH)
		return AR_PASS;
	switch (dkim_sig_geterror(sig)) {
	case DKIM_SIGERROR_KEYFAIL:
		return AR_TEMPERROR;
	case DKIM_SIGERROR_OK:
	case DKIM_SIGERROR_BADSIG:
	case DKIM_SIGERROR_EXPIRED:
	case DKIM_SIGERROR_FUTURE:
	case DKIM_SIGERROR_KEYREVOKED:
	case DKIM_SIGERROR_KEYHASHMISMATCH:
	case DKIM_SIGERROR_TOOLARGE_L:
		return (flags & DKIM_SIGFLAG_PROCESSED) != 0 ? AR_FAIL :
		    AR_PERMERROR;
	default:
		return AR_PERMERROR;
	}
}

/* Only the first AR_DKIM_MAX signatures cost a key lookup each. */
static DKIM_CBSTAT
ar_dkim_prescreen(DKIM *d, DKIM_SIGINFO **sigs, int nsigs)
{
	int	 i;

	for (i = AR_DKIM_MAX; i < nsigs; i++)
		dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

static void
ar_dkim_results(struct ar_msg *am)
{
	DKIM_SIGINFO	**sigs;
	struct ar_dkim	*r;
	const char	*v;
	size_t		 blen;
	int		 i, nsigs;

	if (dkim_getsiglist(am->dkim, &sigs, &nsigs) != DKIM_STAT_OK)
		return;
	for (i = 0; i < nsigs && am->nsigs < AR_DKIM_MAX; i++) {
		if ((dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_IGNORE) != 0)
			continue;
		r = &am->sigs[am->nsigs++];
		r->result = ar_dkim_result(sigs[i]);
		if ((v = (const char *)dkim_sig_getdomain(sigs[i])) != NULL &&
		    ar_token_safe(v))
			strlcpy(r->domain, v, sizeof(r->domain));
		addr_lower(r->domain);
		if ((v = (const char *)dkim_sig_getselector(sigs[i])) != NULL &&
		    ar_token_safe(v))
			strlcpy(r->selector, v, sizeof(r->selector));
		blen = sizeof(r->b);
		if (dkim_get_sigsubstring(am->dkim, sigs[i], r->b,
		    &blen) != DKIM_STAT_OK)
			r->b[0] = '\0';
		/* base64 only: it is quoted in the field. */
		r->b[strspn(r->b, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
		    "qrstuvwxyz0123456789+/=")] = '\0';
	}
}

/* The message in the spool file: its header, and DKIM; 0 or -1. */
static int
ar_read(struct session *s, struct ar_msg *am)
{
	DKIM_STAT	 st;
	FILE		*fp;
	off_t		 start;
	int		 ret = 0;

	if ((fp = spool_reopen(&s->msg)) == NULL)
		return -1;
	start = ftello(fp);
	am->dkim = dkim_verify(ar_dkim, (u_char *)s->msg.id, NULL, &st);
	if (start == -1 || ar_header(am, fp, start) == -1)
		ret = -1;
	if (ret == 0 && am->dkim != NULL) {
		st = dkim_eoh(am->dkim);
		if (st == DKIM_STAT_OK) {
			if (ar_body(am, fp) == -1)
				ret = -1;
			else
				(void)dkim_eom(am->dkim, NULL);
		}
		/* DKIM_STAT_NOSIG: no signature; other: none could parse. */
		if (ret == 0 && st != DKIM_STAT_NOSIG)
			ar_dkim_results(am);
	}
	fclose(fp);
	return ret;
}

/* ---- DMARC ------------------------------------------------------- */

/* SPF and DKIM results as libopendmarc takes them; 0 or -1. */
static int
ar_dmarc_store(struct session *s, struct ar_msg *am, DMARC_POLICY_T *p,
    const char *domain)
{
	const struct authres *ar = &s->ar;
	size_t		 i;
	int		 o;

	if (opendmarc_policy_store_from_domain(p, (u_char *)domain) !=
	    DMARC_PARSE_OKAY)
		return -1;
	if (ar->spf_domain[0] != '\0') {
		o = ar->spf == AR_PASS ? DMARC_POLICY_SPF_OUTCOME_PASS :
		    ar->spf == AR_TEMPERROR ? DMARC_POLICY_SPF_OUTCOME_TMPFAIL :
		    ar->spf == AR_NONE ? DMARC_POLICY_SPF_OUTCOME_NONE :
		    DMARC_POLICY_SPF_OUTCOME_FAIL;
		(void)opendmarc_policy_store_spf(p, (u_char *)ar->spf_domain,
		    o, s->sender[0] == '\0' ? DMARC_POLICY_SPF_ORIGIN_HELO :
		    DMARC_POLICY_SPF_ORIGIN_MAILFROM, NULL);
	}
	for (i = 0; i < am->nsigs; i++) {
		if (am->sigs[i].domain[0] == '\0')
			continue;
		o = am->sigs[i].result == AR_PASS ?
		    DMARC_POLICY_DKIM_OUTCOME_PASS :
		    am->sigs[i].result == AR_TEMPERROR ?
		    DMARC_POLICY_DKIM_OUTCOME_TMPFAIL :
		    DMARC_POLICY_DKIM_OUTCOME_FAIL;
		(void)opendmarc_policy_store_dkim(p,
		    (u_char *)am->sigs[i].domain,
		    (u_char *)am->sigs[i].selector, o, NULL);
	}
	return 0;
}

/*
 * A record that begins with the version tag, "v=DMARC1" (RFC 7489
 * 6.4: the value's case counts, and white space may surround "=").
 */
static int
ar_dmarc_version(const char *r)
{
	if (*r++ != 'v')
		return 0;
	r += strspn(r, " \t");
	if (*r++ != '=')
		return 0;
	r += strspn(r, " \t");
	if (strncmp(r, "DMARC1", 6) != 0)
		return 0;
	r += 6;
	r += strspn(r, " \t");
	return *r == ';' || *r == '\0';
}

/*
 * The DMARC record of domain, or else of its organizational domain
 * (RFC 7489 6.6.3), looked up by authdns and parsed into p by
 * libopendmarc: what opendmarc_policy_query_dmarc returns.  A failure
 * of the first lookup is a temperror, not a reason to take the
 * organizational domain's policy instead.
 */
static int
ar_dmarc_query(DMARC_POLICY_T *p, const char *domain)
{
	char	 name[ADDR_DOMAIN_MAX + 8], org[ADDR_DOMAIN_MAX + 1];
	char	 rec[AUTHDNS_ANSWER_MAX];
	int	 r;

	(void)snprintf(name, sizeof(name), "_dmarc.%s", domain);
	if ((r = authdns_txt(name, ar_dmarc_version, rec, sizeof(rec))) == 1)
		return opendmarc_policy_store_dmarc(p, (u_char *)rec,
		    (u_char *)domain, NULL);
	if (r == -1)
		return DMARC_DNS_ERROR_TMPERR;
	memset(org, 0, sizeof(org));
	if (opendmarc_get_tld((u_char *)domain, (u_char *)org,
	    sizeof(org) - 1) != 0 || org[0] == '\0' ||
	    strcasecmp(org, domain) == 0)
		return DMARC_DNS_ERROR_NO_RECORD;
	(void)snprintf(name, sizeof(name), "_dmarc.%s", org);
	if ((r = authdns_txt(name, ar_dmarc_version, rec, sizeof(rec))) == 1)
		return opendmarc_policy_store_dmarc(p, (u_char *)rec,
		    (u_char *)domain, (u_char *)org);
	return r == -1 ? DMARC_DNS_ERROR_TMPERR : DMARC_DNS_ERROR_NO_RECORD;
}

/* One From: domain: its record, and what it asks for this message. */
static void
ar_dmarc_one(struct session *s, struct ar_msg *am, struct ar_dmarc *d)
{
	DMARC_POLICY_T	*p;
	int		 st, pct = 100;

	d->result = AR_TEMPERROR;
	p = opendmarc_policy_connect_init((u_char *)s->addr,
	    s->ss.ss_family == AF_INET6 ? DMARC_POLICY_IP_TYPE_IPV6 :
	    DMARC_POLICY_IP_TYPE_IPV4);
	if (p == NULL)
		return;
	if (ar_dmarc_store(s, am, p, d->domain) == -1) {
		d->result = AR_PERMERROR;
		goto done;
	}
	st = ar_dmarc_query(p, d->domain);
	if (st == DMARC_DNS_ERROR_NO_RECORD || st == DMARC_DNS_ERROR_NXDOMAIN) {
		d->result = AR_NONE;
		goto done;
	}
	if (st == DMARC_DNS_ERROR_TMPERR)
		goto done;
	if (st != DMARC_PARSE_OKAY) {
		d->result = AR_PERMERROR;
		goto done;
	}
	switch (opendmarc_get_policy_to_enforce(p)) {
	case DMARC_POLICY_PASS:
		d->result = AR_PASS;
		break;
	case DMARC_POLICY_REJECT:
		d->result = AR_FAIL;
		d->policy = 'r';
		d->action = AR_REJECT;
		break;
	case DMARC_POLICY_QUARANTINE:
		d->result = AR_FAIL;
		d->policy = 'q';
		d->action = AR_QUARANTINE;
		break;
	case DMARC_POLICY_NONE:
		d->result = AR_FAIL;
		d->policy = 'n';
		break;
	default:
		d->result = AR_NONE;
		break;
	}
	/* RFC 7489 6.6.4: outside pct, the next policy down applies. */
	if (d->action != AR_ACCEPT &&
	    opendmarc_policy_fetch_pct(p, &pct) == DMARC_PARSE_OKAY &&
	    pct < 100 && (int)arc4random_uniform(100) >= pct)
		d->action--;
done:
	(void)opendmarc_policy_connect_shutdown(p);
}

static void
ar_dmarc_all(struct session *s, struct ar_msg *am)
{
	struct mailaddr	 a;
	char		 box[ADDR_MAX + 2];
	const char	*p;
	size_t		 i;

	if (am->fromlong || am->fromlen == 0) {
		am->nofrom = 1;
		return;
	}
	for (p = am->from; sender_from_next(&p, box, sizeof(box));) {
		if (sender_from_mailbox(box, &a) != 1)
			continue;
		for (i = 0; i < am->ndmarc; i++)
			if (strcmp(am->dmarc[i].domain, a.domain) == 0)
				break;
		if (i < am->ndmarc)
			continue;
		if (am->ndmarc == AR_FROM_MAX)
			break;
		strlcpy(am->dmarc[am->ndmarc++].domain, a.domain,
		    sizeof(am->dmarc[0].domain));
	}
	if (am->ndmarc == 0)
		am->nofrom = 1;
	for (i = 0; i < am->ndmarc; i++)
		ar_dmarc_one(s, am, &am->dmarc[i]);
}

/* ---- the verdict and the field ------------------------------------ */

/* AR_ACCEPT, AR_QUARANTINE or AR_REJECT, and which check said so. */
static int
ar_verdict(const struct session *s, const struct ar_msg *am,
    const char **why)
{
	size_t	 i;
	int	 v = AR_ACCEPT, a;

	*why = NULL;
	for (i = 0; i < am->ndmarc; i++) {
		a = am->dmarc[i].action;
		if (env->conf.dmarc_policy == CONF_POLICY_MARK)
			a = AR_ACCEPT;
		else if (env->conf.dmarc_policy == CONF_POLICY_QUARANTINE &&
		    a == AR_REJECT)
			a = AR_QUARANTINE;
		if (a > v) {
			v = a;
			*why = "dmarc";
		}
	}
	if (v == AR_ACCEPT && s->ar.spf == AR_FAIL &&
	    env->conf.spf_policy == CONF_POLICY_QUARANTINE) {
		v = AR_QUARANTINE;
		*why = "spf";
	}
	return v;
}

/* The Authentication-Results: field, LF line ends; malloc'd. */
static char *
ar_compose(const struct session *s, const struct ar_msg *am, size_t *len)
{
	static const char *const pol[] = { "none", "quarantine", "reject" };
	const struct authres *ar = &s->ar;
	const struct ar_dkim *k;
	const struct ar_dmarc *d;
	FILE		*fp;
	char		*text = NULL;
	size_t		 i;

	if ((fp = open_memstream(&text, len)) == NULL)
		return NULL;
	fprintf(fp, "Authentication-Results: %s", env->conf.hostname);
	if (s->sender[0] != '\0')
		fprintf(fp, ";\n\tspf=%s smtp.mailfrom=%s", ar_names[ar->spf],
		    s->sender);
	else if (ar->spf_domain[0] != '\0')
		fprintf(fp, ";\n\tspf=%s smtp.helo=%s", ar_names[ar->spf],
		    ar->spf_domain);
	else
		fprintf(fp, ";\n\tspf=none");
	if (ar->spf_helo != -1)
		fprintf(fp, ";\n\tspf=%s smtp.helo=%s",
		    ar_names[ar->spf_helo], s->helo);
	if (am->nsigs == 0)
		fprintf(fp, ";\n\tdkim=none");
	for (i = 0; i < am->nsigs; i++) {
		k = &am->sigs[i];
		fprintf(fp, ";\n\tdkim=%s", ar_names[k->result]);
		if (k->domain[0] != '\0')
			fprintf(fp, " header.d=%s", k->domain);
		if (k->selector[0] != '\0')
			fprintf(fp, " header.s=%s", k->selector);
		if (k->b[0] != '\0')
			fprintf(fp, " header.b=\"%s\"", k->b);
	}
	if (am->nofrom)
		fprintf(fp, ";\n\tdmarc=permerror (no From: domain)");
	for (i = 0; i < am->ndmarc; i++) {
		d = &am->dmarc[i];
		fprintf(fp, ";\n\tdmarc=%s", ar_names[d->result]);
		if (d->policy != '\0')
			fprintf(fp, " (p=%s)", d->policy == 'r' ? "reject" :
			    d->policy == 'q' ? "quarantine" : "none");
		if (d->action != AR_ACCEPT)
			fprintf(fp, " policy.dmarc=%s", pol[d->action]);
		fprintf(fp, " header.from=%s", d->domain);
	}
	fputc('\n', fp);
	if (fclose(fp) == EOF) {
		free(text);
		return NULL;
	}
	return text;
}

static void
ar_log(const struct session *s, const struct ar_msg *am, const char *verdict)
{
	char	 dkim[16 * AR_DKIM_MAX], dmarc[16 * AR_FROM_MAX];
	size_t	 i;

	dkim[0] = dmarc[0] = '\0';
	for (i = 0; i < am->nsigs; i++) {
		if (i > 0)
			strlcat(dkim, ",", sizeof(dkim));
		strlcat(dkim, ar_names[am->sigs[i].result], sizeof(dkim));
	}
	for (i = 0; i < am->ndmarc; i++) {
		if (i > 0)
			strlcat(dmarc, ",", sizeof(dmarc));
		strlcat(dmarc, ar_names[am->dmarc[i].result], sizeof(dmarc));
	}
	log_info("%s: authres spf=%s dkim=%s dmarc=%s removed=%zu%s%s",
	    s->msg.id, ar_names[s->ar.spf], am->nsigs > 0 ? dkim : "none",
	    am->ndmarc > 0 ? dmarc : am->nofrom ? "permerror" : "none",
	    am->ncuts, verdict != NULL ? ", " : "",
	    verdict != NULL ? verdict : "");
}

/* The field in, the forged ones out, the J record if junk; 0 or -1. */
static int
ar_rewrite(struct session *s, struct ar_msg *am, int junk, const char *why)
{
	struct spool_edit ed;
	char		*text;
	size_t		 len;
	int		 r;

	if ((text = ar_compose(s, am, &len)) == NULL)
		return -1;
	memset(&ed, 0, sizeof(ed));
	if (junk) {
		ed.rectype = 'J';
		ed.recvalue = why;
	}
	ed.top = text;
	ed.toplen = len;
	ed.cuts = am->cuts;
	ed.ncuts = am->ncuts;
	r = spool_rewrite(&s->msg, &ed);
	free(text);
	return r;
}

static void
ar_free(struct ar_msg *am)
{
	if (am->dkim != NULL)
		dkim_free(am->dkim);
	free(am->field);
	free(am->cuts);
}

int
authres_data(struct session *s)
{
	struct ar_msg	*am;
	const char	*why;
	int		 v, ret = 0;

	if (!s->ar.checked)
		return 0;
	if ((am = calloc(1, sizeof(*am))) == NULL || ar_read(s, am) == -1) {
		log_warn("%s: deferred: cannot read the message back",
		    s->msg.id);
		goto tempfail;
	}
	ar_dmarc_all(s, am);
	v = ar_verdict(s, am, &why);
	ar_log(s, am, v == AR_REJECT ? "rejected (dmarc)" :
	    v != AR_QUARANTINE ? NULL : strcmp(why, "spf") == 0 ?
	    "quarantined (spf)" : "quarantined (dmarc)");
	if (v == AR_REJECT) {
		session_reply(s, 550, "5.7.26", "Message refused: the DMARC "
		    "policy of the From: domain asks to reject it");
		ret = -1;
	} else if (ar_rewrite(s, am, v == AR_QUARANTINE, why) == -1) {
		log_warn("%s: deferred: Authentication-Results", s->msg.id);
		goto tempfail;
	}
	ar_free(am);
	free(am);
	return ret;
tempfail:
	if (am != NULL)
		ar_free(am);
	free(am);
	session_reply(s, 451, "4.3.0", "Local error in processing; try "
	    "again later");
	return -1;
}
