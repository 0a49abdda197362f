/*
 * e2eload: the SMTP load of bench/e2e.
 *
 *	e2eload -p port -c conns -k msgs_per_conn -n total -m mailboxes
 *	    -r run -o file [-f from]
 *
 * conns threads send total messages of about 4 KB between them, each
 * thread opening a connection, sending msgs_per_conn messages on it one
 * transaction after the other, closing it and opening the next, so
 * that "8 : 1" is eight clients each sending one message a
 * connection.  Message n goes to user(n % mailboxes)@example.org and
 * carries the token "run-n" in its Subject; its From: is <from> (by
 * default load@example.com, of no domain that signs).  For every
 * accepted message a line "TOKEN T_MAIL T_250" goes to file: the wall-clock
 * times (CLOCK_REALTIME, as file times are) of the MAIL command and of
 * the 250 after the final dot.  A C program, so that the load itself
 * does not cap what is measured.  Prints "accepted=N errors=N
 * secs=S rate=R", R from the first MAIL to the last 250.
 */
#include <err.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "smtpconn.h"

struct stamp {
	int	 n;
	double	 tmail;
	double	 t250;
};

struct worker {
	pthread_t	 t;
	struct stamp	*stamps;
	size_t		 nstamps;
	size_t		 cap;
	int		 errors;
};

static const char	*port;
static int		 perconn;
static int		 total;
static int		 mailboxes;
static const char	*run;
static const char	*from = "load@example.com";
static atomic_int	 next;
static char		 filler[50 * 78 + 1];

static double
wallclock(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
transaction(struct conn *c, int n, struct stamp *st)
{
	char	 cmd[256], head[512];
	int	 len;

	st->n = n;
	st->tmail = wallclock();
	if (command(c, "MAIL FROM:<load@example.com>\r\n", 250) == -1)
		return -1;
	snprintf(cmd, sizeof(cmd), "RCPT TO:<user%d@example.org>\r\n",
	    n % mailboxes);
	if (command(c, cmd, 250) == -1 || command(c, "DATA\r\n", 354) == -1)
		return -1;
	len = snprintf(head, sizeof(head), "From: <%s>\r\n"
	    "To: <user%d@example.org>\r\nSubject: bench %s-%d\r\n"
	    "Message-ID: <%s-%d@load.test>\r\n\r\n", from, n % mailboxes,
	    run, n, run, n);
	if (conn_write(c, head, len) == -1 ||
	    conn_write(c, filler, strlen(filler)) == -1 ||
	    command(c, ".\r\n", 250) == -1)
		return -1;
	st->t250 = wallclock();
	return 0;
}

static int
session(struct worker *w)
{
	struct conn	 c;
	int		 i, n;

	if (conn_open(&c, "127.0.0.1", port) == -1)
		return -1;
	if (conn_reply(&c) != 220 ||
	    command(&c, "EHLO load.test\r\n", 250) == -1) {
		close(c.fd);
		return -1;
	}
	for (i = 0; i < perconn && (n = atomic_fetch_add(&next, 1)) < total;
	    i++) {
		if (w->nstamps == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 256;
			w->stamps = reallocarray(w->stamps, w->cap,
			    sizeof(*w->stamps));
			if (w->stamps == NULL)
				err(1, "reallocarray");
		}
		if (transaction(&c, n, &w->stamps[w->nstamps]) == -1) {
			close(c.fd);
			return -1;
		}
		w->nstamps++;
	}
	(void)command(&c, "QUIT\r\n", 221);
	close(c.fd);
	return 0;
}

static void *
worker_run(void *arg)
{
	struct worker	*w = arg;

	while (atomic_load(&next) < total)
		if (session(w) == -1 && ++w->errors > 100)
			break;
	return NULL;
}

int
main(int argc, char *argv[])
{
	struct worker	*w;
	const char	*out = NULL;
	FILE		*fp;
	double		 first = 0, last = 0;
	size_t		 j, accepted = 0;
	int		 ch, i, conns = 1, errors = 0;

	while ((ch = getopt(argc, argv, "p:c:k:n:m:r:o:f:")) != -1) {
		switch (ch) {
		case 'p':
			port = optarg;
			break;
		case 'c':
			conns = atoi(optarg);
			break;
		case 'k':
			perconn = atoi(optarg);
			break;
		case 'n':
			total = atoi(optarg);
			break;
		case 'm':
			mailboxes = atoi(optarg);
			break;
		case 'r':
			run = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (port == NULL || conns < 1 || perconn < 1 || total < 1 ||
	    mailboxes < 1 || run == NULL || out == NULL || strlen(from) > 200)
		goto usage;
	for (i = 0; i < 50; i++)
		memcpy(filler + i * 78, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n", 78);
	if ((w = calloc(conns, sizeof(*w))) == NULL)
		err(1, "calloc");
	for (i = 0; i < conns; i++)
		if (pthread_create(&w[i].t, NULL, worker_run, &w[i]) != 0)
			errx(1, "pthread_create");
	for (i = 0; i < conns; i++)
		pthread_join(w[i].t, NULL);
	if ((fp = fopen(out, "w")) == NULL)
		err(1, "%s", out);
	for (i = 0; i < conns; i++) {
		errors += w[i].errors;
		for (j = 0; j < w[i].nstamps; j++) {
			struct stamp *st = &w[i].stamps[j];

			fprintf(fp, "%s-%d %.6f %.6f\n", run, st->n, st->tmail,
			    st->t250);
			if (accepted == 0 || st->tmail < first)
				first = st->tmail;
			if (st->t250 > last)
				last = st->t250;
			accepted++;
		}
	}
	if (fclose(fp) == EOF)
		err(1, "%s", out);
	printf("accepted=%zu errors=%d secs=%.3f rate=%.1f\n", accepted,
	    errors, last - first, accepted ? accepted / (last - first) : 0);
	return errors > 0;
usage:
	fprintf(stderr, "usage: e2eload -p port -c conns -k msgs_per_conn "
	    "-n total -m mailboxes -r run -o file [-f from]\n");
	return 64;
}
