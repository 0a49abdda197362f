# Helpers of the mailadduser tests, sourced after ../common.sh.
# atf_check runs programs, not shell functions: the helpers here that
# print (users_value, users_hash) are used as "$(users_value ...)".

# A SHA512-CRYPT hash of "secret" (doveadm pw -s SHA512-CRYPT -p secret),
# for tests where the scheme is not what is tested: -H skips hashing.
HASH_SECRET='{SHA512-CRYPT}$6$yCdfNNS9AYQmwgho$NdGMUWvNTWxhWDCqT78TkL0xerNicZMLc20q9.aeCnnjlQffbPwyXmRbR0ZahGoLF.LVHBWmTuK6542w1oepB0'

# setup [mail.conf lines...]: a sandbox with hosted domains, compiled:
#	example.org		no limits
#	small.org		maxusers=2
#	quota.org		quota=1G
#	example.net		alias domain of example.org
setup()
{
	mkconf "$@"
	cat >"$SB/maps/domains" <<-EOF
	example.org
	small.org maxusers=2
	quota.org quota=1G
	example.net alias=example.org
	EOF
	newmaps -C "$CONF" || atf_fail "newmaps failed"
	UIDGID="$(id -u):$(id -g)"
	# Postfix's postmap -q, with an empty main.cf of our own.
	mkdir -p pfconf && : >pfconf/main.cf
}

# unchanged: no file under $SB differs from the snapshot "before".
unchanged()
{
	snapshot_print >after
	atf_check -o file:before cat after
}

# add_user ADDRESS [options]: adds a mailbox with the ready hash.
add_user()
{
	_a=$1
	shift
	echo "$HASH_SECRET" | mailadduser -C "$CONF" add "$@" -H 0 "$_a" ||
	    atf_fail "mailadduser add $_a failed"
}

# users_value ADDRESS: the users line of ADDRESS after "ADDRESS:".
users_value()
{
	sed -n "s/^$1://p" "$SB/maps/users"
}

# users_hash ADDRESS: the {SCHEME}hash field of ADDRESS.
users_hash()
{
	users_value "$1" | cut -d: -f1
}
