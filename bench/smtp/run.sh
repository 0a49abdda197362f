#!/bin/sh
# bench/smtp/run.sh: smtpd(8) against Postfix on this machine, in one run.
#
# Both servers get the same virtual domain (bench.test) with one mailbox
# in a Berkeley DB hash map, listen on 127.0.0.1 on a free port, and
# keep their queue on the same filesystem (under /var/tmp).  smtpload
# sends 4 KB messages over 1, 8 and 32 connections, several messages
# per connection, to each server in turn; then 1,000 idle sessions are
# opened on smtpd and its resident memory is read.
#
# Durability is left at each server's defaults: smtpd fsyncs the file
# and the queue directory before each 250; Postfix's cleanup fsyncs the
# queue file.  Only reception is measured: basemail's deliver is not
# running, and Postfix puts each message on hold (a HOLD action in
# smtpd_data_restrictions: cleanup files it in hold/ instead of
# incoming/), so that neither server spends the two cores on
# deliveries during the measure.
#
# With BENCH_AUTHRES=1, smtpd checks the sender of every message (SPF
# of MAIL FROM and HELO, DKIM, DMARC: smtpd(8) "Sender authentication")
# while Postfix only accepts, as in the plain run.  The run then moves
# into network and mount namespaces of its own (unshare -n -m): the
# load comes from 192.0.2.10, an address put on the loopback interface
# there (smtpd does not check loopback clients), and dnsmasq on
# 127.0.0.1:53, named by a /etc/resolv.conf mounted over the real one,
# serves sender.test's SPF record (the client passes), its DMARC record
# (p=reject) and the key of the DKIM signature each message carries,
# made once by dkimpy's dkimsign; every message passes all three, so
# each costs the full set of lookups and verifications.
#
# Each measure is taken with DATA and again with BDAT (RFC 3030: the
# message as one "BDAT size LAST" chunk, smtpload -B), on both servers:
# the rows smtpd-B and postfix-B, and the ratio of smtpd's BDAT rate to
# its DATA rate.  BENCH_BDAT=0 leaves BDAT out.
#
# Run as root: Postfix's master needs it (smtpd drops to its user).
# Environment: BENCH_N1, BENCH_N8, BENCH_N32 (messages per connection),
# BENCH_ROUNDS (rounds of each measure, default 5), BENCH_IDLE (idle
# sessions, default 1000), BENCH_AUTHRES (see below); BENCH_MILTER=1
# runs milter.sh instead (both servers with and without rspamd as a
# milter).
set -eu
[ "${BENCH_MILTER:-0}" = 1 ] && exec sh "$(dirname "$0")/milter.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: run as root (Postfix's master needs it)" >&2
	exit 77
fi
authres=${BENCH_AUTHRES:-0}
client=192.0.2.10
if [ "$authres" = 1 ] && [ -z "${BENCH_RESOLV:-}" ]; then
	BENCH_RESOLV=$(mktemp /tmp/smtpbench-resolv.XXXXXX)
	echo "nameserver 127.0.0.1" >"$BENCH_RESOLV"
	export BENCH_RESOLV
	exec unshare -n -m sh -c 'ip link set lo up &&
	    ip addr add "$1"/32 dev lo &&
	    mount --bind "$BENCH_RESOLV" /etc/resolv.conf &&
	    exec sh "$0"' "$0" "$client"
fi
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
n1=${BENCH_N1:-300}
n8=${BENCH_N8:-100}
n32=${BENCH_N32:-40}
nidle=${BENCH_IDLE:-1000}
bdat=${BENCH_BDAT:-1}
user=_basemailbench
rcpt=rcpt@bench.test

make -s -C "$top" all >/dev/null
make -s -C "$here" smtpload >/dev/null
load=$here/smtpload
id "$user" >/dev/null 2>&1 ||
    useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
uid=$(id -u "$user")
gid=$(id -g "$user")

