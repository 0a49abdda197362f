/*
 * deliver: the queue runner.  With -q, one run over the queue; else a
 * daemon that sleeps on the spool's wakeup FIFO (written by smtpd at
 * each commit, and by mailq -f) and rescans the queue periodically
 * for the retries that come due.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libutil.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#include "libmail.h"
#include "deliver.h"
#include "smtp.h"

/* The safety net: a look at the queue at least this often. */
#define RESCAN_INTERVAL		60
/* And a full reread of every message, for what the cache missed. */
#define FULL_SCAN_INTERVAL	300

volatile sig_atomic_t	 deliver_quit;

static struct pidfh	*pidfh;
static int		 fifo_fd = -1;
static int		 sig_pipe[2] = { -1, -1 };

static __dead void	 usage(void);
static void		 drop_privileges(const struct conf *);
static void		 open_pidfile(const struct conf *, int);
static int		 run_once(const struct conf *);
static int		 run_daemon(const struct conf *, int);
static int		 fifo_open(const struct conf *, int);
static int		 fd_drain(int);
static void		 wait_workers(struct runner *, const struct conf *);
static void		 sig_handler(int);
static void		 sig_setup(void);

static __dead void
usage(void)
{
	fprintf(stderr, "usage: deliver [-dq] [-C file]\n");
	exit(EX_USAGE);
}

