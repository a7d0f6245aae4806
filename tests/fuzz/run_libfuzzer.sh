#!/usr/bin/env bash
# tests/fuzz/run_libfuzzer.sh -- build the libFuzzer targets with clang in
# build-fuzz (FUZZ=ON: ASan and UBSan, coverage in the whole library) and
# run each for SECONDS, from a seed corpus that make_corpus.lua writes.
# See LICENSE for copyright and licence (MIT).
#
# usage: tests/fuzz/run_libfuzzer.sh SECONDS [libFuzzer options...]
#   e.g. tests/fuzz/run_libfuzzer.sh 60
#        tests/fuzz/run_libfuzzer.sh 0 -runs=10000000   (no time limit)
# A crash stops the run: the reproducer is kept as
# build-fuzz/fuzz-artifacts/<target>-crash-*, printed in hex, and the
# script exits 1. The corpus that grows is build-fuzz/fuzz-corpus/<target>
# (not in the checkout); the seeds are rewritten at each run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_EACH=${1:?usage: run_libfuzzer.sh SECONDS [libFuzzer options...]}
shift
BUILD=$ROOT/build-fuzz
TARGETS="dis mp_pickle"

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DFUZZ=ON -DASAN=ON -DUBSAN=ON \
  > "$BUILD.configure.log" 2>&1 || { cat "$BUILD.configure.log"; exit 1; }
cmake --build "$BUILD" -j"$(nproc)" --target luagil \
  $(for t in $TARGETS; do echo "fuzz_$t"; done)

SEEDS=$BUILD/fuzz-seeds
rm -rf "$SEEDS"
mkdir -p "$BUILD/fuzz-artifacts"
for t in $TARGETS; do mkdir -p "$SEEDS/$t" "$BUILD/fuzz-corpus/$t"; done
ASAN_OPTIONS=detect_leaks=0 "$BUILD/luagil" "$ROOT/tests/fuzz/make_corpus.lua" \
  "$SEEDS"

status=0
for t in $TARGETS; do
  echo "== fuzz_$t for ${SECONDS_EACH} s $*"
  if ! (cd "$BUILD" &&
        ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        "$BUILD/tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" \
          -print_final_stats=1 \
          -artifact_prefix="$BUILD/fuzz-artifacts/$t-" "$@" \
          "$BUILD/fuzz-corpus/$t" "$SEEDS/$t"); then
    status=1
    for f in "$BUILD/fuzz-artifacts/$t-"*; do
      [ -f "$f" ] || continue
      echo "reproducer $f:"
      od -An -tx1 -v "$f" | tr -d ' \n' | fold -w 64
      echo
    done
  fi
done
exit $status
