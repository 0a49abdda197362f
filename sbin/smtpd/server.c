/*
 * server.c: accepting clients, the session limits, the clean stop.
 *
 * Why one thread per session.  The targets are a throughput above
 * Postfix's with an fsync before every 250, and 1,000 idle sessions in
 * under 100 MB.  The fsyncs decide the throughput.  A single event loop
 * would wait for each fsync in turn and serve nobody meanwhile; a
 * process per session, as Postfix has, pays a few MB each and could
 * not hold 1,000 sessions in 100 MB.  A thread per session gets both:
 * each session blocks in its own fsync while the others go on reading,
 * and the fsyncs that wait at the same time are written together (one
 * journal commit on ext4 or XFS; on ext4 without a journal, as on the
 * benchmark machine, one write of the queue directory's block for all
 * the renames made before it).  An idle session costs its struct
 * session and the stack pages it touched of its SMTPD_STACK.  A group
 * commit of our own, one thread fsyncing queue/ for all, was tried:
 * it cut the directory fsyncs by a third at 32 connections, and no gain
 * in throughput showed above the noise, so it went.
 *
 * Measured by bench/smtp on 2 shared cores, 4 KB messages, against
 * Postfix 3.7 on the same disk: about 1.8x Postfix's messages per
 * second with 8 connections and 2.3x with 32; 1,000 idle sessions in
 * 36 MB.  One connection alone is slower than Postfix (0.8x): it pays
 * two fsyncs in a row, the file and queue/, where Postfix pays one.
 *
 * The state the threads share is small: the session list and counts
 * under slock, and the resolver (Berkeley DB handles are not thread
 * safe without DB_THREAD) under maplock; lookups are short.
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

#define SMTPD_STACK	(256 * 1024)

static pthread_mutex_t	 slock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 sdone = PTHREAD_COND_INITIALIZER;
static struct session	*sessions;
static size_t		 nsessions;
static int		 stopping;

static void	server_accept(struct listener *);
static int	server_admit(const struct session *);
static void	server_send_421(int, const char *, const char *);
static void	server_refuse(int, const char *);
static size_t	server_stop(struct listener *, size_t);

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

static void
server_accept(struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t	 sslen = sizeof(ss);
	struct session	*s;
	pthread_attr_t	 attr;
	pthread_t	 t;
	int		 fd, r;

	fd = accept4(l->fd, (struct sockaddr *)&ss, &sslen, SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno == EAGAIN || errno == ECONNABORTED || errno == EINTR)
			return;
		log_warn("accept on %s", l->name);
		/* Out of descriptors: let sessions end before trying again. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
		    errno == ENOBUFS)
			(void)poll(NULL, 0, SMTPD_ACCEPT_PAUSE_MS);
		return;
	}
	if ((s = session_new(fd, (struct sockaddr *)&ss, sslen,
	    l->mode)) == NULL) {
		log_warn("session");
		server_refuse(fd, "Service not available, try again later");
		return;
	}
	if (limits_connect(s) == -1) {
		server_refuse(fd, "Error: too many connections from your "
		    "address; try again later");
		session_free(s);
		return;
	}
	pthread_mutex_lock(&slock);
	if ((r = server_admit(s)) != 0) {
		pthread_mutex_unlock(&slock);
		log_info("%s: refused: too many sessions%s", s->addr,
		    r == -2 ? " from this address" : "");
		server_refuse(fd, r == -2 ? "Error: too many sessions from "
		    "your address" : "Error: too many sessions");
		session_free(s);
		return;
	}
	s->next = sessions;
	if (sessions != NULL)
		sessions->prev = s;
	sessions = s;
	nsessions++;
	pthread_mutex_unlock(&slock);

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, SMTPD_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if ((r = pthread_create(&t, &attr, session_run, s)) != 0) {
		errno = r;
		log_warn("pthread_create");
		server_send_421(fd, "4.3.2", "Service not available");
		server_session_done(s);
	}
	pthread_attr_destroy(&attr);
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
 * SIGTERM: no new clients; each session sees end of input at its next
 * wait for input (io.c watches stopfd), so one in DATA drops its message
 * from tmp/ and one committing finishes its commit and its 250 first.
 * Then we wait for them all, SMTPD_STOP_GRACE_S at most: returns how
 * many are still running.
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

int
server_run(struct listener *l, size_t nl)
{
	struct pollfd	*pfd;
	sigset_t	 mask;
	size_t		 i;
	int		 sfd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	/* Blocked here, so in every session thread too. */
	if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0 ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	if ((env->stopfd = eventfd(0, EFD_CLOEXEC)) == -1)
		fatal("eventfd");
	if ((pfd = calloc(nl + 1, sizeof(*pfd))) == NULL)
		fatal("calloc");
	for (i = 0; i < nl; i++) {
		pfd[i].fd = l[i].fd;
		pfd[i].events = POLLIN;
	}
	pfd[nl].fd = sfd;
	pfd[nl].events = POLLIN;
	for (;;) {
		if (poll(pfd, nl + 1, -1) == -1) {
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
		for (i = 0; i < nl; i++)
			if (pfd[i].revents & POLLIN)
				server_accept(&l[i]);
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
