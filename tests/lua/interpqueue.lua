-- tests/lua/interpqueue.lua -- interpreters.create_queue(): a Queue that
-- every interpreter uses (stdlib/interpqueue.c), with queue.Queue's
-- methods and error kinds. Order comes from joins, events and queues;
-- wait_blocked says a thread waits before another wakes it.
print("testing interpreters.create_queue")
local interpreters = require "interpreters"
local queue = require "queue"
local threading = require "threading"
local time = require "time"
local _thread = require "_thread"
local testlib = require "testlib"
local checkerror, wait_blocked = testlib.checkerror, testlib.wait_blocked

local function errof (f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "no error")
  return err
end

-- one interpreter: FIFO order, sizes, fields, tostring
do
  local q = interpreters.create_queue()
  assert(q.maxsize == 0 and q:empty() and not q:full() and q:qsize() == 0)
  for i = 1, 100 do q:put(i) end  -- grows the ring
  for i = 1, 50 do assert(q:get() == i) end
  for i = 101, 180 do q:put(i) end  -- wraps, grows again
  for i = 51, 180 do assert(q:get() == i) end
  assert(q:empty() and not q.is_shutdown and q.unfinished_tasks == 180)
  local b = interpreters.create_queue(2)
  assert(b.maxsize == 2)
  b:put("a"); b:put_nowait("b")
  assert(b:full() and b:qsize() == 2)
  assert(tostring(b):find("^<interpreters.Queue at 0x%x+: 2/2 items>$"),
         tostring(b))
  assert(b:get() == "a" and b:get_nowait() == "b")
  assert(tostring(q):find(": 0 items>$"))
  assert(q ~= b and q == q)
end

-- Empty, Full, ShutDown: queue's error kinds, queue's messages
do
  local q = interpreters.create_queue(1)
  local e = errof(q.get, q, false)
  assert(queue.Empty:is(e) and not queue.Full:is(e))
  assert(tostring(e) == "queue.Empty: queue is empty")
  assert(queue.Empty:is(errof(q.get_nowait, q)))
  assert(queue.Empty:is(errof(q.get, q, true, 0)))
  q:put("x")
  e = errof(q.put, q, "y", false)
  assert(queue.Full:is(e) and tostring(e) == "queue.Full: queue is full")
  assert(queue.Full:is(errof(q.put_nowait, q, "y")))
  assert(queue.Full:is(errof(q.put, q, "y", true, 0)))
  q:shutdown()
  assert(q.is_shutdown)
  e = errof(q.put, q, "z")
  assert(queue.ShutDown:is(e) and tostring(e) ==
         "queue.ShutDown: queue is shut down")
  assert(q:get() == "x")  -- get drains first
  assert(queue.ShutDown:is(errof(q.get, q)))
  assert(queue.ShutDown:is(errof(q.get_nowait, q)))
  -- shutdown(true) discards the items, which count as done
  local r = interpreters.create_queue()
  r:put(1); r:put({2}); r:put(3)
  assert(r.unfinished_tasks == 3)
  r:shutdown(true)
  assert(r:qsize() == 0 and r.unfinished_tasks == 0)
  r:join()  -- nothing left to wait for
  assert(queue.ShutDown:is(errof(r.get, r)))
end

-- timeouts: at least as long as asked (lower bounds only)
do
  local q = interpreters.create_queue(1)
  local t0 = time.monotonic()
  assert(queue.Empty:is(errof(q.get, q, true, 0.05)))
  assert(time.monotonic() - t0 >= 0.05)
  q:put(1)
  t0 = time.monotonic()
  assert(queue.Full:is(errof(q.put, q, 2, true, 0.05)))
  assert(time.monotonic() - t0 >= 0.05)
  assert(q:get(true, 10) == 1)  -- no wait when there is an item
end

-- put in one interpreter, get in another, both directions
do
  local a <close> = interpreters.create()
  local q = interpreters.create_queue()
  q:put("from main")
  q:put({x = 1, y = {2, 3}})
  local s, n = a:call(function (q)
    local s, t = q:get(), q:get()
    q:put("from a")
    q:put(function (x) return x * 2 end)
    return s, t.x + t.y[2]
  end, q)
  assert(s == "from main" and n == 4)
  assert(q:get() == "from a" and q:get()(21) == 42)
  assert(q:empty())
end

