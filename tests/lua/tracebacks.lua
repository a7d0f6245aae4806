-- tests/lua/tracebacks.lua -- every thread's traceback on demand:
-- threading.dump_tracebacks([file]) and threading.tracebacks(), with each
-- thread's state, what it waits in and for how long, the locks it holds.
print("testing threading.dump_tracebacks and tracebacks")

local testlib = require "testlib"
local threading = require "threading"
local time = require "time"

local checkerror, wait_blocked = testlib.checkerror, testlib.wait_blocked

-- The line that calls here().
local function here ()
  return debug.getinfo(2, "l").currentline
end

-- 'name' as a pattern that matches it.
local function pat (s)
  return (s:gsub("%p", "%%%0"))
end

-- 's' with this file's name as "tracebacks.lua", whatever path CTest
-- gave it (a site keeps the end of a long one, after "...").
local function norm (s)
  return (s:gsub("[^%s@<(]*tracebacks%.lua", "tracebacks.lua"))
end

-- The dump, as threading.dump_tracebacks writes it into a file.
local function dump ()
  local f = io.tmpfile()
  threading.dump_tracebacks(f)
  f:seek("set")
  local s = f:read("a")
  f:close()
  return norm(s)
end

-- The block of thread 'name' in dump 's'.
local function block (s, name)
  local b = (s .. "\n"):match("\n(" .. pat(name) .. " %(ident .-)\n\n")
  assert(b, "no block for " .. name .. " in:\n" .. s)
  return b
end

