-- tests/lua/explore.lua -- luagil --explore: every bug of the corpus
-- (scripts/explore/) found within 100 runs of a fixed seed, its replay
-- failing the same way (same thread, same line) every time, the fixed
-- twins passing, the failure kinds, the options' errors.
print("testing luagil --explore")
local testlib = require "testlib"

local LUAGIL = testlib.luagil
local CORPUS = "../../scripts/explore/"

-- 'cmd' run by the shell, stdout and stderr together; status, output.
local function sh (cmd)
  local p = assert(io.popen("(" .. cmd .. ") < /dev/null 2>&1; " ..
                            "echo \"status=$?\""))
  local out = p:read("a")
  p:close()
  return tonumber(out:match("status=(%d+)\n$")), out:gsub("status=%d+\n$", "")
end

local function explore (args, script)
  return sh(("timeout 120 %s %s %s"):format(LUAGIL, args, script))
end

-- What an exploration that failed says: the failing thread, the message,
-- the replay command.
local function failure (out)
  local thread, msg = out:match("in thread '([^']*)': ([^\n]*)")
  local replay = out:match("\n  replay: ([^\n]*)")
  return thread, msg, replay
end

-- The replay must fail the same way, 'times' times out of 'times' (a
-- thread's error is printed, as Python does, without changing the exit
-- status; the main thread's ends the program with status 1).
local function replays (replay, thread, msg, times)
  for _ = 1, times do
    local st, out = sh("timeout 60 " .. replay)
    assert(st ~= 0 or thread ~= "MainThread", "the replay passed: " .. replay)
    assert(out:find(msg, 1, true),
           ("replay %s: %q not in:\n%s"):format(replay, msg, out))
    if thread ~= "MainThread" then
      assert(out:find("Exception in thread " .. thread .. ":", 1, true),
             "replay: not in thread " .. thread .. ":\n" .. out)
    end
  end
end

-- Every bug of the corpus, what its failure says, and its twin.
do
  local bugs = {
    {"lost_update", "lost update"},
    {"check_then_act", "check-then-act"},
    {"abba_deadlock", "threading.DeadlockError"},
    {"lost_wakeup", "threading.DeadlockError"},
    {"double_checked", "double-checked"},
    {"bank_transfer", "bank transfer"},
    {"shutdown_drop", "shutdown:"},
    {"timer_cancel", "timer:"},
  }
  for _, b in ipairs(bugs) do
    local name, expect = b[1], b[2]
    local st, out = explore("--explore=100 --explore-seed=1",
                            CORPUS .. name .. ".lua")
    assert(st == 1, name .. ": not found:\n" .. out)
    local run = tonumber(out:match("^explore: run (%d+) of 100 failed"))
    assert(run and run <= 100, name .. ":\n" .. out)
    assert(out:find("forced switches: %d+"), out)
    local thread, msg, replay = failure(out)
    assert(thread and msg and replay, name .. ": bad report:\n" .. out)
    assert(msg:find(expect, 1, true), name .. ": " .. msg)
    assert(replay:find("--gil-policy=deterministic:pct", 1, true), replay)
    assert(replay:find("%-%-seed=%d+"), replay)
    replays(replay, thread, msg, 3)
    st, out = explore("--explore=200 --explore-seed=1",
                      CORPUS .. name .. "_fixed.lua")
    assert(st == 0 and out:find("explored 200 schedules, no failure", 1,
                                true), name .. "_fixed:\n" .. out)
  end
end

-- One replay, ten times: same thread, same line.
do
  local st, out = explore("--explore --explore-seed=7",
                          CORPUS .. "bank_transfer.lua")
  assert(st == 1, out)
  local thread, msg, replay = failure(out)
  assert(thread == "Thread-2", out)  -- the auditor
  replays(replay, thread, msg, 10)
end

-- The random strategy finds the lost update too, and replays it.
do
  local st, out = explore("--explore=100 --explore-strategy=random",
                          CORPUS .. "lost_update.lua")
  assert(st == 1 and out:find("(random schedule)", 1, true), out)
  local thread, msg, replay = failure(out)
  assert(replay:find("%-%-gil%-policy=deterministic:%d+ "), replay)
  replays(replay, thread, msg, 3)
end

local function script (code)
  local file = os.tmpname()
  local f = assert(io.open(file, "w"))
  f:write(code)
  f:close()
  return file
end

-- A thread's error counts even when threading.excepthook says nothing.
do
  local file = script([[
    local threading = require "threading"
    threading.excepthook = function () end
    local t = threading.Thread{name = "quiet", target = function ()
      error("boom")
    end}
    t:start(); t:join()
  ]])
  local st, out = explore("--explore=5", file)
  assert(st == 1, out)
  local thread, msg = failure(out)
  assert(thread == "quiet" and msg:find(":4: boom", 1, true), out)
  os.remove(file)
end

-- A non-zero exit is a failure; a script that passes is explored in full.
do
  local file = script("os.exit(3)\n")
  local st, out = explore("--explore=5", file)
  assert(st == 1 and out:find("exit status 3", 1, true), out)
  os.remove(file)
  file = script("local x = 1\n")
  st, out = explore("--explore=7", file)
  assert(st == 0 and out:find("explored 7 schedules, no failure", 1, true),
         out)
  os.remove(file)
end

-- A livelock: a spinning thread that outranks the one it waits for runs
-- past the budget; the replay, with the same budget, stops the same way.
do
  local file = script([[
    local threading = require "threading"
    local flag = false
    local a = threading.Thread{target = function ()
      while not flag do end
    end}
    local b = threading.Thread{target = function () flag = true end}
    a:start(); b:start(); a:join(); b:join()
  ]])
  local st, out = explore("--explore=50 --explore-budget=200000", file)
  assert(st == 1 and out:find("budget exceeded in thread", 1, true), out)
  local thread, msg, replay = failure(out)
  assert(replay:find("--explore-budget=200000", 1, true), replay)
  st, out = sh("timeout 60 " .. replay)
  assert(st == 1 and out:find(msg, 1, true), out)
  assert(out:find("thread '" .. thread .. "'", 1, true), out)
  os.remove(file)
end

-- A livelock that sleeps: past the virtual time budget, at its line.
do
  local file = script([[
    local threading, time = require "threading", require "time"
    local flag = false
    local a = threading.Thread{name = "poller", target = function ()
      while not flag do time.sleep(0.01) end
    end}
    a:start(); a:join()
  ]])
  local st, out = explore("--explore=3 --explore-time-budget=10", file)
  assert(st == 1 and out:find("in thread 'poller': virtual time budget " ..
                              "of 10 s exceeded at ", 1, true), out)
  assert(out:find(":4 (a livelock?)", 1, true), out)  -- the while
  local thread, msg, replay = failure(out)
  assert(replay:find("--explore-time-budget=10", 1, true), replay)
  st, out = sh("timeout 60 " .. replay)
  assert(st == 1 and out:find(msg, 1, true), out)
  os.remove(file)
end

-- --explore-trace writes the failing run's timeline.
do
  local trace = os.tmpname() .. ".json"
  local st, out = explore("--explore --explore-trace=" .. trace,
                          CORPUS .. "lost_update.lua")
  assert(st == 1 and out:find("trace: " .. trace, 1, true), out)
  local f = assert(io.open(trace))
  assert(f:read("a"):find("traceEvents", 1, true))
  f:close()
  os.remove(trace)
end

-- A run that read a file is explored, and the report says that real I/O
-- is not replayed; the corpus' runs do none.
do
  local file = script([[
    local threading = require "threading"
    local f = assert(io.open("explore.lua")); f:read("l"); f:close()
    n = 0
    local function add () for _ = 1, 100 do n = n + 1 end end
    local a = threading.Thread{target = add}
    local b = threading.Thread{target = add}
    a:start(); b:start(); a:join(); b:join()
    assert(n == 200)
  ]])
  local st, out = explore("--explore", file)
  assert(st == 1 and out:find("note: the run did real I/O (1 blocking", 1,
                              true), out)
  os.remove(file)
  st, out = explore("--explore", CORPUS .. "lost_update.lua")
  assert(st == 1 and not out:find("real I/O", 1, true), out)
end

-- Virtual time under the deterministic policy: the clocks move only
-- when every thread is blocked, straight to the earliest deadline, so
-- sleeps, timeouts and Timers end at exact virtual instants.
do
  local file = script([[
    local threading, time = require "threading", require "time"
    local t0, w0, o0 = time.monotonic(), time.time(), os.time()
    time.sleep(10)
    assert(time.monotonic() - t0 == 10, "monotonic")
    assert(os.time() - o0 == 10, "os.time")
    assert(math.abs(time.time() - w0 - 10) < 1e-3, "time")
    local fired
    local timer = threading.Timer(5, function () fired = time.monotonic() end)
    local ev = threading.Event()
    timer:start()
    assert(ev:wait(2) == false)          -- times out first, at +2
    assert(time.monotonic() - t0 == 12, "wait timeout")
    timer:join()
    assert(fired - t0 == 15, "timer")    -- 5 s after its start at +10
    local lock = threading.Lock()
    lock:acquire()
    assert(lock:acquire(true, 1) == false)
    assert(time.monotonic() - t0 == 16, "lock timeout")
    print("virtual ok")
  ]])
  local st, out = sh(LUAGIL .. " --gil-policy=deterministic " .. file)
  assert(st == 0 and out:find("virtual ok", 1, true), out)
  os.remove(file)
end

-- Threads that print replay the same way: a write is awaited by the
-- next holder (lg_blocking_brief), so its timing decides nothing.
do
  local file = script([[
    local threading = require "threading"
    n = 0
    local function add (name)
      for i = 1, 30 do
        local v = n
        print(name, i, v)
        n = v + 1
      end
    end
    local a = threading.Thread{target = add, args = {"a"}}
    local b = threading.Thread{target = add, args = {"b"}}
    a:start(); b:start(); a:join(); b:join()
    print("n", n)
  ]])
  for _, policy in ipairs{"deterministic:pct:40,200", "deterministic:50"} do
    local first
    for _ = 1, 5 do
      local st, out = sh(("%s --gil-policy=%s --seed=3 %s")
                         :format(LUAGIL, policy, file))
      assert(st == 0, out)
      first = first or out
      assert(out == first, policy .. ": a replay printed otherwise")
    end
  end
  os.remove(file)
end

-- Bad options.
do
  local st, out = explore("--explore=0", CORPUS .. "lost_update.lua")
  assert(st == 1 and out:find("bad value '0' for option '--explore'", 1,
                              true), out)
  st, out = sh(LUAGIL .. " --explore")
  assert(st == 1 and out:find("option '--explore' needs a script", 1,
                              true), out)
  st, out = explore("--explore --explore-depth=99",
                    CORPUS .. "lost_update.lua")
  assert(st == 1 and out:find("--explore-depth", 1, true), out)
  st, out = explore("--explore --explore-strategy=dfs",
                    CORPUS .. "lost_update.lua")
  assert(st == 1 and out:find("expected one of: pct|random", 1, true), out)
  st, out = explore("--explore --explore-seed=x",
                    CORPUS .. "lost_update.lua")
  assert(st == 1 and out:find("an integer expected", 1, true), out)
  st, out = sh(LUAGIL .. " --gil-policy=deterministic:pct:5,3 -e ''")
  assert(st == 1 and out:find("bad GIL policy", 1, true), out)
end

print("OK")
