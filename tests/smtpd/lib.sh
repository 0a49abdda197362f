# Helpers of the smtpd tests: a sandbox with maps, smtpd started on a
# free port of 127.0.0.1, raw dialogues with smtpchat.py.

SMTPCHAT=$(atf_get_srcdir)/smtpchat.py

# user_line ADDRESS [EXTRA]: a users map line for a mailbox of ours.
user_line()
{
	echo "$1:{CRYPT}x:$(id -u):$(id -g)::$SB/vhosts/${1#*@}/${1%@*}::$2"
}

maps_compile()
{
	newmaps -C "$CONF" || atf_fail "newmaps failed"
}

# smtpd_conf [mail.conf lines...]: the sandbox, listening on $PORT, with
# example.org (alice, a locked bob, aliases, no catch-all), example.net
# an alias domain of it, and catchall.test with a catch-all.  Sets
# CHAT (a raw dialogue, script on standard input: see smtpchat.py) and
# SWAKS (one message through swaks, quietly).
smtpd_conf()
{
	PORT=$(free_port)
	mkconf "listen 127.0.0.1:$PORT" "$@"
	printf '%s\n' example.org "example.net alias=example.org" \
	    catchall.test >"$SB/maps/domains"
	{
		user_line alice@example.org
		user_line bob@example.org nologin
		user_line carol@catchall.test
	} >"$SB/maps/users"
	printf '%s\n' "info@example.org: alice@example.org" \
	    "sales@example.org: someone@elsewhere.test" \
	    "@catchall.test: carol@catchall.test" >"$SB/maps/aliases"
	maps_compile
	CHAT="python3 $SMTPCHAT $PORT"
	SWAKS="swaks --server 127.0.0.1 --port $PORT --helo client.test
	    --suppress-data --hide-all"
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

chat()
{
	$CHAT
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

queue_is()
{
	[ "$(queue_count)" -eq "$1" ] ||
	    atf_fail "$(queue_count) messages in the queue, not $1"
}
tmp_is()
{
	[ "$(tmp_count)" -eq "$1" ] ||
	    atf_fail "$(tmp_count) files in tmp/, not $1"
}

# queue_file: the one message in the queue.
queue_file()
{
	[ "$(queue_count)" -eq 1 ] || atf_fail "expected one queued message"
	find "$SB/spool/queue" -type f
}

# pw_line ADDRESS PASSWORD [EXTRA]: a users map line with a real
# SHA512-CRYPT hash of PASSWORD.
pw_line()
{
	_h=$(printf '%s' "$2" | openssl passwd -6 -stdin) ||
	    atf_fail "openssl passwd failed"
	echo "$1:{SHA512-CRYPT}$_h:$(id -u):$(id -g)::$SB/vhosts/${1#*@}/${1%@*}::$3"
}

# tls_conf [mail.conf lines...]: smtpd_conf with a self-signed
# certificate for mx.test.invalid (tls_cert, tls_key), and passwords:
# alice@example.org has "alice-secret", the locked bob@example.org
# "bob-secret".  Sets CHAT_TLS, a raw dialogue over implicit TLS.
tls_conf()
{
	smtpd_conf "$@"
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.test.invalid \
	    -days 2 -keyout "$SB/etc/key.pem" -out "$SB/etc/cert.pem" \
	    2>/dev/null || atf_fail "openssl req failed"
	printf 'tls_cert %s\ntls_key %s\n' "$SB/etc/cert.pem" \
	    "$SB/etc/key.pem" >>"$CONF"
	{
		pw_line alice@example.org alice-secret
		pw_line bob@example.org bob-secret nologin
		user_line carol@catchall.test
	} >"$SB/maps/users"
	maps_compile
	CHAT_TLS="python3 $SMTPCHAT --tls $PORT"
}

# listen_mode submission|smtps: the listener of the sandbox in that mode.
listen_mode()
{
	sed -i "s/^listen .*/& $1/" "$CONF"
}

# b64 STRING: STRING in base64, on one line; \0 in STRING is a NUL.
b64()
{
	printf "$1" | base64 -w 0
}

# swaks_supports FEATURE: fails the test, with swaks's own words, when
# swaks lacks FEATURE ("TLS", "IPv6"): the Perl module it needs is a
# mere Recommends of swaks, which mk/deps.sh installs, so its absence
# is a broken installation and not a property of the machine.
swaks_supports()
{
	swaks --support >swaks.support 2>&1
	grep -q "^=== $1 supported" swaks.support ||
	    atf_fail "swaks cannot do $1: $(grep -m 1 "$1" swaks.support)"
}

# after_within FILE MIN MAX: the "<AFTER N>" of a dribble (smtpchat.py
# D) in FILE is from MIN to MAX seconds.
after_within()
{
	_t=$(sed -n 's/^<AFTER \(.*\)>$/\1/p' "$1")
	[ -n "$_t" ] || atf_fail "no <AFTER> in $1"
	awk -v t="$_t" -v lo="$2" -v hi="$3" \
	    'BEGIN { exit !(t >= lo && t <= hi) }' ||
	    atf_fail "answered after $_t s, not within $2 to $3 s"
}

# bcrypt_line ADDRESS PASSWORD COST [EXTRA]: a users map line with a
# bcrypt hash of PASSWORD at COST, made by libcrypt.
bcrypt_line()
{
	_h=$(python3 - "$2" "$3" <<'P'
import ctypes, sys
lc = ctypes.CDLL("libcrypt.so.1")
lc.crypt_gensalt.restype = lc.crypt.restype = ctypes.c_char_p
lc.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong,
                             ctypes.c_char_p, ctypes.c_int]
lc.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
salt = lc.crypt_gensalt(b"$2b$", int(sys.argv[2]), None, 0)
print(lc.crypt(sys.argv[1].encode(), salt).decode())
P
	) || atf_fail "bcrypt hash failed"
	echo "$1:{BLF-CRYPT}$_h:$(id -u):$(id -g)::$SB/vhosts/${1#*@}/${1%@*}::$4"
}

# smtpd_cpu_ms: the processor time smtpd has used so far, in ms.
smtpd_cpu_ms()
{
	awk -v hz="$(getconf CLK_TCK)" \
	    '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$(smtpd_pid)/stat"
}
