-- interp_queue: one interpreter puts 200,000 integers into
-- interpreters.create_queue(1000), another interpreter gets them all, in
-- parallel (each has its own GIL). Timed from when the consumer is ready
-- until its sum comes back. The peer (peers/python/interp_queue.py):
-- CPython's multiprocessing.Queue(1000) between two processes, the same way.
-- goal: items_per_s >= 1000000
-- goal: items_per_s/python >= 10
local interpreters = require "interpreters"
local time = require "time"

local N = 200000
local q = interpreters.create_queue(1000)
local back = interpreters.create_queue()
local consumer <close> = interpreters.create()

local t = consumer:call_in_thread(function (q, back, n)
  back:put("ready")
  local s = 0
  for _ = 1, n do
    s = s + q:get()
  end
  back:put(s)
end, q, back, N)
assert(back:get() == "ready")
local t0 = time.perf_counter()
for i = 0, N - 1 do
  q:put(i)
end
local total = back:get()
local dt = time.perf_counter() - t0
t:join()
assert(total == N * (N - 1) // 2)
print(string.format("interp_queue items_per_s=%.0f items/s n=%d total_s=%.3f",
                    N / dt, N, dt))
