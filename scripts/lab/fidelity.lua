-- scripts/lab/fidelity.lua -- lab 8, how faithful the models are: the
-- same workloads under each luagil policy and under each real runtime on
-- the machine, side by side, with the ratio model / real on every row.
-- See LICENSE for copyright and licence (MIT).
--
-- luagil's policies model real GILs: 'interval:free' CPython 3's (and
-- 'interval', the default, with luagil's faster handoff), 'ticks' Python
-- 2.7's, 'gvl' Ruby MRI's (issue 17; 'priority-io' and 'priority-io:5'
-- are luagil's own cures for the convoy, compared with CPython 3). Each workload is a
-- small program in scripts/lab/fidelity/, written once per language
-- (convoy, cpu, switches, pingpong: .lua, .py for CPython 2.7 and 3.x
-- alike, .rb), run as a child process of its own and printing one line
-- of key=value pairs. A policy this luagil refuses and a runtime that is
-- not installed are skipped with a note.
--
-- The switch rate of two CPU-bound threads: luagil counts its switches
-- (gil.stats); CPython and MRI do not expose theirs, so every runtime
-- also runs the same proxy, the two threads noting each time the running
-- thread changed ('seen').
--
-- Usage: luagil scripts/lab/fidelity.lua [--quick] [--pin | --both]
--                                        [--runs=N]
--   --quick   tiny sizes and one run (what CI runs; also --small)
--   --pin     everything under `taskset -c 0` (one core); --both does
--             the two-core regime and then the one-core one
--   --runs=N  runs of every workload (default 3; the median is shown)
-- Env: PYTHON3, PYTHON312, PYTHON313, PYTHON27, RUBY name the runtimes'
-- programs (default: python3, pyenv's 3.12.*, 3.13.*, 2.7.*, ruby).
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;"
               .. package.path
local lab = require "lab"
local time = require "time"

local o = lab.init("fidelity")
local DIR = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/fidelity"
local quick, regimes, runs = o.small, {false}, nil
for _, a in ipairs(o.args) do
  if a == "--quick" then quick = true
  elseif a == "--pin" then regimes = {true}
  elseif a == "--both" then regimes = {false, true}
  elseif a:match("^%-%-runs=%d+$") then
    runs = math.tointeger(tonumber(a:match("=(%d+)")))
  else
    error(("fidelity: unknown argument '%s' (--quick, --pin, --both, "
           .. "--runs=N)"):format(a), 0)
  end
end
runs = runs or (quick and 1 or 3)
assert(runs >= 1, "fidelity: --runs wants at least 1")

-- Each workload's argument: seconds per phase, or a count.
local SIZE = quick and {convoy = 0.1, cpu = 50000, switches = 0.1,
                        pingpong = 1000}
                    or {convoy = 1.0, cpu = 2000000, switches = 1.0,
                        pingpong = 20000}
local WORKLOADS = {"convoy", "cpu", "switches", "pingpong"}
local TIMEOUT = 120                      -- seconds per child run
local notes = {}

local function note (s)
  notes[#notes + 1] = s
  io.stderr:write("fidelity: note: ", s, "\n")
end


-- {======================================================
-- Shell helpers
-- =======================================================

local function quote (s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end


-- The first line of a command's output, or nil if it failed.
local function sh (cmd)
  local p = io.popen(cmd .. " 2>/dev/null", "r")
  local out = p:read("a")
  local ok = p:close()
  out = out:match("^([^\n]*)")
  if ok and out ~= "" then return out end
  return nil
end


-- Busy CPU seconds of the whole machine ('cpu') or of one CPU ('cpu0'),
-- steal included, from /proc/stat (USER_HZ = 100).
local function busy_s (which)
  local f = io.open("/proc/stat", "r")
  if not f then return nil end
  for line in f:lines() do
    local name, rest = line:match("^(%S+)%s+(.*)$")
    if name == which then
      f:close()
      local v = {}
      for x in rest:gmatch("%d+") do v[#v + 1] = tonumber(x) end
      return (v[1] + v[2] + v[3] + v[6] + v[7] + (v[8] or 0)) / 100
    end
  end
  f:close()
  return nil
end

-- }======================================================


-- {======================================================
-- The implementations: luagil's policies and the real runtimes
-- =======================================================

local LUAGIL = lab.interpreter()
local impls = {}      -- {name=, label=, cmd=function (workload, arg)}


-- A pyenv version matching 'pattern' (the newest), or nil.
local function pyenv_python (pattern, exe)
  local p = io.popen("pyenv versions --bare 2>/dev/null", "r")
  local best
  for v in p:lines() do
    v = v:match("^%s*(%S+)")
    if v and v:match(pattern) then best = v end   -- listed oldest first
  end
  p:close()
  if not best then return nil end
  local prefix = sh("pyenv prefix " .. quote(best))
  return prefix and (prefix .. "/bin/" .. exe)
end


local function add_luagil (policy, models)
  local ok = os.execute(quote(LUAGIL) .. " --gil-policy=" .. policy
                        .. " -e '' >/dev/null 2>&1")
  if not ok then
    note(("luagil policy '%s' (the model of %s): --gil-policy=%s is not "
          .. "accepted by this luagil: skipped"):format(policy, models,
                                                        policy))
    return
  end
  impls[#impls + 1] = {name = policy, label = "luagil " .. policy,
    cmd = function (w, a)
      return ("%s --gil-policy=%s %s %s"):format(quote(LUAGIL), policy,
        quote(DIR .. "/" .. w .. ".lua"), a)
    end}
end


-- A real runtime 'name' run by 'prog' (or the program in env 'var').
local function add_runtime (name, var, prog, ext, version_cmd)
  local what = os.getenv(var) or prog
  local exe = what and sh("command -v " .. quote(what))
  local version = exe and sh(quote(exe) .. " " .. version_cmd)
  if not version then
    note(("%s: %s not found: skipped (%s)"):format(name,
         what or "no program", var .. "=PROGRAM names one"))
    return
  end
  for _, i in ipairs(impls) do
    if i.exe == exe then
      note(("%s: the same program as %s (%s): skipped"):format(name,
           i.name, exe))
      return
    end
  end
  impls[#impls + 1] = {name = name, label = name .. " " .. version,
    exe = exe,
    cmd = function (w, a)
      return ("%s %s %s"):format(quote(exe), quote(DIR .. "/" .. w .. ext),
                                 a)
    end}
end


local PYVERSION = "-c 'import sys; "
                  .. "print(\"%d.%d.%d\" % sys.version_info[:3])'"
add_luagil("interval", "CPython 3, luagil's faster handoff")
add_luagil("interval:free", "CPython 3")
add_luagil("ticks", "Python 2.7")
add_luagil("priority-io", "no runtime: the convoy's cure")
add_luagil("priority-io:5", "no runtime: the cure keeping 5/6")
add_luagil("gvl", "Ruby MRI")
-- python3 may be a pyenv shim: the real program is sys.executable
local py3 = os.getenv("PYTHON3") or
            sh("python3 -c 'import sys; print(sys.executable)'")
add_runtime("python3", "PYTHON3", py3, ".py", PYVERSION)
add_runtime("python3.12", "PYTHON312", pyenv_python("^3%.12%.", "python3"),
            ".py", PYVERSION)
add_runtime("python3.13", "PYTHON313", pyenv_python("^3%.13%.", "python3"),
            ".py", PYVERSION)
add_runtime("python2.7", "PYTHON27", pyenv_python("^2%.7%.", "python"),
            ".py", PYVERSION)
add_runtime("ruby", "RUBY", "ruby", ".rb", "-e 'print RUBY_VERSION'")

-- }======================================================


-- {======================================================
-- Running: every workload under every implementation, round-robin
-- =======================================================

-- Run one child; returns its key=value table (nil and why on failure)
-- and the cores other processes kept busy meanwhile (whole machine, and
-- CPU 0 when pinned).
local function run_one (impl, w, pinned)
  local cmd = impl.cmd(w, tostring(SIZE[w]))
  if pinned then cmd = "taskset -c 0 " .. cmd end
  cmd = ("timeout %d %s 2>&1; echo \"rc=$?\"; times"):format(TIMEOUT, cmd)
  local m0, c00, t0 = busy_s("cpu"), busy_s("cpu0"), time.perf_counter()
  local p = io.popen(cmd, "r")
  local lines = {}
  for line in p:lines() do lines[#lines + 1] = line end
  p:close()
  local dt = time.perf_counter() - t0
  local m1, c01 = busy_s("cpu"), busy_s("cpu0")
  -- the shell's `times`: its own user and system time, then its children's
  local mine = 0
  for m, s in (lines[#lines] or ""):gmatch("(%d+)m([%d.]+)s") do
    mine = mine + tonumber(m) * 60 + tonumber(s)
  end
  local rc = lines[#lines - 2] and lines[#lines - 2]:match("^rc=(%d+)$")
  local res
  for k = #lines - 3, 1, -1 do
    if lines[k]:match("^" .. w .. " ") then
      res = {}
      for key, v in lines[k]:gmatch("(%S+)=(%S+)") do
        res[key] = tonumber(v)
      end
      break
    end
  end
  local others, others0
  if m0 then others = math.max(0, ((m1 - m0) - mine) / dt) end
  if pinned and c00 then others0 = math.max(0, ((c01 - c00) - mine) / dt) end
  if rc ~= "0" or not res then
    return nil, ("%s %s failed (rc=%s): %s"):format(impl.name, w,
                 tostring(rc), lines[#lines - 3] or "no output"),
           others, others0
  end
  return res, nil, others, others0
end


local function median (xs)
  if #xs == 0 then return nil end
  local s = table.move(xs, 1, #xs, 1, {})
  table.sort(s)
  local m = (#s + 1) // 2
  return #s % 2 == 1 and s[m] or (s[m] + s[m + 1]) / 2
end


-- All runs in one regime; returns values[impl][key] = median, and the
-- median cores other processes kept busy (machine, CPU 0).
local function measure (pinned)
  local vals, others, others0 = {}, {}, {}
  for _, i in ipairs(impls) do vals[i.name] = {} end
  for r = 1, runs do
    for _, w in ipairs(WORKLOADS) do
      for k = 0, #impls - 1 do     -- the order rotates from run to run
        local i = impls[(k + r - 1) % #impls + 1]
        io.stderr:write(("fidelity: run %d/%d %s %s%s\n"):format(r, runs,
                        w, i.name, pinned and " (pinned)" or ""))
        local res, err, oc, oc0 = run_one(i, w, pinned)
        others[#others + 1] = oc
        others0[#others0 + 1] = oc0
        if res then
          for key, v in pairs(res) do
            local t = vals[i.name][key] or {}
            t[#t + 1] = v
            vals[i.name][key] = t
          end
        else
          note(err)
        end
      end
    end
  end
  for _, i in ipairs(impls) do
    for key, xs in pairs(vals[i.name]) do vals[i.name][key] = median(xs) end
  end
  return vals, median(others), median(others0)
end

-- }======================================================


-- {======================================================
-- The tables
-- =======================================================

-- The metrics: key, what the row says, 'rate' (agrees within a factor of
-- 2) or 'ratio' (agrees within 15%); the key luagil reports instead.
local METRICS = {
  {"rt_alone", "convoy alone, rt/s", "rate"},
  {"rt_with_cpu", "convoy with a spinner, rt/s", "rate"},
  {"cpu_share", "spinner's share of its solo rate", "ratio"},
  {"slowdown_t2", "CPU-bound, 2 threads / 1", "ratio"},
  {"slowdown_t4", "CPU-bound, 4 threads / 1", "ratio"},
  {"seen_per_s", "switches/s of 2 CPU threads, proxy", "rate"},
  {"seen_per_s", "switches/s: gil.stats, real proxy", "rate",
   "stats_per_s"},
  {"rt_per_s", "pingpong, rt/s", "rate"},
}

-- Which real runtime each policy models (priority-io: compared with
-- CPython 3, whose convoy it cures; its goals are the issue's).
local PAIRS = {{"interval", "python3"}, {"interval:free", "python3"},
               {"ticks", "python2.7"}, {"gvl", "ruby"},
               {"priority-io", "python3"}, {"priority-io:5", "python3"}}


local function fmtv (v)
  if v == nil then return "–" end
  if math.abs(v) >= 100 then return string.format("%.0f", v) end
  return string.format("%.3g", v)
end


local function find (name)
  for _, i in ipairs(impls) do
    if i.name == name then return i end
  end
end


-- The verdict on model value 'mv' against real value 'rv'.
local function verdict (kind, mv, rv)
  local r = mv / rv
  if kind == "rate" then
    if r <= 2 and r >= 0.5 then return "agrees" end
    return string.format("%.3g× off", math.max(r, 1 / r))
  end
  if math.abs(r - 1) <= 0.15 then return "agrees" end
  return string.format("%+.0f%% off", (r - 1) * 100)
end


-- priority-io is not a model: its rows carry the issue's goals.
local function goal (key, mv, rv, pinned)
  if key == "cpu_share" then
    return mv >= 0.80 and "goal ≥ 0.80 met" or "goal ≥ 0.80 MISSED"
  elseif key == "rt_with_cpu" then
    local need = pinned and 1 or 20
    return (mv / rv >= need and "goal ≥ %d× met" or "goal ≥ %d× MISSED")
           :format(need)
  end
  return "(not a model)"
end


local function report (pinned, vals, others, others0)
  local ncpu = tonumber(sh("nproc")) or 0
  local regime = pinned and "1 core (taskset -c 0)" or (ncpu .. " cores")
  print(("== fidelity, %s, %s, median of %d run%s%s"):format(regime,
        os.date("!%Y-%m-%d %H:%M UTC"), runs, runs == 1 and "" or "s",
        quick and ", --quick sizes (not measurements)" or ""))
  if others then
    local free = ("other processes kept %.2f of %d cores busy"):format(
                 others, ncpu)
    if pinned and others0 then
      free = free .. (", %.2f of cpu0"):format(others0)
    end
    print(free)
  end
  -- every value of every implementation
  local head, rows = {"workload"}, {}
  for _, i in ipairs(impls) do head[#head + 1] = i.label end
  local done = {}
  for _, m in ipairs(METRICS) do
    for _, key in ipairs{m[1], m[4]} do
      if not done[key] then
        done[key] = true
        local row = {key}
        for _, i in ipairs(impls) do
          row[#row + 1] = fmtv(vals[i.name][key])
        end
        rows[#rows + 1] = row
      end
    end
  end
  lab.table(head, rows)
  -- model against the runtime it models, a ratio on every row
  rows = {}
  for _, m in ipairs(METRICS) do
    local key, what, kind, mkey = m[1], m[2], m[3], m[4] or m[1]
    for _, pr in ipairs(PAIRS) do
      local model, real = find(pr[1]), find(pr[2])
      local mv = model and vals[pr[1]][mkey]
      local rv = real and vals[pr[2]][key]
      local ratio, now
      if mv and rv and rv ~= 0 then
        ratio = string.format("%.3g×", mv / rv)
        now = pr[1]:match("^priority%-io") and goal(key, mv, rv, pinned)
              or verdict(kind, mv, rv)
      else
        ratio = "–"
        local why = {}
        if not mv then why[#why + 1] = "no luagil " .. pr[1] end
        if not rv then why[#why + 1] = "no " .. pr[2] end
        now = "skipped: " .. table.concat(why, ", ")
      end
      rows[#rows + 1] = {what, pr[2] .. ": " .. fmtv(rv),
                         pr[1] .. ": " .. fmtv(mv), ratio, now}
    end
  end
  lab.table({"workload", "real runtime", "luagil policy", "ratio", "now"},
            rows)
  print("switches: 'proxy' counts the changes of the running thread the "
        .. "two threads saw")
  print("(the same code in every runtime); gil.stats counts the GIL's "
        .. "moves to another")
  print("thread (a thread taking back the GIL it let go is no switch).")
  print("rates agree within a factor of 2, shares and slowdowns within "
        .. "15% (issue 17).")
  print()
end

-- }======================================================


for _, pinned in ipairs(regimes) do
  if pinned and not os.execute("taskset -c 0 true >/dev/null 2>&1") then
    note("--pin: taskset -c 0 does not work here: one-core regime skipped")
  else
    report(pinned, measure(pinned))
  end
end
if #notes > 0 then
  print("Notes:")
  for _, n in ipairs(notes) do print("- " .. n) end
end
