/*
 * The queue as deliver(8) and mailq(1) read it: the committed messages
 * of SPOOL/queue (written by spool.c) and deliver's per-recipient
 * progress in SPOOL/state.
 *
 * A state file is append-only, one record a line, fields separated by
 * a tab:
 *
 *	TYPE RCPT TIME ATTEMPTS NEXT ADDR REASON
 *
 * TYPE is one letter (QUEUE_REC_*), RCPT the index of the recipient in
 * the envelope's R records, TIME when the record was written, ATTEMPTS
 * the delivery attempts so far, NEXT the time of the next retry (0 if
 * none), ADDR the final target, REASON the last reply or failure, made
 * of printable characters only.  The records:
 *
 *	X	alias expansion: recipient RCPT has the target ADDR, one of
 *		ATTEMPTS targets (0: not said)
 *	D	ADDR was delivered (REASON: the reply, for the log)
 *	Q	ADDR was deferred; retry at NEXT
 *	B	ADDR bounced: it failed permanently or for too long
 *	N	the notice of ADDR has been sent (a DSN is in the queue):
 *		for a bounced ADDR, its failure; for a delivered one, its
 *		success (RFC 3461 NOTIFY=SUCCESS), or a next hop that
 *		offers DSN took the request over
 *	W	a delay warning was sent (RCPT, ADDR unused)
 *	F	mailq -f: every deferred target is due now
 *
 * The X records of a recipient come before any other record of its
 * targets.  A recipient with fewer X records than they announce was
 * being expanded when a crash came, and is expanded again.
 *
 * The last D, Q or B record of a target wins.  deliver fsyncs the file
 * after the records of a message's deliveries, before it goes on, so
 * that a crash loses at most the outcome of the deliveries in flight
 * (a batch, for the local ones): those are tried again, the others
 * never.  A torn last line (a crash in the
 * middle of a write) has no newline and is ignored, and the next writer
 * ends it with a newline first, so that its own record is not glued to
 * the torn one and lost with it.  Several writers
 * (deliver's workers, mailq -f) may append at once: each record is a
 * single write(2) on a descriptor opened with O_APPEND.
 *
 * A message whose targets all go to one destination and are all
 * delivered in that one attempt gets no state file at all: its removal
 * from queue/, made durable by an fsync of the directory, is the
 * record of its delivery.  A crash before then repeats the attempt,
 * which was in flight.
 *
 * Tabs cannot occur in an address: RFC 5321 allows none, not even in a
 * quoted local part.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmail.h"

#define STATE_LINEMAX	(QUEUE_REASONLEN + ADDR_MAX + 128)

static int	 envelope_read(FILE *, const char *, struct queue_msg *,
		    char *, size_t);
static int	 envelope_line(char *, struct queue_msg *, int *, char *,
		    size_t);
static int	 envelope_dsn(int, const char *, struct queue_msg *, char *,
		    size_t);
static int	 rcpt_add(struct queue_msg *, const char *);
static int	 state_read(const char *, struct queue_msg *);
static void	 state_apply(struct queue_msg *, char *);
static void	 state_expanded(struct queue_msg *);
static struct queue_target *target_get(struct queue_msg *, size_t,
		    const char *);
static int	 idcmp(const void *, const void *);
static int	 path_of(char *, size_t, const char *, const char *,
		    const char *);
static int	 state_open(const char *, const char *, int);

int
queue_id_valid(const char *s)
{
	size_t	 i;

	for (i = 0; i < QUEUE_IDLEN; i++)
		if (!isdigit((unsigned char)s[i]) &&
		    (s[i] < 'a' || s[i] > 'f'))
			return 0;
	return s[i] == '\0';
}

static int
path_of(char *buf, size_t len, const char *spool, const char *dir,
    const char *id)
{
	int	 n;

	if (!queue_id_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(buf, len, "%s/%s/%s", spool, dir, id);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
idcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
queue_list(const char *spool, char ***ids, size_t *nids)
{
	char		 path[PATH_MAX];
	DIR		*dp;
	struct dirent	*de;
	char		**v = NULL, **nv;
	size_t		 n = 0, cap = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/queue", spool) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((dp = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(dp)) != NULL) {
		if (!queue_id_valid(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				goto fail;
			v = nv;
		}
		if ((v[n] = strdup(de->d_name)) == NULL)
			goto fail;
		n++;
	}
	closedir(dp);
	if (n > 0)
		qsort(v, n, sizeof(*v), idcmp);
	*ids = v;
	*nids = n;
	return 0;
fail:
	closedir(dp);
	queue_list_free(v, n);
	errno = ENOMEM;
	return -1;
}

void
queue_list_free(char **ids, size_t nids)
{
	size_t	 i;

	for (i = 0; i < nids; i++)
		free(ids[i]);
	free(ids);
}

int
queue_read(const char *spool, const char *id, struct queue_msg *m,
    char *err, size_t errlen)
{
	char	 path[PATH_MAX];
	FILE	*fp;
	int	 rv, saved;

	memset(m, 0, sizeof(*m));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path_of(path, sizeof(path), spool, "queue", id) == -1)
		return -1;
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	rv = envelope_read(fp, id, m, err, errlen);
	saved = errno;
	fclose(fp);
	if (rv == 0)
		rv = state_read(spool, m);
	if (rv == -1) {
		saved = errno;
		queue_msg_free(m);
		errno = saved;
	}
	return rv;
}

static int
envelope_read(FILE *fp, const char *id, struct queue_msg *m, char *err,
    size_t errlen)
{
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 len;
	struct stat	 sb;
	int		 seen = 0, ended = 0, rv = -1;

	while ((len = getline(&line, &cap, fp)) != -1) {
		if (len == 0 || line[len - 1] != '\n') {
			snprintf(err, errlen, "envelope line without newline");
			goto bad;
		}
		line[--len] = '\0';
		if (len == 0) {
			ended = 1;
			break;
		}
		if (envelope_line(line, m, &seen, err, errlen) == -1)
			goto bad;
	}
	if (ferror(fp))
		goto out;
	if (!ended) {
		snprintf(err, errlen, "no end of envelope");
		goto bad;
	}
	if ((seen & 0xf) != 0xf || m->nrcpts == 0) {
		snprintf(err, errlen, "envelope lacks V, I, T, S or R");
		goto bad;
	}
	if (strcmp(m->id, id) != 0) {
		snprintf(err, errlen, "ID %s in file %s", m->id, id);
		goto bad;
	}
	if ((m->body = ftello(fp)) == -1 || fstat(fileno(fp), &sb) == -1)
		goto out;
	m->size = sb.st_size - m->body;
	rv = 0;
	goto out;
bad:
	errno = EINVAL;
out:
	free(line);
	return rv;
}

/* seen: bits for V, I, T, S. */
static int
envelope_line(char *line, struct queue_msg *m, int *seen, char *err,
    size_t errlen)
{
	const char	*v = line + 2, *errstr;
	long long	 t;

	if (line[0] == '\0' || line[1] != ' ') {
		snprintf(err, errlen, "bad envelope line");
		return -1;
	}
	if (!(*seen & 1) && line[0] != 'V') {
		snprintf(err, errlen, "envelope does not begin with V");
		return -1;
	}
	switch (line[0]) {
	case 'V':
		if (strcmp(v, "1") != 0) {
			snprintf(err, errlen, "unknown version %.16s", v);
			return -1;
		}
		*seen |= 1;
		break;
	case 'I':
		if (!queue_id_valid(v)) {
			snprintf(err, errlen, "bad queue ID");
			return -1;
		}
		strlcpy(m->id, v, sizeof(m->id));
		*seen |= 2;
		break;
	case 'T':
		t = strtonum(v, 0, INT64_MAX, &errstr);
		if (errstr != NULL) {
			snprintf(err, errlen, "arrival time is %s", errstr);
			return -1;
		}
		m->arrival = (time_t)t;
		*seen |= 4;
		break;
	case 'S':
		if (strlcpy(m->sender, v, sizeof(m->sender)) >=
		    sizeof(m->sender) || strchr(v, '\t') != NULL) {
			snprintf(err, errlen, "bad sender");
			return -1;
		}
		*seen |= 8;
		break;
	case 'R':
		if (*v == '\0' || strlen(v) > ADDR_MAX ||
		    strchr(v, '\t') != NULL) {
			snprintf(err, errlen, "bad recipient");
			return -1;
		}
		if (rcpt_add(m, v) == -1) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		break;
	case 'J':
		m->junk = 1;
		break;
	case 'E':
	case 'H':
	case 'N':
	case 'O':
		return envelope_dsn(line[0], v, m, err, errlen);
	case SPOOL_REC_SMTPUTF8:
		m->smtputf8 = 1;
		break;
	default:
		/* Records added later; spool.c says readers skip them. */
		break;
	}
	return 0;
}

