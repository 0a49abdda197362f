/*
 * listen.c: one listening socket per listen line of mail.conf(5).
 * IPv6 sockets are IPv6 only, so that 0.0.0.0:25 and [::]:25 can both
 * be listed.  Listeners are non-blocking: a client that leaves between
 * poll(2) and accept(2) must not stall the server.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <err.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "smtpd.h"

static int	listen_one(const struct conf_listen *, struct listener *);

static int
listen_one(const struct conf_listen *cl, struct listener *l)
{
	struct addrinfo	 hints, *res;
	int		 fd, on = 1, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = cl->family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((e = getaddrinfo(cl->host, cl->port, &hints, &res)) != 0) {
		warnx("listen %s:%s: %s", cl->host, cl->port, gai_strerror(e));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (res->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		warn("listen %s%s%s:%s", cl->family == AF_INET6 ? "[" : "",
		    cl->host, cl->family == AF_INET6 ? "]" : "", cl->port);
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	l->fd = fd;
	l->mode = cl->mode;
	(void)snprintf(l->name, sizeof(l->name), "%s%s%s:%s",
	    cl->family == AF_INET6 ? "[" : "", cl->host,
	    cl->family == AF_INET6 ? "]" : "", cl->port);
	return 0;
}

struct listener *
listen_open(const struct conf *conf, size_t *n)
{
	struct listener	*l;
	size_t		 i;

	if ((l = calloc(conf->nlisten, sizeof(*l))) == NULL)
		err(EX_OSERR, "calloc");
	for (i = 0; i < conf->nlisten; i++)
		if (listen_one(&conf->listen[i], &l[i]) == -1)
			exit(EX_OSERR);
	*n = conf->nlisten;
	return l;
}
