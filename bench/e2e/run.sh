#!/bin/sh
# bench/e2e: end to end, basemail (smtpd + deliver) against Postfix
# (smtpd + qmgr + virtual(8)) configured the same way, in the same run,
# on the same messages: N messages (default 2000) of about 4 KB a run
# to 1,000 Maildirs of one domain, no quota, relayed from 127.0.0.1
# (relaynets / mynetworks), for every load CONNS:PER (CONNS concurrent
# clients, each sending PER messages a connection before it opens the
# next), RUNS runs each (default 3), the two systems in turn.
#
# Per load and system it prints the median (min-max) over the runs of:
# accept msg/s (first MAIL to last 250), e2e msg/s (first MAIL to the
# last file renamed into new/), the p50 and p99 latency from MAIL FROM
# to the file in new/ (its ctime), the server's CPU ms per message (all
# the processes of the mail system: utime and stime, live and reaped)
# and its peak RSS (the sum of VmHWM of its processes).  Then the same
# load against Postfix's smtp-sink (no disk, no delivery): the ceiling
# of the load generator.  Then idle sessions on smtpd: its RSS with
# IDLE (default "1000 10000") sessions open, as soon as they are and
# once the threads that opened them have ended, and the time a new
# client waits for its greeting meanwhile.
#
# DKIM=1 adds, to every run of every load, basemail again (the same
# smtpd and deliver) with every message From: a domain whose dkim=
# names an rsa-2048 key (basemail-rsa) and one whose key is ed25519
# (basemail-ed25519): each message is signed before smtpd's 250; the
# unsigned rounds are From: a domain not hosted, which smtpd looks up
# and does not sign.  The three alternate, in an order that turns with
# the run.  With OpenDKIM (Debian's opendkim package) installed,
# Postfix too gets a second smtpd, its mail signed by opendkim(8) as a
# milter with the same rsa key (postfix-opendkim).  The report then
# gives each signed system's msg/s against its unsigned one.
#
# Usage: sh bench/e2e/run.sh	(as root: Postfix's master needs it;
# both mail systems run as the user _basemailbench.)  Environment:
# N, RUNS, CONNS (default "1 8 32 64"), PER (default "1 10"), IDLE,
# DKIM, KEEP=1 keeps the scratch directory and its logs.  LMTP=1: both
# hand their mail to a Dovecot LMTP (dovecot-lmtpd) instead of writing
# the Maildirs themselves, basemail with an lmtp line, Postfix with
# virtual_transport = lmtp:inet:...; each its own Dovecot, configured
# the same, whose processes count in its CPU and RSS; LMTPCONC is
# basemail's max_per_destination, its LMTP connections (default 4;
# Postfix's lmtp has its default of 20).  Not part of make check.
# Builds e2eload and bench/smtp's smtpload; run "make all"
# first.

N=${N:-2000}
RUNS=${RUNS:-3}
CONNS=${CONNS:-"1 8 32 64"}
PER=${PER:-"1 10"}
IDLE=${IDLE-"1000 10000"}
DKIM=${DKIM:-}
BOXES=1000
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/bench/e2e
PY=/usr/bin/python3
user=_basemailbench

[ "$(id -u)" -eq 0 ] || { echo "e2e: run as root" >&2; exit 1; }
for p in "$top/sbin/smtpd/smtpd" "$top/libexec/deliver/deliver" \
    "$top/sbin/newmaps/newmaps"; do
	[ -x "$p" ] || { echo "e2e: $p is not built" >&2; exit 1; }
done
make -s -C "$here" e2eload >/dev/null || exit 1
make -s -C "$top/bench/smtp" smtpload >/dev/null || exit 1
id "$user" >/dev/null 2>&1 || useradd --system --no-create-home \
    --shell /usr/sbin/nologin "$user" || exit 1
uid=$(id -u "$user")
gid=$(id -g "$user")
dir=$(mktemp -d /tmp/basemail-e2e.XXXXXX) || exit 1
chmod 0755 "$dir"
# Ten thousand idle sessions need as many descriptors, here and in smtpd.
ulimit -Hn 65536 2>/dev/null && ulimit -n 65536

