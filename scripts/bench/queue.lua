-- queue: one producer puts 200,000 integers into queue.Queue(1000), one
-- consumer gets them all (as the anchors' python/queue.py).
-- goal: items_per_s/ruby >= 1
-- goal: items_per_s/python >= 8
local queue = require "queue"
local threading = require "threading"
local time = require "time"

local N = 200000
local q = queue.Queue(1000)
local total = 0

local function producer ()
  for i = 0, N - 1 do
    q:put(i)
  end
end

local function consumer ()
  local s = 0
  for _ = 1, N do
    s = s + q:get()
  end
  total = s
end

local t0 = time.perf_counter()
local threads = {threading.Thread{target = producer},
                 threading.Thread{target = consumer}}
for _, t in ipairs(threads) do t:start() end
for _, t in ipairs(threads) do t:join() end
local dt = time.perf_counter() - t0
assert(total == N * (N - 1) // 2)
print(string.format("queue items_per_s=%.0f items/s n=%d total_s=%.3f",
                    N / dt, N, dt))
