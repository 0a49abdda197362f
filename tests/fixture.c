/*
 * Fixtures of the atf-c tests: see fixture.h.
 */
#include <atf-c.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

void
fixture_write(const char *path, const char *text)
{
	FILE	*fp;

	ATF_REQUIRE((fp = fopen(path, "w")) != NULL);
	ATF_REQUIRE(fputs(text, fp) >= 0);
	ATF_REQUIRE(fclose(fp) == 0);
}

char *
fixture_read(const char *path, size_t *len)
{
	FILE	*fp;
	char	*buf;
	long	 n;

	ATF_REQUIRE((fp = fopen(path, "r")) != NULL);
	ATF_REQUIRE(fseek(fp, 0, SEEK_END) == 0);
	ATF_REQUIRE((n = ftell(fp)) >= 0);
	rewind(fp);
	ATF_REQUIRE((buf = malloc(n + 1)) != NULL);
	ATF_REQUIRE_EQ(fread(buf, 1, n, fp), (size_t)n);
	fclose(fp);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

int
fixture_count_files(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	int		 n;

	ATF_REQUIRE((d = opendir(dir)) != NULL);
	n = 0;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}
