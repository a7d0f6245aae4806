-- scripts/examples/queue_producer_consumer.lua -- a Queue between a
-- producer and a consumer: task_done marks each item processed, join
-- waits until every item put has been.
local threading = require "threading"
local queue = require "queue"
local time = require "time"

local processed = 0

local function make_an_item_available (i)
  return ("item-%d"):format(i)
end

local function producer (q)
  for i = 0, 9 do
    local item = make_an_item_available(i)
    q:put(item)
    print("put", item)
  end
end

local function consumer (q)
  while true do
    local item = q:get()
    time.sleep(0.01)  -- do something with the item
    processed = processed + 1
    print("got", item)
    q:task_done()  -- mark the item as done
  end
end

local q = queue.Queue()
local t1 = threading.Thread{target = producer, args = {q}}
local t2 = threading.Thread{target = consumer, args = {q}, daemon = true}
t1:start()
t2:start()
t1:join()
q:join()
print(("all %d items processed"):format(processed))