/* The DSN records; N and O belong to the R before them. */
static int
envelope_dsn(int type, const char *v, struct queue_msg *m, char *err,
    size_t errlen)
{
	char	 buf[DSN_ORCPT_MAX + 1];
	size_t	 last = m->nrcpts - 1;
	int	 n;

	if ((type == 'N' || type == 'O') && m->nrcpts == 0) {
		snprintf(err, errlen, "%c record before any R", type);
		return -1;
	}
	switch (type) {
	case 'E':
		if (strlen(v) > DSN_ENVID_MAX ||
		    dsn_xtext_decode(v, strlen(v), buf, sizeof(buf)) == -1)
			break;
		strlcpy(m->envid, v, sizeof(m->envid));
		return 0;
	case 'H':
		if (strcmp(v, "FULL") != 0 && strcmp(v, "HDRS") != 0)
			break;
		m->ret = v[0] == 'F' ? DSN_RET_FULL : DSN_RET_HDRS;
		return 0;
	case 'N':
		if ((n = dsn_notify_parse(v, strlen(v))) == -1)
			break;
		m->notify[last] = n;
		return 0;
	case 'O':
		if (!dsn_orcpt_valid(v, strlen(v)))
			break;
		free(m->orcpt[last]);
		if ((m->orcpt[last] = strdup(v)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "bad %c record", type);
	return -1;
}

static int
rcpt_add(struct queue_msg *m, const char *addr)
{
	char		**nr, **no;
	unsigned char	*ne;
	int		*nn;

	if ((nr = reallocarray(m->rcpts, m->nrcpts + 1, sizeof(*nr))) ==
	    NULL)
		return -1;
	m->rcpts = nr;
	if ((ne = realloc(m->expanded, m->nrcpts + 1)) == NULL)
		return -1;
	m->expanded = ne;
	if ((nn = reallocarray(m->notify, m->nrcpts + 1, sizeof(*nn))) ==
	    NULL)
		return -1;
	m->notify = nn;
	if ((no = reallocarray(m->orcpt, m->nrcpts + 1, sizeof(*no))) ==
	    NULL)
		return -1;
	m->orcpt = no;
	if ((m->rcpts[m->nrcpts] = strdup(addr)) == NULL)
		return -1;
	m->notify[m->nrcpts] = 0;
	m->orcpt[m->nrcpts] = NULL;
	m->expanded[m->nrcpts++] = 0;
	return 0;
}

static int
state_read(const char *spool, struct queue_msg *m)
{
	char	 path[PATH_MAX];
	FILE	*fp;
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 len;
	int	 rv = 0;

	if (path_of(path, sizeof(path), spool, "state", m->id) == -1)
		return -1;
	if ((fp = fopen(path, "r")) == NULL)
		return errno == ENOENT ? 0 : -1;
	m->has_state = 1;
	while ((len = getline(&line, &cap, fp)) != -1) {
		if (line[len - 1] != '\n')
			break;
		line[len - 1] = '\0';
		state_apply(m, line);
	}
	if (ferror(fp))
		rv = -1;
	state_expanded(m);
	free(line);
	fclose(fp);
	return rv;
}

/* Applies one record; malformed ones are skipped. */
static void
state_apply(struct queue_msg *m, char *line)
{
	char			*f[7], *p = line;
	const char		*errstr;
	struct queue_target	*t;
	long long		 rcpt, when, attempts, next;
	size_t			 i, n;

	for (n = 0; n < 7 && p != NULL; n++)
		f[n] = strsep(&p, "\t");
	if (n != 7 || p != NULL || strlen(f[0]) != 1)
		return;
	rcpt = strtonum(f[1], 0, LLONG_MAX, &errstr);
	if (errstr != NULL)
		return;
	when = strtonum(f[2], 0, LLONG_MAX, &errstr);
	if (errstr != NULL)
		return;
	attempts = strtonum(f[3], 0, UINT_MAX, &errstr);
	if (errstr != NULL)
		return;
	next = strtonum(f[4], 0, LLONG_MAX, &errstr);
	if (errstr != NULL)
		return;

	switch (f[0][0]) {
	case QUEUE_REC_WARNED:
		m->warned = (time_t)when;
		return;
	case QUEUE_REC_FLUSH:
		for (i = 0; i < m->ntargets; i++)
			if (m->targets[i].status == QUEUE_DEFERRED)
				m->targets[i].next = 0;
		return;
	}
	if ((size_t)rcpt >= m->nrcpts || *f[5] == '\0' ||
	    strlen(f[5]) > ADDR_MAX)
		return;
	if ((t = target_get(m, (size_t)rcpt, f[5])) == NULL)
		return;
	switch (f[0][0]) {
	case QUEUE_REC_EXPAND:
		m->expanded[rcpt] = 1;
		t->xseen = 1;
		if ((unsigned int)attempts > t->xcount)
			t->xcount = (unsigned int)attempts;
		return;
	case QUEUE_REC_DELIVERED:
		t->status = QUEUE_DELIVERED;
		break;
	case QUEUE_REC_DEFERRED:
		t->status = QUEUE_DEFERRED;
		t->next = (time_t)next;
		break;
	case QUEUE_REC_BOUNCED:
		t->status = QUEUE_BOUNCED;
		break;
	case QUEUE_REC_NOTIFIED:
		t->notified = 1;
		return;
	default:
		return;
	}
	m->expanded[rcpt] = 1;
	t->attempts = (unsigned int)attempts;
	t->last = (time_t)when;
	strlcpy(t->reason, f[6], sizeof(t->reason));
}

/* A recipient whose X records are not all there is not expanded. */
static void
state_expanded(struct queue_msg *m)
{
	unsigned int	 want, have;
	size_t		 r, i;

	for (r = 0; r < m->nrcpts; r++) {
		want = have = 0;
		for (i = 0; i < m->ntargets; i++) {
			if (m->targets[i].rcpt != r)
				continue;
			if (m->targets[i].xcount > want)
				want = m->targets[i].xcount;
			have += m->targets[i].xseen;
		}
		if (have < want)
			m->expanded[r] = 0;
	}
}

static struct queue_target *
target_get(struct queue_msg *m, size_t rcpt, const char *addr)
{
	struct queue_target	*t, *nt;

	if ((t = queue_target_find(m, rcpt, addr)) != NULL)
		return t;
	nt = reallocarray(m->targets, m->ntargets + 1, sizeof(*nt));
	if (nt == NULL)
		return NULL;
	m->targets = nt;
	t = &m->targets[m->ntargets++];
	memset(t, 0, sizeof(*t));
	t->rcpt = rcpt;
	strlcpy(t->addr, addr, sizeof(t->addr));
	t->status = QUEUE_PENDING;
	return t;
}

struct queue_target *
queue_target_find(struct queue_msg *m, size_t rcpt, const char *addr)
{
	size_t	 i;

	for (i = 0; i < m->ntargets; i++)
		if (m->targets[i].rcpt == rcpt &&
		    strcmp(m->targets[i].addr, addr) == 0)
			return &m->targets[i];
	return NULL;
}

void
queue_msg_free(struct queue_msg *m)
{
	size_t	 i;

	for (i = 0; i < m->nrcpts; i++) {
		free(m->rcpts[i]);
		if (m->orcpt != NULL)
			free(m->orcpt[i]);
	}
	free(m->rcpts);
	free(m->notify);
	free(m->orcpt);
	free(m->expanded);
	free(m->targets);
	memset(m, 0, sizeof(*m));
}

FILE *
queue_body_open(const char *spool, const struct queue_msg *m)
{
	char	 path[PATH_MAX];
	FILE	*fp;

	if (path_of(path, sizeof(path), spool, "queue", m->id) == -1)
		return NULL;
	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	if (fseeko(fp, m->body, SEEK_SET) == -1) {
		fclose(fp);
		return NULL;
	}
	return fp;
}

/*
 * Opens a state file for appending, after the torn line of a crash.
 * With create, a file made here has its name made durable in the
 * directory first: the fsyncs of the records alone do not cover it.
 */
static int
state_open(const char *path, const char *dir, int create)
{
	struct stat	 sb;
	char		 c;
	int		 fd;

	fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT && create) {
		fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0600);
		if (fd != -1 && file_sync_dir(dir) == -1) {
			close(fd);
			return -1;
		}
		/* Made meanwhile by another writer. */
		if (fd == -1 && errno == EEXIST)
			fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	}
	if (fd == -1)
		return -1;
	if (fstat(fd, &sb) == -1 || (sb.st_size > 0 &&
	    (pread(fd, &c, 1, sb.st_size - 1) != 1 ||
	    (c != '\n' && write(fd, "\n", 1) != 1)))) {
		close(fd);
		return -1;
	}
	return fd;
}

