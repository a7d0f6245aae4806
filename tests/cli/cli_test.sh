#!/bin/bash
# tests/cli/cli_test.sh -- runs a corpus of command lines through the stock
# lua5.4 program and through luagil and requires the same stdout, stderr and
# exit status; then checks luagil's own options. Usage: cli_test.sh LUAGIL
# See LICENSE for copyright and licence (MIT).

LUAGIL=$(realpath "${1:?usage: cli_test.sh path/to/luagil}")
here=$(cd "$(dirname "$0")" && pwd)
LUA=$(command -v "${LUA:-lua5.4}") || { echo "lua5.4 not found"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
passed=0
failed=0

# Both programs run as "lua" (exec -a), so that messages naming argv[0]
# compare equal; the sed below also maps any leftover program name.
run () {  # run OUTPREFIX PROGRAM [VAR=value ...] -- ARGS...
  local out=$1 prog=$2
  shift 2
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  env -u LUA_INIT -u LUA_INIT_5_4 -u LUA_PATH -u LUA_CPATH \
      -u LUA_PATH_5_4 -u LUA_CPATH_5_4 "${envs[@]}" \
    timeout 20 bash -c 'exec -a lua "$@"' _ "$prog" "$@" \
    <"${STDIN:-/dev/null}" >"$out.out" 2>"$out.err"
  echo $? >"$out.rc"
  sed -i -e 's/^\(lua5\.4\|luagil\|[^ :]*\/luagil\): /lua: /' \
         -e 's/^usage: [^ ]* /usage: lua /' "$out.err"
}

pass () { passed=$((passed + 1)); echo "ok   $1"; }
fail () { failed=$((failed + 1)); echo "FAIL $1"; }

# same NAME [VAR=value ...] -- ARGS...   (stdin from $STDIN or /dev/null)
same () {
  local name=$1
  shift
  run lua "$LUA" "$@"
  run gil "$LUAGIL" "$@"
  local f
  for f in out err rc; do
    if ! cmp -s "lua.$f" "gil.$f"; then
      fail "$name ($f differs)"
      diff -u "lua.$f" "gil.$f" | sed -n '3,40p' | sed 's/^/    /'
      return
    fi
  done
  pass "$name"
}


# ---- files used by the cases ----
cat >args.lua <<'EOF'
for i = -4, 5 do print(i, arg[i]) end
print("n", select("#", ...), ...)
EOF
cat >syntax.lua <<'EOF'
local x = 1
if x then print(x)
EOF
cat >runtime.lua <<'EOF'
local function inner(t) return t.field.sub end
local function outer() return inner({}) end
print("before")
outer()
print("not reached")
EOF
cat >gcexit.lua <<'EOF'
print("creating 1")
setmetatable({}, {__gc = function () print(1) end})
print("creating 2")
setmetatable({}, {__gc = function ()
  print("2")
  setmetatable({}, {__gc = function () print(3) end})
  os.exit(0, true)
end})
EOF
cat >usesx.lua <<'EOF'
print("x is", x, ...)
EOF
mkdir -p mods
cat >mods/mymod.lua <<'EOF'
print("loading", ...)
return {v = 7}
EOF
cat >mods/badmod.lua <<'EOF'
error("badmod fails")
EOF
cat >init.lua <<'EOF'
print("init file", x)
initialised = true
EOF
cat >stdin.lua <<'EOF'
print("from stdin", ...)
io.write("rest: ", tostring(io.read("l")), "\n")
EOF
printf 'print("from stdin", ...)\nreturn 1\n' >plain_stdin.lua
cat >repl.txt <<'EOF'
print(1)
1 + 1
x = 10
x, x * 2
function f(a)
  return a + 1
end
f(41)
= "old style"
error("oops")
error({})
setmetatable({}, {__tostring = function() return "T!" end})
EOF
printf 'local t = {\n1, 2,\n' >repl_eof.txt
printf '_PROMPT = "$ "\n_PROMPT2 = "... "\nif true then\nprint("in")\nend\n' \
  >repl_prompt.txt

# ---- -e, arg and ... ----
same e_print -- -e 'print(1)'
same e_twice -- -e 'x = 1' -e 'print(x + 1)'
same e_glued -- '-eprint("glued")'
same e_then_script -- -e 'x = 10' usesx.lua a b
same e_error_stops -- -e 'error("first")' -e 'print("not run")'
same arg_script -- args.lua a 'b c' ''
same arg_no_script -- -e 'for i = -2, 3 do print(i, arg[i]) end' 
same arg_with_options -- -E -W -e 'x = 1' args.lua one two
same varargs_empty -- args.lua
same dashdash -- -- args.lua x
same dashdash_dash -- -- - x
same dashdash_option_like -- -- -notanoption

# ---- errors ----
same syntax_error_script -- syntax.lua
same syntax_error_e -- -e 'x ='
same runtime_traceback -- runtime.lua
same error_string -- -e 'error("plain")'
same error_level0 -- -e 'error("nolevel", 0)'
same error_number -- -e 'error(42)'
same error_table -- -e 'error({})'
same error_tostring -- \
  -e 'error(setmetatable({}, {__tostring = function() return "TS" end}))'
same error_tostring_nonstring -- \
  -e 'error(setmetatable({}, {__tostring = function() return 1 end}))'
same error_nil -- -e 'error(nil)'
same error_boolean -- -e 'error(false)'
same missing_script -- nosuch.lua
same missing_script_args -- nosuch.lua a b

# ---- os.exit ----
same os_exit_3 -- -e 'print("bye") os.exit(3)'
same os_exit_true -- -e 'os.exit(true)'
same os_exit_false -- -e 'os.exit(false)'
same os_exit_close -- -e 'os.exit(5, true)'
# os.exit(0, true) from a finalizer that lua_close runs: the finalizers
# left still run, as they do in stock lua (Lua's testes/main.lua)
same os_exit_close_in_gc -- gcexit.lua

# ---- stdin ----
STDIN=stdin.lua same stdin_dash -- - a b
STDIN=plain_stdin.lua same stdin_implicit --
STDIN=plain_stdin.lua same stdin_after_dashdash -- --
STDIN=plain_stdin.lua same stdin_dash_after_e -- -e 'x = 1' -
STDIN=syntax.lua same stdin_syntax_error -- -
# luagil reads a script on stdin itself (Ctrl-C aware), as loadfile would
printf '#!/usr/bin/lua\nprint(debug.getinfo(1).currentline)\nerror("x")' \
  >hash_stdin.lua
printf '\357\273\277print("after a BOM")\n' >bom_stdin.lua
printf '#only a comment line' >hashonly_stdin.lua
printf '#!x\n' >binary_stdin.luac
"$LUA" -e 'io.write(string.dump(load("print(\"binary\", ...)")))' \
  >>binary_stdin.luac
STDIN=hash_stdin.lua same stdin_hash_line -- -
STDIN=bom_stdin.lua same stdin_bom -- -
STDIN=hashonly_stdin.lua same stdin_hash_only -- -
STDIN=binary_stdin.luac same stdin_binary_after_hash -- - x
STDIN=/ same stdin_directory -- -

# ---- -l ----
same l_module LUA_PATH="$tmp/mods/?.lua" -- -l mymod -e 'print(mymod.v)'
same l_glued LUA_PATH="$tmp/mods/?.lua" -- -lmymod -e 'print(mymod.v)'
same l_global_name LUA_PATH="$tmp/mods/?.lua" -- \
  -l m=mymod -e 'print(m.v, mymod)'
same l_error LUA_PATH="$tmp/mods/?.lua" -- -l badmod -e 'print("no")'
same l_not_found LUA_PATH="$tmp/mods/?.lua" LUA_CPATH="$tmp/mods/?.so" -- \
  -l nosuchmod
same l_ignored_with_E LUA_PATH="$tmp/mods/?.lua" -- \
  -E -e 'print(pcall(require, "mymod"))'
same l_path_5_4_wins LUA_PATH="$tmp/nothing/?.lua" \
  LUA_PATH_5_4="$tmp/mods/?.lua" -- -l mymod

# ---- LUA_INIT ----
same init_string LUA_INIT='print("init") x = 1' -- -e 'print(x)'
same init_5_4_first LUA_INIT='print("plain")' LUA_INIT_5_4='print("5.4")' \
  -- -e 'print(2)'
same init_file LUA_INIT="@$tmp/init.lua" -- -e 'print(initialised)'
same init_missing_file LUA_INIT="@$tmp/nosuch.lua" -- -e 'print("no")'
same init_error LUA_INIT='error("boom")' -- -e 'print("no")'
same init_ignored_E LUA_INIT='print("init")' -- -E -e 'print("E")'
same init_sees_args LUA_INIT='print(#arg, arg[0])' -- args.lua a

# ---- -W ----
same warn_off -- -e 'warn("x")'
same warn_on -- -W -e 'warn("x")'
same warn_order -- -e 'warn("a")' -W -e 'warn("b", "c")'
same warn_control -- -W -e 'warn("@off") warn("hidden") warn("@on") warn("y")'

# ---- -v and bad options ----
same version -- -v
same version_then_e -- -v -e 'print(2)'
same bad_option -- -x
same bad_option_after_e -- -e 'print(1)' -y
same bad_long_option -- --foo
same bad_v_suffix -- -vx
same bad_E_suffix -- -Ex
same e_needs_argument -- -e
same l_needs_argument -- -l
same e_argument_is_option -- -e -v

# ---- the REPL, fed through a pipe ----
STDIN=repl.txt same repl_piped -- -i
STDIN=repl_prompt.txt same repl_piped_prompts -- -i
# a prompt that is no string goes through tostring (__tostring included)
STDIN=repl_prompt.txt same repl_piped_prompt_tostring -- -e \
  'local n = 0; _PROMPT = setmetatable({}, {__tostring = function ()
     n = n + 1; return "<" .. n .. ">" end}); _PROMPT2 = 2' -i
