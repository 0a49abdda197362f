/*
 * libmail: the internal library of basemail.  One section per file of
 * lib/libmail; each section is owned by that file.
 */
#ifndef LIBMAIL_H
#define LIBMAIL_H

#include <sys/types.h>
#include <sys/socket.h>

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#ifndef __dead
#define __dead		__attribute__((__noreturn__))
#endif

/* A set-ID command's copy for tests may be built with another one. */
#ifndef MAIL_CONF
#define MAIL_CONF	"/etc/mail/mail.conf"
#endif

/* RFC 5321 section 4.5.3.1 limits. */
#define ADDR_LOCAL_MAX	64
#define ADDR_DOMAIN_MAX	255
#define ADDR_MAX	254

/* ---- caller.c: the caller of a set-ID command ---------------------- */

#define CALLER_LOGIN_MAX	32	/* longest login name of owner= */

struct caller {
	uid_t	 uid;			/* real: who called us */
	char	 login[CALLER_LOGIN_MAX + 1]; /* of uid, "" if none */
	int	 setid;			/* started set-user- or set-group-ID */
	uid_t	 mailuid;		/* set by caller_become */
	int	 delegated;		/* neither root nor the mail user */
};

/*
 * First in main: a set-ID process gets an empty environment (PATH the
 * system's); any process gets descriptors 0-2 open, the default
 * signal state, no timers, no core dumps.  Records the real UID and
 * its login name.  0, or -1 (errno set): exit then.
 */
int	 caller_init(struct caller *);
/* Once the options are read: closes every descriptor above 2 but keep. */
void	 caller_close_fds(int keep);
/*
 * Once mail.conf is read: a set-ID process becomes the mail user
 * wholly (or root, for root), after checking that it was set-ID to
 * that user and group.  Sets delegated.  0, or -1 with a message.
 */
int	 caller_become(struct caller *, uid_t mailuid, gid_t mailgid,
	    char *err, size_t errlen);
/*
 * For a delegated caller: mapdir must be its own real path (no
 * symbolic link in it), a directory, and it and its maps (those that
 * exist: regular files) written by root or the mail user alone;
 * mail.conf and its directory root's alone.  0, or -1 with a message.
 */
int	 caller_mapdir_check(const char *mapdir, uid_t mailuid, char *err,
	    size_t errlen);
int	 caller_conf_check(const char *conffile, char *err, size_t errlen);
/* 1 if the caller may change the domain of this domains value (owner=). */
int	 caller_owns(const struct caller *, const char *domvalue);
/* An owner= value: logins split by ','; 0, or -1 with the reason. */
int	 caller_owners_valid(const char *value, char *why, size_t whylen);

/* ---- conf.c: mail.conf(5) ---------------------------------------- */

#define LISTEN_PLAIN		0
#define LISTEN_SUBMISSION	1
#define LISTEN_SMTPS		2

struct conf_listen {
	char	host[64];		/* numeric address, no brackets */
	char	port[8];
	int	family;			/* AF_INET or AF_INET6 */
	int	mode;			/* LISTEN_* */
};

struct conf_net {
	int		family;		/* AF_INET or AF_INET6 */
	unsigned char	addr[16];	/* network byte order */
	int		prefix;		/* bits */
};

/* A limit of smtpd(8): 0 is none; all: relaynets clients too. */
struct conf_limit {
	size_t	n;
	int	all;
};

#define CONF_DNSBL_MAX	16
#define CONF_AUTH_FAIL_MAX 100	/* auth_fail_limit: failures remembered */

struct conf_dnsbl {
	char	zone[ADDR_DOMAIN_MAX + 1];
	size_t	threshold;	/* zones that must list the client, 1 and up */
};

#define CONF_LMTP_MAX	16
/* sun_path of sockaddr_un: 104 on the BSDs, 108 on Linux. */
#define CONF_LMTP_PATHMAX 104

/* An LMTP server of deliver(8): a unix socket, or a host and a port. */
struct conf_lmtp {
	char	path[CONF_LMTP_PATHMAX];	/* "" for host:port */
	char	host[ADDR_DOMAIN_MAX + 1];
	char	port[8];
};

/* TLS policies: relayhost_tls of mail.conf, values of the tls_policy map. */
#define CONF_TLS_NONE		0	/* never STARTTLS */
#define CONF_TLS_MAY		1	/* if offered; else in the clear */
#define CONF_TLS_ENCRYPT	2	/* required, no certificate check */
#define CONF_TLS_VERIFY		3	/* required, chain and name checked */

struct conf {
	char		 path[PATH_MAX];	/* the file that was read */
	char		 hostname[ADDR_DOMAIN_MAX + 1];
	struct conf_listen *listen;
	size_t		 nlisten;
	char		 user[64];
	char		 spool[PATH_MAX];
	char		 mapdir[PATH_MAX];
	char		 maildir[PATH_MAX];	/* template with %d and %u */
	struct conf_net	*relaynets;
	size_t		 nrelaynets;
	char		 relayhost[ADDR_DOMAIN_MAX + 1]; /* "" when unset */
	char		 relayport[8];
	int		 relayhost_smtps;	/* implicit TLS (RFC 8314) */
	int		 relayhost_tls;		/* CONF_TLS_* */
	char		 relayhost_auth[PATH_MAX]; /* "" when unset */
	char		 tls_ca_file[PATH_MAX];	/* "": the system's CA store */
	uint64_t	 maxsize;		/* bytes */
	size_t		 maxrcpt;
	char		 recipient_delimiter[8]; /* "" disables it */
	time_t		 queue_lifetime;	/* seconds */
	char		 postmaster[ADDR_MAX + 1];
	char		 tls_cert[PATH_MAX];	/* "" when unset */
	char		 tls_key[PATH_MAX];
	/* mailadduser(8) */
	char		 attic[PATH_MAX];	/* deleted Maildirs wait here */
	time_t		 delete_grace;		/* seconds, default 2d */
	/* smtpd(8) limits */
	time_t		 command_timeout;	/* default 5m */
	time_t		 data_timeout;		/* default 10m */
	size_t		 max_errors;		/* default 10 */
	size_t		 max_sessions;		/* default 100 */
	size_t		 max_sessions_per_ip;	/* default 20 */
	int		 max_sessions_per_ip_all; /* relaynets too ("all") */
	size_t		 max_junk_commands;	/* default 100 */
	time_t		 greet_delay;		/* default 1s, 0: none */
	/* deliver(8) */
	time_t		*retry_schedule;	/* growing intervals, seconds */
	size_t		 nretry_schedule;
	time_t		 delay_warning;		/* 0: none */
	size_t		 max_deliveries;	/* concurrent, default 20 */
	size_t		 max_per_destination;	/* default 4 */
	/* Sender ownership (smtpd) and SRS (smtpd, deliver). */
	int		 sender_check;		/* SENDER_CHECK_* */
	int		 srs;			/* 1: srs on */
	/* Sender authentication (smtpd): CONF_POLICY_* */
	int		 spf_policy;		/* default mark */
	int		 dmarc_policy;		/* default quarantine */
	/* smtpd(8) milters, applied in order */
	struct conf_milter *milters;
	size_t		 nmilters;
	time_t		 milter_timeout;	/* default 30s */
	int		 milter_default;	/* CONF_MILTER_* */
	/* smtpd(8) abuse limits, per client address (sbin/smtpd/limits.c). */
	struct conf_limit conn_rate;		/* a minute, default 60 */
	struct conf_limit msg_rate;		/* a minute, default 120 */
	struct conf_limit max_rcpt_refused;	/* a session, default 20 */
	struct conf_limit auth_fail_limit;	/* default 10 */
	time_t		 auth_fail_window;	/* default 10m */
	time_t		 auth_fail_lockout;	/* default: the window */
	/* DNS blocklists asked at connect (sbin/smtpd/dnsbl.c). */
	struct conf_dnsbl *dnsbl;
	size_t		 ndnsbl;
	/* deliver(8): local mail to these LMTP servers, tried in order. */
	struct conf_lmtp *lmtp;
	size_t		 nlmtp;
	/* smtpd(8): a full mailbox refused at RCPT. */
	int		 quota_check_at_rcpt;	/* default: 1 without lmtp */
	int		 quota_full_tempfail;	/* 1: 452 (default), 0: 552 */
};

