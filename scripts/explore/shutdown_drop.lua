-- scripts/explore/shutdown_drop.lua -- a producer/consumer that drops an
-- item at shutdown: the consumer stops as soon as it sees the 'done'
-- flag, even if the producer put one last item before setting it.
-- Fixed twin: shutdown_drop_fixed.lua.
local threading, queue = require "threading", require "queue"

local q = queue.Queue()
local done, handled = false, 0
local consumer = threading.Thread{target = function ()
  while not done do
    local ok, item = pcall(q.get, q, false)
    if ok then handled = handled + item end
  end
end}
local producer = threading.Thread{target = function ()
  for i = 1, 5 do q:put(1) end
  done = true
end}
consumer:start(); producer:start()
producer:join(); consumer:join()
assert(handled == 5, "shutdown: " .. handled .. " of 5 items handled")
