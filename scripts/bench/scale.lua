-- scale: start 10,000 threads that all block on one threading.Event, then
-- set it and join them all (as the anchors' python/scale.py). Wall time and
-- peak RSS (VmHWM).
-- goal: wall_s <= 1.0
-- goal: peak_rss_mb <= 170
local threading = require "threading"
local time = require "time"

local N = 10000
local ev = threading.Event()
local threads = {}
for i = 1, N do
  threads[i] = threading.Thread{target = function () ev:wait() end}
end
local t0 = time.perf_counter()
for _, t in ipairs(threads) do t:start() end
-- Wait until every thread is really parked in ev:wait() (a private
-- method, used only so that set() below wakes all 10,000 at once).
while ev:_waiting() < N do time.sleep(0.001) end
local t1 = time.perf_counter()
ev:set()
for _, t in ipairs(threads) do t:join() end
local t2 = time.perf_counter()
local hwm_kb
for l in io.lines("/proc/self/status") do
  hwm_kb = hwm_kb or tonumber(l:match("^VmHWM:%s*(%d+)"))
end
print(string.format("scale wall_s=%.3f s peak_rss_mb=%.1f start_s=%.3f "
                    .. "release_s=%.3f threads=%d", t2 - t0, hwm_kb / 1024,
                    t1 - t0, t2 - t1, N))
