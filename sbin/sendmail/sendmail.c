/*
 * sendmail(8): puts a message from the local system (cron, periodic,
 * scripts, mail(1)) into basemail's spool, through spool.c as smtpd
 * does.  The spool is the mail user's, mode 0700: sendmail is
 * installed setuid and setgid to that user, like qmail-queue, so it
 * trusts nothing of its caller but the real uid.  See sendmail.8 for
 * why, and what that costs.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <paths.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "libmail.h"
#include "sendmail.h"

struct argrcpt {
	const struct sm_ctx	*ctx;
	struct sm_rcpts		*rcpts;
	char			 bad[ADDR_MAX + 2];
	const char		*errstr;
};

static __dead void usage(void);
static void	 cwd_spool(const struct conf *, const char **);
static void	 privs_drop_to_caller(void);
static void	 privs_mail_user(const struct conf *, int, uid_t *);
static void	 caller_identity(struct sm_ctx *, const char *);
static void	 set_sender(struct sm_ctx *, const char *);
static int	 argrcpt_cb(const char *, void *);
static __dead void run_other(const char *, const char *, const char *,
		    const char *, const char *, int);
static __dead void as_mailq(int, char *[], int, int);
static __dead void mailq_usage(void);

static __dead void
usage(void)
{
	fprintf(stderr, "usage: sendmail [-it] [-C file] [-F name] "
	    "[-f from] [-oi] address ...\n"
	    "       sendmail [-C file] -bs | -bp | -q\n");
	exit(EX_USAGE);
}

/*
 * The caller's working directory is none of ours, nor of the mailq and
 * deliver we run: the spool, or / until the spool exists.  A -C file
 * is named to them by its absolute path.
 */
static void
cwd_spool(const struct conf *conf, const char **conffile)
{
	static char	 abs[PATH_MAX];

	if (*conffile != NULL) {
		if (realpath(*conffile, abs) == NULL)
			err(EX_CONFIG, "%s", *conffile);
		*conffile = abs;
	}
	if (chdir(conf->spool) == -1 && chdir("/") == -1)
		err(EX_OSERR, "/");
}

/* -C by an ordinary user: that file gets the caller's rights only. */
static void
privs_drop_to_caller(void)
{
	gid_t	 gid = getgid();
	uid_t	 uid = getuid();

	if (setresgid(gid, gid, gid) == -1 || setresuid(uid, uid, uid) == -1)
		err(EX_OSERR, "cannot drop privileges");
}

/*
 * Runs as the mail user from here on: root becomes it; a setuid
 * sendmail makes it its real uid too, so that the caller can neither
 * signal nor trace the process that writes into the spool.  An
 * ordinary sendmail stays who it is (tests, make run).
 */
