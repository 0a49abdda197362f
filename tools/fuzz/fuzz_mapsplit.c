/*
 * The fast path of mapsrc_read: a users or aliases text whose .db was
 * compiled from it is only split into key and value, not checked.  Read
 * that way, it must give exactly what the full parse gave.  Input: the
 * users map, a line "%%", the aliases map; each round writes them under
 * /dev/shm (fsync is cheap there), reads them with MAPSET_VERIFY,
 * compiles them with mapset_compile and reads them again trusted.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

#include "libmail.h"
#include "fuzz.h"

static char	dir[] = "/dev/shm/fuzz_mapsplit.XXXXXX";

static void
cleanup(void)
{
	char	path[PATH_MAX];
	int	kind;

	for (kind = 0; kind < MAP_COUNT; kind++) {
		snprintf(path, sizeof(path), "%s/%s", dir, mapsrc_names[kind]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s.db", dir,
		    mapsrc_names[kind]);
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

static void
compare(const struct mapsrc *a, const struct mapsrc *b)
{
	const struct mapsrc_line *la, *lb;
	size_t	i;

	CHECK(a->nlines == b->nlines);
	CHECK(a->nerrors == b->nerrors);
	for (i = 0; i < a->nlines; i++) {
		la = &a->lines[i];
		lb = &b->lines[i];
		CHECK(strcmp(la->text, lb->text) == 0);
		CHECK(la->bad == lb->bad);
		CHECK((la->key == NULL) == (lb->key == NULL));
		if (la->key == NULL)
			continue;
		if (strcmp(la->key, lb->key) != 0 ||
		    strcmp(la->value, lb->value) != 0) {
			fprintf(stderr, "line %zu: checked \"%s\" -> \"%s\", "
			    "trusted \"%s\"\n", i + 1, la->text, la->value,
			    lb->value);
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mapset	 a, b;
	size_t		 i, ulen;
	int		 which, kind;

	if (size > 8192)
		return 0;
	for (ulen = 0; ulen + 3 <= size; ulen++)
		if ((ulen == 0 || data[ulen - 1] == '\n') &&
		    memcmp(data + ulen, "%%\n", 3) == 0)
			break;
	write_map(MAP_DOMAINS, data, 0);
	if (ulen + 3 > size) {
		write_map(MAP_USERS, data, size);
		write_map(MAP_ALIASES, data, 0);
	} else {
		write_map(MAP_USERS, data, ulen);
		write_map(MAP_ALIASES, data + ulen + 3, size - ulen - 3);
	}
	if (mapset_open_flags(&a, dir, MAPSET_VERIFY) == -1)
		return 0;
	which = 1 << MAP_USERS | 1 << MAP_ALIASES;
	if (mapset_compile(&a, which, getgid()) == -1) {
		mapset_close(&a);
		return 0;
	}
	if (mapset_open_flags(&b, dir, 0) == -1)
		abort();
	for (kind = MAP_USERS; kind <= MAP_ALIASES; kind++) {
		/* Only a text without errors is trusted. */
		CHECK(b.src[kind].trusted == (a.src[kind].exists &&
		    a.src[kind].nerrors == 0));
		compare(&a.src[kind], &b.src[kind]);
		for (i = 0; i < b.src[kind].nlines; i++)
			if (b.src[kind].lines[i].key != NULL)
				CHECK(mapsrc_find(&b.src[kind],
				    b.src[kind].lines[i].key) ==
				    &b.src[kind].lines[i]);
	}
	mapset_close(&b);
	mapset_close(&a);
	return 0;
}
