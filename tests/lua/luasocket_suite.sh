#!/bin/bash
# tests/lua/luasocket_suite.sh -- LuaSocket 3.1.0's own tests, from
# ../shared/conformance beside the source tree (never copied here; see its
# README), run on luagil's socket core. Exits 77 (skipped) with a note
# when that folder, stock lua5.4 or Debian's lua-socket is missing where
# a mode needs them.
# Usage: luasocket_suite.sh LUAGIL MODE, where MODE is
#   client  run-luasocket.sh: lua5.4 serves testsrvr.lua, luagil runs the
#           59 client tests of testclnt.lua
#   server  the same, luagil serving and lua5.4 the client
#   self    luagil on both sides, on luagil's own Lua layer (LUA_PATH
#           without absolute entries hides LuaSocket's socket.lua)
#   files   the single-file tests: test_socket_error, excepttest,
#           test_getaddrinfo, test_bind, udp-zero-length-send(-recv),
#           tcp-getoptions (its output equal to stock lua5.4's), and, with
#           lua-socket's Lua modules, hello, stufftest, urltest, mimetest,
#           ltn12test
#   udp     the udpconnectsrvr/udpconnectclnt pair, each side luagil and
#           lua5.4 in turn, printing what stock lua5.4 prints
# Everything runs on 127.0.0.1 (the folder is trimmed to loopback).
# See LICENSE for copyright and licence (MIT).
LUAGIL=$(realpath "${1:?usage: luasocket_suite.sh LUAGIL MODE}")
mode=${2:?usage: luasocket_suite.sh LUAGIL MODE}
here=$(cd "$(dirname "$0")" && pwd)
conf=$(realpath -m "$here/../../../shared/conformance")
suite=$conf/luasocket-3.1.0-test
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ -n "${spid:-}" ] && kill "$spid" 2>/dev/null' EXIT
fail () { echo "FAIL $*"; exit 1; }
skip () { echo "skipped: $*"; exit 77; }

[ -d "$suite" ] || skip "no $conf (LuaSocket's suite is not in this tree)"
stock=""
if command -v lua5.4 >/dev/null &&
   lua5.4 -e 'require "socket.core"' 2>/dev/null; then
  stock=lua5.4
fi
needstock () { [ -n "$stock" ] || skip "no lua5.4 with lua-socket"; }

# A free loopback port, from the kernel.
freeport () {
  "$LUAGIL" -e 'local s = require("socket").tcp4()
    s:bind("127.0.0.1", 0) print((select(2, s:getsockname()))) s:close()'
}

# run-luasocket.sh SERVER CLIENT: '59 passed, 0 failed'.
pair () {
  local out
  out=$("$conf/run-luasocket.sh" "$1" "$2" "$(freeport)" 2>/dev/null)
  local rc=$?
  echo "$out" | grep -v '^PASS'
  [ $rc -eq 0 ] || fail "run-luasocket.sh $1 $2 exited $rc"
  echo "$out" | grep -q '^59 passed, 0 failed$' ||
    fail "not 59 of 59: $(echo "$out" | tail -1)"
}

# Runs a file of the suite with luagil in the suite's folder; its output
# must end with the line 'want' (a grep -E pattern).
file () {
  local f=$1 want=$2 out
  out=$(cd "$suite" && timeout 60 "$LUAGIL" "$f" 2>&1) ||
    fail "$f exited $?: $out"
  echo "$out" | tail -1 | grep -Eq "$want" ||
    fail "$f: last line not /$want/: $(echo "$out" | tail -3)"
  echo "ok   $f"
}

# Lines with addresses and ports masked, for comparing two runs.
masked () { sed -E 's/0x[0-9a-f]+/ADDR/g; s/[0-9]{4,5}/PORT/g'; }

