-- tests/lua/misuse_io.lua -- issue 19: exit with threads blocked in io
-- reads (case 10) and Ctrl-C in the main thread's read.
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
  writefile(dir .. "/case.lua", code)
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


os.execute("rm -rf " .. dir)
print("OK")
