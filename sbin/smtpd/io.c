/*
 * io.c: line I/O on a client socket.  Each session runs in its own
 * thread on a blocking socket.  The command or DATA timeout is a
 * deadline for a whole line, not a bound on each wait: every poll(2)
 * gets what is left of it, so a client that sends a byte just before
 * each wait would run out cannot stretch one line over many timeouts.
 * Sending the replies queued has a deadline too (command_timeout), for
 * a client that reads a byte at a time.  Replies are buffered and sent
 * when the server would wait for input, which is what PIPELINING
 * (RFC 2920) asks of a server: one write for a whole pipelined group.
 *
 * Once TLS is on (tls.c), the socket is non-blocking and every read
 * and write goes through libtls, which says when it must wait for the
 * socket (TLS_WANT_POLLIN, TLS_WANT_POLLOUT); it is asked first, since
 * it may hold decrypted input that poll(2) on the socket cannot see.
 *
 * The buffers are made on first use and freed while the session is
 * parked (park.c): ten thousand idle sessions then hold none.
 *
 * Every wait for input also watches env->stopfd, which server.c makes
 * readable at SIGTERM: the session then ends as if the client had left,
 * and still sends its 421.  The stop is not made by shutdown(2) of the
 * socket: a TLS library that reads an end of input takes it for an
 * attack and ends the connection with an alert, and no 421 gets out.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "smtpd.h"

/* Nothing waits on a close_notify: it is sent if it can be, soon. */
#define IO_CLOSE_MS	1000

static int	io_alloc(struct io *);
static int	io_poll(struct io *, short, int);
static int	io_fill(struct io *, const struct timespec *);
static int	io_fill_tls(struct io *, const struct timespec *);
static ssize_t	io_send(struct io *, const char *, size_t,
		    const struct timespec *);

void
io_deadline(struct timespec *deadline, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += timeout_ms / 1000;
	deadline->tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline->tv_nsec >= 1000000000) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000;
	}
}

