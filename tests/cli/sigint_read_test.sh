#!/bin/bash
# tests/cli/sigint_read_test.sh -- Ctrl-C (SIGINT) ends every read of the
# main thread: io.read and file:read in each format, io.lines and
# file:lines, on a FIFO, a pipe and io.popen's pipe, a read that waits for
# another thread's read of the same file, a script read from stdin, and
# io.read at the REPL. Each luagil is sent SIGINT only once it is blocked:
# it says so on stderr just before the read, and the test then waits
# until its main thread sleeps (/proc). Input comes through FIFOs that the
# test holds open, so that nothing ends a read but the signal.
# Usage: sigint_read_test.sh LUAGIL
# See LICENSE for copyright and licence (MIT).

LUAGIL=$(realpath "${1:?usage: sigint_read_test.sh path/to/luagil}")
tmp=$(mktemp -d)
trap 'exec 3>&- 4>&-; rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
mkfifo in hold
exec 3<>in 4<>hold  # open both ways: no EOF while the test runs
passed=0
failed=0

# lg ARGS...: luagil, without the test's ends of the FIFOs (a child that
# kept one would keep its own input open), as the process itself, so that
# $! of "lg ... &" is luagil's pid.
lg () {
  exec 3>&- 4>&-
  exec "$LUAGIL" "$@"
}

pass () { passed=$((passed + 1)); echo "ok   $1"; }
fail () {
  failed=$((failed + 1))
  echo "FAIL $1"
  sed 's/^/    out| /' "$1.out"
  sed 's/^/    err| /' "$1.err"
}

# until_true CMD...: retry CMD (a check, not a delay) for up to 30 s.
until_true () {
  local i
  for i in $(seq 3000); do
    "$@" && return 0
    sleep 0.01
  done
  return 1
}

# The main thread of PID sleeps (in poll, or a lock's wait).
sleeping () {
  local state
  state=$(sed 's/^.*) //' "/proc/$1/task/$1/stat" 2>/dev/null | cut -c1)
  [ "$state" = S ]
}

# PID has exited (a zombie not yet waited for, or gone).
ended () {
  local state
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
  [ -z "$state" ] || [ "$state" = Z ]
}

# finish PID NAME: wait for PID (killed if SIGINT did not end it in 30 s:
# the test fails, it does not hang); its status goes to NAME.rc.
finish () {
  if ! until_true ended "$1"; then
    echo "    ($2: SIGINT did not end it)"
    kill -KILL "$1"
  fi
  wait "$1"
  echo $? >"$2.rc"
}

# interrupt NAME PID MARK [PIDFILE]: once NAME.err (or .out) shows MARK
# and PID sleeps, send it SIGINT and wait for it; its status goes to
# NAME.rc. The writer whose pid is in PIDFILE, if any, is ended once
# the interrupt is reported: a terminal's Ctrl-C would have reached it
# too, and luagil, as lua5.4, waits for its pipes' commands at exit.
interrupt () {
  local name=$1 pid=$2 mark=$3 pidfile=$4
  if ! until_true grep -qF -- "$mark" "$name.err" "$name.out"; then
    echo "    ($name never reached '$mark')"
  fi
  until_true sleeping "$pid"
  kill -INT "$pid"
  if [ -n "$pidfile" ]; then
    until_true grep -q "interrupted!" "$name.err"
    kill "$(cat "$pidfile")"
  fi
  finish "$pid" "$name"
}

# expect NAME RC: NAME ended with status RC and "interrupted!" on stderr
# (RC 1), or on stdout (RC 0: a pcall caught it), and never printed
# "after".
expect () {
  local name=$1 rc=$2 where=err
  [ "$rc" = 0 ] && where=out
  if [ "$(cat "$name.rc")" = "$rc" ] &&
     grep -q "interrupted!" "$name.$where" &&
     ! grep -q "^after" "$name.out"; then
    pass "$name"
  else
    echo "    (status $(cat "$name.rc"), wanted $rc)"
    fail "$name"
  fi
}

