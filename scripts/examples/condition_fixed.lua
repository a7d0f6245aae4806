-- scripts/examples/condition_fixed.lua -- the same producer/consumer with a
-- Condition: the consumer waits while the buffer is empty and the producer
-- notifies it after each item, so nothing fails.
local threading = require "threading"
local time = require "time"

local N = 10  -- the tutorial's loops run for ever
local buffer = {}
local condition = threading.Condition()
local produced, consumed = {}, {}

local ConsumerThread = threading.Thread:extend()
function ConsumerThread:run ()
  for _ = 1, N do
    condition:acquire()
    if #buffer == 0 then
      print("Nothing in buffer, consumer is waiting")
      condition:wait()
      print("Producer added something to buffer and notified the consumer")
    end
    local num = table.remove(buffer, 1)
    consumed[#consumed + 1] = num
    print("Consumed", num)
    condition:release()
    time.sleep(math.random() * 0.05)
  end
end

local ProducerThread = threading.Thread:extend()
function ProducerThread:run ()
  local nums = {0, 1, 2, 3, 4}
  for _ = 1, N do
    condition:acquire()
    local num = nums[math.random(#nums)]
    buffer[#buffer + 1] = num
    produced[#produced + 1] = num
    print("Produced", num)
    condition:notify()
    condition:release()
    time.sleep(math.random() * 0.05)
  end
end

local p, c = ProducerThread(), ConsumerThread()
p:start()
c:start()
p:join(); c:join()
assert(table.concat(produced, ",") == table.concat(consumed, ","))
print(("%d produced, %d consumed, in the same order"):format(#produced,
                                                              #consumed))
