/*
 * smtpd: the SMTP server.  Files by role:
 *	smtpd.c		main: options, configuration, privileges, pidfile
 *	listen.c	the listening sockets
 *	server.c	accepting clients, session limits, clean stop
 *	worker.c	the threads that serve sessions, made on demand
 *	park.c		sessions that wait for their client without a
 *			thread: epoll(7), deadlines
 *	session.c	the SMTP dialogue, one state machine per client
 *	path.c		MAIL FROM and RCPT TO arguments: paths, parameters
 *	data.c		DATA: the message into the spool, and the commit
 *	bdat.c		BDAT (CHUNKING): chunks of the message into the
 *			spool, through data.c's checks
 *	io.c		buffered line I/O on a socket, plain or TLS, with
 *			time limits
 *	tls.c		the TLS server context; STARTTLS and smtps handshakes
 *	auth.c		AUTH PLAIN and LOGIN against the users map
 *	sender.c	who may name which sender: MAIL FROM and From: of
 *			authenticated clients, SRS addresses at RCPT
 *	authres.c	SPF, DKIM and DMARC of the other clients' mail,
 *			Authentication-Results:, the Junk verdict
 *	authdns.c	their DNS lookups: a resolver per thread, a cache
 *	milter.c	mail filters (milter protocol 6): the connection,
 *			the stages, the verdicts
 *	milter_eom.c	the message at its end to the filters, and their
 *			edits into the spool file
 *	limits.c	abuse limits of a client address: rates, AUTH
 *			failures, refused recipients
 *	dnsbl.c		DNS blocklists asked at connect
 */
#ifndef SMTPD_H
#define SMTPD_H

#include <sys/socket.h>

#include <netdb.h>
#include <pthread.h>
#include <time.h>
#include <tls.h>

#include "libmail.h"

/* RFC 5321 4.5.3.1.4 and 4.5.3.1.6: 512 and 1000 octets with CRLF. */
#define SMTP_CMD_MAX		512
#define SMTP_TEXT_MAX		1000

/* "local@domain" from a struct mailaddr, room for both parts whole. */
#define SMTPD_ADDRLEN		(ADDR_LOCAL_MAX + 3 + 1 + ADDR_DOMAIN_MAX + 1)

/* Files in SPOOL/tmp/ older than this are debris of a crash. */
#define SMTPD_TMP_STALE		(24 * 60 * 60)

/* After accept(2) failed for want of descriptors or memory. */
#define SMTPD_ACCEPT_PAUSE_MS	100

/* Time to let sessions finish their commit after SIGTERM. */
#define SMTPD_STOP_GRACE_S	10

/*
 * A client silent this long between two commands leaves its thread and
 * waits parked (park.c); a worker with no session this long ends.
 */
#define SMTPD_PARK_MS		100
#define SMTPD_WORKER_IDLE_MS	2000

/*
 * An AUTH command line or response: RFC 4954 allows longer lines for
 * AUTH than for other commands; this holds a PLAIN initial response
 * with a login and a password of 255 octets each (RFC 4616).
 */
#define SMTPD_AUTH_LINE_MAX	2048

/* A failed AUTH is answered no sooner than this after the last response. */
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define SMTPD_AUTH_FAIL_MS	1000
#else
#define SMTPD_AUTH_FAIL_MS	0	/* tools/fuzz: a run a second is no run */
#endif

struct session;
struct milter_set;

/* limits.c's key of a client address: IPv4, or the /64 of IPv6. */
#define LIMITS_KEYLEN	16

/* ---- io.c ---- */

#define IO_OK		0
#define IO_LONG		1	/* line over the limit; the rest was skipped */
#define IO_EOF		2
#define IO_TIMEOUT	3
#define IO_ERROR	4

#define IO_INSIZE	4096
#define IO_OUTSIZE	2048

