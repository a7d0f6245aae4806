-- scripts/examples/barrier_two.lua -- a Barrier(2): each worker waits at
-- the barrier until the other has reached it too.
local threading = require "threading"

local barrier = threading.Barrier(2)

local function worker ()
  print("Worker started")
  -- do some work
  print("Worker reached the barrier")
  barrier:wait()  -- wait for the other thread
  print("Worker finished")
end

local t1 = threading.Thread{target = worker}
local t2 = threading.Thread{target = worker}
t1:start()
t2:start()
t1:join()
t2:join()