free_port()
{
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port()
{
	i=0
	until $PY -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),1)" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || return 1; sleep 0.1
	done
}

count_new()
{
	find "$1" -path '*/new/*' -type f | wc -l
}

wait_delivered()
{
	i=0
	until [ "$(count_new "$1")" -ge "$2" ]; do
		i=$((i + 1)); [ $i -lt 1200 ] || return 1; sleep 0.1
	done
}

# ---- basemail ---------------------------------------------------------
bm=$dir/basemail
mkdir -p "$bm/etc" "$bm/maps" "$bm/spool" "$bm/vhosts"
bport=$(free_port)
cat >"$bm/etc/mail.conf" <<EOC
hostname bench.test
user $user
listen 127.0.0.1:$bport
spool $bm/spool
mapdir $bm/maps
maildir $bm/vhosts/%d/%u
relaynets 127.0.0.0/8
postmaster postmaster@example.org
max_sessions_per_ip 100
max_sessions 10100
EOC
[ -n "$LMTP" ] && printf "lmtp 127.0.0.1:%s\nmax_per_destination ${LMTPCONC:-4}\n" "${blport:=$(free_port)}" \
    >>"$bm/etc/mail.conf"
if [ -n "$DKIM" ]; then
	printf 'example.org dkim=rsa\nexample.net dkim=ed\n'
else
	echo "example.org"
fi >"$bm/maps/domains"
hash='{SHA512-CRYPT}'$(openssl passwd -6 -salt benchbench bench)
i=0
while [ $i -lt $BOXES ]; do
	echo "user$i@example.org:$hash:$uid:$gid::$bm/vhosts/example.org/user$i::"
	i=$((i + 1))
done >"$bm/maps/users"
# The Maildirs, as mailadduser add makes them: deliver creates none.
i=0
while [ $i -lt $BOXES ]; do
	mkdir -p "$bm/vhosts/example.org/user$i/cur" \
	    "$bm/vhosts/example.org/user$i/new" "$bm/vhosts/example.org/user$i/tmp"
	i=$((i + 1))
done
: >"$bm/maps/aliases"
chown -R "$user" "$bm"
chmod 0700 "$bm/spool"
runuser -u "$user" -- "$top/sbin/newmaps/newmaps" -C "$bm/etc/mail.conf" ||
    exit 1
if [ -n "$DKIM" ]; then
	runuser -u "$user" -- "$top/sbin/dkimkey/dkimkey" \
	    -C "$bm/etc/mail.conf" gen example.org rsa >/dev/null &&
	    runuser -u "$user" -- "$top/sbin/dkimkey/dkimkey" \
	    -C "$bm/etc/mail.conf" gen -t ed25519 example.net ed >/dev/null ||
	    exit 1
fi
runuser -u "$user" -- "$top/sbin/smtpd/smtpd" -d -C "$bm/etc/mail.conf" \
    2>"$dir/smtpd.log" &
bsmtpd=$!
runuser -u "$user" -- "$top/libexec/deliver/deliver" -d -C "$bm/etc/mail.conf" \
    2>"$dir/deliver.log" &
bdeliver=$!

# ---- Postfix ----------------------------------------------------------
pf=$dir/postfix
mkdir -p "$pf/etc" "$pf/queue" "$pf/data" "$pf/mail"
pport=$(free_port)
cat >"$pf/etc/main.cf" <<EOC
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit_mynetworks, reject
virtual_mailbox_domains = example.org
virtual_mailbox_base = $pf/mail
virtual_mailbox_maps = hash:$pf/etc/vmailbox
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
maillog_file = $pf/maillog
maillog_file_prefixes = /tmp
EOC
[ -n "$LMTP" ] && echo "virtual_transport = lmtp:inet:127.0.0.1:${plport:=$(free_port)}" \
    >>"$pf/etc/main.cf"
