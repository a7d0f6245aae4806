-- tests/lua/misuse_mp.lua -- multiprocessing used wrongly (issue 19):
-- metamethods and methods with a wrong self, objects destroyed by a __gc
-- called by hand (and while another thread waits on them), locks
-- collected while held, numeric arguments out of range.
print("testing misuse_mp")

local threading = require "threading"
local mp = require "multiprocessing"
local testlib = require "testlib"
local checkerror = testlib.checkerror

local LUAGIL = os.getenv("LUAGIL")


-- Run 'code' in a child luagil; returns its exit status and output.
local run = testlib.run


-- A daemon thread running f(), started.
local function daemon (f)
  local t = threading.Thread{target = f, daemon = true}
  t:start()
  return t
end


-- {======================================================
-- Case 5: locks collected while held
-- =======================================================

if LUAGIL then
  local status, out = run [[
    local mp = require "multiprocessing"
    local threading = require "threading"
    for i = 1, 2 do local l = mp.Lock(); l:acquire() end
    for i = 1, 2 do local l = mp.RLock(); l:acquire(); l:acquire() end
    for i = 1, 2 do local v = mp.Value("i", 1); v:get_lock():acquire() end
    for i = 1, 2 do local a = mp.Array("d", 3); a:get_lock():acquire() end
    -- held by another thread of ours, which then goes on locking
    local held, go = threading.Event(), threading.Event()
    local t = threading.Thread{target = function ()
      for i = 1, 2 do local l = mp.Lock(); l:acquire() end
      held:set()
      go:wait()
      local l = mp.Lock()
      assert(l:acquire()); l:release()
      local r = mp.RLock()
      assert(r:acquire()); r:release()
    end}
    t:start()
    held:wait()
    collectgarbage(); collectgarbage()
    go:set()
    t:join()
    local l = mp.Lock()
    assert(l:acquire()); l:release()
    local r = mp.RLock()
    assert(r:acquire()); assert(r:acquire()); r:release(); r:release()
    print("collected while held: ok")
  ]]
  assert(status == 0 and out:find("collected while held: ok", 1, true),
         "case 5: " .. tostring(status) .. "\n" .. out)
end

-- }======================================================


