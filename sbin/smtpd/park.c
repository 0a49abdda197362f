/*
 * park.c: the sessions that wait for their client without a thread.
 * A session waiting out greet_delay, or silent between two commands
 * for longer than SMTPD_PARK_MS, is parked here: its socket in an
 * epoll(7) set, itself in a list by deadline, its I/O buffers freed
 * (io_release).  When the client speaks (or leaves) it goes back to a
 * worker, where session_run goes on from where it stopped; when its
 * deadline passes it is ended here (421 for command_timeout) or, for
 * greet_delay, handed to a worker to be greeted.
 *
 * What a parked session keeps is its struct session: the HELO name,
 * the transaction, the login, and the libtls context.  A TLS session
 * is parked only once tls_read has said it waits for the socket (see
 * io_idle): decrypted input that poll(2) could not see never waits
 * here.
 *
 * server.c's thread is the only one that takes sessions out (park_run,
 * park_stop), so an epoll event always names a session still parked;
 * workers put them in, and wake that thread (wakefd) when the new one
 * has the nearest deadline.  There are two lists, one per kind of
 * wait: within one every wait has the same length, so a session goes
 * in at the tail, or a few places before it.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "smtpd.h"

#define PARK_EVENTS	256	/* taken at each turn of server.c's loop */

struct park_list {
	struct session	*head, *tail;
};

static pthread_mutex_t	 plock = PTHREAD_MUTEX_INITIALIZER;
static struct park_list	 lists[2];	/* SESSION_GREETING, SESSION_COMMAND */
static int		 epfd = -1;
static int		 wakefd = -1;
static int		 closed;	/* SIGTERM came: nothing more parks */

static struct park_list	*park_list_of(const struct session *);
static int		 park_before(const struct timespec *,
			    const struct timespec *);
static void		 park_insert(struct session *);
static void		 park_remove(struct session *);
static void		 park_expired(struct session *);
static int		 park_next_ms(void);

int
park_init(void)
{
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	if ((wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		return -1;
	return 0;
}

int
park_fd(void)
{
	return epfd;
}

int
park_wakefd(void)
{
	return wakefd;
}

static struct park_list *
park_list_of(const struct session *s)
{
	return &lists[s->wait == SESSION_GREETING ? 0 : 1];
}

static int
park_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* With plock held. */
static void
park_insert(struct session *s)
{
	struct park_list *pl = park_list_of(s);
	struct session	*at;

	for (at = pl->tail; at != NULL; at = at->pprev)
		if (!park_before(&s->deadline, &at->deadline))
			break;
	s->pprev = at;
	s->pnext = at != NULL ? at->pnext : pl->head;
	if (s->pnext != NULL)
		s->pnext->pprev = s;
	else
		pl->tail = s;
	if (at != NULL)
		at->pnext = s;
	else
		pl->head = s;
}

/* With plock held: out of its list and of the epoll set. */
static void
park_remove(struct session *s)
{
	struct park_list *pl = park_list_of(s);

	if (s->pprev != NULL)
		s->pprev->pnext = s->pnext;
	else
		pl->head = s->pnext;
	if (s->pnext != NULL)
		s->pnext->pprev = s->pprev;
	else
		pl->tail = s->pprev;
	s->pprev = s->pnext = NULL;
	(void)epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
}

int
park_session(struct session *s)
{
	struct epoll_event ev;
	int		 head;

	/* Without park_init (tools/fuzz), sessions wait in their thread. */
	if (epfd == -1 || io_release(&s->io) == -1)
		return -1;
	s->line = NULL;
	ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
	ev.data.ptr = s;
	pthread_mutex_lock(&plock);
	if (closed) {
		pthread_mutex_unlock(&plock);
		return -1;
	}
	park_insert(s);
	head = park_list_of(s)->head == s;
	/* From here on another worker may already be serving s. */
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev) == -1) {
		log_warn("epoll_ctl");
		park_remove(s);
		pthread_mutex_unlock(&plock);
		return -1;
	}
	pthread_mutex_unlock(&plock);
	if (head && eventfd_write(wakefd, 1) == -1)
		log_warn("eventfd_write");
	return 0;
}

/* Out of the lists already. */
static void
park_expired(struct session *s)
{
	if (s->wait != SESSION_GREETING)
		session_close_parked(s, PARK_TIMEOUT);
	else if (worker_start(s) == -1)
		session_close_parked(s, PARK_NOTHREAD);
}

/* With plock held. */
static int
park_next_ms(void)
{
	const struct timespec *next = NULL;
	size_t		 i;

	for (i = 0; i < 2; i++)
		if (lists[i].head != NULL && (next == NULL ||
		    park_before(&lists[i].head->deadline, next)))
			next = &lists[i].head->deadline;
	if (next == NULL)
		return -1;
	/* Rounded up, so that the deadline has passed when poll returns. */
	return io_left(next) + 1;
}

int
park_run(void)
{
	struct epoll_event ev[PARK_EVENTS];
	struct session	*s;
	eventfd_t	 v;
	size_t		 i;
	int		 n, ms;

	(void)eventfd_read(wakefd, &v);
	n = epoll_wait(epfd, ev, PARK_EVENTS, 0);
	for (i = 0; n > 0 && i < (size_t)n; i++) {
		s = ev[i].data.ptr;
		pthread_mutex_lock(&plock);
		park_remove(s);
		pthread_mutex_unlock(&plock);
		if (worker_start(s) == -1)
			session_close_parked(s, PARK_NOTHREAD);
	}
	for (;;) {
		pthread_mutex_lock(&plock);
		for (i = 0; i < 2; i++)
			if ((s = lists[i].head) != NULL &&
			    io_left(&s->deadline) == 0)
				break;
		if (i == 2) {
			ms = park_next_ms();
			pthread_mutex_unlock(&plock);
			return ms;
		}
		park_remove(s);
		pthread_mutex_unlock(&plock);
		park_expired(s);
	}
}

void
park_stop(void)
{
	struct session	*s;
	size_t		 i;

	pthread_mutex_lock(&plock);
	closed = 1;
	pthread_mutex_unlock(&plock);
	for (i = 0; i < 2; i++)
		for (;;) {
			pthread_mutex_lock(&plock);
			if ((s = lists[i].head) != NULL)
				park_remove(s);
			pthread_mutex_unlock(&plock);
			if (s == NULL)
				break;
			session_close_parked(s, PARK_STOP);
		}
}
