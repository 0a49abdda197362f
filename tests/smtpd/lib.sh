# Helpers of the smtpd tests: a sandbox with maps, smtpd started on a
# free port of 127.0.0.1, raw dialogues with smtpchat.py.

SMTPCHAT=$(atf_get_srcdir)/smtpchat.py

# map_set NAME "key value"...: installs NAME.db, replacing it in one
# rename as newmaps does, written by Postfix's postmap (the same hash
# format, mailmaps(5)).
map_set()
{
	_m=$1
	shift
	mkdir -p pfconf && : >pfconf/main.cf
	printf '%s\n' "$@" >"$SB/maps/.$_m.new"
	postmap -c pfconf "hash:$SB/maps/.$_m.new" || atf_fail "postmap $_m"
	mv "$SB/maps/.$_m.new.db" "$SB/maps/$_m.db"
	rm -f "$SB/maps/.$_m.new"
}

# smtpd_conf [mail.conf lines...]: the sandbox, listening on $PORT, with
# example.org (alice, a locked bob, aliases, no catch-all), example.net
# an alias domain of it, and catchall.test with a catch-all.
smtpd_conf()
{
	PORT=$(free_port)
	mkconf "listen 127.0.0.1:$PORT" "$@"
	map_set domains "example.org -" "example.net alias=example.org" \
	    "catchall.test -"
	map_set users \
	    "alice@example.org {CRYPT}x:1000:1000::$SB/vhosts/example.org/alice::" \
	    "bob@example.org {CRYPT}x:1000:1000::$SB/vhosts/example.org/bob::nologin" \
	    "carol@catchall.test {CRYPT}x:1000:1000::$SB/vhosts/catchall.test/carol::"
	map_set aliases "info@example.org alice@example.org" \
	    "sales@example.org someone@elsewhere.test" \
	    "@catchall.test carol@catchall.test"
}

# smtpd_start: runs smtpd -d in the background until its pidfile says
# it listens.
smtpd_start()
{
	smtpd -d -C "$CONF" 2>>smtpd.log &
	_pid=$!
	_i=0
	while [ ! -s "$SB/spool/smtpd.pid" ]; do
		if ! kill -0 $_pid 2>/dev/null || [ $_i -ge 200 ]; then
			cat smtpd.log >&2
			atf_fail "smtpd did not start"
		fi
		sleep 0.05
		_i=$((_i + 1))
	done
}

smtpd_stop()
{
	stop_pidfile "$SB/spool/smtpd.pid"
}

smtpd_pid()
{
	cat "$SB/spool/smtpd.pid"
}

# chat: a dialogue read from standard input (see smtpchat.py).
chat()
{
	python3 "$SMTPCHAT" "$PORT"
}

# queue_count, tmp_count: files in the queue and in tmp/.
queue_count()
{
	find "$SB/spool/queue" -type f | wc -l
}
tmp_count()
{
	find "$SB/spool/tmp" -type f | wc -l
}

# queue_file: the one message in the queue.
queue_file()
{
	[ "$(queue_count)" -eq 1 ] || atf_fail "expected one queued message"
	find "$SB/spool/queue" -type f
}

# swaks_send ARGS...: one message through swaks, quietly.
swaks_send()
{
	swaks --server 127.0.0.1 --port "$PORT" --helo client.test \
	    --suppress-data --hide-all "$@"
}
