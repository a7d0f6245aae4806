-- scripts/explore/lost_update_fixed.lua -- lost_update.lua's twin: the
-- read, add and write happen holding a Lock, so no update is lost.
local threading = require "threading"

n = 0
local lock = threading.Lock()
local function add ()
  for _ = 1, 100 do
    lock:acquire()
    n = n + 1
    lock:release()
  end
end
local a = threading.Thread{target = add}
local b = threading.Thread{target = add}
a:start(); b:start()
a:join(); b:join()
assert(n == 200, "lost update: n is " .. n)
