#!/bin/sh
# Runs the test suite under Kyua and prints "N passed, N failed".
# Arguments, if any, name test programs or folders (as kyua test takes).
# Kyua runs as an unprivileged user: as the invoking user, or, when
# invoked as root, as the user _basemailtest (created here), since the
# commands refuse to run the mail system as root.
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top/tests" || exit 1

run=
if [ "$(id -u)" -eq 0 ]; then
	id _basemailtest >/dev/null 2>&1 ||
	    useradd --system --no-create-home --shell /usr/sbin/nologin \
	    _basemailtest || exit 1
	home=$(mktemp -d /tmp/basemail-check.XXXXXX) || exit 1
	chown _basemailtest "$home"
	chmod 0755 "$top/tests"
	run="runuser -u _basemailtest -- env HOME=$home"
else
	home=$(mktemp -d /tmp/basemail-check.XXXXXX) || exit 1
	run="env HOME=$home"
fi
store=$home/results.db
$run kyua test --store="$store" --kyuafile=Kyuafile "$@" >"$home/test.log" 2>&1
$run kyua report --store="$store" --verbose --results-filter=broken,failed
$run kyua report --store="$store" >"$home/report.txt" 2>&1
cat "$home/report.txt" | tail -n 3
total=$(grep -c '' "$home/test.log")
passed=$(grep -c -- '->  passed' "$home/test.log")
failed=$(grep -c -E -- '->  (failed|broken)' "$home/test.log")
skipped=$(grep -c -- '->  skipped' "$home/test.log")
[ "$skipped" -gt 0 ] && grep -- '->  skipped' "$home/test.log"
echo "$passed passed, $failed failed"
rm -rf "$home"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
