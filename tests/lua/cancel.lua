-- tests/lua/cancel.lua -- cooperative cancellation: t:cancel(),
-- threading.Cancelled, threading.shield, Timer's cancel, the main thread.
print("testing cancellation")

local threading = require "threading"
local queue = require "queue"
local time = require "time"
local testlib = require "testlib"

local Cancelled = threading.Cancelled
local checkerror = testlib.checkerror

-- Returns once Thread 't' is blocked (in a wait, a sleep, a C call
-- without the GIL), as the dumps see it; fails after 30 s.
local function blocked (t)
  local deadline = time.monotonic() + 30
  while true do
    local tb = threading.tracebacks()[t.ident]
    if tb ~= nil and tb.state == "blocked" then return tb end
    assert(time.monotonic() < deadline, tostring(t) .. " never blocked")
    time.sleep(0.001)
  end
end

-- t:value() must raise the Cancelled error whose message is 'msg'.
local function checkcancelled (t, msg)
  local ok, err = pcall(t.value, t)
  assert(not ok, "the thread was not cancelled")
  assert(Cancelled:is(err), tostring(err))
  assert(tostring(err) == "threading.Cancelled: " .. msg, tostring(err))
  assert(t.cancelled == true)
  assert(not t:is_alive())
  return err
end

-- Run wait() in a new thread, cancel it once it blocks: the wait must
-- end and raise Cancelled. The dumps must have said that it waited in
-- 'what' (a prefix), if given.
local function woken (wait, what)
  local t = testlib.go(wait)
  local tb = blocked(t)
  assert(t.cancelled == false)
  assert(t:cancel("stop") == true)
  checkcancelled(t, "stop")
  assert(what == nil or tb.waiting:find(what, 1, true) == 1, tb.waiting)
end


-- Every kind of wait is woken by a cancel, and raises Cancelled.
do
  local l = threading.Lock()
  l:acquire()
  woken(function () l:acquire() end, "Lock.acquire")
  woken(function () l:acquire(true, 60) end, "Lock.acquire")
  assert(l:locked())  -- still the main thread's
  l:release()
  assert(l:acquire(false))  -- and nobody else took it
  l:release()

  local rl = threading.RLock()
  local held, done = threading.Event(), threading.Event()
  local holder = testlib.go(function () rl:acquire(); held:set(); done:wait()
                                        rl:release() end)
  held:wait()
  woken(function () rl:acquire() end, "RLock.acquire")
  done:set()
  holder:join()

  local c = threading.Condition()
  woken(function () c:with(c.wait, c) end, "Condition.wait")
  assert(c:acquire(false))  -- the cancelled waiter let its lock go
  c:release()
  woken(function () c:with(c.wait_for, c, function () return false end)
  end)

  local s = threading.Semaphore(0)
  woken(function () s:acquire() end)
  woken(function () threading.BoundedSemaphore(1):acquire()
                    threading.BoundedSemaphore(0):acquire(true, 60) end)
  assert(s:acquire(false) == false)

  local e = threading.Event()
  woken(function () e:wait() end, "Event.wait")

  local b = threading.Barrier(2)
  woken(function () b:wait() end)
  assert(b.broken)  -- a wait that ends early breaks it, as a timeout does

  local q = queue.Queue(1)
  woken(function () q:get() end)
  q:put(1)
  woken(function () q:put(2) end)
  assert(q:get() == 1 and q:empty())
  woken(function () queue.SimpleQueue():get() end)

  local forever = threading.Event()
  local other = testlib.go(function () forever:wait() end)
  woken(function () other:join() end, "join")
  forever:set()
  other:join()

  woken(function () time.sleep(3600) end, "time.sleep")

  local futures = require "concurrent.futures"
  local f = futures.Future()
  woken(function () f:result() end)
end


-- Sockets, select, a read from a pipe: waits without a wait queue.
do
  local socket = require "socket"
  local srv = assert(socket.bind("127.0.0.1", 0))
  local _, port = srv:getsockname()
  woken(function () srv:accept() end)
  local c = assert(socket.connect("127.0.0.1", port))
  local s = assert(srv:accept())
  woken(function () s:receive() end)
  woken(function () socket.select({s}, nil) end)
  woken(function () socket.select({s}, nil, 3600) end)
  assert(c:send("hello\n") == 6)  -- the socket still works
  assert(s:receive() == "hello")
  c:close(); s:close(); srv:close()

  local r = assert(io.popen("echo $$; exec sleep 3600"))
  local pid = assert(r:read("l"))
  woken(function () r:read("a") end)
  assert(os.execute("kill " .. pid))
  assert(r:read("a") == "")  -- the pipe still works
  r:close()

  -- A write to a pipe whose reader never reads: it fills the pipe, then
  -- waits for room until the cancel.
  local w, stop = testlib.stuck_pipe()
  woken(function () w:write(string.rep("x", 1 << 20)) end)
  stop()
