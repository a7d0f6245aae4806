print("testing queue")
local queue = require "queue"
local threading = require "threading"
local time = require "time"

local testlib = require "testlib"
local checkerror, wait_blocked = testlib.checkerror, testlib.wait_blocked

local function errof (f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "no error")
  return err
end

-- FIFO, LIFO, priority order; sizes
do
  local q = queue.Queue()
  for i = 1, 100 do q:put(i) end  -- grows the ring
  assert(q:qsize() == 100 and not q:full() and q.maxsize == 0)
  for i = 1, 50 do assert(q:get() == i) end
  for i = 101, 180 do q:put(i) end  -- wraps, grows again
  for i = 51, 180 do assert(q:get() == i) end
  assert(q:empty())
  local l = queue.LifoQueue(3)
  l:put("a"); l:put("b"); l:put("c")
  assert(l:full() and l:get() == "c" and l:get() == "b" and l:get() == "a")
  local p = queue.PriorityQueue()
  local items = {5, 1, 4, 1.5, 3, 9, 2, 6, 0, -1}
  for _, v in ipairs(items) do p:put(v) end
  table.sort(items)
  for _, v in ipairs(items) do assert(p:get() == v) end
  -- tables sort by [1]; ties in insertion order
  local a, b, c, d = {2, "a"}, {1, "b"}, {2, "c"}, {1, "d"}
  for _, t in ipairs{a, b, c, d} do p:put(t) end
  assert(p:get() == b and p:get() == d and p:get() == a and p:get() == c)
  p:put("pear"); p:put("apple"); p:put("fig")
  assert(p:get() == "apple" and p:get() == "fig" and p:get() == "pear")
  checkerror("priorities must be all numbers or all strings", function ()
    p:put(1); p:put("x")
  end)
  checkerror("bad argument #1 to 'put'", function () p:put(true) end)
  assert(p:get() == 1 and p:empty())
  local s = queue.SimpleQueue()
  s:put(1, false, 3)
  assert(s:get() == 1 and s.maxsize == nil and s.task_done == nil)
end

-- Empty, Full, arguments
do
  local q = queue.Queue(1)
  local e = errof(q.get, q, false)
  assert(queue.Empty:is(e) and not queue.Full:is(e))
  assert(tostring(e) == "queue.Empty: queue is empty")
  assert(queue.Empty:is(errof(q.get_nowait, q)))
  q:put_nowait("x")
  assert(queue.Full:is(errof(q.put, q, "y", false)))
  assert(queue.Full:is(errof(q.put_nowait, q, "y")))
  checkerror("queue items cannot be nil", function () q:put(nil) end)
  checkerror("bad argument #3 to 'put' ('timeout' must be a non-negative "
             .. "number)", function () q:put(1, true, -1) end)
  checkerror("bad argument #2 to 'get' ('timeout' must be a non-negative "
             .. "number)", function () q:get(true, -0.5) end)
  checkerror("bad argument #1 to 'get' (boolean expected, got number)",
             function () q:get(1) end)
  assert(tostring(q):find("queue.Queue", 1, true))
end

-- timeouts
do
  local q = queue.Queue(1)
  local t0 = time.monotonic()
  assert(queue.Empty:is(errof(q.get, q, true, 0.05)))
  assert(time.monotonic() - t0 >= 0.05)
  q:put(1)
  t0 = time.monotonic()
  assert(queue.Full:is(errof(q.put, q, 2, true, 0.05)))
  assert(time.monotonic() - t0 >= 0.05)
end

-- blocking get and put hand items between threads
do
  local q = queue.Queue(10)
  local N = 20000
  local sum = 0
  local consumer = threading.Thread{target = function ()
    for _ = 1, N do sum = sum + q:get() end
  end}
  consumer:start()
  for i = 1, N do q:put(i) end
  consumer:join()
  assert(sum == N * (N + 1) // 2)
  -- several producers and consumers, bounded queue of 1
  local q1 = queue.Queue(1)
  local got, ts = {}, {}
  for p = 1, 3 do
    ts[#ts + 1] = threading.Thread{target = function ()
      for i = 1, 300 do q1:put(p * 1000 + i) end
    end}
  end
  for c = 1, 3 do
    ts[#ts + 1] = threading.Thread{target = function ()
      for _ = 1, 300 do local v = q1:get(); got[v] = (got[v] or 0) + 1 end
    end}
  end
  for _, t in ipairs(ts) do t:start() end
  for _, t in ipairs(ts) do t:join() end
  local n = 0
  for v, k in pairs(got) do assert(k == 1); n = n + 1 end
  assert(n == 900 and q1:empty())
end

-- task_done and join
do
  local q = queue.Queue()
  checkerror("task_done() called too many times", q.task_done, q)
  local done = {}
  local worker = threading.Thread{daemon = true, target = function ()
    while true do
      local item = q:get()
      time.sleep(0.001)
      done[#done + 1] = item
      q:task_done()
    end
  end}
  worker:start()
  for i = 1, 10 do q:put(i) end
  q:join()
  assert(#done == 10 and q.unfinished_tasks == 0)
  q:join()  -- nothing pending: returns at once
end

-- shutdown: put fails, get drains then fails, blocked callers wake
do
  local q = queue.Queue(2)
  q:put(1); q:put(2)
  local perr, gerr
  local putter = threading.Thread{target = function ()
    perr = errof(q.put, q, 3)
  end}
  putter:start()
  wait_blocked(putter)  -- in put, on the full queue
  q:shutdown()
  putter:join()
  assert(queue.ShutDown:is(perr), tostring(perr))
  assert(tostring(perr) == "queue.ShutDown: queue is shut down")
  assert(queue.ShutDown:is(errof(q.put, q, 4)))
  assert(q:get() == 1 and q:get() == 2)
  assert(queue.ShutDown:is(errof(q.get, q)))
  assert(q.is_shutdown)
  -- a blocked getter wakes
  local q2 = queue.Queue()
  local getter = threading.Thread{target = function () gerr = errof(q2.get, q2) end}
  getter:start()
  wait_blocked(getter)
  q2:shutdown()
  getter:join()
  assert(queue.ShutDown:is(gerr))
  -- immediate: items discarded and counted done; join returns
  local q3 = queue.Queue()
  for i = 1, 5 do q3:put(i) end
  local joined = false
  local joiner = threading.Thread{target = function () q3:join(); joined = true end}
  joiner:start()
  wait_blocked(joiner)
  q3:shutdown(true)
  joiner:join()
  assert(joined and q3:empty() and q3.unfinished_tasks == 0)
  assert(queue.ShutDown:is(errof(q3.get, q3, false)))
end

print("OK")