/* spf_policy and dmarc_policy: what a failure gets. */
#define CONF_POLICY_MARK	0	/* Authentication-Results: only */
#define CONF_POLICY_QUARANTINE	1	/* into the Junk folder */
#define CONF_POLICY_REJECT	2	/* refused with 550 */
/* milter unix:PATH | inet:HOST:PORT | inet:[V6]:PORT */
struct conf_milter {
	int		 family;		/* AF_UNIX, or AF_UNSPEC: inet */
	char		 path[108];		/* AF_UNIX: sun_path */
	char		 host[ADDR_DOMAIN_MAX + 1]; /* inet: name or address */
	char		 port[8];
	char		 name[300];		/* as written, for the logs */
};

#define CONF_MILTER_TEMPFAIL	0	/* the default */
#define CONF_MILTER_ACCEPT	1

#define SENDER_CHECK_NONE	0
#define SENDER_CHECK_ENVELOPE	1	/* the default */
#define SENDER_CHECK_HEADER	2	/* the From: header as well */

/*
 * Reads a mail.conf(5) file into conf; path NULL means MAIL_CONF.  On an
 * error, returns -1 with a message "file:line: reason" (or "file:
 * reason") in err, and nothing to free; the caller exits with
 * EX_CONFIG.  After 0, conf_free releases the lists.
 */
int	 conf_load(struct conf *, const char *path, char *err, size_t errlen);
void	 conf_free(struct conf *);
/*
 * "35M" -> bytes (K, M, G: powers of 1024; at most INT64_MAX), "5d" ->
 * seconds (s, m, h, d; at most INT32_MAX); -1 on a bad value.
 */
int	 conf_parse_size(const char *, uint64_t *);
int	 conf_parse_duration(const char *, time_t *);
/* 1 when sa is inside one of relaynets (::ffff:a.b.c.d as a.b.c.d). */
int	 conf_relaynet_match(const struct conf *, const struct sockaddr *);
/* "none", "may", "encrypt", "verify" -> CONF_TLS_*, or -1; and back. */
int	 conf_tls_policy(const char *);
const char *conf_tls_policy_name(int);
/* Looks up conf->user: uid, gid; -1 (with a message in err) if absent or root. */
int	 conf_user_ids(const struct conf *, uid_t *, gid_t *, char *err,
	    size_t errlen);

/* ---- addr.c: addresses ------------------------------------------- */

struct mailaddr {
	char	local[ADDR_LOCAL_MAX + 3];	/* +2 for a quoted form */
	char	domain[ADDR_DOMAIN_MAX + 1];	/* A-label form, lower case */
};

/*
 * Parses "local@domain" (RFC 5321 Mailbox: dot-atom or quoted-string
 * local part, a domain name; no address literals), with the UTF-8 of
 * RFC 6531: well-formed UTF-8 only (no overlong form, no surrogate),
 * no C0 or C1 control and no DEL anywhere.  The domain is turned into
 * its A-label form (libidn2) and lower-cased; a trailing dot is
 * refused.  The local part is kept as written, quotes included, at
 * most 64 octets; the address at most 254, as written and in its
 * A-label form.  "a!b@c" and "a%b@c" pass (atext); "a@b@c",
 * "@route:a@b", "a@[192.0.2.1]" and a missing "@domain" are refused.
 * Whether UTF-8 may be used at all (SMTPUTF8) is the caller's matter.
 * Returns 0, or -1 with a static reason in *errstr.
 */
int	 addr_parse(const char *, struct mailaddr *, const char **errstr);
/*
 * Like addr_parse, and also refuses what could become a path or a
 * surprise in a file: quoted local parts (and so control characters,
 * ':', ',', spaces, a leading '.', "..", a trailing '.'), '/', the
 * routing tricks '!' and '%', '|' and '#', and an address not in
 * Unicode NFC.  For mailboxes and everything the admin commands write.
 */
int	 addr_parse_safe(const char *, struct mailaddr *, const char **errstr);
/*
 * Checks an ASCII domain name: LDH labels of 1 to 63, no '-' at either
 * end of a label, at most 255 in all, no trailing dot, a last label
 * not all digits (so no bare IPv4 address); 0 or -1.
 */
int	 addr_domain_valid(const char *, const char **errstr);
/*
 * A domain as written (ASCII, A-labels or U-labels) into its one form:
 * A-labels, lower case, checked as addr_domain_valid; 0 or -1.
 */
int	 addr_domain_canon(const char *, char *out, size_t outlen,
	    const char **errstr);
/*
 * "local@domain", the key of every map: the local part ASCII
 * lower-cased (no other case folding) and in NFC, the domain in
 * A-label form; the key of a key is itself; -1 if too long.
 */
int	 addr_key(const struct mailaddr *, char *, size_t);
/* 1 if s is all ASCII. */
int	 addr_is_ascii(const char *);
/*
 * 0 if s is well-formed UTF-8 without C1 controls (the ASCII ones are
 * left to the grammar that reads s); -1 + errstr.
 */
int	 addr_utf8_valid(const char *, const char **errstr);
/* 1 if s (well-formed UTF-8) is in Unicode NFC. */
int	 addr_utf8_nfc(const char *);
/*
 * Splits a "+tag" off the local part at the first of the delimiter
 * characters: base gets the address without it.  Returns 1 if a tag
 * was split off, 0 if not (base is a copy): no delimiter, a delimiter
 * as the first character ("+foo@d"), a quoted local part, or
 * delimiters NULL or "".
 */
