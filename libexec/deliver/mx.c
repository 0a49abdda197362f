/*
 * Where mail for a domain goes, RFC 5321 section 5.1: its MX hosts in
 * order of preference (equal ones in random order, to spread the
 * load), or, when the domain has no MX record, the domain itself as
 * an implicit MX.  A null MX (RFC 7505) means it takes no mail.  The
 * lookups go through the system's resolver (res_query(3)), so that a
 * temporary failure is told apart from a name that does not exist.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>

#include <netdb.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

#include <signal.h>

#include "libmail.h"
#include "deliver.h"

static int	 mx_query(const char *, int, unsigned char *, size_t);
static int	 mx_cmp(const void *, const void *);
static void	 mx_shuffle(struct mx_host *, int);

/* The answer's length, or MX_TEMP, MX_NONE, or 0 for no record. */
static int
mx_query(const char *name, int type, unsigned char *ans, size_t len)
{
	int	 n;

	n = res_query(name, ns_c_in, type, ans, (int)len);
	if (n >= 0)
		return n;
	switch (h_errno) {
	case HOST_NOT_FOUND:
		return MX_NONE;
	case NO_DATA:
		return 0;
	default:
		return MX_TEMP;
	}
}

static int
mx_cmp(const void *a, const void *b)
{
	const struct mx_host *x = a, *y = b;

	return x->pref - y->pref;
}

static void
mx_shuffle(struct mx_host *h, int n)
{
	struct mx_host	 tmp;
	int		 i, j, start = 0;

	for (i = 1; i <= n; i++) {
		if (i < n && h[i].pref == h[start].pref)
			continue;
		/* Fisher-Yates over h[start..i-1]. */
		for (j = i - 1; j > start; j--) {
			int k = start + (int)arc4random_uniform(
			    (uint32_t)(j - start + 1));
			tmp = h[j];
			h[j] = h[k];
			h[k] = tmp;
		}
		start = i;
	}
}

int
mx_lookup(const char *domain, struct mx_host *hosts, size_t max)
{
	unsigned char	 ans[NS_MAXMSG];
	const unsigned char *rd;
	ns_msg		 msg;
	ns_rr		 rr;
	char		 name[NS_MAXDNAME];
	int		 len, i, count, n = 0;

	len = mx_query(domain, ns_t_mx, ans, sizeof(ans));
	if (len < 0)
		return len;
	if (len > 0) {
		if (ns_initparse(ans, len, &msg) == -1)
			return MX_TEMP;
		count = ns_msg_count(msg, ns_s_an);
		for (i = 0; i < count && (size_t)n < max; i++) {
			if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
				return MX_TEMP;
			if (ns_rr_type(rr) != ns_t_mx || ns_rr_rdlen(rr) < 3)
				continue;
			rd = ns_rr_rdata(rr);
			if (dn_expand(ns_msg_base(msg), ns_msg_end(msg),
			    rd + 2, name, sizeof(name)) == -1)
				return MX_TEMP;
			hosts[n].pref = ns_get16(rd);
			strlcpy(hosts[n].name, name, sizeof(hosts[n].name));
			n++;
		}
	}
	/* RFC 7505: one MX, preference 0, the root: no mail here. */
	if (n == 1 && hosts[0].name[0] == '\0')
		return MX_NONE;
	if (n == 0) {
		if (max == 0)
			return MX_TEMP;
		strlcpy(hosts[0].name, domain, sizeof(hosts[0].name));
		hosts[0].pref = 0;
		return 1;
	}
	qsort(hosts, (size_t)n, sizeof(*hosts), mx_cmp);
	mx_shuffle(hosts, n);
	return n;
}

/* Adds the records of one type; count added, or MX_*. */
static int
mx_addrs_type(const char *host, int type, struct sockaddr_storage *ss,
    size_t max)
{
	unsigned char	 ans[NS_MAXMSG];
	ns_msg		 msg;
	ns_rr		 rr;
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;
	int		 len, i, count, n = 0;

	len = mx_query(host, type, ans, sizeof(ans));
	if (len <= 0)
		return len;
	if (ns_initparse(ans, len, &msg) == -1)
		return MX_TEMP;
	count = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < count && (size_t)n < max; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
			return MX_TEMP;
		if ((int)ns_rr_type(rr) != type)
			continue;
		memset(&ss[n], 0, sizeof(ss[n]));
		if (type == ns_t_a && ns_rr_rdlen(rr) == 4) {
			sin = (struct sockaddr_in *)&ss[n];
			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, ns_rr_rdata(rr), 4);
			n++;
		} else if (type == ns_t_aaaa && ns_rr_rdlen(rr) == 16) {
			sin6 = (struct sockaddr_in6 *)&ss[n];
			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, ns_rr_rdata(rr), 16);
			n++;
		}
	}
	return n;
}

int
mx_addrs(const char *host, struct sockaddr_storage *ss, size_t max)
{
	int	 n6, n4, temp;

	n6 = mx_addrs_type(host, ns_t_aaaa, ss, max);
	if (n6 == MX_NONE)
		return MX_NONE;
	temp = n6 == MX_TEMP;
	if (n6 < 0)
		n6 = 0;
	n4 = mx_addrs_type(host, ns_t_a, ss + n6, max - (size_t)n6);
	temp |= n4 == MX_TEMP;
	if (n4 < 0)
		n4 = 0;
	if (n6 + n4 > 0)
		return n6 + n4;
	return temp ? MX_TEMP : MX_NONE;
}
