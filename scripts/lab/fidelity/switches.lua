-- scripts/lab/fidelity/switches.lua -- the switch-rate workload of the
-- fidelity lab, luagil's version; see LICENSE (MIT). Two CPU-bound
-- threads spin for DUR seconds. Each notes, on every iteration, whether
-- it was the other one that ran last: 'seen_per_s' counts those changes
-- of the running thread per second, the proxy the real runtimes are
-- measured with too; 'stats_per_s' is gil.stats()'s own switch count.
-- Usage: luagil switches.lua [DUR]   (default 1.0 s)
local gil = require "gil"
local threading = require "threading"
local time = require "time"

local DUR = tonumber(arg[1]) or 1.0
local stop = false
local owner = 0        -- the worker that ran last
local seen = {0, 0}    -- changes of the running thread, per worker

local function worker (me)
  local x, n = 0, 0
  while not stop do
    if owner ~= me then
      owner = me
      n = n + 1
    end
    x = x + 1
  end
  seen[me] = n
end

local ts = {threading.Thread{target = worker, args = {1}},
            threading.Thread{target = worker, args = {2}}}
local before = gil.stats().switches
local t0 = time.perf_counter()
for _, t in ipairs(ts) do t:start() end
time.sleep(DUR)
stop = true
for _, t in ipairs(ts) do t:join() end
local dt = time.perf_counter() - t0
local switches = gil.stats().switches - before
print(string.format("switches seen_per_s=%.0f stats_per_s=%.0f",
                    (seen[1] + seen[2]) / dt, switches / dt))
