/*
 * sendmail(8): the local system's way into the spool.
 */

/* Who runs sendmail, and what the message gets from that. */
struct sm_ctx {
	const struct conf *conf;
	uid_t		 uid;			/* the caller's real uid */
	char		 fullname[128];		/* -F, or the GECOS name */
	char		 sender[ADDR_MAX + 1];	/* envelope; "" for <> */
	char		 fromaddr[ADDR_MAX + 1]; /* the caller, for From: */
	const char	*helo;			/* -bs: the client's name */
};

/* A list of recipients, each "local@domain", without duplicates. */
struct sm_rcpts {
	char	**v;
	size_t	  n;
	size_t	  cap;
};

/* Where the message comes from, line by line. */
#define IN_PLAIN	0	/* standard input; "." alone ends it */
#define IN_PLAIN_NODOT	1	/* standard input, -i: only EOF ends it */
#define IN_SMTP		2	/* SMTP DATA: dot-stuffed, "." ends it */

struct sm_input {
	FILE	*fp;
	int	 mode;		/* IN_* */
	char	*line;		/* the current line, without its line end */
	size_t	 cap;
	size_t	 len;
	uint64_t max;		/* longest line, 0: no limit */
	int	 eof;		/* the message ended (EOF or ".") */
};

/* The result of queueing one message. */
#define SM_OK		0
#define SM_DATAERR	1	/* bad message: a NUL, too large, bad header */
#define SM_NORCPT	2	/* -t found no recipient */
#define SM_TEMPFAIL	3	/* the spool failed */

/* message.c */
int	 input_line(struct sm_input *);
int	 message_queue(struct sm_ctx *, struct sm_input *, int tflag,
	    struct sm_rcpts *, char *id, char *err, size_t errlen);
int	 message_qualify(const struct sm_ctx *, const char *in, char *out,
	    size_t outlen, const char **errstr);
int	 rcpts_add(struct sm_rcpts *, const char *);
void	 rcpts_clear(struct sm_rcpts *);

/* addrlist.c */
int	 addrlist_split(const char *, int (*)(const char *, void *), void *);

/* smtp.c */
int	 smtp_session(struct sm_ctx *);