int
queue_state_open(const char *spool, const char *id)
{
	char	 path[PATH_MAX], dir[PATH_MAX];

	if (path_of(path, sizeof(path), spool, "state", id) == -1)
		return -1;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/state", spool) >=
	    sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return state_open(path, dir, 1);
}

int
queue_state_append(int fd, int type, const struct queue_target *t,
    time_t now)
{
	return queue_state_record(fd, NULL, type, t, now);
}

int
queue_state_record(int fd, struct queue_msg *m, int type,
    const struct queue_target *t, time_t now)
{
	char		 buf[STATE_LINEMAX];
	const char	*reason = "", *addr = "";
	size_t		 rcpt = 0, i, start;
	unsigned int	 attempts = 0;
	long long	 next = 0;
	int		 n;
	ssize_t		 w;

	if (t != NULL) {
		if (strchr(t->addr, '\t') != NULL ||
		    strchr(t->addr, '\n') != NULL) {
			errno = EINVAL;
			return -1;
		}
		rcpt = t->rcpt;
		addr = t->addr;
		reason = t->reason;
		attempts = t->attempts;
		next = (long long)t->next;
	}
	n = snprintf(buf, sizeof(buf), "%c\t%zu\t%lld\t%u\t%lld\t%s\t",
	    type, rcpt, (long long)now, attempts, next, addr);
	if (n < 0 || (size_t)n >= sizeof(buf) - 2) {
		errno = EINVAL;
		return -1;
	}
	start = (size_t)n;
	for (i = 0; reason[i] != '\0' && start + i < sizeof(buf) - 2; i++)
		buf[start + i] = (reason[i] < 0x20 || reason[i] == 0x7f) ?
		    ' ' : reason[i];
	buf[start + i] = '\n';
	w = fd == -1 ? (ssize_t)(start + i + 1) :
	    write(fd, buf, start + i + 1);
	if (w != (ssize_t)(start + i + 1)) {
		if (w >= 0)
			errno = EIO;
		return -1;
	}
	/* The very line a later reader will apply. */
	if (m != NULL) {
		buf[start + i] = '\0';
		state_apply(m, buf);
	}
	return 0;
}

