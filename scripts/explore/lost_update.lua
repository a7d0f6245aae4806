-- scripts/explore/lost_update.lua -- a lost update: two threads add to a
-- shared counter with 'n = n + 1', which is four instructions (GETTABUP,
-- ADDI, MMBINI, SETTABUP); a switch between the read and the write loses
-- the other thread's additions. Fixed twin: lost_update_fixed.lua.
local threading = require "threading"

n = 0
local function add ()
  for _ = 1, 100 do n = n + 1 end
end
local a = threading.Thread{target = add}
local b = threading.Thread{target = add}
a:start(); b:start()
a:join(); b:join()
assert(n == 200, "lost update: n is " .. n)
