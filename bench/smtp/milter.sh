#!/bin/sh
# bench/smtp/milter.sh: smtpd(8) and Postfix, each with and without rspamd
# as a milter, on the same messages in one run (BENCH_MILTER=1 run.sh, or
# make -C bench/smtp milter).
#
# One rspamd serves both: its proxy worker in milter mode scanning by
# itself (self_scan, two processes for the two cores), the modules that
# need Redis or the network off, DNS to a closed port, as in
# tests/smtpd/milter_test.  basemail runs two smtpd (one with
# "milter inet:127.0.0.1:PORT"), Postfix two smtpd services (one with
# smtpd_milters on the same rspamd); each takes the messages of smtpload
# in turn, over 1 and 8 connections, BENCH_ROUNDS times, the median
# round shown.  Postfix puts each message on hold, as in run.sh, and
# basemail's deliver does not run: only reception is measured, the
# milter round trip in it.  The cost of the filter is the difference in
# the latency of the 250 (from the end of the data) with and without it.
#
# Environment: BENCH_M1, BENCH_M8 (messages per connection), BENCH_ROUNDS,
# BENCH_MILTER_SOCKET=inet (the default: rspamd on 127.0.0.1, as Debian
# sets it up) or unix (a UNIX-domain socket: no TCP, and so no Nagle
# delay for a client that sends a packet in several writes).
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "milter.sh: run as root (Postfix's master needs it)" >&2
	exit 77
fi
command -v rspamd >/dev/null || {
	echo "milter.sh: rspamd is not installed (mk/deps.sh)" >&2
	exit 69
}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
n1=${BENCH_M1:-200}
n8=${BENCH_M8:-50}
rounds=${BENCH_ROUNDS:-5}
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
port_wait()
{
	_i=0
	while ! python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -lt 600 ] || { echo "milter.sh: nothing on port $1" >&2; exit 1; }
		sleep 0.1
	done
}

