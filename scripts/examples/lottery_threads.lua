-- scripts/examples/lottery_threads.lua -- 100 threads each draw six
-- lottery numbers; join waits for all of them before the results print.
local threading = require "threading"

local lottery_numbers = {}

local function draw_numbers (max, size)
  local numbers, seen = {}, {}
  while #numbers < size do
    local n = math.random(1, max)
    if not seen[n] then
      seen[n] = true
      numbers[#numbers + 1] = n
    end
  end
  table.sort(numbers)
  table.insert(lottery_numbers, numbers)  -- one C call: atomic
end

local threads = {}
for i = 1, 100 do
  threads[i] = threading.Thread{target = draw_numbers, args = {50, 6}}
end
for _, thread in ipairs(threads) do thread:start() end
for _, thread in ipairs(threads) do thread:join() end
for _, numbers in ipairs(lottery_numbers) do
  print("[" .. table.concat(numbers, ", ") .. "]")
end
print(#lottery_numbers)
print("done.")
