#!/bin/bash
# tests/lua/gilhtml.sh -- the HTML timeline opened in a real browser: a run
# of N threads traced with --gil-trace=FILE.html, loaded by headless
# chromium, must render N+1 lanes (the main thread too) with no script
# error, and screenshot to a PNG. Skipped (status 77) without chromium;
# scripts/test installs it. Usage: gilhtml.sh LUAGIL [N] [PNG]
# See LICENSE for copyright and licence (MIT).
LUAGIL=$(realpath "${1:?usage: gilhtml.sh path/to/luagil [N] [PNG]}")
N=${2:-8}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail () { echo "FAIL $*"; exit 1; }

CHROMIUM=$(command -v chromium || command -v chromium-browser) ||
  { echo "skip: no chromium (scripts/test installs it)"; exit 77; }

"$LUAGIL" --gil-trace="$tmp/t.html" "$here/gilstats.lua" --workload "$N" \
  >/dev/null || fail "traced run"
grep -q '<script>' "$tmp/t.html" || fail "no script in the page"
grep -Eq 'src=|href="http' "$tmp/t.html" && fail "the page loads something"

browse () {  # browse OPTIONS...: headless chromium on the page, offline
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
    --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --disable-dev-shm-usage \
    --user-data-dir="$(mktemp -d -p "$tmp")" --enable-logging=stderr --v=0 \
    "$@" "file://$tmp/t.html"
}

browse --dump-dom >"$tmp/dom" 2>"$tmp/log" ||
  fail "chromium --dump-dom: $(tail -5 "$tmp/log")"
lanes=$(grep -o 'class="lane"' "$tmp/dom" | wc -l)
[ "$lanes" -eq $((N + 1)) ] || fail "$lanes lanes, expected $((N + 1))"
grep -q "data-lanes=\"$((N + 1))\"" "$tmp/dom" ||
  fail "the page's script did not run to its end"
grep -q 'data-errors="0"' "$tmp/dom" || fail "script errors"
grep -q 'CONSOLE.*Uncaught' "$tmp/log" &&
  fail "script error: $(grep 'CONSOLE' "$tmp/log")"
echo "ok   $lanes lanes, no script error"

png=${3:-$tmp/t.png}
browse --screenshot="$png" --window-size=1640,$((140 + 30 * (N + 1))) \
  >/dev/null 2>"$tmp/log2" || fail "chromium --screenshot"
[ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
  fail "no PNG written"
echo "ok   screenshot $(stat -c %s "$png") bytes"