struct io {
	int	 fd;
	struct tls *tls;	/* once TLS is on: all I/O goes through it */
	int	 tlswant;	/* what tls_read last waited for */
	int	 wtimeout_ms;	/* how long replies may take to be sent */
	char	*in;		/* IO_INSIZE, then out: made on first use */
	size_t	 inpos;
	size_t	 inlen;
	char	*out;		/* IO_OUTSIZE */
	size_t	 outlen;
	int	 error;		/* a write failed: the client is gone */
};

void	 io_init(struct io *, int fd, int wtimeout_ms);
/* A deadline timeout_ms from now (CLOCK_MONOTONIC); the ms left of one. */
void	 io_deadline(struct timespec *, int timeout_ms);
int	 io_left(const struct timespec *);
/*
 * Reads one line up to and including its LF into buf (max + 1 bytes:
 * NUL-terminated, len bytes without the NUL), all of it within
 * timeout_ms.  A line longer than max bytes is skipped to its LF and
 * IO_LONG returned; *crlf tells whether the LF that ended it came after
 * a CR.  Pending output is sent before waiting.
 */
int	 io_getline(struct io *, char *buf, size_t max, size_t *len,
	    int *crlf, int timeout_ms);
/* Queues a reply line; sent by io_flush or when input runs dry. */
void	 io_printf(struct io *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 io_flush(struct io *);
/*
 * Up to want bytes of input, at least one, within timeout_ms: *p
 * points at them in the buffer (valid until the next call), *got says
 * how many.  IO_OK, or IO_EOF, IO_TIMEOUT, IO_ERROR.
 */
int	 io_read(struct io *, size_t want, const char **p, size_t *got,
	    int timeout_ms);
/* 1 if input is waiting (in the buffer or on the socket) within ms. */
int	 io_pending(struct io *, int timeout_ms);
/*
 * Drops the input read but not yet taken; returns how many bytes.
 * Zeroes the input already taken, which may hold a password.
 */
size_t	 io_discard(struct io *);
void	 io_scrub(struct io *);
/*
 * Waits for what tls_* asked (TLS_WANT_POLLIN or _POLLOUT): poll(2).
 * 1, 0 on timeout, -1 on error or, for input, once the server stops.
 */
int	 io_wait(struct io *, int want, int timeout_ms);
/* Sends close_notify if it can, and frees the TLS context. */
void	 io_tls_close(struct io *);
/*
 * 1 when no input came within timeout_ms and none is held anywhere, in
 * the buffer or inside libtls: the next byte of the client will make
 * the socket readable.  0 when input waits, or the client left, or the
 * server stops (io_getline tells which).  Sends the replies queued.
 */
int	 io_idle(struct io *, int timeout_ms);
/* Frees the buffers, zeroed, if nothing is in them; 0, or -1. */
int	 io_release(struct io *);
/* Frees the buffers, whatever they hold. */
void	 io_free(struct io *);

/* ---- tls.c ---- */

/*
 * The server context from tls_cert and tls_key, read now (before the
 * privileges are dropped: the key may be readable by root only); NULL
 * when they are not set.  Exits with EX_CONFIG if they do not load.
 */
struct tls	*smtpd_tls_load(const struct conf *);
/*
 * Starts TLS on the session's socket: the handshake, within timeout.
 * 0, or -1 with the reason in err (the session must end: the state of
 * the connection is unknown).  info gets "TLSv1.3 with cipher NAME".
 */
int		 smtpd_tls_start(struct io *, int timeout_ms, char *info,
		    size_t infolen, char *err, size_t errlen);

/* ---- server.c ---- */

struct smtpd {
	struct conf	 conf;
	int		 foreground;
	struct tls	*tls;		/* NULL: no tls_cert, no TLS */
	pthread_mutex_t	 tlslock;	/* tls_accept_socket on tls */
	pthread_mutex_t	 maplock;	/* the resolver is not thread safe */
	struct resolver	 resolver;
	struct srs	 srs;		/* srs on: the secrets of srs.key */
	int		 stopfd;	/* readable once SIGTERM came */
};

extern struct smtpd	*env;

struct listener {
	int	 fd;
	int	 mode;		/* LISTEN_* */
	char	 name[80];	/* host:port, for the logs */
};

/*
 * Serves until SIGTERM; 0 once every session has ended, -1 if some are
 * still running after the stop grace.
 */
int	 server_run(struct listener *, size_t);
/* 1 once SIGTERM came: sessions close at their next read. */
int	 server_stopping(void);
/* Unlinks a finished session, closes its socket, frees it. */
void	 server_session_done(struct session *);

/* ---- worker.c ---- */

/*
 * Queues s for session_run in a worker thread, starting a thread if
 * none is free: 0, or -1 if none could be had (s was not queued).
 */
int	 worker_start(struct session *);

/* ---- park.c ---- */

#define PARK_TIMEOUT	0	/* the wait for a command ran out */
#define PARK_STOP	1	/* SIGTERM */
#define PARK_NOTHREAD	2	/* no worker thread could be had */

/* The epoll descriptor and its wakeup; once, before the sessions. */
int	 park_init(void);
/* The descriptors server.c polls: readable when park_run has work. */
int	 park_fd(void);
int	 park_wakefd(void);
/*
 * Parks s, which waits (s->wait) until s->deadline with its buffers
 * empty: 0, after which the caller no longer touches s; -1 if it
 * cannot be parked (the server stops, or epoll failed).
 */
int	 park_session(struct session *);
/*
 * In server.c's loop: hands the sessions whose client spoke to
 * workers, and ends or starts those whose deadline passed.  Returns
 * the ms to the next deadline, -1 for none.
 */
int	 park_run(void);
/* SIGTERM: ends every parked session with 421; no more parking. */
void	 park_stop(void);
/* resolver_refresh and resolve_rcpt, under maplock. */
void	 server_maps_refresh(void);
int	 server_resolve(const struct mailaddr *);
int	 server_dkim_selectors(const void *, const char *, char *, size_t);

/* ---- listen.c ---- */

/* Binds every listen line; exits with a message on failure. */
struct listener	*listen_open(const struct conf *, size_t *);

/* ---- authres.c ---- */

struct path_args;

/* Results of RFC 8601 2.7; the order of authres.c's names. */
#define AR_NONE		0
#define AR_PASS		1
#define AR_FAIL		2
#define AR_SOFTFAIL	3
#define AR_NEUTRAL	4
#define AR_TEMPERROR	5
#define AR_PERMERROR	6

/* SPF of one transaction, for the end of DATA. */
struct authres {
	int	 checked;	/* neither relaynets, nor AUTH, nor loopback */
	int	 spf;		/* AR_* of MAIL FROM (of HELO for <>) */
	int	 spf_helo;	/* AR_* of HELO; -1: not checked */
	char	 spf_domain[ADDR_DOMAIN_MAX + 1]; /* "" when none */
};

/* The libraries' contexts; once, before the sessions start. */
void	 authres_init(const struct conf *);
/* MAIL FROM: SPF; 0, or -1 after the reply (550 5.7.1, spf_policy reject). */
int	 authres_mail(struct session *, const struct path_args *);
/*
 * The end of DATA: DKIM and DMARC, then Authentication-Results: into
 * the spool file; 0, or -1 after the reply (550 5.7.26, 451).
 */
int	 authres_data(struct session *);

/* ---- authdns.c ---- */

struct dkim_lib;

/* The longest answer authdns_txt reads, and so its longest record. */
#define AUTHDNS_ANSWER_MAX	4096

/*
 * The DNS answer of (name, type) into ans, kept or asked on this
 * thread's resolver: its length (NOERROR or NXDOMAIN), or -1 for none
 * in time or a server's failure (a temperror).
 */
int	 authdns_query(const char *, int, unsigned char *, size_t);
/*
 * The one TXT record of name that want() takes (1), none or several of
 * them (0), or -1 for a DNS failure.
 */
int	 authdns_txt(const char *, int (*)(const char *), char *, size_t);
/* libopendkim's key lookups through authdns_query. */
void	 authdns_dkim(struct dkim_lib *);

/* ---- session.c ---- */

#define S_CONNECTED	0	/* no HELO or EHLO yet */
#define S_HELO		1
#define S_MAIL		2	/* MAIL accepted: a message is open */

/* What a session waits for, for session_run and park.c. */
#define SESSION_NEW	 0	/* accepted: the lookup, smtps, the greeting */
#define SESSION_GREETING 1	/* greet_delay runs */
#define SESSION_COMMAND	 2	/* the next command */

struct session {
	struct session	*prev, *next;	/* server.c's list, under its lock */
	struct session	*pprev, *pnext;	/* park.c's lists, under its lock */
	struct session	*runnext;	/* worker.c's queue, under its lock */
	int		 wait;		/* SESSION_* */
	struct timespec	 deadline;	/* of that wait (CLOCK_MONOTONIC) */
	int		 fd;
	int		 mode;		/* LISTEN_* of the listener */
	int		 trusted;	/* inside relaynets */
	unsigned char	 key[LIMITS_KEYLEN];	/* limits.c's, of ss */
	size_t		 nrefused;	/* recipients refused with 5xx */
	int		 auth_counted;	/* a check counted by limits.c */
	struct sockaddr_storage ss;
	socklen_t	 sslen;
	char		 addr[INET6_ADDRSTRLEN];
	char		 name[ADDR_DOMAIN_MAX + 1];	/* checked reverse DNS, or "unknown" */
	char		 helo[ADDR_DOMAIN_MAX + 1];
	int		 esmtp;
	char		 tlsinfo[128];	/* "" until TLS is on */
	char		 login[SMTPD_ADDRLEN];	/* "" until AUTH succeeds */
	int		 state;		/* S_* */
	int		 quit;
	struct io	 io;
	char		*line;		/* SMTPD_AUTH_LINE_MAX + 1, while served */
	struct spool_msg msg;
	char		 sender[SMTPD_ADDRLEN];
	struct authres	 ar;
	char		**rcpts;
	size_t		 nrcpts;
	int		*notify;	/* per rcpt: its NOTIFY */
	char		**orcpt;	/* per rcpt: its ORCPT, or NULL */
	int		 dsn_ret;	/* of MAIL: DSN_RET_* */
	char		 envid[DSN_ENVID_MAX + 1];
	size_t		 nerrors;
	size_t		 njunk;		/* commands since the last message */
	char		 lastreply[SMTP_CMD_MAX + 32]; /* the last reply, for the logs */
	struct milter_set *milters;	/* NULL: no milter in mail.conf */
	struct bdat	*bdat;		/* a BDAT transaction: bdat.c's */
	/* For the disconnect log line. */
	size_t		 ncommands, nmail, nrcpt, ndata;
};

/* Makes a session for an accepted socket; NULL on memory shortage. */
struct session	*session_new(int fd, const struct sockaddr *, socklen_t,
		    int mode);
/* In a worker: serves s until it is parked (park.c) or ends. */
void		 session_run(struct session *);
/* Ends a parked session with 421 (PARK_*), without ever blocking. */
void		 session_close_parked(struct session *, int why);
void		 session_free(struct session *);
/* Room for one more recipient in rcpts, notify and orcpt; 0 or -1. */
int		 session_rcpt_grow(struct session *);
void		 session_reply(struct session *, int, const char *,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
/*
 * The message begins (DATA, the first BDAT): the filters' DATA stage,
 * the envelope and Received: into the spool file.  0, or -1 after the
 * reply (the transaction is over).
 */
int		 session_data_begin(struct session *);

/* ---- auth.c ---- */

/*
 * The dummy hash (one check of the default cost) and the slots of the
 * password checks; once, before the sessions start.
 */
void		 auth_init(void);

/*
 * The AUTH exchange once session.c has checked that it may happen
 * (TLS on, after EHLO, outside a transaction, not yet authenticated):
 * arg is what follows "AUTH ".  Replies 235 and sets s->login, or
 * replies the failure.
 */
void		 auth_session(struct session *, char *arg);

/* ---- path.c ---- */

#define PATH_OK		0
#define PATH_SYNTAX	1	/* not "FROM:<...>" or "TO:<...>" */
#define PATH_ADDRESS	2	/* the mailbox does not parse */
#define PATH_PARAM	3	/* an unknown or bad parameter */
#define PATH_LITERAL	4	/* an address literal: a@[1.2.3.4] */
#define PATH_BADVALUE	5	/* a DSN parameter malformed: 501 */

struct path_args {
	int		 null;		/* <> */
	int		 postmaster;	/* <Postmaster>, no domain */
	struct mailaddr	 addr;
	int		 utf8;		/* the address was written in UTF-8 */
	int		 smtputf8;	/* MAIL's SMTPUTF8 (RFC 6531) */
	int		 has_size;
	uint64_t	 size;
	int		 ret;		/* RFC 3461: DSN_RET_* */
	char		 envid[DSN_ENVID_MAX + 1];	/* xtext, or "" */
	int		 notify;	/* DSN_NOTIFY_*, 0: not given */
	char		 orcpt[DSN_ORCPT_MAX + 1];	/* "" when none */
	const char	*errstr;
};

/* Parses what follows "MAIL" or "RCPT": keyword is "FROM" or "TO". */
int	 path_parse(const char *arg, const char *keyword, int esmtp,
	    struct path_args *);

/* ---- data.c ---- */

#define DATA_OK		0
#define DATA_TOOBIG	1	/* over maxsize: 552 */
#define DATA_BADLINE	2	/* bare CR or LF, NUL, line over 998: 550 */
#define DATA_IOERROR	3	/* the spool failed: 452 */
#define DATA_LOST	4	/* the client went away or timed out */
#define DATA_TIMEOUT	5

/* The From: fields of the header, unfolded, joined by ','. */
#define DATA_FROM_MAX	4096

struct data_result {
	int		 status;
	uint64_t	 size;		/* octets received, as sent */
	const char	*reason;	/* for DATA_BADLINE */
	char		*from;		/* set by the caller: DATA_FROM_MAX */
	size_t		 fromlen;
	int		 fromlong;	/* more than DATA_FROM_MAX - 1 */
	int		 header;	/* data.c's: where in the header */
};

/* A message begins: res (with from set by the caller) is reset. */
void	 data_begin(struct data_result *);
/*
 * One line of the message as the client sent it, with its line end
 * (the last one of a BDAT message may have none): checked, and written
 * to the spool with an LF line end; unstuff: DATA's dot-stuffing.
 */
void	 data_line(struct data_result *, struct spool_msg *,
	    const char *line, size_t len, int unstuff);
/* Sets the status and its reason, unless one is set already. */
void	 data_fail(struct data_result *, int status, const char *reason);

/*
 * Reads the message up to CRLF.CRLF from io into the spool file of
 * msg (after the envelope and the Received: header); and, if the
 * caller set from, the From: fields of its header.
 */
void	 data_receive(struct io *, struct spool_msg *, uint64_t maxsize,
	    int timeout_ms, struct data_result *);

/* ---- bdat.c ---- */

/*
 * BDAT size [LAST] (RFC 3030): the chunk is read whatever the reply.
 * NULL once replied (a chunk taken, a refusal, a session that ends);
 * after the LAST chunk of a message that may be committed, its result
 * for session.c's end of the message, unreplied.
 */
struct data_result *bdat_command(struct session *, char *arg);
/* The transaction ends: the BDAT state goes. */
void	 bdat_reset(struct session *);

/* ---- sender.c ---- */

/*
 * MAIL FROM: 0 if the session may use the sender, or -1 after the
 * reply (553 5.7.1 not owned, 451 a map cannot be read).
 */
int	 sender_check_mail(struct session *, const struct path_args *);
/* The end of DATA: 0, or -1 after the reply (550 5.7.1, 451). */
int	 sender_check_header(struct session *, const struct data_result *);
/*
 * RCPT: SENDER_SRS_NONE if addr is not an SRS address of a hosted
 * domain (or srs is off), SENDER_SRS_OK if it verifies, or
 * SENDER_SRS_REFUSED after the reply (550 5.1.1, 451).
 */
#define SENDER_SRS_NONE		0
#define SENDER_SRS_OK		1
#define SENDER_SRS_REFUSED	2
int	 sender_srs_rcpt(struct session *, const struct mailaddr *,
	    const char *rcpt);
/*
 * The next mailbox of an address list (RFC 5322 3.4), without display
 * name, comments and group name, into box; 1, or 0 at the end.  Then
 * that mailbox as addr_parse takes it: 1, 0 if empty, -1.
 */
int	 sender_from_next(const char **, char *, size_t);
int	 sender_from_mailbox(char *, struct mailaddr *);

/* ---- milter.c ---- */

/*
 * The filters of mail.conf, one connection each for the session.
 * Each stage returns 0 to go on, or -1 after the reply: a filter's
 * refusal, or milter_default's 451 for one that is down.
 * milter_connect's -1 is a filter's shutdown: 421 sent, the session
 * ends.  What CONNECT and HELO get is applied at each MAIL.
 */
int	 milter_connect(struct session *);
void	 milter_helo(struct session *);
int	 milter_mail(struct session *);
int	 milter_rcpt(struct session *, const char *rcpt);
int	 milter_data(struct session *);
/*
 * The end of DATA, after the sender check: the message to the
 * filters, their edits into the spool file.  0 to commit (msg.hold
 * set for a quarantine), 1 discarded (250 sent: the caller drops the
 * message), -1 after the refusal.
 */
int	 milter_eom(struct session *);
/* The transaction ends (RSET, a new HELO, the close): SMFIC_ABORT. */
void	 milter_abort(struct session *);
/* SMFIC_QUIT, the close. */
void	 milter_close(struct session *);
/* ---- limits.c ---- */

/* The table, once, before the sessions start. */
void	 limits_init(const struct conf *);
/* The key of sa into key (LIMITS_KEYLEN bytes); -1 if not IP. */
int	 limits_key(const struct sockaddr *, unsigned char *key);
/* At accept: 0, or -1 when over conn_rate (logged; no reply sent). */
int	 limits_connect(const struct session *);
/* MAIL: 0, or -1 after 451 4.7.0 (over msg_rate). */
int	 limits_mail(struct session *);
/*
 * Around auth_session: begin is 0, or -1 after 454 4.7.0 (locked out);
 * auth_fail counts a 535; end closes what begin opened.
 */
int	 limits_auth_begin(struct session *);
void	 limits_auth_fail(struct session *);
void	 limits_auth_end(struct session *);
/* After a refused recipient: 0, or -1 after 421 4.7.0 and quit set. */
int	 limits_rcpt_refused(struct session *);

/* ---- dnsbl.c ---- */

/*
 * At connect, before the greeting, for a client outside relaynets on a
 * plain listener: 0, or -1 after 554 5.7.1 and the client's QUIT (the
 * session must end).
 */
int	 dnsbl_check(struct session *);

/* ---- quota.c ---- */

/*
 * For a local recipient: 0, or -1 after 452 4.2.2 (552 5.2.2) when
 * every mailbox it reaches is full (quota_check_at_rcpt).
 */
int	 quota_rcpt(struct session *, const struct mailaddr *, const char *);

#endif /* !SMTPD_H */
