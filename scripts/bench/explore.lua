-- explore: how many schedules a second 'luagil --explore' runs for a small
-- two-thread script, about 1,000 instructions per thread, that never fails
-- (luagil only: the anchors have no such workload; issue 16 asks for at
-- least 100 runs/s). Each run is a child forked from the explorer.
-- goal: runs_per_s >= 100
local time = require "time"

local RUNS = 1000
local script = os.tmpname()
local f = assert(io.open(script, "w"))
f:write([[
local threading = require "threading"
local function work ()
  local s = 0
  for i = 1, 250 do s = s + i end
  return s
end
local a = threading.Thread{target = work}
local b = threading.Thread{target = work}
a:start(); b:start(); a:join(); b:join()
]])
f:close()
local luagil = arg[-1]
local t0 = time.perf_counter()
local p = assert(io.popen(("%s --explore=%d %s 2>&1")
                          :format(luagil, RUNS, script)))
local out = p:read("a")
p:close()
local dt = time.perf_counter() - t0
os.remove(script)
assert(out:find("no failure", 1, true), out)
print(("explore runs_per_s=%.0f runs/s runs=%d total_s=%.3f")
      :format(RUNS / dt, RUNS, dt))