int	 addr_strip_tag(const struct mailaddr *, const char *delimiters,
	    struct mailaddr *base);
/* Lower-cases a string in place (ASCII only). */
void	 addr_lower(char *);

/* ---- file.c: durable file operations ------------------------------ */

/* fsyncs the directory dir, which makes the renames in it durable. */
int	 file_sync_dir(const char *dir);
/* Copies size bytes at off of from to off of to; 0 or -1. */
int	 file_copy_range(int from, int to, off_t off, off_t size);
/*
 * One line of fd into buf (size bytes, NUL-terminated), its newline
 * stripped, read a byte at a time so that nothing after it is taken
 * from the descriptor (a script may pass more on it).  Its length, or
 * -1 with buf wiped and errno: EINVAL for a NUL byte, EMSGSIZE for a
 * line that does not fit, or what read(2) said.
 */
ssize_t	 file_read_line(int fd, char *buf, size_t size);
/* "dir/.base[.tag].8 hex digits" beside path, into buf; 0 or -1. */
int	 file_sibling_name(const char *path, const char *tag, char *buf,
	    size_t len);

/* ---- log.c: syslog, or stderr in the foreground ------------------- */

/*
 * log_init(ident, 0) opens syslog (LOG_PID, facility mail); with 1,
 * lines "ident: message" go to stderr and log_debug prints too.
 * Control characters are written as \ooo.  log_warn and fatal append
 * ": strerror(errno)"; fatal and fatalx log at LOG_CRIT and exit(1).
 */

void	 log_init(const char *ident, int foreground);
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
__dead void fatal(const char *, ...) __attribute__((format(printf, 1, 2)));
__dead void fatalx(const char *, ...) __attribute__((format(printf, 1, 2)));

/* ---- map.c: Berkeley DB hash maps, read side and build side ------- */

/*
 * Keys and values are stored with their trailing NUL, keys in lower
 * case, as Postfix's postmap writes hash: tables.
 */
#define MAP_KEY_MAX	512		/* longest key, without the NUL */
struct map;

/* Opens mapdir/name.db read-only; NULL (errno set) on failure. */
struct map	*map_open(const char *mapdir, const char *name);
/*
 * Looks key up (folded to lower case).  Returns 1 and copies the value
 * into val, 0 if absent, -1 on an error (the map cannot be read, or
 * the value does not fit).
 */
int		 map_lookup(struct map *, const char *key, char *val,
		    size_t vallen);
/*
 * Reopens the map if the file on disk was replaced (inode, device,
 * mtime or size differ); 0, or -1 (the old map stays open).
 */
int		 map_refresh(struct map *);
void		 map_close(struct map *);

/*
 * Writes a new .db: a temporary file next to dbpath (created with
 * O_EXCL), each pair put, then committed: written out, fsynced,
 * renamed over dbpath, the directory fsynced.  Any failure, or
 * map_build_abort, unlinks the temporary file and frees the builder.
 * nkeys, if known, sizes the hash table and the cache for a fast build.
 */
struct map_builder;
struct map_builder *map_build_begin(const char *dbpath);
struct map_builder *map_build_begin_hint(const char *dbpath, size_t nkeys);
/* A builder that starts from a copy of the .db frompath. */
struct map_builder *map_build_begin_copy(const char *dbpath,
		    const char *frompath);
int		 map_build_put(struct map_builder *, const char *key,
		    const char *val);	/* 1 if the key exists already */
/* Puts or replaces a pair; deletes a key (1 if it was there); 0 or -1. */
int		 map_build_set(struct map_builder *, const char *key,
		    const char *val);
int		 map_build_del(struct map_builder *, const char *key);
/* The file's mode and group ((gid_t)-1: unchanged; default 0644). */
int		 map_build_mode(struct map_builder *, mode_t, gid_t);
/* The file's mtime once committed (default: the time of the writes). */
int		 map_build_mtime(struct map_builder *, const struct timespec *);
/*
 * Writes the file out and fsyncs it, without the rename, so that a
 * writer of several maps makes every one ready before renaming any;
 * on -1 only map_build_abort remains to be called.
 */
int		 map_build_ready(struct map_builder *);
/* fsyncs the temporary file and renames it over dbpath. */
int		 map_build_commit(struct map_builder *);
void		 map_build_abort(struct map_builder *);

/* ---- mapsrc.c: the text maps (mailmaps(5)) ------------------------ */

#define MAP_DOMAINS	0
#define MAP_USERS	1
#define MAP_ALIASES	2
#define MAP_TLS_POLICY	3	/* optional, read by deliver(8) alone */
#define MAP_COUNT	4

#define MAPSRC_LINE_MAX	65535	/* longest line of a text map */

extern const char *const mapsrc_names[MAP_COUNT]; /* "domains", ... */

/*
 * One line of a text map; comments, blank lines and lines that do not
 * parse have key NULL (bad set for the last), and are written back
 * verbatim when the map is rewritten.
 */
struct mapsrc_line {
	char	*text;		/* the line as written, without newline */
	char	*key;		/* lower case */
	char	*value;		/* normalised value, as stored in the .db */
	size_t	 lineno;	/* 0 for a line added since the map was read */
	int	 bad;		/* reported as an error */
};

struct mapsrc_chunk;
struct mapsrc_slot;

struct mapsrc {
	int			 kind;		/* MAP_* */
	char			 path[PATH_MAX];
	struct mapsrc_line	*lines;
	size_t			 nlines;
	size_t			 nerrors;	/* reported for this map */
	/* The rest is mapsrc.c's own. */
	size_t			 cap;
	size_t			 nkeys;		/* keyed lines */
	struct mapsrc_chunk	*arena;
	struct mapsrc_slot	*index;		/* key -> line */
	size_t			 indexsize;
	int			 indexstale;
	size_t			 nscans;	/* lookups without an index */
	char			**changed;	/* keys changed since read */
	size_t			 nchanged;
	size_t			 changedcap;
	int			 exists;	/* the text file was there */
	struct timespec		 mtime;		/* of the text file as read */
	int			 textfd;	/* the text file as read, */
	int			 hastextfd;	/* kept open to copy from */
	char			*textbuf;	/* its bytes, '\n' now NUL */
	size_t			 textlen;
	const char		*texttail;	/* a last line without '\n' */
	struct timespec		 textmtime;
	int			 dbmatch;	/* the .db was built from it */
	int			 trusted;	/* read without checking */
	struct map		*deferred;	/* not read yet: its .db */
	int			 textnonl;	/* it does not end in '\n' */
	int			 unreadable;	/* reading it later failed */
	uid_t			 uid;		/* the only ones a users */
	gid_t			 gid;		/* line may name, or -1 */
};

