-- scripts/examples/event_three_waiters.lua -- three threads wait on one
-- Event; set() releases them all. The targets are callable objects.
local threading = require "threading"
local time = require "time"

local event = threading.Event()

local MyClass = {}
MyClass.__index = MyClass
MyClass.__call = function (self, name)
  print(("%s waiting for event"):format(name))
  event:wait()
  print(("\t%s proceeding after event"):format(name))
end

local ts = {}
for i = 1, 3 do
  ts[i] = threading.Thread{target = setmetatable({}, MyClass),
                           args = {tostring(i)}}
  ts[i]:start()
end
print("... main waiting for 0.3 seconds")
time.sleep(0.3)
print("... main setting event flag")
event:set()
for _, t in ipairs(ts) do t:join() end
print("\nEnd of main")
