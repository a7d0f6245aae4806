-- tests/stress/stress.lua -- many threads switching as often as possible
-- while the collector runs: coroutines, tables, strings, closures, errors,
-- and sleeps that move a thread to another OS thread (vm/task.h).
-- A race against Lua's own state shows up here as a crash or a wrong sum.
-- Run by scripts/stress, also under valgrind's helgrind.
local threading = require "threading"
local time = require "time"

local N = tonumber(arg and arg[1]) or 4
local ITER = tonumber(arg and arg[2]) or 20000
threading.setswitchinterval(0.00001)

local function worker (id)
  local sum = 0
  local keep = {}
  for i = 1, ITER do
    local t = {id, i, tostring(i) .. "x"}   -- garbage for the collector
    keep[i % 64 + 1] = t
    local co = coroutine.wrap(function (a)
      local b = coroutine.yield(a + 1)
      return b * 2
    end)
    sum = sum + co(i) + co(1)               -- i + 1 + 2
    if i % 1000 == 0 then
      pcall(error, {i})                     -- unwinding across switches
      time.sleep(0)
      collectgarbage("step")
    end
    if i % 250 == 0 then
      time.sleep(0.00005)                   -- yields: may go on elsewhere
    end
  end
  return sum
end

local ts = {}
for i = 1, N do
  ts[i] = threading.Thread{target = worker, args = {i}}
  ts[i]:start()
end
local expect = ITER * (ITER + 1) // 2 + 3 * ITER
for i = 1, N do
  local got = ts[i]:value()
  assert(got == expect, ("thread %d: %d ~= %d"):format(i, got, expect))
end
print("stress OK", N, ITER)
