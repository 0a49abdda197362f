/*
 * deliver(8)'s SMTP client connection (smtp.c).
 */

struct tls;

struct smtp_conn {
	int		 fd;
	struct tls	*tls;			/* after STARTTLS */
	char		 tlsinfo[96];		/* "TLSv1.3 cipher" */
	int		 verified;		/* chain and name checked */
	int		 broken;		/* closed after an error */
	int		 lmtp;			/* RFC 2033 (lmtp.c) */
	char		 host[ADDR_DOMAIN_MAX + 64];	/* name[addr] */
	char		 relay[ADDR_DOMAIN_MAX + 72];	/* name[addr]:port */
	/* EHLO extensions */
	int		 starttls;
	int		 pipelining;
	int		 eightbit;
	int		 smtputf8;		/* RFC 6531 */
	int		 size;
	int		 dsn;			/* RFC 3461 */
	uint64_t	 maxsize;		/* 0: no limit given */
	int		 auth;			/* AUTH offered */
	int		 auth_plain;
	int		 auth_login;
	/* the last reply */
	int		 code;
	char		 reply[QUEUE_REASONLEN - 128];
	char		 rbuf[4096];
	size_t		 rlen, roff;
	char		 wbuf[16384];
	size_t		 wlen;
};

/* 0, or -1 with a reason in err (the connection is unusable). */
int	 smtp_connect(struct smtp_conn *, const struct sockaddr *, socklen_t,
	    const char *host, int timeout, char *err, size_t errlen);
void	 smtp_timeout(struct smtp_conn *, int seconds);
void	 smtp_close(struct smtp_conn *);
/* Before any fork: libtls, and tls_ca_file; exits 78 if unreadable. */
struct conf;
void	 smtp_tls_load(const struct conf *);
/*
 * TLS on the connection, after the server's 220 to STARTTLS, or at once
 * for implicit TLS; verify: the chain and servername are checked.  0,
 * or -1 with the reason in c->reply and the connection closed.
 */
int	 smtp_tls_start(struct smtp_conn *, const char *servername,
	    int verify);
/* Logs in (over TLS only); the code of the last reply, or -1. */
int	 smtp_auth(struct smtp_conn *, const char *login,
	    const char *password);
/* Flushes what is buffered, then reads a reply; its code or -1. */
int	 smtp_reply(struct smtp_conn *, int ehlo);
int	 smtp_cmd(struct smtp_conn *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 smtp_put(struct smtp_conn *, const char *, size_t);
int	 smtp_flush(struct smtp_conn *);
/* Sends the message from body as DATA content, with the final dot. */
int	 smtp_data(struct smtp_conn *, FILE *body);
/* 1 if line begins with keyword kw, case-insensitively. */
int	 line_is(const char *line, const char *kw);

/* One transaction's view of a job's targets (remote.c). */
struct txn {
	int		*outcome;	/* DELIVER_*, or -1 still open */
	char		(*reason)[QUEUE_REASONLEN];
	int		 dsn;		/* the next hop took the DSN requests */
};
struct worker_ctx;
struct job;
/* One message to the job's targets: outcomes and reasons into tx. */
void	 remote_transaction(const struct worker_ctx *, struct smtp_conn *,
	    struct job *, struct txn *);
