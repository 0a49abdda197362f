/*
 * mailadduser info [-j] address: one mailbox as its owner sees it,
 * for a person or (-j, JSON) for a web panel:
 *	its quota, the bytes and messages its Maildir holds (counted,
 *	as list counts them: Dovecot leaves maildirsize stale unless its
 *	quota backend is "maildir"), the messages in new/ and cur/ of
 *	its inbox, whether it is locked, and the messages of the queue
 *	still to be delivered to it.
 * The spool is the mail user's, mode 0700: an owner reads it through
 * the set-ID mailadduser, and is shown only the queue entries of the
 * mailbox it owns.
 */

#include <sys/types.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "mailadduser.h"

/* One message of the queue with something still due to the mailbox. */
struct waiting {
	char		 id[QUEUE_IDLEN + 1];
	time_t		 arrival;
	off_t		 size;
	char		 sender[ADDR_MAX + 1];
	int		 deferred;
	unsigned int	 attempts;
	char		 reason[QUEUE_REASONLEN];
};

struct info {
	const char	*addr;
	struct mapsrc_user u;
	uint64_t	 bytes, count, nnew, ncur;
	int		 counted;	/* the Maildir could be read */
	struct waiting	*w;
	size_t		 nw;
};

static long long count_dir(const char *, const char *);
static int	 rcpt_is(struct ctx *, const char *, const char *);
static void	 queue_scan(struct ctx *, struct info *);
static void	 msg_scan(struct ctx *, struct info *, struct queue_msg *);
static void	 print_text(const struct info *);
static void	 print_json(const struct info *);
static void	 json_string(const char *);

/* Entries of dir/sub that are messages (not dot files); -1 if unreadable. */
static long long
count_dir(const char *dir, const char *sub)
{
	char	 path[PATH_MAX];
	struct dirent *de;
	DIR	*d;
	long long n = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, sub) >=
	    sizeof(path) || (d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Is a recipient as accepted (not expanded yet) the mailbox key itself? */
static int
rcpt_is(struct ctx *ctx, const char *rcpt, const char *key)
{
	struct mailaddr a, base;
	const char *errstr;
	char	 k[ADDR_MAX + 1];

	if (addr_parse(rcpt, &a, &errstr) == -1)
		return 0;
	addr_strip_tag(&a, ctx->conf.recipient_delimiter, &base);
	return addr_key(&base, k, sizeof(k)) == 0 && strcmp(k, key) == 0;
}

static void
msg_scan(struct ctx *ctx, struct info *in, struct queue_msg *m)
{
	struct waiting *w, *v;
	struct queue_target *t = NULL;
	size_t	 i;
	int	 due = 0;

	for (i = 0; i < m->ntargets && !due; i++) {
		t = &m->targets[i];
		due = strcmp(t->addr, in->addr) == 0 &&
		    (t->status == QUEUE_PENDING || t->status == QUEUE_DEFERRED);
	}
	if (!due) {
		t = NULL;
		for (i = 0; i < m->nrcpts && !due; i++)
			due = !m->expanded[i] && rcpt_is(ctx, m->rcpts[i],
			    in->addr);
	}
	if (!due)
		return;
	if ((v = reallocarray(in->w, in->nw + 1, sizeof(*v))) == NULL)
		err(EX_OSERR, NULL);
	in->w = v;
	w = &in->w[in->nw++];
	memset(w, 0, sizeof(*w));
	strlcpy(w->id, m->id, sizeof(w->id));
	w->arrival = m->arrival;
	w->size = m->size;
	strlcpy(w->sender, m->sender, sizeof(w->sender));
	if (t != NULL) {
		w->deferred = t->status == QUEUE_DEFERRED;
		w->attempts = t->attempts;
		strlcpy(w->reason, t->reason, sizeof(w->reason));
	}
}

/* A message gone meanwhile (delivered) is simply not waiting. */
static void
queue_scan(struct ctx *ctx, struct info *in)
{
	struct queue_msg m;
	char	**ids, errbuf[256];
	size_t	 nids, i;

	if (queue_list(ctx->conf.spool, &ids, &nids) == -1) {
		/* No queue yet: smtpd and deliver make it at their start. */
		if (errno == ENOENT)
			return;
		err(EX_IOERR, "%s: cannot read the queue", ctx->conf.spool);
	}
	for (i = 0; i < nids; i++) {
		if (queue_read(ctx->conf.spool, ids[i], &m, errbuf,
		    sizeof(errbuf)) == -1) {
			if (errno != ENOENT)
				warnx("queue %s: %s", ids[i], errno == EINVAL ?
				    errbuf : strerror(errno));
			continue;
		}
		msg_scan(ctx, in, &m);
		queue_msg_free(&m);
	}
	queue_list_free(ids, nids);
}

static void
print_text(const struct info *in)
{
	char	 when[32];
	size_t	 i;

	printf("address:  %s\n", in->addr);
	printf("state:    %s\n", in->u.nologin ? "locked" : "active");
	if (in->u.quota == 0)
		printf("quota:    -\n");
	else
		printf("quota:    %llu\n", (unsigned long long)in->u.quota);
	if (!in->counted)
		printf("used:     ?\nmessages: ?\n");
	else
		printf("used:     %llu\nmessages: %llu (new %llu, cur %llu)\n",
		    (unsigned long long)in->bytes,
		    (unsigned long long)in->count,
		    (unsigned long long)in->nnew,
		    (unsigned long long)in->ncur);
	printf("queued:   %zu\n", in->nw);
	for (i = 0; i < in->nw; i++) {
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
		    gmtime(&in->w[i].arrival));
		printf("  %s  %lld  %s  <%s>  %s\n", in->w[i].id,
		    (long long)in->w[i].size, when, in->w[i].sender,
		    in->w[i].deferred ? "deferred" : "pending");
	}
}

