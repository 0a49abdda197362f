/*
 * maptime: timings of the map library for bench/maps.
 *	maptime lookup mapdir name keysfile count
 *		count lookups of the keys of keysfile (one a line, taken in
 *		turn), after one pass over them to warm the cache; prints
 *		lookups per second
 *	maptime add mapdir domain n
 *		n times: lock and open the maps (MAPSET_APPEND), look the
 *		new address up, add its mailbox, install users and
 *		users.db, as mailadduser add does without the Maildir and
 *		the hashing; prints the median
 */
#include <sys/types.h>

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libmail.h"

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
lookup(const char *mapdir, const char *name, const char *keysfile,
    long count)
{
	struct map	*m;
	FILE		*fp;
	char		**keys, line[1024], val[MAPSRC_LINE_MAX + 1];
	size_t		 n, cap, i;
	long		 k, hits;
	double		 t0, t1;

	if ((fp = fopen(keysfile, "r")) == NULL)
		err(1, "%s", keysfile);
	keys = NULL;
	n = cap = 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (n == cap) {
			cap = cap == 0 ? 1024 : cap * 2;
			if ((keys = reallocarray(keys, cap,
			    sizeof(*keys))) == NULL)
				err(1, NULL);
		}
		if ((keys[n++] = strdup(line)) == NULL)
			err(1, NULL);
	}
	fclose(fp);
	if (n == 0)
		errx(1, "%s: no keys", keysfile);
	if ((m = map_open(mapdir, name)) == NULL)
		err(1, "%s/%s.db", mapdir, name);
	for (i = 0; i < n; i++)
		if (map_lookup(m, keys[i], val, sizeof(val)) == -1)
			err(1, "lookup %s", keys[i]);
	hits = 0;
	t0 = now();
	for (k = 0; k < count; k++)
		hits += map_lookup(m, keys[k % n], val, sizeof(val));
	t1 = now();
	printf("%ld lookups (%ld hits) in %.3f s: %.0f lookups/s\n", count,
	    hits, t1 - t0, count / (t1 - t0));
	map_close(m);
	return 0;
}

static double
median(double *t, int n)
{
	qsort(t, n, sizeof(*t), cmp_double);
	return t[n / 2] * 1000;
}

static int
add(const char *mapdir, const char *domain, int n)
{
	struct mapset	 ms;
	double		*t, *topen, *tlookup, *tinstall, t0, t1, t2, t3;
	char		 line[1024], key[256];
	int		 i;

	if ((t = calloc(n, sizeof(*t))) == NULL ||
	    (topen = calloc(n, sizeof(*t))) == NULL ||
	    (tlookup = calloc(n, sizeof(*t))) == NULL ||
	    (tinstall = calloc(n, sizeof(*t))) == NULL)
		err(1, NULL);
	for (i = 0; i < n; i++) {
		t0 = now();
		/* As mailadduser add opens them. */
		if (mapset_open_flags(&ms, mapdir, MAPSET_LOCK |
		    MAPSET_APPEND) != 0)
			errx(1, "maps in error");
		t1 = now();
		snprintf(key, sizeof(key), "maptime%d.%ld@%s", i,
		    (long)getpid(), domain);
		if (mapsrc_find(&ms.src[MAP_DOMAINS], domain) == NULL ||
		    mapsrc_find(&ms.src[MAP_USERS], key) != NULL ||
		    mapsrc_find(&ms.src[MAP_ALIASES], key) != NULL)
			errx(1, "%s: taken, or no such domain", key);
		t2 = now();
		snprintf(line, sizeof(line), "%s:{BLF-CRYPT}"
		    "$2b$10$abcdefghijklmnopqrstuOabcdefghijklmnopqrstuvwxyz012"
		    ":1000:1000::/tmp/maptime/%d::", key, i);
		if (mapsrc_add(&ms.src[MAP_USERS], line) == -1 ||
		    mapset_install(&ms, 1 << MAP_USERS, getgid()) == -1)
			errx(1, "add failed");
		mapset_close(&ms);
		t3 = now();
		t[i] = t3 - t0;
		topen[i] = t1 - t0;
		tlookup[i] = t2 - t1;
		tinstall[i] = t3 - t2;
	}
	printf("%d adds: median %.1f ms (open %.1f, lookups %.1f, "
	    "add and install %.1f)\n", n, median(t, n), median(topen, n),
	    median(tlookup, n), median(tinstall, n));
	free(t);
	free(topen);
	free(tlookup);
	free(tinstall);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char	*errstr;
	long		 count;

	if (argc == 6 && strcmp(argv[1], "lookup") == 0) {
		count = strtonum(argv[5], 1, 1000000000, &errstr);
		if (errstr != NULL)
			errx(1, "count %s: %s", argv[5], errstr);
		return lookup(argv[2], argv[3], argv[4], count);
	}
	if (argc == 5 && strcmp(argv[1], "add") == 0) {
		count = strtonum(argv[4], 1, 100000, &errstr);
		if (errstr != NULL)
			errx(1, "n %s: %s", argv[4], errstr);
		return add(argv[2], argv[3], count);
	}
	fprintf(stderr, "usage: maptime lookup mapdir name keysfile count\n"
	    "       maptime add mapdir domain n\n");
	return 1;
}