sed -e 's/^smtp \( *\)inet /127.0.0.1:'"$pport"' inet /' \
    -e 's/^\([a-z]* *[a-z-]* *[-n] *[-n] *\)y /\1n /' \
    /etc/postfix/master.cf >"$pf/etc/master.cf"
i=0
while [ $i -lt $BOXES ]; do
	echo "user$i@example.org example.org/user$i/"
	i=$((i + 1))
done >"$pf/etc/vmailbox"
# Postfix waits for a main.cf changed within the last seconds.
touch -d "1 hour ago" "$pf/etc/main.cf" "$pf/etc/master.cf"
postmap -c "$pf/etc" "hash:$pf/etc/vmailbox"
chown "$user" "$pf/mail"
chown postfix "$pf/data"

# ---- Postfix + OpenDKIM, the anchor of the signed rounds --------------
# A second smtpd of the same Postfix, whose mail the milter signs with
# basemail's rsa key, on the options basemail signs with.  opendkim
# refuses a configuration or key under a directory others may write
# to, as /tmp is: its files go under /run.  The milter listens on a
# UNIX socket: over TCP on loopback, its small writes meet delayed
# ACKs, and each message waited some 90 ms for them.
odpid=
od=
if [ -n "$DKIM" ] && [ -x /usr/sbin/opendkim ]; then
	od=$(mktemp -d /run/basemail-e2e-opendkim.XXXXXX) || exit 1
	chmod 0755 "$od"
	pdport=$(free_port)
	cp "$bm/maps/dkim/example.org.rsa.key" "$od/rsa.key"
	cat >"$od/opendkim.conf" <<EOC
Mode s
Syslog no
Domain example.org
Selector rsa
KeyFile $od/rsa.key
Canonicalization relaxed/relaxed
SignatureAlgorithm rsa-sha256
SignHeaders From,To,Cc,Subject,Date,Message-ID,MIME-Version,Content-Type,Content-Transfer-Encoding,Reply-To,In-Reply-To,References
OversignHeaders From
InternalHosts 127.0.0.0/8
Socket local:$od/milter.sock
UMask 0000
PidFile $od/opendkim.pid
EOC
	chown -R "$user" "$od"
	chmod 0600 "$od/rsa.key"
	runuser -u "$user" -- /usr/sbin/opendkim -f -x "$od/opendkim.conf" \
	    2>"$od/opendkim.log" &
	odpid=$!
	cat >>"$pf/etc/master.cf" <<EOC
127.0.0.1:$pdport inet n - n - - smtpd
  -o smtpd_milters=unix:$od/milter.sock
  -o milter_default_action=tempfail
EOC
fi
postfix -c "$pf/etc" check && postfix -c "$pf/etc" start ||
    { echo "e2e: postfix does not start" >&2; }

# ---- Dovecot LMTP (LMTP=1) ------------------------------------------
# dovecot_lmtp NAME PORT USERS: a Dovecot serving LMTP on 127.0.0.1:PORT
# into the homes of the passwd-file USERS (Maildirs), with its files
# under $dir/NAME; prints its master's PID.
dovecot_lmtp()
{
	_d=$dir/$1
	mkdir -p "$_d/run" "$_d/state"
	cat >"$_d/dovecot.conf" <<EOD
base_dir = $_d/run
state_dir = $_d/state
log_path = $_d/log
instance_name = e2e-$1-$$
protocols = lmtp
ssl = no
first_valid_uid = 1
default_internal_user = $user
default_internal_group = $(id -gn "$user")
default_login_user = $user
mail_location = maildir:~
passdb {
  driver = passwd-file
  args = $3
}
userdb {
  driver = passwd-file
  args = $3
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $2
  }
}
EOD
	dovecot -c "$_d/dovecot.conf" || { echo "e2e: dovecot $1" >&2; exit 1; }
	wait_port "$2" || { echo "e2e: dovecot $1 does not listen" >&2; exit 1; }
	cat "$_d/run/master.pid"
}
if [ -n "$LMTP" ]; then
	# Postfix's mailboxes in Dovecot's userdb, as basemail's users map is.
	i=0
	while [ $i -lt $BOXES ]; do
		echo "user$i@example.org:$hash:$uid:$gid::$pf/mail/example.org/user$i::"
		mkdir -p "$pf/mail/example.org/user$i/cur" \
		    "$pf/mail/example.org/user$i/new" \
		    "$pf/mail/example.org/user$i/tmp"
		i=$((i + 1))
	done >"$pf/etc/dovecot-users"
	chown "$user" "$pf/etc/dovecot-users"
	chmod 0600 "$pf/etc/dovecot-users"
	chown -R "$user" "$pf/mail"
	bdovecot=$(dovecot_lmtp dovecot-bm "$blport" "$bm/maps/users")
	pdovecot=$(dovecot_lmtp dovecot-pf "$plport" "$pf/etc/dovecot-users")