static void
privs_mail_user(const struct conf *conf, int privileged, uid_t *mailuid)
{
	char	 errbuf[256];
	uid_t	 uid;
	gid_t	 gid, egid = getegid();

	if (conf_user_ids(conf, &uid, &gid, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s: %s", conf->path, errbuf);
	*mailuid = uid;
	if (geteuid() == 0) {
		if (setgroups(1, &gid) == -1 ||
		    setresgid(gid, gid, gid) == -1 ||
		    setresuid(uid, uid, uid) == -1)
			err(EX_OSERR, "cannot become %s", conf->user);
		return;
	}
	if (!privileged)
		return;
	if (geteuid() != uid)
		errx(EX_CONFIG, "sendmail is setuid to uid %u, but the mail "
		    "user %s of %s is uid %u", (unsigned)geteuid(), conf->user,
		    conf->path, (unsigned)uid);
	if (setresgid(egid, egid, egid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		err(EX_OSERR, "cannot become %s", conf->user);
}

/* The caller, by its real uid: the Received: line, From: and sender. */
static void
caller_identity(struct sm_ctx *ctx, const char *fullname)
{
	struct passwd	*pw;
	const char	*errstr;
	char		 login[64];

	if ((pw = getpwuid(ctx->uid)) != NULL)
		strlcpy(login, pw->pw_name, sizeof(login));
	else
		snprintf(login, sizeof(login), "uid%u", (unsigned)ctx->uid);
	if (message_qualify(ctx, login, ctx->fromaddr,
	    sizeof(ctx->fromaddr), &errstr) == -1)
		errx(EX_DATAERR, "%s: cannot be a sender address: %s", login,
		    errstr);
	if (fullname != NULL)
		strlcpy(ctx->fullname, fullname, sizeof(ctx->fullname));
	else if (pw != NULL && pw->pw_gecos != NULL) {
		strlcpy(ctx->fullname, pw->pw_gecos, sizeof(ctx->fullname));
		ctx->fullname[strcspn(ctx->fullname, ",")] = '\0';
	}
	strlcpy(ctx->sender, ctx->fromaddr, sizeof(ctx->sender));
}

/* -f: "<>" or "" is the null sender; an unqualified name gets @hostname. */
static void
set_sender(struct sm_ctx *ctx, const char *from)
{
	char		 buf[ADDR_MAX + 3];
	const char	*errstr;
	size_t		 len;

	strlcpy(buf, from, sizeof(buf));
	len = strlen(buf);
	if (len >= 2 && buf[0] == '<' && buf[len - 1] == '>') {
		buf[len - 1] = '\0';
		memmove(buf, buf + 1, len - 1);
	}
	if (buf[0] == '\0') {
		ctx->sender[0] = '\0';
		return;
	}
	if (message_qualify(ctx, buf, ctx->sender, sizeof(ctx->sender),
	    &errstr) == -1)
		errx(EX_DATAERR, "-f %s: %s", from, errstr);
}

static int
argrcpt_cb(const char *addr, void *arg)
{
	struct argrcpt	*a = arg;
	char		 q[ADDR_MAX + 1];

	if (message_qualify(a->ctx, addr, q, sizeof(q), &a->errstr) == -1) {
		strlcpy(a->bad, addr, sizeof(a->bad));
		return 1;
	}
	if (rcpts_add(a->rcpts, q) == -1)
		err(EX_OSERR, NULL);
	return 0;
}

/*
 * -bp and -q hand over to mailq and deliver.  A setuid sendmail, and
 * root's, run them from the path they were installed at, never from
 * PATH; an ordinary one (tests, make run) takes them from PATH.
 */
static __dead void
run_other(const char *path, const char *name, const char *flag,
    const char *flagarg, const char *conffile, int installed)
{
	char	*av[6];
	int	 ac = 0;

	av[ac++] = (char *)name;
	if (flag != NULL)
		av[ac++] = (char *)flag;
	if (flagarg != NULL)
		av[ac++] = (char *)flagarg;
	if (conffile != NULL) {
		av[ac++] = "-C";
		av[ac++] = (char *)conffile;
	}
	av[ac] = NULL;
	if (installed)
		execv(path, av);
	else
		execvp(name, av);
	err(EX_UNAVAILABLE, "%s", installed ? path : name);
}

/*
 * Run as mailq (mailwrapper's "mailq" line), the command line is
 * mailq(1)'s, handed to mailq as it is.  Removing and flushing are for
 * root and the mail user alone: a setuid sendmail runs mailq as the
 * mail user, whom mailq would let do anything.
 */
static __dead void
as_mailq(int argc, char *argv[], int privileged, int installed)
{
	struct conf	 conf;
	char		 errbuf[512];
	const char	*conffile = NULL, *flag = NULL, *rmid = NULL;
	int		 ch, nflags = 0;
	uid_t		 uid = getuid(), mailuid;

	while ((ch = getopt(argc, argv, "C:fr:v")) != -1) {
		switch (ch) {
		case 'C':
			conffile = optarg;
			break;
		case 'f':
		case 'v':
			flag = ch == 'f' ? "-f" : "-v";
			nflags++;
			break;
		case 'r':
			flag = "-r";
			rmid = optarg;
			nflags++;
			break;
		default:
			mailq_usage();
		}
	}
	if (optind != argc || nflags > 1)
		mailq_usage();
	if (conffile != NULL && privileged && uid != 0) {
		privs_drop_to_caller();
		privileged = 0;
	}
	if (conf_load(&conf, conffile, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	privs_mail_user(&conf, privileged, &mailuid);
	cwd_spool(&conf, &conffile);
	if (flag != NULL && strcmp(flag, "-v") != 0 && uid != 0 &&
	    uid != mailuid)
		errx(EX_NOPERM, "%s: only root and %s may", flag, conf.user);
	run_other(PATH_MAILQ, "mailq", flag, rmid, conffile, installed);
}

static __dead void
mailq_usage(void)
{
	fprintf(stderr, "usage: mailq [-v] [-C file]\n"
	    "       mailq [-C file] -f | -r id\n");
	exit(EX_USAGE);
}

int
main(int argc, char *argv[])
{
	struct conf	 conf;
	struct sm_ctx	 ctx;
	struct sm_rcpts	 rcpts = { NULL, 0, 0 };
	struct sm_input	 in;
	struct argrcpt	 ar;
	char		 errbuf[512], id[SPOOL_IDLEN + 1];
	const char	*conffile = NULL, *from = NULL, *fullname = NULL;
	const char	*mode = "m", *prog;
	int		 ch, privileged, installed, iflag = 0, tflag = 0, r;
	uid_t		 mailuid;
	struct caller	 caller;

	/*
	 * What a process keeps across execve(2), set by the caller and
	 * passed on to the mailq and deliver we run, is reset (caller.c):
	 * a setuid sendmail starts from an empty environment; descriptors
	 * above 2 (a file of the caller's in a process of the mail user)
	 * are closed; the signal mask and ignored signals, interval timers
	 * and low soft limits of CPU time and file size, which could stop
	 * it half-way through a queue file, are reset; no core dumps.
	 * What stays is in sendmail(8), SECURITY CONSIDERATIONS.
	 */
	if (caller_init(&caller) == -1)
		err(EX_OSERR, "cannot reset the process state");
	caller_close_fds(-1);
	privileged = caller.setid;
	installed = privileged || getuid() == 0;
	umask(077);

	/* mailwrapper(8) runs us as mailq for mailer.conf's "mailq" line. */
	prog = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 :
	    argv[0];
	if (strcmp(prog, "mailq") == 0)
		as_mailq(argc, argv, privileged, installed);
	while ((ch = getopt(argc, argv, "B:b:C:F:f:iN:o:qr:tv")) != -1) {
		switch (ch) {
		case 'b':
			if (strcmp(optarg, "m") != 0 &&
			    strcmp(optarg, "p") != 0 &&
			    strcmp(optarg, "s") != 0)
				errx(EX_USAGE, "-b%s: not supported", optarg);
			mode = optarg;
			break;
		case 'C':
			conffile = optarg;
			break;
		case 'F':
			fullname = optarg;
			break;
		case 'f':
		case 'r':
			from = optarg;
			break;
		case 'i':
			iflag = 1;
			break;
		case 'o':
			/* -oi is -i; -odX, -oeX, -om and the like mean nothing here. */
			if (strcmp(optarg, "i") == 0)
				iflag = 1;
			break;
		case 'q':
			mode = "q";
			break;
		case 't':
			tflag = 1;
			break;
		case 'B':
		case 'N':
		case 'v':
			/* Accepted for the callers that pass them. */
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (strcmp(mode, "m") != 0 && (argc > 0 || tflag))
		usage();

	if (conffile != NULL && privileged && getuid() != 0) {
		privs_drop_to_caller();
		privileged = 0;
	}
	if (conf_load(&conf, conffile, errbuf, sizeof(errbuf)) == -1)
		errx(EX_CONFIG, "%s", errbuf);
	memset(&ctx, 0, sizeof(ctx));
	ctx.conf = &conf;
	ctx.uid = getuid();
	privs_mail_user(&conf, privileged, &mailuid);
	cwd_spool(&conf, &conffile);

	if (strcmp(mode, "p") == 0)
		run_other(PATH_MAILQ, "mailq", NULL, NULL, conffile, installed);
	if (strcmp(mode, "q") == 0) {
		if (ctx.uid != 0 && ctx.uid != mailuid)
			errx(EX_NOPERM, "-q: only root and %s run the queue",
			    conf.user);
		run_other(PATH_DELIVER, "deliver", "-q", NULL, conffile,
		    installed);
	}

	log_init("sendmail", 0);
	caller_identity(&ctx, fullname);
	if (strcmp(mode, "s") == 0)
		return smtp_session(&ctx);

	if (from != NULL)
		set_sender(&ctx, from);
	ar.ctx = &ctx;
	ar.rcpts = &rcpts;
	for (; argc > 0; argc--, argv++) {
		r = addrlist_split(*argv, argrcpt_cb, &ar);
		if (r == -1)
			errx(EX_DATAERR, "%s: bad address list", *argv);
		if (r != 0)
			errx(EX_DATAERR, "%s: %s", ar.bad, ar.errstr);
	}
	if (rcpts.n == 0 && !tflag)
		errx(EX_USAGE, "no recipients: name them, or use -t");

	memset(&in, 0, sizeof(in));
	in.fp = stdin;
	in.mode = iflag ? IN_PLAIN_NODOT : IN_PLAIN;
	switch (message_queue(&ctx, &in, tflag, &rcpts, id, errbuf,
	    sizeof(errbuf))) {
	case SM_OK:
		break;
	case SM_NORCPT:
		errx(EX_USAGE, "no recipients in the message's header");
	case SM_TEMPFAIL:
		log_warnx("uid %u: message not queued: %s",
		    (unsigned)ctx.uid, errbuf);
		if (errno == EACCES && !privileged && geteuid() != mailuid)
			errx(EX_TEMPFAIL, "message not queued: %s (sendmail "
			    "must be setuid to %s: see sendmail(8))", errbuf,
			    conf.user);
		errx(EX_TEMPFAIL, "message not queued: %s", errbuf);
	default:
		errx(EX_DATAERR, "message not queued: %s", errbuf);
	}
	log_info("%s: from=<%s> uid=%u nrcpt=%zu: queued by sendmail", id,
	    ctx.sender, (unsigned)ctx.uid, rcpts.n);
	rcpts_clear(&rcpts);
	free(in.line);
	conf_free(&conf);
	return EX_OK;
}