/* The sources of a mapdir, as the admin commands edit them. */
struct mapset {
	char		mapdir[PATH_MAX];
	int		lockfd;
	struct mapsrc	src[MAP_COUNT];
	/*
	 * For mapset_check: the recipient delimiter of mail.conf (a
	 * "user+tag@domain" alias target is checked as "user@domain");
	 * mapset_open sets "+".
	 */
	char		delimiter[8];
};

/*
 * Takes the exclusive lock of mapdir (mapdir/.lock, created if missing)
 * when lock is 1, and reads the sources (a missing source is an
 * empty map).  Each bad line is reported with warnx(3) as "file:line:
 * reason"; returns the number of errors, or -1 (with warn(3)) if a
 * file cannot be read or the lock taken.
 */
int	 mapset_open(struct mapset *, const char *mapdir, int lock);
/*
 * mapset_open with flags: MAPSET_LOCK takes the lock; MAPSET_VERIFY
 * checks every line even of a text file whose .db was compiled from it
 * (mapset_open trusts such a file, checked when it was written, and
 * only splits its lines: see mapsrc.c).
 */
#define MAPSET_LOCK	0x01
#define MAPSET_VERIFY	0x02
/*
 * MAPSET_APPEND, for a caller that looks keys up and adds lines: a
 * text file its .db was compiled from is not read at all (the .db
 * answers mapsrc_find) until mapsrc_read_all, or a lookup that finds
 * the key, needs its lines; its new version is the file copied as it
 * is, then the lines added.  If the lines cannot be read when needed,
 * mapset_install and mapset_compile refuse to write any map of the set.
 */
#define MAPSET_APPEND	0x04
int	 mapset_open_flags(struct mapset *, const char *mapdir, int flags);
/*
 * mapset_open_flags for the mail user of mail.conf (conf_user_ids):
 * a users line that names other ids is an error, and the lock file
 * (mode 0600) is made the mail user's when root takes it.  The others
 * accept any ids but 0.  Every command that writes a map uses this.
 * A writer waits at most mapset_lock_wait seconds for the lock, then
 * fails with errno EWOULDBLOCK.
 */
int	 mapset_open_ids(struct mapset *, const char *mapdir, int flags,
	    uid_t uid, gid_t gid);
#define MAPSET_LOCK_WAIT	20
extern int mapset_lock_wait;
/* Reads the lines of a map MAPSET_APPEND left unread; 0, or -1 (warn). */
int	 mapsrc_read_all(struct mapsrc *);
/*
 * Cross-checks of mailmaps(5): an alias shadowing a mailbox, an alias
 * target in a hosted domain that resolves to nothing, an alias domain
 * pointing at a domain not hosted or at another alias domain, a
 * mailbox or an alias in a domain not hosted or in an alias domain.
 * Reports like mapset_open and counts in each map's nerrors; returns
 * the number of errors.
 */
int	 mapset_check(struct mapset *);
/* Entry lookup in a source (key folded to lower case): the line, or NULL. */
struct mapsrc_line *mapsrc_find(struct mapsrc *, const char *key);
/*
 * Appends, replaces or removes an entry (text is the whole line).  Add
 * and replace parse text like a line of the file and refuse, with
 * warnx(3) and -1, a line that does not parse or whose key is taken by
 * another line.  Line pointers are invalid after any of the three.
 */
int	 mapsrc_add(struct mapsrc *, const char *text);
int	 mapsrc_replace(struct mapsrc *, struct mapsrc_line *, const char *text);
void	 mapsrc_remove(struct mapsrc *, struct mapsrc_line *);
/*
 * Writes the given sources (bit mask of 1 << MAP_*) and their .db to
 * temporary files, fsyncs them and renames them into place (each .db
 * before its source, as pwd_mkdb(8) does), with the modes of
 * mailmaps(5): domains, aliases 0644; users 0640 and group usersgid
 * (changed when allowed: as root, or a group of ours).  0 or -1 (with
 * warn(3)); on -1 nothing changed and no temporary file remains.
 */
int	 mapset_install(struct mapset *, int which, gid_t usersgid);
/* Like mapset_install, but writes only the .db files (newmaps(8)). */
int	 mapset_compile(struct mapset *, int which, gid_t usersgid);
void	 mapset_close(struct mapset *);
/* Domain attributes: "maxusers=100" -> value of "maxusers", or NULL. */
const char *mapsrc_domain_attr(const char *value, const char *attr,
	    char *buf, size_t buflen);

/*
 * A users map value, "HASH:UID:GID:GECOS:HOME:SHELL:EXTRA", parsed.
 * EXTRA is Dovecot's extra fields, separated by spaces: quota and
 * nologin are taken out, the others are kept in extra as written.
 */
struct mapsrc_user {
	char		 hash[1024];	/* room for PASSWD_HASH_MAX */
	uid_t		 uid;
	gid_t		 gid;
	char		 gecos[256];
	char		 home[PATH_MAX];
	char		 shell[PATH_MAX];
	uint64_t	 quota;		/* bytes from userdb_quota_rule, 0 = none */
	int		 nologin;	/* "nologin" among the extra fields */
	char		 extra[1024];	/* the other extra fields */
};
/*
 * Parses a users value (the line after "address:"); 0 or -1 + errstr.
 * Refuses a UID or GID of 0, a home that is not an absolute path or
 * has a ".." component, and an empty hash.
 */
int	 mapsrc_user_parse(const char *value, struct mapsrc_user *,
	    const char **errstr);
/*
 * Formats a users value from its parts into buf (the quota as
 * "userdb_quota_rule=*:storage=N" with the largest exact unit of G,
 * M, K or B, then "nologin", then extra; Dovecot reads a bare N as
 * KiB, and so does mapsrc_user_parse);
 * 0 or -1 if too long.  Zero the struct before filling it in.
 */
int	 mapsrc_user_format(const struct mapsrc_user *, char *buf,
	    size_t buflen);

/* ---- passwd.c: password hashes in Dovecot's schemes --------------- */

/*
 * Schemes written: BLF-CRYPT (bcrypt "$2b$", cost 10), SHA512-CRYPT,
 * SHA256-CRYPT, CRYPT (yescrypt).  Verified also: ARGON2ID, ARGON2I
 * (Dovecot's "$argon2id$v=19$m=..,t=..,p=..$salt$hash") and PBKDF2
 * (Dovecot's "$1$salt$rounds$hex", PBKDF2-HMAC-SHA1).  Scheme names
 * are case-insensitive on input, written in upper case.
 */
#define PASSWD_HASH_MAX	600	/* room for any "{SCHEME}hash" we accept */

/* 1 if scheme is one we can write (BLF-CRYPT, SHA512-CRYPT, ...). */
int	 passwd_scheme_valid(const char *scheme);
/* Hashes clear into "{SCHEME}hash"; 0 or -1 (errno set). */
int	 passwd_hash(const char *scheme, const char *clear, char *out,
	    size_t outlen);