free_port()
{
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

T=$(mktemp -d /var/tmp/smtpbench.XXXXXX)
chmod 0755 "$T"
bpid=
dpid=
cleanup()
{
	[ -n "$bpid" ] && kill "$bpid" 2>/dev/null
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	postfix -c "$T/pf/etc" stop >/dev/null 2>&1 || true
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

# ---- basemail's smtpd ----
bport=$(free_port)
mkdir -p "$T/b/etc" "$T/b/maps" "$T/b/spool" "$T/b/vhosts"
cat >"$T/b/etc/mail.conf" <<EOF
hostname bench.invalid
listen 127.0.0.1:$bport
user $user
spool $T/b/spool
mapdir $T/b/maps
maildir $T/b/vhosts/%d/%u
max_sessions $((nidle + 100))
max_sessions_per_ip $((nidle + 100))
EOF
loadopts=
if [ "$authres" = 1 ]; then
	# The client is outside relaynets, as the checks want, and so also
	# under the abuse limits: the greeting's delay and the rates would
	# measure themselves (a second a connection, 451 past 120 messages
	# a minute) rather than the checks.
	printf '%s\n' "relaynets 198.51.100.0/24" "greet_delay 0" \
	    "conn_rate none" "msg_rate none" >>"$T/b/etc/mail.conf"
	openssl genrsa -out "$T/dkim.key" 2048 2>/dev/null
	p=$(openssl rsa -in "$T/dkim.key" -pubout -outform DER 2>/dev/null |
	    base64 -w 0)
	cat >"$T/dns.conf" <<EOF
txt-record=sender.test,"v=spf1 ip4:$client -all"
txt-record=_dmarc.sender.test,"v=DMARC1; p=reject"
txt-record=sel._domainkey.sender.test,"v=DKIM1; k=rsa; ","p=$(echo "$p" | cut -c1-200)","$(echo "$p" | cut -c201-)"
EOF
	dnsmasq --keep-in-foreground --conf-file="$T/dns.conf" --port=53 \
	    --listen-address=127.0.0.1 --bind-interfaces --no-resolv \
	    --no-hosts --pid-file= --local=/test/ \
	    >"$T/dnsmasq.log" 2>&1 &
	dpid=$!
	{
		printf 'From: <load@sender.test>\nTo: <%s>\n' "$rcpt"
		printf 'Subject: smtpload\nDate: %s\n' "$(date -R)"
		printf 'Message-ID: <%s@sender.test>\n\n' "$$"
		i=0
		while [ $i -lt 52 ]; do
			printf '%076d\n' 0
			i=$((i + 1))
		done
	} >"$T/msg.eml"
	dkimsign sel sender.test "$T/dkim.key" <"$T/msg.eml" >"$T/signed.eml"
	loadopts="-b $client -m $T/signed.eml -f load@sender.test"
fi
echo bench.test >"$T/b/maps/domains"
echo "$rcpt:{CRYPT}x:$uid:$gid::$T/b/vhosts/bench.test/rcpt::" \
    >"$T/b/maps/users"
: >"$T/b/maps/aliases"
chown -R "$user" "$T/b"
chmod 0700 "$T/b/spool"
runuser -u "$user" -- "$top/sbin/newmaps/newmaps" -C "$T/b/etc/mail.conf"
"$top/sbin/smtpd/smtpd" -C "$T/b/etc/mail.conf"
i=0
while [ ! -s "$T/b/spool/smtpd.pid" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
bpid=$(cat "$T/b/spool/smtpd.pid")

# ---- Postfix ----
pport=$(free_port)
pf=$T/pf
mkdir -p "$pf/etc" "$pf/spool" "$pf/data" "$pf/mail"
chown postfix "$pf/data"
cp /etc/postfix/master.cf "$pf/etc/master.cf"
cat >"$pf/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $pf/spool
data_directory = $pf/data
maillog_file = $pf/maillog
myhostname = bench.invalid
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
virtual_mailbox_domains = bench.test
virtual_mailbox_maps = hash:$pf/etc/vmailbox
virtual_mailbox_base = $pf/mail
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
smtpd_client_connection_count_limit = 0
smtpd_data_restrictions = check_client_access static:HOLD
maillog_file_prefixes = $T
EOF
echo "$rcpt bench.test/rcpt/" >"$pf/etc/vmailbox"
postmap -c "$pf/etc" "hash:$pf/etc/vmailbox"
postconf -c "$pf/etc" -F '*/*/chroot = n'
postconf -c "$pf/etc" -M "smtp/inet=127.0.0.1:$pport inet n - n - - smtpd"
postfix -c "$pf/etc" check >/dev/null 2>&1 || true
postfix -c "$pf/etc" start >/dev/null 2>&1 || {
	echo "run.sh: Postfix did not start; see $pf/maillog" >&2
	tail -n 5 "$pf/maillog" >&2
	exit 1
}
i=0
while ! python3 -c "import socket; socket.create_connection(('127.0.0.1', $pport), 1)" 2>/dev/null &&
    [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done

# ---- the load ----
# Each measure is taken BENCH_ROUNDS times, the two servers in turn,
# and the round with the median rate is shown: the machine is shared,
# and one disturbed round should not decide a ratio.
rounds=${BENCH_ROUNDS:-5}
# Both queues are emptied before each measure, as a server whose
# deliveries keep up would have them: a directory of thousands of
# files makes every fsync slower, on either server.
drain()
{
	find "$T/b/spool/queue" -type f -delete
	postsuper -c "$pf/etc" -d ALL >/dev/null 2>&1
}
run()
{
	drain
	"$load" $loadopts ${4:-} -p "$1" -c "$2" -n "$3" -t "$rcpt"
}
field()
{
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}
median()
{
	sort -t ' ' -k 4.6 -n "$1" | sed -n "$(((rounds + 1) / 2))p"
}

printf '%-6s %-9s %6s %9s %9s %9s %6s\n' conns server msgs "msgs/s" \
    "p50 ms" "p99 ms" errors
row()
{
	printf '%-6s %-9s %6s %9s %9s %9s %6s\n' "$1" "$2" \
	    "$(field "$3" msgs)" "$(field "$3" rate)" \
	    "$(field "$3" p50)" "$(field "$3" p99)" "$(field "$3" errors)"
}
ratio()
{
	printf '%-6s %-9s %6s %9s\n' "$1" "$2" "" "$(awk -v a="$(field "$3" rate)" \
	    -v b="$(field "$4" rate)" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')"
}
for spec in "1 $n1" "8 $n8" "32 $n32"; do
	set -- $spec
	for f in b p bB pB; do : >"$T/$f.runs"; done
	i=0
	while [ $i -lt "$rounds" ]; do
		run "$bport" "$1" "$2" >>"$T/b.runs"
		run "$pport" "$1" "$2" >>"$T/p.runs"
		if [ "$bdat" = 1 ]; then
			run "$bport" "$1" "$2" -B >>"$T/bB.runs"
			run "$pport" "$1" "$2" -B >>"$T/pB.runs"
		fi
		i=$((i + 1))
	done
	b=$(median "$T/b.runs")
	p=$(median "$T/p.runs")
	row "$1" smtpd "$b"
	row "$1" postfix "$p"
	ratio "$1" ratio "$b" "$p"
	[ "$bdat" = 1 ] || continue
	bB=$(median "$T/bB.runs")
	pB=$(median "$T/pB.runs")
	row "$1" smtpd-B "$bB"
	row "$1" postfix-B "$pB"
	ratio "$1" ratio-B "$bB" "$pB"
	ratio "$1" B/DATA "$bB" "$b"
done

# What smtpd found in the last message: the checks did run.
if [ "$authres" = 1 ]; then
	drain
	run "$bport" 1 1 >/dev/null
	echo
	echo "Authentication-Results: of a message, as queued by smtpd:"
	find "$T/b/spool/queue" -type f -exec awk '
	    /^Authentication-Results:/ { p = 1; print; next }
	    p && /^[ \t]/ { print; next } { p = 0 }' {} +
fi

# ---- idle sessions ----
mkfifo "$T/hold"
"$load" -p "$bport" -i "$nidle" <"$T/hold" >"$T/idle.out" &
lpid=$!
exec 3>"$T/hold"
i=0
while ! grep -q ready "$T/idle.out" 2>/dev/null; do
	if ! kill -0 $lpid 2>/dev/null || [ $i -ge 600 ]; then
		echo "idle sessions: smtpload failed" >&2
		break
	fi
	sleep 0.1
	i=$((i + 1))
done
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$bpid/status")
threads=$(awk '/^Threads/ { print $2 }' "/proc/$bpid/status")
exec 3>&-
wait $lpid || true
echo
echo "idle sessions: $nidle, smtpd threads: $threads, smtpd RSS: $((rss / 1024)) MB ($rss kB)"
