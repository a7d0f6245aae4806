-- tests/lua/misuse_sync.lua -- the C synchronisation objects (Lock, RLock,
-- Condition, Semaphore, BoundedSemaphore, Event, the queues, guards) under
-- misuse (issue 19, cases 1, 2, 14, 18 and 25): metamethods called by hand
-- with a wrong self, use after a hand-called __gc, __gc while a thread
-- waits, hostile timeouts. Before the fixes some of these crashed or hung
-- the interpreter, so each case runs in a child luagil (this script, with
-- "child NAME" as arguments), which must print "OK NAME" and exit 0.

local threading = require "threading"
local queue = require "queue"
local time = require "time"
local testlib = require "testlib"
local checkerror, go = testlib.checkerror, testlib.go

local nan, huge = 0 / 0, math.huge


-- {======================================================
-- The types
-- =======================================================

-- new() makes one; use(x) uses it without waiting; hold(x), if given,
-- makes wait(x) block in another thread; methods are its method names.
local LOCKM = {"acquire", "release", "locked", "guard", "with"}
local QUEUEM = {"put", "put_nowait", "get", "get_nowait", "qsize", "empty",
                "full", "task_done", "join", "shutdown"}
local function lockuse (x) x:acquire(); x:release() end
local function acquire (x) return x:acquire() end
local function queueuse (x) x:put(1); return x:get() end
local function get (x) return x:get() end

local types = {
  {name = "Lock", tname = "threading.Lock", new = threading.Lock,
   use = lockuse, hold = acquire, wait = acquire, methods = LOCKM},
  {name = "RLock", tname = "threading.RLock", new = threading.RLock,
   use = lockuse, hold = acquire, wait = acquire,
   methods = {"acquire", "release", "locked", "_is_owned", "guard", "with"}},
  {name = "Condition", tname = "threading.Condition",
   new = threading.Condition,
   use = function (x) x:acquire(); x:notify(); x:release() end,
   wait = function (x) x:acquire(); return x:wait() end,
   methods = {"acquire", "release", "wait", "wait_for", "notify",
              "notify_all", "notifyAll", "_is_owned", "guard", "with"}},
  {name = "Condition", label = "Condition(Lock)", tname = "threading.Condition",
   new = function () return threading.Condition(threading.Lock()) end,
   use = function (x) x:acquire(); x:notify_all(); x:release() end,
   wait = function (x) x:acquire(); return x:wait_for(function () end) end,
   methods = {"wait", "notify"}},
  {name = "Semaphore", tname = "threading.Semaphore",
   new = function () return threading.Semaphore(0) end,
   use = function (x) return x:acquire(false) end, wait = acquire,
   methods = {"acquire", "release", "guard", "with"}},
  {name = "BoundedSemaphore", tname = "threading.Semaphore",
   new = function () return threading.BoundedSemaphore(0) end,
   use = function (x) return x:acquire(false) end, wait = acquire,
   methods = {"acquire", "release"}},
  {name = "Event", tname = "threading.Event", new = threading.Event,
   use = function (x) x:set() end, wait = function (x) return x:wait() end,
   methods = {"is_set", "isSet", "set", "clear", "wait", "_waiting"}},
  {name = "Queue", tname = "queue.Queue", new = queue.Queue,
   use = queueuse, wait = get, methods = QUEUEM},
  {name = "Queue", label = "Queue(put)", tname = "queue.Queue",
   new = function () local q = queue.Queue(1); q:put(1); return q end,
   use = function (x) return x:qsize() end,
   wait = function (x) return x:put(2) end, methods = {"put"}},
  {name = "Queue", label = "Queue(join)", tname = "queue.Queue",
   new = function () local q = queue.Queue(); q:put(1); return q end,
   use = function (x) return x:task_done() end,
   wait = function (x) return x:join() end, methods = {"join"}},
  {name = "LifoQueue", tname = "queue.Queue", new = queue.LifoQueue,
   use = queueuse, wait = get, methods = QUEUEM},
  {name = "PriorityQueue", tname = "queue.Queue", new = queue.PriorityQueue,
   use = queueuse, wait = get, methods = QUEUEM},
  {name = "SimpleQueue", tname = "queue.Queue", new = queue.SimpleQueue,
   use = queueuse, wait = get,
   methods = {"put", "put_nowait", "get", "get_nowait", "qsize", "empty"}},
}

local function gc (x) return getmetatable(x).__gc(x) end

-- Returns once thread 't' waits on 'x' (an Event counts its waiters; the
-- other waits let the GIL go around a park).
local function waitblocked (T, x, t)
  if T.name == "Event" then
    while x:_waiting() == 0 do time.sleep(0.001) end
  else
    testlib.wait_blocked(t)
  end
end

-- }======================================================


