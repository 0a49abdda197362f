/*
 * tls.c: the TLS server context, and the handshake that starts TLS on
 * a session, for STARTTLS (RFC 3207) and for smtps listeners (implicit
 * TLS, RFC 8314).
 *
 * The certificate and the key are read once, as root, before the
 * privileges are dropped, so the key file may be readable by root
 * only; a renewed certificate needs a restart.  libtls's defaults stay:
 * TLS 1.2 and 1.3, its "secure" ciphers, no client certificate.
 * One server context serves every session; a session's own context
 * comes from tls_accept_socket, which is called under a lock because
 * it records its errors in the shared context.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "smtpd.h"

struct tls *
smtpd_tls_load(const struct conf *conf)
{
	struct tls_config	*cfg;
	struct tls		*ctx;

	if (conf->tls_cert[0] == '\0')
		return NULL;
	if (tls_init() == -1 || (cfg = tls_config_new()) == NULL ||
	    (ctx = tls_server()) == NULL)
		errx(EX_OSERR, "cannot set up TLS");
	if (tls_config_set_cert_file(cfg, conf->tls_cert) == -1)
		errx(EX_CONFIG, "%s: tls_cert %s: %s", conf->path,
		    conf->tls_cert, tls_config_error(cfg));
	if (tls_config_set_key_file(cfg, conf->tls_key) == -1)
		errx(EX_CONFIG, "%s: tls_key %s: %s", conf->path,
		    conf->tls_key, tls_config_error(cfg));
	if (tls_configure(ctx, cfg) == -1)
		errx(EX_CONFIG, "%s: tls_cert %s, tls_key %s: %s", conf->path,
		    conf->tls_cert, conf->tls_key, tls_error(ctx));
	/* The context keeps what it needs; no copy of the key stays here. */
	tls_config_clear_keys(cfg);
	tls_config_free(cfg);
	return ctx;
}

/*
 * The timeout bounds the whole handshake, not each wait: a client that
 * sends its hello a byte at a time would otherwise hold the session
 * for as many timeouts as it has bytes.
 */
int
smtpd_tls_start(struct io *io, int timeout_ms, char *info, size_t infolen,
    char *err, size_t errlen)
{
	struct tls	*cctx;
	struct timespec	 deadline;
	int		 r, flags;

	io_deadline(&deadline, timeout_ms);
	if ((flags = fcntl(io->fd, F_GETFL)) == -1 ||
	    fcntl(io->fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		strlcpy(err, "cannot make the socket non-blocking", errlen);
		return -1;
	}
	pthread_mutex_lock(&env->tlslock);
	r = tls_accept_socket(env->tls, &cctx, io->fd);
	if (r == -1)
		strlcpy(err, tls_error(env->tls) != NULL ? tls_error(env->tls) :
		    "cannot accept TLS", errlen);
	pthread_mutex_unlock(&env->tlslock);
	if (r == -1)
		return -1;
	io->tls = cctx;
	while ((r = tls_handshake(cctx)) != 0) {
		if (r != TLS_WANT_POLLIN && r != TLS_WANT_POLLOUT) {
			strlcpy(err, tls_error(cctx) != NULL ? tls_error(cctx) :
			    "handshake failed", errlen);
			return -1;
		}
		if ((r = io_wait(io, r, io_left(&deadline))) <= 0) {
			strlcpy(err, r == 0 ? "handshake timed out" :
			    "handshake failed", errlen);
			return -1;
		}
	}
	(void)snprintf(info, infolen, "%s with cipher %s",
	    tls_conn_version(cctx), tls_conn_cipher(cctx));
	return 0;
}
