#!/bin/sh
# bench/e2e: end to end, basemail (smtpd + deliver) against Postfix
# (smtpd + qmgr + virtual(8)) configured the same way, in the same run:
# MESSAGES messages of about 4 KB over 8 concurrent SMTP sessions, to
# 1,000 Maildirs, no quota.  For each: messages per second (from the
# first MAIL to the last file in new/) and the p50 and p99 of the time
# from the 250 after DATA to the rename of the file into new/.
#
# A third system in each round is basemail again, the same instance,
# with every message From: a domain whose dkim= has an rsa-2048 key:
# each is DKIM-signed (rsa-sha256) before smtpd's 250; the report gives
# its throughput against the unsigned rounds (From: a domain not
# hosted, which smtpd still looks at, and does not sign).
#
# Usage: sh bench/e2e/run.sh [MESSAGES]	(as root: Postfix's master
# needs it; both mail systems then run as the user _basemailbench.)
# MESSAGES (default 2000) go in each of ROUNDS rounds (default 2) per
# system, alternating; CONNS sets the sessions (default 8); KEEP=1
# keeps the scratch directory and its logs.  Not part of make check.
# Builds nothing: run "make all" first.

CONNS=${CONNS:-8}
ROUNDS=${ROUNDS:-2}
N=$(( ${1:-2000} / CONNS * CONNS ))
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
id "$user" >/dev/null 2>&1 || useradd --system --no-create-home \
    --shell /usr/sbin/nologin "$user" || exit 1
uid=$(id -u "$user")
gid=$(id -g "$user")
dir=$(mktemp -d /tmp/basemail-e2e.XXXXXX) || exit 1
chmod 0755 "$dir"

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

# count_new ROOT: files in every new/ under ROOT.  The figures come
# from the files' times, not from when this sees them.
count_new()
{
	find "$1" -path '*/new/*' -type f | wc -l
}

wait_delivered()
{
	i=0
	until [ "$(count_new "$1")" -ge "$2" ]; do
		i=$((i + 1)); [ $i -lt 600 ] || return 1; sleep 0.5
	done
}

# run_load NAME PORT MAILROOT TOTAL [FROM]: the load, then, once TOTAL
# messages are in MAILROOT, the figures of this round: "n msgs/s p50 p99".
run_load()
{
	start=$($PY -c 'import time; print("%.6f" % time.time())')
	$PY "$here/load.py" "$2" "$N" "$CONNS" "$BOXES" "$1" ${5:+"$5"} \
	    >"$dir/$1.tokens" || return 1
	wait_delivered "$3" "$4" ||
	    { echo "e2e: $1: not all delivered" >&2; return 1; }
	$PY "$here/collect.py" "$dir/$1.tokens" "$3" "$start"
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
EOC
echo "example.org dkim=s1" >"$bm/maps/domains"
hash='{SHA512-CRYPT}'$(openssl passwd -6 -salt benchbench bench)
i=0
while [ $i -lt $BOXES ]; do
	echo "user$i@example.org:$hash:$uid:$gid::$bm/vhosts/example.org/user$i::"
	i=$((i + 1))
done >"$bm/maps/users"
: >"$bm/maps/aliases"
chown -R "$user" "$bm"
chmod 0700 "$bm/spool"
runuser -u "$user" -- "$top/sbin/newmaps/newmaps" -C "$bm/etc/mail.conf" ||
    exit 1
runuser -u "$user" -- "$top/sbin/dkimkey/dkimkey" -C "$bm/etc/mail.conf" \
    gen example.org s1 >/dev/null || exit 1
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
postfix -c "$pf/etc" check && postfix -c "$pf/etc" start ||
    { echo "e2e: postfix does not start" >&2; }

# Postfix is stopped before its configuration is removed: without it,
# "postfix stop" cannot find the master, which would outlive the run.
stop()
{
	postfix -c "$pf/etc" stop >/dev/null 2>&1
	kill "$bsmtpd" "$bdeliver" 2>/dev/null
	wait 2>/dev/null
	[ -n "$KEEP" ] && echo "kept $dir" || rm -rf "$dir"
}
trap stop EXIT
trap 'exit 1' INT TERM

wait_port "$bport" || { echo "e2e: smtpd does not listen" >&2; exit 1; }
wait_port "$pport" || { echo "e2e: postfix does not listen" >&2; exit 1; }

# Rounds alternate, so that neither system always runs on a warmer
# machine (or while another load on it comes and goes).
r=1
while [ $r -le "$ROUNDS" ]; do
	run_load "basemail$r" "$bport" "$bm/vhosts" $((N * (2 * r - 1))) \
	    >>"$dir/basemail.res" || exit 1
	run_load "dkim$r" "$bport" "$bm/vhosts" $((N * 2 * r)) \
	    load@example.org >>"$dir/dkim.res" || exit 1
	run_load "postfix$r" "$pport" "$pf/mail" $((N * r)) \
	    >>"$dir/postfix.res" || exit 1
	r=$((r + 1))
done

echo "$N messages a round, $ROUNDS rounds, $CONNS connections, $BOXES Maildirs"
printf '%-9s %5s %8s %10s %10s\n' "" round "msgs/s" "p50 ms" "p99 ms"
for sys in basemail dkim postfix; do
	awk -v sys=$sys '{ printf "%-9s %5d %8s %10s %10s\n", sys, NR, $2, $3, $4 }' \
	    "$dir/$sys.res"
done
paste "$dir/basemail.res" "$dir/postfix.res" | awk '
	{ bt += $2; b50 += $3; b99 += $4; pt += $6; p50 += $7; p99 += $8 }
	END {
		printf "mean      basemail %.1f msgs/s, p50 %.1f ms, p99 %.1f ms\n", bt / NR, b50 / NR, b99 / NR
		printf "mean      postfix  %.1f msgs/s, p50 %.1f ms, p99 %.1f ms\n", pt / NR, p50 / NR, p99 / NR
		printf "throughput ratio basemail/postfix: %.2f\n", bt / pt
		printf "p50 latency ratio basemail/postfix: %.2f\n", b50 / p50
	}'
paste "$dir/basemail.res" "$dir/dkim.res" | awk '
	{ bt += $2; dt += $6; d50 += $7; d99 += $8 }
	END {
		printf "mean      basemail DKIM-signed %.1f msgs/s, p50 %.1f ms, p99 %.1f ms\n", dt / NR, d50 / NR, d99 / NR
		printf "throughput ratio DKIM-signed/unsigned: %.2f\n", dt / bt
	}'
