print("testing concurrent.futures.InterpreterPoolExecutor")
local futures = require "concurrent.futures"
local interpreters = require "interpreters"
local threading = require "threading"
local socket = require "socket"
local testlib = require "testlib"
local checkerror = testlib.checkerror

local IPool = futures.InterpreterPoolExecutor
local nopen = #interpreters.list_all()

-- The id of the interpreter a task runs in.
local function where ()
  return require("interpreters").get_current().id
end

-- A gate that tasks in other interpreters wait at: a socket of this one.
-- gate.port for the tasks, gate:opened() once a task waits, gate:open()
-- lets it go.
local function newgate ()
  local server = assert(socket.bind("127.0.0.1", 0))
  local _, port = server:getsockname()
  local g = {port = port, conns = {}}
  function g:opened () self.conns[#self.conns + 1] = assert(server:accept()) end
  function g:open ()
    for _, c in ipairs(self.conns) do c:send("go\n"); c:close() end
    server:close()
  end
  return g
end

-- The task that waits at the gate on 'port' and returns 'v'.
local function waitgate (port, v)
  local c = assert(require("socket").connect("127.0.0.1", port))
  local line = c:receive()
  c:close()
  assert(line == "go")
  return v
end

-- a subclass of ThreadPoolExecutor: its methods take it
do
  assert(IPool.super == futures.ThreadPoolExecutor)
  assert(futures.BrokenThreadPool:is(futures.BrokenInterpreterPool()))
  assert(futures.BrokenExecutor:is(futures.BrokenInterpreterPool()))
  checkerror("max_workers must be greater than 0", IPool, 0)
  checkerror("bad argument #1 to 'InterpreterPoolExecutor' (initializer "
             .. "must be a callable)", IPool, {initializer = 1})
  checkerror("initargs: table expected", IPool,
             {initializer = print, initargs = 1})
  local ex <close> = IPool()
  assert(ex._max_workers == math.min(32, os.cpu_count() + 4))
  assert(tostring(ex):find("^<InterpreterPoolExecutor "
                           .. "InterpreterPoolExecutor%-%d+: 0/"), tostring(ex))
  checkerror("function expected", ex.submit, ex, 42)
  checkerror("concurrent.futures.ThreadPoolExecutor expected", ex.submit,
             {}, print)
end

-- results, several of them, nils among them; tasks run elsewhere
do
  local ex <close> = IPool(2)
  local f = ex:submit(function (a, b) return a + b end, 2, 3)
  assert(f:result() == 5 and f:done() and not f:running())
  local r = table.pack(ex:submit(function (...) return ... end,
                                 1, nil, "x", nil):result())
  assert(r.n == 4 and r[1] == 1 and r[2] == nil and r[3] == "x")
  local t = ex:submit(function (v) return {v, v.k} end, {k = {1, 2}}):result()
  assert(t[2][2] == 2 and t[1].k == t[2])  -- references come back
  local id = ex:submit(where):result()
  assert(id ~= interpreters.get_current().id and id ~= 1)
  assert(#interpreters.list_all() >= nopen + 1)
  -- tasks and upvalues are copied: the copy changes, the original not
  local count, tab = 10, {n = 1}
  assert(ex:submit(function ()
    count = count + 1
    tab.n = tab.n + 1
    return count + tab.n
  end):result() == 13)
  assert(count == 10 and tab.n == 1)
  -- what cannot be copied fails the task, not the pool
  local bad = ex:submit(function (v) return v end, io.stdout)
  checkerror("cannot be copied to another interpreter", bad.result, bad)
  local back = ex:submit(function () return io.stdout end)
  checkerror("bad value at result[1]", back.result, back)
  assert(ex:submit(function () return "still" end):result() == "still")
end

-- errors: the task's error reaches result() as ExecutionFailed
do
  local ex <close> = IPool(1)
  local f = ex:submit(function () error("boom") end)
  local ok, e = pcall(f.result, f)
  assert(not ok and interpreters.ExecutionFailed:is(e), tostring(e))
  assert(e.remote_message:find("boom", 1, true), e.remote_message)
  assert(e.traceback:find("stack traceback", 1, true))
  assert(interpreters.ExecutionFailed:is(f:exception()))
  assert(tostring(f):find("state=finished raised "
                          .. "interpreters.ExecutionFailed", 1, true),
         tostring(f))
  local g = ex:submit(function ()
    error(require("queue").Empty("nothing there"))
  end)
  ok, e = pcall(g.result, g)
  assert(not ok and e.remote_kind == "queue.Empty", tostring(e))
  assert(ex:submit(function () return 7 end):result() == 7)
end

-- map: results in input order, several lists, the first error raised
do
  local ex <close> = IPool(2)
  local out = {}
  for i, v in ex:map(function (a, b)
    require("time").sleep(0.002 * (5 - a))
    return a * b
  end, {1, 2, 3, 4}, {10, 20, 30}) do
    out[i] = v
  end
  assert(#out == 3 and out[1] == 10 and out[2] == 40 and out[3] == 90)
  local got = {}
  checkerror("bad 2", function ()
    for _, v in ex:map(function (x)
      if x == 2 then error("bad " .. x) end
      return x
    end, {1, 2, 3}) do
      got[#got + 1] = v
    end
  end)
  assert(#got == 1)
  local n = 0
  for i, v in ex:map(function (x) return x end, {n = 50}) do
    assert(v == nil)
    n = i
  end
  assert(n == 50)
end

-- max_workers: at most that many interpreters, each with its own
-- worker; sequential use reuses the one idle worker
do
  local ex <close> = IPool{max_workers = 2, thread_name_prefix = "ip"}
  local gate = newgate()
  local fs = {}
  for i = 1, 2 do fs[i] = ex:submit(waitgate, gate.port, i) end
  gate:opened(); gate:opened()  -- both wait: two workers
  for i = 3, 10 do fs[i] = ex:submit(where) end
  gate:open()
  local ids = {}
  for i = 3, 10 do ids[fs[i]:result()] = true end
  assert(fs[1]:result() == 1 and fs[2]:result() == 2)
  local nids = 0
  for _ in pairs(ids) do nids = nids + 1 end
  assert(nids <= 2 and #ex._core.threads == 2, #ex._core.threads)
  for _, t in ipairs(ex._core.threads) do
    assert(t.name == "ip_0" or t.name == "ip_1", t.name)
  end
  local ex2 <close> = IPool(4)
  for _ = 1, 5 do ex2:submit(where):result() end
  assert(#ex2._core.threads == 1, #ex2._core.threads)
end

-- a worker's interpreter keeps its globals from task to task (Python's
-- semantics), and each worker has its own
do
  local ex <close> = IPool(1)
  local id = ex:submit(function () counter = 1; return where() end):result()
  for i = 2, 5 do
    assert(ex:submit(function ()
      counter = counter + 1
      return counter, where()
    end):result() == i)
  end
  assert(ex:submit(where):result() == id)
  assert(counter == nil)  -- not here
  local other <close> = IPool(1)
  assert(other:submit(function () return counter end):result() == nil)
  assert(other:submit(where):result() ~= id)
end

-- initializer and initargs: once per worker, in its interpreter
do
  local ex <close> = IPool{max_workers = 1,
    initializer = function (a, b) setup = a .. b; calls = (calls or 0) + 1 end,
    initargs = {"x", "y"}}
  assert(ex:submit(function () return setup end):result() == "xy")
  assert(ex:submit(function () return calls end):result() == 1)
  assert(setup == nil)
  local n <close> = IPool{max_workers = 1,
    initializer = function (...) nargs = select("#", ...) end,
    initargs = {n = 3}}
  assert(n:submit(function () return nargs end):result() == 3)
end

-- a failing initializer breaks the pool: queued and later work fails with
-- BrokenInterpreterPool (a BrokenThreadPool, a BrokenExecutor); the
-- failure is logged (critical), and the interpreter closed
do
  local logged = {}
  local logging = require "luagil.logging"
  local log = logging.getLogger("concurrent.futures")
  local handler = logging.StreamHandler{
    write = function (_, line) logged[#logged + 1] = line; return true end,
    flush = function () return true end}
  log:addHandler(handler)
  log.propagate = false
  local broken = IPool{max_workers = 1,
    initializer = function () error("init fails") end}
  local f = broken:submit(function () return 1 end)
  local ok, err = pcall(f.result, f)
  assert(not ok and futures.BrokenInterpreterPool:is(err), tostring(err))
  assert(futures.BrokenThreadPool:is(err) and futures.BrokenExecutor:is(err))
  assert(tostring(err):find("An interpreter initializer failed", 1, true))
  local ok2, err2 = pcall(broken.submit, broken, print)
  assert(not ok2 and futures.BrokenInterpreterPool:is(err2), tostring(err2))
  broken:shutdown()
  assert(#logged == 1 and logged[1]:find("init fails", 1, true), logged[1])
  -- initargs that cannot be copied fail the initializer as well
  local b2 <close> = IPool{max_workers = 1, initializer = print,
                           initargs = {io.stdout}}
  local g = b2:submit(print)
  local ok3, err3 = pcall(g.result, g)
  assert(not ok3 and futures.BrokenInterpreterPool:is(err3), tostring(err3))
  assert(#logged == 2 and logged[2]:find("cannot be copied", 1, true))
  log:removeHandler(handler)
  log.propagate = true
end

-- shutdown: cancel_futures cancels what has not started; wait=false
-- returns at once; the workers close their interpreters
do
  local before = #interpreters.list_all()
  local ex = IPool(1)
  local gate = newgate()
  local first = ex:submit(waitgate, gate.port, "first")
  gate:opened()
  assert(first:running())
  local rest = {}
  for i = 1, 5 do rest[i] = ex:submit(where) end
  assert(#interpreters.list_all() == before + 1)
  ex:shutdown{wait = false, cancel_futures = true}
  for i = 1, 5 do assert(rest[i]:cancelled()) end
  checkerror("cannot schedule new futures after shutdown", ex.submit, ex,
             where)
  gate:open()
  assert(first:result() == "first")
  ex:shutdown()  -- again, and waits
  assert(#interpreters.list_all() == before, #interpreters.list_all())
  assert(tostring(ex):find("shut down", 1, true))
  -- <close> waits for pending work
  local fs = {}
  do
    local ex2 <close> = IPool(2)
    for i = 1, 6 do
      fs[i] = ex2:submit(function (x) require("time").sleep(0.01) return x end, i)
    end
  end
  for i = 1, 6 do assert(fs[i]:done() and fs[i]:result() == i) end
  assert(#interpreters.list_all() == before)
end

-- batches: a worker with a backlog takes its share of the queue (up to
-- max_batch) into one call there; each task still gets its own results
-- or its own error, and one whose arguments or results cannot be copied
-- fails alone. max_batch = 1 takes each task only when it runs.
do
  checkerror("max_batch must be at least 1", IPool, {max_batch = 0})
  checkerror("max_batch must be an integer", IPool, {max_batch = 1.5})
  local ex <close> = IPool{max_workers = 1, max_batch = 8}
  local gate = newgate()
  local first = ex:submit(waitgate, gate.port, "first")
  gate:opened()  -- the worker waits there: the rest queue up
  local fs = {}
  for i = 1, 12 do
    if i == 2 then  -- what called it: the batch's loop there
      fs[i] = ex:submit(function () return debug.traceback() end)
    elseif i == 3 then
      fs[i] = ex:submit(function () error("task 3 failed") end)
    elseif i == 7 then
      fs[i] = ex:submit(function () return io.stdout end)  -- nor back
    else
      fs[i] = ex:submit(function (x) return x, nil, x * 2 end, i)
    end
  end
  assert(fs[12]:cancel())  -- still queued: cancelled, never runs
  gate:open()
  assert(first:result() == "first")
  for i = 1, 11 do
    if i == 2 then
      assert(fs[i]:result():find("in function 'xpcall'", 1, true),
             fs[i]:result())
    elseif i == 3 then
      local err = fs[i]:exception()
      assert(interpreters.ExecutionFailed:is(err), tostring(err))
      assert(err.remote_message:find("task 3 failed", 1, true))
      assert(err.traceback:find("stack traceback", 1, true))
    elseif i == 7 then
      local err = fs[i]:exception()
      assert(interpreters.ExecutionFailed:is(err), tostring(err))
      assert(err.remote_message:find("bad value at result[1]", 1, true),
             err.remote_message)
    else
      local r = table.pack(fs[i]:result())
      assert(r.n == 3 and r[1] == i and r[2] == nil and r[3] == 2 * i)
    end
  end
  assert(fs[12]:cancelled())
  -- arguments that cannot be copied: that task fails alone
  local fs2 = {}
  local gate2 = newgate()
  local first2 = ex:submit(waitgate, gate2.port, "first")
  gate2:opened()
  for i = 1, 6 do
    fs2[i] = ex:submit(function (x) return x end, i == 3 and io.stdout or i)
  end
  gate2:open()
  assert(first2:result() == "first")
  for i = 1, 6 do
    if i == 3 then
      local err = fs2[i]:exception()
      assert(tostring(err):find("bad value at args[1]", 1, true),
             tostring(err))
    else
      assert(fs2[i]:result() == i)
    end
  end
end
do  -- max_batch = 1: the second queued task can still be cancelled
  local ex <close> = IPool{max_workers = 1, max_batch = 1}
  local gate = newgate()
  local first = ex:submit(waitgate, gate.port, 1)
  gate:opened()
  local second, third = ex:submit(where), ex:submit(where)
  gate:open()
  assert(first:result() == 1)
  assert(second:result() ~= interpreters.get_current().id)
  third:result()
  local ex2 <close> = IPool{max_workers = 1, max_batch = 1}
  local gate2 = newgate()
  local a = ex2:submit(waitgate, gate2.port, 1)
  gate2:opened()
  local b, c = ex2:submit(where), ex2:submit(where)
  assert(c:cancel() and not b:running())
  gate2:open()
  assert(a:result() == 1 and b:result() and c:cancelled())
end

-- wait and as_completed take its Futures
do
  local ex <close> = IPool(2)
  local gate = newgate()
  local slow = ex:submit(waitgate, gate.port, "slow")
  gate:opened()
  local quick = ex:submit(function () return "quick" end)
  local done, not_done = futures.wait({slow, quick},
                                      {return_when = futures.FIRST_COMPLETED})
  assert(#done == 1 and done[1] == quick and not_done[1] == slow)
  local bad = ex:submit(error, "x")  -- a C function cannot be copied
  done = futures.wait({slow, bad}, {return_when = futures.FIRST_EXCEPTION})
  assert(#done == 1 and done[1] == bad)
  gate:open()
  local n = 0
  for f in futures.as_completed({slow, quick, bad}) do n = n + 1 end
  assert(n == 3 and slow:result() == "slow")
end

-- CPU-bound tasks on two workers: each in its own interpreter (that they
-- run in parallel, scripts/bench/interp_pool.lua measures)
do
  local ex <close> = IPool(2)
  local fs = {}
  for i = 1, 2 do
    fs[i] = ex:submit(function (n)
      local x = 0
      for k = 1, n do x = x + k end
      return x, require("interpreters").get_current().id
    end, 2000000)
  end
  local x1, id1 = fs[1]:result()
  local x2, id2 = fs[2]:result()
  assert(x1 == 2000001000000 and x2 == x1)
  assert(id1 ~= id2 or #ex._core.threads == 1)
end

assert(#interpreters.list_all() == nopen, #interpreters.list_all())

-- exit waits for pending work, and closes the workers' interpreters
do
  local status, out = testlib.run([[
    local futures = require "concurrent.futures"
    local ex = futures.InterpreterPoolExecutor(2)
    for i = 1, 3 do
      ex:submit(function () require("time").sleep(0.05) end)
    end
    ex:submit(function ()
      require("time").sleep(0.1)
      print("last task")
    end)
    _G.ex = ex
  ]])
  assert(status == 0 and out == "last task\n", out)
end

print("OK")
