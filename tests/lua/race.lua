-- tests/lua/race.lua -- races between bytecodes. Run twice by CTest:
-- with --preempt=any (RACE_EXPECT=lost) 'counter = counter + 1' loses
-- updates; with --preempt=safe (RACE_EXPECT=none) it loses none. Both use
-- a 1 us switch interval so that switches are frequent.
print("testing races between bytecodes")

local threading = require "threading"

local expect = os.getenv("RACE_EXPECT") or "lost"
local NTHREADS, N = 4, 200000

local function run_threads (f)
  local ts = {}
  for i = 1, NTHREADS do
    ts[i] = threading.Thread{target = f}
    ts[i]:start()
  end
  for i = 1, NTHREADS do ts[i]:join() end
end

-- A C function is one bytecode (CALL): table.insert never loses an item.
do
  local t = {}
  run_threads(function ()
    for i = 1, 20000 do table.insert(t, i) end
  end)
  assert(#t == NTHREADS * 20000, "table.insert lost items: " .. #t)
end

-- counter = counter + 1 is GETTABUP, ADDI, MMBINI, SETTABUP.
local function trial ()
  counter = 0
  run_threads(function ()
    for _ = 1, N do counter = counter + 1 end
  end)
  return NTHREADS * N - counter
end

if expect == "lost" then
  local lost = {}
  for i = 1, 5 do  -- a race is statistical: it shows in one of 5 trials
    lost[i] = trial()
    if lost[i] > 0 then break end
  end
  print("lost updates per trial: " .. table.concat(lost, " "))
  assert(lost[#lost] > 0, "no update was lost in 5 trials")
else
  for i = 1, 3 do
    local lost = trial()
    assert(lost == 0, ("trial %d lost %d updates with preempt=safe")
                      :format(i, lost))
  end
end

print("OK")