-- items are copies: a table with cycles comes back so, and neither side
-- sees the other's changes
do
  local a <close> = interpreters.create()
  local q = interpreters.create_queue()
  local t = {name = "t"}
  t.self, t.list = t, {t, t}
  q:put(t)
  assert(a:call(function (q)
    local v = q:get()
    v.name = "changed"
    local ok = v.self == v and v.list[1] == v and v.list[2] == v
    q:put(v)
    return ok
  end, q))
  local v = q:get()
  assert(t.name == "t" and v.name == "changed" and v ~= t)
  assert(v.self == v and v.list[1] == v)
  -- what cannot be copied is named, and the queue is left as it was
  checkerror("bad value at item.f: userdata (FILE*) cannot be copied to "
             .. "another interpreter", q.put, q, {f = io.stdout})
  checkerror("bad value at item: thread", q.put, q, coroutine.create(print))
  assert(q:empty() and q.unfinished_tasks == 2)
end

-- a blocked get is woken by a put from another interpreter's thread
do
  local b <close> = interpreters.create()
  local q = interpreters.create_queue()
  local getter = testlib.go(function () return q:get() end)
  wait_blocked(getter)
  b:call(function (q)
    local t = require("threading").Thread{target = function ()
      q:put("woken")
    end}
    t:start()
    t:join()
  end, q)
  assert(getter:value() == "woken")
end

-- ... and the other way: a thread of another interpreter waits in get
-- and put, a put and a get here wake it
do
  local b <close> = interpreters.create()
  local q = interpreters.create_queue(1)
  b:prepare_main{q = q}
  b:exec(function ()
    local testlib = require "testlib"
    _G.getter = testlib.go(function () return q:get() end)
    testlib.wait_blocked(_G.getter)
  end)
  q:put("to b")
  assert(b:call(function () return _G.getter:value() end) == "to b")
  q:put("fills it")
  b:exec(function ()
    local testlib = require "testlib"
    _G.putter = testlib.go(function () q:put("from b") end)
    testlib.wait_blocked(_G.putter)
  end)
  assert(q:get() == "fills it")
  b:exec(function () _G.putter:join() end)
  assert(q:get() == "from b")
end

-- shutdown wakes the waiters, wherever they are
do
  local b <close> = interpreters.create()
  local q = interpreters.create_queue(1)
  local empty = interpreters.create_queue()
  b:prepare_main{q = q, empty = empty}
  q:put("full")
  b:exec(function ()
    local testlib = require "testlib"
    local queue = require "queue"
    local function shut (f)
      local ok, e = pcall(f)
      return not ok and queue.ShutDown:is(e)
    end
    _G.putter = testlib.go(shut, function () q:put("more") end)
    _G.getter = testlib.go(shut, function () return empty:get() end)
    testlib.wait_blocked(_G.putter)
    testlib.wait_blocked(_G.getter)
  end)
  q:shutdown()
  empty:shutdown()
  assert(b:call(function ()
    return _G.putter:value() and _G.getter:value()
  end))
  -- a joiner there is woken by shutdown(true) here
  local j = interpreters.create_queue()
  j:put(1); j:put(2)
  b:prepare_main{j = j}
  b:exec(function ()
    local testlib = require "testlib"
    _G.joiner = testlib.go(function () j:join(); return "joined" end)
    testlib.wait_blocked(_G.joiner)
  end)
  j:shutdown(true)
  assert(b:call(function () return _G.joiner:value() end) == "joined")
end

-- task_done and join across interpreters
do
  local b <close> = interpreters.create()
  local q = interpreters.create_queue()
  for i = 1, 10 do q:put(i) end
  local worker = b:call_in_thread(function (q)
    local s = 0
    for _ = 1, 10 do s = s + q:get(); q:task_done() end
    return s
  end, q)
  q:join()
  assert(q.unfinished_tasks == 0 and worker:value() == 55)
  checkerror("task_done() called too many times", q.task_done, q)
end

-- the same queue wherever it goes: as an argument, a result, an upvalue,
-- a prepare_main global and an item of a queue
do
  local a <close> = interpreters.create()
  local q = interpreters.create_queue()
  local outer = interpreters.create_queue()
  assert(rawequal(a:call(function (x) return x end, q), q))
  assert(rawequal(a:call(function () return q end), q))  -- an upvalue
  a:prepare_main{mine = q}
  a:exec("mine:put('via prepare_main')")
  assert(q:get() == "via prepare_main")
  outer:put(q)
  assert(rawequal(outer:get(), q))
  outer:put(q)
  a:call(function (outer)
    local inner = outer:get()
    inner:put("via a queue")
    outer:put(inner)
  end, outer)
  assert(q:get() == "via a queue" and rawequal(outer:get(), q))
  -- a:call's result and prepare_main's global are one userdata there
  assert(a:call(function (x) return rawequal(x, mine) end, q))
  -- the queue lives while any interpreter holds it
  local c = interpreters.create()
  local d = interpreters.create_queue()
  c:prepare_main{d = d}
  getmetatable(d).__gc(d)  -- this interpreter's reference goes
  checkerror("attempt to use a destroyed Queue", d.get, d)
  assert(tostring(d):find("^<destroyed interpreters.Queue"))
  c:exec("d:put('still there'); assert(d:get() == 'still there')")
  checkerror("userdata (interpreters.Queue) cannot be copied",
             a.call, a, print, d)
  c:close()
