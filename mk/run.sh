#!/bin/sh
# make run: a sandbox under the build tree (run/) with its own mail.conf,
# maps, spool and Maildirs, run as the invoking user.
top=$(cd "$(dirname "$0")/.." && pwd)
sb=$top/run
mkdir -p "$sb/etc" "$sb/maps" "$sb/spool" "$sb/vhosts" "$sb/attic"
chmod 0700 "$sb/spool"
if [ ! -f "$sb/etc/mail.conf" ]; then
	cat >"$sb/etc/mail.conf" <<CONF
hostname localhost
listen 127.0.0.1:2525
user $(id -un)
spool $sb/spool
mapdir $sb/maps
maildir $sb/vhosts/%d/%u
attic $sb/attic
CONF
fi
for m in domains users aliases; do
	[ -f "$sb/maps/$m" ] || : >"$sb/maps/$m"
done
echo "basemail sandbox in $sb:"
echo "  configuration  $sb/etc/mail.conf"
echo "  maps           $sb/maps"
echo "  spool          $sb/spool"
echo "  Maildirs       $sb/vhosts"
