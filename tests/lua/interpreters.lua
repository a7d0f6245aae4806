print("testing interpreters")
local interpreters = require "interpreters"
local threading = require "threading"
local testlib = require "testlib"
local checkerror = testlib.checkerror

-- the main interpreter
do
  local main = interpreters.get_main()
  assert(main == interpreters.get_current() and main.id == 1)
  assert(tostring(main) == "<interpreters.Interpreter 1>")
  assert(#interpreters.list_all() == 1)
  checkerror("cannot run in the current interpreter", main.exec, main, "x=1")
  checkerror("cannot close the current interpreter", main.close, main)
end

-- exec, call, prepare_main: each interpreter has its own globals
do
  local a <close> = interpreters.create()
  local b <close> = interpreters.create()
  assert(a.id ~= b.id and a ~= b and a ~= interpreters.get_main())
  assert(#interpreters.list_all() == 3)
  assert(interpreters.list_all()[2] == a and interpreters.list_all()[3] == b)
  a:exec("x = 'a'")
  b:exec(function () x = "b" end)
  x = "main"
  assert(a:call(function () return x end) == "a")
  assert(b:call(function () return x end) == "b")
  assert(x == "main")
  a:prepare_main{y = 41, t = {1, {2, 3}, k = "v"}}
  local y, n, k = a:call(function () return y + 1, t[2][2], t.k end)
  assert(y == 42 and n == 3 and k == "v")
  -- several results and arguments, nils among them
  local r = table.pack(a:call(function (...) return ... end, 1, nil, "x", nil))
  assert(r.n == 4 and r[1] == 1 and r[2] == nil and r[3] == "x")
  -- upvalues are copied: the copy changes, the original does not
  local count = 10
  assert(a:call(function () count = count + 1; return count end) == 11)
  assert(count == 10)
  -- the interpreter knows itself
  assert(a:call(function ()
    local me = require("interpreters").get_current()
    return me.id, require("interpreters").get_main().id
  end) == a.id)
  assert(not a:is_running())
  assert(a:call(function ()
    return require("interpreters").get_current():is_running()
  end))
end

-- errors there raise ExecutionFailed here
do
  local a <close> = interpreters.create()
  local ok, e = pcall(a.exec, a, "error('boom')")
  assert(not ok and interpreters.ExecutionFailed:is(e))
  assert(tostring(e):find("boom", 1, true), tostring(e))
  assert(e.remote_message:find("boom", 1, true))
  assert(e.traceback:find("stack traceback", 1, true))
  ok, e = pcall(a.call, a, function ()
    local queue = require "queue"
    error(queue.Empty("nothing there"))
  end)
  assert(not ok and interpreters.ExecutionFailed:is(e))
  assert(e.remote_kind == "queue.Empty", e.remote_kind)
  assert(tostring(e) == "interpreters.ExecutionFailed: queue.Empty: "
                        .. "nothing there", tostring(e))
  ok, e = pcall(a.exec, a, "this is not Lua")
  assert(not ok and interpreters.ExecutionFailed:is(e))
  -- it goes on working after an error
  assert(a:call(function () return 7 end) == 7)
  -- bad arguments are errors here
  checkerror("string or function expected", a.exec, a, 42)
  checkerror("function expected", a.call, a, "f")
  checkerror("table expected", a.prepare_main, a, 1)
  checkerror("names must be strings", a.prepare_main, a, {[1] = 2})
  checkerror("interpreters.Interpreter expected", a.exec, {}, "x = 1")
  checkerror("bad value at args[1].x[1]: userdata (FILE*) cannot be "
             .. "copied to another interpreter", a.call, a,
             function (v) return v end, {x = {io.stdout}})
  checkerror("bad value at result[1]: userdata", a.call, a,
             function () return io.stdout end)
  -- shared references and cycles come back as they went
  local t = {}
  t.self, t.again = t, {t}
  assert(a:call(function (v) return v.self == v and v.again[1] == v end, t))
  checkerror("bad option 'policy'", interpreters.create, {policy = {}})
  checkerror("bad GIL policy 'nonsense'", interpreters.create,
             {policy = "nonsense"})
end

-- options
do
  local a <close> = interpreters.create{switch_interval = 0.001,
                                        policy = "ticks:50"}
  local interval, policy, n = a:call(function ()
    local gil = require "gil"
    return gil.getswitchinterval(), gil.getpolicy()
  end)
  assert(math.abs(interval - 0.001) < 1e-9, interval)
  assert(policy == "ticks" and n == 50, tostring(policy))
  local b <close> = interpreters.create{modules = "threading"}
  assert(b:call(function ()
    return pcall(require, "concurrent.futures")
  end) == false)
end

-- threads inside an interpreter, and its own GIL statistics
do
  local a <close> = interpreters.create()
  local n = a:call(function ()
    local threading = require "threading"
    local n = 0
    local ts = {}
    for i = 1, 4 do
      ts[i] = threading.Thread{target = function ()
        for _ = 1, 1000 do n = n + 1 end end}
      ts[i]:start()
    end
    for i = 1, 4 do ts[i]:join() end
    return n, #require("gil").stats().threads
  end)
  assert(n == 4000)
end

-- call_in_thread: a Thread of this interpreter; value() gives the results
do
  local a <close> = interpreters.create()
  local t = a:call_in_thread(function (x, y) return x * y, "ok" end, 6, 7)
  assert(getmetatable(t) == getmetatable(threading.current_thread()) or
         t.join ~= nil)
  local v, s = t:value()
  assert(v == 42 and s == "ok")
  local bad = a:call_in_thread(function () error("in thread") end)
  local ok, e = pcall(bad.value, bad)
  assert(not ok and interpreters.ExecutionFailed:is(e), tostring(e))
end

-- two interpreters' Lua at once, from two threads (one run each at a time)
do
  local a <close> = interpreters.create()
  local b <close> = interpreters.create()
  local function work (n) local x = 0 for i = 1, n do x = x + i end return x end
  local ta = a:call_in_thread(work, 200000)
  local tb = b:call_in_thread(work, 200000)
  assert(ta:value() == 20000100000 and tb:value() == 20000100000)
end

-- one run at a time: a second caller is told the interpreter runs. The
-- run waits, there, on a socket that this interpreter answers.
do
  local socket = require "socket"
  local server = assert(socket.bind("127.0.0.1", 0))
  local _, port = server:getsockname()
  local a <close> = interpreters.create()
  local t = testlib.go(function ()
    return a:call(function (p)
      local c = assert(require("socket").connect("127.0.0.1", p))
      local line = c:receive()
      c:close()
      return line
    end, port)
  end)
  local conn = assert(server:accept())  -- the run is under way
  assert(a:is_running())
  checkerror("interpreter already running", a.exec, a, "x = 1")
  checkerror("interpreter " .. a.id .. " is running", a.close, a)
  conn:send("go\n")
  assert(t:value() == "go")
  conn:close()
  server:close()
  assert(not a:is_running())
end

-- close: joins the interpreter's non-daemon threads first; then it is
-- closed for good, and a closed one's methods say so
do
  local a = interpreters.create()
  a:exec[[
    local threading = require "threading"
    threading.Thread{target = function ()
      local x = 0 for i = 1, 100000 do x = x + i end
      _G.done = x end}:start()
  ]]
  a:close()
  assert(tostring(a):find("(closed)", 1, true))
  checkerror("is closed", a.exec, a, "x = 1")
  checkerror("is closed", a.call, a, print)
  assert(not a:is_running())
  a:close()  -- again: nothing
  for _, i in ipairs(interpreters.list_all()) do assert(i ~= a) end
end

-- an interpreter made inside another one; closing the outer closes it
do
  local a = interpreters.create()
  local inner_id = a:call(function ()
    local interpreters = require "interpreters"
    _G.inner = interpreters.create()
    _G.inner:exec("z = 5")
    return _G.inner.id, _G.inner:call(function () return z end)
  end)
  assert(type(inner_id) == "number")
  local ids = {}
  for _, i in ipairs(interpreters.list_all()) do ids[i.id] = true end
  assert(ids[a.id] and ids[inner_id])
  a:close()
  for _, i in ipairs(interpreters.list_all()) do
    assert(i.id ~= inner_id and i.id ~= a.id)
  end
end

-- exit with interpreters still open closes them, newest first, and waits
-- for their non-daemon threads
do
  local status, out = testlib.run([[
    local interpreters = require "interpreters"
    local a = interpreters.create()
    local b = interpreters.create()
    a:exec("print('a open')")
    b:exec[=[
      local threading = require "threading"
      threading.Thread{target = function ()
        require("time").sleep(0.05); print("b's thread done") end}:start()
    ]=]
    print("main done")
  ]])
  assert(status == 0, out)
  assert(out:find("main done", 1, true) and out:find("b's thread done", 1,
         true), out)
end

-- multiprocessing's Value, Array, Lock and RLock passed to another
-- interpreter are the same objects there, as a Queue is
do
  local mp = require "multiprocessing"
  local a <close> = interpreters.create()
  local v, arr, lk = mp.Value("i", 0), mp.Array("d", {1.5, 2.5}), mp.Lock()
  -- an argument: the change there is seen here
  a:call(function (v, arr) v.value = 41; arr[2] = 7 end, v, arr)
  assert(v.value == 41 and arr[2] == 7)
  -- a global there (prepare_main), then an upvalue
  a:prepare_main{gv = v}
  a:exec("gv.value = gv.value + 1")
  assert(v.value == 42)
  assert(a:call(function () return v.value end) == 42)
  -- what comes back is the userdata that left; there, one userdata each
  local back, again = a:call(function (x) return x, x end, v)
  assert(rawequal(back, v) and rawequal(again, v))
  assert(a:call(function (x) return rawequal(gv, x) end, v))
  -- a lock held here is held there (its acquire(false) fails), and a
  -- Value's lock is the same RLock there
  lk:acquire()
  assert(a:call(function (l) return l:acquire(false) end, lk) == false)
  lk:release()
  assert(a:call(function (l)
    local ok = l:acquire(false); l:release(); return ok end, lk) == true)
  local vl = v:get_lock()  -- recursive: another OS thread must try it
  vl:acquire()
  local t = a:call_in_thread(function (l) return l:acquire(false) end, vl)
  assert(t:value() == false)
  vl:release()
  -- an item of a queue of interpreters
  local q = interpreters.create_queue()
  q:put(arr)
  a:call(function (q) local x = q:get(); x[1] = x[1] * 2 end, q)
  assert(arr[1] == 3.0)
  -- the objects outlive the interpreter's userdata: the last one unmaps
  a:exec("gv = nil; collectgarbage()")
  collectgarbage()
  v.value = 1
  assert(v.value == 1)
  -- a destroyed object is refused, with the value's path
  local dead = mp.Value("i", 0)
  getmetatable(dead).__gc(dead)
  checkerror("bad value at args[1]", a.call, a, print, dead)
end

-- two interpreters' threads add to one shared Value under its lock, in
-- parallel: no update is lost
do
  local mp = require "multiprocessing"
  local v = mp.Value("q", 0)
  local function add (v, n)
    local lk = v:get_lock()
    for _ = 1, n do
      lk:acquire(); v.value = v.value + 1; lk:release()
    end
  end
  local a <close> = interpreters.create()
  local b <close> = interpreters.create()
  local ta, tb = a:call_in_thread(add, v, 20000), b:call_in_thread(add, v, 20000)
  ta:join(); tb:join()
  assert(v.value == 40000, v.value)
end

-- a closed interpreter leaves no thread behind: its idle workers and its
-- task monitor go (a host that makes an interpreter per test would run
-- out of threads otherwise)
do
  local time = require "time"
  local function nthreads ()
    local f = assert(io.open("/proc/self/status"))
    local n = tonumber(f:read("a"):match("Threads:%s*(%d+)"))
    f:close()
    return n
  end
  local before = nthreads()
  for _ = 1, 20 do
    local a = interpreters.create()
    a:exec([[
      local threading = require "threading"
      local t = threading.Thread{target = function () end}
      t:start(); t:join()
      local fired = threading.Event()
      threading.Timer(0, function () fired:set() end):start()
      fired:wait()
    ]])
    a:close()
  end
  -- they leave on their own: wait for it, for at most 30 s
  local deadline = time.monotonic() + 30
  while nthreads() > before and time.monotonic() < deadline do
    time.sleep(0.01)
  end
  assert(nthreads() <= before, nthreads() .. " threads, " .. before ..
         " before")
end

-- Ctrl-C while the main thread runs code in another interpreter stops
-- that code and is the caller's interrupt, not an ExecutionFailed (the
-- code there spins in pure Lua: only where that is preempted)
if testlib.preempts then
  local _thread = require "_thread"
  local a <close> = interpreters.create()
  local q = interpreters.create_queue()
  local helper = threading.Thread{target = function ()
    q:get()  -- the loop there has begun
    _thread.interrupt_main()
  end}
  helper:start()
  local ok, err = pcall(a.call, a, function (q)
    q:put(true)
    while true do end
  end, q)
  helper:join()
  assert(not ok and type(err) == "string" and err:find("interrupted!", 1,
         true), tostring(err))
  assert(not interpreters.ExecutionFailed:is(err))
  assert(a:call(function () return "still works" end) == "still works")
end

-- --gil-stats prints a table per interpreter; the trace names each
-- interpreter's lanes, so one timeline shows two GILs
do
  local trace = os.tmpname() .. ".json"
  local status, out = testlib.run(([[
    local interpreters = require "interpreters"
    local gil = require "gil"
    gil.trace_start(%q)
    local a = interpreters.create()
    a:exec("local x = 0 for i = 1, 1000 do x = x + i end")
    a:close()
    gil.trace_stop()
  ]]):format(trace), {args = "--gil-stats"})
  assert(status == 0, out)
  assert(out:find("interpreter 2\nthread", 1, true), out)
  assert(out:find("interpreter 1\nthread", 1, true), out)
  local f = assert(io.open(trace))
  local json = f:read("a")
  f:close()
  os.remove(trace)
  assert(json:find('"[2] MainThread"', 1, true), json)
end

print("OK")
