# Shared helpers of the atf-sh tests; each test script sources it with
#	. "$(atf_get_srcdir)/../common.sh"
# Every test works in a scratch tree under its own work directory and
# never touches the system's /etc/mail or spool.

TOP=$(cd "$(atf_get_srcdir)/../.." && pwd)
for _d in "$TOP"/bin/* "$TOP"/sbin/* "$TOP"/libexec/*; do
	[ -d "$_d" ] && PATH=$_d:$PATH
done
export PATH

# mkconf [extra mail.conf lines...]: makes ./sb with mail.conf, empty
# maps, a spool and a Maildir root, run by the invoking user; sets SB
# and CONF.
mkconf()
{
	SB=$(pwd)/sb
	CONF=$SB/etc/mail.conf
	mkdir -p "$SB/etc" "$SB/maps" "$SB/spool" "$SB/vhosts" "$SB/attic"
	chmod 0700 "$SB/spool"
	{
		echo "hostname mx.test.invalid"
		echo "user $(id -un)"
		echo "spool $SB/spool"
		echo "mapdir $SB/maps"
		echo "maildir $SB/vhosts/%d/%u"
		echo "attic $SB/attic"
		echo "postmaster postmaster@test.invalid"
		for _l in "$@"; do echo "$_l"; done
	} >"$CONF"
	: >"$SB/maps/domains"
	: >"$SB/maps/users"
	: >"$SB/maps/aliases"
}

# snapshot NAME: records the contents, modes and names of every file
# under $SB into NAME, to show later that a refused command changed
# nothing.  atf_check runs programs, not shell functions, so compare
# through a file:
#	snapshot_print >after; atf_check -o file:NAME cat after
snapshot_print()
{
	(cd "$SB" && find . -path ./spool -prune -o -print | LC_ALL=C sort |
	    while read -r f; do
		if [ -f "$f" ]; then
			printf '%s %s %s\n' "$f" "$(stat -c %a "$f")" \
			    "$(sha256sum <"$f" | cut -c1-64)"
		else
			printf '%s %s\n' "$f" "$(stat -c %a "$f")"
		fi
	done)
}
snapshot()
{
	snapshot_print >"$1"
}

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on.
free_port()
{
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# stop_pidfile FILE: kills the process whose PID is in FILE, if any.
stop_pidfile()
{
	[ -f "$1" ] || return 0
	kill "$(cat "$1")" 2>/dev/null
	_i=0
	while kill -0 "$(cat "$1")" 2>/dev/null && [ $_i -lt 50 ]; do
		sleep 0.1; _i=$((_i + 1))
	done
	kill -9 "$(cat "$1")" 2>/dev/null
	return 0
}

# postmap_q KEY FILE: Postfix's answer for KEY in hash:FILE, with an
# empty main.cf of our own (Postfix is installed unconfigured).
postmap_q()
{
	# Postfix waits a few seconds for a main.cf changed just now.
	if [ ! -f pfconf/main.cf ]; then
		mkdir -p pfconf && : >pfconf/main.cf
		touch -d '1 hour ago' pfconf/main.cf
	fi
	postmap -c pfconf -q "$1" "hash:$2"
}

# dovecot_start: a minimal Dovecot, run as the test user, serving the
# users map of mkconf's sandbox ($SB/maps/users) for logins and mail,
# with the Maildir++ quota; its files under ./dovecot; arguments are
# more dovecot.conf lines; DOVECOT_PROTOCOLS, if set, the protocols it
# serves (none by default).  Stop it with dovecot_stop from the test's
# cleanup.
dovecot_start()
{
	_d=$(pwd)/dovecot
	mkdir -p "$_d/run" "$_d/state"
	cat >"$_d/dovecot.conf" <<EOD
base_dir = $_d/run
state_dir = $_d/state
log_path = $_d/log
instance_name = basemail-test-$$
protocols = ${DOVECOT_PROTOCOLS-}
ssl = no
default_internal_user = $(id -un)
default_internal_group = $(id -gn)
default_login_user = $(id -un)
mail_location = maildir:~
mail_plugins = quota
passdb {
  driver = passwd-file
  args = $SB/maps/users
}
userdb {
  driver = passwd-file
  args = $SB/maps/users
}
plugin {
  quota = maildir:User quota
}
service anvil {
  chroot =
}
service stats {
  chroot =
}
EOD
	for _l in "$@"; do echo "$_l"; done >>"$_d/dovecot.conf"
	dovecot -c "$_d/dovecot.conf" || atf_fail "dovecot did not start"
	_n=0
	while [ ! -S "$_d/run/auth-userdb" ]; do
		_n=$((_n + 1))
		[ $_n -lt 400 ] || atf_fail "no dovecot auth"
		sleep 0.05
	done
}

# dovecot_lmtp_start PORT [dovecot.conf lines...]: dovecot_start with
# its LMTP (dovecot-lmtpd) on 127.0.0.1:PORT and on the unix socket
# $(pwd)/dovecot/lmtp.sock, delivering into the Maildirs of the users
# map (mail_location maildir:~, the quota plugin on).
dovecot_lmtp_start()
{
	_port=$1; shift
	DOVECOT_PROTOCOLS=lmtp dovecot_start \
	    "service lmtp {" \
	    "  unix_listener $(pwd)/dovecot/lmtp.sock {" \
	    "    mode = 0600" "  }" \
	    "  inet_listener lmtp {" \
	    "    address = 127.0.0.1" "    port = $_port" "  }" "}" \
	    "protocol lmtp {" "  mail_plugins = \$mail_plugins" "}" "$@"
	_n=0
	until nc -z 127.0.0.1 "$_port" 2>/dev/null &&
	    [ -S dovecot/lmtp.sock ]; do
		_n=$((_n + 1))
		[ $_n -lt 400 ] || atf_fail "no dovecot lmtp"
		sleep 0.05
	done
}

dovecot_stop()
{
	[ -f dovecot/dovecot.conf ] &&
	    doveadm -c dovecot/dovecot.conf stop 2>/dev/null
	return 0
}
