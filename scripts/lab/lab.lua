-- scripts/lab/lab.lua -- what the GIL lab scripts share: their options,
-- the HTML timeline, result tables, child runs, policies that may be
-- missing. Not a lab itself. See LICENSE for copyright and licence (MIT).
--
-- Every lab takes the same options, after the script name:
--   --small        small sizes (what CI runs; also LUAGIL_LAB_SMALL=1)
--   --html=PATH    where the timeline goes (also LUAGIL_LAB_HTML=PATH);
--                  default /tmp/luagil-lab-<name>.html
local gil = require "gil"
local threading = require "threading"
local time = require "time"

local lab = {}


-- Parse the options of lab 'name'; returns {name=, small=, html=, args=}.
function lab.init (name)
  local o = {name = name, small = os.getenv("LUAGIL_LAB_SMALL") == "1",
             html = os.getenv("LUAGIL_LAB_HTML"), args = {}}
  for _, a in ipairs(arg) do
    if a == "--small" then o.small = true
    elseif a:match("^%-%-html=") then o.html = a:match("^%-%-html=(.*)")
    else o.args[#o.args + 1] = a end
  end
  o.html = o.html or ("/tmp/luagil-lab-" .. name .. ".html")
  return o
end


-- The timeline path with '-suffix' before the extension.
function lab.html_with (o, suffix)
  return (o.html:gsub("(%.[^./]*)$", "-" .. suffix .. "%1", 1))
end


-- Run fn(...) while recording a GIL trace into 'path'; returns fn's results.
function lab.traced (path, fn, ...)
  gil.trace_start(path)
  local r = table.pack(fn(...))
  assert(gil.trace_stop())
  print("timeline: " .. path)
  return table.unpack(r, 1, r.n)
end


-- Print a table: 'head' a list of column titles, 'rows' lists of values.
function lab.table (head, rows)
  local w = {}
  local function cell (v)
    if math.type(v) == "float" then return string.format("%.3f", v) end
    return tostring(v)
  end
  for i, h in ipairs(head) do w[i] = #h end
  for _, r in ipairs(rows) do
    for i = 1, #head do w[i] = math.max(w[i], utf8.len(cell(r[i]))) end
  end
  local function line (r, f)
    local out = {}
    for i = 1, #head do
      local c = f(r[i])
      out[i] = c .. string.rep(" ", w[i] - utf8.len(c))
    end
    print("| " .. table.concat(out, " | ") .. " |")
  end
  print()
  line(head, tostring)
  local rule = {}
  for i = 1, #head do rule[i] = string.rep("-", w[i]) end
  print("|-" .. table.concat(rule, "-|-") .. "-|")
  for _, r in ipairs(rows) do line(r, cell) end
  print()
end


-- Switch to 'policy' (with options 'opts'); false, after printing why,
-- if this luagil does not have it.
function lab.policy (policy, opts)
  if gil.setpolicy == nil then
    if policy == "interval" then return true end  -- the only one there is
    print("policy " .. policy .. " not available")
    return false
  end
  local ok, err = pcall(gil.setpolicy, policy, opts)
  if not ok then
    print("policy " .. policy .. " not available (" .. tostring(err) .. ")")
    return false
  end
  return true
end


-- The luagil program running this script, for child runs.
function lab.interpreter ()
  local i = -1
  while arg[i - 1] do i = i - 1 end
  return arg[i]
end


-- Run this lab's script again in a new luagil with 'args' (a list of
-- strings, quoted for the shell here) and the lab's size; returns its
-- stdout, or fails.
function lab.child (o, args)
  local q = {o.small and "--small" or nil}
  for _, a in ipairs(args) do q[#q + 1] = "'" .. a:gsub("'", "'\\''") .. "'" end
  local cmd = string.format("'%s' '%s' %s", lab.interpreter(), arg[0],
                            table.concat(q, " "))
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  local ok, how, code = p:close()
  assert(ok, ("child run failed (%s %s): %s"):format(how, code, cmd))
  return out
end


-- The labs' CPU-bound work, pure Lua: the sum of i^0.3 for lo <= i < hi.
function lab.work (lo, hi)
  local s = 0.0
  for i = lo, hi - 1 do s = s + i ^ 0.3 end
  return s
end


-- Start n threads named 'prefix-1' .. 'prefix-n', thread k running
-- fn(k), then join them all.
function lab.run_threads (n, prefix, fn)
  local ts = {}
  for k = 1, n do
    ts[k] = threading.Thread{name = prefix .. "-" .. k, target = fn,
                             args = {k}}
    ts[k]:start()
  end
  for k = 1, n do ts[k]:join() end
end


-- Wall time of fn(...), and its results.
function lab.timed (fn, ...)
  local t0 = time.perf_counter()
  local r = table.pack(fn(...))
  return time.perf_counter() - t0, table.unpack(r, 1, r.n)
end


-- Totals of gil.stats() since 'before' (another gil.stats() result).
function lab.delta (before)
  local now = gil.stats()
  local forced, blocking = 0, 0
  for i, t in ipairs(now.threads) do  -- oldest first: same index, same one
    local b = before.threads[i]
    forced = forced + t.forced_drops - (b and b.forced_drops or 0)
    blocking = blocking + t.blocking_drops - (b and b.blocking_drops or 0)
  end
  return {switches = now.switches - before.switches,
          requests = now.requests - before.requests,
          forced_drops = forced, blocking_drops = blocking}
end


return lab
