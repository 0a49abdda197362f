/*
 * smtpload: an SMTP load generator for the smtpd benchmark.
 *
 *	smtpload [-B] [-H host] [-b source] -p port [-c conns] [-n msgs]
 *	    [-s size | -m file] [-f from] -t rcpt
 *	smtpload [-H host] -p port -i sessions
 *
 * The first form opens conns connections at once, each in its own
 * thread, and sends msgs messages of size octets on each, one
 * transaction after the other (no pipelining, as most senders do), then
 * prints the rate and the latency from the end of the data to the 250
 * reply: the time the server takes to make the message durable.
 * The second form opens sessions idle connections (greeting and EHLO
 * answered), prints "ready", and holds them until its standard input
 * is closed.  -b binds the connections to a source address; -m sends
 * the message of a file (LF line ends made CRLF) instead of a made-up
 * one, such as a message signed in advance.  -B sends each message as
 * one "BDAT size LAST" chunk (RFC 3030) instead of DATA: the latency is
 * then from the end of the chunk to its 250.
 */
#include <sys/types.h>
#include <sys/resource.h>

#include <err.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "smtpconn.h"

struct worker {
	pthread_t	 t;
	int		 nmsgs;
	double		*lat;		/* seconds, one per message */
	int		 ok;
	int		 errors;
};

static const char	*host = "127.0.0.1";
static const char	*port;
static const char	*from = "load@sender.test";
static const char	*rcpt;
static char		*body;
static size_t		 bodylen;
static int		 bdat;		/* -B */

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The message in one chunk: no dot-stuffing, no end marker. */
static int
transaction_bdat(struct conn *c, double *lat)
{
	char	 cmd[64];
	double	 t0;

	snprintf(cmd, sizeof(cmd), "BDAT %zu LAST\r\n", bodylen);
	if (conn_write(c, cmd, strlen(cmd)) == -1 ||
	    conn_write(c, body, bodylen) == -1)
		return -1;
	t0 = now();
	if (conn_reply(c) != 250)
		return -1;
	*lat = now() - t0;
	return 0;
}

static int
transaction(struct conn *c, double *lat)
{
	char	 cmd[512];
	double	 t0;

	snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>\r\n", from);
	if (command(c, cmd, 250) == -1)
		return -1;
	snprintf(cmd, sizeof(cmd), "RCPT TO:<%s>\r\n", rcpt);
	if (command(c, cmd, 250) == -1)
		return -1;
	if (bdat)
		return transaction_bdat(c, lat);
	if (command(c, "DATA\r\n", 354) == -1 ||
	    conn_write(c, body, bodylen) == -1)
		return -1;
	t0 = now();
	if (command(c, ".\r\n", 250) == -1)
		return -1;
	*lat = now() - t0;
	return 0;
}

static void *
worker_run(void *arg)
{
	struct worker	*w = arg;
	struct conn	 c;
	int		 i;

	if (conn_open(&c, host, port) == -1 || conn_reply(&c) != 220 ||
	    command(&c, "EHLO load.test\r\n", 250) == -1) {
		w->errors++;
		return NULL;
	}
	for (i = 0; i < w->nmsgs; i++) {
		if (transaction(&c, &w->lat[w->ok]) == -1) {
			w->errors++;
			break;
		}
		w->ok++;
	}
	(void)command(&c, "QUIT\r\n", 221);
	close(c.fd);
	return NULL;
}

/* A message of about size octets: headers, then 76-column lines. */
static void
make_body(size_t size)
{
	size_t	 n;

	if ((body = malloc(size + 512)) == NULL)
		err(1, "malloc");
	n = snprintf(body, 512, "From: <%s>\r\nTo: <%s>\r\n"
	    "Subject: smtpload\r\n\r\n", from, rcpt);
	while (n + 78 < size) {
		memset(body + n, 'x', 76);
		memcpy(body + n + 76, "\r\n", 2);
		n += 78;
	}
	bodylen = n;
}