/*
 * 1 if clear matches stored "{SCHEME}...", 0 if not, -1 if the scheme
 * is unknown or the hash malformed.  Constant-time comparison.
 */
int	 passwd_verify(const char *stored, const char *clear);
/*
 * 1 if hash is a well-formed "{SCHEME}..." of a scheme we can verify,
 * with nothing a passwd-file line would split on (for -H).
 */
int	 passwd_hash_valid(const char *hash);
/*
 * 0 if hash asks for no more work than the bounds of mailmaps(5) (the
 * bounds passwd_verify keeps too), or is of a scheme with no cost we
 * know; -1 with the reason in why.  A hash without a {SCHEME} is taken
 * for a crypt(3) one, as Dovecot's passwd-file takes it.
 */
int	 passwd_hash_cost_check(const char *hash, char *why, size_t whylen);

/* ---- maildir.c: Maildirs ------------------------------------------- */

/*
 * Expands the maildir template for an address (checked by
 * addr_parse_safe) into buf: %d the domain, %u the local part in
 * lower case; any other '%' escape, a relative template, or a result
 * too long is -1.
 */
int	 maildir_path(const char *tmpl, const struct mailaddr *, char *buf,
	    size_t buflen);
/*
 * Creates dir, its missing parents, and tmp, new, cur; what exists is
 * kept.  New directories get mode 0700 and, when run as root, the
 * owner uid:gid.  0 or -1 (errno set).
 */
int	 maildir_create(const char *dir, uid_t, gid_t);
/*
 * Like maildir_create, but dir must not exist (EEXIST).  top gets the
 * highest directory created, to undo it with maildir_remove; on -1
 * nothing is left behind.
 */
int	 maildir_create_new(const char *dir, uid_t, gid_t, char *top,
	    size_t toplen);
/*
 * Removes a directory tree; symbolic links in it are removed, not
 * followed, and another file system in it is not entered (-1).  Its
 * parents are walked as maildir_create walks them.
 */
int	 maildir_remove(const char *dir);
/*
 * The attic: a deleted mailbox's Maildir is renamed to
 * ATTIC/YYYYMMDDTHHMMSS.address (UTC time of the deletion), and a
 * periodic job removes it once delete_grace has passed since that
 * time.  maildir_attic_name builds the name; maildir_attic_move
 * creates the attic if missing and renames dir there (EEXIST if the
 * name is taken, EXDEV if the attic is on another file system).
 */
int	 maildir_attic_name(const char *attic, const char *addr, time_t,
	    char *buf, size_t buflen);
int	 maildir_attic_move(const char *dir, const char *attic,
	    const char *addr, time_t, uid_t, gid_t, char *dest,
	    size_t destlen);
/*
 * Bytes and messages in new/ and cur/ of the Maildir and of its
 * Maildir++ folders, sizes from ",S=" in file names or else stat(2);
 * the sums stop at UINT64_MAX.  maildir_usage_fd counts the Maildir
 * open at fd (left open).
 */
int	 maildir_usage(const char *dir, uint64_t *bytes, uint64_t *count);
int	 maildir_usage_fd(int fd, uint64_t *bytes, uint64_t *count);
/*
 * maildirsize (Maildir++) of the Maildir open at dirfd, opened with
 * flags (O_RDONLY, or O_WRONLY | O_APPEND): the descriptor, or -1 with
 * errno, ENOENT if there is none, EINVAL if it is no regular file.
 */
int	 maildir_size_open(int dirfd, int flags);
/*
 * The usage maildirsize records for a limit of limit bytes: 1 and
 * *used; 0 if the file must be counted again (missing, made for
 * another limit, too long, or holding anything but its lines); -1
 * (errno; EINVAL: no regular file) if it cannot be used or read.
 */
int	 maildir_size_read(int dirfd, uint64_t limit, uint64_t *used);

/* ---- resolve.c: what a recipient address means, from the maps ----- */

/*
 * A resolver reads the three .db maps of conf->mapdir, or, for the
 * admin commands that hold the lock and edit the text maps, a mapset
 * (resolver_open_mapset): the same rules over either.  A resolver is
 * not thread-safe: one per thread, or a lock around it.
 */
struct resolver {
	const struct conf *conf;
	struct map	*domains;
	struct map	*users;
	struct map	*aliases;
	struct mapset	*mapset;	/* set: look up its sources instead */
	char		*buf;		/* one value of a .db map */
};

#define RESOLVE_REMOTE	0	/* domain not hosted here */
#define RESOLVE_LOCAL	1	/* hosted, and resolves to something */
#define RESOLVE_UNKNOWN	2	/* hosted, but no mailbox, alias or catch-all */

/* Alias expansion stops this many levels down (a loop, for deliver). */
#define RESOLVE_DEPTH_MAX	20
/* The longest value read from a map (an alias with many targets). */
#define RESOLVE_VALUE_MAX	65536

/*
 * Opens the three maps of conf->mapdir; 0 or -1 (errno set).  On -1
 * the resolver is still usable and must be closed: a map that could
 * not be opened is opened again at each lookup, which fails (-1)
 * until it can be, so a daemon started before its maps exist answers
 * "try again later" rather than guessing.
 */
int	 resolver_open(struct resolver *, const struct conf *);
/* Over the text sources of an open mapset (they must stay put); 0. */
int	 resolver_open_mapset(struct resolver *, const struct conf *,
	    struct mapset *);
/*
 * Reopens the maps replaced on disk; 0 or -1.  Cheap (a stat(2) a
 * map): smtpd calls it once per transaction, deliver once per message.
 */
int	 resolver_refresh(struct resolver *);
void	 resolver_close(struct resolver *);
/*
 * For smtpd at RCPT time: RESOLVE_* for the address, or -1 if a map
 * cannot be read (reply 451, never guess).  Applies alias domains
 * (one level: an alias of an alias domain is RESOLVE_UNKNOWN),
 * the recipient delimiter, mailboxes (locked ones too), aliases,
 * postmaster@ and abuse@ of every hosted domain, and the catch-all
 * only when the address is neither a mailbox nor an alias.
 */
int	 resolve_rcpt(struct resolver *, const struct mailaddr *);
/*
 * The value of attribute attr (as "dkim") of a hosted domain, into
 * buf: 1, or 0 if the domain is not hosted or has no such attribute
 * (or a longer one than len), -1 if the domains map cannot be read.
 */
int	 resolve_domain_attr(struct resolver *, const char *domain,
	    const char *attr, char *buf, size_t len);
/*
 * For smtpd's sender check: 1 if login (a mailbox address, as AUTH
 * took it) may use addr as its sender: addr is login itself (also
 * with a +tag, or in an alias domain), an address whose expansion
 * reaches login (an alias; the catch-all does not count), or any
 * address of a domain whose senders= attribute lists login (that of
 * an alias domain, or of its target).  0 if not (a domain not hosted
 * included), -1 if a map cannot be read.
 */
