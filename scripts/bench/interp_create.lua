-- interp_create: 300 times, create an interpreter, call a trivial function
-- there and close it; microseconds per interpreter for each step and in all
-- (total_us). The peer is CPython 3.13's isolated subinterpreters
-- (peers/python/interp_create.py: _interpreters.create, exec, destroy).
-- goal: total_us <= 100
-- goal: total_us/python <= 0.05
local interpreters = require "interpreters"
local time = require "time"

local N = 300

local function trivial () return 1 end

local create, call, close = 0.0, 0.0, 0.0
for _ = 1, N do
  local t0 = time.perf_counter()
  local ip = interpreters.create()
  local t1 = time.perf_counter()
  assert(ip:call(trivial) == 1)
  local t2 = time.perf_counter()
  ip:close()
  local t3 = time.perf_counter()
  create, call, close = create + (t1 - t0), call + (t2 - t1), close + (t3 - t2)
end
local us = 1e6 / N
print(string.format("interp_create total_us=%.1f us create_us=%.1f "
  .. "call_us=%.1f close_us=%.1f n=%d", (create + call + close) * us,
  create * us, call * us, close * us, N))
