-- tests/lua/thread.lua -- threading.Thread: lifecycle, fields, subclassing,
-- module functions and the misuse errors Python gives.
print("testing threading.Thread")

local threading = require "threading"
local _thread = require "_thread"
local time = require "time"

local checkerror = require("testlib").checkerror

-- A thread runs its target with its args, and start() returns with the
-- thread alive and its ids set.
do
  local gate_open = false
  local got
  local t = threading.Thread{target = function (a, b, c)
    got = {a, b, c}
    while not gate_open do time.sleep(0) end
  end, args = {1, nil, 3, n = 3}}
  assert(not t:is_alive() and t.ident == nil)
  t:start()
  assert(t:is_alive())
  assert(math.type(t.ident) == "integer" and math.type(t.native_id) == "integer")
  assert(t.native_id ~= threading.main_thread().native_id)
  gate_open = true
  t:join()
  assert(not t:is_alive())
  assert(got[1] == 1 and got[2] == nil and got[3] == 3)
end

-- Names: default Thread-N, given names, the OS thread carries the name.
do
  local t1, t2 = threading.Thread{}, threading.Thread{}
  local n1 = tonumber(t1.name:match("^Thread%-(%d+)$"))
  local n2 = tonumber(t2.name:match("^Thread%-(%d+)$"))
  assert(n1 and n2 == n1 + 1)
  local seen
  local t = threading.Thread{name = "worker-with-a-long-name", target = function ()
    seen = threading.current_thread().name
    local f = io.open("/proc/self/task/" .. threading.get_native_id() .. "/comm")
    if f then seen = seen .. "|" .. f:read("l"); f:close() end
  end}
  t:start(); t:join()
  assert(seen == "worker-with-a-long-name|worker-with-a-l", seen)
  t.name = "renamed"
  assert(t.name == "renamed" and t:getName() == "renamed")
  t:setName("again")
  assert(t.name == "again")
end

-- current_thread, main_thread, enumerate, active_count, idents.
do
  local main = threading.main_thread()
  assert(threading.current_thread() == main)
  assert(main.name == "MainThread" and not main.daemon and main:is_alive())
  assert(threading.currentThread() == main)
  assert(threading.get_ident() == main.ident)
  assert(threading.get_native_id() == main.native_id)
  local release = false
  local inside = {}
  local ts = {}
  for i = 1, 3 do
    ts[i] = threading.Thread{target = function ()
      inside[i] = threading.current_thread()
      while not release do time.sleep(0.001) end
    end}
    ts[i]:start()
  end
  local listed = {}
  for _, t in ipairs(threading.enumerate()) do listed[t] = true end
  for i = 1, 3 do assert(listed[ts[i]]) end
  assert(listed[main])
  assert(threading.active_count() >= 4 and threading.activeCount() >= 4)
  release = true
  for i = 1, 3 do ts[i]:join(); assert(inside[i] == ts[i]) end
  for _, t in ipairs(threading.enumerate()) do
    for i = 1, 3 do assert(t ~= ts[i], "finished thread still listed") end
  end
end

-- join with a timeout returns while the thread still runs.
do
  local release = false
  local t = threading.Thread{target = function ()
    while not release do time.sleep(0.001) end
  end}
  t:start()
  local t0 = time.monotonic()
  t:join(0.05)
  assert(time.monotonic() - t0 >= 0.05)
  assert(t:is_alive())
  t:join(-1)  -- negative: poll, as in Python
  assert(t:is_alive())
  release = true
  t:join()
  assert(not t:is_alive())
end

-- value() returns the results, or re-raises the error.
do
  local t = threading.Thread{target = function (a, b) return a + b, "x" end,
                             args = {2, 3}}
  t:start()
  local a, b = t:value()
  assert(a == 5 and b == "x")
  local old = threading.excepthook
  threading.excepthook = function () end
  local e = threading.Thread{target = function () error({code = 7}) end}
  e:start()
  local ok, err = pcall(e.value, e)
  assert(not ok and type(err) == "table" and err.code == 7)
  threading.excepthook = old
end

-- Any callable is a target.
do
  local got
  local callable = setmetatable({}, {__call = function (self, x) got = x end})
  local t = threading.Thread{target = callable, args = {"called"}}
  t:start(); t:join()
  assert(got == "called")
  checkerror("target must be callable", threading.Thread, {target = 42})
end

