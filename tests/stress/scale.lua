-- tests/stress/scale.lua -- N threads (default 100,000) all wait on one
-- threading.Event; once every one of them is parked in its wait, the Event
-- is set and all are joined. Every thread must have come back from its wait
-- and none may have failed. Prints the time of each phase and the RSS.
-- Usage: luagil tests/stress/scale.lua [N]   Run by scripts/stress.
local threading = require "threading"
local time = require "time"

local N = math.tointeger(tonumber(arg and arg[1])) or 100000
assert(N > 0, "N must be a positive integer")

local function status (field)
  for l in io.lines("/proc/self/status") do
    local kb = l:match("^" .. field .. ":%s*(%d+)")
    if kb then return tonumber(kb) end
  end
end

local failed = 0
threading.excepthook = function (a)
  failed = failed + 1
  io.stderr:write(("scale: %s failed: %s\n"):format(
    a.thread and a.thread.name or "?", tostring(a.exc_value)))
end

local ev = threading.Event()
local done = {}

local t0 = time.perf_counter()
local threads = {}
for i = 1, N do
  local t = threading.Thread{target = function ()
    assert(ev:wait() == true)
    done[i] = true  -- one table store: atomic under the GIL
  end}
  threads[i] = t
  t:start()
end
local t1 = time.perf_counter()
-- Every thread parked in ev:wait() (a private method: how many are), so
-- that set() below releases all N at once.
while ev:_waiting() < N do time.sleep(0.001) end
local t2 = time.perf_counter()
local rss_parked = status("VmRSS")
ev:set()
for i = 1, N do threads[i]:join() end
local t3 = time.perf_counter()

local missing = 0
for i = 1, N do
  if not done[i] then missing = missing + 1 end
end
print(("scale: %d threads: start %.2f s, all parked %.2f s, release+join " ..
       "%.2f s, total %.2f s"):format(N, t1 - t0, t2 - t0, t3 - t2, t3 - t0))
print(("scale: RSS with all parked %.1f MB, peak %.1f MB (%.1f KB/thread)")
        :format(rss_parked / 1024, status("VmHWM") / 1024,
                status("VmHWM") / N))
assert(failed == 0, failed .. " threads failed")
assert(missing == 0, missing .. " threads never returned from their wait")
assert(threading.active_count() == 1, "threads still registered")
print("scale OK")