int	 resolve_sender_owned(struct resolver *, const struct mailaddr *addr,
	    const char *login);
/*
 * For the admin commands, which judge "hosted" by the domains text map
 * they read: 1 if conf->mapdir/domains.db holds domain with value (its
 * value in the text map), so that smtpd and deliver host it as well;
 * 0 if not (an edit newmaps has not compiled, or no domains.db); -1
 * (errno set) if domains.db cannot be read.
 */
int	 resolve_domain_compiled(const struct conf *, const char *domain,
	    const char *value);

/* One final destination of a recipient after alias expansion. */
struct resolve_target {
	char		 addr[ADDR_MAX + 1];	/* final mailbox or remote address */
	int		 local;			/* 1: a mailbox here */
	int		 unknown;		/* 1: see below */
	char		 maildir[PATH_MAX];	/* local: the users map's home */
	uint64_t	 quota;			/* local: bytes, 0 = none */
};

/*
 * For deliver: expands an address recursively (aliases, alias domains,
 * catch-alls, +tag, postmaster@/abuse@), duplicates removed.  Returns
 * the number of targets in *targets (malloc'd; the caller frees), 0 if
 * the address resolves to nothing (the caller bounces it), -1 if a map
 * cannot be read (the caller defers), -2 on an alias loop with no
 * target (the caller bounces, and logs).  A loop that still leaves
 * targets yields them.  A local target's addr is the mailbox address
 * (for Delivered-To:), in lower case, without the +tag.  A hosted
 * address that an alias leads to but that resolves to nothing (its
 * mailbox was removed since) is a target with unknown set, local 0:
 * the caller bounces that target alone (5.1.1).  Remote addresses
 * keep the case of their local part.
 */
int	 resolve_expand(struct resolver *, const struct mailaddr *,
	    struct resolve_target **targets);

/* ---- dsn.c: RFC 3461 DSN parameters (smtpd, the spool, deliver) -- */

#define DSN_NOTIFY_NEVER	0x01	/* 0: no NOTIFY given */
#define DSN_NOTIFY_SUCCESS	0x02
#define DSN_NOTIFY_FAILURE	0x04
#define DSN_NOTIFY_DELAY	0x08
#define DSN_RET_NONE		0
#define DSN_RET_FULL		1
#define DSN_RET_HDRS		2
#define DSN_ENVID_MAX		100	/* RFC 3461 4.4, as xtext */
#define DSN_ORCPT_MAX		500	/* RFC 3461 4.2, the whole value */

/*
 * Decodes the xtext of len bytes at s into out (NUL-terminated); 0,
 * or -1 if it is not xtext, if a character it stands for is not
 * printable ASCII, or if out is too small.
 */
int	 dsn_xtext_decode(const char *s, size_t len, char *out,
	    size_t outlen);
/* NOTIFY's value: DSN_NOTIFY_* flags, or -1 if malformed. */
int	 dsn_notify_parse(const char *s, size_t len);
/* The flags as NOTIFY writes them ("" for 0). */
void	 dsn_notify_format(int flags, char *buf, size_t len);
/* 1 if ORCPT's value "addr-type;xtext" is well formed. */
int	 dsn_orcpt_valid(const char *s, size_t len);
/* 1 if a recipient's NOTIFY (0: not given) asks for that notice. */
int	 dsn_wants(int notify, int flag);

/* What the envelope keeps of them: rcpt arrays parallel to the R's. */
struct dsn_env {
	int		 ret;		/* DSN_RET_* */
	const char	*envid;		/* xtext; NULL or "" when none */
	const int	*notify;	/* NULL: none given */
	char *const	*orcpt;		/* NULL, or NULL entries: none */
};

/* ---- queue.c: queue files and deliver's state (deliver, mailq) ----- */

/* What became of one final target of a recipient. */
#define QUEUE_PENDING	0	/* expanded, not tried yet */
#define QUEUE_DEFERRED	1	/* tried, failed temporarily */
#define QUEUE_DELIVERED	2
#define QUEUE_BOUNCED	3

#define QUEUE_REASONLEN	512
#define QUEUE_IDLEN	16	/* SPOOL_IDLEN, below */

struct queue_target {
	size_t		 rcpt;			/* index in queue_msg.rcpts */
	char		 addr[ADDR_MAX + 1];	/* final address */
	int		 status;		/* QUEUE_* */
	unsigned int	 attempts;
	time_t		 last;			/* time of the last attempt */
	time_t		 next;			/* deferred: next retry */
	int		 notified;		/* bounced: in a DSN already */
	char		 reason[QUEUE_REASONLEN]; /* last failure or reply */
	int		 xseen;			/* its X record was read */
	unsigned int	 xcount;		/* targets of rcpt, its X says */
};

struct queue_msg {
	char		 id[QUEUE_IDLEN + 1];
	time_t		 arrival;
	char		 sender[ADDR_MAX + 1];	/* "" for <> */
	char		**rcpts;		/* as accepted */
	size_t		 nrcpts;
	unsigned char	*expanded;		/* per rcpt: targets known */
	struct queue_target *targets;
	size_t		 ntargets;
	off_t		 body;			/* offset of the message */
	off_t		 size;			/* bytes of the message */
	time_t		 warned;		/* delay warning sent, or 0 */
	int		 has_state;		/* SPOOL/state/ID exists */
	int		 junk;			/* a J record: into .Junk/ */
	int		 ret;			/* DSN_RET_* */
	char		 envid[DSN_ENVID_MAX + 1];	/* xtext, or "" */
	int		*notify;		/* per rcpt: DSN_NOTIFY_* */
	char		**orcpt;		/* per rcpt: xtext, or NULL */
	int		 smtputf8;		/* a U record (RFC 6531) */
};

/* State records, written by deliver and by mailq -f. */
#define QUEUE_REC_EXPAND	'X'	/* rcpt has target addr (of attempts) */
#define QUEUE_REC_DELIVERED	'D'
#define QUEUE_REC_DEFERRED	'Q'
#define QUEUE_REC_BOUNCED	'B'
#define QUEUE_REC_NOTIFIED	'N'	/* the DSN of addr was sent */
#define QUEUE_REC_WARNED	'W'	/* a delay warning was sent */
#define QUEUE_REC_FLUSH		'F'	/* every deferred target due now */

/* 1 if s is a well-formed queue ID (QUEUE_IDLEN lower-case hex). */
int	 queue_id_valid(const char *s);
/*
 * The IDs in SPOOL/queue, oldest first (IDs begin with the time);
 * malloc'd array of malloc'd strings.  0 or -1 (errno set).
 */
int	 queue_list(const char *spool, char ***ids, size_t *nids);
void	 queue_list_free(char **ids, size_t nids);
/*
 * Reads SPOOL/queue/ID and SPOOL/state/ID (a missing state is an
 * empty one).  0, or -1 with errno set (ENOENT: the message is gone;
 * EINVAL: the file is malformed) and, for EINVAL, a reason in err.
 */