/* A JSON string: every byte below 0x20 or above 0x7e as \u00XX. */
static void
json_string(const char *s)
{
	const unsigned char *p;

	putchar('"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p > 0x7e)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void
print_json(const struct info *in)
{
	size_t	 i;

	printf("{\"address\":");
	json_string(in->addr);
	printf(",\"locked\":%s,\"quota\":%llu", in->u.nologin ? "true" :
	    "false", (unsigned long long)in->u.quota);
	if (in->counted)
		printf(",\"used\":%llu,\"messages\":%llu,\"new\":%llu,"
		    "\"cur\":%llu", (unsigned long long)in->bytes,
		    (unsigned long long)in->count,
		    (unsigned long long)in->nnew,
		    (unsigned long long)in->ncur);
	else
		printf(",\"used\":null,\"messages\":null,\"new\":null,"
		    "\"cur\":null");
	printf(",\"queue\":[");
	for (i = 0; i < in->nw; i++) {
		printf("%s{\"id\":\"%s\",\"arrival\":%lld,\"size\":%lld,"
		    "\"sender\":", i == 0 ? "" : ",", in->w[i].id,
		    (long long)in->w[i].arrival, (long long)in->w[i].size);
		json_string(in->w[i].sender);
		printf(",\"status\":\"%s\",\"attempts\":%u,\"reason\":",
		    in->w[i].deferred ? "deferred" : "pending",
		    in->w[i].attempts);
		json_string(in->w[i].reason);
		putchar('}');
	}
	printf("]}\n");
}

int
cmd_info(struct ctx *ctx, int argc, char **argv)
{
	struct info in;
	struct mailaddr addr;
	char	 key[ADDR_MAX + 1];
	long long n, c;
	int	 ch, json = 0;

	while ((ch = getopt(argc, argv, "+j")) != -1) {
		if (ch != 'j')
			usage();
		json = 1;
	}
	if (argc - optind != 1)
		usage();
	ctx_parse_address(argv[optind], &addr, key, sizeof(key));
	ctx_load(ctx, 0);
	ctx_maps_open(ctx, 0);
	ctx_check_owner(ctx, key, addr.domain, NULL);
	memset(&in, 0, sizeof(in));
	in.addr = key;
	ctx_find_user(ctx, key, &in.u);
	explicit_bzero(in.u.hash, sizeof(in.u.hash));
	n = count_dir(in.u.home, "new");
	c = count_dir(in.u.home, "cur");
	if (n >= 0 && c >= 0 &&
	    maildir_usage(in.u.home, &in.bytes, &in.count) == 0) {
		in.counted = 1;
		in.nnew = n;
		in.ncur = c;
	}
	queue_scan(ctx, &in);
	if (json)
		print_json(&in);
	else
		print_text(&in);
	free(in.w);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(EX_IOERR, "stdout");
	ctx_close(ctx);
	return EX_OK;
}