STDIN=repl_prompt.txt same repl_piped_prompt_tostring_fails -- -e \
  '_PROMPT = setmetatable({}, {__tostring = function () error("no") end})' \
  -i
STDIN=repl.txt same repl_after_script -- -i args.lua z
STDIN=repl.txt same repl_not_after_error -- -i runtime.lua

# ---- luagil's own options ----
check () {  # check NAME CONDITION-COMMAND...
  local name=$1
  shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}

# At the end of input inside an unfinished statement, stock lua prints
# "(null)" (it reports an error message it has already popped); luagil
# reports the syntax error instead.
STDIN=repl_eof.txt run gil "$LUAGIL" -- -i
check repl_piped_unfinished \
  test "$(cat gil.err)" = "stdin:2: unexpected symbol near <eof>"

run gil "$LUAGIL" -- --help
check help_exit_0 test "$(cat gil.rc)" = 0
check help_nothing_on_stderr test ! -s gil.err
for opt in -e -l -i -v -E -W -- "  -  " --switch-interval= --preempt= --help; do
  check "help_lists_${opt// /}" grep -q -e "$opt" gil.out
done

run gil "$LUAGIL" -- --switch-interval=0 -e 'print("ran")'
check switch_interval_0_fails test "$(cat gil.rc)" = 1
check switch_interval_0_message grep -q "switch-interval" gil.err
check switch_interval_0_not_run test ! -s gil.out
run gil "$LUAGIL" -- --switch-interval=-1 -e 'print("ran")'
check switch_interval_negative_fails test "$(cat gil.rc)" = 1
run gil "$LUAGIL" -- --switch-interval=abc -e 'print("ran")'
check switch_interval_text_fails test "$(cat gil.rc)" = 1
run gil "$LUAGIL" -- --switch-interval -e 'print("ran")'
check switch_interval_no_value_fails test "$(cat gil.rc)" = 1
run gil "$LUAGIL" -- --switch-interval=0.001 -e 'print(1)'
check switch_interval_small_works test "$(cat gil.out):$(cat gil.rc)" = "1:0"
run gil "$LUAGIL" -- -e 'print(1)' --switch-interval=0.01 -e 'print(2)'
check switch_interval_between_options \
  test "$(tr '\n' ' ' <gil.out):$(cat gil.rc)" = "1 2 :0"

