# scripts/deps.sh -- sourced by scripts/demo and scripts/test: installs the
# Debian packages luagil needs that are missing, and builds one configuration.
# See LICENSE for copyright and licence (MIT).

# The packages to build and run: build tools, Lua 5.4, Criterion, libedit.
LUAGIL_PACKAGES="gcc make cmake pkg-config liblua5.4-dev lua5.4 \
libcriterion-dev libedit-dev"
# ... and to test: tmux for the REPL test, valgrind for the stress script,
# chromium for the test that opens the HTML GIL timeline (installing it took
# 53 s on a loaded 2-core machine), clang and its libFuzzer runtime
# (libclang_rt.fuzzer-x86_64.a is in libclang-rt-14-dev on Debian 12) for
# tests/fuzz/run_libfuzzer.sh, clang-format (clang-format-diff-14) for
# scripts/format, and for the socket tests LuaSocket and LuaSec (lua-socket,
# lua-sec: their Lua layers run on luagil's socket core, and LuaSocket's
# suite from ../shared/conformance) and openssl (a local TLS server).
LUAGIL_TEST_PACKAGES="$LUAGIL_PACKAGES tmux valgrind chromium clang \
libclang-rt-14-dev clang-format lua-socket lua-sec openssl"
# luarocks for the rockspec's test (embed.rock), man-db (and with it
# groff-base) for the manual page's (manpage).
LUAGIL_TEST_PACKAGES="$LUAGIL_TEST_PACKAGES luarocks man-db"

install_missing () {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

# build DIR [cmake options...]: configure and build luagil in DIR.
build () {
  local dir=$1
  shift
  cmake -S "$ROOT" -B "$ROOT/$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" \
    > "$ROOT/$dir.configure.log" 2>&1 ||
    { cat "$ROOT/$dir.configure.log"; return 1; }
  cmake --build "$ROOT/$dir" -j"$(nproc)"
}