-- Every kind of state at once.
do
  local held, lheld = threading.Lock(), here()
  local rl, lrl = threading.RLock(), here()
  local ev, lev = threading.Event(), here()
  local sem, lsem = threading.Semaphore(0), here()
  local started = threading.Event()
  local spin = true
  held:acquire()
  rl:acquire(); rl:acquire()
  local lwait, lacquire
  local evwaiter = threading.Thread{name = "ev-waiter", target = function ()
    lwait = here(); ev:wait()
  end}
  local locker = threading.Thread{name = "locker", daemon = true,
                                  target = function ()
    lacquire = here(); held:acquire()
    held:release()
  end}
  local sleeper = threading.Thread{name = "sleeper", target = function ()
    while not ev:is_set() do time.sleep(0.01) end
  end}
  local inco = threading.Thread{name = "in-coroutine", target = function ()
    local co = coroutine.wrap(function () sem:acquire() end)
    co()
  end}
  -- (a thread that spins in pure Lua keeps the GIL where that is not
  -- preempted: then none; it is last in the lists below)
  local spinner = testlib.preempts and threading.Thread{name = "spinner",
                                                        target = function ()
    started:set()
    local n = 0
    while spin do n = n + 1 end
  end} or nil
  for _, t in ipairs{evwaiter, locker, sleeper, inco, spinner} do
    t:start()
  end
  for _, t in ipairs{evwaiter, locker, inco} do wait_blocked(t) end
  if spinner then started:wait() end
  local ldump = here(); local s = dump()
  assert(s:find("^%d+ threads, most recent call first:\n\n"), s)
  -- the main thread runs, holds two locks
  local b = block(s, "MainThread")
  assert(b:find("^MainThread %(ident %d+, native_id %d+, daemon=false%)\n"
                .. "  running\n  holds RLock@tracebacks%.lua:" .. lrl
                .. " %(2 levels%), Lock@tracebacks%.lua:" .. lheld
                .. "\nstack traceback:\n\ttracebacks%.lua:%d+: in "
                .. "local 'dump'\n\ttracebacks%.lua:" .. ldump
                .. ": in main chunk\n"), b)
  b = block(s, "ev-waiter")
  assert(b:find("\n  blocked in Event%.wait on Event@tracebacks%.lua:" .. lev
                .. " for %d+%.%d%d%d s\n"), b)
  assert(b:find("[C]: in method 'wait'\n\ttracebacks.lua:" .. lwait .. ":",
                1, true), b)
  assert(b:find("daemon=false)", 1, true), b)
  b = block(s, "locker")
  assert(b:find("daemon=true)", 1, true), b)
  assert(b:find("\n  blocked in Lock%.acquire on Lock@tracebacks%.lua:"
                .. lheld .. " held by MainThread for "), b)
  assert(b:find("[C]: in method 'acquire'\n\ttracebacks.lua:" .. lacquire
                .. ":", 1, true), b)
  b = block(s, "in-coroutine")
  assert(b:find("blocked in Semaphore.acquire on Semaphore@tracebacks.lua:"
                .. lsem, 1, true), b)
  assert(b:find("(in a coroutine resumed by)", 1, true), b)
  if spinner then
    b = block(s, "spinner")
    assert(b:find("\n  waiting for the GIL for ", 1, true), b)
  end
  b = block(s, "sleeper")
  assert(b:find("\n  blocked in time%.sleep for ") or  -- or woken, or
         b:find("\n  waiting for the GIL") or   -- not run yet at all
         b:find("\n  ready to run") or b:find("\n  starting\n"), b)

  -- the same as a table, by ident
  local all = threading.tracebacks()
  for _, t in pairs(all) do
    t.traceback = norm(t.traceback)
    if t.waiting then t.waiting = norm(t.waiting) end
    for i, h in ipairs(t.holds) do t.holds[i] = norm(h) end
  end
  local me = all[threading.get_ident()]
  assert(me.name == "MainThread" and me.state == "running" and
         me.thread == threading.main_thread() and me.daemon == false)
  assert(#me.holds == 2 and me.holds[2] == "Lock@tracebacks.lua:" .. lheld)
  assert(me.traceback:find("^stack traceback:\n\ttracebacks.lua:%d+: in "
                           .. "main chunk"), me.traceback)
  local t = all[locker.ident]
  assert(t.thread == locker and t.name == "locker" and t.daemon == true)
  assert(t.state == "blocked" and t.native_id == locker.native_id)
  assert(t.waiting == "Lock.acquire on Lock@tracebacks.lua:" .. lheld
         .. " held by MainThread", t.waiting)
  assert(type(t.since) == "number" and t.since >= 0)
  assert(#t.holds == 0)
  assert(not spinner or all[spinner.ident].state == "waiting for the GIL")
  assert(all[evwaiter.ident].waiting == "Event.wait on Event@tracebacks.lua:"
         .. lev)

  -- a new name shows
  evwaiter.name = "renamed"
  assert(threading.tracebacks()[evwaiter.ident].name == "renamed")
  assert(dump():find("\nrenamed (ident ", 1, true))

  spin = false
  held:release()
  rl:release(); rl:release()
  ev:set()
  sem:release()
  for _, th in ipairs{evwaiter, locker, sleeper, inco, spinner} do
    th:join()
  end
  -- ended threads are not listed
  all = threading.tracebacks()
  assert(all[locker.ident] == nil and all[threading.get_ident()] ~= nil)
end

-- join, Condition, Queue and Barrier waits, and a thread not run yet.
do
  local c = threading.Condition()
  local q = require("queue").Queue()
  local b = threading.Barrier(2)
  local cw = testlib.go(function () c:with(function () c:wait() end) end)
  local qw = testlib.go(function () q:get() end)
  local bw = testlib.go(function () b:wait() end)
  local jw = testlib.go(function () qw:join() end)
  for _, t in ipairs{cw, qw, bw, jw} do wait_blocked(t) end
  local all = threading.tracebacks()
  for _, t in pairs(all) do
    if t.waiting then t.waiting = norm(t.waiting) end
  end
  assert(all[cw.ident].waiting:find("^Condition%.wait on Condition@"
                                    .. "tracebacks%.lua:%d+$"),
         all[cw.ident].waiting)
  assert(all[qw.ident].waiting:find("^Queue%.get on Queue@"
                                    .. "tracebacks%.lua:%d+$"))
  assert(all[bw.ident].waiting:find("^Barrier%.wait on Barrier@"
                                    .. "tracebacks%.lua:%d+$"),
         all[bw.ident].waiting)
  assert(all[jw.ident].waiting == "join " .. qw.name, all[jw.ident].waiting)
  c:with(function () c:notify() end)
  q:put(1)
  b:wait()
  for _, t in ipairs{cw, qw, bw, jw} do t:join() end
end

-- Misuse.
do
  checkerror("bad argument #1 to 'dump_tracebacks' (file expected, got "
             .. "number)", threading.dump_tracebacks, 42)
  local f = io.tmpfile()
  f:close()
  checkerror("closed file", threading.dump_tracebacks, f)
end

print("OK")