/* The message of path, LF made CRLF, ending in CRLF. */
static void
read_body(const char *path)
{
	FILE	*fp;
	int	 ch, last = '\n';
	size_t	 cap = 65536;

	if ((fp = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	if ((body = malloc(cap)) == NULL)
		err(1, "malloc");
	while ((ch = getc(fp)) != EOF) {
		if (bodylen + 3 > cap && (body = realloc(body, cap *= 2)) == NULL)
			err(1, "realloc");
		if (ch == '\n' && last != '\r')
			body[bodylen++] = '\r';
		body[bodylen++] = ch;
		last = ch;
	}
	if (last != '\n') {
		body[bodylen++] = '\r';
		body[bodylen++] = '\n';
	}
	fclose(fp);
}

static int
cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
load(int nconns, int nmsgs)
{
	struct worker	*w;
	double		*all, t0, secs;
	int		 i, j, n = 0, errors = 0;

	if ((w = calloc(nconns, sizeof(*w))) == NULL ||
	    (all = calloc((size_t)nconns * nmsgs, sizeof(*all))) == NULL)
		err(1, "calloc");
	t0 = now();
	for (i = 0; i < nconns; i++) {
		w[i].nmsgs = nmsgs;
		w[i].lat = all + (size_t)i * nmsgs;
		if (pthread_create(&w[i].t, NULL, worker_run, &w[i]) != 0)
			errx(1, "pthread_create");
	}
	for (i = 0; i < nconns; i++)
		pthread_join(w[i].t, NULL);
	secs = now() - t0;
	for (i = 0; i < nconns; i++) {
		for (j = 0; j < w[i].ok; j++)
			all[n++] = w[i].lat[j];
		errors += w[i].errors;
	}
	qsort(all, n, sizeof(*all), cmp);
	printf("conns=%d msgs=%d secs=%.2f rate=%.1f p50=%.2f p99=%.2f "
	    "errors=%d\n", nconns, n, secs, n / secs,
	    n ? all[n / 2] * 1000 : 0, n ? all[(n * 99) / 100] * 1000 : 0,
	    errors);
}

static void
idle(int nsessions)
{
	struct conn	*c;
	struct rlimit	 rl;
	char		 line[16];
	int		 i;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)nsessions + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((c = calloc(nsessions, sizeof(*c))) == NULL)
		err(1, "calloc");
	for (i = 0; i < nsessions; i++)
		if (conn_open(&c[i], host, port) == -1 || conn_reply(&c[i]) != 220 ||
		    command(&c[i], "EHLO idle.test\r\n", 250) == -1)
			errx(1, "session %d failed", i);
	printf("ready %d\n", nsessions);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL)
		;
	for (i = 0; i < nsessions; i++)
		close(c[i].fd);
}

int
main(int argc, char *argv[])
{
	int	 ch, nconns = 1, nmsgs = 100, nidle = 0;
	long	 size = 4096;
	const char *file = NULL;

	while ((ch = getopt(argc, argv, "BH:b:p:c:n:s:m:f:t:i:")) != -1) {
		switch (ch) {
		case 'B':
			bdat = 1;
			break;
		case 'H':
			host = optarg;
			break;
		case 'b':
			conn_source = optarg;
			break;
		case 'm':
			file = optarg;
			break;
		case 'p':
			port = optarg;
			break;
		case 'c':
			nconns = atoi(optarg);
			break;
		case 'n':
			nmsgs = atoi(optarg);
			break;
		case 's':
			size = atol(optarg);
			break;
		case 'f':
			from = optarg;
			break;
		case 't':
			rcpt = optarg;
			break;
		case 'i':
			nidle = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (port == NULL || (nidle == 0 && rcpt == NULL) || nconns < 1 ||
	    nmsgs < 1 || size < 256 || size > 1 << 24)
		goto usage;
	if (nidle > 0) {
		idle(nidle);
		return 0;
	}
	if (file != NULL)
		read_body(file);
	else
		make_body(size);
	load(nconns, nmsgs);
	return 0;
usage:
	fprintf(stderr, "usage: smtpload [-B] [-H host] [-b source] -p port "
	    "[-c conns] [-n msgs] [-s size | -m file] [-f from] -t rcpt\n"
	    "       smtpload [-H host] -p port -i sessions\n");
	return 64;
}