-- {======================================================
-- The cases, each run in a child
-- =======================================================

local cases, order = {}, {}
local function case (name, f)
  cases[name] = f
  order[#order + 1] = name
end

local destroyed = "attempt to use a destroyed "

for _, T in ipairs(types) do
  local label = T.label or T.name

  -- Case 1: __gc, __tostring (and a queue's __index) check their self.
  case("gc_nil:" .. label, function ()
    local x = T.new()
    local mt = getmetatable(x)
    local msg = " (" .. T.tname .. " expected, got "
    checkerror("bad argument #1 to '__gc'" .. msg .. "nil)", mt.__gc, nil)
    checkerror("bad argument #1 to '__gc'" .. msg .. "no value)", mt.__gc)
    checkerror("bad argument #1 to '__gc'" .. msg .. "table)", mt.__gc, {})
    checkerror("bad argument #1 to '__gc'" .. msg .. "string)", mt.__gc, "x")
    checkerror("bad argument #1 to '__tostring'" .. msg .. "nil)",
               mt.__tostring, nil)
    if type(mt.__index) == "function" then
      checkerror("bad argument #1 to '__index'" .. msg .. "nil)",
                 mt.__index, nil, "maxsize")
    end
    T.use(x)  -- nothing happened to it
  end)

  -- Case 1: another type's object is a wrong self too.
  case("gc_wrong:" .. label, function ()
    local x = T.new()
    local other = T.name == "Event" and threading.Lock() or threading.Event()
    local mt = getmetatable(x)
    checkerror(T.tname .. " expected, got " ..
               getmetatable(other).__name, mt.__gc, other)
    checkerror(T.tname .. " expected, got", mt.__tostring, other)
    T.use(x)
    assert(not tostring(other):find("destroyed"))
  end)

  -- Case 1: after a hand-called __gc every use raises, tostring says so.
  case("use_after_gc:" .. label, function ()
    local x = T.new()
    assert(gc(x) == nil)
    checkerror(destroyed .. T.name, T.use, x)
    checkerror(destroyed .. T.name, T.wait, x)
    for _, m in ipairs(T.methods) do
      if m ~= "guard" and m ~= "with" and
         not (T.name == "Condition" and m == "release") then
        checkerror(destroyed .. T.name, x[m], x)
      end
    end
    if T.tname == "queue.Queue" and T.name ~= "SimpleQueue" then
      checkerror(destroyed .. T.name, function () return x.maxsize end)
    end
    assert(tostring(x):find("destroyed"), tostring(x))
  end)

  -- Case 1: __gc twice, then the collector's own call.
  case("gc_twice:" .. label, function ()
    local x = T.new()
    gc(x)
    gc(x)
    checkerror(destroyed .. T.name, T.use, x)
    x = nil
    collectgarbage()
    collectgarbage()
  end)

  -- Case 1: __gc while another thread waits: the waiter raises.
  case("gc_waiting:" .. label, function ()
    local x = T.new()
    if T.hold then T.hold(x) end
    local t = go(function () return pcall(T.wait, x) end)
    waitblocked(T, x, t)
    gc(x)
    local ok, err = t:value()
    assert(not ok and tostring(err):find(destroyed .. T.name, 1, true),
           tostring(err))
    checkerror(destroyed .. T.name, T.use, x)
    gc(x)
  end)

  -- Case 25: a method called with a wrong self names itself and the type.
  -- (An alias, isSet for is_set, may be the name found.)
  case("wrong_self:" .. label, function ()
    local x = T.new()
    for _, m in ipairs(T.methods) do
      local want = (m == "guard" or m == "with") and "lock" or T.tname
      for _, bad in ipairs{{nil, "nil"}, {42, "number"}} do
        local ok, err = pcall(x[m], bad[1])
        local name, msg = tostring(err):match("^bad argument #1 to " ..
                                              "'([^']+)' %((.*)%)$")
        assert(not ok and name and x[name] == x[m] and
               msg == want .. " expected, got " .. bad[2], m .. ": " ..
               tostring(err))
      end
    end
    T.use(x)
  end)
end

-- Case 1: the lock of a waiting Condition destroyed by hand: nobody can
-- notify now; once the Condition is destroyed too, the waiter wakes,
-- cannot take the lock back and raises.
case("cond_lock_gc", function ()
  local lock = threading.Lock()
  local c = threading.Condition(lock)
  local t = go(function ()
    c:acquire()
    return pcall(c.wait, c)
  end)
  testlib.wait_blocked(t)
  gc(lock)
  checkerror(destroyed .. "Lock", c.notify_all, c)
  gc(c)
  local ok, err = t:value()
  assert(ok == false and err:find(destroyed .. "Lock", 1, true), err)
  checkerror(destroyed .. "Condition", c.wait, c)
  checkerror(destroyed .. "Lock", threading.Condition, lock)
end)

-- Case 1: a wait() that raised because its Condition was destroyed holds
-- the lock again, as always; cond:with (or a guard) still lets it go.
case("cond_gc_release", function ()
  for _, lock in ipairs{threading.Lock(), threading.RLock()} do
    local c = threading.Condition(lock)
    local t = go(function ()
      return pcall(c.with, c, function () return c:wait() end)
    end)
    testlib.wait_blocked(t)
    gc(c)
    local ok, err = t:value()
    assert(not ok and err:find(destroyed .. "Condition", 1, true), err)
    assert(not lock:locked() and lock:acquire(false))
    lock:release()
    checkerror(destroyed .. "Condition", c.acquire, c)
  end
end)

-- Case 2: guard() on a plain table with acquire and release.
case("guard_table", function ()
  local l = threading.Lock()
  local n = 0
  local t = {acquire = function () n = n + 1 end,
             release = function () n = n - 1 end}
  for _ = 1, 3 do
    local g <close> = l.guard(t)
    assert(n == 1)
  end
  assert(n == 0 and getmetatable(t) == nil)
  collectgarbage()
  collectgarbage()
  assert(t.x == nil and n == 0)
  l.with(t, function () assert(n == 1) end)
  assert(n == 0)
  checkerror("bad argument #1 to 'guard' (lock expected, got nil)",
             l.guard, nil)
  checkerror("bad argument #1 to 'guard' (lock expected, got table)",
             l.guard, {})
  checkerror("bad argument #1 to 'guard' (lock expected, got queue.Queue)",
             l.guard, queue.Queue())
  checkerror("bad argument #1 to 'with' (lock expected, got nil)",
             l.with, nil, print)
  -- A guard's __close releases what it took, once.
  local g = l:guard()
  local close = getmetatable(g).__close
  close(g)
  close(g)
  assert(not l:locked())
  checkerror("bad argument #1 to '__close' (threading._Guard expected, " ..
             "got nil)", close, nil)
  checkerror("threading._Guard expected, got threading.Lock", close, l)
  -- A userdata's guard is cached; nested guards of an RLock count.
  local r = threading.RLock()
  do
    local a <close> = r:guard()
    local b <close> = r:guard()
    assert(a == b and r:locked())
  end
  assert(not r:locked())
end)

-- Cases 14 and 18: every C wait with -1, -0.5, 0, NaN, inf and 1e300.
-- 'call(x, t)' waits with timeout t on an object that is not ready;
-- 'want' maps each timeout to a result or an error message.
local BIG = "timeout value is too large"
local WAITS = "-1 waits for ever"
local NAN = "Invalid value NaN (not a number)"
local function timeouts (name, new, call, arg, fname, want)
  case("timeouts:" .. name, function ()
    for i, t in ipairs{-1, -0.5, 0, nan, huge, 1e300, -huge} do
      local w = want[i]
      local x = new()
      if w == WAITS then  -- see timeouts:forever
        assert(t == -1)
      elseif type(w) == "string" then
        local msg = w:find("^queue") and w or
          ("bad argument #" .. arg .. " to '" .. fname .. "' (" .. w .. ")")
        checkerror(msg, call, x, t)
      else
        local r = call(x, t)
        assert(r == w, name .. " " .. t .. ": " .. tostring(r))
      end
    end
  end)
end

local POS = "timeout value must be positive"
local NONNEG = "'timeout' must be a non-negative number"
local function held () local l = threading.Lock(); l:acquire(); return l end
local function rheld ()  -- an RLock held by another thread
  local r, e = threading.RLock(), threading.Event()
  go(function () r:acquire(); e:set() end):join()
  assert(e:is_set())
  return r
end
timeouts("Lock", held, function (x, t) return x:acquire(true, t) end, 2,
         "acquire", {WAITS, POS, false, NAN, BIG, BIG, POS})
timeouts("RLock", rheld, function (x, t) return x:acquire(true, t) end, 2,
         "acquire", {WAITS, POS, false, NAN, BIG, BIG, POS})
local function condwait (x, t)
  x:acquire()
  local r = x:wait(t)
  x:release()
  return r
end
timeouts("Condition.wait", threading.Condition, condwait, 1, "wait",
         {false, false, false, NAN, BIG, BIG, false})
timeouts("Condition.wait_for", threading.Condition, function (x, t)
  x:acquire()
  local r = x:wait_for(function () return false end, t)
  x:release()
  return r
end, 2, "wait_for", {false, false, false, NAN, BIG, BIG, false})
timeouts("Semaphore", function () return threading.Semaphore(0) end,
         function (x, t) return x:acquire(true, t) end, 2, "acquire",
         {false, false, false, NAN, BIG, BIG, false})
timeouts("BoundedSemaphore",
         function () return threading.BoundedSemaphore(0) end,
         function (x, t) return x:acquire(true, t) end, 2, "acquire",
         {false, false, false, NAN, BIG, BIG, false})
timeouts("Event", threading.Event, function (x, t) return x:wait(t) end, 1,
         "wait", {false, false, false, NAN, BIG, BIG, false})
for _, q in ipairs{"Queue", "LifoQueue", "PriorityQueue", "SimpleQueue"} do
  timeouts(q .. ".get", queue[q], function (x, t) return x:get(true, t) end,
           2, "get", {NONNEG, NONNEG, "queue.Empty", NAN, BIG, BIG, NONNEG})
end
timeouts("Queue.put", function () local q = queue.Queue(1); q:put(1)
                                  return q end,
         function (x, t) return x:put(2, true, t) end, 3, "put",
         {NONNEG, NONNEG, "queue.Full", NAN, BIG, BIG, NONNEG})

-- The table above cannot wait for ever: -1 on Lock and RLock waits until
-- the lock is released; a timeout is ignored without blocking (Queue)
-- and TIMEOUT_MAX itself is a valid timeout.
case("timeouts:forever", function ()
  for _, new in ipairs{threading.Lock, threading.RLock} do
    local l, e = new(), threading.Event()
    local t = go(function ()
      l:acquire()
      e:set()
      threading.Event():wait(0.05)
      l:release()
    end)
    e:wait()
    assert(l:acquire(true, -1) == true)
    l:release()
    t:join()
  end
  local q = queue.Queue()
  checkerror("queue.Empty", q.get, q, false, -1)
  checkerror("queue.Empty", q.get, q, false, nan)
  checkerror("bad argument #2 to 'acquire' (can't specify timeout for " ..
             "non-blocking acquire)",
             function () threading.Semaphore(1):acquire(false, -1) end)
  assert(threading.Lock():acquire(false, -1) == true)
  assert(threading.Event():wait(0.01) == false)
  local e = threading.Event()
  e:set()
  assert(e:wait(threading.TIMEOUT_MAX) == true)
  local l = threading.Lock()
  assert(l:acquire(true, threading.TIMEOUT_MAX) == true)
  checkerror(BIG, l.acquire, l, true, threading.TIMEOUT_MAX * 2)
end)

-- with() and wait_for() take only a callable, and Condition:acquire()
-- checks its own arguments: each error names the method called (they
-- said "attempt to call a number value", or named '?').
case("callable", function ()
  local mkcond = function () return threading.Condition(threading.Lock()) end
  for _, new in ipairs{threading.Lock, threading.RLock, threading.Condition,
                       mkcond, threading.Semaphore,
                       threading.BoundedSemaphore} do
    local x = new()
    for _, v in ipairs{1, "f", {}, true, coroutine.create(print)} do
      checkerror("bad argument #1 to 'with' (callable expected, got " ..
                 threading._typename(v) .. ")", function () x:with(v) end)
    end
    local callee = setmetatable({}, {__call = function (_, a) return a end})
    assert(x:with(callee, 7) == 7)
    assert(x:acquire(false))  -- nothing was left held
    x:release()
  end
  for _, new in ipairs{threading.Condition, mkcond} do
    local c = new()
    checkerror("bad argument #1 to 'acquire' (boolean expected, got " ..
               "function)", function () c:acquire(print) end)
    checkerror("bad argument #1 to 'acquire' (boolean expected, got " ..
               "number)", function () c:acquire(-1) end)
    checkerror("bad argument #2 to 'acquire' (can't specify a timeout " ..
               "for a non-blocking call)", function () c:acquire(false, 1) end)
    c:acquire()
    checkerror("bad argument #1 to 'wait_for' (callable expected, got " ..
               "string)", function () c:wait_for("d") end)
    checkerror("bad argument #1 to 'wait_for' (callable expected, got " ..
               "number)", function () c:wait_for(0.001, 1) end)
    c:release()
    assert(c:acquire(false))
    c:release()
  end
end)

-- }======================================================


-- {======================================================
-- The runner
-- =======================================================

if arg[1] == "child" then
  cases[arg[2]]()
  print("OK " .. arg[2])
  return
end

print("testing misuse of the synchronisation objects")

local luagil = assert(os.getenv("LUAGIL"), "run by CTest: LUAGIL unset")
local failed = {}
for _, name in ipairs(order) do
  local cmd = ("timeout 20 %q %q child %q 2>&1; echo \"status=$?\"")
              :format(luagil, arg[0], name)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  if not (out:find("OK " .. name, 1, true) and out:find("status=0\n$")) then
    failed[#failed + 1] = name .. ":\n" .. out
  end
end
assert(#failed == 0, #failed .. " of " .. #order .. " cases failed:\n" ..
       table.concat(failed, "\n"))
print(#order .. " cases")

print("OK")
