-- scripts/examples/counter_lock.lua -- a counter object whose increment
-- holds a Lock: two workers, two increments each, the count ends at 4.
local threading = require "threading"
local logging = require "logging"
local time = require "time"

local Counter = {}
Counter.__index = Counter
Counter.__tostring = function (c) return tostring(c.value) end

local function counter (initial_value)
  return setmetatable({lock = threading.Lock(), value = initial_value or 0},
                      Counter)
end

function Counter:increment ()
  self.lock:acquire()
  self.value = self.value + 1
  self.lock:release()
end

local function worker (c)
  logging.debug("Starting...")
  for _ = 1, 2 do
    local pause = math.random() / 5
    logging.debug("sleeping %0.02f", pause)
    time.sleep(pause)
    c:increment()
    logging.debug("counter: %s", c)
  end
  logging.debug("...Done")
end

logging.basicConfig{level = logging.DEBUG,
                    format = "%(threadName)s %(message)s"}
local count = counter()
local t1 = threading.Thread{target = worker, args = {count}}
local t2 = threading.Thread{target = worker, args = {count}}
t1:start()
t2:start()
t1:join(); t2:join()
print("final counter: " .. tostring(count))
