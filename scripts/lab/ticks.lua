-- scripts/lab/ticks.lua -- lab 5, the old GIL's thrash: under 'ticks'
-- (Python 2's GIL) the holder drops the GIL every N instructions and at
-- once competes to take it back, with no forced switching. On one core
-- that is cheap; on two, the thread that was woken is still getting up
-- when the holder takes the GIL back, so they fight over it, and two
-- CPU-bound threads run slower than the same work done in one (David
-- Beazley, "Inside the Python GIL", 2009). Under 'interval' (the new GIL)
-- the two threads cost the same as one.
-- Usage: luagil scripts/lab/ticks.lua [--small] [--html=PATH]
--        (the timelines: PATH for 'ticks', PATH-interval for contrast)
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;"
               .. package.path
local lab = require "lab"
local gil = require "gil"

local o = lab.init("ticks")
local N = o.small and 1000000 or 10000000   -- terms of the sum, in total
local TICKS = 200   -- the default: Python 2.7.18's 100 ticks (vm/gil.c)

-- The two halves one after the other in this thread.
local function sequential (n)
  lab.work(0, n // 2)
  lab.work(n // 2, n)
end

-- The two halves in two threads at once.
local function threaded (n)
  lab.run_threads(2, "half", function (k)
    lab.work((k - 1) * n // 2, k * n // 2)
  end)
end

local rows = {}
for _, policy in ipairs{"interval", "ticks"} do
  if lab.policy(policy, policy == "ticks" and {n = TICKS} or nil) then
    local seq = lab.timed(sequential, N)
    local before = gil.stats()
    local thr = lab.timed(threaded, N)
    local d = lab.delta(before)
    rows[#rows + 1] = {policy == "ticks" and ("ticks:" .. TICKS) or policy,
                       seq, thr, string.format("%.2fx", thr / seq),
                       d.switches, string.format("%.0f", d.switches / thr)}
    -- a short run drawn: the fight is visible in the first milliseconds
    lab.traced(policy == "ticks" and o.html or lab.html_with(o, policy),
               threaded, N // 20)
  end
end
lab.policy("interval")
print(("== sum of i^0.3 for i < %d: one thread vs two threads"):format(N))
lab.table({"policy", "1 thread s", "2 threads s", "2 threads / 1",
           "switches", "switches/s"}, rows)
