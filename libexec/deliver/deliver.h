/*
 * deliver(8): what its files share.
 */

/* The outcome of one delivery to one target. */
#define DELIVER_OK	0
#define DELIVER_TEMP	1	/* try again later */
#define DELIVER_PERM	2	/* bounce */

/* The work of one message for one destination. */
struct job {
	struct qentry		*qe;
	struct dest		*dest;
	size_t			*tidx;		/* into qe->msg.targets */
	struct resolve_target	*rt;		/* parallel to tidx */
	size_t			 ntargets;
	int			 fresh;		/* see plan_fresh() */
	int			 rewritten;	/* sender, not the message's */
	int			 removed;	/* local.c: left the queue */
	char			 sender[ADDR_MAX + 1];	/* forward.c */
	struct job		*next;
};

/*
 * A target planned as the duplicate of another of the same message (the
 * copy, in a job): it gets the copy's outcome once that is known.
 */
struct duplicate {
	size_t			 target;	/* into qentry.msg.targets */
	size_t			 copy;		/* likewise */
	unsigned int		 attempts;	/* the copy's, when planned */
};

/* A message the runner is working on. */
struct qentry {
	struct queue_msg	 msg;
	unsigned int		 jobs;		/* not finished yet */
	struct duplicate	*dups;
	size_t			 ndups;
};

/* Where jobs go: "local", the relayhost, or a remote domain. */
struct dest {
	char			 key[ADDR_DOMAIN_MAX + 1];
	int			 local;
	struct job		*jobs;		/* waiting */
	struct job		**jobs_tail;
	size_t			 njobs;
	size_t			 running;	/* workers */
	struct dest		*next;
};

/* What a worker knows: the configuration and where it runs. */
struct worker_ctx {
	const struct conf	*conf;
	time_t			 now;
};

/* deliver.c */
extern volatile sig_atomic_t	 deliver_quit;
/* In a new worker: closes the runner's descriptors, resets signals. */
void		 deliver_child_init(void);

/* runner.c */
struct runner;
struct runner	*runner_new(const struct conf *);
void		 runner_free(struct runner *);
/* Scans the queue; full: reread every message, not only the new ones. */
int		 runner_scan(struct runner *, int full);
/* Starts workers for waiting jobs, within the limits. */
void		 runner_dispatch(struct runner *);
/* Reaps finished workers; blocking waits for one.  Count reaped. */
int		 runner_reap(struct runner *, int blocking);
size_t		 runner_workers(const struct runner *);
/* The local jobs waiting for a worker. */
size_t		 runner_waiting(const struct runner *);
/* The sockets of the busy local workers, to poll for their answers. */
struct pollfd;
size_t		 runner_pollfds(const struct runner *, struct pollfd *,
		    size_t);
void		 runner_pollin(struct runner *, const struct pollfd *, size_t);
/* Stops the remote workers, which may wait long on the network. */
void		 runner_stop(struct runner *);
/* Removes the states of the messages removed (queue_clean_orphans). */
void		 runner_clean(struct runner *);
/* Seconds until the next known retry, or -1. */
time_t		 runner_next_due(const struct runner *, time_t now);

/* Helpers shared by the workers (runner.c). */
int		 job_record(int fd, struct queue_target *, int outcome,
		    const struct worker_ctx *, const struct queue_msg *,
		    const char *relay, const char *reason);
int		 job_record_all(int fd, struct queue_target **,
		    const int *outcomes, const char **reasons, size_t n,
		    const struct worker_ctx *, const struct queue_msg *,
		    const char *relay);
int		 job_complete(const struct worker_ctx *,
		    const struct queue_msg *, struct queue_target **,
		    const char **reasons, size_t n, const char *relay);
void		 job_removed(const struct worker_ctx *,
		    const struct queue_msg *, struct queue_target **,
		    const char **reasons, size_t n, const char *relay);
