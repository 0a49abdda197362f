#!/bin/sh
# Installs what is not a program: the manual pages, the sample
# configuration and the empty maps, the rc.d(8) and periodic(8)
# scripts, the syslog and newsyslog entries, the systemd units and the
# Dovecot snippet.  An existing configuration is never overwritten;
# scripts and units are, as they are part of the release.
# usage: install-data.sh DESTDIR PREFIX [ETCDIR]
set -e
destdir=$1
prefix=${2-/usr/local}
top=$(cd "$(dirname "$0")/.." && pwd)
src=$top/etc

# The same directories as mk/defs.mk.
bindir=$prefix/bin
sbindir=$prefix/sbin
libexecdir=$prefix/libexec
etcdir=${3:-$prefix/etc/mail}
periodicdir=$prefix/etc/periodic

tmp=$(mktemp -d "${TMPDIR:-/tmp}/basemail-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# put MODE SOURCE DIR [NAME]: installs SOURCE as DESTDIR/DIR/NAME
# (default: its own name) with the paths of this installation filled in.
put()
{
	_name=${4:-${2##*/}}
	sed -e "s|%%PREFIX%%|$prefix|g" -e "s|%%BINDIR%%|$bindir|g" \
	    -e "s|%%SBINDIR%%|$sbindir|g" \
	    -e "s|%%LIBEXECDIR%%|$libexecdir|g" \
	    -e "s|%%ETCDIR%%|$etcdir|g" \
	    -e "s|%%PERIODICDIR%%|$periodicdir|g" "$2" >"$tmp/$_name"
	install -d -m 0755 "$destdir$3"
	install -m "$1" "$tmp/$_name" "$destdir$3/$_name"
}

# keep MODE SOURCE DIR [NAME]: like put, but leaves an existing file
# alone, as it is the administrator's.
keep()
{
	if [ -e "$destdir$3/${4:-${2##*/}}" ]; then
		echo "install: keeping existing $destdir$3/${4:-${2##*/}}"
		return 0
	fi
	put "$@"
}

for page in "$top"/share/man/man[0-9]/*.[0-9]; do
	[ -f "$page" ] || continue
	sec=${page##*.}
	install -d "$destdir$prefix/share/man/man$sec"
	install -m 0644 "$page" "$destdir$prefix/share/man/man$sec/"
done

# The configuration: mail.conf.sample is always the current one.
install -d -m 0755 "$destdir$etcdir"
if [ -f "$src/mail.conf" ]; then
	put 0644 "$src/mail.conf" "$etcdir" mail.conf.sample
	if [ -e "$destdir$etcdir/mail.conf" ]; then
		echo "install: keeping existing $destdir$etcdir/mail.conf"
	else
		# The maps are installed beside mail.conf: unless that is
		# mail.conf(5)'s default mapdir, the new mail.conf says so.
		sed "s|^#mapdir[[:space:]].*|mapdir			$etcdir|" \
		    "$destdir$etcdir/mail.conf.sample" >"$tmp/mail.conf"
		[ "$etcdir" = /etc/mail ] &&
		    cp "$destdir$etcdir/mail.conf.sample" "$tmp/mail.conf"
		install -m 0644 "$tmp/mail.conf" "$destdir$etcdir/mail.conf"
	fi
fi
: >"$tmp/empty"
for map in domains aliases users; do
	if [ -e "$destdir$etcdir/$map" ]; then
		echo "install: keeping existing $destdir$etcdir/$map"
		continue
	fi
	# users holds password hashes: mailmaps(5) gives it mode 0640.
	mode=0644
	[ $map = users ] && mode=0640
	install -m $mode "$tmp/empty" "$destdir$etcdir/$map"
done

for f in "$src"/rc.d/*; do
	put 0555 "$f" "$prefix/etc/rc.d"
done
for f in "$src"/periodic/daily/*; do
	put 0555 "$f" "$periodicdir/daily"
done
keep 0644 "$src/syslog.d/basemail.conf" "$prefix/etc/syslog.d"
keep 0644 "$src/newsyslog.conf.d/basemail.conf" "$prefix/etc/newsyslog.conf.d"

for f in "$src"/systemd/*; do
	put 0644 "$f" "$prefix/lib/systemd/system"
done
put 0644 "$src/sysusers.d/basemail.conf" "$prefix/lib/sysusers.d"
put 0644 "$src/tmpfiles.d/basemail.conf" "$prefix/lib/tmpfiles.d"

put 0644 "$src/dovecot/basemail.conf" "$prefix/share/examples/basemail" \
    dovecot.conf
put 0644 "$src/mailer/mailer.conf" "$prefix/share/examples/basemail"

# sendmail(8) writes into the mail user's spool, mode 0700; mailadduser(8),
# mailalias(8) and mailpasswd(1) write the mail user's maps for domain
# owners and mailbox users: all four are set-user-ID and set-group-ID
# to that user (see their SECURITY sections).
mailuser=$(awk '{ sub(/#.*/, "") } $1 == "user" { print $2; exit }' \
    "$destdir$etcdir/mail.conf" 2>/dev/null)
mailuser=${mailuser:-_mail}
for prog in "$sbindir/sendmail" "$sbindir/mailadduser" \
    "$sbindir/mailalias" "$bindir/mailpasswd"; do
	[ -f "$destdir$prog" ] || continue
	if [ "$(id -u)" -eq 0 ] && id "$mailuser" >/dev/null 2>&1; then
		chown "$mailuser:$(id -gn "$mailuser")" "$destdir$prog"
		chmod 6555 "$destdir$prog"
	else
		echo "install: $destdir$prog is not set-user-ID yet; as root," \
		    "once the user $mailuser exists:"
		echo "	chown $mailuser:$mailuser $prog &&" \
		    "chmod 6555 $prog"
	fi
done
