-- scripts/explore/abba_deadlock_fixed.lua -- abba_deadlock.lua's twin:
-- both threads take the locks in one order, A then B.
local threading = require "threading"

local A, B = threading.Lock(), threading.Lock()
local moved = 0
local function transfer (first, second)
  for _ = 1, 5 do
    first:acquire()
    local n = moved
    second:acquire()
    moved = n + 1
    second:release()
    first:release()
  end
end
local t1 = threading.Thread{target = transfer, args = {A, B}}
local t2 = threading.Thread{target = transfer, args = {A, B}}
t1:start(); t2:start()
t1:join(); t2:join()
assert(moved == 10)
