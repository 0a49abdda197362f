/*
 * dkimbench: DKIM signatures per second on one core (one thread), for
 * rsa-2048 and ed25519 keys, of messages of about 4 KB: the whole of
 * dk_spool_sign as smtpd calls it (read the message back, libopendkim's
 * signature, the DKIM-Signature: put at the top of the spool file),
 * and, for comparison, libcrypto's signature alone with a key already
 * parsed, the floor of any signer.  Keys and spool in a scratch
 * directory under /tmp, removed at the end.
 *
 * usage: dkimbench [seconds]	(default 3 per figure)
 */
#include <sys/stat.h>

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "libmail.h"

static char	 dir[] = "/tmp/dkimbench.XXXXXX";
static char	 mapdir[PATH_MAX], spool[PATH_MAX];
static const char *selector;

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
lookup(const void *arg, const char *domain, char *buf, size_t len)
{
	return strlcpy(buf, selector, len) < len;
}

static EVP_PKEY *
makekey(const char *sel, int ed25519)
{
	EVP_PKEY	*pkey;
	char		 path[PATH_MAX];
	FILE		*fp;

	pkey = ed25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") :
	    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (pkey == NULL || dk_key_path(mapdir, "example.org", sel, path,
	    sizeof(path)) == -1 || (fp = fopen(path, "w")) == NULL ||
	    PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fclose(fp) == EOF)
		errx(1, "cannot make the %s key", sel);
	return pkey;
}

static void
message(FILE *fp)
{
	int	 i;

	fprintf(fp, "Received: from client.test (localhost [127.0.0.1])\n"
	    "\tby bench.test (basemail) with ESMTP id 0123456789abcdef;\n"
	    "\tThu, 26 Nov 2026 12:00:00 +0000\n"
	    "From: Alice <alice@example.org>\nTo: <bob@example.net>\n"
	    "Subject: bench\nDate: Thu, 26 Nov 2026 12:00:00 +0000\n"
	    "Message-ID: <bench@example.org>\n\n");
	for (i = 0; i < 50; i++)
		fprintf(fp, "%.76s\n", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

static void
bench_spool(const char *name, const char *sel, double secs)
{
	struct spool_msg msg;
	char		*rcpt = "bob@example.net", errbuf[512];
	double		 t0, t;
	long		 n = 0;

	selector = sel;
	t0 = now();
	do {
		if (spool_create(spool, &msg) == -1 ||
		    spool_envelope(&msg, time(NULL), "alice@example.org",
		    &rcpt, 1) == -1)
			err(1, "spool");
		message(msg.fp);
		if (dk_spool_sign(&msg, mapdir, lookup, NULL, errbuf,
		    sizeof(errbuf)) != 1)
			errx(1, "%s: not signed: %s", name, errbuf);
		spool_abort(&msg);
		n++;
	} while ((t = now() - t0) < secs);
	printf("%-8s basemail (dk_spool_sign, libopendkim) %8.0f signatures/s\n",
	    name, n / t);
}

static void
bench_raw(const char *name, EVP_PKEY *pkey, double secs)
{
	unsigned char	 sig[512], data[64];
	EVP_MD_CTX	*ctx;
	size_t		 siglen;
	double		 t0, t;
	long		 n = 0;

	memset(data, 'x', sizeof(data));
	t0 = now();
	do {
		siglen = sizeof(sig);
		if ((ctx = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestSignInit(ctx, NULL,
		    EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA ? EVP_sha256() :
		    NULL, NULL, pkey) != 1 ||
		    EVP_DigestSign(ctx, sig, &siglen, data, sizeof(data)) != 1)
			errx(1, "%s: libcrypto cannot sign", name);
		EVP_MD_CTX_free(ctx);
		n++;
	} while ((t = now() - t0) < secs);
	printf("%-8s libcrypto alone, key parsed once     %8.0f signatures/s\n",
	    name, n / t);
}

int
main(int argc, char *argv[])
{
	EVP_PKEY	*rsa, *ed;
	double		 secs = argc > 1 ? atof(argv[1]) : 3;
	char		 cmd[PATH_MAX + 16];

	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	snprintf(mapdir, sizeof(mapdir), "%s/maps", dir);
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	snprintf(cmd, sizeof(cmd), "%s/dkim", mapdir);
	if (mkdir(mapdir, 0700) == -1 || mkdir(cmd, 0700) == -1 ||
	    spool_init(spool) == -1)
		err(1, "%s", dir);
	rsa = makekey("rsa", 0);
	ed = makekey("ed", 1);
	printf("one thread, %.0f s each, messages of about 4 KB\n", secs);
	bench_spool("rsa-2048", "rsa", secs);
	bench_spool("ed25519", "ed", secs);
	bench_raw("rsa-2048", rsa, secs);
	bench_raw("ed25519", ed, secs);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
