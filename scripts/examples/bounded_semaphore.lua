-- scripts/examples/bounded_semaphore.lua -- a BoundedSemaphore(3) works
-- as three locks: seven threads, at most three hold it at a time.
local threading = require "threading"
local time = require "time"

local semaphore = threading.BoundedSemaphore(3)

local MyClass = {}
MyClass.__index = MyClass
MyClass.__call = function (self, name)
  semaphore:acquire()
  print(name .. " claimed semaphore")
  time.sleep(0.2)
  print("\t" .. name .. " released semaphore")
  semaphore:release()
end

local ts = {}
for i = 1, 7 do
  ts[i] = threading.Thread{target = setmetatable({}, MyClass),
                           args = {tostring(i)}}
end
for _, t in ipairs(ts) do t:start() end
for _, t in ipairs(ts) do t:join() end
print("\nEnd of main")
local ok, err = pcall(semaphore.release, semaphore)
print("one release too many:", err)
