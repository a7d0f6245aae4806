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
local checkerror = require("testlib").checkerror

local N = tonumber(os.getenv("FORK_FAULT_N")) or 200
local LUAGIL = os.getenv("LUAGIL")
local JOIN = 60  -- seconds a child may take before it counts as hung


-- Run 'code' in a child luagil (with 'opts' before the script); returns
-- its exit status (124: it hung, killed by timeout) and its output.
local function run (code, opts)
  local name = os.tmpname()
  local f = assert(io.open(name, "w"))
  f:write(code)
  f:close()
  local p = assert(io.popen(("timeout 20 %s %s %s 2>&1; echo \"status=$?\"")
                            :format(LUAGIL, opts or "", name)))
  local out = p:read("a")
  p:close()
  os.remove(name)
  local status = tonumber(out:match("status=(%d+)\n$"))
  return status, out:gsub("status=%d+\n$", "")
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
  local function add (f) ts[#ts + 1] = threading.Thread{target = f, daemon = true} end
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

print("OK")
