#!/bin/sh
# Installs what is not a program: the manual pages and the sample
# configuration.  An existing configuration is never overwritten.
# usage: install-data.sh DESTDIR PREFIX
destdir=$1
prefix=${2:-/usr/local}
top=$(cd "$(dirname "$0")/.." && pwd)

for page in "$top"/share/man/man[0-9]/*.[0-9]; do
	[ -f "$page" ] || continue
	sec=${page##*.}
	install -d "$destdir$prefix/share/man/man$sec"
	install -m 0644 "$page" "$destdir$prefix/share/man/man$sec/"
done

etc=$destdir$prefix/etc/mail
install -d "$etc"
if [ -f "$top/etc/mail.conf" ]; then
	if [ -e "$etc/mail.conf" ]; then
		echo "install: keeping existing $etc/mail.conf"
	else
		install -m 0644 "$top/etc/mail.conf" "$etc/mail.conf"
	fi
fi