int	 queue_read(const char *spool, const char *id, struct queue_msg *,
	    char *err, size_t errlen);
void	 queue_msg_free(struct queue_msg *);
/* The target of rcpt with address addr, or NULL. */
struct queue_target *queue_target_find(struct queue_msg *, size_t rcpt,
	    const char *addr);
/* Opens SPOOL/queue/ID for reading, positioned at the message. */
FILE	*queue_body_open(const char *spool, const struct queue_msg *);
/* Opens SPOOL/state/ID for appending (created if needed); fd or -1. */
int	 queue_state_open(const char *spool, const char *id);
/*
 * Appends one record: type QUEUE_REC_*, t for the per-target ones
 * (NULL for W and F), now as its time.  Each record is one write(2),
 * so concurrent writers never interleave.  0 or -1.
 */
int	 queue_state_append(int fd, int type, const struct queue_target *t,
	    time_t now);
/*
 * Appends a record as queue_state_append, and applies it to m too;
 * with fd -1, only applies it.
 */
int	 queue_state_record(int fd, struct queue_msg *m, int type,
	    const struct queue_target *t, time_t now);
/* Appends an F record to SPOOL/state/ID; 0 or -1 (ENOENT if gone). */
int	 queue_flush(const char *spool, const char *id, time_t now);
/*
 * Removes the message: queue/ID first (and the directory is fsynced),
 * then state/ID, so that a crash in between leaves an orphan state,
 * never a message without its state.  0 or -1.
 */
int	 queue_remove(const char *spool, const char *id);
/*
 * Removes queue/ID alone, without waiting for the disk: its state is
 * left as an orphan for queue_clean_orphans.  A crash that undoes the
 * removal brings back a message whose state says it is done.  0 or -1.
 */
int	 queue_unlink(const char *spool, const char *id);
/*
 * Removes queue/ID and fsyncs SPOOL/queue: for a message that leaves
 * the queue in one go, the removal on disk records its delivery.
 */
int	 queue_unlink_sync(const char *spool, const char *id);
/*
 * fsyncs SPOOL/queue: the removals made before (queue_unlink) are on
 * disk after it, with one fsync for all of them.  0 or -1.
 */
int	 queue_sync(const char *spool);
/*
 * Removes the state files whose message is gone, after an fsync of
 * SPOOL/queue that makes those removals durable first; count or -1.
 */
int	 queue_clean_orphans(const char *spool);
/*
 * 1 if every recipient is expanded and every target delivered or
 * bounced, else 0.
 */
int	 queue_msg_done(const struct queue_msg *);
/*
 * 1 if t is delivered and its recipient asked for a success notice
 * (NOTIFY=SUCCESS) that is not sent yet; never for the null sender.
 */
int	 queue_success_owed(const struct queue_msg *,
	    const struct queue_target *);
/* The first due time of the message (0: due at once; -1: nothing to do). */
time_t	 queue_msg_due(const struct queue_msg *);

/* ---- srs.c: the Sender Rewriting Scheme (smtpd, deliver) --------- */

#define SRS_KEY_FILE		"srs.key"	/* in mapdir */
#define SRS_SECRETS_MAX		8
#define SRS_SECRET_MAX		256
#define SRS_HASHLEN		4
#define SRS_LIFETIME_DAYS	21	/* an SRS0 address verifies this long */

struct srs {
	char	 secrets[SRS_SECRETS_MAX][SRS_SECRET_MAX + 1];
	size_t	 nsecrets;		/* the first one signs */
};

/*
 * Reads mapdir/srs.key: one secret a line (blank lines skipped), a
 * regular file that no one but its owner may read.  0, or -1 with a
 * message in err.
 */
int	 srs_load(struct srs *, const char *mapdir, char *err, size_t errlen);
/*
 * Makes mapdir/srs.key if it is missing: a random secret, mode 0600,
 * owned by uid:gid when run as root, written to a temporary file,
 * fsynced and linked into place.  1 if made, 0 if it was there, -1
 * (errno set).
 */
int	 srs_create(const char *mapdir, uid_t, gid_t);
/* 1 if a local part begins with "SRS0=" or "SRS1=", in any case. */
int	 srs_is_srs(const char *local);
/*
 * The local part of the SRS form of sender (SRS0, or SRS1 for a sender
 * that is an SRS address already) into out; the caller adds
 * "@forwarder".  -1 (errno set) if it would be longer than the 64
 * octets of RFC 5321 or the sender has a quoted local part.
 */
int	 srs_forward(const struct srs *, const struct mailaddr *sender,
	    time_t now, char *out, size_t outlen);
/*
 * The address an SRS local part stands for into out: SRS_OK, SRS_NOT
 * (not an SRS address), SRS_BAD (malformed, or the hash does not
 * verify), SRS_EXPIRED (an SRS0 older than SRS_LIFETIME_DAYS).
 */
#define SRS_OK		0
#define SRS_NOT		1
#define SRS_BAD		2
#define SRS_EXPIRED	3
int	 srs_reverse(const struct srs *, const char *local, time_t now,
	    char *out, size_t outlen);

/* ---- spool.c: the queue (smtpd, deliver, mailq, sendmail) --------- */

/*
 * Layout, all owned by the mail user, mode 0700:
 *	SPOOL/tmp/ID		a message being received; never read by deliver
 *	SPOOL/queue/ID		a committed message (the commit is the rename)
 *	SPOOL/hold/ID		a committed message kept from delivery (a
 *				milter's quarantine); mv to queue/ releases it
 *	SPOOL/state/ID		deliver's per-recipient progress for ID
 *	SPOOL/wakeup		a FIFO: one byte written there wakes deliver
 *	SPOOL/smtpd.pid		smtpd's pidfile (deliver.pid likewise)
 *
 * A queue file is an envelope, one record a line, then an empty line,
 * then the message with LF line ends (no CR at all):
 *	V 1			format version, first line
 *	I ID			the queue ID
 *	T 1764150000		arrival time, seconds since the epoch
 *	S sender@domain		envelope sender; "S " alone for <>
 *	R rcpt@domain		one line per recipient, as accepted
 *	J reason		smtpd's verdict: local copies go to the
 *				Junk folder (.Junk/ of the Maildir)
 *	E envid			RFC 3461 ENVID, as xtext
 *	H FULL|HDRS		RFC 3461 RET
 *	N NOTIFY		after an R: its NOTIFY, "NEVER" or a
 *				list of SUCCESS, FAILURE, DELAY
 *	O type;xtext		after an R: its ORCPT
 *	U SMTPUTF8		an SMTPUTF8 message (RFC 6531): it came with
 *				the parameter, or an address of the envelope
 *				is UTF-8; it leaves only with SMTPUTF8
 *	(other one-letter records may be added; readers skip unknown ones)
 * A queue ID is 16 lower-case hexadecimal digits (time, then random).
 */
