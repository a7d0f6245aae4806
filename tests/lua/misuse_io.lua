-- tests/lua/misuse_io.lua -- issue 19: exit with threads blocked in io
-- reads (case 10), Ctrl-C in the main thread's read, and require cycles
-- between threads (case 12).
print("testing misuse_io")

local testlib = require "testlib"
local checkerror = testlib.checkerror
local threading = require "threading"

local LUAGIL = assert(os.getenv("LUAGIL"), "LUAGIL not set")

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir " .. dir))
local fifo, fifo2 = dir .. "/fifo", dir .. "/fifo2"
assert(os.execute(("mkfifo %s %s"):format(fifo, fifo2)))


local function writefile (name, text)
  local f = assert(io.open(name, "w"))
  f:write(text)
  f:close()
end


local function readfile (name)
  local f = assert(io.open(name))
  local s = f:read("a")
  f:close()
  return s
end


-- What each child script starts with. waitblocked(tid) returns once the
-- OS thread 'tid' sits in read(2), poll(2) or ppoll(2): the child's main
-- chunk only ends once its daemon is really blocked, so a run that gets
-- through did not merely end before the daemon began to read.
writefile(dir .. "/prelude.lua", [[
threading = require "threading"
_thread = require "_thread"
local time = require "time"
function waitblocked (tid)
  while true do
    local f = io.open("/proc/self/task/" .. tid .. "/syscall")
    local n = f and f:read("n")
    if f then f:close() end
    if n == 0 or n == 7 or n == 271 then return end
    time.sleep(0)
  end
end
function daemon (f, nowait)
  local t = threading.Thread{target = f, daemon = true}
  t:start()
  if not nowait then waitblocked(t.native_id) end
  return t
end
]])


-- run(code, shell) runs 'code' (after the prelude) in a child luagil,
-- its command line completed by 'shell' (redirections, "-i", ...), under
-- 'timeout 20'; returns its exit status (124: timeout killed it) and what
-- it wrote.
local function run (code, shell)
  if code then writefile(dir .. "/case.lua", code) end
  local cmd = ('cd %s && timeout 20 "%s" -e "dofile\'prelude.lua\'" %s ' ..
               '> out 2>&1; echo $?'):format(dir, LUAGIL, shell)
  local p = assert(io.popen(cmd))
  local status = tonumber(p:read("a"))
  p:close()
  return status, readfile(dir .. "/out")
end


local function check (what, code, shell, want, wantstatus)
  local status, out = run(code, shell)
  assert(status == (wantstatus or 0),
         ("%s: status %s (124: hung), output:\n%s"):format(what, status, out))
  if want then
    assert(out:find(want, 1, true),
           ("%s: expected '%s' in:\n%s"):format(what, want, out))
  end
end


