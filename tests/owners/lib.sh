# Helpers of the owners tests, run as root: a sandbox whose mail user
# is _basemailtest, at the path the set-ID copies of bin/ read
# (owners.env, written by "make setid"), and the owner users
# _basemailown1 and _basemailown2 that mk/check.sh made.

MAILU=_basemailtest
OWN1=_basemailown1
OWN2=_basemailown2
BIN=$(atf_get_srcdir)/bin
HASH_SECRET='{SHA512-CRYPT}$6$yCdfNNS9AYQmwgho$NdGMUWvNTWxhWDCqT78TkL0xerNicZMLc20q9.aeCnnjlQffbPwyXmRbR0ZahGoLF.LVHBWmTuK6542w1oepB0'

# osetup: skips without the set-ID copies or the users; else makes the
# sandbox ($SB, $CONF) with these domains, compiled:
#	one.org		owner _basemailown1, quota=1G maxusers=5
#	two.org		owner _basemailown2
#	both.org	owners _basemailown1 and _basemailown2
#	other.org	no owner
osetup()
{
	[ -f "$(atf_get_srcdir)/owners.env" ] ||
	    atf_skip "the set-ID copies are made by mk/check.sh run as root"
	for _u in $MAILU $OWN1 $OWN2; do
		id $_u >/dev/null 2>&1 ||
		    atf_skip "no user $_u: mk/check.sh run as root makes it"
	done
	. "$(atf_get_srcdir)/owners.env"
	CONF=$OWNERS_CONF
	SB=${CONF%/etc/mail.conf}
	rm -rf "$SB"
	install -d -m 0755 "$SB" "$SB/etc"
	install -d -o $MAILU -m 0755 "$SB/maps"
	install -d -o $MAILU -m 0700 "$SB/spool" "$SB/vhosts" "$SB/attic"
	cat >"$CONF" <<-EOF2
	hostname mx.test.invalid
	user $MAILU
	spool $SB/spool
	mapdir $SB/maps
	maildir $SB/vhosts/%d/%u
	attic $SB/attic
	postmaster postmaster@test.invalid
	EOF2
	cat >"$SB/maps/domains" <<-EOF2
	one.org owner=$OWN1 quota=1G maxusers=5
	two.org owner=$OWN2
	both.org owner=$OWN1,$OWN2
	other.org
	EOF2
	: >"$SB/maps/users"
	: >"$SB/maps/aliases"
	chown $MAILU "$SB/maps/domains" "$SB/maps/users" "$SB/maps/aliases"
	as $MAILU newmaps -C "$CONF" || atf_fail "newmaps failed"
}

# as USER COMMAND...: runs COMMAND as USER, with this environment.
as()
{
	_u=$1
	shift
	runuser -u "$_u" -- "$@"
}

# root_add ADDRESS: root adds a mailbox (password "secret").
root_add()
{
	echo "$HASH_SECRET" | "$BIN/mailadduser" add -H 0 "$1" ||
	    atf_fail "root could not add $1"
}

unchanged()
{
	snapshot_print >after
	atf_check -o file:before cat after
}
