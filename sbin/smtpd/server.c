/*
 * server.c: accepting clients, the session limits, the clean stop.
 *
 * Why threads, and why not one a session.  The targets are a
 * throughput above Postfix's with an fsync before every 250, and
 * 10,000 idle sessions in under 150 MB.  The fsyncs decide the
 * throughput.  A single event loop would wait for each fsync in turn
 * and serve nobody meanwhile; a process per session, as Postfix has,
 * pays a few MB each.  Threads get the throughput: each session blocks
 * in its own fsync while the others go on reading, and the fsyncs that
 * wait at the same time are written together (one journal commit on
 * ext4 or XFS; on ext4 without a journal, one write of the queue
 * directory's block for all the renames made before it).  A group
 * commit of our own, one thread fsyncing queue/ for all, was tried
 * twice: it cut the directory fsyncs by a third at 32 connections, and
 * no gain in throughput showed above the noise, so it went.
 *
 * But a thread for each open session costs 36 KB resident (its stack's
 * pages, its buffers) and a task in the kernel: 10,000 idle sessions
 * took 359 MB.  A smaller stack would not do: the pages an idle session
 * touched (the reverse DNS lookup, a TLS handshake) stay resident, and
 * the stack must still hold bcrypt, libtls and opendkim with a margin.
 * So a session holds a thread only while there is work: the waits for
 * the client that take long, greet_delay and the silence between two
 * commands, are parked (park.c) in one epoll(7) set watched by this
 * thread, and a worker (worker.c) takes the session back when its
 * client speaks.  Everything that blocks stays in the workers, written
 * as before as straight-line code (session.c), and a busy session never
 * parks: the wait before parking (SMTPD_PARK_MS) is longer than a
 * client's turn between two commands, so a session under load keeps
 * its thread, and pays no hand-over.  A parked session costs its struct
 * session, about 10 KB (most of it the spool message's two paths), with
 * no buffer and no thread: 10,000 idle sessions take about 110 MB.
 * Measured (bench/e2e, 2 shared cores): see the figures in smtpd(8).
 *
 * The state the threads share is small: the session list and counts
 * under slock, the resolver (Berkeley DB handles are not thread safe
 * without DB_THREAD) under maplock, park.c's lists and worker.c's
 * queue under their own locks; lookups are short.
 */
#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "smtpd.h"

static pthread_mutex_t	 slock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 sdone = PTHREAD_COND_INITIALIZER;
static struct session	*sessions;
static size_t		 nsessions;
static int		 stopping;

static int	server_accept(struct listener *);
static int	server_admit(const struct session *);
static void	server_send_421(int, const char *, const char *);
static void	server_refuse(int, const char *);
static size_t	server_stop(struct listener *, size_t);
static void	server_listen(struct pollfd *, size_t, short);

int
server_stopping(void)
{
	return __atomic_load_n(&stopping, __ATOMIC_ACQUIRE);
}

/*
 * With slock held: 0, or -1 (too many in all), -2 (from this address).
 * A relaynets client is often a webmail or an application server that
 * sends everything from one address: max_sessions_per_ip spares it
 * unless "all" was given.
 */
static int
server_admit(const struct session *new)
{
	struct session	*s;
	size_t		 same = 0;

	if (nsessions >= env->conf.max_sessions)
		return -1;
	if (new->trusted && !env->conf.max_sessions_per_ip_all)
		return 0;
	for (s = sessions; s != NULL; s = s->next)
		if (strcmp(s->addr, new->addr) == 0)
			same++;
	if (same >= env->conf.max_sessions_per_ip)
		return -2;
	return 0;
}