run gil "$LUAGIL" -- --preempt=bogus -e 'print("ran")'
check preempt_bogus_fails test "$(cat gil.rc)" = 1
check preempt_bogus_message grep -q "preempt" gil.err
check preempt_bogus_not_run test ! -s gil.out
for mode in any safe; do
  run gil "$LUAGIL" -- --preempt=$mode -e 'print("ok")'
  check "preempt_${mode}_works" test "$(cat gil.out):$(cat gil.rc)" = "ok:0"
done

run gil "$LUAGIL" -- --help=yes
check help_with_value_fails test "$(cat gil.rc)" = 1
run gil "$LUAGIL" -- --preempt=safe args.lua a
check long_option_in_arg_table grep -qx -- "-1	--preempt=safe" gil.out
run gil "$LUAGIL" -- args.lua --help --preempt=bogus
check long_options_after_script_are_args \
  test "$(grep -c -x -e '1	--help' -e '2	--preempt=bogus' gil.out)" = 2
run gil "$LUAGIL" -- --bogus-option=1
check unknown_long_option_usage test "$(head -1 gil.err):$(cat gil.rc)" = \
  "lua: unrecognized option '--bogus-option=1':1"

# _thread.exit() in the main thread is Python's SystemExit: status 0, no
# message, nothing after it runs; the REPL ends; non-daemon threads are
# still joined (issue 19, case 24: it exited 1 with "(error object ...").
run gil "$LUAGIL" -- -e 'require("_thread").exit()' -e 'print("after")'
check thread_exit_main_status_0 test "$(cat gil.rc)" = 0
check thread_exit_main_quiet test ! -s gil.err -a ! -s gil.out
printf 'require("_thread").exit()\nprint("after")\n' >exit_repl.txt
STDIN=exit_repl.txt run gil "$LUAGIL" -- -i
check thread_exit_repl_ends test "$(cat gil.rc)" = 0 -a ! -s gil.err
check thread_exit_repl_stops test "$(grep -c after gil.out)" = 0
cat >exit_join.lua <<'EOF'
local threading = require "threading"
local ev = threading.Event()
threading.Thread{target = function () ev:wait() print("joined") end}:start()
ev:set()
require("_thread").exit()
EOF
run gil "$LUAGIL" -- exit_join.lua
check thread_exit_joins_threads \
  test "$(cat gil.out):$(cat gil.rc)" = "joined:0"

