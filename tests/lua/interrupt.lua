-- tests/lua/interrupt.lua -- Ctrl-C (here _thread.interrupt_main) stops
-- the main thread blocked in a lock, semaphore, event, condition or
-- barrier wait with "interrupted!", which pcall catches.
print("testing Ctrl-C in synchronisation waits")

local threading = require "threading"
local _thread = require "_thread"
local testlib = require "testlib"

-- Run block() in the main thread; a helper interrupts it once the main
-- thread is about to block (the helper can only run once the main thread
-- lets the GIL go, which it does when it blocks). Returns the error.
local function interrupted (block)
  local about = threading.Event()
  local helper = threading.Thread{target = function ()
    about:wait()
    _thread.interrupt_main()
  end}
  helper:start()
  local ok, err = pcall(function ()
    about:set()
    block()
  end)
  helper:join()
  assert(not ok, "not interrupted")
  assert(tostring(err):find("interrupted!", 1, true), tostring(err))
  return err
end

-- Lock held by the main thread itself (would block for ever).
do
  local l = threading.Lock()
  l:acquire()
  interrupted(function () l:acquire() end)
  interrupted(function () l:acquire(true, 60) end)
  assert(l:locked())
  l:release()
end

-- RLock held by another thread.
do
  local r = threading.RLock()
  local held, done = threading.Event(), threading.Event()
  local t = threading.Thread{target = function ()
    r:acquire(); held:set(); done:wait(); r:release()
  end}
  t:start()
  held:wait()
  interrupted(function () r:acquire() end)
  done:set()
  t:join()
  assert(r:acquire(false))
  r:release()
end

-- Semaphore and BoundedSemaphore at zero.
do
  local s = threading.Semaphore(0)
  interrupted(function () s:acquire() end)
  local b = threading.BoundedSemaphore(1)
  b:acquire()
  interrupted(function () b:acquire(true, 60) end)
end

-- Event.
do
  local e = threading.Event()
  interrupted(function () e:wait() end)
  interrupted(function () e:wait(60) end)
  assert(not e:is_set())
end

-- Condition: the lock is held again when the error comes.
for _, lock in ipairs{threading.Lock(), threading.RLock()} do
  local c = threading.Condition(lock)
  c:acquire()
  interrupted(function () c:wait() end)
  assert(c:_is_owned())
  interrupted(function () c:wait_for(function () return false end, 60) end)
  assert(c:_is_owned())
  c:release()
end

-- Barrier: the interrupted wait breaks it.
do
  local b = threading.Barrier(2)
  interrupted(function () b:wait() end)
  assert(b.broken)
end

-- A real SIGINT, sent to the process by another program, does the same.
do
  local function sigint ()
    -- Not os.execute: system() ignores SIGINT in the whole process
    -- while its child runs, which would swallow the signal.
    assert(io.popen("kill -INT " .. os.getpid())):close()
  end
  local function interrupted_by_kill (block)
    local about = threading.Event()
    local helper = threading.Thread{target = function ()
      about:wait()
      sigint()
    end}
    helper:start()
    local ok, err = pcall(function () about:set(); block() end)
    helper:join()
    assert(not ok and tostring(err):find("interrupted!", 1, true), err)
  end
  local l = threading.Lock()
  l:acquire()
  interrupted_by_kill(function () l:acquire() end)
  local e = threading.Event()
  interrupted_by_kill(function () e:wait() end)
  local c = threading.Condition()
  c:acquire()
  interrupted_by_kill(function () c:wait() end)
  assert(c:_is_owned())
  c:release()
end

-- A write to a pipe whose reader never reads: it fills the pipe, then
-- waits for room until Ctrl-C.
do
  local w, stop = testlib.stuck_pipe()
  interrupted(function () w:write(string.rep("x", 1 << 20)) end)
  stop()
end

-- The program goes on normally afterwards.
do
  local l = threading.Lock()
  assert(l:acquire() and not l:acquire(false))
  l:release()
end

print("OK")
