/*
 * conf_load on arbitrary file contents, written to one temporary file
 * that is rewritten for each input; also conf_parse_size and
 * conf_parse_duration on the input as a word.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <unistd.h>

#include "libmail.h"
#include "fuzz.h"

static char	path[] = "/tmp/fuzz_conf.XXXXXX";
static int	fd = -1;

static void
cleanup(void)
{
	unlink(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if ((fd = mkstemp(path)) == -1)
		abort();
	atexit(cleanup);
	return 0;
}

static void
check_loaded(const struct conf *c)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	struct mailaddr		 a;
	const char		*errstr;
	size_t			 i;

	CHECK(c->nlisten >= 1 && c->nlisten <= 64);
	for (i = 0; i < c->nlisten; i++) {
		CHECK(c->listen[i].family == AF_INET ||
		    c->listen[i].family == AF_INET6);
		CHECK(c->listen[i].port[0] != '\0');
		CHECK(c->listen[i].mode != LISTEN_SMTPS ||
		    c->tls_cert[0] != '\0');
	}
	CHECK(addr_parse_safe(c->postmaster, &a, &errstr) == 0);
	CHECK(c->maildir[0] == '/' && strstr(c->maildir, "%d") != NULL &&
	    strstr(c->maildir, "%u") != NULL);
	CHECK(c->spool[0] == '/' && c->mapdir[0] == '/' && c->attic[0] == '/');
	CHECK((c->tls_cert[0] == '\0') == (c->tls_key[0] == '\0'));
	CHECK(c->maxsize > 0 && c->maxsize <= INT64_MAX);
	CHECK(c->maxrcpt >= 1 && c->max_errors >= 1);
	CHECK(c->queue_lifetime > 0 && c->queue_lifetime <= INT32_MAX);
	CHECK(c->nretry_schedule >= 1);
	for (i = 0; i < c->nretry_schedule; i++)
		CHECK(c->retry_schedule[i] > 0 && (i == 0 ||
		    c->retry_schedule[i] >= c->retry_schedule[i - 1]));
	for (i = 0; i < c->nrelaynets; i++)
		CHECK(c->relaynets[i].prefix >= 0 && c->relaynets[i].prefix <=
		    (c->relaynets[i].family == AF_INET ? 32 : 128));
	if (c->relayhost[0] != '\0')
		CHECK(c->relayport[0] != '\0');
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f000001);
	conf_relaynet_match(c, (struct sockaddr *)&sin);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr.s6_addr[15] = 1;
	conf_relaynet_match(c, (struct sockaddr *)&sin6);
	sin6.sin6_addr.s6_addr[10] = sin6.sin6_addr.s6_addr[11] = 0xff;
	sin6.sin6_addr.s6_addr[12] = 10;
	conf_relaynet_match(c, (struct sockaddr *)&sin6);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	 c;
	char		 err[1024], *word;
	uint64_t	 bytes;
	time_t		 secs;

	if (size > 65536)
		return 0;
	if (ftruncate(fd, 0) == -1 || pwrite(fd, data, size, 0) !=
	    (ssize_t)size)
		abort();
	err[0] = '\0';
	if (conf_load(&c, path, err, sizeof(err)) == 0) {
		check_loaded(&c);
		conf_free(&c);
	} else {
		CHECK(strncmp(err, path, strlen(path)) == 0);
		CHECK(c.listen == NULL && c.relaynets == NULL &&
		    c.retry_schedule == NULL);
	}
	if (size <= 64) {
		word = fuzz_cstr(data, size);
		if (conf_parse_size(word, &bytes) == 0)
			CHECK(bytes <= INT64_MAX);
		if (conf_parse_duration(word, &secs) == 0)
			CHECK(secs >= 0 && secs <= INT32_MAX);
		free(word);
	}
	return 0;
}
