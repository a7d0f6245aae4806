-- tests/lua/gil_policies.lua -- each GIL policy's scheduling facts as
-- gil.stats shows them (issue 17): the names and counts setpolicy and
-- getpolicy take, gvl's FIFO turns and its time slice, interval's and
-- gvl's drop requests. What a release around a blocking call does is
-- tested in C, where the waiter can be held still (unit.test_gil,
-- free_release_*). Never an upper bound on a time: speed is the lab's
-- (scripts/lab/fidelity.lua).
print("testing the GIL policies")

local gil = require "gil"
local testlib = require "testlib"
local threading = require "threading"
local time = require "time"

local checkerror = testlib.checkerror


-- {======================================================
-- Names, counts and errors
-- =======================================================

local function policy ()
  return table.pack(gil.getpolicy())
end

do
  assert(policy()[1] == "interval" and policy()[2] == "handoff")
  gil.setpolicy("interval", {release = "free"})
  assert(policy()[1] == "interval" and policy()[2] == "free")
  gil.setpolicy("interval")
  assert(policy()[2] == "handoff", "interval alone is the handoff")
  gil.setpolicy("ticks")
  assert(policy()[1] == "ticks" and policy()[2] == 200)
  gil.setpolicy("gvl")
  assert(policy()[1] == "gvl" and policy()[2] == 100, "100 ms, as Ruby")
  gil.setpolicy("gvl", {n = 20})
  assert(policy()[2] == 20)
  gil.setpolicy("priority-io")
  assert(policy()[1] == "priority-io" and policy()[2] == 0)
  gil.setpolicy("priority-io", {n = 5})
  assert(policy()[2] == 5)
  checkerror("'interval' takes no 'n'", gil.setpolicy, "interval", {n = 2})
  checkerror("only 'interval' takes a 'release'", gil.setpolicy, "gvl",
             {release = "free"})
  checkerror("field 'release' must be 'handoff' or 'free'", gil.setpolicy,
             "interval", {release = "soon"})
  checkerror("n must be a positive number of milliseconds", gil.setpolicy,
             "gvl", {n = 0})
  checkerror("n must be a positive factor", gil.setpolicy, "priority-io",
             {n = -1})
  checkerror("invalid option 'ruby'", gil.setpolicy, "ruby")
  gil.setpolicy("interval")
end

-- The command line takes the same, and refuses what setpolicy refuses.
do
  for spec, want in pairs{["interval:free"] = "interval free",
                          ["interval:handoff"] = "interval handoff",
                          ["gvl:50"] = "gvl 50", gvl = "gvl 100",
                          ["priority-io:3"] = "priority-io 3",
                          ticks = "ticks 200"} do
    local status, out = testlib.run(
      "print(table.concat({require'gil'.getpolicy()}, ' '))",
      {args = "--gil-policy=" .. spec})
    assert(status == 0 and out == want .. "\n", spec .. ": " .. out)
  end
  for _, spec in ipairs{"interval:5", "interval:fre", "gvl:0", "gvl:x",
                        "priority-io:free"} do
    local status, out = testlib.run("", {args = "--gil-policy=" .. spec})
    assert(status ~= 0 and out:find("bad GIL policy '" .. spec .. "'", 1,
                                    true), spec .. ": " .. out)
  end
end

-- }======================================================


