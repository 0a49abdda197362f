#!/bin/sh
# Runs the test suite under Kyua and prints "N passed, N failed".
# Arguments, if any, name test programs or folders (as kyua test takes).
# Kyua runs as an unprivileged user: as the invoking user, or, when
# invoked as root, as the user _basemailtest (created here), since the
# commands refuse to run the mail system as root.
# As root it also runs tests/owners as root (Kyuafile: required_user):
# it makes the owner users _basemailown1 and _basemailown2 and set-ID
# copies of mailadduser, mailalias and mailpasswd owned by
# _basemailtest, the mail user of the tests' sandboxes, which the
# owners run as they would the installed programs.
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top/tests" || exit 1
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
# Under a SANITIZE= build: a memory error or undefined behaviour ends
# the program (and so fails its test), with a stack trace on stderr.
# Leak reports are off: the commands exit through err(3) with their
# memory still held, and atf-c itself leaks at exit; LSan can be had
# with ASAN_OPTIONS=detect_leaks=1.
ASAN_OPTIONS=${ASAN_OPTIONS-detect_leaks=0}
UBSAN_OPTIONS=${UBSAN_OPTIONS-print_stacktrace=1}
export ASAN_OPTIONS UBSAN_OPTIONS

home=$(mktemp -d /tmp/basemail-check.XXXXXX) || exit 1
chmod 0755 "$home"
run="env HOME=$home"
if [ "$(id -u)" -eq 0 ]; then
	id _basemailtest >/dev/null 2>&1 ||
	    useradd --system --no-create-home --shell /usr/sbin/nologin \
	    _basemailtest || exit 1
	chown _basemailtest "$home"
	run="runuser -u _basemailtest -- $run"
	# The clone may sit where that user cannot read (under /root, or
	# with a strict umask): test a readable copy of the built tree.
	mkdir "$home/tree"
	tar -C "$top" --exclude=./.git --exclude=./run -cf - . |
	    tar -C "$home/tree" -xf - || exit 1
	chmod -R a+rX "$home/tree"
	cd "$home/tree/tests" || exit 1
	owners=no
	[ $# -eq 0 ] && owners=yes
	for _a in "$@"; do
		case $_a in owners|owners/*) owners=yes ;; esac
	done
fi
if [ "${owners-no}" = yes ]; then
	for _u in _basemailown1 _basemailown2; do
		id $_u >/dev/null 2>&1 ||
		    useradd --system --no-create-home \
		    --shell /usr/sbin/nologin $_u || exit 1
	done
	install -d -m 0755 "$home/owners"
	make -s -C owners setid OWNERS_CONF="$home/owners/sb/etc/mail.conf" \
	    OWNERS_USER=_basemailtest >"$home/owners.log" 2>&1 || {
		cat "$home/owners.log"; exit 1; }
fi
results=$home/results.db
$run kyua test -r "$results" "$@" >"$home/test.log" 2>&1
if [ "${owners-no}" = yes ]; then
	kyua test -r "$home/owners.db" owners >"$home/owners.log" 2>&1
	# The unprivileged run skipped them; this one is their result.
	grep -v -E -- '^owners/.*->  skipped: Requires root privileges' \
	    "$home/test.log" >"$home/test.log.new"
	mv "$home/test.log.new" "$home/test.log"
	cat "$home/owners.log" >>"$home/test.log"
	grep -q -E -- '->  (failed|broken)' "$home/owners.log" &&
	    kyua report -r "$home/owners.db" --verbose \
	    --results-filter=broken,failed | grep -v '^    [A-Za-z0-9_]*='
fi
grep -E -- '->  (failed|broken)' "$home/test.log" && {
	$run kyua report -r "$results" --verbose \
	    --results-filter=broken,failed | grep -v '^    [A-Za-z0-9_]*='
}
grep -E -- '->  skipped' "$home/test.log"
$run kyua report -r "$results" | tail -n 2
[ "${owners-no}" = yes ] && kyua report -r "$home/owners.db" | tail -n 2
passed=$(grep -c -- '->  passed' "$home/test.log")
failed=$(grep -c -E -- '->  (failed|broken)' "$home/test.log")
rm -rf "$home"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