-- Subclassing with extend, new, super and run.
do
  local Worker = threading.Thread:extend()
  function Worker:new (n)
    Worker.super.new(self, {name = "w" .. n})
    self.n = n
  end
  function Worker:run ()
    self.result = self.n * 10
    return self.result
  end
  local w = Worker(4)
  assert(w.name == "w4" and w.n == 4)
  w:start()
  assert(w:value() == 40 and w.result == 40)
  local Sub = Worker:extend()
  function Sub:run () return "sub" .. self.n end
  local s = Sub(2)
  s:start()
  assert(s:value() == "sub2" and s.name == "w2")
  assert(tostring(s):find("stopped", 1, true))
end

-- Daemon flag: inherited from the creator, settable only before start.
do
  local t = threading.Thread{}
  assert(t.daemon == false and not t:isDaemon())
  t.daemon = true
  assert(t.daemon == true)
  t:setDaemon(false)
  assert(t.daemon == false)
  local child_daemon
  local d = threading.Thread{daemon = true, target = function ()
    child_daemon = threading.Thread{}.daemon
  end}
  d:start(); d:join()
  assert(child_daemon == true)
  checkerror("cannot set daemon status of active thread",
             function () d.daemon = false end)
  checkerror("cannot set daemon status of active thread", d.setDaemon, d, true)
  checkerror("field 'ident' is read-only", function () d.ident = 1 end)
end

-- Misuse errors with Python's messages.
do
  local t = threading.Thread{target = function () end}
  checkerror("cannot join thread before it is started", t.join, t)
  t:start()
  checkerror("threads can only be started once", t.start, t)
  t:join()
  checkerror("cannot join current thread", threading.main_thread().join,
             threading.main_thread())
  local err
  local s = threading.Thread{target = function ()
    local me = threading.current_thread()
    err = select(2, pcall(me.join, me))
  end}
  s:start(); s:join()
  assert(err:find("cannot join current thread", 1, true))
  checkerror("number expected", t.join, t, "soon")
  checkerror("switch interval must be strictly positive",
             threading.setswitchinterval, 0)
  checkerror("switch interval must be strictly positive",
             threading.setswitchinterval, -1)
  checkerror("number expected", threading.setswitchinterval, "x")
  checkerror("table expected", threading.Thread, 5)
end

-- The switch interval.
do
  local old = threading.getswitchinterval()
  assert(math.abs(old - 0.005) < 1e-9)
  threading.setswitchinterval(0.001)
  assert(math.abs(threading.getswitchinterval() - 0.001) < 1e-9)
  threading.setswitchinterval(old)
end

-- Many threads one after another reuse OS threads (their native ids
-- repeat); ids stay valid.
do
  local native = {}
  for i = 1, 200 do
    local t = threading.Thread{target = function () end}
    t:start()
    assert(t.ident)
    native[t.native_id] = true
    t:join()
  end
  local n = 0
  for _ in pairs(native) do n = n + 1 end
  assert(n < 200, "no OS thread was reused")
end

-- _thread basics used by threading.
do
  assert(_thread.TIMEOUT_MAX == threading.TIMEOUT_MAX and
         threading.TIMEOUT_MAX > 1e9)
  assert(threading.stack_size() == 0)
  assert(threading.stack_size(1024 * 1024) == 0)
  local t = threading.Thread{target = function () return 1 end}
  t:start()
  assert(t:value() == 1)
  assert(threading.stack_size(0) == 1024 * 1024)
  checkerror("size not valid", threading.stack_size, 100)
  local done = false
  local ident = _thread.start_new_thread(function (x) done = x end, {true})
  assert(math.type(ident) == "integer")
  while not done do time.sleep(0.001) end
end

-- A thread's default C stack holds what Lua's own limits allow: gsub
-- callbacks nested 190 deep (~1.3 KiB of C stack a level) and nested
-- pcalls up to "C stack overflow" (a 256 KiB stack crashed on the gsub).
do
  local function g (s, d)
    if d == 0 then return s end
    return (s:gsub(".", function (c) return g(c, d - 1) end))
  end
  local function nest (n) return pcall(nest, n + 1) end
  local deep, nested
  local t = threading.Thread{target = function ()
    deep = g("ab", 190)
    nested = nest(0)
  end}
  t:start()
  t:join()
  assert(deep == "ab" and nested == true)
end

print("OK")
