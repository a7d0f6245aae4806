#!/bin/sh
# tests/embed/rock_test.sh -- `luarocks make` of luagil-scm-1.rockspec into
# a fresh tree, offline, then stock lua5.4 with only that tree on its paths
# loads luagil.so (require "luagil" and 'lua5.4 -l luagil'): threads run,
# and the module needs no libluagil.so. Last, `luarocks remove` takes it
# away. Exits 77 (skipped) when luarocks is not installed.
# usage: rock_test.sh SOURCE_DIR WORK_DIR ["SANITIZER_FLAGS"]
#        [SANITIZER_RUNTIME]  (the module is built with the flags, and the
#        runtime preloaded into stock lua5.4)
# See LICENSE for copyright and licence (MIT).
set -eu
src=$1 work=$2 san=${3:-} preload=${4:-}
if ! command -v luarocks >/dev/null; then
  echo "luarocks is not installed (Debian package luarocks): skipped"
  exit 77
fi
rm -rf "$work"
mkdir -p "$work/src" "$work/home"
tree=$work/tree

# A copy of the checkout, so that luarocks' build.luarocks/ folder lands
# there and two builds' runs of this test do not share one.
for f in "$src"/*; do
  case ${f##*/} in build*) continue ;; esac
  cp -R "$f" "$work/src/"
done

# Offline: no rock server but an empty folder, and any download attempt
# goes to a closed port on 127.0.0.1. HOME: no user configuration.
echo "== luarocks make"
(cd "$work/src" &&
  HOME=$work/home http_proxy=http://127.0.0.1:9 \
  https_proxy=http://127.0.0.1:9 CFLAGS="$san" LDFLAGS="$san" \
  luarocks --lua-version 5.4 --only-server "$work/no-server" \
    make --tree "$tree" luagil-scm-1.rockspec) > "$work/make.log" 2>&1 ||
  { cat "$work/make.log"; exit 1; }
grep "^luagil scm-1 is now installed in $tree" "$work/make.log" ||
  { cat "$work/make.log"; exit 1; }

so=$tree/lib/lua/5.4/luagil.so
[ -f "$so" ] || { echo "no $so"; exit 1; }
luarocks --lua-version 5.4 --tree "$tree" list --porcelain |
  grep -q "^luagil	scm-1	installed" ||
  { echo "luarocks list does not show luagil scm-1"; exit 1; }

echo "== self-contained"
if command -v readelf >/dev/null; then
  needed=$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  echo "needs: $(echo $needed)"
  case " $(echo $needed) " in
    *liblua*|*libluagil*)
      echo "luagil.so must need neither liblua nor libluagil"; exit 1 ;;
  esac
  exported=$(readelf --dyn-syms -W "$so" |
    awk '$5 == "GLOBAL" && $7 != "UND" { print $8 }')
  [ "$exported" = "luaopen_luagil" ] ||
    { echo "luagil.so exports more than luaopen_luagil: $exported"; exit 1; }
fi

echo "== stock lua5.4 with the tree's paths only"
# lua5.4 with the tree's paths, never luarocks (which may run on another
# Lua that these paths would mislead).
lua54 () {
  LUA_PATH="$tree/share/lua/5.4/?.lua;$tree/share/lua/5.4/?/init.lua" \
  LUA_CPATH="$tree/lib/lua/5.4/?.so" LD_PRELOAD="$preload" lua5.4 "$@"
}
lua54 -e '
  local luagil = require "luagil"
  assert(package.loaded.luagil == luagil, "require does not cache luagil")
  assert(luagil._VERSION:find("^luagil"), luagil._VERSION)
  local threading = require "threading"
  local lock = threading.Lock()
  local results = {}
  local threads = {}
  for i = 1, 4 do
    threads[i] = threading.Thread{target = function ()
      lock:with(function () results[#results + 1] = i end)
      return threading.get_native_id()
    end}
    threads[i]:start()
  end
  local main = threading.get_native_id()
  for i = 1, 4 do
    local id = threads[i]:value()
    assert(math.type(id) == "integer" and id ~= main,
           "thread " .. i .. " did not run on its own OS thread")
  end
  assert(#results == 4, #results)
  print("require OK")'
out=$(lua54 -l luagil "$src/tests/embed/module.lua")
printf '%s\n' "$out"
[ "$(printf '%s\n' "$out" | tail -n 2)" = "OK
late thread done" ] || { echo "module.lua did not finish"; exit 1; }

echo "== luarocks remove"
HOME=$work/home luarocks --lua-version 5.4 --tree "$tree" remove luagil \
  > "$work/remove.log" 2>&1 || { cat "$work/remove.log"; exit 1; }
[ ! -e "$so" ] || { echo "luarocks remove left $so"; exit 1; }
if lua54 -e 'require "luagil"' 2>/dev/null; then
  echo "require \"luagil\" still works after luarocks remove"; exit 1
fi
echo "rock OK"