int		 job_state_open(const struct worker_ctx *, const struct job *);
void		 reasonf(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
time_t		 retry_next(const struct conf *, unsigned int attempts,
		    time_t now);

/* pool.c: local workers that stay. */
/* At most this many jobs go to a local worker at once. */
#define POOL_BATCH	16
/* Sends the first jobs of the list, max at most; how many, 0 or -1. */
int		 pool_send(int fd, const struct job *, size_t max);
__dead void	 pool_main(const struct conf *, int fd);

/* local.c: Maildir delivery of a list of jobs (a batch), in a worker. */
void		 local_run(const struct worker_ctx *, struct job *);

/* ---- junk.c ---- */

/*
 * MAILDIR/.Junk at the Maildir's descriptor, made with its tmp/, new/
 * and cur/ if missing: its descriptor, or -1 (logged: the message goes
 * to the inbox instead).
 */
int		 junk_open(int maildir, const char *path);

/* remote.c: SMTP delivery of a destination's jobs, in a worker. */
void		 remote_run(const struct worker_ctx *, const char *dest,
		    struct job *);
/* The outcomes of a transaction (smtp.h), or one for all, recorded. */
struct txn;
void		 job_finish(const struct worker_ctx *, struct job *,
		    struct txn *, const char *relay);
void		 job_fail(const struct worker_ctx *, struct job *, int outcome,
		    const char *relay, const char *reason);

/* lmtp.c: a local job handed to an LMTP server instead (lmtp lines). */
void		 lmtp_run(const struct worker_ctx *, struct job *);

/* forward.c: SRS for the mail aliases send on. */
/* With srs on, reads mapdir/srs.key; exits with EX_CONFIG if it cannot. */
void		 forward_init(const struct conf *);
/*
 * For a recipient: 1 and its original address in out if it is an SRS
 * address of a hosted domain that verifies; 0 if it is none (or srs is
 * off); -2 if it does not verify or expired (bounce it), -1 if the
 * maps cannot be read (defer); why gets the reason of either.
 */
int		 forward_reverse(struct resolver *, const struct mailaddr *,
		    char *out, size_t outlen, const char **why);
/*
 * For a remote target of recipient rcpt: 1 and the SRS form of the
 * message's sender, at rcpt's domain, in out, when srs is on, the
 * sender is not hosted and rcpt is (an alias sent it on); else 0, and
 * the message's sender stays.
 */
int		 forward_sender(struct resolver *, const struct queue_msg *,
		    const char *rcpt, char *out, size_t outlen);

/* mx.c: the hosts of a domain, RFC 5321 section 5. */
struct mx_host {
	char		 name[ADDR_DOMAIN_MAX + 1];
	int		 pref;
};
#define MX_OK		0
#define MX_TEMP		-1	/* try again later */
#define MX_NONE		-2	/* the domain does not exist, or null MX */
/* Fills hosts (sorted by preference, equal ones shuffled); count or MX_*. */
int		 mx_lookup(const char *domain, struct mx_host *, size_t max);
/* The addresses of a host, IPv6 and IPv4; count or MX_*. */
int		 mx_addrs(const char *host, struct sockaddr_storage *,
		    size_t max);

/* relayauth.c: the relayhost's credentials (relayhost_auth). */
struct relayauth {
	char		 login[256];		/* RFC 4616: at most 255 */
	char		 password[256];
};
/* Reads them, before the privileges are dropped; exits 78 on an error. */
void		 relayauth_load(const struct conf *);
/* No core dump, no tracing by another process of the mail user. */
void		 relayauth_nodump(void);
/* The credentials for the relayhost, or NULL. */
const struct relayauth *relayauth_get(void);
/* Forgets them: for a worker that does not log in, or is done. */
void		 relayauth_wipe(void);

/* bounce.c: delivery status notifications. */
#define DSN_FAILED	0
#define DSN_DELAYED	1
/*
 * Queues a DSN for the targets listed (indices into m->targets) to
 * rcpt, from the null sender.  The queue ID of the DSN in newid.
 * 0 or -1.
 */
int		 bounce_enqueue(const struct conf *, const struct queue_msg *,
		    const size_t *tidx, size_t n, int kind, const char *rcpt,
		    char *newid, size_t idlen);
