#!/bin/sh
# bench/maps: the figures of the maps.
#  1. mailadduser add -H 0 into a domain of BIG mailboxes: the median of
#     ADDS adds (the hash is ready, so hashing costs nothing), and the
#     same through the library alone (maptime add) for comparison.
#  2. newmaps against Postfix's postmap, on the same keys and values in
#     the same run: USERS mailboxes and ALIASES aliases in 100 domains.
#  3. map_lookup per second in one process (maptime lookup), on that
#     users.db: keys of existing mailboxes and, one in four, of none.
# The adds come first: the write-back of the big maps would slow them.
# Everything lives in a directory under /tmp, removed at the end.
# Sizes can be changed from the environment, e.g. USERS=100000 sh bench.sh
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
NEWMAPS=$top/sbin/newmaps/newmaps
MAILADDUSER=$top/sbin/mailadduser/mailadduser
MAPTIME=$top/bench/maps/maptime
USERS=${USERS:-1000000}
ALIASES=${ALIASES:-200000}
BIG=${BIG:-100000}
ADDS=${ADDS:-50}
LOOKUPS=${LOOKUPS:-2000000}

for p in "$NEWMAPS" "$MAPTIME"; do
	[ -x "$p" ] || { echo "bench/maps: build first: $p is missing" >&2; exit 1; }
done
command -v postmap >/dev/null || { echo "bench/maps: postmap is missing" >&2; exit 1; }

work=$(mktemp -d /tmp/bench-maps.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
# The mail user: ours, or nobody when run as root (the tools refuse root).
if [ "$(id -u)" -eq 0 ]; then mailuser=nobody; else mailuser=$(id -un); fi
uid=$(id -u "$mailuser")
gid=$(id -g "$mailuser")
hash='{BLF-CRYPT}$2y$05$ivUquEdhMjlGO8q1h7y15.jdEFIXEKkSAa2UCAaZZxFj4hhnMy7hO'

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f\n", b - a }'; }

# mkmaps DIR: a mapdir and its mail.conf
mkmaps() {
	mkdir -p "$1/maps" "$1/vhosts"
	chown "$mailuser" "$1/vhosts" 2>/dev/null || true
	cat >"$1/mail.conf" <<EOF
user $mailuser
mapdir $1/maps
maildir $1/vhosts/%d/%u
spool $1/spool
attic $1/attic
EOF
}

echo "== mailadduser add into a domain of $BIG mailboxes"
mkmaps "$work/add"
m=$work/add/maps
echo "big.example" >"$m/domains"
: >"$m/aliases"
awk -v n="$BIG" -v h="$hash" -v uid="$uid" -v gid="$gid" -v d="$work/add/vhosts" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "user%d@big.example:%s:%d:%d::%s/big.example/user%d::userdb_quota_rule=*:storage=1G\n",
		    i, h, uid, gid, d, i
}' >"$m/users"
"$NEWMAPS" -C "$work/add/mail.conf"
sync
printf '  library alone (maptime add, %d adds): ' "$ADDS"
"$MAPTIME" add "$m" big.example "$ADDS"
if [ -x "$MAILADDUSER" ]; then
	i=0
	: >"$work/times"
	while [ "$i" -lt "$ADDS" ]; do
		t0=$(now)
		echo "$hash" | "$MAILADDUSER" -C "$work/add/mail.conf" add -H 0 \
		    "bench$i@big.example"
		t1=$(now)
		elapsed "$t0" "$t1" >>"$work/times"
		i=$((i + 1))
	done
	sort -n "$work/times" | awk '{ t[NR] = $1 } END {
		printf "  mailadduser add -H 0 (%d adds): median %.1f ms, min %.1f ms, max %.1f ms\n",
		    NR, t[int((NR + 1) / 2)] * 1000, t[1] * 1000, t[NR] * 1000 }'
else
	echo "  (sbin/mailadduser/mailadduser is not built: skipped)"
fi
rm -rf "$work/add"
sync

echo "== newmaps and postmap: $USERS mailboxes, $ALIASES aliases, 100 domains"
mkmaps "$work/big"
m=$work/big/maps
awk 'BEGIN { for (d = 0; d < 100; d++) printf "d%d.example owner=bench\n", d }' \
    >"$m/domains"
awk -v n="$USERS" -v h="$hash" -v uid="$uid" -v gid="$gid" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "user%d@d%d.example:%s:%d:%d::/var/mail/vhosts/d%d.example/user%d::userdb_quota_rule=*:storage=1G\n",
		    i, i % 100, h, uid, gid, i % 100, i
}' >"$m/users"
awk -v n="$ALIASES" -v u="$USERS" 'BEGIN {
	for (i = 0; i < n; i++) {
		j = (i * 5) % u
		printf "alias%d@d%d.example: user%d@d%d.example, ext%d@elsewhere.example\n",
		    i, i % 100, j, j % 100, i
	}
}' >"$m/aliases"
# The same pairs in postmap's "key value" form.
mkdir -p "$work/pf/conf"
: >"$work/pf/conf/main.cf"
awk '{ k = $1; $1 = ""; v = substr($0, 2); if (v == "") v = "-"; print k, v }' \
    "$m/domains" >"$work/pf/domains"
awk '{ i = index($0, ":"); print substr($0, 1, i - 1), substr($0, i + 1) }' \
    "$m/users" >"$work/pf/users"
awk '{ i = index($0, ":"); v = substr($0, i + 1); sub(/^[ \t]+/, "", v);
    print substr($0, 1, i - 1), v }' "$m/aliases" >"$work/pf/aliases"
ls -l "$m/users" "$m/aliases" | awk '{ printf "  %s: %d bytes\n", $NF, $5 }'
sync

t0=$(now)
"$NEWMAPS" -C "$work/big/mail.conf"
t1=$(now)
for f in domains users aliases; do
	postmap -c "$work/pf/conf" "hash:$work/pf/$f"
done
t2=$(now)
tn=$(elapsed "$t0" "$t1")
tp=$(elapsed "$t1" "$t2")
printf '  newmaps (with every check): %.2f s\n' "$tn"
printf '  postmap:                    %.2f s\n' "$tp"
awk -v n="$tn" -v p="$tp" 'BEGIN { printf "  newmaps / postmap = %.2f\n", n / p }'
for k in user4242@d42.example alias777@d77.example d9.example; do
	case $k in user*) map=users;; alias*) map=aliases;; *) map=domains;; esac
	a=$("$NEWMAPS" -C "$work/big/mail.conf" -q "$k" "$map")
	b=$(postmap -c "$work/pf/conf" -q "$k" "hash:$m/$map")
	[ "$a" = "$b" ] || { echo "  MISMATCH for $k: '$a' / '$b'"; exit 1; }
done
echo "  postmap -q reads newmaps' files and answers the same"

echo "== map_lookup per second (one process, users.db of $USERS)"
awk -v n="$USERS" 'BEGIN { srand(1); for (i = 0; i < 200000; i++) {
	j = int(rand() * n)
	if (i % 4 == 3)
		printf "nobody%d@d%d.example\n", j, j % 100
	else
		printf "USER%d@d%d.example\n", j, j % 100
} }' >"$work/keys"
printf '  '
"$MAPTIME" lookup "$m" users "$work/keys" "$LOOKUPS"
rm -rf "$work/big" "$work/pf"