end

-- many threads in several interpreters putting and getting, through a
-- small queue so that both sides wait: the totals are exact
do
  local NI, NT, K = 3, 3, 2000
  local q = interpreters.create_queue(8)
  local results = interpreters.create_queue()
  local interps = {}
  for i = 1, NI do
    interps[i] = interpreters.create()
    interps[i]:prepare_main{q = q, results = results, K = K, NT = NT}
  end
  local callers = {}
  for i = 1, NI do  -- each interpreter starts NT producers and consumers
    callers[i] = interps[i]:call_in_thread(function (base)
      local threading = require "threading"
      local ts = {}
      for t = 1, NT do
        ts[#ts + 1] = threading.Thread{target = function ()
          for k = 1, K do q:put({base + t, k}) end
        end}
        ts[#ts + 1] = threading.Thread{target = function ()
          local n, s = 0, 0
          for _ = 1, K do
            local v = q:get()
            n, s = n + 1, s + v[2]
            q:task_done()
          end
          results:put({n, s})
        end}
      end
      for _, t in ipairs(ts) do t:start() end
      for _, t in ipairs(ts) do t:join() end
    end, i * 100)
  end
  -- and this interpreter's main thread takes part
  for k = 1, K do q:put({0, k}) end
  local n, s = 0, 0
  for _ = 1, K do
    n, s = n + 1, s + q:get()[2]
    q:task_done()
  end
  for i = 1, NI do callers[i]:join() end
  q:join()
  for _ = 1, NI * NT do
    local r = results:get()
    n, s = n + r[1], s + r[2]
  end
  local producers = NI * NT + 1
  assert(n == producers * K, n)
  assert(s == producers * K * (K + 1) // 2, s)
  assert(q:empty() and results:empty() and q.unfinished_tasks == 0)
  for i = 1, NI do interps[i]:close() end
end

-- Ctrl-C stops the main thread in get, put and join
do
  local function interrupted (block)
    local about = threading.Event()
    local helper = threading.Thread{target = function ()
      about:wait()
      _thread.interrupt_main()
    end}
    helper:start()
    local ok, err = pcall(function () about:set(); block() end)
    helper:join()
    assert(not ok and tostring(err):find("interrupted!", 1, true),
           tostring(err))
  end
  local q = interpreters.create_queue(1)
  interrupted(function () q:get() end)
  interrupted(function () q:get(true, 60) end)
  q:put(1)
  interrupted(function () q:put(2) end)
  interrupted(function () q:join() end)
  assert(q:qsize() == 1 and q:get() == 1)  -- nothing lost, nothing added
end

-- misuse: wrong self, bad arguments
do
  local q = interpreters.create_queue(2)
  checkerror("interpreters.Queue expected, got table", q.get, {})
  checkerror("interpreters.Queue expected, got queue.Queue", q.put,
             queue.Queue(), 1)
  checkerror("interpreters.Queue expected, got no value", q.qsize)
  checkerror("queue items cannot be nil", q.put, q, nil)
  checkerror("queue items cannot be nil", q.put, q)
  checkerror("'timeout' must be a non-negative number", q.get, q, true, -1)
  checkerror("'timeout' must be a non-negative number", q.put, q, 1, true,
             -0.5)
  checkerror("timeout value is too large", q.get, q, true, math.huge)
  checkerror("Invalid value NaN", q.get, q, true, 0 / 0)
  checkerror("boolean expected", q.get, q, "yes")
  checkerror("number expected", q.get, q, true, "soon")
  checkerror("number has no integer representation",
             interpreters.create_queue, 1.5)
  assert(q:qsize() == 0 and q.unfinished_tasks == 0)  -- nothing went in
  q:put(1, false, -1)  -- block false: the timeout is not looked at
  assert(q:get(false, -1) == 1)
end

collectgarbage()
print("OK")
