# Helpers of the deliver and mailq tests, sourced after ../common.sh.
# A scratch mail system: mkconf's tree, maps compiled with Postfix's
# postmap (an independent writer of the same .db format), messages
# queued in the spool format of libmail.h's spool.c section.

PYTHON=/usr/bin/python3

# dsetup [mail.conf lines...]: mkconf, then the domains example.org
# (hosted) and example.net (its alias domain), and no mailbox yet.
# A line given replaces mkconf's line of the same keyword.
dsetup()
{
	mkconf
	for _l; do
		sed -i "/^${_l%% *} /d" "$CONF"
		echo "$_l" >>"$CONF"
	done
	printf 'example.org -\nexample.net alias=example.org\n' \
	    >"$SB/maps/domains"
	: >"$SB/maps/users"
	: >"$SB/maps/aliases"
	maps_build
}

# add_user ADDR [QUOTA-RULE]: a mailbox, with a Dovecot quota rule,
# and its Maildir, as mailadduser add makes them.
add_user()
{
	_extra=
	[ -n "$2" ] && _extra="userdb_quota_rule=*:$2"
	_home=$SB/vhosts/${1#*@}/${1%@*}
	mkdir -p "$_home/tmp" "$_home/new" "$_home/cur"
	chmod 700 "$_home" "$_home/tmp" "$_home/new" "$_home/cur"
	echo "$1:{CRYPT}\$y\$j9T\$x\$x:$(id -u):$(id -g)::$_home::$_extra" \
	    >>"$SB/maps/users"
	maps_build
}

# add_alias KEY TARGETS: an alias or catch-all ("@domain").
add_alias()
{
	echo "$1: $2" >>"$SB/maps/aliases"
	maps_build
}

# The text maps in mailmaps(5) syntax, compiled with postmap(1).
maps_build()
{
	if [ ! -f "$SB/pf/main.cf" ]; then
		mkdir -p "$SB/pf" && : >"$SB/pf/main.cf"
		# Postfix waits for a main.cf changed within the last seconds.
		touch -d "1 hour ago" "$SB/pf/main.cf"
	fi
	for _m in domains users aliases; do
		sed 's/^\([^: ]*\):* */\1 /' "$SB/maps/$_m" >"$SB/pf/$_m"
		postmap -c "$SB/pf" "hash:$SB/pf/$_m" || atf_fail "postmap $_m"
		mv "$SB/pf/$_m.db" "$SB/maps/$_m.db"
	done
}

# enqueue [-t ARRIVAL] SENDER RCPT... <MESSAGE: prints the queue ID.
enqueue()
{
	_t=$(date +%s)
	if [ "$1" = "-t" ]; then _t=$2; shift 2; fi
	_s=$1; shift
	mkdir -p "$SB/spool/tmp" "$SB/spool/queue" "$SB/spool/state"
	# As spool.c makes them: the time, then random; sorted by arrival.
	_id=$(printf '%08x' "$_t")$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	{
		echo "V 1"; echo "I $_id"; echo "T $_t"; echo "S $_s"
		for _r; do echo "R $_r"; done
		echo
		cat
	} >"$SB/spool/tmp/$_id"
	mv "$SB/spool/tmp/$_id" "$SB/spool/queue/$_id"
	echo "$_id"
}

# msg SUBJECT: a small message on standard output.
msg()
{
	printf 'From: sender@example.com\nTo: rcpt@example.org\n'
	printf 'Subject: %s\nMessage-ID: <%s@example.com>\n\n' "$1" "$1"
	printf 'Hello.\n.A line with a leading dot.\n..two dots\nBye.\n'
}

# newcount DIR: messages in the Maildir's new/.
newcount()
{
	if [ -d "$1/new" ]; then ls "$1/new" | wc -l | tr -d ' '; else echo 0; fi
}

# newcount_is N USER: the Maildir of USER@example.org holds N messages.
newcount_is()
{
	atf_check_equal "$1" "$(newcount "$SB/vhosts/example.org/$2")"
}

queue_empty()
{
	[ -z "$(ls "$SB/spool/queue")" ] && [ -z "$(ls "$SB/spool/state")" ]
}

# wait_for 'SHELL CODE': polls until it succeeds, 20 s at most.  It is
# evaluated anew each time: quote it.
wait_for()
{
	_i=0
	until eval "$1"; do
		_i=$((_i + 1))
		[ $_i -ge 400 ] && return 1
		sleep 0.05
	done
}

# sink_start NAME [OPTIONS]: an SMTP server (tests/deliver/sink.py) on
# 127.0.0.1, at PORT if set, else at a free port it sets PORT to.
# Messages go to ./NAME/, one file each.
sink_start()
{
	_name=$1; shift
	[ -n "$PORT" ] || PORT=$(free_port)
	mkdir -p "$_name"
	$PYTHON "$(atf_get_srcdir)/sink.py" --port "$PORT" --dir "$_name" \
	    "$@" >"$_name.log" 2>&1 &
	echo $! >"$_name.pid"
	wait_for 'test -f "$_name/ready"' || atf_fail "sink did not start"
}

