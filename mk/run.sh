#!/bin/sh
# make run: basemail in a sandbox under the build tree, in the
# foreground until Ctrl-C.  The sandbox has its own mail.conf, maps,
# spool and Maildirs; a demo domain example.org with the mailbox
# demo@example.org, a postmaster and a catch-all alias.  A second run
# reuses it and the mail in it.
#
# Run as the invoking user, or, when invoked as root, as the user
# _basemail (created here), since the mail system refuses to run as
# root: the programs then start as root and become that user
# themselves, as they do under rc.d or systemd.  BASEMAIL_RUN_DIR and
# BASEMAIL_RUN_PORT choose another sandbox and another port (when the
# sandbox is made) than run/ and 2525.
top=$(cd "$(dirname "$0")/.." && pwd)
sb=${BASEMAIL_RUN_DIR:-$top/run}
port=${BASEMAIL_RUN_PORT:-2525}
domain=example.org
mailbox=demo@$domain

case $port in
"" | *[!0-9]*)
	echo "make run: BASEMAIL_RUN_PORT: not a port: $port" >&2
	exit 64 ;;
esac
case $sb in
/*)	;;
*)	sb=$(pwd)/$sb ;;
esac

# can_reach PATH: whether the sandbox's user can get at PATH.
can_reach()
{
	[ "$(id -u)" -ne 0 ] && return 0
	if command -v setpriv >/dev/null; then
		setpriv --reuid="$user" --regid="$user" --init-groups -- \
		    test -x "$1"
	else
		su -m "$user" -c 'test -x "$0"' "$1"
	fi
}

user=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
	user=_basemail
	if ! id "$user" >/dev/null 2>&1; then
		if command -v useradd >/dev/null; then
			useradd --system --no-create-home \
			    --home-dir /nonexistent \
			    --shell /usr/sbin/nologin "$user"
		else
			pw useradd "$user" -d /nonexistent \
			    -s /usr/sbin/nologin
		fi || exit 71
		echo "make run: created the user $user to run the sandbox"
	fi
	# A tree under root's home is out of the mail user's reach.
	if [ -z "$BASEMAIL_RUN_DIR" ] && ! can_reach "$top"; then
		sb=/var/tmp/basemail-run
		echo "make run: $user cannot reach $top: the sandbox is $sb"
	fi
fi
conf=$sb/etc/mail.conf

# prog NAME: the path of a program of the tree, or nothing if it is
# not built (issue by issue, the tree grows).
prog()
{
	for _p in "$top"/bin/"$1"/"$1" "$top"/sbin/"$1"/"$1" \
	    "$top"/libexec/"$1"/"$1"; do
		[ -x "$_p" ] && { echo "$_p"; return 0; }
	done
	echo "make run: $1 is not built yet: $2" >&2
	return 1
}

make_sandbox()
{
	mkdir -p "$sb/etc" "$sb/maps" "$sb/spool" "$sb/vhosts" "$sb/attic" ||
	    exit 73
	chmod 0700 "$sb/spool"
	cat >"$conf" <<CONF
# The sandbox of make run; see mail.conf(5).
hostname	localhost
listen		127.0.0.1:$port
user		$user
spool		$sb/spool
mapdir		$sb/maps
maildir		$sb/vhosts/%d/%u
attic		$sb/attic
postmaster	$mailbox
# Nothing leaves this machine from the sandbox.
relaynets	none
CONF
	for m in domains users aliases; do
		: >"$sb/maps/$m"
	done
	if [ "$(id -u)" -eq 0 ]; then
		chown -R "$user:" "$sb" || exit 71
	fi
	echo "make run: made the sandbox $sb"
}

# Adds the demo domain, mailbox and aliases that are missing.
populate()
{
	if ! grep -q "^$domain\([[:space:]]\|$\)" "$sb/maps/domains"; then
		echo "$domain" >>"$sb/maps/domains"
		echo "make run: added the domain $domain"
	fi
	newmaps=$(prog newmaps "the maps stay text") || return 0
	"$newmaps" -C "$conf" || exit 78

	password=
	if ! grep -q "^$mailbox:" "$sb/maps/users" &&
	    mailadduser=$(prog mailadduser "no mailbox $mailbox"); then
		password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
		# The password goes on a pipe, never on a command line.
		printf '%s\n' "$password" |
		    "$mailadduser" -C "$conf" add -h 0 "$mailbox" ||
		    exit 70
		echo "make run: added the mailbox $mailbox"
	fi

	mailalias=$(prog mailalias "no aliases") || return 0
	for alias in "postmaster@$domain" "@$domain"; do
		grep -q "^$alias:" "$sb/maps/aliases" && continue
		"$mailalias" -C "$conf" add "$alias" "$mailbox" ||
		    exit 70
		echo "make run: added the alias $alias -> $mailbox"
	done
}

show_howto()
{
	listen=$(awk '$1 == "listen" { print $2; exit }' "$conf")
	host=${listen%:*}
	lport=${listen##*:}
	echo
	echo "basemail runs in $sb as $user, on $listen."
	if [ -n "$password" ]; then
		echo "  mailbox  $mailbox, password $password (shown only now)"
	else
		echo "  mailbox  $mailbox"
	fi
	echo "  send     swaks --server $host --port $lport --to $mailbox"
	# smtpd greets clients outside relaynets after a second, and drops
	# those that talk first.
	printf '%s' "           { sleep 2; printf 'HELO me\\r\\nMAIL FROM:<you@example.net>"
	printf '%s' "\\r\\nRCPT TO:<$mailbox>\\r\\nDATA\\r\\nSubject: hi\\r\\n"
	printf '%s\n' "\\r\\nhello\\r\\n.\\r\\nQUIT\\r\\n'; } | nc $host $lport"
	echo "  lands in $sb/vhosts/$domain/demo/new/"
	if mailq=$(prog mailq "no queue listing" 2>/dev/null); then
		echo "  queue    $mailq -C $conf"
	fi
	echo "  stop     Ctrl-C"
	echo
}

# stop: ends both daemons, waits for them, and exits.
stop()
{
	trap - INT TERM HUP
	for pid in $smtpd_pid $deliver_pid; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in $smtpd_pid $deliver_pid; do
		wait "$pid" 2>/dev/null
	done
	rm -f "$sb/run.pid" "$sb/smtpd.pid" "$sb/deliver.pid"
	echo "make run: stopped"
	exit "${1:-0}"
}

[ -f "$conf" ] || make_sandbox
if ! can_reach "$sb/spool"; then
	echo "make run: $user cannot reach $sb; set BASEMAIL_RUN_DIR to" \
	    "a directory it can, e.g. /var/tmp/basemail-run" >&2
	exit 77
fi
populate

smtpd=$(prog smtpd "nothing listens") || exit 0
deliver=$(prog deliver "nothing is delivered") || exit 0
show_howto

smtpd_pid=
deliver_pid=
trap stop INT TERM HUP
"$smtpd" -d -C "$conf" &
smtpd_pid=$!
"$deliver" -d -C "$conf" &
deliver_pid=$!
echo $$ >"$sb/run.pid"
echo "$smtpd_pid" >"$sb/smtpd.pid"
echo "$deliver_pid" >"$sb/deliver.pid"

# Until a signal comes, or one daemon ends on its own (a port in use,
# a bad configuration): then the other one is stopped too.
while kill -0 "$smtpd_pid" 2>/dev/null && kill -0 "$deliver_pid" 2>/dev/null
do
	sleep 1 &
	wait $!
done
echo "make run: a daemon ended; stopping" >&2
stop 1