# The udpconnect pair with server $1 and client $2: the server's output.
udppair () {
  local srv=$1 cli=$2 port="" i
  # stdbuf -oL for stock lua5.4: its stdout to a file is block-buffered,
  # and the server is killed at the end, which would lose what it
  # buffered. Not for luagil: its sanitizer builds refuse an LD_PRELOAD.
  local line=""
  [ "$srv" = "$LUAGIL" ] || line="stdbuf -oL"
  (cd "$suite" && exec timeout 60 $line "$srv" udpconnectsrvr.lua) \
    >"$tmp/srv.out" 2>&1 &
  spid=$!
  for i in $(seq 300); do
    port=$(awk '$1 == "getsockname" {print $3; exit}' "$tmp/srv.out")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || fail "udpconnectsrvr.lua ($srv) printed no port"
  (cd "$suite" && timeout 30 "$cli" udpconnectclnt.lua "$port") \
    >"$tmp/cli.out" 2>&1 || fail "udpconnectclnt.lua ($cli): $(cat "$tmp/cli.out")"
  # The server prints six lines, then waits in receivefrom for ever (its
  # port changed when setpeername("*") unbound it: LuaSocket's own test
  # does so with stock lua5.4 too).
  for i in $(seq 300); do
    [ "$(wc -l <"$tmp/srv.out")" -ge 6 ] && break
    sleep 0.1
  done
  kill "$spid" 2>/dev/null
  wait "$spid" 2>/dev/null
  spid=""
  masked <"$tmp/srv.out"
}

case $mode in
  client) needstock; pair lua5.4 "$LUAGIL" ;;
  server) needstock; pair "$LUAGIL" lua5.4 ;;
  self) LUA_PATH="./?.lua" pair "$LUAGIL" "$LUAGIL" ;;
  files)
    file test_socket_error.lua "^Passed! Error is 'connection refused'\.$"
    file excepttest.lua '^OK$'
    file test_getaddrinfo.lua '^done!$'
    file test_bind.lua '^done!$'
    file udp-zero-length-send '^OK'
    file udp-zero-length-send-recv '^ok$'
    # tcp-getoptions calls 5.1's unpack: given table.unpack, as to stock.
    out=$(cd "$suite" && timeout 60 "$LUAGIL" -e 'unpack = table.unpack' \
          tcp-getoptions 2>&1) || fail "tcp-getoptions: $out"
    echo "$out" | grep -q 'linger	on	false	timeout	0' ||
      fail "tcp-getoptions: $out"
    if [ -n "$stock" ]; then
      want=$(cd "$suite" && timeout 60 lua5.4 -e 'unpack = table.unpack' \
             tcp-getoptions 2>&1)
      [ "$(echo "$out" | masked)" = "$(echo "$want" | masked)" ] ||
        fail "tcp-getoptions differs from lua5.4's:
$(diff <(echo "$want" | masked) <(echo "$out" | masked))"
    fi
    echo "ok   tcp-getoptions"
    if ! "$LUAGIL" -e 'require "mime"; require "socket.url"' 2>/dev/null
    then
      echo "no lua-socket Lua modules: hello, stufftest, urltest," \
           "mimetest, ltn12test skipped"
      exit 0
    fi
    file hello.lua '^Hello from LuaSocket .* and MIME .*!$'
    file stufftest.lua '^ok$'
    file urltest.lua '^the library passed all tests$'
    file mimetest.lua '^done in '
    file ltn12test.lua ': ok$'
    ;;
  udp)
    needstock
    want=$(udppair lua5.4 lua5.4)
    echo "$want" | grep -q '^this is a test from sc$' ||
      fail "stock lua5.4's udp pair: $want"
    for p in "$LUAGIL lua5.4" "lua5.4 $LUAGIL" "$LUAGIL $LUAGIL"; do
      got=$(udppair $p)
      [ "$got" = "$want" ] || fail "udp pair $p:
$(diff <(echo "$want") <(echo "$got"))"
      echo "ok   udp pair $p"
    done
    ;;
  *) fail "unknown mode $mode" ;;
esac
echo "OK"
