#!/bin/bash
# tests/lua/giltrace.sh -- luagil's --gil-stats and --gil-trace=FILE.json:
# the table on stderr at exit, and a trace that parses (checked by
# gilstats.lua's own JSON reader, and by python3's when there is one).
# Usage: giltrace.sh LUAGIL
# See LICENSE for copyright and licence (MIT).
LUAGIL=$(realpath "${1:?usage: giltrace.sh path/to/luagil}")
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail () { echo "FAIL $*"; exit 1; }

# --gil-stats: a header, one line per thread, totals. (Whether a joined
# thread is already marked "(exited)" at exit is left to gilstats.lua: its
# job reports its end just after waking its joiners.)
"$LUAGIL" --gil-stats "$here/gilstats.lua" --workload 2 \
  >"$tmp/out" 2>"$tmp/err" || fail "--gil-stats run: $(cat "$tmp/err")"
grep -Eq \
  '^thread +acq +hold_s +hold_max +wait_s +wait_max +forced +block +req$' \
  "$tmp/err" || fail "no header: $(cat "$tmp/err")"
grep -Eq '^MainThread +[0-9]+ ' "$tmp/err" || fail "no MainThread line"
for t in traced-1 traced-2; do
  grep -Eq "^$t +[0-9]+ " "$tmp/err" || fail "no line for $t"
done
grep -Eq '^switches [0-9]+, drop requests [0-9]+$' "$tmp/err" ||
  fail "no totals"
echo "ok   --gil-stats"

# Without the flag, nothing on stderr.
"$LUAGIL" "$here/gilstats.lua" --workload 1 >/dev/null 2>"$tmp/err2"
[ -s "$tmp/err2" ] && fail "stderr without --gil-stats: $(cat "$tmp/err2")"

# --gil-trace=FILE.json: the main thread and 3 workers.
"$LUAGIL" --gil-trace="$tmp/t.json" "$here/gilstats.lua" --workload 3 \
  >/dev/null || fail "--gil-trace run"
"$LUAGIL" "$here/gilstats.lua" "$tmp/t.json" 4 >"$tmp/check" 2>&1 ||
  fail "trace check: $(cat "$tmp/check")"
if command -v python3 >/dev/null; then
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1]));
assert len([e for e in d["traceEvents"] if e["ph"] == "M"]) >= 4' \
    "$tmp/t.json" || fail "python3 rejects the trace"
else
  echo "skip python3 check: no python3"
fi
echo "ok   --gil-trace=FILE.json"
