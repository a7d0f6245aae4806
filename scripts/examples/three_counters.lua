-- scripts/examples/three_counters.lua -- three threads increment two
-- counters: count1 without a lock (updates get lost), count2 under a lock
-- taken three ways -- acquire/release, try/finally (pcall), and with
-- (a guard) -- which always ends exact.
local threading = require "threading"

local N = 300000  -- the tutorial's 10 million, scaled down

local M = {lock = threading.Lock(), count1 = 0, count2 = 0}
M.__index = M
M.__call = function (_, name)
  if name == "A" then
    for _ = 1, N do M.count1 = M.count1 + 1 end
    M.lock:acquire()
    for _ = 1, N do M.count2 = M.count2 + 1 end
    M.lock:release()
  elseif name == "B" then
    for _ = 1, N do M.count1 = M.count1 + 1 end
    M.lock:acquire()
    local ok, err = pcall(function ()
      for _ = 1, N do M.count2 = M.count2 + 1 end
    end)
    M.lock:release()  -- finally
    if not ok then error(err, 0) end
  elseif name == "C" then
    M.count1 = M.count1 + 1
    local _ <close> = M.lock:guard()  -- with M.lock:
    for _ = 1, N do M.count2 = M.count2 + 1 end
  end
end

threading.setswitchinterval(0.0001)
local ts = {}
for i, name in ipairs{"A", "B", "C"} do
  ts[i] = threading.Thread{target = setmetatable({}, M), args = {name}}
end
for _, t in ipairs(ts) do t:start() end
for _, t in ipairs(ts) do t:join() end
print("")
print(("M.count1: %d (at most %d)"):format(M.count1, 2 * N + 1))
print(("M.count2: %d"):format(M.count2))