#define SPOOL_IDLEN	16

struct spool_msg {
	char	id[SPOOL_IDLEN + 1];
	char	tmppath[PATH_MAX];
	char	path[PATH_MAX];		/* SPOOL/queue/ID after the commit */
	int	fd;
	FILE	*fp;			/* buffered writer on fd */
	int	spooldirfd;
	off_t	body;			/* where the message begins, or -1 */
	int	hold;			/* commit into hold/, not queue/ */
	int	smtputf8;		/* write the U record */
};
#define SPOOL_REC_SMTPUTF8	'U'

/* Creates the spool's directories and FIFO if missing; 0 or -1. */
int	 spool_init(const char *spool);
/* Opens SPOOL/tmp/ID for a new message; 0 or -1 (errno set). */
int	 spool_create(const char *spool, struct spool_msg *);
/*
 * Writes the envelope: sender "" for <>; the U record if msg->smtputf8
 * or an address is UTF-8; 0 or -1.
 */
int	 spool_envelope(struct spool_msg *, time_t, const char *sender,
	    char *const *rcpts, size_t nrcpts);
/* The same with the DSN parameters (dsn NULL: none). */
int	 spool_envelope_dsn(struct spool_msg *, time_t, const char *sender,
	    char *const *rcpts, size_t nrcpts, const struct dsn_env *dsn);
/*
 * After spool_envelope and the message: the message written so far
 * (flushed), read from a descriptor of its own, positioned at the
 * message; NULL (errno set) on failure.  The caller fcloses it.
 */
FILE	*spool_reopen(struct spool_msg *);
/*
 * Puts len bytes of text (whole header lines, LF line ends) at the
 * top of the message written so far, after the envelope: for header
 * fields made from the whole message, as DKIM-Signature:.  0, or -1:
 * the message unchanged for arguments it refuses (EINVAL), or else
 * perhaps half moved, left only to spool_abort.
 */
int	 spool_prepend(struct spool_msg *, const char *text, size_t len);
/* A byte range of the message (offsets from its start) to leave out. */
struct spool_cut {
	off_t	 off;
	off_t	 len;
};
struct spool_edit {
	char		 rectype;	/* '\0', or an envelope record to add */
	const char	*recvalue;	/* one line */
	const char	*top;		/* header lines put at the top */
	size_t		 toplen;
	const struct spool_cut *cuts;	/* ascending, not overlapping */
	size_t		 ncuts;
};
#define SPOOL_RECORD_MAX	1024
/*
 * spool_prepend, and more: adds an envelope record (after the others),
 * puts top at the top of the message and leaves out the cuts, in the
 * file itself; the same guarantees.
 */
int	 spool_rewrite(struct spool_msg *, const struct spool_edit *);
/* fflush, fsync, rename into queue/, fsync the directory, wake deliver. */
/*
 * Rewriting the message written so far: spool_rewrite_begin opens
 * SPOOL/tmp/ID.new as the writer of tmp (a copy of msg) for the
 * caller to write whole, envelope and message, setting tmp->body;
 * spool_rewrite_end renames it over SPOOL/tmp/ID and makes it msg's
 * writer, or, on -1, leaves msg as it was (or only to spool_abort,
 * if the rename was done); spool_rewrite_abort drops it.
 */
int	 spool_rewrite_begin(struct spool_msg *msg, struct spool_msg *tmp);
int	 spool_rewrite_end(struct spool_msg *msg, struct spool_msg *tmp);
void	 spool_rewrite_abort(struct spool_msg *tmp);
/*
 * fflush, fsync, rename into queue/ (hold/ if msg->hold), fsync the
 * directory, wake deliver.
 */
int	 spool_commit(struct spool_msg *);
/* Removes the temporary file; safe after a failed commit. */
void	 spool_abort(struct spool_msg *);
/* Writes one byte into SPOOL/wakeup without blocking. */
void	 spool_wakeup(const char *spool);
/*
 * Removes the files of SPOOL/tmp/ not modified for age seconds: what a
 * crashed writer left.  Returns how many, or -1 if tmp/ cannot be read.
 */
int	 spool_clean_tmp(const char *spool, time_t age);

/* ---- dkim.c: DKIM signatures (RFC 6376, RFC 8463); prefix dk_ ---- */

#define DK_SELECTOR_MAX	63	/* one DNS label */
#define DK_SELECTORS_MAX	2	/* dkim=s1,s2: dual signing */
#define DK_KEYDIR		"dkim"	/* mapdir/dkim/DOMAIN.SELECTOR.key */
#define DK_KEY_MAX		16384	/* largest key file read */
#define DK_KEY_RSA		1
#define DK_KEY_ED25519	2

struct dk_selectors {
	char	 name[DK_SELECTORS_MAX][DK_SELECTOR_MAX + 1];
	size_t	 n;
};

/*
 * 0 if s is a selector: one DNS label, 1 to 63 of a-z, 0-9 and '-',
 * not beginning or ending with '-'; else -1 with a reason in errstr.
 */
int	 dk_selector_valid(const char *s, const char **errstr);
/*
 * Parses a dkim= value, "s1" or "s1,s2", into out (NULL: only check);
 * 0 or -1 with a reason in errstr.
 */
int	 dk_selectors_parse(const char *value, struct dk_selectors *out,
	    const char **errstr);
/*
 * "mapdir/dkim/DOMAIN.SELECTOR.key" into buf, once the domain (lower
 * case, addr_domain_valid) and the selector are checked; 0, or -1
 * (EINVAL for a bad name, ENAMETOOLONG).
 */
int	 dk_key_path(const char *mapdir, const char *domain,
	    const char *selector, char *buf, size_t len);
/*
 * Signs the message of msg, its envelope and message written and not
 * committed yet, if its one From: field names a single mailbox whose
 * domain lookup(arg, domain, buf, len) gives selectors for (the dkim=
 * attribute: 1, 0 none, -1 the map cannot be read): one
 * DKIM-Signature: a selector, at the top of the message, made with
 * mapdir/dkim/DOMAIN.SELECTOR.key.  Returns 1 when signed; 0 when
 * the message is not to be signed (err says why when it is worth a
 * log line: a header section too long or malformed); -1 when it
 * must not go unsigned and could not be signed (a key that cannot be
 * read, the domains map, the spool): the caller answers with a
 * temporary failure and logs err.  Thread-safe.
 */
int	 dk_spool_sign(struct spool_msg *, const char *mapdir,
	    int (*lookup)(const void *, const char *, char *, size_t),
	    const void *arg, char *err, size_t errlen);
/* A lookup for dk_spool_sign: arg is mapdir; its domains.db is opened each call. */
int	 dk_lookup_mapdir(const void *mapdir, const char *domain, char *buf,
	    size_t len);

#endif /* !LIBMAIL_H */
