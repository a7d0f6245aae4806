#!/bin/bash
# tests/cli/lua_testes.sh -- runs Lua 5.4.4's own test suite (testes/ of
# the lua/lua repository) under luagil, as stock lua5.4 passes it:
# all.lua with _port and _soft, to "final OK !!!". The suite is not part
# of the project: it is read from ../shared/conformance beside the source
# tree, and the test skips when that folder is absent.
# Usage: lua_testes.sh LUAGIL SOURCE-DIR
# See LICENSE for copyright and licence (MIT).

LUAGIL=$(realpath "${1:?usage: lua_testes.sh LUAGIL SOURCE-DIR}")
suite="${2:?usage: lua_testes.sh LUAGIL SOURCE-DIR}/../shared/conformance"
suite="$suite/lua-5.4.4-testes"
if [ ! -f "$suite/all.lua" ]; then
  echo "skip: no Lua 5.4.4 test suite at $suite"
  exit 77
fi

# all.lua writes time.txt beside itself: run it in a folder of our own
# that links to the suite's files, so that runs at once do not meet.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ln -s "$(realpath "$suite")"/* "$tmp/"
cd "$tmp" || exit 1

env -u LUA_INIT -u LUA_INIT_5_4 -u LUA_PATH -u LUA_CPATH \
    -u LUA_PATH_5_4 -u LUA_CPATH_5_4 \
  "$LUAGIL" -e "_port=true; _soft=true" all.lua >out.txt 2>&1
rc=$?
tail -n 25 out.txt
if [ $rc -ne 0 ]; then
  echo "FAIL: luagil exited with status $rc"
  exit 1
fi
if ! grep -qx 'final OK !!!' out.txt; then
  echo "FAIL: no 'final OK !!!'"
  exit 1
fi
echo "ok: Lua 5.4.4's test suite passes whole"