# run_case NAME CODE [PIDFILE]: CODE (after 'ready' on stderr) in a luagil
# whose stdin is the FIFO 'in'.
run_case () {
  local name=$1 code=$2
  : >"$name.out"
  : >"$name.err"
  lg -e "io.stderr:write('ready\n')" -e "$code" -e 'print("after")' \
    <in >"$name.out" 2>"$name.err" &
  interrupt "$name" $! ready "$3"
  expect "$name" 1
}

# ---- io.read and file:read on a FIFO, every format ----
run_case read_line 'io.read()'
run_case read_L 'io.read("L")'
run_case read_n 'io.read("n")'
run_case read_a 'io.read("a")'
run_case read_count 'io.read(10)'
run_case read_eof_test 'io.read(0)'
run_case read_formats 'io.read("l", "l")'
run_case stdin_read 'io.stdin:read("a")'
run_case open_fifo_read 'io.open("hold"):read("l")'

# A line that came first is read; the wait for the next one ends.
printf 'first line\n' >&3
run_case read_after_a_line 'print(io.read()); io.read()'
grep -qx 'first line' read_after_a_line.out && pass read_first_line_kept \
  || fail read_after_a_line

# ---- io.lines and file:lines ----
printf 'one\n' >&3
run_case io_lines 'for l in io.lines() do print(l) end'
grep -qx one io_lines.out && pass io_lines_got_first || fail io_lines
run_case io_lines_file 'for l in io.lines("hold", "L") do end'
run_case file_lines 'for l in io.open("hold"):lines(1) do end'

# ---- pipes ----
(exec 3>&- 4>&- 2>/dev/null; echo $BASHPID >writer.pid; exec cat hold) |
  lg -e "io.stderr:write('ready\n')" -e 'io.read("a")' \
     -e 'print("after")' >stdin_pipe.out 2>stdin_pipe.err &
interrupt stdin_pipe $! ready writer.pid
expect stdin_pipe 1
run_case popen_read \
  'io.popen("echo $$ >popen.pid; exec cat hold"):read("a")' popen.pid

# ---- caught by pcall: the script goes on ----
lg -e "io.stderr:write('ready\n')" -e 'print(pcall(io.read))' \
  -e 'print("went on")' <in >pcall.out 2>pcall.err &
interrupt pcall $! ready
if [ "$(cat pcall.rc)" = 0 ] && grep -qx 'false	interrupted!' pcall.out &&
   grep -qx 'went on' pcall.out; then
  pass pcall_catches
else
  fail pcall
fi

# ---- a read that waits for another thread's read of the same file ----
cat >locked.lua <<'EOF'
local threading, gil = require "threading", require "gil"
local t = threading.Thread{daemon = true, target = function () io.read() end}
t:start()
local function blocked ()  -- t has let the GIL go around its read
  for _, s in ipairs(gil.stats().threads) do
    if s.ident == t.ident and s.blocking_drops > 0 then return true end
  end
end
while not blocked() do threading.Event():wait(0.001) end
io.stderr:write("ready\n")
io.read()
print("after")
EOF
lg locked.lua <in >locked.out 2>locked.err &
interrupt locked $! ready
expect locked 1

# ---- a script read from stdin ----
printf 'print("partial")\n' >&3  # the chunk has no end yet
lg - <in >stdin_script.out 2>stdin_script.err &
pid=$!
until_true sleeping $pid
kill -INT $pid
finish $pid stdin_script
if [ "$(cat stdin_script.rc)" = 1 ] && grep -q "interrupted!" stdin_script.err \
   && ! grep -q partial stdin_script.out; then
  pass stdin_script
else
  fail stdin_script
fi

# ---- io.read at the REPL (stdin piped) ----
lg -i <in >repl.out 2>repl.err &
pid=$!
printf 'x = io.read()\n' >&3
interrupt_repl () {
  until_true grep -qF 'x = io.read()' repl.out
  until_true sleeping $pid
  kill -INT $pid
  until_true grep -q "interrupted!" repl.err
}
interrupt_repl
printf 'print("alive", x)\n' >&3
until_true grep -qx 'alive	nil' repl.out
exec 3>&-  # the end of the REPL's input
finish $pid repl
if [ "$(cat repl.rc)" = 0 ] && grep -q "^stdin:1: interrupted!" repl.err &&
   grep -qx 'alive	nil' repl.out; then
  pass repl_io_read
else
  fail repl
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
