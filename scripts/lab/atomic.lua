-- scripts/lab/atomic.lua -- lab 1, atomic bytecodes: a switch can only
-- happen between two VM instructions. 'counter = counter + 1' is four
-- (GETTABUP, ADDI, MMBINI, SETTABUP): a thread switched out between the
-- read and the write loses the updates made meanwhile. 'table.insert(t, v)'
-- is a CALL of a C function, which runs whole with the GIL held: nothing is
-- lost. With preemption 'any' switches land on any instruction, as in
-- CPython <= 3.9; with 'safe' only where Lua itself checks (back-edges and
-- calls), as in CPython 3.10+, where the classic demo loses nothing.
-- Usage: luagil scripts/lab/atomic.lua [--small] [--html=PATH]
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;"
               .. package.path
local lab = require "lab"
local dis = require "dis"
local gil = require "gil"

local o = lab.init("atomic")
local NTHREADS = 4
local N = o.small and 50000 or 200000   -- increments per thread
local TRIALS = 5                        -- a race is statistical

local function opnames (f)
  local names = {}
  for _, i in ipairs(dis.get_instructions(f)) do
    if i.opname ~= "VARARGPREP" and i.opname ~= "RETURN" then
      names[#names + 1] = i.opname
    end
  end
  return table.concat(names, " ")
end

print("== the bytecode of each statement (dis.dis)")
local COUNTER = "counter = counter + 1"
local INSERT = "table.insert(t, v)"
print("-- " .. COUNTER)
dis.dis(COUNTER)
print("-- " .. INSERT)
dis.dis(INSERT)

-- Updates lost by 'counter = counter + 1' in one trial.
local function counter_trial ()
  counter = 0
  lab.run_threads(NTHREADS, "adder", function ()
    for _ = 1, N do counter = counter + 1 end
  end)
  return NTHREADS * N - counter
end

-- Items lost by table.insert in one trial.
local function insert_trial ()
  local t = {}
  lab.run_threads(NTHREADS, "adder", function ()
    for i = 1, N do table.insert(t, i) end
  end)
  return NTHREADS * N - #t
end

-- Lost counts of up to TRIALS trials, stopping at the first loss when
-- 'stop' (a loss is what 'any' should show; 'safe' runs them all).
local function trials (trial, stop)
  local lost = {}
  for i = 1, TRIALS do
    lost[i] = trial()
    if stop and lost[i] > 0 then break end
  end
  return lost
end

local interval = gil.getswitchinterval()
gil.setswitchinterval(1e-6)  -- switch as often as possible
local rows = {}
local results = {}
for _, case in ipairs{
    {COUNTER, "any", counter_trial, true},
    {COUNTER, "safe", counter_trial, false},
    {INSERT, "any", insert_trial, false},
    {INSERT, "safe", insert_trial, false}} do
  local code, mode, trial, stop = table.unpack(case)
  gil.setpreempt(mode)
  local before = gil.stats()
  local lost = trials(trial, stop)
  local d = lab.delta(before)
  local total = 0
  for _, n in ipairs(lost) do total = total + n end
  results[code .. "/" .. mode] = total
  rows[#rows + 1] = {code, mode, opnames(load(code)), NTHREADS * N,
                     table.concat(lost, " "), d.switches}
end

print("== " .. NTHREADS .. " threads, " .. N .. " each, switch interval 1 us")
lab.table({"statement", "preempt", "instructions", "updates per trial",
           "lost in each trial", "switches"}, rows)

-- The timeline: one more 'any' trial, drawn.
gil.setpreempt("any")
lab.traced(o.html, counter_trial)
gil.setswitchinterval(interval)

assert(results[INSERT .. "/any"] == 0 and results[INSERT .. "/safe"] == 0,
       "table.insert lost items")
assert(results[COUNTER .. "/safe"] == 0, "preempt=safe lost updates")
if results[COUNTER .. "/any"] == 0 then
  print("note: no update lost under 'any' in " .. TRIALS .. " trials")
end