# A standard descriptor closed at start stays closed for the script (and
# is not taken by luagil's own descriptors, which a read would wait on).
closed_std () {  # closed_std PROGRAM: stdin and stdout closed
  timeout 20 bash -c 'exec -a lua "$@"' _ "$1" -e \
    'io.stderr:write(tostring(select(2, io.read())), " ",
      tostring(select(2, io.stdout:write("x"):flush())), "\n")' \
    <&- 2>&1 >&- | sed 's/^[^ ]*: //'
}
check std_descriptors_closed \
  test "$(closed_std "$LUAGIL")" = "$(closed_std "$LUA")"
closed_script () {  # closed_script PROGRAM: the script is the closed stdin
  timeout 20 bash -c 'exec -a lua "$@"' _ "$1" - <&- 2>&1
  echo "rc=$?"
}
check stdin_script_closed \
  test "$(closed_script "$LUAGIL")" = "$(closed_script "$LUA")"

version=$(sed -n 's/^#define LUAGIL_VERSION *"\(.*\)"/\1/p' \
  "$here/../../interp/luagil.h")
# -v prints stock lua's line alone (scripts parse it: Lua's main.lua
# checks "PUC-Rio\nhello"); --version names luagil first, then exits.
run gil "$LUAGIL" -- --version -e 'print("ran")'
check version_long_first_line test "$(sed -n 1p gil.out)" = "$version"
check version_long_lua_line \
  test "$(sed -n 2p gil.out)" = "$("$LUA" -v)"
check version_long_exits test "$(wc -l <gil.out):$(cat gil.rc)" = "2:0"

# ---- the end of the program: non-daemon threads are joined ----
cat >thread.lua <<'EOF'
local threading, time = require("threading"), require("time")
threading.Thread{target = function()
  time.sleep(tonumber(arg[1]))
  print("thread done")
end}:start()
print("main done")
if arg[2] then error(arg[2]) end
EOF
if "$LUAGIL" -e 'require("threading")' 2>/dev/null; then
  run gil "$LUAGIL" -- thread.lua 0.3
  check shutdown_joins_threads \
    test "$(tr '\n' ' ' <gil.out):$(cat gil.rc)" = "main done thread done :0"
  run gil "$LUAGIL" -- thread.lua 0.3 failing
  check shutdown_joins_after_error \
    test "$(tr '\n' ' ' <gil.out):$(cat gil.rc)" = "main done thread done :1"
  check shutdown_after_error_message grep -q "thread.lua:7: failing" gil.err
  # Ctrl-C while the program waits for its threads: report and exit at once
  "$LUAGIL" thread.lua 30 >gil.out 2>gil.err &
  pid=$!
  for i in $(seq 100); do
    grep -q "main done" gil.out && break
    sleep 0.1
  done
  sleep 0.2
  kill -INT $pid
  start=$SECONDS
  wait $pid
  rc=$?
  check shutdown_ctrl_c_exit_1 test $rc = 1
  check shutdown_ctrl_c_message grep -q "interrupted!" gil.err
  check shutdown_ctrl_c_no_second_wait test $((SECONDS - start)) -lt 10
  check shutdown_ctrl_c_thread_abandoned test "$(cat gil.out)" = "main done"
else
  echo "skip shutdown checks (no threading module)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
