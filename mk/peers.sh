#!/bin/sh
# Prints one line for each peer tool the tests run, with the version of
# the Debian package it came from, so that a test log shows what the
# run was checked against.  Nothing is installed or changed.
while read -r tool pkg; do
	v=$(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null)
	command -v "$tool" >/dev/null 2>&1 || v="missing"
	printf 'peer: %-16s %-28s %s\n' "$tool" "$pkg" "${v:-missing}"
done <<'LIST'
kyua kyua
atf-sh atf-sh
mandoc mandoc
swaks swaks
doveadm dovecot-core
postmap postfix
smtp-sink postfix
python3 python3
aiosmtpd python3-aiosmtpd
dnsmasq dnsmasq-base
openssl openssl
strace strace
ip iproute2
unshare util-linux
systemd-analyze systemd
LIST
# The Perl modules behind swaks's TLS and IPv6, which the tests use.
for m in Net::SSLeay IO::Socket::INET6; do
	v=$(perl -M"$m" -e "print \$$m::VERSION" 2>/dev/null) || v=missing
	printf 'peer: %-16s %-28s %s\n' swaks "$m" "$v"
done
