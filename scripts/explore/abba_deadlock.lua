-- scripts/explore/abba_deadlock.lua -- an ABBA deadlock: one thread takes
-- lock A then B, the other B then A; if each gets its first lock before
-- the other's second, both wait for ever (threading.DeadlockError).
-- Fixed twin: abba_deadlock_fixed.lua.
local threading = require "threading"

local A, B = threading.Lock(), threading.Lock()
local moved = 0
local function transfer (first, second)
  for _ = 1, 5 do
    first:acquire()
    local n = moved      -- some work while holding the first lock
    second:acquire()
    moved = n + 1
    second:release()
    first:release()
  end
end
local t1 = threading.Thread{target = transfer, args = {A, B}}
local t2 = threading.Thread{target = transfer, args = {B, A}}
t1:start(); t2:start()
t1:join(); t2:join()
assert(moved == 10)
