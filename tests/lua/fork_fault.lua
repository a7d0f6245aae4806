-- tests/lua/fork_fault.lua -- the fork and fault suite of issue 19: forks
-- while other threads run, hold locks and wait; Pool workers killed in the
-- middle of a task; children that crash; daemon threads blocked at exit.
-- FORK_FAULT_N scales the loops (default 200; scripts/stress uses 1000).
print("testing fork_fault")

local threading = require "threading"
local queue = require "queue"
local mp = require "multiprocessing"
local _thread = require "_thread"
local gil = require "gil"
local testlib = require "testlib"
local checkerror = testlib.checkerror

local N = tonumber(os.getenv("FORK_FAULT_N")) or 200
local LUAGIL = os.getenv("LUAGIL")
local JOIN = 60  -- seconds a child may take before it counts as hung


-- run(code [, opts]): 'code' in a child luagil (options 'opts'), 20 s at
-- most; returns its exit status and output.
local function run (code, opts)
  return testlib.run(code, {args = opts})
end


-- A child must end on its own, with 'code'.
local function joined (p, code, what)
  p:join(JOIN)
  if p.exitcode == nil then
    p:kill()
    p:join()
    error(what .. ": the child hung", 2)
  end
  assert(p.exitcode == code, what .. ": exit code " .. tostring(p.exitcode))
end


