-- scripts/lab/explore.lua -- lab 9, finding races on purpose: for each
-- bug of scripts/explore/, how many runs 'luagil --explore' needs to find
-- it (the median over 10 explorer seeds) against stress testing as people
-- do it today: the same script run again and again under the default
-- policy, each run with a random switch interval in [1e-6, 5e-3] s.
-- Usage: luagil scripts/lab/explore.lua [--small|--quick] [--runs=N]
-- (--small: 3 seeds and 20 stress runs; default 10 seeds and 100 runs;
-- the fixed twins are explored over N runs, default 1000, 100 small;
-- --quick, ctest's smoke test: 1 seed, 3 stress runs, 20 twin runs.)
local here = arg[0]:match("^(.*)/[^/]*$") or "."
local corpus = here .. "/../explore/"
local luagil = arg[-1]
local small, quick, runs = false, false, nil
for _, a in ipairs(arg) do
  if a == "--small" then small = true end
  if a == "--quick" then quick = true end
  runs = tonumber(a:match("^%-%-runs=(%d+)$")) or runs
end
local SEEDS = quick and 1 or small and 3 or 10
local STRESS = quick and 3 or small and 20 or (runs or 100)
local TWIN = quick and 20 or small and 100 or (runs or 1000)
local BUGS = {"lost_update", "check_then_act", "abba_deadlock",
              "lost_wakeup", "double_checked", "bank_transfer",
              "shutdown_drop", "timer_cancel"}

local function sh (cmd)
  local p = assert(io.popen("(" .. cmd .. ") < /dev/null 2>&1; " ..
                            "echo \"status=$?\""))
  local out = p:read("a")
  p:close()
  return tonumber(out:match("status=(%d+)\n$")), out
end

local function median (t)
  table.sort(t)
  local n = #t
  if n == 0 then return nil end
  if n % 2 == 1 then return t[(n + 1) // 2] end
  return (t[n // 2] + t[n // 2 + 1]) / 2
end

-- Runs --explore needs with seed 's' (nil: not found in 100).
local function explore (file, s)
  local st, out = sh(("%s --explore=100 --explore-seed=%d %s")
                     :format(luagil, s, file))
  return st == 1 and tonumber(out:match("run (%d+) of")) or nil
end

-- A stress run fails if it exits non-zero, a thread's error is printed,
-- or it hangs (20 s).
local function stress_fails (file, i)
  local interval = 1e-6 * (5e-3 / 1e-6) ^ (((i * 7919) % 1000) / 999)
  local st, out = sh(("timeout 20 %s --switch-interval=%.9f %s")
                     :format(luagil, interval, file))
  return st ~= 0 or out:find("Exception in thread", 1, true) ~= nil
end

print(("%-16s %14s %9s %14s %10s %s"):format("bug", "explore runs", "found",
      "stress found", "1st fail", "fixed twin"))
local nexp, nstress, twinfails = 0, 0, 0
for _, name in ipairs(BUGS) do
  local file = corpus .. name .. ".lua"
  local found, counts = 0, {}
  for s = 1, SEEDS do
    local n = explore(file, s)
    if n then found = found + 1; counts[#counts + 1] = n end
  end
  local fails, first = 0, nil
  for i = 1, STRESS do
    if stress_fails(file, i) then
      fails = fails + 1
      first = first or i
    end
  end
  local st = sh(("%s --explore=%d %s"):format(luagil, TWIN,
                corpus .. name .. "_fixed.lua"))
  if found == SEEDS then nexp = nexp + 1 end
  if fails > 0 then nstress = nstress + 1 end
  if st ~= 0 then twinfails = twinfails + 1 end
  print(("%-16s %14s %9s %14s %10s %s"):format(name,
        tostring(median(counts) or "-"), found .. "/" .. SEEDS,
        fails .. "/" .. STRESS, tostring(first or "-"),
        st == 0 and ("passes " .. TWIN) or "FAILS"))
end
print(("explore found %d of %d bugs with every seed; stress found %d of %d")
      :format(nexp, #BUGS, nstress, #BUGS))
if twinfails > 0 then  -- a fixed twin that fails is a bug, not a timing
  print(twinfails .. " fixed twin(s) failed")
  os.exit(1)
end