int
queue_flush(const char *spool, const char *id, time_t now)
{
	char	 path[PATH_MAX];
	int	 fd, rv;

	if (path_of(path, sizeof(path), spool, "state", id) == -1)
		return -1;
	/* No O_CREAT: a message never tried is due anyway. */
	if ((fd = state_open(path, NULL, 0)) == -1)
		return -1;
	rv = queue_state_append(fd, QUEUE_REC_FLUSH, NULL, now);
	if (close(fd) == -1)
		rv = -1;
	return rv;
}


int
queue_remove(const char *spool, const char *id)
{
	char	 path[PATH_MAX], dir[PATH_MAX];

	if (path_of(path, sizeof(path), spool, "queue", id) == -1)
		return -1;
	if (unlink(path) == -1 && errno != ENOENT)
		return -1;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/queue", spool) >=
	    sizeof(dir) || file_sync_dir(dir) == -1)
		return -1;
	if (path_of(path, sizeof(path), spool, "state", id) == -1)
		return -1;
	if (unlink(path) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

int
queue_unlink(const char *spool, const char *id)
{
	char	 path[PATH_MAX];

	if (path_of(path, sizeof(path), spool, "queue", id) == -1)
		return -1;
	if (unlink(path) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

int
queue_unlink_sync(const char *spool, const char *id)
{
	if (queue_unlink(spool, id) == -1)
		return -1;
	return queue_sync(spool);
}

int
queue_sync(const char *spool)
{
	char	 dir[PATH_MAX];

	if ((size_t)snprintf(dir, sizeof(dir), "%s/queue", spool) >=
	    sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return file_sync_dir(dir);
}

int
queue_clean_orphans(const char *spool)
{
	char		 dir[PATH_MAX], path[PATH_MAX];
	DIR		*dp;
	struct dirent	*de;
	int		 n = 0;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/queue", spool) >=
	    sizeof(dir) || file_sync_dir(dir) == -1)
		return -1;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/state", spool) >=
	    sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((dp = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(dp)) != NULL) {
		if (!queue_id_valid(de->d_name))
			continue;
		if (path_of(path, sizeof(path), spool, "queue",
		    de->d_name) == -1)
			continue;
		if (access(path, F_OK) == 0 || errno != ENOENT)
			continue;
		if (path_of(path, sizeof(path), spool, "state",
		    de->d_name) == 0 && unlink(path) == 0)
			n++;
	}
	closedir(dp);
	return n;
}

int
queue_msg_done(const struct queue_msg *m)
{
	size_t	 i;

	for (i = 0; i < m->nrcpts; i++)
		if (!m->expanded[i])
			return 0;
	for (i = 0; i < m->ntargets; i++)
		if (m->targets[i].status != QUEUE_DELIVERED &&
		    m->targets[i].status != QUEUE_BOUNCED)
			return 0;
	return 1;
}

int
queue_success_owed(const struct queue_msg *m, const struct queue_target *t)
{
	return t->status == QUEUE_DELIVERED && !t->notified &&
	    m->sender[0] != '\0' && m->notify != NULL &&
	    dsn_wants(m->notify[t->rcpt], DSN_NOTIFY_SUCCESS);
}

time_t
queue_msg_due(const struct queue_msg *m)
{
	const struct queue_target *t;
	time_t	 due = -1;
	size_t	 i;

	for (i = 0; i < m->nrcpts; i++)
		if (!m->expanded[i])
			return 0;
	for (i = 0; i < m->ntargets; i++) {
		t = &m->targets[i];
		switch (t->status) {
		case QUEUE_PENDING:
			return 0;
		case QUEUE_BOUNCED:
			if (!t->notified)
				return 0;
			break;
		case QUEUE_DELIVERED:
			if (queue_success_owed(m, t))
				return 0;
			break;
		case QUEUE_DEFERRED:
			if (due == -1 || t->next < due)
				due = t->next;
			break;
		}
	}
	if (due == -1 && queue_msg_done(m))
		return 0;
	return due;
}
