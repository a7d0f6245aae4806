-- scripts/examples/condition_broken.lua -- producer/consumer with a Lock
-- only: the consumer does not wait for an item, finds the buffer empty and
-- fails ("pop from empty list"). Both threads are daemons here so that the
-- program ends: the failed consumer never released the lock, and the
-- producer would block on it for ever (the tutorial's hangs).
local threading = require "threading"
local time = require "time"

local buffer = {}
local lock = threading.Lock()

local function pop (list)
  if #list == 0 then error("pop from empty list", 2) end
  return table.remove(list, 1)
end

local ProducerThread = threading.Thread:extend()
function ProducerThread:run ()
  local nums = {0, 1, 2, 3, 4}
  for _ = 1, 5 do  -- the tutorial's loops run for ever
    local num = nums[math.random(#nums)]
    lock:acquire()
    buffer[#buffer + 1] = num
    print("Produced", num)
    lock:release()
    time.sleep(math.random() * 0.05)
  end
end

local ConsumerThread = threading.Thread:extend()
function ConsumerThread:run ()
  while true do
    lock:acquire()
    if #buffer == 0 then
      print("Nothing in buffer, but consumer will try to consume")
    end
    local num = pop(buffer)
    print("Consumed", num)
    lock:release()
    time.sleep(math.random() * 0.02)
  end
end

local producer = ProducerThread{daemon = true}
local consumer = ConsumerThread{daemon = true}
producer:start()
consumer:start()
consumer:join()
