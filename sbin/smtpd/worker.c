/*
 * worker.c: the threads that serve sessions.  A session is served by
 * a thread from its accept to its next wait for the client that lasts
 * longer than SMTPD_PARK_MS, and again from the moment that client
 * speaks (park.c); all the work that blocks (the reverse DNS lookup,
 * TLS handshakes, AUTH's password check, the map lookups, DATA and its
 * fsyncs) is done in a worker.
 *
 * There is no fixed number of workers: a session that needs one and
 * finds none free gets a new thread, and a worker with nothing to do
 * for SMTPD_WORKER_IDLE_MS ends.  A bound on the threads would let as
 * many clients that send their DATA a byte a minute stop every other
 * session; without one, the threads are as many as the sessions that
 * are being served at the same instant, not as many as are open.
 */
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "smtpd.h"

/*
 * The stack of a worker, with glibc's guard page below it.  A worker
 * that served a STARTTLS handshake, an AUTH with a bcrypt check and a
 * message had touched 28 KB of it; only the pages touched are resident,
 * and a worker lives only as long as there is work, so the margin is
 * cheap.
 */
#define WORKER_STACK	(256 * 1024)

static pthread_mutex_t	 wlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 wready = PTHREAD_COND_INITIALIZER;
static struct session	*whead, *wtail;	/* the sessions waiting for a worker */
static size_t		 nqueued;
static size_t		 nidle;		/* workers waiting for a session */
static size_t		 nworkers;

static struct session	*worker_next(void);
static void		*worker_main(void *);
static int		 worker_spawn(void);
static void		 worker_unqueue(struct session *);

/* The next session to serve; NULL once idle for SMTPD_WORKER_IDLE_MS. */
static struct session *
worker_next(void)
{
	struct timespec	 deadline;
	struct session	*s;
	int		 r = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += SMTPD_WORKER_IDLE_MS / 1000;
	deadline.tv_nsec += (long)(SMTPD_WORKER_IDLE_MS % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&wlock);
	while (whead == NULL && r != ETIMEDOUT) {
		nidle++;
		r = pthread_cond_timedwait(&wready, &wlock, &deadline);
		nidle--;
	}
	if ((s = whead) == NULL) {
		nworkers--;
		pthread_mutex_unlock(&wlock);
		return NULL;
	}
	if ((whead = s->runnext) == NULL)
		wtail = NULL;
	nqueued--;
	pthread_mutex_unlock(&wlock);
	return s;
}

static void *
worker_main(void *arg)
{
	struct session	*s;

	while ((s = worker_next()) != NULL)
		session_run(s);
	return NULL;
}

/* With nworkers counted already: 0, or -1 with errno set. */
static int
worker_spawn(void)
{
	pthread_attr_t	 attr;
	pthread_t	 t;
	int		 r;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &attr, worker_main, NULL);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		errno = r;
		return -1;
	}
	return 0;
}

/* With wlock held. */
static void
worker_unqueue(struct session *s)
{
	struct session	**sp, *prev = NULL;

	for (sp = &whead; *sp != s; sp = &(*sp)->runnext)
		prev = *sp;
	*sp = s->runnext;
	if (wtail == s)
		wtail = prev;
	nqueued--;
}

/*
 * Each session queued finds a worker waiting or makes one: a worker
 * woken for it may find it taken by another that came back first,
 * and then waits on.
 */
int
worker_start(struct session *s)
{
	int	 spawn;

	s->runnext = NULL;
	pthread_mutex_lock(&wlock);
	if (wtail != NULL)
		wtail->runnext = s;
	else
		whead = s;
	wtail = s;
	nqueued++;
	if ((spawn = nqueued > nidle))
		nworkers++;
	else
		pthread_cond_signal(&wready);
	pthread_mutex_unlock(&wlock);
	if (!spawn || worker_spawn() == 0)
		return 0;
	log_warn("pthread_create");
	pthread_mutex_lock(&wlock);
	/* Any worker left comes to it; with none, nothing would. */
	if (--nworkers > 0) {
		pthread_mutex_unlock(&wlock);
		return 0;
	}
	worker_unqueue(s);
	pthread_mutex_unlock(&wlock);
	return -1;
}
