-- scripts/examples/semaphore_items.lua -- a Semaphore(4) limits how many
-- of ten threads process an item at the same time; try/finally becomes
-- pcall (or a guard) so the semaphore is always released.
local threading = require "threading"
local time = require "time"

local items = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
local semaphore = threading.Semaphore(4)

local function process_item (item)
  semaphore:acquire()
  local ok, err = pcall(function ()
    time.sleep(0.2)  -- simulate some processing time
    print(("Processing item %d"):format(item))
  end)
  semaphore:release()  -- make sure we always release the semaphore
  if not ok then error(err, 0) end
end

local threads = {}
for _, item in ipairs(items) do
  threads[#threads + 1] = threading.Thread{target = process_item,
                                           args = {item}}
end
local t0 = time.monotonic()
for _, thread in ipairs(threads) do thread:start() end
for _, thread in ipairs(threads) do thread:join() end
print(("%d items in %.1f s: three rounds of at most 4"):format(#items,
      time.monotonic() - t0))
