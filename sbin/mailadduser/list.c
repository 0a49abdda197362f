/*
 * mailadduser list: one line a mailbox, sorted by address, in columns
 * separated by blanks (addresses hold none), so that awk(1) and people
 * both read it:
 *	ADDRESS  QUOTA  USED  STATE
 * QUOTA is exact, in the form -q takes ("1G", "500M", "1234"), or "-";
 * USED is rounded like df -h ("0", "812", "1.5K", "23.0M"), or "?" when
 * the Maildir cannot be read; STATE is "active" or "locked".
 */

#include <sys/types.h>

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "mailadduser.h"

struct row {
	const char	*addr;
	char		 quota[32];
	char		 used[32];
	int		 locked;
};

static void	 format_size(uint64_t, char *, size_t);
static int	 row_cmp(const void *, const void *);
static void	 format_used(uint64_t, char *, size_t);
static const char *check_domain(struct ctx *, char *);
static int	 in_domain(const char *, const char *);
static int	 owned(struct ctx *, const char *);

/* Exact, in the largest unit that divides it: what -q would take. */
static void
format_size(uint64_t n, char *buf, size_t len)
{
	static const char units[] = "KMG";
	int	 i = -1;

	while (i < 2 && n != 0 && n % 1024 == 0) {
		n /= 1024;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)n);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)n, units[i]);
}

static void
format_used(uint64_t n, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	double	 v = n;
	int	 i = -1;

	if (n < 1024) {
		snprintf(buf, len, "%llu", (unsigned long long)n);
		return;
	}
	while (v >= 1024 && i < 3) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, "%.1f%c", v, units[i]);
}

static int
row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->addr,
	    ((const struct row *)b)->addr);
}

/* The domain argument: valid, hosted, not an alias domain. */
static const char *
check_domain(struct ctx *ctx, char *arg)
{
	static char domain[ADDR_DOMAIN_MAX + 1];
	struct mapsrc_line *d;
	const char *errstr;
	char	 buf[ADDR_DOMAIN_MAX + 1];

	if (addr_domain_canon(arg, domain, sizeof(domain), &errstr) == -1)
		errx(EX_DATAERR, "%s: %s", arg, errstr);
	if ((d = mapsrc_find(&ctx->ms.src[MAP_DOMAINS], domain)) == NULL &&
	    !ctx->caller.delegated)
		errx(EX_DATAERR, "%s: domain not hosted here", domain);
	ctx_check_owner(ctx, domain, domain, NULL);
	if (mapsrc_domain_attr(d->value, "alias", buf, sizeof(buf)) != NULL)
		errx(EX_DATAERR, "%s: an alias domain of %s; list that",
		    domain, buf);
	return domain;
}

static int
in_domain(const char *key, const char *domain)
{
	const char *at = strrchr(key, '@');

	return domain == NULL || (at != NULL && strcmp(at + 1, domain) == 0);
}

/* An owner sees the mailboxes of its own domains only. */
static int
owned(struct ctx *ctx, const char *key)
{
	struct mapsrc_line *d;
	const char *at = strrchr(key, '@');

	if (!ctx->caller.delegated)
		return 1;
	d = at == NULL ? NULL : mapsrc_find(&ctx->ms.src[MAP_DOMAINS], at + 1);
	return d != NULL && caller_owns(&ctx->caller, d->value);
}

int
cmd_list(struct ctx *ctx, int argc, char **argv)
{
	struct mapsrc *users;
	struct mapsrc_user u;
	struct row *rows;
	const char *domain = NULL, *errstr;
	uint64_t bytes, count;
	size_t	 i, n = 0, width = 0;

	if (getopt(argc, argv, "+") != -1 || argc - optind > 1)
		usage();
	ctx_load(ctx, 0);
	ctx_maps_open(ctx, 0);
	if (argc - optind == 1)
		domain = check_domain(ctx, argv[optind]);
	users = &ctx->ms.src[MAP_USERS];
	if ((rows = calloc(users->nlines + 1, sizeof(*rows))) == NULL)
		err(EX_OSERR, NULL);
	for (i = 0; i < users->nlines; i++) {
		if (users->lines[i].key == NULL ||
		    !in_domain(users->lines[i].key, domain) ||
		    !owned(ctx, users->lines[i].key))
			continue;
		if (mapsrc_user_parse(users->lines[i].value, &u, &errstr) == -1)
			errx(EX_DATAERR, "%s:%zu: %s", users->path,
			    users->lines[i].lineno, errstr);
		rows[n].addr = users->lines[i].key;
		if (u.quota == 0)
			strlcpy(rows[n].quota, "-", sizeof(rows[n].quota));
		else
			format_size(u.quota, rows[n].quota,
			    sizeof(rows[n].quota));
		if (maildir_usage(u.home, &bytes, &count) == -1)
			strlcpy(rows[n].used, "?", sizeof(rows[n].used));
		else
			format_used(bytes, rows[n].used, sizeof(rows[n].used));
		rows[n].locked = u.nologin;
		if (strlen(rows[n].addr) > width)
			width = strlen(rows[n].addr);
		n++;
	}
	explicit_bzero(&u, sizeof(u));
	qsort(rows, n, sizeof(*rows), row_cmp);
	for (i = 0; i < n; i++)
		printf("%-*s  %6s  %6s  %s\n", (int)width, rows[i].addr,
		    rows[i].quota, rows[i].used,
		    rows[i].locked ? "locked" : "active");
	free(rows);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(EX_IOERR, "stdout");
	ctx_close(ctx);
	return EX_OK;
}