fi

# Postfix is stopped before its configuration is removed: without it,
# "postfix stop" cannot find the master, which would outlive the run.
stop()
{
	postfix -c "$pf/etc" stop >/dev/null 2>&1
	for _c in "$dir"/dovecot-*/dovecot.conf; do
		[ -f "$_c" ] && doveadm -c "$_c" stop 2>/dev/null
	done
	kill "$bsmtpd" "$bdeliver" $sinkpid $odpid 2>/dev/null
	wait 2>/dev/null
	[ -n "$KEEP" ] && echo "kept $dir $od" || rm -rf "$dir" $od
}
trap stop EXIT
trap 'exit 1' INT TERM

wait_port "$bport" || { echo "e2e: smtpd does not listen" >&2; exit 1; }
wait_port "$pport" || { echo "e2e: postfix does not listen" >&2; exit 1; }
if [ -n "$odpid" ]; then
	i=0
	until [ -S "$od/milter.sock" ]; do
		i=$((i + 1)); [ $i -lt 100 ] ||
		    { echo "e2e: opendkim does not listen" >&2; exit 1; }
		sleep 0.1
	done
	wait_port "$pdport" ||
	    { echo "e2e: postfix does not listen on $pdport" >&2; exit 1; }
fi
pmaster=$(sed -n 1p "$pf/queue/pid/master.pid" | tr -d ' ')
sport=$(free_port)
smtp-sink -u "$user" "127.0.0.1:$sport" 1024 &
sinkpid=$!
wait_port "$sport" || { echo "e2e: smtp-sink does not listen" >&2; exit 1; }

# measure SYSTEM PORT MAILROOT C K RUN PIDS...: one run, From: $from
# if set; appends its line to results.  The Maildirs are emptied
# first, as a mail system whose users read their mail would have them.
measure()
{
	_sys=$1 _port=$2 _root=$3 _c=$4 _k=$5 _r=$6
	shift 6
	find "$_root" -path '*/new/*' -type f -delete
	set -- $($PY "$here/proctree.py" "$@") "$@"
	_cpu0=$1
	shift 2
	"$here/e2eload" -p "$_port" -c "$_c" -k "$_k" -n "$N" -m $BOXES \
	    -r "$_sys$_c-$_k-$_r" -o "$dir/tokens" ${from:+-f "$from"} \
	    >"$dir/load.out" ||
	    echo "e2e: $_sys $_c:$_k: $(cat "$dir/load.out")" >&2
	_acc=$(sed -n 's/^accepted=\([0-9]*\) .*/\1/p' "$dir/load.out")
	wait_delivered "$_root" "$_acc" ||
	    echo "e2e: $_sys $_c:$_k: not all delivered" >&2
	set -- $($PY "$here/proctree.py" "$@")
	echo "$_sys $_c $_k $_r $($PY "$here/collect.py" "$dir/tokens" \
	    "$_root") $(awk -v a="$1" -v b="$_cpu0" -v n="$_acc" \
	    'BEGIN { printf "%.3f", (a - b) / n }') $2" >>"$dir/results"
}

