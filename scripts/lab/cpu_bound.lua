-- scripts/lab/cpu_bound.lua -- lab 2, CPU-bound threads don't speed up:
-- the same total work (sum of i^0.3) split over 1, 2, 4 and 8 threads
-- takes the same wall time, since only the GIL holder runs Lua. The
-- timeline of the 8-thread run shows one green bar at a time, handed
-- around every switch interval.
-- Usage: luagil scripts/lab/cpu_bound.lua [--small] [--html=PATH]
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;"
               .. package.path
local lab = require "lab"
local gil = require "gil"
local threading = require "threading"

local o = lab.init("cpu_bound")
local N = o.small and 1000000 or 20000000  -- total terms of the sum
local TS = {1, 2, 4, 8}

local function work (lo, hi, out, k)
  local s = 0.0
  for i = lo, hi - 1 do s = s + i ^ 0.3 end
  out[k] = s
end

-- Wall time of the sum split over t threads.
local function run (t)
  local out, ts = {}, {}
  local step = N // t
  for k = 1, t do
    ts[k] = threading.Thread{name = "cpu-" .. k, target = work,
                             args = {(k - 1) * step, k * step, out, k}}
  end
  return lab.timed(function ()
    for _, th in ipairs(ts) do th:start() end
    for _, th in ipairs(ts) do th:join() end
  end)
end

local rows, t1 = {}, nil
for _, t in ipairs(TS) do
  local before = gil.stats()
  local dt
  if t == TS[#TS] then  -- the last one drawn
    dt = lab.traced(o.html, run, t)
  else
    dt = run(t)
  end
  local d = lab.delta(before)
  t1 = t1 or dt
  rows[#rows + 1] = {t, dt, string.format("%.2fx", t1 / dt), d.switches,
                     d.forced_drops}
end
print(("== sum of i^0.3 for i < %d, split over T threads (switch interval"
       .. " %g ms)"):format(N, gil.getswitchinterval() * 1e3))
lab.table({"threads", "wall s", "speedup", "switches", "forced drops"}, rows)