int
io_left(const struct timespec *deadline)
{
	struct timespec	 now;
	long long	 ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000LL +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	if (ms <= 0)
		return 0;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

void
io_init(struct io *io, int fd, int wtimeout_ms)
{
	io->fd = fd;
	io->tls = NULL;
	io->tlswant = 0;
	io->wtimeout_ms = wtimeout_ms;
	io->in = io->out = NULL;
	io->inpos = io->inlen = 0;
	io->outlen = 0;
	io->error = 0;
}

/* Both buffers in one allocation; a shortage ends the session. */
static int
io_alloc(struct io *io)
{
	if (io->in != NULL)
		return 0;
	if ((io->in = malloc(IO_INSIZE + IO_OUTSIZE)) == NULL) {
		log_warn("io buffers");
		io->error = 1;
		return -1;
	}
	io->out = io->in + IO_INSIZE;
	return 0;
}

int
io_release(struct io *io)
{
	if (io->inpos < io->inlen || io->outlen > 0)
		return -1;
	io_free(io);
	return 0;
}

/* The input may hold a password: zeroed before it goes. */
void
io_free(struct io *io)
{
	if (io->in == NULL)
		return;
	explicit_bzero(io->in, IO_INSIZE);
	free(io->in);
	io->in = io->out = NULL;
	io->inpos = io->inlen = 0;
	io->outlen = 0;
}

/* 1 when the socket is ready, 0 on timeout, -1 on error or stop. */
static int
io_poll(struct io *io, short events, int timeout_ms)
{
	struct pollfd	 pfd[2];
	int		 r;

	pfd[0].fd = io->fd;
	pfd[0].events = events;
	pfd[1].fd = env->stopfd;
	pfd[1].events = POLLIN;
	pfd[1].revents = 0;
	/* A reply being sent is not cut short: it may be the 421. */
	do
		r = poll(pfd, events == POLLIN ? 2 : 1, timeout_ms);
	while (r == -1 && errno == EINTR);
	if (r > 0 && (pfd[1].revents & POLLIN))
		return -1;
	return r > 0 ? 1 : r;
}

int
io_wait(struct io *io, int want, int timeout_ms)
{
	return io_poll(io, want == TLS_WANT_POLLOUT ? POLLOUT : POLLIN,
	    timeout_ms);
}

/* Sends some of buf; -1 when the client is gone or too slow to read. */
static ssize_t
io_send(struct io *io, const char *buf, size_t len,
    const struct timespec *deadline)
{
	ssize_t	 n;

	for (;;) {
		if (io->tls == NULL) {
			n = send(io->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n == -1 && errno == EINTR)
				continue;
			if (n != -1 || errno != EAGAIN)
				return n;
			n = TLS_WANT_POLLOUT;
		} else {
			n = tls_write(io->tls, buf, len);
			if (n != TLS_WANT_POLLIN && n != TLS_WANT_POLLOUT)
				return n < 0 ? -1 : n;
		}
		if (io_wait(io, n, io_left(deadline)) <= 0)
			return -1;
	}
}

int
io_flush(struct io *io)
{
	struct timespec	 deadline;
	size_t		 off = 0;
	ssize_t		 n;

	io_deadline(&deadline, io->wtimeout_ms);
	while (off < io->outlen && !io->error) {
		if ((n = io_send(io, io->out + off, io->outlen - off,
		    &deadline)) == -1) {
			io->error = 1;
			break;
		}
		off += n;
	}
	io->outlen = 0;
	return io->error ? -1 : 0;
}

void
io_printf(struct io *io, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (io_alloc(io) == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(io->out + io->outlen, IO_OUTSIZE - io->outlen, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= IO_OUTSIZE - io->outlen) {
		/* No room: send what is queued, then format again. */
		if (io_flush(io) == -1)
			return;
		va_start(ap, fmt);
		n = vsnprintf(io->out, IO_OUTSIZE, fmt, ap);
		va_end(ap);
		if (n < 0 || (size_t)n >= IO_OUTSIZE)
			return;
	}
	io->outlen += n;
}

/* Reads more input; IO_OK, IO_EOF, IO_TIMEOUT or IO_ERROR. */
static int
io_fill(struct io *io, const struct timespec *deadline)
{
	ssize_t		 n;
	int		 r;

	if (io->outlen > 0 && io_flush(io) == -1)
		return IO_ERROR;
	if (io_alloc(io) == -1)
		return IO_ERROR;
	if (io->inpos > 0) {
		memmove(io->in, io->in + io->inpos, io->inlen - io->inpos);
		io->inlen -= io->inpos;
		io->inpos = 0;
	}
	if (io->tls != NULL)
		return io_fill_tls(io, deadline);
	for (;;) {
		r = io_poll(io, POLLIN, io_left(deadline));
		if (r == -1)
			return IO_ERROR;
		if (r == 0)
			return IO_TIMEOUT;
		n = read(io->fd, io->in + io->inlen, IO_INSIZE - io->inlen);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1)
			return IO_ERROR;
		if (n == 0)
			return IO_EOF;
		io->inlen += n;
		return IO_OK;
	}
}

/* A record that comes a byte at a time takes many waits: one deadline. */
static int
io_fill_tls(struct io *io, const struct timespec *deadline)
{
	ssize_t	 n;
	int	 r;

	for (;;) {
		n = tls_read(io->tls, io->in + io->inlen,
		    IO_INSIZE - io->inlen);
		io->tlswant = 0;
		if (n > 0) {
			io->inlen += n;
			return IO_OK;
		}
		if (n == 0)
			return IO_EOF;
		if (n != TLS_WANT_POLLIN && n != TLS_WANT_POLLOUT)
			return IO_ERROR;
		io->tlswant = n;
		if ((r = io_wait(io, n, io_left(deadline))) == 0)
			return IO_TIMEOUT;
		if (r == -1)
			return IO_ERROR;
	}
}

int
io_getline(struct io *io, char *buf, size_t max, size_t *len, int *crlf,
    int timeout_ms)
{
	struct timespec	 deadline;
	char		*lf;
	size_t		 avail, take, got = 0;
	int		 r, toolong = 0;
	char		 last = '\0';

	io_deadline(&deadline, timeout_ms);
	if (io_alloc(io) == -1)
		return IO_ERROR;
	for (;;) {
		avail = io->inlen - io->inpos;
		lf = memchr(io->in + io->inpos, '\n', avail);
		take = lf != NULL ? (size_t)(lf - (io->in + io->inpos)) + 1 :
		    avail;
		if (take > 0) {
			if (!toolong && got + take <= max) {
				memcpy(buf + got, io->in + io->inpos, take);
				got += take;
			} else
				toolong = 1;
			/* The byte before the LF may be in an earlier read. */
			if (lf == NULL)
				last = io->in[io->inpos + take - 1];
			else if (take >= 2)
				last = io->in[io->inpos + take - 2];
			io->inpos += take;
		}
		if (lf != NULL)
			break;
		if ((r = io_fill(io, &deadline)) != IO_OK)
			return r;
	}
	buf[toolong ? 0 : got] = '\0';
	*len = toolong ? 0 : got;
	*crlf = last == '\r';
	return toolong ? IO_LONG : IO_OK;
}

int
io_pending(struct io *io, int timeout_ms)
{
	struct timespec	 deadline;

	if (io->inpos < io->inlen)
		return 1;
	/* Bytes on the socket may be no more than a part of a record. */
	if (io->tls != NULL) {
		io_deadline(&deadline, timeout_ms);
		return io_fill(io, &deadline) != IO_TIMEOUT;
	}
	return io_poll(io, POLLIN, timeout_ms) > 0;
}

size_t
io_discard(struct io *io)
{
	size_t	 n = io->inlen - io->inpos;

	if (io->in == NULL)
		return 0;
	explicit_bzero(io->in, io->inlen);
	io->inpos = io->inlen = 0;
	return n;
}

/* Moving input down (io_fill) leaves copies behind the unread part. */
void
io_scrub(struct io *io)
{
	if (io->in == NULL)
		return;
	explicit_bzero(io->in, io->inpos);
	explicit_bzero(io->in + io->inlen, IO_INSIZE - io->inlen);
}

int
io_idle(struct io *io, int timeout_ms)
{
	struct timespec	 deadline;

	if (io->outlen > 0 && io_flush(io) == -1)
		return 0;
	if (io->inpos < io->inlen)
		return 0;
	if (io->tls == NULL)
		return io_poll(io, POLLIN, timeout_ms) == 0;
	/*
	 * libtls hands out what it decrypted before it asks for the
	 * socket: once it waits for input, it holds none (and at most a
	 * part of a record, whose rest is still to come).  One that waits
	 * to write is not left to poll(2) for input.
	 */
	io_deadline(&deadline, timeout_ms);
	return io_fill(io, &deadline) == IO_TIMEOUT &&
	    io->tlswant == TLS_WANT_POLLIN;
}

void
io_tls_close(struct io *io)
{
	int	 r;

	if (io->tls == NULL)
		return;
	/* A client that is gone or does not read gets no close_notify. */
	while ((r = tls_close(io->tls)) == TLS_WANT_POLLIN ||
	    r == TLS_WANT_POLLOUT)
		if (io_wait(io, r, io->wtimeout_ms < IO_CLOSE_MS ?
		    io->wtimeout_ms : IO_CLOSE_MS) <= 0)
			break;
	tls_free(io->tls);
	io->tls = NULL;
}
