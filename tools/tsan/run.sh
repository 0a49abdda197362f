#!/bin/sh
# tools/tsan/run.sh: smtpd built with ThreadSanitizer, under load.
#
# Builds a copy of the tree with SANITIZE=thread (in a scratch
# directory: the tree itself is left as it is), starts that smtpd with
# STARTTLS and AUTH, and runs at once: bench/smtp's smtpload at 8 and 32
# connections, swaks sessions that log in (right and wrong passwords)
# over STARTTLS and send, and IDLE idle sessions.  Then SIGTERM with
# sessions still open.  Prints the number of sessions run and of TSan
# reports, and exits 1 if there is any (they are in the log it names).
#
# Usage: sh tools/tsan/run.sh [ROUNDS]	(default 3 rounds of the load)
# Run as root, smtpd runs as the user _basemailtest.  Not part of make
# check: it takes a few minutes.
set -u
rounds=${1:-3}
top=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /var/tmp/tsan-smtpd.XXXXXX) || exit 1
chmod 0755 "$T"
keep=
cleanup()
{
	[ -n "${spid-}" ] && kill "$spid" 2>/dev/null
	[ -n "$keep" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM

echo "tsan: building a ThreadSanitizer tree in $T/tree"
mkdir "$T/tree"
tar -C "$top" --exclude=./.git --exclude=./run -cf - . | tar -C "$T/tree" -xf -
make -s -C "$T/tree" clean >/dev/null 2>&1
make -s -C "$T/tree" all SANITIZE=thread >"$T/build.log" 2>&1 ||
    { cat "$T/build.log"; exit 1; }
make -s -C "$T/tree/bench/smtp" smtpload >/dev/null || exit 1

as=
user=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
	user=_basemailtest
	id $user >/dev/null 2>&1 || useradd --system --no-create-home \
	    --shell /usr/sbin/nologin $user || exit 1
	as="runuser -u $user --"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sb=$T/sb
mkdir -p "$sb/etc" "$sb/maps" "$sb/spool" "$sb/vhosts"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=tsan.test.invalid \
    -days 2 -keyout "$sb/etc/key.pem" -out "$sb/etc/cert.pem" 2>/dev/null
uid=$(id -u $user)
gid=$(id -g $user)
cat >"$sb/etc/mail.conf" <<EOC
hostname tsan.test.invalid
listen 127.0.0.1:$port
user $user
spool $sb/spool
mapdir $sb/maps
maildir $sb/vhosts/%d/%u
relaynets 127.0.0.0/8
max_sessions 2000
max_sessions_per_ip 2000
tls_cert $sb/etc/cert.pem
tls_key $sb/etc/key.pem
EOC
echo example.org >"$sb/maps/domains"
hash=$(printf secret | openssl passwd -6 -stdin)
i=0
while [ $i -lt 20 ]; do
	echo "user$i@example.org:{SHA512-CRYPT}$hash:$uid:$gid::$sb/vhosts/example.org/user$i::"
	i=$((i + 1))
done >"$sb/maps/users"
: >"$sb/maps/aliases"
chown -R $user "$sb"
chmod 0700 "$sb/spool"
$as "$T/tree/sbin/newmaps/newmaps" -C "$sb/etc/mail.conf" || exit 1
# halt_on_error=0: every race of the run is reported, not the first.
TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 suppressions=$top/tools/tsan/suppressions" \
    $as "$T/tree/sbin/smtpd/smtpd" -d -C "$sb/etc/mail.conf" \
    2>"$T/smtpd.log" &
spid=$!
i=0
until [ -s "$sb/spool/smtpd.pid" ] || [ $i -ge 100 ]; do
	sleep 0.1; i=$((i + 1))
done
[ -s "$sb/spool/smtpd.pid" ] || { cat "$T/smtpd.log"; exit 1; }

load=$T/tree/bench/smtp/smtpload
sessions=0
r=1
while [ $r -le "$rounds" ]; do
	"$load" -p "$port" -c 8 -n 20 -t user1@example.org >/dev/null &
	pids=$!
	"$load" -p "$port" -c 32 -n 10 -t user2@example.org >/dev/null &
	pids="$pids $!"
	n=0
	while [ $n -lt 12 ]; do
		pw=secret
		[ $((n % 3)) -eq 0 ] && pw=wrong
		swaks --server 127.0.0.1 --port "$port" --tls --auth PLAIN \
		    --auth-user "user$((n % 20))@example.org" \
		    --auth-password "$pw" --to someone@elsewhere.test \
		    --hide-all >/dev/null 2>&1 &
		pids="$pids $!"
		n=$((n + 1))
	done
	wait $pids
	sessions=$((sessions + 8 + 32 + 12))
	r=$((r + 1))
done
# SIGTERM while sessions are open, some inside TLS.
mkfifo "$T/hold"
"$load" -p "$port" -i 200 <"$T/hold" >/dev/null &
pids=$!
exec 3>"$T/hold"
python3 - "$port" <<'PY' &
import socket, ssl, sys, time
port = int(sys.argv[1])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
f.readline()
s.sendall(b"EHLO t\r\n")
while not f.readline().startswith(b"250 "):
	pass
s.sendall(b"STARTTLS\r\n")
f.readline()
t = ctx.wrap_socket(s)
t.sendall(b"EHLO t\r\n")
time.sleep(30)
PY
pids="$pids $!"
sleep 3
kill -TERM "$(cat "$sb/spool/smtpd.pid")"
wait "$spid"
spid=
exec 3>&-
kill $pids 2>/dev/null
wait $pids 2>/dev/null
sessions=$((sessions + 201))
reports=$(grep -c '^WARNING: ThreadSanitizer' "$T/smtpd.log")
echo "tsan: sessions=$sessions reports=$reports"
if [ "$reports" -gt 0 ]; then
	keep=1
	grep -A12 '^WARNING: ThreadSanitizer' "$T/smtpd.log" | head -60
	echo "tsan: the whole log: $T/smtpd.log"
	exit 1
fi
exit 0
