/*
 * io.c: line I/O on a client socket.  Each session runs in its own
 * thread on a blocking socket; poll(2) bounds every wait by the
 * command or DATA timeout.  Replies are buffered and sent when the
 * server would wait for input, which is what PIPELINING (RFC 2920)
 * asks of a server: one write for a whole pipelined group.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "smtpd.h"

static int	io_fill(struct io *, int);

void
io_init(struct io *io, int fd)
{
	io->fd = fd;
	io->inpos = io->inlen = 0;
	io->outlen = 0;
	io->error = 0;
}

int
io_flush(struct io *io)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < io->outlen && !io->error) {
		n = send(io->fd, io->out + off, io->outlen - off, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
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

	va_start(ap, fmt);
	n = vsnprintf(io->out + io->outlen, sizeof(io->out) - io->outlen,
	    fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(io->out) - io->outlen) {
		/* No room: send what is queued, then format again. */
		if (io_flush(io) == -1)
			return;
		va_start(ap, fmt);
		n = vsnprintf(io->out, sizeof(io->out), fmt, ap);
		va_end(ap);
		if (n < 0 || (size_t)n >= sizeof(io->out))
			return;
	}
	io->outlen += n;
}

/* Reads more input; IO_OK, IO_EOF, IO_TIMEOUT or IO_ERROR. */
static int
io_fill(struct io *io, int timeout_ms)
{
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 r;

	if (io->outlen > 0 && io_flush(io) == -1)
		return IO_ERROR;
	if (io->inpos > 0) {
		memmove(io->in, io->in + io->inpos, io->inlen - io->inpos);
		io->inlen -= io->inpos;
		io->inpos = 0;
	}
	pfd.fd = io->fd;
	pfd.events = POLLIN;
	for (;;) {
		r = poll(&pfd, 1, timeout_ms);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return IO_ERROR;
		if (r == 0)
			return IO_TIMEOUT;
		n = read(io->fd, io->in + io->inlen, sizeof(io->in) - io->inlen);
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

int
io_getline(struct io *io, char *buf, size_t max, size_t *len, int *crlf,
    int timeout_ms)
{
	char	*lf;
	size_t	 avail, take, got = 0;
	int	 r, toolong = 0;
	char	 last = '\0';

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
		if ((r = io_fill(io, timeout_ms)) != IO_OK)
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
	struct pollfd	 pfd;
	int		 r;

	if (io->inpos < io->inlen)
		return 1;
	pfd.fd = io->fd;
	pfd.events = POLLIN;
	do
		r = poll(&pfd, 1, timeout_ms);
	while (r == -1 && errno == EINTR);
	return r > 0;
}
