/*
 * Logging for the daemons: syslog(3) with facility mail, or standard
 * error lines "ident: message" when running in the foreground (-d).
 *
 * Messages carry strings from the network (HELO names, addresses), so
 * every byte outside printable ASCII is written as a \ooo octal escape,
 * and a backslash as two: no client can forge a second log line, send
 * a terminal its escape sequences (C1 controls included), or pass its
 * own text off as an escape.
 *
 * fatal() and fatalx() exit with status 1, as OpenBSD's daemons do:
 * they mark a daemon that cannot go on, and rc scripts and deliver -q's
 * callers only look for a non-zero status.  Command line tools report
 * with err(3) and sysexits(3) instead.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "libmail.h"

#define LOG_LINE_MAX	1024

static const char	*log_ident;
static int		 log_foreground = 1;

static void	log_vmsg(int, int, int, const char *, va_list)
		    __attribute__((format(printf, 4, 0)));
static void	log_escape(char *, size_t, const char *);

void
log_init(const char *ident, int foreground)
{
	log_ident = ident;
	log_foreground = foreground;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* Copies src into dst with bytes outside printable ASCII as \ooo. */
static void
log_escape(char *dst, size_t dstlen, const char *src)
{
	const unsigned char	*s;
	size_t			 n = 0;

	for (s = (const unsigned char *)src; *s != '\0'; s++) {
		if (*s < 0x20 || *s >= 0x7f) {
			if (n + 4 >= dstlen)
				break;
			snprintf(dst + n, 5, "\\%03o", *s);
			n += 4;
		} else if (*s == '\\') {
			if (n + 2 >= dstlen)
				break;
			dst[n++] = '\\';
			dst[n++] = '\\';
		} else {
			if (n + 1 >= dstlen)
				break;
			dst[n++] = *s;
		}
	}
	dst[n] = '\0';
}

static void
log_vmsg(int pri, int witherr, int errnum, const char *fmt,
    va_list ap)
{
	char		 raw[LOG_LINE_MAX], msg[LOG_LINE_MAX * 4];
	const char	*ident;

	vsnprintf(raw, sizeof(raw), fmt, ap);
	log_escape(msg, sizeof(msg), raw);
	if (log_foreground) {
		ident = log_ident != NULL ? log_ident : getprogname();
		if (witherr)
			fprintf(stderr, "%s: %s: %s\n", ident, msg,
			    strerror(errnum));
		else
			fprintf(stderr, "%s: %s\n", ident, msg);
		return;
	}
	if (witherr)
		syslog(pri, "%s: %s", msg, strerror(errnum));
	else
		syslog(pri, "%s", msg);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_INFO, 0, 0, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, 1, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, 0, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_foreground)
		return;
	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, 0, 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, 1, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, 0, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
