/*
 * smtpconn: the SMTP client side of bench/'s load generators.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtpconn.h"

const char	*conn_source;

static int
conn_bind(int fd)
{
	struct addrinfo	 hints, *res;
	int		 r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(conn_source, NULL, &hints, &res) != 0)
		return -1;
	r = bind(fd, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return r;
}

int
conn_open(struct conn *c, const char *host, const char *port)
{
	struct addrinfo	 hints, *res;
	int		 on = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	c->fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (c->fd == -1 || (conn_source != NULL && conn_bind(c->fd) == -1) ||
	    connect(c->fd, res->ai_addr, res->ai_addrlen) == -1) {
		if (c->fd != -1)
			close(c->fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c->len = c->pos = 0;
	return 0;
}

int
conn_write(struct conn *c, const char *s, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = send(c->fd, s, n, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= w;
	}
	return 0;
}

int
conn_reply(struct conn *c)
{
	char	 line[1024], ch;
	size_t	 n = 0;
	ssize_t	 r;

	for (;;) {
		if (c->pos == c->len) {
			if ((r = read(c->fd, c->buf, sizeof(c->buf))) <= 0)
				return -1;
			c->len = r;
			c->pos = 0;
		}
		while (c->pos < c->len) {
			ch = c->buf[c->pos++];
			if (n < sizeof(line) - 1)
				line[n++] = ch;
			if (ch != '\n')
				continue;
			line[n] = '\0';
			if (n >= 4 && line[3] == ' ')
				return atoi(line);
			n = 0;
		}
	}
}

int
command(struct conn *c, const char *cmd, int want)
{
	if (conn_write(c, cmd, strlen(cmd)) == -1)
		return -1;
	return conn_reply(c) == want ? 0 : -1;
}