-- {======================================================
-- Case 10: daemon threads blocked in a read do not keep the process
-- =======================================================

-- stdin is a FIFO opened for reading and writing: it stays open and empty.
local STDIN = "case.lua 0<>fifo"
for _, read in ipairs{
    "io.read()", "io.read('l')", "io.read('L')", "io.read('n')",
    "io.read(100)", "io.read('a')", "io.read(0)", "io.stdin:read()",
    "io.read('l', 'l')", "for l in io.lines() do end",
    "for l in io.stdin:lines(5) do end"} do
  check(read, ("daemon(function () %s end) print('main done')"):format(read),
        STDIN, "main done")
end

-- Several daemons on one stdin (all but the first wait for its handle
-- lock), and one blocked in a FIFO it opened.
check("three readers", [[
  daemon(function () io.read() end)
  daemon(function () io.read() end, true)
  daemon(function () io.open("fifo2"):read("a") end)
  print("main done")]], "case.lua 0<>fifo 3<>fifo2", "main done")

-- A pipe from io.popen (its writer is killed after the run).
check("popen", [[
  daemon(function ()
    io.popen("echo $$ > sleeper.pid; exec sleep 30"):read("a")
  end)
  print("main done")]], "case.lua < /dev/null", "main done")
os.execute(("kill $(cat %s/sleeper.pid) 2> /dev/null"):format(dir))

-- A terminal (script(1) gives the child one), if there is script(1).
if os.execute("script -V > /dev/null 2>&1") then
  writefile(dir .. "/tty.lua", [[
    dofile "prelude.lua"
    daemon(function () io.read() end)
    print("main done")]])
  local cmd = ('cd %s && timeout 20 script -qec \'"%s" tty.lua\' ' ..
               '/dev/null 0<>fifo > out 2>&1; echo $?'):format(dir, LUAGIL)
  local p = assert(io.popen(cmd))
  local status = tonumber(p:read("a"))
  p:close()
  local out = readfile(dir .. "/out")
  assert(status == 0, ("terminal: status %s, output:\n%s"):format(status, out))
  assert(out:find("main done", 1, true), out)
end

-- The REPL ends (end of its input) while a daemon reads a FIFO.
check("repl", [[daemon(function () io.open("fifo2"):read() end)]],
      "-e \"dofile'case.lua'\" -i < /dev/null 3<>fifo2", "> ")

-- The REPL waits for a line and a daemon reads the same stdin; another
-- thread ends the process once the REPL is in its reader.
check("repl os.exit", [[
  daemon(function () io.read() end)
  threading.Thread{target = function ()
    waitblocked(threading.main_thread().native_id)
    os.exit(3)
  end}:start()]], "-e \"dofile'case.lua'\" -i 0<>fifo", nil, 3)

-- fork (a multiprocessing Process) flushes stdio first: that waited for
-- the reader too. Not under TSan, which does not follow a threaded fork.
local maps = readfile("/proc/self/maps")
if not maps:find("libtsan") then
  check("fork", [[
    daemon(function () io.read() end)
    local mp = require "multiprocessing"
    local p = mp.Process{target = function () print("child ran") end}
    p:start()
    p:join()
    print("main done", p.exitcode)]], STDIN, "child ran\nmain done\t0")
end

-- luagil loaded into stock lua5.4 as a module (luagil.so beside LUAGIL;
-- not in a sanitizer build, whose module stock lua cannot load).
local so = LUAGIL:match("^(.*/)[^/]*$")
if so and io.open(so .. "luagil.so") and not maps:find("lib[at]san") and
   os.execute("command -v lua5.4 > /dev/null") then
  writefile(dir .. "/module.lua", [[
    dofile "prelude.lua"
    daemon(function () io.read() end)
    print("main done")]])
  local cmd = ('cd %s && LUA_CPATH="%s?.so" timeout 20 lua5.4 -l luagil ' ..
               'module.lua 0<>fifo > out 2>&1; echo $?'):format(dir, so)
  local p = assert(io.popen(cmd))
  local status = tonumber(p:read("a"))
  p:close()
  local out = readfile(dir .. "/out")
  assert(status == 0 and out:find("main done", 1, true),
         ("module: status %s, output:\n%s"):format(status, out))
end

-- Ctrl-C (here _thread.interrupt_main) ends the main thread's read.
for _, read in ipairs{"io.read()", "io.read('n')", "io.read(10)",
                      "io.read('a')", "io.lines()()"} do
  check("interrupt " .. read, ([[
    threading.Thread{target = function ()
      waitblocked(threading.main_thread().native_id)
      _thread.interrupt_main()
    end}:start()
    local ok, err = pcall(function () return %s end)
    print(ok, err:match("interrupted!$"))
    print("main done")]]):format(read), STDIN, "false\tinterrupted!\nmain done")
end


-- Reads that wait between pieces of input still read what stock Lua
-- reads: each piece comes in its own write to the pipe.
local function pieces (...)
  local cmd = {}
  for i, s in ipairs{...} do
    cmd[#cmd + 1] = ("printf '%s'"):format(s)
    if i < select("#", ...) then cmd[#cmd + 1] = "sleep 0.05" end
  end
  return assert(io.popen(table.concat(cmd, "; ")))
end

do
  local p = pieces("12", " 3.5e", "2 0x1F\\n", "ab", "c\\nde", "f")
  local a, b, c = p:read("n", "n", "n")
  assert(a == 12 and b == 350 and c == 31)
  assert(p:read("L") == "\n")
  assert(p:read("l") == "abc")
  assert(p:read("a") == "def")
  assert(p:read("a") == "" and p:read("l") == nil and p:read(0) == nil)
  p:close()

  p = pieces("line 1\\nli", "ne 2", "\\n")
  local t = {}
  for l in p:lines() do t[#t + 1] = l end
  assert(#t == 2 and t[1] == "line 1" and t[2] == "line 2")
  p:close()

  p = assert(io.popen("head -c 100000 /dev/zero | tr '\\0' x"))
  local s = p:read(70000)
  assert(#s == 70000 and not s:find("[^x]"))
  s = p:read("a")
  assert(#s == 30000 and not s:find("[^x]"))
  p:close()

  p = pieces("ab", "cd", "ef")
  p:setvbuf("no")
  assert(p:read(3) == "abc" and p:read(1) == "d" and p:read(5) == "ef")
  assert(p:read(1) == nil)
  p:close()
end

-- }======================================================


-- {======================================================
-- Case 12: require cycles between threads raise instead of deadlocking
-- =======================================================

-- modules(spec) writes one module per name: it waits on the Barrier
-- 'barrier' the first time it runs (so every thread is inside its first
-- require before any asks for the next), then requires the modules listed.
local function modules (spec)
  for name, deps in pairs(spec) do
    local code = {("if not _G.seen_%s then"):format(name),
                  ("  _G.seen_%s = true; barrier:wait()"):format(name),
                  "end"}
    if deps.early then
      code[#code + 1] = ("package.loaded.%s = {name = '%s'}"):format(name,
                                                                    name)
    end
    for _, d in ipairs(deps) do
      code[#code + 1] = ("_G.got_%s = require '%s'"):format(name, d)
    end
    code[#code + 1] = ("return package.loaded.%s or {name = '%s'}"):format(
      name, name)
    writefile(("%s/%s.lua"):format(dir, name), table.concat(code, "\n"))
  end
end

-- In a child (the cycle hung before the fix): one thread per name in
-- 'names' requires it; prints each thread's pcall results.
local CYCLE = [[
  package.path = "./?.lua"
  local names = {...}
  barrier = threading.Barrier(#names)
  local res, ts = {}, {}
  for i, name in ipairs(names) do
    ts[i] = threading.Thread{name = "T" .. name, target = function ()
      local ok, m = pcall(require, name)
      res[name] = ok and "ok " .. m.name or m
    end}
    ts[i]:start()
  end
  for _, t in ipairs(ts) do t:join() end
  for _, name in ipairs(names) do print(name .. ": " .. res[name]) end
  print("main done")]]

local function cycle (...)
  writefile(dir .. "/cycle.lua", CYCLE)
  local args = table.concat({...}, " ")
  local status, out = run(nil, "cycle.lua " .. args .. " < /dev/null")
  assert(status == 0, ("cycle %s: status %s (124: hung), output:\n%s")
                      :format(args, status, out))
  assert(out:find("main done", 1, true), out)
  return out
end

do
  -- Two threads: a needs b, b needs a. The thread that closes the cycle
  -- raises; the other one then loads the module itself, finds its own
  -- module again, and raises the loop error.
  modules{a = {"b"}, b = {"a"}}
  local out = cycle("a", "b")
  local dl = "deadlock detected: module '(%a)' is being loaded by " ..
             "thread 'T(%a)', which waits for module '(%a)'"
  local m1, m2, m3 = out:match(dl)
  assert(m1 and m1 == m2 and m3 ~= m1, out)
  assert(out:find(m3 .. ": [^\n]*" .. dl), out)  -- the one that asked
  assert(out:find(m1 .. ": [^\n]*loop or previous error loading module '" ..
                  m1 .. "'"), out)

  -- Three threads round a cycle: the message of the thread that closes
  -- it follows the whole cycle (the others may fail later with shorter
  -- ones, or the loop error).
  modules{a = {"b"}, b = {"c"}, c = {"a"}}
  out = cycle("a", "b", "c")
  local most = 0
  for chain in out:gmatch("deadlock detected: ([^\n]*)") do
    local _, hops = chain:gsub("is being loaded by thread 'T%a', which " ..
                               "waits for module '%a'", "")
    most = math.max(most, hops)
  end
  assert(most == 2, out)

  -- Modules that store their table first (the way to write cyclic
  -- modules) get each other's partial table, as in Python.
  modules{a = {"b", early = true}, b = {"a", early = true}}
  out = cycle("a", "b")
  assert(out:find("a: ok a\nb: ok b\n", 1, true), out)
end

-- In this process: a module that requires itself (Lua 5.4 recursed until
-- "C stack overflow"), and a module whose load failed can be required
-- again (its lock was given back).
package.path = dir .. "/?.lua;" .. package.path
writefile(dir .. "/selfloop.lua", "return require 'selfloop'")
checkerror("loop or previous error loading module 'selfloop'",
           require, "selfloop")
checkerror("loop or previous error loading module 'selfloop'",
           require, "selfloop")
writefile(dir .. "/selfloop.lua", "return {fixed = true}")
assert(require("selfloop").fixed)

-- Two threads loading one module (no cycle) still share one table: the
-- second waits for the first, which waits on an Event the second sets
-- once it is queued on the module's lock.
do
  local ev, started = threading.Event(), threading.Event()
  _G.slow_ev, _G.slow_started, _G.slow_runs = ev, started, 0
  writefile(dir .. "/slow.lua", [[
    slow_runs = slow_runs + 1
    slow_started:set()
    slow_ev:wait()
    return {}]])
  local r1, r2
  local t1 = testlib.go(function () r1 = require "slow" end)
  started:wait()
  local t2 = testlib.go(function () r2 = require "slow" end)
  testlib.wait_blocked(t2)
  ev:set()
  t1:join()
  t2:join()
  assert(r1 == r2 and type(r1) == "table" and _G.slow_runs == 1)
end

-- }======================================================


-- {======================================================
-- read(n) with a huge or negative n reads what there is: it allocated
-- n bytes first, which failed ("not enough memory"; AddressSanitizer
-- aborted the process), found by the strict misuse fuzzer
-- =======================================================

do
  local name = dir .. "/small"
  writefile(name, ("x"):rep(40000) .. "end")
  for _, n in ipairs{math.maxinteger, math.mininteger, -1, 1 << 62} do
    local f = assert(io.open(name))
    local s = f:read(n)
    assert(s == ("x"):rep(40000) .. "end", n)
    assert(f:read(n) == nil)  -- at the end
    f:close()
  end
  local f = assert(io.open(name))
  assert(f:read(16385) == ("x"):rep(16385))  -- more than one step
  assert(#f:read(40000) == 40000 - 16385 + 3)
  f:close()
  -- from a pipe, which waits for each block
  local p = assert(io.popen("printf abc"))
  assert(p:read(math.maxinteger) == "abc")
  p:close()
end

-- }======================================================

os.execute("rm -rf " .. dir)
print("OK")
