/*
 * Small fixtures shared by the atf-c tests (tests/fixture.c), as
 * tests/common.sh is for the atf-sh ones.  Each fails the test case
 * (ATF_REQUIRE) when the file system does not do what it asks.
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <stddef.h>

/* Writes text to path, replacing it. */
void	 fixture_write(const char *path, const char *text);
/* The bytes of path, NUL after them (malloc'd); their count in *len. */
char	*fixture_read(const char *path, size_t *len);
/* Names in dir other than "." and "..": a leftover shows in the count. */
int	 fixture_count_files(const char *dir);

#endif
