/*
 * The text maps of mailmaps(5) through the public functions: the three
 * files are written to a temporary mapdir and read with
 * mapset_open_flags(MAPSET_VERIFY), cross-checked with mapset_check,
 * and an address is resolved over them (resolve_rcpt, resolve_expand).
 * Input: domains, users, aliases and the address, separated by lines
 * "%%" (missing parts are empty).  warnx(3) reports bad lines on
 * stderr: run with -close_fd_mask=2 to keep the log readable.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

#include "libmail.h"
#include "fuzz.h"

static char	dir[] = "/tmp/fuzz_maps.XXXXXX";
static struct conf conf;

static void
cleanup(void)
{
	int	kind;
	char	path[PATH_MAX];

	for (kind = 0; kind < MAP_COUNT; kind++) {
		snprintf(path, sizeof(path), "%s/%s", dir, mapsrc_names[kind]);
		unlink(path);
	}
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(cleanup);
	strlcpy(conf.mapdir, dir, sizeof(conf.mapdir));
	strlcpy(conf.recipient_delimiter, "+-",
	    sizeof(conf.recipient_delimiter));
	strlcpy(conf.postmaster, "root@localhost", sizeof(conf.postmaster));
	return 0;
}

static void
write_map(int kind, const uint8_t *p, size_t len)
{
	char	path[PATH_MAX];
	int	fd;

	snprintf(path, sizeof(path), "%s/%s", dir, mapsrc_names[kind]);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, p, len) != (ssize_t)len || close(fd) == -1)
		abort();
}

/* The next part of the input, up to a line "%%\n". */
static size_t
next_part(const uint8_t *p, size_t len, size_t *skip)
{
	size_t	i;

	for (i = 0; i + 3 <= len; i++)
		if ((i == 0 || p[i - 1] == '\n') && memcmp(p + i, "%%\n", 3) == 0) {
			*skip = i + 3;
			return i;
		}
	*skip = len;
	return len;
}

/* Every line that parsed gives a value the value parsers take. */
static void
check_lines(struct mapset *ms)
{
	struct mapsrc_user	 u;
	struct mapsrc		*src;
	const char		*errstr;
	char			 buf[64];
	size_t			 i;

	src = &ms->src[MAP_USERS];
	for (i = 0; i < src->nlines; i++) {
		if (src->lines[i].key == NULL)
			continue;
		CHECK(mapsrc_find(src, src->lines[i].key) != NULL);
		memset(&u, 0, sizeof(u));
		CHECK(mapsrc_user_parse(src->lines[i].value, &u, &errstr) == 0);
	}
	src = &ms->src[MAP_DOMAINS];
	for (i = 0; i < src->nlines; i++) {
		if (src->lines[i].key == NULL)
			continue;
		CHECK(mapsrc_find(src, src->lines[i].key) != NULL);
		mapsrc_domain_attr(src->lines[i].value, "alias", buf,
		    sizeof(buf));
		mapsrc_domain_attr(src->lines[i].value, "quota", buf,
		    sizeof(buf));
	}
	src = &ms->src[MAP_ALIASES];
	for (i = 0; i < src->nlines; i++)
		if (src->lines[i].key != NULL)
			CHECK(mapsrc_find(src, src->lines[i].key) != NULL);
}

static void
resolve(struct mapset *ms, const char *addr)
{
	struct resolver		 r;
	struct resolve_target	*t;
	struct mailaddr		 a;
	const char		*errstr;
	int			 n, i;

	if (addr_parse(addr, &a, &errstr) == -1)
		return;
	resolver_open_mapset(&r, &conf, ms);
	n = resolve_rcpt(&r, &a);
	CHECK(n == RESOLVE_REMOTE || n == RESOLVE_LOCAL ||
	    n == RESOLVE_UNKNOWN || n == -1);
	n = resolve_expand(&r, &a, &t);
	CHECK(n >= -2);
	for (i = 0; i < n; i++) {
		CHECK(memchr(t[i].addr, '\0', sizeof(t[i].addr)) != NULL);
		CHECK(!(t[i].local && t[i].unknown));
		if (t[i].local)
			CHECK(t[i].maildir[0] == '/');
	}
	free(t);
	resolver_close(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mapset	 ms;
	size_t		 len, skip;
	char		*addr;
	int		 kind, n;

	if (size > 16384)
		return 0;
	for (kind = 0; kind < MAP_COUNT; kind++) {
		len = next_part(data, size, &skip);
		write_map(kind, data, len);
		data += skip;
		size -= skip;
	}
	len = next_part(data, size, &skip);
	addr = fuzz_cstr(data, len > 0 && data[len - 1] == '\n' ? len - 1 :
	    len);
	n = mapset_open_flags(&ms, dir, MAPSET_VERIFY);
	if (n >= 0) {
		check_lines(&ms);
		mapset_check(&ms);
		resolve(&ms, addr);
		mapset_close(&ms);
	}
	free(addr);
	return 0;
}
