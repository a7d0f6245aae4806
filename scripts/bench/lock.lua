-- lock: 1,000,000 acquire+release pairs of an uncontended threading.Lock,
-- one thread (as the anchors' python/lock.py). ns_per_pair includes the
-- for-loop; with_ns (the lock:with(fn) form, Python's `with lock:`) and
-- loop_ns (the empty loop) are given for reference.
-- goal: ns_per_pair/python <= 0.75
-- goal: ns_per_pair/ruby <= 1
local threading = require "threading"
local time = require "time"

local N = 1000000
local lock = threading.Lock()

local t0 = time.perf_counter()
for _ = 1, N do
  lock:acquire()
  lock:release()
end
local pair = time.perf_counter() - t0

local function pass () end
t0 = time.perf_counter()
for _ = 1, N do
  lock:with(pass)
end
local with = time.perf_counter() - t0

t0 = time.perf_counter()
for _ = 1, N do
end
local loop = time.perf_counter() - t0

print(string.format("lock ns_per_pair=%.1f ns with_ns=%.1f loop_ns=%.1f",
                    pair / N * 1e9, with / N * 1e9, loop / N * 1e9))