-- {======================================================
-- Scheduling facts (they need pure Lua to be preempted)
-- =======================================================

if not testlib.preempts then
  print("(the scheduling facts need preemption: skipped under TSan)")
  print("OK")
  return
end


-- Three CPU-bound threads under 'policy' (gvl with 1 ms slices, or
-- interval): once all three queue, each drop request hands the GIL to the
-- head of the queue and the yielder queues at the back, so the turns go
-- round in a fixed order: the turn sequence has period 3.
local function turns (spec, opts)
  gil.setpolicy(spec, opts)
  local seq, stop, last = {}, false, nil
  local ready = threading.Barrier(3)
  local function spin (me)
    ready:wait()
    while not stop do
      if last ~= me then
        last = me
        seq[#seq + 1] = me
        if #seq >= 60 then stop = true end
      end
    end
  end
  local ts = {}
  for k = 1, 3 do
    ts[k] = threading.Thread{target = spin, args = {k}}
    ts[k]:start()
  end
  for _, t in ipairs(ts) do t:join() end
  gil.setpolicy("interval")
  -- past the start (the barrier's own switches), a cycle of all three
  for i = 20, 50 do   -- not the end: the threads exit one by one
    assert(seq[i] == seq[i + 3], spec .. ": turns not FIFO at " .. i ..
           ": " .. table.concat(seq, " "))
  end
  assert(seq[30] ~= seq[31] and seq[31] ~= seq[32] and seq[30] ~= seq[32])
end

turns("gvl", {n = 1})
turns("interval")


-- gvl's slice: a thread that wants the GIL while a CPU-bound one holds it
-- waits a whole slice (here 300 ms, against a 1 ms switch interval that
-- 'interval' would ask after), and the request is the timer's.
do
  gil.setswitchinterval(0.001)
  gil.setpolicy("gvl", {n = 300})
  local started, stop = threading.Event(), false
  local spinner = threading.Thread{target = function ()
    started:set()
    while not stop do end
  end}
  spinner:start()
  started:wait()
  local t0 = time.perf_counter()
  time.sleep(0.001)      -- back from it, the main thread must wait
  local waited = time.perf_counter() - t0
  stop = true
  spinner:join()
  gil.setpolicy("interval")
  gil.setswitchinterval(0.005)
  assert(waited >= 0.25, ("waited %.3f s, not a 300 ms slice"):format(
         waited))
end

-- interval asks after its switch interval, whatever gvl's slice was.
do
  gil.setswitchinterval(0.001)
  local started, stop = threading.Event(), false
  local spinner = threading.Thread{name = "spinner", target = function ()
    started:set()
    while not stop do end
  end}
  spinner:start()
  started:wait()
  for _ = 1, 20 do time.sleep(0.0001) end
  stop = true
  spinner:join()
  gil.setswitchinterval(0.005)
  local forced
  for _, t in ipairs(gil.stats().threads) do
    if t.name == "spinner" then forced = t.forced_drops end
  end
  assert(forced >= 20, "the spinner yielded to each of main's returns")
end

-- }======================================================


-- {======================================================
-- priority-io's send, on one CPU and on several (issue 17)
-- =======================================================

-- On several CPUs a send that need not wait keeps the GIL (the peer it
-- wakes asks by its own priority); on one it lets the GIL go, as
-- interval's does: the woken peer runs on that CPU and would find the
-- GIL held. gil.stats counts the main thread's drops around the sends.
do
  local code = [[
    local gil = require "gil"
    local socket = require "socket"
    local threading = require "threading"
    gil.setpolicy("priority-io")
    local a, b = assert(socket.socketpair())
    local function drops ()
      for _, t in ipairs(gil.stats().threads) do
        if t.ident == threading.get_ident() then return t.blocking_drops end
      end
    end
    local before = drops()
    for _ = 1, 100 do assert(a:send("x")) end
    assert(b:receive(100) == ("x"):rep(100))
    print("drops=" .. drops() - before)
  ]]
  local function sends_dropped (opts)
    local status, out = testlib.run(code, opts)
    assert(status == 0, out)
    return tonumber((assert(out:match("drops=(%d+)"), out)))
  end
  assert(sends_dropped{shell = "taskset -c 0"} >= 100,
         "one CPU: every send lets the GIL go")
  local p = assert(io.popen("nproc"))
  local cpus = tonumber(p:read("a"))
  p:close()
  if cpus >= 2 then
    assert(sends_dropped() == 0, "several CPUs: no send had to wait")
  end
end

-- }======================================================

print("OK")
