#!/bin/bash
# tests/cli/repl_test.sh -- drives luagil's REPL in a real terminal (tmux):
# expressions, multi-line chunks, Ctrl-C at the prompt and while running,
# threads that run while the prompt waits, Ctrl-D. Usage: repl_test.sh LUAGIL
# See LICENSE for copyright and licence (MIT).

LUAGIL=$(realpath "${1:?usage: repl_test.sh path/to/luagil}")
if ! command -v tmux >/dev/null; then
  echo "tmux not found: skipping the REPL test"
  exit 77
fi

tmp=$(mktemp -d)
sock="luagil-repl-$$"
cleanup () {
  tmux -L "$sock" kill-server 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
passed=0
failed=0

pass () { passed=$((passed + 1)); echo "ok   $1"; }
fail () {
  failed=$((failed + 1))
  echo "FAIL $1"
  screen | sed 's/^/    | /'
}

screen () {
  tmux -L "$sock" capture-pane -p -J -t repl -S -200 \
    | sed -e 's/[[:space:]]*$//' -e '/^$/d'
}

# Type a line literally (key names such as "end" must not be taken as keys).
typeline () {
  tmux -L "$sock" send-keys -t repl -l "$1"
  tmux -L "$sock" send-keys -t repl Enter
}
key () { tmux -L "$sock" send-keys -t repl "$@"; }

# wait_for GREP-ARGS...: poll the screen for up to 10 seconds
wait_for () {
  local i
  for i in $(seq 100); do
    screen | grep -q "$@" && return 0
    sleep 0.1
  done
  return 1
}

# wait_last LINE: wait until the screen's last line is LINE, a bare prompt
wait_last () {
  local i
  for i in $(seq 100); do
    test "$(screen | tail -1)" = "$1" && return 0
    sleep 0.1
  done
  return 1
}

check () {  # check NAME COMMAND...
  local name=$1
  shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}

# HOME is private so that no ~/.editrc changes key bindings.
tmux -L "$sock" -f /dev/null new-session -d -s repl -x 120 -y 50 \
  "HOME='$tmp' '$LUAGIL' -i; echo EXITED rc=\$?; sleep 60"

check banner wait_for '^Lua 5\.4'
check first_prompt wait_last '>'

typeline '123 * 1000'
check expression_printed wait_for -x '123000'

typeline 'function twice(a)'
check continuation_prompt wait_last '>>'
typeline 'local b = a * 2'
typeline 'return b'
typeline 'end'
typeline 'twice(21)'
check multiline_function wait_for -x '42'

tmux -L "$sock" send-keys -t repl -l 'cancelled = "typed but'
sleep 0.3
key C-c
check ctrl_c_fresh_prompt wait_last '>'
typeline 'print("alive:" .. tostring(cancelled))'
check ctrl_c_line_discarded wait_for -x 'alive:nil'

typeline 'if true then'
check continuation_before_ctrl_c wait_last '>>'
key C-c
check ctrl_c_in_continuation wait_last '>'
typeline 'print("still" .. " here")'
check repl_alive_after_ctrl_c wait_for -x 'still here'

typeline 'while true do end'
sleep 0.5
key C-c
check ctrl_c_interrupts_code wait_for 'interrupted!'
typeline 'print("after" .. " interrupt")'
check repl_alive_after_interrupt wait_for -x 'after interrupt'

# io.read() at the prompt reads the terminal; Ctrl-C ends that read too
# (tests/cli/sigint_read_test.sh does it for a piped REPL and scripts).
typeline 'x = io.read()'
wait_last 'x = io.read()'
key C-c
check ctrl_c_interrupts_io_read wait_for "in function 'io.read'"
typeline 'print("read:" .. tostring(x))'
check repl_alive_after_io_read wait_for -x 'read:nil'

# A thread started at the prompt keeps running while the REPL waits for a
# line: the line is read with the GIL released.
typeline 'ok, threading = pcall(require, "threading")'
typeline 'print("threading:" .. tostring(ok))'
wait_for -e '^threading:'
if screen | grep -qx 'threading:true'; then
  typeline 'time = require("time"); n = 0'
  typeline 'function count() for i = 1, 20 do time.sleep(0.01); n = i end end'
  typeline 't = threading.Thread{target = count}; t:start()'
  sleep 2
  typeline 'print("count:" .. n)'
  check thread_runs_while_prompt_waits wait_for -x 'count:20'
else
  echo "skip thread_runs_while_prompt_waits (no threading module)"
fi

key C-d
check ctrl_d_exits wait_for -x 'EXITED rc=0'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