int
main(int argc, char *argv[])
{
	struct conf	 conf;
	char		 errbuf[512];
	const char	*cfile = NULL;
	int		 ch, dflag = 0, qflag = 0, rv;

	setproctitle_init(argc, argv, environ);
	while ((ch = getopt(argc, argv, "C:dq")) != -1) {
		switch (ch) {
		case 'C':
			cfile = optarg;
			break;
		case 'd':
			dflag = 1;
			break;
		case 'q':
			qflag = 1;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	if (conf_load(&conf, cfile, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	/* What root alone may read, read before root is given up. */
	relayauth_load(&conf);
	smtp_tls_load(&conf);
	drop_privileges(&conf);
	if (relayauth_get() != NULL)
		relayauth_nodump();
	forward_init(&conf);
	umask(077);
	if (spool_init(conf.spool) == -1)
		err(EX_IOERR, "%s", conf.spool);
	open_pidfile(&conf, qflag);
	log_init("deliver", dflag || (qflag && isatty(STDERR_FILENO)));
	if (qflag)
		rv = run_once(&conf);
	else
		rv = run_daemon(&conf, dflag);
	pidfile_remove(pidfh);
	conf_free(&conf);
	return rv;
}

/* Root becomes the mail user; anyone else must be the mail user. */
static void
drop_privileges(const struct conf *conf)
{
	char	 errbuf[256];
	uid_t	 uid;
	gid_t	 gid;

	if (conf_user_ids(conf, &uid, &gid, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	if (geteuid() != 0) {
		if (geteuid() != uid)
			errx(EX_NOPERM, "must be run by root or by %s",
			    conf->user);
		return;
	}
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		err(EX_OSERR, "cannot become %s", conf->user);
	if (setuid(0) != -1)
		errx(EX_OSERR, "privileges not dropped");
}

/*
 * One runner a spool: two would deliver the same message twice.  A
 * queue run asked for while the daemon runs (sendmail -q from cron)
 * becomes a wakeup of the daemon, which then looks at every message.
 * Only the daemon reads the FIFO: with no reader, the runner is
 * another queue run, and there is nothing to wake.
 */
static void
open_pidfile(const struct conf *conf, int qflag)
{
	char	 path[PATH_MAX];
	pid_t	 other;
	int	 fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/deliver.pid",
	    conf->spool) >= sizeof(path))
		errx(EX_CONFIG, "%s: spool path too long", conf->spool);
	if ((pidfh = pidfile_open(path, 0600, &other)) != NULL)
		return;
	if (errno != EEXIST)
		err(EX_IOERR, "%s", path);
	if (qflag && (fd = fifo_open(conf, O_WRONLY)) != -1) {
		if (write(fd, "H", 1) == 1) {
			warnx("already running, pid %ld: woken up",
			    (long)other);
			exit(EX_OK);
		}
		close(fd);
	}
	errx(EX_TEMPFAIL, "already running, pid %ld", (long)other);
}

void
deliver_child_init(void)
{
	struct sigaction	 sa;

	if (pidfh != NULL)
		close(pidfile_fileno(pidfh));
	if (fifo_fd != -1)
		close(fifo_fd);
	if (sig_pipe[0] != -1) {
		close(sig_pipe[0]);
		close(sig_pipe[1]);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	setproctitle("worker");
}

static int
run_once(const struct conf *conf)
{
	struct runner	*r;
	int		 rv = EX_OK;

	if (pidfile_write(pidfh) == -1)
		log_warn("pidfile");
	if ((r = runner_new(conf)) == NULL)
		fatal("runner");
	sig_setup();
	if (runner_scan(r, 1) == -1)
		rv = EX_IOERR;
	for (;;) {
		runner_dispatch(r);
		if (runner_workers(r) == 0)
			break;
		wait_workers(r, conf);
	}
	runner_clean(r);
	runner_free(r);
	return rv;
}

/*
 * Waits for workers: the one-shot ones end (SIGCHLD, through the
 * signal pipe), the local ones that stay answer on their socket.
 */
static void
wait_workers(struct runner *r, const struct conf *conf)
{
	struct pollfd	*pfd;
	size_t		 n;

	if ((pfd = calloc(conf->max_deliveries + 1, sizeof(*pfd))) == NULL)
		fatal("wait");
	pfd[0].fd = sig_pipe[0];
	pfd[0].events = POLLIN;
	n = runner_pollfds(r, pfd + 1, conf->max_deliveries);
	if (poll(pfd, n + 1, -1) == -1 && errno != EINTR)
		fatal("poll");
	if (pfd[0].revents & POLLIN) {
		(void)fd_drain(sig_pipe[0]);
		runner_reap(r, 0);
	}
	runner_pollin(r, pfd + 1, n);
	free(pfd);
}

static void
sig_handler(int sig)
{
	int	 save = errno;

	if (sig == SIGTERM || sig == SIGINT)
		deliver_quit = 1;
	if (sig_pipe[1] != -1)
		(void)write(sig_pipe[1], sig == SIGHUP ? "H" : "s", 1);
	errno = save;
}

static void
sig_setup(void)
{
	struct sigaction	 sa;

	if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		fatal("pipe");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * The daemon opens it to read and write: the FIFO then never reports
 * end-of-file to its reader.  To write only fails (ENXIO) when no
 * daemon reads it.
 */
static int
fifo_open(const struct conf *conf, int mode)
{
	char		 path[PATH_MAX];
	struct stat	 sb;
	int		 fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/wakeup", conf->spool) >=
	    sizeof(path))
		return -1;
	fd = open(path, mode | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &sb) == -1 || !S_ISFIFO(sb.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/* Empties fd; 1 if an 'F' (mailq -f) or 'H' (SIGHUP) was among it. */
static int
fd_drain(int fd)
{
	char	 buf[512];
	ssize_t	 n, i;
	int	 full = 0;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			if (buf[i] == 'F' || buf[i] == 'H')
				full = 1;
	return full;
}

static int
run_daemon(const struct conf *conf, int foreground)
{
	struct pollfd	*pfd;
	struct runner	*r;
	size_t		 npool;
	time_t		 now, last_scan = 0, last_full = 0, next;
	int		 scan = 1, full = 1, failed = 0, timeout, busy;

	if ((fifo_fd = fifo_open(conf, O_RDWR)) == -1)
		err(EX_IOERR, "%s/wakeup", conf->spool);
	if (!foreground && daemon(0, 0) == -1)
		err(EX_OSERR, "daemon");
	if (pidfile_write(pidfh) == -1)
		log_warn("pidfile");
	if ((r = runner_new(conf)) == NULL ||
	    (pfd = calloc(conf->max_deliveries + 2, sizeof(*pfd))) == NULL)
		fatal("runner");
	sig_setup();
	log_info("started, spool %s", conf->spool);
	while (!deliver_quit) {
		now = time(NULL);
		if (now - last_full >= FULL_SCAN_INTERVAL)
			scan = full = 1;
		if (now - last_scan >= RESCAN_INTERVAL)
			scan = 1;
		/*
		 * With work enough in hand for every worker, a wakeup's scan
		 * waits: it would only add to the back of the line, and a
		 * scan of a long queue at each wakeup costs more than the
		 * deliveries.
		 */
		busy = !full && runner_waiting(r) >= conf->max_deliveries *
		    POOL_BATCH;
		if (scan && !busy) {
			failed = runner_scan(r, full) == -1;
			if (failed)
				log_warnx("queue scan failed, will retry");
			last_scan = now;
			if (full)
				last_full = now;
			scan = full = 0;
		}
		runner_dispatch(r);
		/* Idle: the time to clean up after the removals. */
		if (runner_workers(r) == 0)
			runner_clean(r);
		next = runner_next_due(r, now);
		if (next == 0 && !failed && !busy) {
			/* A retry came due while we worked. */
			scan = 1;
			continue;
		}
		if (next == -1 || next > RESCAN_INTERVAL)
			next = RESCAN_INTERVAL;
		/* After a failed scan, the next try in a second. */
		timeout = next == 0 ? 1000 : (int)next * 1000;
		pfd[0].fd = fifo_fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = sig_pipe[0];
		pfd[1].events = POLLIN;
		npool = runner_pollfds(r, pfd + 2, conf->max_deliveries);
		if (poll(pfd, npool + 2, timeout) == -1) {
			if (errno != EINTR)
				fatal("poll");
			continue;
		}
		runner_pollin(r, pfd + 2, npool);
		if (pfd[1].revents & POLLIN) {
			full |= fd_drain(sig_pipe[0]);
			scan |= full;
			runner_reap(r, 0);
		}
		if (pfd[0].revents & POLLIN) {
			full |= fd_drain(fifo_fd);
			scan = 1;
		}
		if (time(NULL) - now >= next)
			scan = 1;
	}
	log_info("stopping: waiting for %zu workers", runner_workers(r));
	runner_stop(r);
	while (runner_workers(r) > 0)
		wait_workers(r, conf);
	runner_clean(r);
	runner_free(r);
	free(pfd);
	return EX_OK;
}
