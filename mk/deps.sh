#!/bin/sh
# Installs the Debian packages that basemail builds, runs and tests with,
# when some are missing; says which.  "deps.sh run" installs only what
# make run needs (the build, libssl-dev for the HMAC of SRS and the
# DKIM signatures among it, and swaks and nc for the lines it prints),
# so that a fresh machine serves mail soon; without an argument, also
# what the tests need: Kyua and ATF, mandoc, and the real peers of the
# tests: swaks with Net::SSLeay for TLS and IO::Socket::INET6 for IPv6
# (both only Recommends of swaks, which apt-get does not install here),
# Dovecot (doveadm, IMAP
# logins on our users file and Maildirs, and dovecot-lmtpd, the LMTP
# server deliver hands local mail to with lmtp lines), Postfix (postmap, smtp-sink;
# preseeded to "No configuration" so that no daemon of it runs),
# aiosmtpd and dnsmasq (a remote SMTP server and a DNS server on
# loopback), iproute2 (loopback up in the tests' own network namespace),
# strace (to see the fsyncs durability depends on), openssl (test
# certificates), procps (pgrep, to find deliver's workers), systemd
# (systemd-analyze verify of our units; nothing is started), and two
# DKIM verifiers of others for the signatures we make: python3-dkim
# (python3-nacl for its ed25519) and opendkim-tools' opendkim-testmsg;
# rspamd (a real milter for smtpd's milter client; the tests start its
# proxy worker themselves, as the test user; nothing of the package's
# own service runs).  libspf2, libopendmarc and the Public Suffix List
# (publicsuffix) are smtpd's SPF and DMARC checks; libidn2 and
# libunistring the A-labels and NFC of UTF-8 addresses (SMTPUTF8); dkimpy's dkimsign
# signs the messages its DKIM verification is tested with.
PKGS="build-essential pkg-config libbsd-dev libmd-dev libdb-dev
libcrypt-dev libargon2-dev libtls-dev libopendkim-dev libssl-dev swaks
netcat-openbsd libspf2-dev libopendmarc-dev publicsuffix libidn2-dev
libunistring-dev"
[ "${1-}" = run ] || PKGS="$PKGS kyua atf-sh libatf-dev mandoc
dovecot-core dovecot-imapd dovecot-lmtpd postfix python3 python3-aiosmtpd dnsmasq-base
iproute2 strace openssl libnet-ssleay-perl libio-socket-inet6-perl procps
systemd python3-dkim python3-nacl opendkim-tools rspamd"

missing=
for p in $PKGS; do
	dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null |
	    grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing Debian packages:$missing"
sudo=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || {
		echo "deps: not root and no sudo; install:$missing" >&2
		exit 1
	}
	sudo=sudo
fi
echo "postfix postfix/main_mailer_type select No configuration" |
    $sudo debconf-set-selections
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q || exit 1
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends $missing || exit 1