end


-- multiprocessing's Queue and Pipe, an interpreters queue (no process
-- is started: these wait in this one).
do
  local mp = require "multiprocessing"
  local q = mp.Queue()
  woken(function () q:get() end)
  local a, b = mp.Pipe()
  woken(function () b:recv() end)
  a:send("still works")
  assert(b:recv() == "still works")
  local interpreters = require "interpreters"
  local iq = interpreters.create_queue()
  woken(function () iq:get() end)
end


-- Level-triggered: once cancelled, every later checkpoint raises again,
-- so a pcall that swallows it gets it at the next one, until the
-- function ends; running Lua gets it within about a switch interval.
do
  local e = threading.Event()
  local seen = {}
  local t = testlib.go(function ()
    for i = 1, 3 do
      local ok, err = pcall(e.wait, e)
      seen[i] = not ok and Cancelled:is(err)
    end
    local ok, err = pcall(time.sleep, 0)  -- even a sleep that would not wait
    seen[4] = not ok and Cancelled:is(err)
    local n = 0
    ok, err = pcall(function () while true do n = n + 1 end end)
    seen[5] = not ok and Cancelled:is(err)
    ok, err = pcall(coroutine.wrap(function () while true do n = n + 1 end
                                   end))  -- raised in a coroutine
    seen[6] = not ok and Cancelled:is(err)
    ok, err = pcall(function () while true do n = n + 1 end end)
    seen[7] = not ok and Cancelled:is(err)  -- and again out of it
    local l = threading.Lock()
    assert(l:acquire())  -- a lock that is free is taken: no wait
    l:release()
    return "swallowed"
  end)
  blocked(t)
  t:cancel()
  assert(t:value() == "swallowed")  -- it ended by itself
  assert(t.cancelled)
  for i = 1, 7 do assert(seen[i] == true, i) end
end


-- Running Lua raises at its next switch point (the canceller needs the
-- GIL first: the spinning thread must be preempted).
if testlib.preempts then
  local running = threading.Event()
  local t = testlib.go(function ()
    running:set()
    local n = 0
    while true do n = n + 1 end
  end)
  running:wait()
  assert(t:cancel("spin no more"))
  checkcancelled(t, "spin no more")
end


-- A thread cancels itself: it raises at its next checkpoint.
do
  local t = testlib.go(function ()
    threading.current_thread():cancel("me")
    threading.Event():wait()
  end)
  checkcancelled(t, "me")
end


-- A cancel that comes before the function has begun: it raises at once.
do
  local ran = threading.Event()
  local t = threading.Thread{target = function () ran:set()
                                                  threading.Event():wait()
                                      end}
  t:start()
  assert(t:cancel())
  checkcancelled(t, "cancelled by MainThread")  -- the default message
end