# sink C K RUN: the load against smtp-sink; only the accept rate counts.
sink()
{
	_c=$1 _k=$2 _r=$3
	"$here/e2eload" -p "$sport" -c "$_c" -k "$_k" -n "$N" -m $BOXES \
	    -r "sink$_c-$_k-$_r" -o "$dir/tokens" >"$dir/load.out"
	set -- $(sed 's/[a-z]*=//g' "$dir/load.out")
	echo "smtp-sink $_c $_k $_r $1 $4 0 0 0 0 0" >>"$dir/results"
}

# round SYSTEM C K RUN: measure, for one of the systems.
round()
{
	case $1 in
	basemail)		from= ;;
	basemail-rsa)		from=load@example.org ;;
	basemail-ed25519)	from=load@example.net ;;
	postfix)		from= ;;
	postfix-opendkim)	from=load@example.org ;;
	esac
	case $1 in
	basemail*)
		measure "$1" "$bport" "$bm/vhosts" "$2" "$3" "$4" \
		    "$bsmtpd" "$bdeliver" $bdovecot ;;
	postfix)
		measure "$1" "$pport" "$pf/mail" "$2" "$3" "$4" "$pmaster" \
		    $pdovecot ;;
	postfix-opendkim)
		measure "$1" "$pdport" "$pf/mail" "$2" "$3" "$4" "$pmaster" \
		    $odpid ;;
	esac
	from=
}

# rounds RUN: the systems of a run; with DKIM, the unsigned and signed
# rounds of each system alternate, the first of them turning each run.
rounds()
{
	if [ -z "$DKIM" ]; then
		echo basemail postfix
		return
	fi
	_pd=${odpid:+postfix-opendkim}
	case $(($1 % 3)) in
	1)	echo basemail basemail-rsa basemail-ed25519 postfix $_pd ;;
	2)	echo basemail-rsa basemail-ed25519 basemail $_pd postfix ;;
	0)	echo basemail-ed25519 basemail basemail-rsa postfix $_pd ;;
	esac
}

: >"$dir/results"
for c in $CONNS; do
	for k in $PER; do
		r=1
		while [ $r -le "$RUNS" ]; do
			for s in $(rounds "$r"); do
				round "$s" "$c" "$k" "$r"
			done
			sink "$c" "$k" "$r"
			r=$((r + 1))
		done
	done
done

echo "$N messages a run, $RUNS runs, $BOXES Maildirs${LMTP:+ (written by Dovecot LMTP)}; load C:K is C clients, K messages a connection"
$PY "$here/report.py" "$dir/results"

# ---- idle sessions ----------------------------------------------------
bpid=$(cat "$bm/spool/smtpd.pid")
for n in $IDLE; do
	mkfifo "$dir/hold.$n"
	"$top/bench/smtp/smtpload" -p "$bport" -i "$n" <"$dir/hold.$n" \
	    >"$dir/idle.out" 2>&1 &
	lpid=$!
	exec 3>"$dir/hold.$n"
	i=0
	until grep -q ready "$dir/idle.out" 2>/dev/null; do
		if ! kill -0 $lpid 2>/dev/null || [ $i -ge 1200 ]; then
			echo "idle $n: $(cat "$dir/idle.out")" >&2
			break
		fi
		sleep 0.1
		i=$((i + 1))
	done
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$bpid/status")
	greet=$($PY -c "
import socket, time
t = time.time()
s = socket.create_connection(('127.0.0.1', $bport), 5)
s.settimeout(5)
r = s.recv(512)
print('greeted in %.1f ms' % ((time.time() - t) * 1000) if r.startswith(b'220')
      else 'answered ' + r.decode('ascii', 'replace').strip())")
	# The workers that opened them end after 2 s without work.
	sleep 3
	idle=$(awk '/^VmRSS/ { print $2 }' "/proc/$bpid/status")
	echo "idle sessions: $n open, smtpd RSS $((rss / 1024)) MB at once, $((idle / 1024)) MB 3 s later ($((idle / n)) KB a session); a new client: $greet"
	exec 3>&-
	wait $lpid
	sleep 2
done
