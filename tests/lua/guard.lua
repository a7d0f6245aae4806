-- tests/lua/guard.lua -- x:guard() on every object Python's `with` takes,
-- beside the locks' (tests/lua/lock.lua): executors shut down and wait,
-- interpreters and files close, also when the block raises. The pool
-- and the pipe of multiprocessing: tests/lua/multiprocessing.lua.
print("testing guard")

local threading = require "threading"
local futures = require "concurrent.futures"
local interpreters = require "interpreters"
local time = require "time"

local checkerror = require("testlib").checkerror

-- until(cond): returns once cond() is true (a check, not a delay).
local function until_true (cond)
  local deadline = time.monotonic() + 30
  while not cond() do
    assert(time.monotonic() < deadline, "condition never met")
    time.sleep(0.001)
  end
end

-- An executor's guard shuts it down and waits for the work it has: the
-- task can only finish once the executor is shut down, so a close that
-- did not wait would find it unfinished.
local function executor_case (Executor, name)
  local ex = Executor(2)
  local done = false
  local go = threading.Event()
  local helper = threading.Thread{target = function ()
    until_true(function () return tostring(ex):find("shut down") end)
    go:set()
  end}
  helper:start()
  do
    local g <close> = ex:guard()
    assert(g == ex, name .. ": guard() is the executor")
    if name == "ThreadPoolExecutor" then
      ex:submit(function () go:wait(); done = true end)
    else  -- the task runs in an interpreter: it waits on a shared queue
      local q = interpreters.create_queue()
      threading.Thread{target = function () go:wait(); q:put(true) end}
        :start()
      ex:submit(function (qq) return qq:get() end, q)
        :add_done_callback(function () done = true end)
    end
  end
  assert(done, name .. ": the guard's close did not wait")
  helper:join()
  checkerror("cannot schedule new futures after shutdown",
             ex.submit, ex, print)
  -- an error in the block still shuts the executor down
  local ex2 = Executor(1)
  local ok, err = pcall(function ()
    local _ <close> = ex2:guard()
    error("in the block")
  end)
  assert(not ok and err:find("in the block"))
  assert(tostring(ex2):find("shut down"), name .. ": not shut down")
  -- guard() on something else
  checkerror("bad argument #1 to 'guard'", Executor.guard, {})
  -- a guard of an executor already shut down is harmless
  do local _ <close> = ex:guard() end
end

-- ThreadPoolExecutor
do
  executor_case(futures.ThreadPoolExecutor, "ThreadPoolExecutor")
end

-- InterpreterPoolExecutor
do
  executor_case(futures.InterpreterPoolExecutor, "InterpreterPoolExecutor")
end

-- An interpreter's guard closes it, also when the block raises; the
-- current and the main interpreter are refused at once.
do
  local interp = interpreters.create()
  do
    local g <close> = interp:guard()
    assert(g == interp)
    assert(interp:call(function () return 6 * 7 end) == 42)
  end
  assert(tostring(interp):find("closed"))
  checkerror("is closed", interp.guard, interp)
  local other = interpreters.create()
  local ok = pcall(function ()
    local _ <close> = other:guard()
    error("in the block")
  end)
  assert(not ok and tostring(other):find("closed"))
  local main = interpreters.get_main()
  checkerror("cannot close the current interpreter", main.guard, main)
  checkerror("interpreters.Interpreter expected", interp.guard, {})
end

-- A file's guard closes it (Python's `with open(...) as f:`), also when
-- the block raises.
do
  local name = os.tmpname()
  local f = assert(io.open(name, "w"))
  do
    local g <close> = f:guard()
    assert(g == f)
    f:write("guarded\n")
  end
  assert(io.type(f) == "closed file")
  checkerror("attempt to use a closed file", f.guard, f)
  local r = assert(io.open(name))
  local ok = pcall(function ()
    local _ <close> = r:guard()
    assert(r:read("l") == "guarded")
    error("in the block")
  end)
  assert(not ok and io.type(r) == "closed file")
  -- a pipe of io.popen: closed too (its command waited for)
  local p = assert(io.popen("echo piped"))
  do
    local _ <close> = p:guard()
    assert(p:read("l") == "piped")
  end
  assert(io.type(p) == "closed file")
  -- the standard files stay open, as with file:close()
  do local _ <close> = io.stdout:guard() end
  assert(io.type(io.stdout) == "file")
  checkerror("FILE* expected", io.stdout.guard, {})
  os.remove(name)
end

print("OK")