-- shield: its checkpoints do not raise; the pending cancel raises when
-- it ends. Its results and errors pass through.
do
  local inside, go = threading.Event(), threading.Event()
  local log = {}
  local t = testlib.go(function ()
    local a, b = threading.shield(function (x, y)
      inside:set()
      go:wait()  -- not ended by the cancel
      time.sleep(0.001)
      log[#log + 1] = "cleanup done"
      return x, y
    end, 1, 2)
    log[#log + 1] = "after shield " .. a .. b  -- never: the shield raises
  end)
  inside:wait()
  blocked(t)
  assert(t:cancel("later"))
  go:set()
  checkcancelled(t, "later")
  assert(#log == 1 and log[1] == "cleanup done")

  assert(select("#", threading.shield(function () end)) == 0)
  local x, y, z = threading.shield(function (...) return ... end, 1, nil, 3)
  assert(x == 1 and y == nil and z == 3)
  checkerror("boom", threading.shield, function () error("boom") end)
  -- nested shields; a shield in a thread nobody cancels changes nothing
  assert(threading.shield(threading.shield, function () return 7 end) == 7)
end


-- to-be-closed variables close and guard()ed locks are released.
do
  local l, r = threading.Lock(), threading.RLock()
  local closed = false
  local t = testlib.go(function ()
    local _ <close> = l:guard()
    local _ <close> = r:guard()
    local _ <close> = setmetatable({}, {__close = function () closed = true
                                                  end})
    threading.Event():wait()
  end)
  blocked(t)
  assert(l:locked())
  t:cancel()
  checkcancelled(t, "cancelled by MainThread")
  assert(closed)
  assert(not l:locked())
  assert(r:acquire(false))
  r:release()
end


-- threading.excepthook is not called for Cancelled (it is for others).
do
  local old = threading.excepthook
  local hooked = {}
  threading.excepthook = function (args) hooked[#hooked + 1] = args end
  local t = testlib.go(function () threading.Event():wait() end)
  blocked(t)
  t:cancel()
  checkcancelled(t, "cancelled by MainThread")
  assert(#hooked == 0)
  local f = testlib.go(function () error("plain", 0) end)
  f:join()
  threading.excepthook = old
  assert(#hooked == 1 and hooked[1].exc_value == "plain")
end


-- A finished thread: cancel does nothing.
do
  local t = testlib.go(function () return 1, 2 end)
  t:join()
  assert(t:cancel() == false)
  assert(t.cancelled == false)
  local a, b = t:value()
  assert(a == 1 and b == 2)
end


-- Timer: cancel() before it fires stops it; after, it cancels the
-- function it runs.
do
  local fired = false
  local t = threading.Timer(3600, function () fired = true end)
  t:start()
  blocked(t)
  assert(t:cancel() == false)  -- stopped: there is no function to cancel
  t:join()
  assert(not fired and not t.cancelled)
  assert(t.finished:is_set())

  local never = threading.Timer(0, function () fired = true end)
  never:cancel()  -- before start: it never fires
  never:start()
  never:join()
  assert(not fired)

  local running = threading.Event()
  local t2 = threading.Timer(0, function ()
    running:set()
    threading.Event():wait()
  end)
  t2:start()
  running:wait()
  blocked(t2)
  assert(t2:cancel("timer stop") == true)
  checkcancelled(t2, "timer stop")
end


-- The main thread: as _thread.interrupt_main() with the Cancelled kind,
-- it raises once.
do
  local main = threading.main_thread()
  local helper = testlib.go(function ()
    blocked(main)
    assert(main:cancel("main stop"))
  end)
  local ok, err = pcall(function () threading.Event():wait() end)
  assert(not ok and Cancelled:is(err), tostring(err))
  assert(tostring(err) == "threading.Cancelled: main stop")
  helper:join()  -- a wait again: it does not raise
  time.sleep(0.001)
  assert(main.cancelled)

  if testlib.preempts then  -- in running Lua (the helper preempts it)
    local spinning = threading.Event()
    helper = testlib.go(function ()
      spinning:wait()
      assert(main:cancel("main spin"))
    end)
    ok, err = pcall(function ()
      spinning:set()
      while true do end
    end)
    assert(not ok and tostring(err) == "threading.Cancelled: main spin",
           tostring(err))
    helper:join()
  end
end


-- An uncaught Cancelled ends the main thread as any error does; a
-- cancel after the main chunk has ended does nothing.
do
  local status, out = testlib.run([[
    local threading = require "threading"
    threading.main_thread():cancel("bye")
    threading.Event():wait()
  ]])
  assert(status == 1, out)
  assert(out:find("threading.Cancelled: bye", 1, true), out)
  status, out = testlib.run([[
    local threading = require "threading"
    local main = threading.main_thread()
    local t = threading.Thread{target = function ()
      threading.Event():wait(0.01)  -- the main chunk ends meanwhile
      print("cancel after the end:", main:cancel())
    end}
    t:start()
  ]])
  assert(status == 0, out)
  assert(out:find("cancel after the end:\tfalse", 1, true), out)
end


-- Bad arguments.
do
  local t = threading.Thread{target = function () end}
  checkerror("cannot cancel thread before it is started", t.cancel, t)
  checkerror("bad argument #1 to 'cancel' (string expected, got number)",
             t.cancel, t, 42)
  checkerror("bad argument #1 to 'cancel' (threading.Thread expected",
             threading.Thread.cancel, 42)
  checkerror("bad argument #1 to 'shield' (callable expected, got no "
             .. "value)", function () threading.shield() end)
  checkerror("bad argument #1 to 'shield' (callable expected, got number)",
             function () threading.shield(42) end)
  checkerror("field 'cancelled' is read-only",
             function () t.cancelled = true end)
  t:start()
  t:join()
  checkerror("bad argument #1 to 'cancel' (string expected, got table)",
             threading.main_thread().cancel, threading.main_thread(), {})
end

print("OK")
