/*
 * dkimbench: DKIM signatures per second on one core (one thread), for
 * rsa-2048 and ed25519 keys, of messages of about 4 KB, and where the
 * time of a signature goes:
 *
 *   basemail	dk_spool_sign as smtpd calls it, timed alone: the message
 *		read back from the spool, canonicalized and hashed, signed
 *		with the key of the process's cache, the DKIM-Signature:
 *		put at the top of the spool file (a copy and a rename);
 *   sign	libcrypto's signature alone with a key decoded once: the
 *		floor of any signer;
 *   fresh	the same signature with a key decoded for it (what a
 *		signer that gets the key as text pays at every message);
 *   PEM, DER	the decoding alone, PEM_read_bio_PrivateKey and
 *		d2i_PrivateKey_bio (both go through OpenSSL 3's decoder);
 *   opendkim	libopendkim (when built with it) signing the same message
 *		from memory, with the key as PEM text, the only form its
 *		dkim_sign takes (base64 DER is decoded the same way).
 *
 * Keys and spool in a scratch directory under /tmp, removed at the end.
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

#ifdef HAVE_OPENDKIM
#include <dkim.h>
#endif

#include "libmail.h"

static char	 dir[] = "/tmp/dkimbench.XXXXXX";
static char	 mapdir[PATH_MAX], spool[PATH_MAX];
static const char *selector;
static double	 secs = 3;

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
report(const char *key, const char *what, long n, double t)
{
	printf("%-8s %-44s %8.0f /s %8.1f us\n", key, what, n / t,
	    t / n * 1e6);
}

static int
lookup(const void *arg, const char *domain, char *buf, size_t len)
{
	return strlcpy(buf, selector, len) < len;
}

static EVP_PKEY *
makekey(const char *sel, int ed25519, char **pem)
{
	EVP_PKEY	*pkey;
	char		 path[PATH_MAX];
	FILE		*fp;
	BIO		*bio;
	char		*p;
	long		 len;

	pkey = ed25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") :
	    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (pkey == NULL || dk_key_path(mapdir, "example.org", sel, path,
	    sizeof(path)) == -1 || (fp = fopen(path, "w")) == NULL ||
	    PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fclose(fp) == EOF)
		errx(1, "cannot make the %s key", sel);
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL,
	    NULL) != 1 || (len = BIO_get_mem_data(bio, &p)) <= 0 ||
	    (*pem = strndup(p, len)) == NULL)
		errx(1, "cannot write the %s key", sel);
	BIO_free(bio);
	return pkey;
}

static const char *head[] = {
	"Received: from client.test (localhost [127.0.0.1])\n"
	"\tby bench.test (basemail) with ESMTP id 0123456789abcdef;\n"
	"\tThu, 26 Nov 2026 12:00:00 +0000",
	"From: Alice <alice@example.org>", "To: <bob@example.net>",
	"Subject: bench", "Date: Thu, 26 Nov 2026 12:00:00 +0000",
	"Message-ID: <bench@example.org>", NULL
};
static char	 line[] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxx";

static void
message(FILE *fp)
{
	int	 i;

	for (i = 0; head[i] != NULL; i++)
		fprintf(fp, "%s\n", head[i]);
	fputc('\n', fp);
	for (i = 0; i < 50; i++)
		fprintf(fp, "%s\n", line);
}

static void
bench_spool(const char *name, const char *sel)
{
	struct spool_msg msg;
	char		*rcpt = "bob@example.net", errbuf[512];
	double		 t0, t, spent = 0;
	long		 n = 0;

	selector = sel;
	t0 = now();
	do {
		if (spool_create(spool, &msg) == -1 ||
		    spool_envelope(&msg, time(NULL), "alice@example.org",
		    &rcpt, 1) == -1)
			err(1, "spool");
		message(msg.fp);
		t = now();
		if (dk_spool_sign(&msg, mapdir, lookup, NULL, errbuf,
		    sizeof(errbuf)) != 1)
			errx(1, "%s: not signed: %s", name, errbuf);
		spent += now() - t;
		spool_abort(&msg);
		n++;
	} while (now() - t0 < secs);
	report(name, "basemail: dk_spool_sign", n, spent);
}

static void
sign(const char *name, EVP_PKEY *pkey)
{
	unsigned char	 sig[512], data[32];
	EVP_MD_CTX	*ctx;
	size_t		 siglen = sizeof(sig);

	memset(data, 'x', sizeof(data));
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL,
	    EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA ? EVP_sha256() :
	    NULL, NULL, pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, data, sizeof(data)) != 1)
		errx(1, "%s: libcrypto cannot sign", name);
	EVP_MD_CTX_free(ctx);
}

static EVP_PKEY *
decode(const char *name, const void *data, size_t len, int pem)
{
	EVP_PKEY	*pkey;
	BIO		*bio;

	if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL)
		errx(1, "BIO_new_mem_buf");
	pkey = pem ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) :
	    d2i_PrivateKey_bio(bio, NULL);
	if (pkey == NULL)
		errx(1, "%s: cannot decode the key", name);
	BIO_free(bio);
	return pkey;
}

static void
bench_crypto(const char *name, EVP_PKEY *pkey, const char *pem)
{
	unsigned char	*der = NULL;
	double		 t0, t;
	long		 n;
	int		 derlen;

	if ((derlen = i2d_PrivateKey(pkey, &der)) <= 0)
		errx(1, "%s: i2d_PrivateKey", name);
	n = 0, t0 = now();
	do {
		sign(name, pkey);
		n++;
	} while ((t = now() - t0) < secs);
	report(name, "sign: libcrypto, key decoded once", n, t);
	n = 0, t0 = now();
	do {
		EVP_PKEY *k = decode(name, der, derlen, 0);

		sign(name, k);
		EVP_PKEY_free(k);
		n++;
	} while ((t = now() - t0) < secs);
	report(name, "fresh: decode DER and sign", n, t);
	n = 0, t0 = now();
	do {
		EVP_PKEY_free(decode(name, pem, strlen(pem), 1));
		n++;
	} while ((t = now() - t0) < secs);
	report(name, "PEM: PEM_read_bio_PrivateKey alone", n, t);
	n = 0, t0 = now();
	do {
		EVP_PKEY_free(decode(name, der, derlen, 0));
		n++;
	} while ((t = now() - t0) < secs);
	report(name, "DER: d2i_PrivateKey_bio alone", n, t);
	OPENSSL_free(der);
}

#ifdef HAVE_OPENDKIM
static void
opendkim_one(DKIM_LIB *lib, const char *pem, int ed25519)
{
	static const char	 crlf[] = "\r\n";
	unsigned char		*sig;
	char			 field[512], *p;
	size_t			 siglen, i, j;
	DKIM_STAT		 st;
	DKIM			*d;

	d = dkim_sign(lib, (u_char *)"bench", NULL, (dkim_sigkey_t)pem,
	    (u_char *)"s", (u_char *)"example.org", DKIM_CANON_RELAXED,
	    DKIM_CANON_RELAXED, ed25519 ? DKIM_SIGN_ED25519SHA256 :
	    DKIM_SIGN_RSASHA256, -1, &st);
	if (d == NULL)
		errx(1, "dkim_sign: %s", dkim_getresultstr(st));
	for (i = 0; head[i] != NULL; i++) {
		for (p = field, j = 0; head[i][j] != '\0'; j++) {
			if (head[i][j] == '\n')
				*p++ = '\r';
			*p++ = head[i][j];
		}
		if (dkim_header(d, (u_char *)field, p - field) != DKIM_STAT_OK)
			errx(1, "dkim_header");
	}
	if (dkim_eoh(d) != DKIM_STAT_OK)
		errx(1, "dkim_eoh");
	for (i = 0; i < 50; i++)
		if (dkim_body(d, (u_char *)line, sizeof(line) - 1) !=
		    DKIM_STAT_OK || dkim_body(d, (u_char *)crlf, 2) !=
		    DKIM_STAT_OK)
			errx(1, "dkim_body");
	if (dkim_eom(d, NULL) != DKIM_STAT_OK ||
	    dkim_getsighdr_d(d, 16, &sig, &siglen) != DKIM_STAT_OK)
		errx(1, "dkim_eom: %s", dkim_geterror(d));
	dkim_free(d);
}

static void
bench_opendkim(const char *name, const char *pem, int ed25519)
{
	static const char	*signhdrs[] = { "from", "to", "cc",
				    "subject", "date", "message-id", NULL };
	static const char	*oversign[] = { "from", NULL };
	DKIM_LIB		*lib;
	double			 t0, t;
	long			 n = 0;

	if ((lib = dkim_init(NULL, NULL)) == NULL ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, signhdrs,
	    sizeof(char **)) != DKIM_STAT_OK ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
	    oversign, sizeof(char **)) != DKIM_STAT_OK)
		errx(1, "libopendkim does not start");
	t0 = now();
	do {
		opendkim_one(lib, pem, ed25519);
		n++;
	} while ((t = now() - t0) < secs);
	report(name, "opendkim: libopendkim, PEM key, in memory", n, t);
	dkim_close(lib);
}
#endif

int
main(int argc, char *argv[])
{
	EVP_PKEY	*rsa, *ed;
	char		 cmd[PATH_MAX + 16], *rsapem, *edpem;

	if (argc > 1)
		secs = atof(argv[1]);
	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	snprintf(mapdir, sizeof(mapdir), "%s/maps", dir);
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	snprintf(cmd, sizeof(cmd), "%s/dkim", mapdir);
	if (mkdir(mapdir, 0700) == -1 || mkdir(cmd, 0700) == -1 ||
	    spool_init(spool) == -1)
		err(1, "%s", dir);
	rsa = makekey("rsa", 0, &rsapem);
	ed = makekey("ed", 1, &edpem);
	printf("one thread, %.0f s each, messages of about 4 KB\n", secs);
	bench_spool("rsa-2048", "rsa");
	bench_spool("ed25519", "ed");
	bench_crypto("rsa-2048", rsa, rsapem);
	bench_crypto("ed25519", ed, edpem);
#ifdef HAVE_OPENDKIM
	bench_opendkim("rsa-2048", rsapem, 0);
	bench_opendkim("ed25519", edpem, 1);
#endif
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
