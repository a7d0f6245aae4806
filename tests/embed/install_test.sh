#!/bin/sh
# tests/embed/install_test.sh -- install luagil into a prefix inside the
# build tree, then build the examples of scripts/embed against it with
# pkg-config and with find_package, and run them; tests/embed/package's
# hosts, on luagil::luagil and on luagil::luagil_static, run a thread and
# load a C module; the installed program and the installed module (under
# stock lua5.4) run too, and man finds the installed manual page.
# usage: install_test.sh BUILD_DIR SOURCE_DIR CMAKE CC "SANITIZER_FLAGS"
#        [SANITIZER_RUNTIME]  (preloaded into stock lua5.4 only)
# See LICENSE for copyright and licence (MIT).
set -eu
build=$1 src=$2 cmake=$3 cc=$4 san=$5 preload=${6:-}
prefix=$build/embed-prefix
rm -rf "$prefix" "$build/embed-pc" "$build/embed-cmake" \
  "$build/embed-package"
"$cmake" --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name luagil.pc)
libdir=$(dirname "$(dirname "$pc")")
examples="blocking_callback native_workers handoffs"

echo "== pkg-config"
export PKG_CONFIG_PATH="$(dirname "$pc")"
mkdir -p "$build/embed-pc"
for ex in $examples; do
  # shellcheck disable=SC2046,SC2086
  "$cc" $san -Wall -Wextra -Werror $(pkg-config --cflags luagil) \
    -o "$build/embed-pc/$ex" "$src/scripts/embed/$ex.c" \
    $(pkg-config --libs luagil) -pthread -Wl,-rpath,"$libdir"
  "$build/embed-pc/$ex"
done

echo "== find_package"
"$cmake" -S "$src/scripts/embed" -B "$build/embed-cmake" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
"$cmake" --build "$build/embed-cmake" >/dev/null
for ex in $examples; do
  "$build/embed-cmake/$ex"
done

echo "== find_package, both targets"
pkg=$build/embed-package
"$cmake" -S "$src/tests/embed/package" -B "$pkg" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_C_FLAGS="$san -Wall -Wextra -Werror" \
  -DCMAKE_EXE_LINKER_FLAGS="$san" -DCMAKE_MODULE_LINKER_FLAGS="$san" \
  >/dev/null
"$cmake" --build "$pkg" >/dev/null
# A thread runs, and a C module linked to no Lua loads into either host.
chunk='package.cpath = "'$pkg'/?.so"
  local t = require("threading").Thread{target = function (a, b)
    return require("cmod").add(a, b)
  end, args = {2, 3}}
  t:start()
  assert(t:value() == 5)
  print("host OK")'
for way in shared static; do
  printf '%s: ' "$way"
  "$pkg/host_$way" "$chunk"
done
# The static host carries luagil and Lua: it needs neither's .so.
if command -v readelf >/dev/null; then
  if readelf -d "$pkg/host_static" | grep -E "NEEDED.*lib(luagil|lua)"; then
    echo "host_static needs a shared luagil or Lua"
    exit 1
  fi
fi
for ex in $examples; do
  "$pkg/${ex}_static"
done

echo "== installed manual page"
page=$prefix/share/man/man1/luagil.1
[ -f "$page" ] || { echo "no $page"; exit 1; }
if command -v man >/dev/null; then
  [ "$(MANPATH="$prefix/share/man" man -w luagil)" = "$page" ] ||
    { echo "man -w luagil does not find $page"; exit 1; }
fi
echo "man page OK"

echo "== installed program and module"
"$prefix/bin/luagil" -e "assert(require('luagil.threading').active_count() == 1)"
if command -v lua5.4 >/dev/null; then
  LD_PRELOAD="$preload" LUA_CPATH="$libdir/lua/5.4/?.so" lua5.4 -l luagil \
    -e "assert(require('luagil.queue') == require('queue')); print('module OK')"
fi
