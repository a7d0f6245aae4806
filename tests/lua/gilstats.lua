-- tests/lua/gilstats.lua -- gil.stats(): its shape, exited threads kept,
-- counters that agree with what the threads did (sleeps are blocking drops,
-- two spinning threads force drops and raise requests, switches grow); and
-- the event trace written by gil.trace_start/stop as JSON: it parses, has
-- one thread_name per thread and spans of the three states.
print("testing gil.stats and the trace")

local gil = require "gil"
local threading = require "threading"
local time = require "time"

local checkerror = require("testlib").checkerror

-- The entry of gil.stats() for the thread named 'name'.
local function entry (name)
  for _, t in ipairs(gil.stats().threads) do
    if t.name == name then return t end
  end
  error("no stats for " .. name)
end

local function isint (x) return math.type(x) == "integer" end



-- {======================================================
-- A tiny JSON reader: enough to check the trace is valid JSON.
-- =======================================================

local json = {}

function json.decode (s)
  local pos = 1
  local function ws () pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
  local function fail (what)
    error(string.format("bad JSON at byte %d: %s", pos, what), 0)
  end
  local value
  local function str ()
    local out = {}
    pos = pos + 1
    while true do
      local c = s:sub(pos, pos)
      if c == '"' then pos = pos + 1; return table.concat(out)
      elseif c == "\\" then
        local e = s:sub(pos + 1, pos + 1)
        local map = {['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b",
                     f = "\f", n = "\n", r = "\r", t = "\t"}
        if map[e] then out[#out + 1] = map[e]; pos = pos + 2
        elseif e == "u" and s:sub(pos + 2, pos + 5):match("^%x%x%x%x$") then
          out[#out + 1] = utf8.char(tonumber(s:sub(pos + 2, pos + 5), 16))
          pos = pos + 6
        else fail("bad escape") end
      elseif c == "" or c:byte() < 32 then fail("bad string")
      else out[#out + 1] = c; pos = pos + 1 end
    end
  end
  function value ()
    ws()
    local c = s:sub(pos, pos)
    if c == "{" then
      local t = {}
      pos = pos + 1; ws()
      if s:sub(pos, pos) == "}" then pos = pos + 1; return t end
      while true do
        ws()
        if s:sub(pos, pos) ~= '"' then fail("key expected") end
        local k = str(); ws()
        if s:sub(pos, pos) ~= ":" then fail("':' expected") end
        pos = pos + 1
        t[k] = value(); ws()
        local d = s:sub(pos, pos); pos = pos + 1
        if d == "}" then return t elseif d ~= "," then fail("',' expected") end
      end
    elseif c == "[" then
      local t = {}
      pos = pos + 1; ws()
      if s:sub(pos, pos) == "]" then pos = pos + 1; return t end
      while true do
        t[#t + 1] = value(); ws()
        local d = s:sub(pos, pos); pos = pos + 1
        if d == "]" then return t elseif d ~= "," then fail("',' expected") end
      end
    elseif c == '"' then return str()
    else
      local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      if num and #num > 0 then pos = pos + #num; return tonumber(num) end
      for lit, v in pairs{["true"] = true, ["false"] = false, null = json} do
        if s:sub(pos, pos + #lit - 1) == lit then
          pos = pos + #lit; return v
        end
      end
      fail("value expected")
    end
  end
  local v = value(); ws()
  if pos <= #s then fail("trailing data") end
  return v
end

assert(json.decode('{"a":[1,2.5e3,"x\\"y\\u0041"],"b":{},"c":true}').a[3]
       == 'x"yA')
checkerror("bad JSON", json.decode, '{"a":1,}')
checkerror("bad JSON", json.decode, '[1 2]')

-- }======================================================


-- Check the Chrome trace in file 'path': it parses, names 'nthreads'
-- threads with spans once each, and has spans of every state in 'states'.
-- (A thread joined before the recording began can still show up without
-- spans: its job reports its end just after waking its joiners.)
local function checktrace (path, nthreads, states)
  local f = assert(io.open(path))
  local doc = json.decode(f:read("a"))
  f:close()
  assert(type(doc.traceEvents) == "table")
  local names, spans, tids = {}, {}, {}
  for _, e in ipairs(doc.traceEvents) do
    assert(e.pid == 1 and isint(e.tid))
    if e.ph == "M" then
      assert(e.name == "thread_name" and type(e.args.name) == "string")
      assert(not tids[e.tid], "two names for one thread")
      tids[e.tid] = e.args.name
      names[#names + 1] = e.args.name
    elseif e.ph == "X" then
      assert(tids[e.tid], "a span before its thread's name")
      assert(e.ts >= 0 and e.dur >= 0)
      spans[e.name] = (spans[e.name] or 0) + 1
    else
      assert(e.ph == "i" and e.name == "drop request")
    end
  end
  local busy = {}
  for _, e in ipairs(doc.traceEvents) do
    if e.ph == "X" then busy[e.tid] = true end
  end
  names = {}
  for tid, name in pairs(tids) do
    if busy[tid] then names[#names + 1] = name end
  end
  assert(#names == nthreads, #names .. " threads with spans, expected "
         .. nthreads .. ": " .. table.concat(names, ", "))
  for _, s in ipairs(states) do
    assert(spans[s], "no span '" .. s .. "'")
  end
  return names
end

-- A recording with n threads besides the main one: each sleeps 1 ms
-- (blocked), then holds the GIL computing for 3 ms (running): whoever wakes
-- meanwhile must wait for it (waiting), with or without preemption.
local ALL = {"running", "waiting for the GIL", "blocked"}

local function workload (n)
  local ts = {}
  for i = 1, n do
    ts[i] = threading.Thread{name = "traced-" .. i, target = function ()
      for _ = 1, 5 do
        time.sleep(0.001)
        local t0, s = time.monotonic(), 0
        while time.monotonic() - t0 < 0.003 do s = s + 1 end
      end
    end}
    ts[i]:start()
  end
  for i = 1, n do ts[i]:join() end
end

if arg[1] then  -- check a trace that 'luagil --gil-trace=FILE' wrote
  if arg[1] == "--workload" then
    workload(tonumber(arg[2]))
  else
    checktrace(arg[1], tonumber(arg[2]), ALL)
  end
  print("OK")
  return
end

-- The counters: run by the test itself, not as a checker of another run.
local function stats_tests ()
  -- Shape: every field, the right types, sane values.
  do
    local s = gil.stats()
    assert(type(s.threads) == "table" and #s.threads >= 1)
    assert(isint(s.switches) and s.switches >= 0)
    assert(isint(s.requests) and s.requests >= 0)
    for _, t in ipairs(s.threads) do
      assert(type(t.name) == "string" and isint(t.ident))
      assert(type(t.alive) == "boolean")
      for _, k in ipairs{"acquisitions", "forced_drops", "blocking_drops",
                         "requests"} do
        assert(isint(t[k]) and t[k] >= 0, k)
      end
      for _, k in ipairs{"hold_s", "wait_s", "wait_max_s"} do
        assert(math.type(t[k]) == "float" and t[k] >= 0, k)
      end
      assert(t.wait_max_s <= t.wait_s + 1e-9)
    end
    local main = entry("MainThread")
    assert(main.alive and main.acquisitions >= 1)
    assert(main.ident == threading.main_thread().ident)
  end

  -- An exited thread is still listed, with its name and ident; it slept
  -- N times, so it dropped the GIL around a blocking call at least N times.
  do
    local N = 5
    local t = threading.Thread{name = "sleeper", target = function ()
      for _ = 1, N do time.sleep(0.001) end
    end}
    t:start()
    t:join()
    local e = entry("sleeper")
    -- the record is marked exited when the thread's job ends, which can
    -- come just after join() returned (the job wakes its joiners first)
    for _ = 1, 2000 do
      if not e.alive then break end
      time.sleep(0.001)
      e = entry("sleeper")
    end
    assert(e.alive == false)
    assert(e.ident == t.ident)
    assert(e.blocking_drops >= N, e.blocking_drops)
    assert(e.acquisitions >= N)
  end

  -- A thread taking back the GIL it let go is no switch (nobody else
  -- runs Lua here now).
  do
    local before = gil.stats().switches
    for _ = 1, 10 do time.sleep(0.001) end  -- each lets the GIL go
    assert(gil.stats().switches == before, gil.stats().switches - before)
  end

  -- Switches grow when threads hand the GIL to each other.
  do
    local before = gil.stats().switches
    local t = threading.Thread{name = "yielder", target = function ()
      for _ = 1, 10 do time.sleep(0) end
    end}
    t:start()
    for _ = 1, 10 do time.sleep(0) end
    t:join()
    assert(gil.stats().switches > before)
  end

  -- Two CPU-bound threads: each spins until it has seen the other make
  -- progress several times (or the other is done), which needs the other
  -- to run, which needs this one to be asked to drop: both raise requests
  -- and both are forced off.
  do
    gil.setswitchinterval(0.0005)
    local progress = {a = 0, b = 0}
    local finished = {}
    local function spin (me, other)
      local seen, last = 0, progress[other]
      while seen < 5 and not finished[other] do
        progress[me] = progress[me] + 1
        if progress[other] ~= last then
          seen, last = seen + 1, progress[other]
        end
      end
      finished[me] = true
    end
    local a = threading.Thread{name = "spin-a", target = spin,
                               args = {"a", "b"}}
    local b = threading.Thread{name = "spin-b", target = spin,
                               args = {"b", "a"}}
    a:start(); b:start()
    a:join(); b:join()
    gil.setswitchinterval(0.005)
    for _, name in ipairs{"spin-a", "spin-b"} do
      local e = entry(name)
      assert(e.forced_drops >= 1, name .. " never forced off")
      assert(e.requests >= 1, name .. " never asked")
      assert(e.hold_s > 0 and e.wait_s > 0)
    end
  end

  -- The totals: requests are the sum of every thread's.
  do
    local s = gil.stats()
    local sum = 0
    for _, t in ipairs(s.threads) do sum = sum + t.requests end
    assert(s.requests == sum, s.requests .. " ~= " .. sum)
    assert(s.switches >= 1)
  end

  checkerror("number expected", gil.setswitchinterval, "x")
  checkerror("strictly positive", gil.setswitchinterval, 0)
end

stats_tests()

do
  local base = os.tmpname()
  local path = base .. ".json"
  os.remove(base)
  gil.trace_start(path)
  workload(3)
  assert(gil.trace_stop() == true)
  assert(gil.trace_stop() == false)  -- no recording on
  local names = checktrace(path, 4, ALL)
  table.sort(names)
  assert(table.concat(names, ",") == "MainThread,traced-1,traced-2,traced-3")
  os.remove(path)
  -- an unwritable path fails at once (issue 19, case 24)
  local ok, msg = pcall(gil.trace_start, "/nonexistent/dir/trace.json")
  assert(not ok and msg:find("cannot open file", 1, true))
  assert(gil.trace_stop() == false)
end

print("OK")
