-- single: one thread, no threads started. The same work as the anchors'
-- python/single.py and lua/single.lua -- recursive fib(30), then the cpu sum
-- (sum of i^0.3 for 0 <= i < 4,000,000) -- plus a 50,000,000-iteration integer
-- loop, the purest measure of the VM's dispatch speed.
--
-- Plain Lua on purpose (no luagil module): the runner runs this very file under
-- stock lua5.4 too, so luagil's ratio to stock Lua compares identical work.
-- Timed in process CPU time (os.clock), like the anchors.
-- bench: stock-lua
-- goal: fib30_s/lua5.4 <= 1.02
-- goal: sum_s/lua5.4 <= 1.02
-- goal: loop_s/lua5.4 <= 1.02
local function fib(n)
  if n < 2 then return n end
  return fib(n - 1) + fib(n - 2)
end

local function work(lo, hi)
  local s = 0.0
  for i = lo, hi - 1 do
    s = s + i ^ 0.3      -- ^ always yields a float in Lua
  end
  return s
end

local function loop()
  local s = 0
  for i = 1, 50000000 do s = s + i end
  return s
end

local t0 = os.clock()
local f = fib(30)
local fib_s = os.clock() - t0
t0 = os.clock()
local s = work(0, 4000000)
local sum_s = os.clock() - t0
t0 = os.clock()
local l = loop()
local loop_s = os.clock() - t0
print(string.format("single fib30_s=%.4f s sum_s=%.4f loop_s=%.4f fib=%d sum=%.6e loop_sum=%d",
                    fib_s, sum_s, loop_s, f, s, l))