-- {======================================================
-- Case 11: forks while other threads wait, hold locks and run
-- =======================================================

do
  local saved = gil.getswitchinterval()
  gil.setswitchinterval(1e-5)  -- the threads below switch all the time
  local lock = threading.Lock()        -- the main thread holds it
  local cond = threading.Condition()
  local q = queue.Queue()
  local ev = threading.Event()
  local started = threading.Semaphore(0)
  local stop = false
  lock:acquire()
  local ts = {}
  local function add (f)
    ts[#ts + 1] = threading.Thread{target = f, daemon = true}
  end
  for _ = 1, 2 do  -- waiters, parked or yielded, at every fork
    add(function () started:release(); lock:acquire(); lock:release() end)
    add(function ()
      cond:acquire(); started:release(); cond:wait(); cond:release()
    end)
    add(function () started:release(); q:get() end)
    add(function () started:release(); ev:wait() end)
  end
  local shared = threading.Lock()      -- taken and given back all the time
  local pingq, pongq = queue.Queue(), queue.Queue()
  add(function ()
    started:release()
    while not stop do shared:acquire(); shared:release() end
  end)
  add(function ()
    started:release()
    while not stop do pingq:put(1); pongq:get() end
  end)
  add(function ()
    started:release()
    while not stop do pingq:get(); pongq:put(1) end
  end)
  add(function ()
    started:release()
    local x = 0
    while not stop do x = x + 1 end
  end)
  for _, t in ipairs(ts) do t:start() end
  for _ = 1, #ts do started:acquire() end

  for i = 1, N do
    local p = mp.Process{target = function ()
      -- Wake every waiter the parent had: none of them exists here.
      lock:release()
      cond:acquire(); cond:notify_all(); cond:release()
      for _ = 1, 4 do q:put(1) end
      ev:set()
      -- Then take the GIL and locks as any program does.
      local mine = threading.Lock()
      local t = threading.Thread{target = function ()
        lock:acquire(); lock:release()
        mine:acquire(); mine:release()
        q:put(2); q:get()
      end}
      t:start()
      t:join()
      local c = threading.Condition()
      c:acquire(); c:notify(); c:release()
      assert(#threading.enumerate() == 1)
    end}
    p:start()
    joined(p, 0, "fork " .. i)
  end
  stop = true
  gil.setswitchinterval(saved)
end

-- }======================================================


-- {======================================================
-- Case 16: a child joins the non-daemon threads its target started
-- =======================================================

do
  local q = mp.Queue()
  local p = mp.Process{target = function ()
    local go = threading.Event()
    threading.Thread{target = function ()
      go:wait()
      q:put("the thread ran to its end")
    end}:start()
    go:set()  -- and the target returns at once
  end}
  p:start()
  joined(p, 0, "non-daemon thread")
  assert(q:get(true, JOIN) == "the thread ran to its end")
end

-- }======================================================


-- {======================================================
-- Case 17: a child's interrupt_main() interrupts the child, not us
-- =======================================================

do
  local p = mp.Process{target = function ()
    _thread.interrupt_main()
    require("_multiprocessing")._exit(5)  -- before anything consumes it
  end}
  p:start()
  p:join(JOIN)  -- raised "interrupted!" here before the fix
  assert(p.exitcode ~= nil, "the child hung")
  -- and our own Ctrl-C still works
  checkerror("interrupted!", function ()
    _thread.interrupt_main()
    for _ = 1, 1e9 do end
  end)
end

-- }======================================================

-- {======================================================
-- Pool workers killed with SIGKILL in the middle of a task
-- =======================================================

do
  local _mp = require "_multiprocessing"
  -- A global made before the pool: the workers' copy of the globals has
  -- it (a task's upvalues travel by value, and a Queue cannot).
  FF_STARTED = mp.Queue()
  local started = FF_STARTED
  local pool <close> = mp.Pool(2)
  local function stuck ()
    FF_STARTED:put(require("_multiprocessing").getpid())
    require("time").sleep(600)  -- killed long before
  end
  for i = 1, math.max(N // 20, 2) do
    local r = pool:apply_async(stuck)
    local pid = started:get(true, JOIN)
    _mp.handle(pid):signal(_mp.SIGKILL)
    local ok, err = pcall(r.get, r, JOIN)
    assert(not ok and tostring(err):find("died while running a task "
           .. "(killed by signal 9)", 1, true), "kill " .. i .. ": "
           .. tostring(err))
    -- the pool replaced the worker and goes on
    local v = pool:map(function (x) return x * 2 end, {1, 2, 3, 4, 5})
    assert(#v == 5 and v[5] == 10)
  end
  -- a map whose chunk dies fails as a whole, and the pool recovers
  local r = pool:map_async(function (x)
    if x == 3 then
      local m = require "_multiprocessing"
      m.handle(m.getpid()):signal(m.SIGKILL)
    end
    return x
  end, {1, 2, 3, 4}, 1)
  checkerror("killed by signal 9", r.get, r, JOIN)
  assert(pool:apply(function () return "alive" end) == "alive")
  pool:close()
  pool:join()
end

-- }======================================================


-- {======================================================
-- Children that crash
-- =======================================================

do
  local _mp = require "_multiprocessing"
  local function dies_of (sig)
    return mp.Process{target = function ()
      _mp.handle(_mp.getpid()):signal(sig)
      require("time").sleep(600)
    end}
  end
  local SIGABRT, SIGSEGV = 6, 11
  for _ = 1, math.max(N // 50, 1) do
    local p = dies_of(SIGABRT)
    p:start()
    joined(p, -SIGABRT, "abort")
    p = dies_of(_mp.SIGKILL)
    p:start()
    joined(p, -_mp.SIGKILL, "kill")
    p = dies_of(SIGSEGV)
    p:start()
    p:join(JOIN)
    -- (a sanitizer's handler turns a SIGSEGV into an abort)
    assert(p.exitcode == -SIGSEGV or p.exitcode == -SIGABRT,
           "segv: " .. tostring(p.exitcode))
    p = mp.Process{target = function () error("boom") end}
    p:start()
    joined(p, 1, "error")
    p = mp.Process{target = function () os.exit(7) end}
    p:start()
    joined(p, 7, "os.exit")
  end
  -- and we are fine: threads, locks and forks still work
  local t = threading.Thread{target = function () return 42 end}
  t:start()
  t:join()
  assert(t:value() == 42)
  local p = mp.Process{target = function () end}
  p:start()
  joined(p, 0, "after the crashes")
end

-- }======================================================


-- {======================================================
-- Daemon threads blocked in every kind of wait at exit
-- =======================================================

local blocked = [[
local threading = require "threading"
local queue = require "queue"
local socket = require "socket"
local time = require "time"
local mp = require "multiprocessing"
local how = ...
local lock, rlock = threading.Lock(), threading.RLock()
lock:acquire(); rlock:acquire()
local cond, ev = threading.Condition(), threading.Event()
local sem, q = threading.Semaphore(0), queue.Queue()
local srv = assert(socket.bind("127.0.0.1", 0))
local mq, mlock = mp.Queue(), mp.Lock()
mlock:acquire()
local forever = threading.Thread{target = function () ev:wait() end,
                                 daemon = true}
local waits = {
  function () lock:acquire() end,
  function () rlock:acquire() end,
  function () cond:acquire(); cond:wait() end,
  function () ev:wait() end,
  function () sem:acquire() end,
  function () q:get() end,
  function () time.sleep(600) end,
  function () forever:join() end,
  function () srv:accept() end,
  function () mq:get() end,
  function () mlock:acquire() end,
}
local ready = threading.Semaphore(0)
forever:start()
for _, w in ipairs(waits) do
  threading.Thread{target = function () ready:release(); w() end,
                   daemon = true}:start()
end
for _ = 1, #waits do ready:acquire() end
if how == "exit" then os.exit(3) end
if how == "error" then error("the main chunk fails") end
print("main ends")
]]

if LUAGIL then
  local name = os.tmpname()
  local f = assert(io.open(name, "w"))
  f:write(blocked)
  f:close()
  -- One shell loop runs them all: a run that crashes or hangs (timeout's
  -- 124) prints its status.
  local runs = math.max(N // 3, 1)
  local cmd = ([[
for i in $(seq %d); do
  for how in end exit error; do
    out=$(timeout 20 %s %s $how 2>&1); s=$?
    case $how:$s in end:0|exit:3|error:1) ;; *) echo "FAIL $how $s: $out";;
    esac
  done
done
echo done]]):format(runs, LUAGIL, name)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  os.remove(name)
  assert(out == "done\n", out)
end

-- }======================================================

print("OK")
