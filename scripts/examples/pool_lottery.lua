-- scripts/examples/pool_lottery.lua -- the lottery again with a thread
-- pool: 100 tasks on 8 reused worker threads instead of 100 threads.
local futures = require "concurrent.futures"

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
  return numbers
end

local futs, lottery_numbers = {}, {}
do
  local executor <close> = futures.ThreadPoolExecutor{max_workers = 8}
  for _ = 1, 100 do
    futs[#futs + 1] = executor:submit(draw_numbers, 50, 6)
  end
end
for _, ft in ipairs(futs) do
  lottery_numbers[#lottery_numbers + 1] = ft:result()
end
for _, numbers in ipairs(lottery_numbers) do
  print("[" .. table.concat(numbers, ", ") .. "]")
end
print("Done.")