T=$(mktemp -d /var/tmp/milterbench.XXXXXX)
chmod 0755 "$T"
pids=
cleanup()
{
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	postfix -c "$T/pf/etc" stop >/dev/null 2>&1 || true
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

# ---- rspamd ----
mport=$(free_port)
R=$T/rspamd
if [ "${BENCH_MILTER_SOCKET:-inet}" = unix ]; then
	rbind="$R/run/milter.sock mode=0666"
	milter="unix:$R/run/milter.sock"
else
	rbind="127.0.0.1:$mport"
	milter="inet:127.0.0.1:$mport"
fi
mkdir -p "$R/db" "$R/run" "$R/log" "$R/tmp" "$R/local.d" "$R/override.d"
printf '%s\n' com org net test invalid >"$R/tld.dat"
cat >"$R/rspamd.conf" <<EOF
.include "\$CONFDIR/common.conf"
options {
	pidfile = "$R/run/rspamd.pid";
	dns { nameserver = ["127.0.0.1:1"]; timeout = 0.2s; retransmits = 1; }
	local_addrs = [];
	hs_cache_dir = "$R/db/";
	url_tld = "$R/tld.dat";
	tempdir = "$R/tmp";
}
logging {
	type = "file";
	filename = "$R/log/rspamd.log";
	level = "info";
}
worker "rspamd_proxy" {
	bind_socket = "$rbind";
	milter = yes;
	timeout = 120s;
	upstream "local" { self_scan = yes; }
	count = 2;
}
EOF
for m in arc asn dcc dkim dkim_signing dmarc emails fuzzy_check greylist \
    history_redis metadata_exporter mx_check neural phishing ratelimit rbl \
    replies reputation rspamd_update spf surbl url_redirector clickhouse \
    elastic p0f; do
	echo "enabled = false;" >"$R/override.d/$m.conf"
done
printf '%s\n' "extended_spam_headers = true;" "skip_local = false;" \
    "skip_authenticated = false;" >"$R/local.d/milter_headers.conf"
chown -R "$user" "$R"
runuser -u "$user" -- rspamd -f -c "$R/rspamd.conf" --var="DBDIR=$R/db" \
    --var="RUNDIR=$R/run" --var="LOGDIR=$R/log" --var="LOCAL_CONFDIR=$R" \
    >"$R/out" 2>&1 &
pids="$pids $!"
# The scanners load the regular expressions that hs_helper compiles.
i=0
while ! grep -q "rspamd_proxy.*hyperscan database .* has been loaded" \
    "$R/log/rspamd.log" 2>/dev/null && [ $i -lt 240 ]; do
	sleep 0.5
	i=$((i + 1))
done

# ---- basemail: smtpd, and smtpd with the milter ----
mkdir -p "$T/maps" "$T/vhosts"
echo bench.test >"$T/maps/domains"
echo "$rcpt:{CRYPT}x:$uid:$gid::$T/vhosts/bench.test/rcpt::" >"$T/maps/users"
: >"$T/maps/aliases"
smtpd_start()	# name port [mail.conf line]
{
	mkdir -p "$T/$1/etc" "$T/$1/spool"
	chmod 0700 "$T/$1/spool"
	{
		echo "hostname bench.invalid"
		echo "listen 127.0.0.1:$2"
		echo "user $user"
		echo "spool $T/$1/spool"
		echo "mapdir $T/maps"
		echo "maildir $T/vhosts/%d/%u"
		echo "max_sessions 200"
		[ $# -lt 3 ] || echo "$3"
	} >"$T/$1/etc/mail.conf"
	chown -R "$user" "$T/$1" "$T/maps" "$T/vhosts"
	runuser -u "$user" -- "$top/sbin/newmaps/newmaps" -C "$T/$1/etc/mail.conf"
	"$top/sbin/smtpd/smtpd" -C "$T/$1/etc/mail.conf"
	port_wait "$2"
	pids="$pids $(cat "$T/$1/spool/smtpd.pid")"
}
bport=$(free_port)
smtpd_start b "$bport"
bmport=$(free_port)
smtpd_start bm "$bmport" "milter $milter"

# ---- Postfix: smtpd, and smtpd with smtpd_milters ----
pport=$(free_port)
pmport=$(free_port)
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
milter_default_action = tempfail
EOF
echo "$rcpt bench.test/rcpt/" >"$pf/etc/vmailbox"
postmap -c "$pf/etc" "hash:$pf/etc/vmailbox"
postconf -c "$pf/etc" -F '*/*/chroot = n'
postconf -c "$pf/etc" -M "smtp/inet=127.0.0.1:$pport inet n - n - - smtpd"
postconf -c "$pf/etc" -M "127.0.0.1:$pmport/inet=127.0.0.1:$pmport inet n - n - - smtpd -o smtpd_milters=$milter"
postfix -c "$pf/etc" start >/dev/null 2>&1 || {
	echo "milter.sh: Postfix did not start; see $pf/maillog" >&2
	exit 1
}
port_wait "$pport"
port_wait "$pmport"

# ---- the load ----
drain()
{
	find "$T/b/spool/queue" "$T/bm/spool/queue" -type f -delete
	postsuper -c "$pf/etc" -d ALL >/dev/null 2>&1
}
field()
{
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}
median()
{
	sort -t ' ' -k 4.6 -n "$1" | sed -n "$(((rounds + 1) / 2))p"
}

echo "rspamd: $milter"
printf '%-6s %-15s %6s %9s %9s %9s %6s\n' conns server msgs "msgs/s" \
    "p50 ms" "p99 ms" errors
for spec in "1 $n1" "8 $n8"; do
	set -- $spec
	for s in b bm p pm; do : >"$T/$s.runs"; done
	i=0
	while [ $i -lt "$rounds" ]; do
		for s in "b $bport" "bm $bmport" "p $pport" "pm $pmport"; do
			set -- $spec $s
			drain
			"$load" -p "$4" -c "$1" -n "$2" -t "$rcpt" >>"$T/$3.runs"
		done
		i=$((i + 1))
	done
	set -- $spec
	for s in "b smtpd" "bm smtpd+rspamd" "p postfix" "pm postfix+rspamd"; do
		set -- $spec $s
		r=$(median "$T/$3.runs")
		eval "r_$3=\$r"
		printf '%-6s %-15s %6s %9s %9s %9s %6s\n' "$1" "$4" \
		    "$(field "$r" msgs)" "$(field "$r" rate)" \
		    "$(field "$r" p50)" "$(field "$r" p99)" \
		    "$(field "$r" errors)"
	done
	awk -v a="$(field "$r_bm" rate)" -v b="$(field "$r_pm" rate)" \
	    -v c="$1" 'BEGIN { printf "%-6s %-15s %6s %8.2fx\n", c,
	    "ratio+rspamd", "", (b > 0 ? a / b : 0) }'
	for s in "b bm smtpd" "p pm postfix"; do
		set -- $spec $s
		eval "x=\$r_$3 y=\$r_$4"
		awk -v c="$1" -v w="$5" -v p50a="$(field "$x" p50)" \
		    -v p50b="$(field "$y" p50)" -v p99a="$(field "$x" p99)" \
		    -v p99b="$(field "$y" p99)" 'BEGIN { printf "%-6s %-15s " \
		    "milter cost: p50 +%.2f ms, p99 +%.2f ms\n", c, w,
		    p50b - p50a, p99b - p99a }'
	done
done
# What rspamd made of a message, for the record.
drain
"$load" -p "$bmport" -c 1 -n 1 -t "$rcpt" >/dev/null
f=$(find "$T/bm/spool/queue" -type f | head -n 1)
echo
echo "rspamd scanned $(grep -c rspamd_task_write_log "$R/log/rspamd.log") messages; one of smtpd+rspamd has:"
grep -A1 '^X-Spamd-Result' "$f" || echo "(no X-Spamd-Result)"
