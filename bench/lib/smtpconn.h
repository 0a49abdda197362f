/*
 * smtpconn: the SMTP client side that the load generators of bench/
 * share: a connection, its writes, and whole replies.
 */
#ifndef SMTPCONN_H
#define SMTPCONN_H

#include <stddef.h>

struct conn {
	int	 fd;
	char	 buf[4096];
	size_t	 len;
	size_t	 pos;
};

/* A numeric address the connections are bound to first, or NULL. */
extern const char *conn_source;

/* Connects to host:port (numeric), with TCP_NODELAY; 0 or -1. */
int	 conn_open(struct conn *, const char *host, const char *port);
int	 conn_write(struct conn *, const char *, size_t);
/* The code of one whole reply, all its lines read; -1 on error. */
int	 conn_reply(struct conn *);
/* Sends cmd; 0 if the reply's code is want, else -1. */
int	 command(struct conn *, const char *cmd, int want);

#endif /* !SMTPCONN_H */
