-- scripts/examples/subclass_delay.lua -- a Thread subclass with its own
-- name, delay and counter; %(asctime)s shows when each record was made.
local threading = require "threading"
local logging = require "logging"
local time = require "time"

local function worker (delay, counter)
  for i = 0, counter - 1 do
    time.sleep(delay)
    logging.debug("iteration: %s", i)
  end
end

local MyThread = threading.Thread:extend()

function MyThread:new (name, delay, counter)
  MyThread.super.new(self, {name = name})
  self.delay = delay or 1
  self.counter = counter or 2
end

function MyThread:run ()
  logging.debug("starting")
  worker(self.delay, self.counter)
  logging.debug("exiting")
end

logging.basicConfig{level = logging.DEBUG,
                    format = "%(threadName)s %(asctime)s %(message)s"}
local t1 = MyThread("thd-1", 0.1, 3)
local t2 = MyThread("thd-2", 0.2, 3)
t1:start()
t2:start()