/* The socket is new and its send buffer empty: this write won't block. */
static void
server_send_421(int fd, const char *status, const char *text)
{
	char	 buf[256];
	int	 n;

	n = snprintf(buf, sizeof(buf), "421 %s %s %s\r\n", status,
	    env->conf.hostname, text);
	if (n > 0 && (size_t)n < sizeof(buf))
		(void)send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void
server_refuse(int fd, const char *text)
{
	server_send_421(fd, "4.7.0", text);
	close(fd);
}

/* 0, or the ms to wait before the next accept when out of descriptors. */
static int
server_accept(struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t	 sslen = sizeof(ss);
	struct session	*s;
	int		 fd, r;

	fd = accept4(l->fd, (struct sockaddr *)&ss, &sslen, SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno == EAGAIN || errno == ECONNABORTED || errno == EINTR)
			return 0;
		log_warn("accept on %s", l->name);
		/* Out of descriptors: let sessions end before trying again. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
		    errno == ENOBUFS)
			return SMTPD_ACCEPT_PAUSE_MS;
		return 0;
	}
	if ((s = session_new(fd, (struct sockaddr *)&ss, sslen,
	    l->mode)) == NULL) {
		log_warn("session");
		server_refuse(fd, "Service not available, try again later");
		return 0;
	}
	if (limits_connect(s) == -1) {
		server_refuse(fd, "Error: too many connections from your "
		    "address; try again later");
		session_free(s);
		return 0;
	}
	pthread_mutex_lock(&slock);
	if ((r = server_admit(s)) != 0) {
		pthread_mutex_unlock(&slock);
		log_info("%s: refused: too many sessions%s", s->addr,
		    r == -2 ? " from this address" : "");
		server_refuse(fd, r == -2 ? "Error: too many sessions from "
		    "your address" : "Error: too many sessions");
		session_free(s);
		return 0;
	}
	s->next = sessions;
	if (sessions != NULL)
		sessions->prev = s;
	sessions = s;
	nsessions++;
	pthread_mutex_unlock(&slock);

	if (worker_start(s) == -1) {
		server_send_421(fd, "4.3.2", "Service not available");
		server_session_done(s);
	}
	return 0;
}

void
server_session_done(struct session *s)
{
	pthread_mutex_lock(&slock);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	/* Closed under the lock, so that server_stop never sees it reused. */
	close(s->fd);
	nsessions--;
	pthread_cond_signal(&sdone);
	pthread_mutex_unlock(&slock);
	session_free(s);
}

/*
 * SIGTERM: no new clients; the parked sessions get their 421 here, and
 * each one in a worker sees end of input at its next wait for input
 * (io.c watches stopfd), so one in DATA drops its message from tmp/ and
 * one committing finishes its commit and its 250 first.  Then we wait
 * for them all, SMTPD_STOP_GRACE_S at most: returns how many are still
 * running.
 */
static size_t
server_stop(struct listener *l, size_t nl)
{
	struct timespec	 deadline;
	size_t		 i, left;

	__atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
	for (i = 0; i < nl; i++)
		close(l[i].fd);
	/* Never read: it stays readable for every session. */
	if (eventfd_write(env->stopfd, 1) == -1)
		log_warn("eventfd_write");
	park_stop();
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += SMTPD_STOP_GRACE_S;
	pthread_mutex_lock(&slock);
	while (nsessions > 0)
		if (pthread_cond_timedwait(&sdone, &slock, &deadline) ==
		    ETIMEDOUT)
			break;
	if ((left = nsessions) > 0)
		log_warnx("stopping with %zu sessions still open", left);
	pthread_mutex_unlock(&slock);
	return left;
}

/* The listeners' entries of server_run's poll(2): watched or not. */
static void
server_listen(struct pollfd *pfd, size_t nl, short events)
{
	size_t	 i;

	for (i = 0; i < nl; i++)
		pfd[i].events = events;
}

/*
 * The loop of the main thread: the listeners, the signals, and the
 * parked sessions (park.c).  After EMFILE the listeners rest for
 * SMTPD_ACCEPT_PAUSE_MS, and the parked sessions are still served.
 */
int
server_run(struct listener *l, size_t nl)
{
	struct pollfd	*pfd;
	struct timespec	 resume;
	sigset_t	 mask;
	size_t		 i;
	int		 sfd, ms, pause, paused = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	/* Blocked here, so in every worker too. */
	if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0 ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	if ((env->stopfd = eventfd(0, EFD_CLOEXEC)) == -1)
		fatal("eventfd");
	if (park_init() == -1)
		fatal("epoll");
	if ((pfd = calloc(nl + 3, sizeof(*pfd))) == NULL)
		fatal("calloc");
	for (i = 0; i < nl; i++)
		pfd[i].fd = l[i].fd;
	pfd[nl].fd = sfd;
	pfd[nl + 1].fd = park_fd();
	pfd[nl + 2].fd = park_wakefd();
	for (i = 0; i < nl + 3; i++)
		pfd[i].events = POLLIN;
	ms = -1;
	for (;;) {
		if (paused && io_left(&resume) == 0) {
			paused = 0;
			server_listen(pfd, nl, POLLIN);
		}
		if (paused && (ms == -1 || io_left(&resume) + 1 < ms))
			ms = io_left(&resume) + 1;
		if (poll(pfd, nl + 3, ms) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[nl].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si) &&
			    si.ssi_signo != SIGHUP)
				break;
		}
		for (i = 0; i < nl && !paused; i++)
			if ((pfd[i].revents & POLLIN) &&
			    (pause = server_accept(&l[i])) > 0) {
				io_deadline(&resume, pause);
				paused = 1;
				server_listen(pfd, nl, 0);
			}
		ms = park_run();
	}
	log_info("stopping");
	if (server_stop(l, nl) > 0)
		return -1;
	free(pfd);
	close(sfd);
	return 0;
}

void
server_maps_refresh(void)
{
	pthread_mutex_lock(&env->maplock);
	if (resolver_refresh(&env->resolver) == -1)
		log_warn("maps in %s", env->conf.mapdir);
	pthread_mutex_unlock(&env->maplock);
}

int
server_resolve(const struct mailaddr *addr)
{
	int	 r;

	pthread_mutex_lock(&env->maplock);
	r = resolve_rcpt(&env->resolver, addr);
	pthread_mutex_unlock(&env->maplock);
	return r;
}

/* The lookup of dk_spool_sign: a domain's dkim= selectors. */
int
server_dkim_selectors(const void *arg, const char *domain, char *buf, size_t len)
{
	int	 r;

	pthread_mutex_lock(&env->maplock);
	r = resolve_domain_attr(&env->resolver, domain, "dkim", buf, len);
	pthread_mutex_unlock(&env->maplock);
	return r;
}
