-- scripts/examples/rlock.lua -- a Lock taken twice by one thread blocks
-- (here: the second, non-blocking acquire fails); an RLock counts its
-- owner's acquisitions instead.
local threading = require "threading"

local lock = threading.Lock()
lock:acquire()
print("Lock: second acquire succeeds?", lock:acquire(false))
lock:release()

local rlock = threading.RLock()
rlock:acquire()
print("RLock: second acquire succeeds?", rlock:acquire(false))
rlock:release()
rlock:release()
print("RLock released twice:", rlock)

-- locked(): a hint only, the lock may change right after
if lock:locked() then
  print("lock is held: do other stuff")
else
  lock:acquire()
  print("lock was free: took it")
  lock:release()
end
