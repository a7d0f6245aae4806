-- tests/lua/gil.lua -- the GIL's periodic release as seen from Lua: a
-- CPU-bound thread is preempted wherever it spins (a loop, a for, a
-- coroutine, a function called in a loop), several CPU-bound threads all
-- progress, and debug hooks coexist with the GIL. Thread-safe require:
-- tests/lua/require.lua.
print("testing the GIL")

local threading = require "threading"
local time = require "time"

-- Start a thread that spins in 'spin(flag)' until flag.stop is set; a
-- second thread sets it. Without preemption this would never end.
local function preempted (spin)
  local flag = {stop = false}
  local spinner = threading.Thread{target = spin, args = {flag}}
  spinner:start()
  local setter = threading.Thread{target = function () flag.stop = true end}
  setter:start()
  setter:join()
  spinner:join()
  assert(flag.stop)
end

preempted(function (flag) while not flag.stop do end end)
preempted(function (flag)
  while not flag.stop do
    for i = 1, 1000 do local _ = i * 2 end
  end
end)
preempted(function (flag)
  local co = coroutine.wrap(function ()
    while not flag.stop do end
    coroutine.yield("done")
  end)
  assert(co() == "done")
end)
preempted(function (flag)
  local co = coroutine.create(function ()
    local inner = coroutine.wrap(function () while not flag.stop do end end)
    inner()
  end)
  assert(coroutine.resume(co))
end)
preempted(function (flag)
  local function step (x) return x + 1 end
  local n = 0
  while not flag.stop do n = step(n) end
end)

-- The main thread spinning is preempted too.
do
  local flag = false
  local t = threading.Thread{target = function () flag = true end}
  t:start()
  while not flag do end
  t:join()
end

-- N CPU-bound threads all make progress within a short time.
do
  local N = 4
  local progress = {}
  local stop = false
  local ts = {}
  for i = 1, N do
    progress[i] = 0
    ts[i] = threading.Thread{target = function ()
      while not stop do progress[i] = progress[i] + 1 end
    end}
    ts[i]:start()
  end
  local all
  repeat  -- the main thread takes turns too; ends once all have run
    all = true
    for i = 1, N do if progress[i] == 0 then all = false end end
  until all
  stop = true
  for i = 1, N do ts[i]:join() end
end

-- A sleeper wakes while another thread spins.
do
  local stop = false
  local spinner = threading.Thread{target = function ()
    while not stop do end
  end}
  spinner:start()
  local woke = false
  local sleeper = threading.Thread{target = function ()
    time.sleep(0.01)
    woke = true
    stop = true
  end}
  sleeper:start()
  sleeper:join()
  spinner:join()
  assert(woke)
end

-- time.sleep(0) hands the GIL to a waiting thread. The switch interval
-- is made too long to matter, or a forced switch would end the loop too.
do
  local interval = threading.getswitchinterval()
  threading.setswitchinterval(1e6)
  local ran = false
  local t = threading.Thread{target = function () ran = true end}
  t:start()
  while not ran do time.sleep(0) end
  t:join()
  threading.setswitchinterval(interval)
end

-- debug.sethook/gethook: a user's hook works while threads switch.
do
  local lines = 0
  local function hook (ev, line)
    assert(ev == "line" and math.type(line) == "integer")
    lines = lines + 1
  end
  debug.sethook(hook, "l")
  local f, m, c = debug.gethook()
  assert(f == hook and m == "l" and c == 0)
  local t = threading.Thread{target = function ()
    for i = 1, 200000 do local _ = i end
  end}
  t:start()
  for i = 1, 10 do local _ = i end
  t:join()
  debug.sethook()
  assert(debug.gethook() == nil)
  assert(lines >= 10, "line hook ran " .. lines .. " times")
  -- a count hook keeps its count
  local counts = 0
  debug.sethook(function (ev) assert(ev == "count"); counts = counts + 1 end,
                "", 1000)
  local _, _, count = debug.gethook()
  assert(count == 1000)
  local spinner = threading.Thread{target = function ()
    local x = 0 for i = 1, 100000 do x = x + i end
  end}
  spinner:start()
  for i = 1, 100000 do local _ = i end
  spinner:join()
  debug.sethook()
  assert(counts >= 100, "count hook ran " .. counts .. " times")
  -- a hook set on a coroutine
  local co = coroutine.create(function () for i = 1, 3 do local _ = i end end)
  local seen = 0
  debug.sethook(co, function () seen = seen + 1 end, "l")
  assert(debug.gethook(co) ~= nil and debug.gethook() == nil)
  coroutine.resume(co)
  assert(seen > 0)
end

-- Coroutines keep stock semantics.
do
  local co = coroutine.create(function (a) local b = coroutine.yield(a + 1)
    error("boom" .. b) end)
  local ok, v = coroutine.resume(co, 1)
  assert(ok and v == 2)
  local ok2, err = coroutine.resume(co, 5)
  assert(not ok2 and err:find("boom5"))
  assert(coroutine.status(co) == "dead")
  local ok3, err3 = coroutine.resume(co)
  assert(not ok3 and err3 == "cannot resume dead coroutine")
  local w = coroutine.wrap(function () error("wrapped") end)
  local ok4, err4 = pcall(w)
  assert(not ok4 and err4:find("wrapped"))
  local ok5, err5 = pcall(coroutine.resume, 42)
  assert(not ok5 and err5:find("bad argument #1 to", 1, true)
         and err5:find("thread expected", 1, true))
  local closed = false
  local cc = coroutine.create(function ()
    local _ <close> = setmetatable({}, {__close = function () closed = true end})
    coroutine.yield()
  end)
  coroutine.resume(cc)
  assert(coroutine.close(cc) and closed)
  local running = coroutine.running()
  local ok6, err6 = pcall(coroutine.close, running)
  assert(not ok6 and err6:find("cannot close a running coroutine"))
end

print("OK")