-- {======================================================
-- Case 1: wrong self, __gc by hand, use after __gc
-- =======================================================

-- The functions of an object: its metamethods and its methods.
local function functions (obj, methods)
  local mt = getmetatable(obj)
  local list = {}
  for k, v in pairs(mt) do
    if type(v) == "function" then list[k] = v end
  end
  for _, name in ipairs(methods) do list[name] = obj[name] end
  return list
end

local kinds = {
  {name = "multiprocessing.Lock", make = mp.Lock,
   methods = {"acquire", "release", "guard", "with"}},
  {name = "multiprocessing.RLock", make = mp.RLock,
   methods = {"acquire", "release", "guard", "with"}},
  {name = "multiprocessing.Value",
   make = function () return mp.Value("i", 7) end,
   methods = {"get_lock"}},
  {name = "multiprocessing.Array",
   make = function () return mp.Array("d", 3) end,
   methods = {"get_lock", "totable"}},
  {name = "multiprocessing.Queue", make = mp.Queue,
   methods = {"put", "put_nowait", "get", "get_nowait", "qsize", "empty",
              "full", "close", "join_thread", "cancel_join_thread"}},
  {name = "multiprocessing.Connection",
   make = function () return (mp.Pipe()) end,
   methods = {"send", "recv", "send_bytes", "recv_bytes", "poll", "close",
              "fileno"}},
}

local other = {}  -- an object of another type, for each kind
for i in ipairs(kinds) do other[i] = kinds[(i + 1) % #kinds + 1].make() end

for i, k in ipairs(kinds) do
  local obj = k.make()
  for fname, f in pairs(functions(obj, k.methods)) do
    -- guard and with (stdlib/sync.c) take any object with acquire and
    -- release; they are not multiprocessing's
    if fname == "guard" or fname == "with" then goto next end
    for _, self in ipairs{false, 42, "x", {}, other[i]} do
      local ok, err = pcall(f, self)
      assert(not ok, k.name .. "." .. fname .. " took a wrong self")
      assert(tostring(err):find("expected", 1, true),
             k.name .. "." .. fname .. ": " .. tostring(err))
    end
    if fname ~= "__index" then  -- nil is a valid self for no method
      local ok = pcall(f)
      assert(not ok, k.name .. "." .. fname .. " took no self")
    end
    ::next::
  end
  -- Destroyed by hand, twice: then every use is an error, never a crash.
  local mt = getmetatable(obj)
  mt.__gc(obj)
  mt.__gc(obj)
  assert(type(tostring(obj)) == "string")
  local closed = k.name == "multiprocessing.Connection" and "handle is closed"
                 or "attempt to use a destroyed " .. k.name
  for _, fname in ipairs(k.methods) do
    if fname ~= "close" and fname ~= "guard" and fname ~= "with" then
      checkerror(closed, obj[fname], obj, 1)
    end
  end
  if k.name:find("Value") then
    checkerror(closed, function () return obj.value end)
    checkerror(closed, function () obj.value = 1 end)
  elseif k.name:find("Array") then
    checkerror(closed, function () return obj[1] end)
    checkerror(closed, function () obj[1] = 1 end)
    checkerror(closed, function () return #obj end)
  elseif k.name:find("Lock") then
    checkerror(closed, function () local g <close> = obj:guard() end)
  end
end

-- The Lua-side types check their self too.
do
  local pool <close> = mp.Pool(1)
  local r = pool:apply_async(function () return 1 end)
  local proc = mp.Process{target = function () end}
  for _, case in ipairs{
      {r, {"ready", "wait", "successful", "get", "__tostring"},
       "multiprocessing.AsyncResult expected"},
      {pool, {"map", "map_async", "imap", "starmap", "apply", "close", "join",
              "__tostring"}, "Pool expected"},
      {proc, {"start", "join", "is_alive", "terminate", "kill", "run",
              "__tostring"}, "Process expected"}} do
    local obj, names, msg = case[1], case[2], case[3]
    for _, name in ipairs(names) do
      local f = obj[name] or getmetatable(obj)[name]
      for _, self in ipairs{false, 42, "x", {}} do
        checkerror(msg, f, self)
      end
    end
  end
  for _, self in ipairs{false, 42, print, {}} do  -- new() checks it too
    checkerror("bad argument #1 to 'new' (multiprocessing.Process " ..
               "expected, got " .. threading._typename(self) .. ")",
               proc.new, self)
  end
  -- with() takes only a callable (it said "attempt to call a number")
  for _, new in ipairs{mp.Lock, mp.RLock} do
    local l = new()
    for _, v in ipairs{1, "w", {}, true} do
      checkerror("bad argument #1 to 'with' (callable expected, got " ..
                 threading._typename(v) .. ")", function () l:with(v) end)
    end
    assert(l:acquire(false))
    l:release()
  end
  getmetatable(pool).__gc(nil)  -- a finalizer never raises
  assert(r:get() == 1)
end

-- A Value's lock dies with the Value.
do
  local v = mp.Value("i", 1)
  local lk = v:get_lock()
  getmetatable(v).__gc(v)
  checkerror("attempt to use a destroyed multiprocessing.RLock",
             lk.acquire, lk)
  assert(tostring(lk):find("destroyed", 1, true))
end

-- __gc by hand while another thread waits on the object.
do
  local lk = mp.Lock()
  lk:acquire()
  local t = testlib.go(function () return lk:acquire() end)
  testlib.wait_blocked(t)
  getmetatable(lk).__gc(lk)  -- lets the waiter in: no one else could
  t:join()
  assert(t:value() == true)
  checkerror("attempt to use a destroyed", lk.release, lk)
end
do
  local q = mp.Queue()
  local t = daemon(function () return pcall(q.get, q) end)
  testlib.wait_blocked(t)
  getmetatable(q).__gc(q)
  local r, w = mp.Pipe()  -- would reuse the queue's descriptors
  w:send("not for the queue")
  assert(r:recv() == "not for the queue")
  checkerror("attempt to use a destroyed", q.put, q, 1)
  r:close(); w:close()
  -- the waiter stays parked on a queue nobody can feed: a daemon
end
do
  local r, w = mp.Pipe()
  local t = testlib.go(function () return pcall(r.recv, r) end)
  testlib.wait_blocked(t)
  r:close()  -- the descriptor stays open while the reader waits
  local r2, w2 = mp.Pipe()
  w2:send("mine")
  w:send("the reader's")
  t:join()
  local ok, v = t:value()
  assert(ok and v == "the reader's", tostring(v))
  assert(r2:recv() == "mine")
  checkerror("handle is closed", r.recv, r)
end

-- }======================================================


-- {======================================================
-- Case 9: numeric arguments
-- =======================================================

do
  local pool <close> = mp.Pool(1)
  local id = function (x) return x end
  for _, fname in ipairs{"map", "map_async", "imap"} do
    for _, cs in ipairs{0/0, math.huge, -math.huge, 1.5, 2^63} do
      checkerror("bad argument #3 to '" .. fname .. "' (number has no "
                 .. "integer representation)", pool[fname], pool, id,
                 {1, 2, 3}, cs)
    end
    checkerror("bad argument #3 to '" .. fname .. "' (Chunksize must be "
               .. "1+, not 0)", pool[fname], pool, id, {1, 2, 3}, 0)
    checkerror("(Chunksize must be 1+, not -3)", pool[fname], pool, id,
               {1, 2, 3}, -3)
    checkerror("number expected, got string", pool[fname], pool, id, {1},
               "x")
  end
  checkerror("bad argument #3 to 'starmap'", pool.starmap, pool, id, {{1}},
             0/0)
  local r = pool:map(id, {1, 2, 3}, 2.0)
  assert(r[1] == 1 and r[3] == 3)
  local ar = pool:apply_async(id, {5})
  checkerror("bad argument #1 to 'get' (Invalid value NaN (not a number))",
             ar.get, ar, 0/0)
  checkerror("bad argument #1 to 'get' (timeout value is too large)",
             ar.get, ar, math.huge)
  checkerror("bad argument #1 to 'wait' (timeout value is too large)",
             ar.wait, ar, 1e300)
  pcall(ar.get, ar, -1)  -- negative: polls
  assert(ar:get() == 5)
end
checkerror("bad argument #1 to 'Pool' (integer expected, got float)",
           mp.Pool, 0/0)
checkerror("bad argument #1 to 'Pool' (integer expected, got float)",
           mp.Pool, math.huge)
checkerror("bad argument #1 to 'Pool' (Number of processes must be at "
           .. "least 1)", mp.Pool, -1)
checkerror("bad argument #1 to 'Pool' (too many processes",
           mp.Pool, math.maxinteger)
do
  local p = mp.Process{target = function () end}
  p:start()
  checkerror("bad argument #1 to 'join' (Invalid value NaN (not a number))",
             p.join, p, 0/0)
  checkerror("bad argument #1 to 'join' (timeout value is too large)",
             p.join, p, math.huge)
  checkerror("bad argument #1 to 'join' (number expected, got string)",
             p.join, p, "soon")
  p:join(-1)  -- polls
  p:join()
end
do
  local q = mp.Queue()
  checkerror("number has no integer representation", mp.Queue, 0/0)
  checkerror("number has no integer representation", mp.Queue, 1.5)
  checkerror("maxsize too large", mp.Queue, math.maxinteger)
  checkerror("bad argument #2 to 'get' (timeout value is too large)",
             function () return q:get(true, math.huge) end)
  checkerror("bad argument #2 to 'get'",
             function () return q:get(true, 0/0) end)
  checkerror("bad argument #2 to 'get'",
             function () return q:get(true, -1) end)
  checkerror("bad argument #3 to 'put' (timeout value is too large)",
             function () return q:put(1, true, 1e300) end)
  local lk = mp.Lock()
  lk:acquire()
  checkerror("bad argument #2 to 'acquire' (timeout value is too large)",
             function () return lk:acquire(true, 1e300) end)
  checkerror("bad argument #2 to 'acquire'",
             function () return lk:acquire(true, 0/0) end)
  lk:release()
  local r = mp.Pipe()
  checkerror("bad argument #1 to 'poll' (timeout value is too large)",
             function () return r:poll(math.huge) end)
  checkerror("bad argument #1 to 'poll'", function () return r:poll(0/0) end)
  -- wait's descriptors: no truncation of a huge one to another (2^40 was
  -- polled as descriptor 0), a clear message for a wrong item
  local _mp = require "_multiprocessing"
  checkerror("descriptor expected at [1], got a bad descriptor", _mp.wait,
             {2^40}, 0)
  checkerror("descriptor expected at [1], got a bad descriptor", _mp.wait,
             {-5}, 0)
  checkerror("descriptor expected at [2], got string", _mp.wait, {r, "x"}, 0)
  checkerror("timeout value is too large", _mp.wait, {r}, math.huge)
  checkerror("number has no integer representation", mp.Array, "i", 0/0)
  checkerror("number has no integer representation", mp.Array, "i", 1e300)
  checkerror("negative array size", mp.Array, "i", -1)
  checkerror("array too large", mp.Array, "i", math.maxinteger)
  checkerror("number has no integer representation", mp.Value, "i", 0/0)
  local v = mp.Value("d", 0/0)
  assert(v.value ~= v.value)  -- a NaN is a double like any other
end

-- }======================================================

-- {======================================================
-- The serializer's decoder: bytes from another process
-- =======================================================

do
  local _mp = require "_multiprocessing"
  -- A C function travels by address: only where functions may (Pool).
  local m = _mp.dumps(print, true)
  checkerror("corrupt message", _mp.loads, m)
  assert(_mp.loads(m, true) == print)
  checkerror("corrupt message", _mp.loads,
             _mp.dumps(function () end, true))
  -- a C closure with more upvalues than Lua allows
  checkerror("corrupt message", _mp.loads, "c" .. m:sub(2)
             .. string.pack("=I4", 300) .. ("n"):rep(300), true)
  -- mutated messages: errors, never a crash
  local cyc = {1}
  cyc[2], cyc.me = {cyc}, cyc
  local seeds = {_mp.dumps({1, 2.5, "x", {a = {b = true}}, n = -3}),
                 _mp.dumps("hello"), _mp.dumps({("y"):rep(300), {{{{}}}}}),
                 _mp.dumps({cyc, cyc, [cyc] = cyc})}
  math.randomseed(19)
  for _ = 1, 20000 do
    local b = {seeds[math.random(#seeds)]:byte(1, -1)}
    for _ = 1, math.random(1, 4) do
      local k = math.random(#b)
      local op = math.random(3)
      if op == 1 then b[k] = math.random(0, 255)
      elseif op == 2 then table.insert(b, k, math.random(0, 255))
      elseif #b > 1 then table.remove(b, k) end
    end
    pcall(_mp.loads, string.char(table.unpack(b)))
  end
end

-- }======================================================


-- A Process target's error prints as Python prints it: a number as the
-- number (it printed "(error object is a number value)"), an error whose
-- __tostring raises as its type, and the child exits 1 either way.
if LUAGIL then
  local status, out = run([[
    local mp = require "multiprocessing"
    local bad = setmetatable({}, {__tostring = function () error("no") end})
    for _, e in ipairs{42, bad} do
      local p = mp.Process{target = function () error(e) end}
      p:start()
      p:join()
      io.stderr:write("exitcode ", p.exitcode, "\n")
    end
  ]])
  assert(status == 0, out)
  assert(out:find("Process Process%-1:\n42\n"), out)
  assert(out:find("Process Process%-2:\n%(error object is a table value%)"),
         out)
  assert(select(2, out:gsub("exitcode 1\n", "")) == 2, out)
end


-- Ctrl-C ends a send_bytes that a peer does not read (it watched Ctrl-C
-- only until the first byte went: the main thread hung for good); the
-- message cut short reaches the peer as an error, not as a message, and
-- the other direction still works.
do
  local _thread = require "_thread"
  local a, b = mp.Pipe()
  local main = threading.main_thread()
  local before = testlib.blocking_drops(main)
  local t = testlib.go(function ()
    while testlib.blocking_drops(main) == before do
      require("time").sleep(0.001)
    end
    _thread.interrupt_main()
  end)
  checkerror("interrupted!", a.send_bytes, a, ("x"):rep(64 * 1024 * 1024))
  t:join()
  checkerror("connection closed mid-message", b.recv_bytes, b)
  checkerror("cannot send", a.send_bytes, a, "more")
  b:send_bytes("back")
  assert(a:recv_bytes() == "back")
end

print("OK")
