-- tests/fuzz/misuse.lua -- the misuse fuzzer: calls every public function
-- and method of luagil's modules with hostile arguments and checks that
-- nothing crashes, nothing hangs and errors name the function.
-- See LICENSE for copyright and licence (MIT).
--
-- usage: luagil misuse.lua [--seconds N] [--seed S] [--calls N]
--                          [--window W] [--strict] [--keep] [--verbose]
--                          [--skip PATTERN]...
-- (--skip: leave out the calls whose description, e.g.
-- 'threading.Lock:__gc(nil) [self destroyed threading.Lock]', matches the
-- Lua pattern: to look past a known crash.)
--
-- The run is two processes. This one (the parent) makes a temporary
-- directory and runs a child luagil in it, in a session of its own, under
-- 'timeout', with its output going to files there; then it reads the
-- child's report, kills whatever the child forked and left, and judges:
--   a crash    the child died of a signal, exited with an unknown status,
--              or it or a process it forked printed a sanitizer's report
--              or "luagil: fatal:";
--   a hang     the child's watchdog saw a call that interrupt_main could
--              not end (status 3), or the child made no progress at all
--              (killed by 'timeout': a call that holds the GIL for ever);
--   stuck      after the run, a fresh Lock, Event, Queue, Future or
--              Thread no longer works at once (a lock leaked by library
--              code on an error path);
--   a finding  an error message that names another function than the
--              one called, or is an internal error ("attempt to index a
--              nil value" from library code): reported; fatal only with
--              --strict.
-- The parent prints the child's report: calls made, in all and per
-- module, what was never called, which calls the watchdog interrupted,
-- distinct errors, the findings, and for a crash or hang the last call
-- and a command that replays the run up to it (same --seed, --calls).
--
-- The child (--child) discovers its targets instead of listing them: every
-- function of every module in package.preload (bar the luagil.* aliases),
-- of coroutine, io and os, the two debug functions luagil replaces, print
-- and require; every function of every class table; and every function in
-- the metatable (and __index chain) of every object it makes or is handed
-- back by a call, so a new function or method is fuzzed without an edit
-- here. Each call is made through a wrapper compiled for its name, so that
-- Lua names the function in its errors as it does for a user's call
-- (obj:method(...) or mod.func(...)). The arguments mix plausible values
-- with hostile ones (nil, NaN, +-inf, huge and negative numbers, math.
-- mininteger and maxinteger, a 256 KiB string, tables whose metamethods
-- raise, impostor tables with acquire and release, deep C recursion),
-- other luagil objects and destroyed ones (__gc called by hand); a method
-- gets a wrong self one time in five. Now and then a call runs on a
-- helper thread instead, an object is destroyed while another thread
-- waits on it and then woken, or collectgarbage() runs the finalizers.
-- The sequence of calls depends only on --seed (and --calls); thread
-- timing can still vary what they find.
--
-- The watchdog is a daemon thread: when one call has run for longer than
-- --window seconds it calls _thread.interrupt_main(), which the call's
-- pcall catches as "interrupted!"; a call that five more interrupts cannot
-- end is a hang: it writes the report and ends the process with status 3.
--
-- What is not called blindly, and why (kept small on purpose):
--   os.exit, _multiprocessing._exit   would end the fuzzer itself;
--   os.execute, io.popen              run a shell on hostile strings;
--   os.tmpname                        leaves a file in /tmp at each call;
--   _thread.interrupt_main            the watchdog's tool: a stray one
--                                     would be taken for a hang's cure;
--   _multiprocessing.handle, :signal  kill(2) of any pid, e.g. -1;
--   _multiprocessing.fork             a raw fork would run a second
--                                     fuzzer in the child (Process,
--                                     Pool and Queue fork for real);
--   names starting with '_' (but metamethods): private helpers;
--   debug: all but sethook and gethook (luagil's); the rest is stock
--     Lua, and setlocal, setupvalue, setmetatable would rewrite the
--     fuzzer's own frames and the string metatable.
-- And what is sandboxed: the child runs in the temporary directory and no
-- hostile string contains '/' or "..", so os.remove, os.rename, io.open
-- only touch files there; socket calls get only the host strings
-- "127.0.0.1" and "::1" (never a name, which could reach a resolver, nor
-- "*", nor a number where a host goes; setfd only -1, as any other
-- descriptor would be closed with the socket); multiprocessing.Pool gets
-- at most 2 processes and shared arrays at most 65536 items (a hostile
-- size is a fork bomb, or gigabytes that totable() would then fill); io's
-- default files, the switch interval, the preemption mode, the GIL policy
-- and the debug hook are put back after each call, since a change would
-- break the fuzzer rather than luagil. (The thread stack size is not: a small one
-- must hold for any thread, the fuzzer's helpers too.)

local USAGE = "usage: luagil misuse.lua [--seconds N] [--seed S] " ..
              "[--calls N] [--window W] [--strict] [--keep] [--verbose] " ..
              "[--skip PATTERN]..."

local function parseargs (argv)
  local o = {seconds = 60, seed = 1, calls = math.maxinteger, window = 1.0,
             skip = {}}
  local numeric = {seconds = true, seed = true, calls = true, window = true}
  local i = 1
  while argv[i] do
    local name = argv[i]:match("^%-%-([%w-]+)$")
    if not name then error(USAGE, 0) end
    if numeric[name] then
      local v = tonumber(argv[i + 1])
      if not v then error(USAGE, 0) end
      o[name] = v
      i = i + 2
    elseif name == "dir" then
      o.dir = argv[i + 1]
      i = i + 2
    elseif name == "skip" then  -- a pattern: calls whose label matches
      if not argv[i + 1] then error(USAGE, 0) end
      o.skip[#o.skip + 1] = argv[i + 1]
      i = i + 2
    elseif name == "child" or name == "strict" or name == "keep"
        or name == "verbose" then
      o[name] = true
      i = i + 1
    else
      error(USAGE, 0)
    end
  end
  o.calls = math.tointeger(o.calls) or math.maxinteger
  o.seed = math.tointeger(o.seed) or 1
  return o
end

local opts = parseargs(arg)


-- {======================================================
-- The parent: run the child, judge, report
-- =======================================================

local function quote (s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end


local function readall (path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end


-- The last 'n' lines of 's', each cut to 300 bytes (hostile strings of
-- 256 KiB get printed).
local function tail (s, n)
  local lines = {}
  for l in s:sub(-(n * 400)):gmatch("[^\n]+") do
    lines[#lines + 1] = #l > 300 and l:sub(1, 300) .. "..." or l
  end
  return table.concat(lines, "\n", math.max(1, #lines - n + 1))
end


-- The line of 's' that holds the plain text 'what' (cut to 300 bytes),
-- or nil. Plain find: a pattern like "[^\n]*what" is quadratic in a
-- line's length, and the child prints lines of 256 KiB.
local function lineof (s, what)
  local i = s:find(what, 1, true)
  if not i then return nil end
  local from = i
  while from > 1 and i - from < 200 and s:byte(from - 1) ~= 10 do
    from = from - 1
  end
  local to = s:find("\n", i, true) or #s + 1
  return s:sub(from, math.min(to - 1, from + 299))
end


local function parent ()
  local luagil = os.getenv("LUAGIL") or arg[-1]
  local script = arg[0]
  local pwd = io.popen("pwd"):read("l")
  if script:sub(1, 1) ~= "/" then script = pwd .. "/" .. script end
  if luagil:find("/", 1, true) and luagil:sub(1, 1) ~= "/" then
    luagil = pwd .. "/" .. luagil  -- the child runs elsewhere
  end
  local dir = io.popen("mktemp -d /tmp/luagil-misuse.XXXXXX"):read("l")
  assert(dir and dir:match("^/tmp/luagil%-misuse%.%w+$"), "mktemp failed")
  -- The child's own wall-clock limit: its run, the exit, a margin; past
  -- it the child is stuck where the watchdog cannot run.
  local limit = math.ceil(opts.seconds + 20 * opts.window + 60)
  local skips = ""
  for _, p in ipairs(opts.skip) do skips = skips .. " --skip " .. quote(p) end
  local run = io.open(dir .. "/run.sh", "w")
  run:write("cd ", quote(dir), "\n", "echo $$ > pgid\n",
            "exec timeout -s KILL ", limit, " ", quote(luagil), " ",
            quote(script), " --child --dir ", quote(dir),
            " --seconds ", opts.seconds, " --seed ", opts.seed,
            " --calls ", opts.calls, " --window ", opts.window,
            opts.strict and " --strict" or "",
            opts.verbose and " --verbose" or "",
            skips,
            " > stdout 2> stderr < /dev/null\n")
  run:close()
  io.stdout:write(("misuse: seed %d, %g s, window %g s, in %s\n")
                  :format(opts.seed, opts.seconds, opts.window, dir))
  io.stdout:flush()
  local _, how, code = os.execute("setsid -w sh " .. quote(dir .. "/run.sh"))
  local pgid = tonumber(readall(dir .. "/pgid") or "")
  if pgid then  -- what the child forked and left behind, by group id
    os.execute("kill -9 -- -" .. math.tointeger(pgid) .. " 2> /dev/null")
  end
  local report = readall(dir .. "/report")
  local last = (readall(dir .. "/lastcall") or ""):match("^[^\n]*\n")
             or "(none)\n"
  local stderr = readall(dir .. "/stderr") or ""
  local verdict
  if how == "exit" and code > 128 then  -- sh's and timeout's way
    how, code = "signal", code - 128
  end
  -- A sanitizer's report or a fatal error, in the child or in a process
  -- it forked, is a crash whatever the status (UBSan's halt_on_error
  -- exits with 1, as a Lua error does).
  local sanitizer = lineof(stderr, "runtime error:")
                    or lineof(stderr, "Sanitizer:")
                    or lineof(stderr, "luagil: fatal:")
  if sanitizer then
    verdict = "fail: CRASH (" .. sanitizer .. ")"
  elseif how == "exit" and code == 0 and report and report:find("\nPASS\n")
  then
    verdict = "pass"
  elseif how == "exit" and code == 0 and report then
    verdict = "fail: findings (stuck objects, or --strict and violations)"
  elseif how == "exit" and code == 1 and not report then
    verdict = "fail: the fuzzer stopped with a Lua error (see its stderr)"
  elseif how == "exit" and code == 3 then
    verdict = "fail: HANG (a call the watchdog could not interrupt)"
  elseif how == "signal" and code == 9 then
    verdict = "fail: HANG without progress (killed by timeout), or killed"
  elseif how == "signal" then
    verdict = ("fail: CRASH (signal %d)"):format(code)
  else
    verdict = ("fail: CRASH (exit status %s)"):format(code)
  end
  io.stdout:write(report or "(the child wrote no report)\n")
  if verdict ~= "pass" then
    io.stdout:write("last call: ", last)
    io.stdout:write("child stderr (tail):\n", tail(stderr, 40), "\n")
    local n = tonumber(last:match("^#(%d+)"))
    if n then
      io.stdout:write(("replay: luagil %s --seed %d --calls %d "
                       .. "--seconds %g%s\n"):format(script, opts.seed, n,
                      opts.seconds + 60, skips))
    end
  end
  io.stdout:write("misuse: ", verdict, "\n")
  if verdict == "pass" and not opts.keep then
    os.execute("rm -rf " .. quote(dir))
  else
    io.stdout:write("misuse: the run's files are in ", dir, "\n")
  end
  os.exit(verdict == "pass" and 0 or 1)
end

if not opts.child then return parent() end

-- }======================================================


-- {======================================================
-- The child: modules, values, objects
-- =======================================================

local threading = require "threading"
local _thread = require "_thread"
local time = require "time"
local gil = require "gil"
local _mp = require "_multiprocessing"

local interrupt_main = _thread.interrupt_main
local monotonic = time.monotonic
local hard_exit = _mp._exit
local stderr = io.stderr
local sethook, gethook = debug.sethook, debug.gethook

math.randomseed(opts.seed)
local random = math.random

local function pick (list)
  return list[random(#list)]
end

local function sortedkeys (t)
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end

-- The modules: name -> table.
local modules, modnames = {}, {}
for _, name in ipairs(sortedkeys(package.preload)) do
  if not name:match("^luagil") then
    modules[name] = require(name)
    modnames[#modnames + 1] = name
  end
end
for _, name in ipairs{"coroutine", "io", "os"} do
  modules[name] = _G[name]
  modnames[#modnames + 1] = name
end
modules.debug = {sethook = debug.sethook, gethook = debug.gethook}
modules._G = {print = print, require = require}
modnames[#modnames + 1] = "debug"
modnames[#modnames + 1] = "_G"

-- Never called blindly: see the header.
local skip = {
  ["os.exit"] = true, ["os.execute"] = true, ["io.popen"] = true,
  ["os.tmpname"] = true, ["_thread.interrupt_main"] = true,
  ["_multiprocessing.handle"] = true, ["_multiprocessing.fork"] = true,
  ["_multiprocessing._exit"] = true,
}
local skipmethod = {signal = true}

-- Marker in every error that the fuzzer's own hostile values raise.
local HOSTILE = "HOSTILE"

local function raiser (what)
  return function () error(HOSTILE .. " " .. what, 0) end
end

local function noop () end

-- A table whose metamethods raise: all of them, or only the one named
-- 'only' (so that e.g. __tostring is the only one).
local function hostiletable (only)
  local mt = {}
  for _, e in ipairs{"__index", "__newindex", "__tostring", "__eq", "__len",
                     "__close", "__call", "__lt", "__le", "__concat",
                     "__add", "__unm", "__name", "__pairs"} do
    if not only or only == e then mt[e] = raiser(e) end
  end
  if mt.__name then mt.__name = 42 end  -- not a string: luaL_typeerror
  return setmetatable({}, mt)
end

local huge = string.rep("x", 1 << 18)

-- Nested C calls as deep as Lua allows: ends in "C stack overflow", or
-- in a crash on a thread whose stack_size is too small for that depth.
local function deepc () return (string.gsub("x", "x", deepc)) end

-- Impostors: tables with the methods that luagil's lock helpers call.
local function impostor (f)
  return {acquire = f, release = f, wait = f, notify = f, set = f}
end
local function dead ()
  local co = coroutine.create(noop)
  coroutine.resume(co)
  return co
end

-- The hostile values. No string holds '/' or "..": the sandbox.
local hostile = table.pack(
  nil, true, false, 0, -1, 1, 2, 3, 0.5, -0.5, 1e-9, -1e-9, 0 / 0,
  math.huge, -math.huge, math.maxinteger, math.mininteger,
  math.maxinteger + 0.0, 2 ^ 53, 1e300, -1e300, 2147483647, 2147483648,
  -2147483649, 4294967296, 65535, 65536, 70000, -0.0,
  "", "x", "1", "-1", "0.5", "nan", "inf", "0x10", "%s%s%n%d", "%", "a\0b",
  "\0", "\255\254", "r", "w", "a+", "*a", "l", "n", "L", "a", "%Y%m%c%%%",
  "threading.Lock", huge,
  {}, {1, 2, 3}, {n = 2147483645}, {n = -1}, {n = 1e300}, {n = 0 / 0},
  {false, nil, true}, {{}, {{}}}, {x = 1, [1.5] = 2},
  hostiletable(), hostiletable("__index"), hostiletable("__tostring"),
  hostiletable("__close"), hostiletable("__eq"), hostiletable("__len"),
  hostiletable("__call"), hostiletable("__name"),
  setmetatable({}, {__tostring = function () return 42 end}),
  setmetatable({}, {__metatable = false}),
  impostor(noop), impostor(raiser("impostor")), impostor(function ()
    return true end),
  noop, raiser("function"), print, coroutine.running(), dead(), deepc,
  coroutine.create(noop), function (...) return ... end,
  function () return table.unpack({}, 1, 200) end)
local NHOSTILE = hostile.n

-- Values that look valid, to get past the first checks.
local plausible = {
  0, 1, 2, 0.01, 0.05, true, false, "x", "i", "d", "w", noop, {}, {1, 2},
  -1, 0.001, "127.0.0.1", 0,
}

-- Host strings for socket calls: loopback addresses only, never a name
-- (a name, even "localhost" or the "1e+300" that a number becomes, may go
-- to a resolver), never "*" (any interface).
local hosts = {"127.0.0.1", "::1"}

-- Object pool: kind (metatable) -> list of objects; destroyed ones apart.
local kinds, kindlist = {}, {}
local destroyed = {}       -- list of {obj, kind}
local isdestroyed = setmetatable({}, {__mode = "k"})
local MAXPERKIND = 6
local anyobjects = {}      -- a flat list, for arguments (bounded)

local function metaof (v)
  local t = type(v)
  if t ~= "userdata" and t ~= "table" then return nil end
  local mt = debug.getmetatable(v)
  if type(mt) ~= "table" then return nil end
  return mt
end

-- The methods of objects of kind 'mt': name -> function, from the
-- metatable and its __index chain (tables only; functions as __index,
-- like threading's classes, fall back to the metatable, which is where
-- those classes keep their methods, and to its parents).
local function methodsof (mt)
  local found, seen = {}, {}
  local function walk (t, depth)
    if type(t) ~= "table" or seen[t] or depth > 8 then return end
    seen[t] = true
    for _, k in ipairs(sortedkeys(t)) do
      local v = rawget(t, k)
      if type(v) == "function" and found[k] == nil
          and (not k:match("^_") or k:match("^__")) then
        found[k] = v
      end
    end
    local index = rawget(t, "__index")
    walk(index, depth + 1)
    if type(index) == "function" and debug.getinfo(index, "S").what == "C"
    then  -- a C __index keeps its method table as an upvalue
      for i = 1, 8 do
        local name, v = debug.getupvalue(index, i)
        if name == nil then break end
        walk(v, depth + 1)
      end
    end
    local pmt = debug.getmetatable(t)
    if type(pmt) == "table" then walk(rawget(pmt, "__index"), depth + 1) end
  end
  walk(mt, 0)
  return found
end

-- A kind's name: its __name, else the module field that holds it, else
-- its first methods.
local function kindname (mt, names)
  local n = rawget(mt, "__name")
  if type(n) == "string" then return n end
  for _, modname in ipairs(modnames) do
    for _, k in ipairs(sortedkeys(modules[modname])) do
      if rawequal(rawget(modules[modname], k), mt) then
        return modname .. "." .. k
      end
    end
  end
  return "{" .. table.concat(names, ",", 1, math.min(#names, 3)) .. "}"
end

-- The module a kind belongs to: the longest module name its name starts
-- with.
local function moduleof (kname)
  local best = "?"
  if kname == "FILE*" then return "io" end
  if kname:match("^tcp{") or kname:match("^udp{") then return "socket" end
  for _, m in ipairs(modnames) do
    if kname:sub(1, #m + 1) == m .. "." and #m > #best then best = m end
  end
  return best
end

-- Module tables are not objects; nor are our hostile values.
local notobject = {}
for _, m in pairs(modules) do notobject[m] = true end
for i = 1, NHOSTILE do
  if type(hostile[i]) ~= "number" and hostile[i] ~= nil then
    notobject[hostile[i]] = true
  end
end

local function addobject (v)
  if notobject[v] then return end
  local mt = metaof(v)
  if not mt or notobject[mt] then return end
  local k = kinds[mt]
  if not k then
    local methods = methodsof(mt)
    local names = sortedkeys(methods)
    if #names == 0 then return end
    k = {mt = mt, name = kindname(mt, names), methods = methods,
         names = names, objects = {}}
    kinds[mt] = k
    kindlist[#kindlist + 1] = k
  end
  for _, o in ipairs(k.objects) do
    if rawequal(o, v) then return end
  end
  if #k.objects < MAXPERKIND then
    k.objects[#k.objects + 1] = v
  else
    k.objects[random(MAXPERKIND)] = v
  end
  if #anyobjects < 64 then
    anyobjects[#anyobjects + 1] = v
  else
    anyobjects[random(64)] = v
  end
end

-- }======================================================


-- {======================================================
-- Targets and calls
-- =======================================================

-- A target: {label, module, name, fn, method = bool, kind = k}.
local targets = {}
local functargets = {}

local function addfunctions (modname, t)
  for _, name in ipairs(sortedkeys(t)) do
    local v = rawget(t, name)
    local label = modname .. "." .. name
    local callable = type(v) == "function" or
      (type(v) == "table" and metaof(v) and rawget(metaof(v), "__call"))
    if callable and not skip[label] and not name:match("^_") then
      local tg = {label = label, module = modname, name = name, fn = v}
      targets[#targets + 1] = tg
      functargets[#functargets + 1] = tg
    end
  end
end

for _, modname in ipairs(modnames) do
  addfunctions(modname, modules[modname])
end

-- A wrapper per name, compiled so that Lua's call-site naming applies:
-- "bad argument #1 to 'acquire'" for obj:acquire(), "... to 'sleep'" for
-- mod.sleep().
local wrappers = {}
local keywords = {}
for k in ("and break do else elseif end false for function goto if in " ..
          "local nil not or repeat return then true until while"):gmatch("%a+")
do
  keywords[k] = true
end
local function wrapper (name, method)
  local key = (method and ":" or ".") .. name
  local w = wrappers[key]
  if w then return w end
  local ident = name:match("^[%a_][%w_]*$") and not keywords[name]
  local src
  if not ident then
    src = method and "local name = ... return function (o, ...) " ..
                     "return o[name](o, ...) end"
                 or "local name = ... return function (t, ...) " ..
                    "return t[name](...) end"
  elseif method then
    src = ("return function (o, ...) return o:%s(...) end"):format(name)
  else
    src = ("return function (t, ...) return t.%s(...) end"):format(name)
  end
  w = assert(load(src, "=call"))(name)
  wrappers[key] = w
  return w
end

-- Argument makers.
local function hostilevalue ()
  return hostile[random(NHOSTILE)]
end

local function anyvalue ()
  local r = random(100)
  if r <= 40 then return pick(plausible)
  elseif r <= 80 then return hostilevalue()
  elseif r <= 95 and #anyobjects > 0 then return pick(anyobjects)
  elseif #destroyed > 0 then return pick(destroyed).obj
  else return hostilevalue()
  end
end

local function isnumber (v) return type(v) == "number" end

-- The sandbox (see the header): rewrite arguments that would reach beyond
-- the temporary directory and the loopback, or exhaust the machine.
local function sandbox (label, mod, args, n)
  if mod == "socket" or mod == "socket.core" then
    for i = 1, n do
      if type(args[i]) == "string" then args[i] = pick(hosts) end
    end
    -- Where a host goes, a number would be read as one ("1e+300" is a
    -- name; 1 is 0.0.0.1): socket.connect's address and local address,
    -- bind's, the methods' that take one, sendto's second argument.
    local name = label:match("[%w_]+$")
    local hostargs = ({connect = {1, 3}, connect4 = {1, 3},
                       connect6 = {1, 3}, bind = {1}, setpeername = {1},
                       setsockname = {1}, sendto = {2}})[name] or {}
    for _, i in ipairs(hostargs) do
      if i <= n and type(args[i]) ~= "string" then args[i] = pick(hosts) end
    end
    -- setfd(n) hands the socket any descriptor, which its close() then
    -- closes: the fuzzer's own stdout, say. Only "none" is given.
    if name == "setfd" and n >= 1 then args[1] = -1 end
  elseif label == "multiprocessing.Pool" then
    if isnumber(args[1]) and args[1] > 2 then args[1] = 2 end
    if type(args[1]) == "table" and isnumber(rawget(args[1], "processes"))
    then
      rawset(args[1], "processes", 2)
    end
  elseif label:match("Array$") or label:match("Value$") then
    for i = 1, n do
      if isnumber(args[i]) and args[i] > 65536 then args[i] = 65536 end
    end
  end
end

-- Lists as hostile tables may hold more than the functions accept, but
-- a Pool's or executor's map over huge lists is slow, not broken: fine.

-- Global state a call may change that would break the fuzzer itself.
local saved = {
  out = io.output(io.open("default.out", "w")),
  input = io.input(io.open("default.in", "w+")),
  stack = _thread.stack_size(),
  interval = gil.getswitchinterval(),
  preempt = gil.getpreempt(),
  policy = gil.getpolicy(),
}
saved.out, saved.input = io.output(), io.input()

local function restore ()
  if io.type(saved.out) ~= "file" then
    saved.out = io.open("default.out", "w")
  end
  if io.type(saved.input) ~= "file" then
    saved.input = io.open("default.in", "r")
  end
  io.output(saved.out)
  io.input(saved.input)
  if gil.getswitchinterval() ~= saved.interval then
    gil.setswitchinterval(saved.interval)
  end
  if gil.getpreempt() ~= saved.preempt then
    pcall(gil.setpreempt, saved.preempt)
  end
  if gil.getpolicy() ~= saved.policy then
    pcall(gil.setpolicy, saved.policy)
  end
  if gethook() then sethook() end
  if gil.getwarn() ~= 0 then gil.setwarn(0) end  -- no warnings' noise
  threading.setchecklocks(false)                -- nor reports'
end

-- }======================================================


-- {======================================================
-- The checks and the report
-- =======================================================

local stats = {
  calls = 0, byname = {}, bymodule = {}, errors = {}, nerrors = 0,
  interrupts = 0, violations = {}, nviolations = 0, ok = 0, interrupted = {},
  slow = {},
}
local report = {}

local function describe (v)
  local t = type(v)
  if t == "string" then
    if #v > 20 then return ("string(%d)"):format(#v) end
    return ("%q"):format(v):gsub("\n", "n")
  elseif t == "number" or t == "boolean" or t == "nil" then
    return tostring(v)
  else
    local mt, name = metaof(v), t
    if mt and type(rawget(mt, "__name")) == "string" then
      name = rawget(mt, "__name")
    end
    return isdestroyed[v] and "destroyed " .. name or name
  end
end

local function describecall (tg, self, args, n)
  local parts = {}
  for i = 1, n do parts[i] = describe(args[i]) end
  if tg.method then
    return ("%s(%s) [self %s]"):format(tg.label,
           table.concat(parts, ", "), describe(self))
  end
  return ("%s(%s)"):format(tg.label, table.concat(parts, ", "))
end

-- Where an error message comes from, and the function it names: a
-- message is checked only if it is a string.
local function violation (tg, err, desc)
  if type(err) ~= "string" then return end
  if err:find(HOSTILE, 1, true) or err:find("interrupted!", 1, true)
      or err:match("^call:") then  -- the last: the fuzzer's own wrapper
    return
  end
  -- Raised in a Lua file loaded from disk: not luagil's code (whose Lua
  -- modules are compiled in), but another library's that luagil runs
  -- unchanged, such as LuaSocket's socket.lua on luagil's socket core.
  if err:match("^/[^:]+%.lua:%d+:") then
    return
  end
  local named = err:match("bad argument #%d+ to '([^']*)'")
             or err:match("calling '([^']*)' on bad self")
  if named then
    local short = named:match("[^.:]+$") or named
    local home = tg.kind and tg.kind.methods or modules[tg.module] or {}
    local class = tg.kind and tg.kind.name:match("[^.]+$")
    if short ~= tg.name and rawget(home, short) == nil  -- not an alias
        and not (tg.name == "new" and short == class)
        and tg.name ~= "__call" then  -- a class's __call is its constructor
      return "names", ("names '%s', not '%s'"):format(named, tg.name)
    end
    return
  end
  -- An error from inside a library's Lua code: an unclear message.
  if err:match("attempt to %a+ a [%a ]+ value") then
    return "unclear", "an internal error, not a message for the caller"
  end
end

local function record (tg, desc, ok, err)
  stats.calls = stats.calls + 1
  stats.byname[tg.label] = (stats.byname[tg.label] or 0) + 1
  stats.bymodule[tg.module] = (stats.bymodule[tg.module] or 0) + 1
  if ok then
    stats.ok = stats.ok + 1
    return
  end
  if err == "interrupted!" or (type(err) == "string"
                               and err:find("interrupted!", 1, true)) then
    stats.interrupted[tg.label] = (stats.interrupted[tg.label] or 0) + 1
  end
  local text = type(err) == "string" and err or describe(err)
  if type(err) ~= "string" then
    local okt, s = pcall(tostring, err)
    if okt and type(s) == "string" then text = s end
  end
  -- Distinct errors: by message with numbers and addresses taken out.
  local shape = text:sub(1, 200):gsub("0x%x+", "0x"):gsub("%d+", "N")
  if not stats.errors[shape] then
    stats.errors[shape] = tg.label
    stats.nerrors = stats.nerrors + 1
  end
  local class, why = violation(tg, err, desc)
  if class then
    local key = tg.label .. ": " .. class .. ": " .. shape
    if not stats.violations[key] then
      stats.violations[key] = {class = class, why = why, call = desc,
                               err = text:sub(1, 200)}
      stats.nviolations = stats.nviolations + 1
    end
  end
end

local function writereport (verdict)
  local out = {}
  local function add (...) out[#out + 1] = table.concat({...}) end
  add(("calls: %d over %d functions and methods (%d returned, %d "
       .. "interrupted by the watchdog)"):format(stats.calls,
       #targets, stats.ok, stats.interrupts))
  local mods = sortedkeys(stats.bymodule)
  local per = {}
  for _, m in ipairs(mods) do per[#per + 1] = m .. " " .. stats.bymodule[m] end
  add("per module: ", table.concat(per, ", "))
  local never = {}
  for _, tg in ipairs(targets) do
    if not stats.byname[tg.label] then never[#never + 1] = tg.label end
  end
  table.sort(never)
  if #never > 0 then
    add(("never called (%d): "):format(#never), table.concat(never, " "))
  end
  local ints = {}
  for _, l in ipairs(sortedkeys(stats.interrupted)) do
    ints[#ints + 1] = l .. " " .. stats.interrupted[l]
  end
  add("interrupted: ", table.concat(ints, ", "))
  local slow = sortedkeys(stats.slow)
  table.sort(slow, function (a, b) return stats.slow[a] > stats.slow[b] end)
  for i = 1, #slow do
    slow[i] = ("%s %.1f s"):format(slow[i], stats.slow[slow[i]])
  end
  add("time in calls over a quarter window (by label): ",
      table.concat(slow, ", ", 1, math.min(#slow, 12)))
  add(("distinct errors: %d"):format(stats.nerrors))
  if opts.verbose then
    for _, e in ipairs(sortedkeys(stats.errors)) do
      add("  ", stats.errors[e], ": ", (e:gsub("\n", " | ")))
    end
  end
  local keys = sortedkeys(stats.violations)
  add(("messages that do not name the function: %d"):format(#keys))
  for _, k in ipairs(keys) do
    local v = stats.violations[k]
    add("  [", v.class, "] ", v.call, "\n      -> ",
        (v.err:gsub("\n", " | ")), "  (", v.why, ")")
  end
  if report.hang then add("HANG: ", report.hang) end
  add(verdict)
  local f = io.open(opts.dir .. "/report", "w")
  f:write(table.concat(out, "\n"), "\n")
  f:close()
end

-- }======================================================


-- {======================================================
-- The watchdog
-- =======================================================

local wd = {n = 0, busy = false, t0 = 0, desc = ""}
local MAXINTERRUPTS = 5

local function watchdog ()
  local seen, interrupts = -1, 0
  while true do
    time.sleep(opts.window / 4)
    if wd.busy then
      if wd.n ~= seen then seen, interrupts = wd.n, 0 end
      local age = monotonic() - wd.t0
      if age > opts.window * (1 + interrupts) then
        if interrupts >= MAXINTERRUPTS then
          report.hang = ("#%d %s: still running after %d interrupts"
                         .. " (%.1f s)"):format(wd.n, wd.desc, interrupts,
                                                age)
          stderr:write("misuse: ", report.hang, "\n")
          pcall(writereport, "FAIL")
          hard_exit(3)
        end
        interrupts = interrupts + 1
        stats.interrupts = stats.interrupts + 1
        interrupt_main()
      end
    end
  end
end

local dog = threading.Thread{target = watchdog, daemon = true,
                             name = "misuse-watchdog"}
dog:start()

-- }======================================================


-- {======================================================
-- The main loop
-- =======================================================

local lastf = io.open("lastcall", "w")
lastf:setvbuf("no")

-- Objects to start from: each constructor with valid arguments.
local function seedobjects ()
  local q = require "queue"
  local fut = require "concurrent.futures"
  local mp = require "multiprocessing"
  local socket = require "socket"
  local logging = require "logging"
  local makers = {
    function () return threading.Lock() end,
    function () return threading.RLock() end,
    function () return threading.Condition() end,
    function () return threading.Semaphore(1) end,
    function () return threading.BoundedSemaphore(1) end,
    function () return threading.Event() end,
    function () return threading.Barrier(2) end,
    function () return threading.Timer(0, noop) end,
    function () return threading.Thread{target = noop} end,
    function () return threading.Local() end,
    function () return threading.current_thread() end,
    function () return q.Queue(2) end,
    function () return q.LifoQueue() end,
    function () return q.PriorityQueue() end,
    function () return q.SimpleQueue() end,
    function () return fut.ThreadPoolExecutor{max_workers = 2} end,
    function () return fut.Future() end,
    function () return mp.Queue() end,
    function () return mp.Lock() end,
    function () return mp.RLock() end,
    function () return mp.Value("i", 0) end,
    function () return mp.Array("d", 4) end,
    function () return (mp.Pipe()) end,
    function () return mp.Process{target = noop} end,
    function () return mp.current_process() end,
    function () return socket.tcp() end,
    function () return (socket.socketpair()) end,
    function () return (socket.bind("127.0.0.1", 0)) end,
    function () return logging.getLogger("misuse") end,
    function () return logging.Formatter() end,
    function () return logging.StreamHandler() end,
    function () return io.open("file.txt", "w+") end,
    function () return io.tmpfile() end,
    function () return coroutine.create(noop) end,
    function () return _thread.start_joinable_thread(noop) end,
    function () return q.Empty end,
  }
  for _, make in ipairs(makers) do
    local ok, v = pcall(make)
    if ok then addobject(v) end
  end
end

-- Destroy: call an object's __gc (or __close) by hand, keep it as a
-- destroyed object of its kind.
local function destroy (k, o)
  local gc = rawget(k.mt, "__gc") or rawget(k.mt, "__close")
  if type(gc) ~= "function" then return end
  pcall(gc, o)
  isdestroyed[o] = true
  destroyed[#destroyed + 1] = {obj = o, kind = k}
  if #destroyed > 32 then table.remove(destroyed, 1) end
  for i, x in ipairs(k.objects) do
    if rawequal(x, o) then table.remove(k.objects, i) break end
  end
end

local helpers = 0
local MAXHELPERS = 4

-- Whether --skip leaves out the call described by 'desc'.
local function skipped (desc)
  for _, p in ipairs(opts.skip) do
    if desc:match(p) then return true end
  end
  return false
end

-- Note a call in the lastcall file (what a crash report shows).
local function note (desc)
  stats.seq = (stats.seq or 0) + 1
  lastf:seek("set")
  lastf:write("#", stats.seq, " ", desc, "\n", string.rep(" ", 200))
  if opts.verbose then stderr:write("#", stats.seq, " ", desc, "\n") end
end

-- Run call(...) watched by the watchdog; returns pcall's results packed.
local function watched (tg, desc, call, ...)
  wd.desc, wd.t0, wd.n, wd.busy = desc, monotonic(), stats.seq, true
  local res = table.pack(pcall(call, ...))
  wd.busy = false
  record(tg, desc, res[1], res[2])
  local took = monotonic() - wd.t0
  if took > opts.window / 4 then  -- slow, if not blocked: time by label
    stats.slow[tg.label] = (stats.slow[tg.label] or 0) + took
  end
  return res
end

-- A race: one thread waits on an object while the main thread destroys it
-- by hand (its __gc) and then wakes it (issue 19's Event case).
local WAITS = {wait = {0.2}, join = {0.2}, acquire = {true, 0.2},
               get = {true, 0.2}, put = {1, true, 0.2}}
local WAKES = {"set", "release", "notify_all", "put", "close", "cancel"}
local function racegc ()
  local k = pick(kindlist)
  local gc = rawget(k.mt, "__gc") or rawget(k.mt, "__close")
  if type(gc) ~= "function" or #k.objects == 0 or helpers >= MAXHELPERS then
    return
  end
  local waits = {}
  for _, name in ipairs(k.names) do
    if WAITS[name] then waits[#waits + 1] = name end
  end
  if #waits == 0 then return end
  local o, name = pick(k.objects), pick(waits)
  local desc = ("%s:__gc while another thread is in :%s [self %s]")
               :format(k.name, name, describe(o))
  if skipped(desc) then return end
  local started = threading.Event()
  helpers = helpers + 1
  local t = threading.Thread{daemon = true, target = function ()
    started:set()
    pcall(wrapper(name, true), o, table.unpack(WAITS[name]))
    helpers = helpers - 1
  end}
  if not pcall(t.start, t) then helpers = helpers - 1 return end
  started:wait()
  time.sleep(0.005)  -- most often it is waiting by now; if not, a race
  local tg = {label = k.name .. ":__gc", module = moduleof(k.name),
              name = "__gc"}
  note(desc)
  watched(tg, desc, gc, o)
  destroy(k, o)
  for _, wake in ipairs(WAKES) do
    if k.methods[wake] then
      tg = {label = k.name .. ":" .. wake, module = tg.module, name = wake}
      desc = ("%s:%s() on an object destroyed while another thread was in "
              .. ":%s [self %s]"):format(k.name, wake, name, describe(o))
      if not skipped(desc) then
        note(desc)
        watched(tg, desc, wrapper(wake, true), o)
      end
    end
  end
end

-- One call: choose a target, its self and arguments, run it watched.
local args = {}
local function onecall (deadline)
  local more = monotonic() < deadline
  local tg, self
  if random(100) == 1 and #kindlist > 0 then
    racegc()
    return more
  end
  local r = random(100)
  if r <= 40 or #kindlist == 0 then
    tg = pick(functargets)
    local blocked = stats.interrupted[tg.label]  -- as for methods, below
    if blocked and random(blocked + 1) > 1 then return more end
  else
    local k = pick(kindlist)
    local name = pick(k.names)
    local label = k.name .. ":" .. name
    -- A call that blocked before will mostly block again: it costs a
    -- watchdog window each time, so it is tried less and less often.
    local blocked = stats.interrupted[label]
    if blocked and random(blocked + 1) > 1 then return more end
    tg = k.targets and k.targets[name]
    if not tg then
      k.targets = k.targets or {}
      tg = {label = k.name .. ":" .. name, module = moduleof(k.name),
            name = name,
            fn = k.methods[name], method = true, kind = k}
      k.targets[name] = tg
      targets[#targets + 1] = tg
    end
    local s = random(100)
    if s <= 70 and #k.objects > 0 then self = pick(k.objects)
    elseif s <= 80 then
      for _, d in ipairs(destroyed) do
        if d.kind == k then self = d.obj break end
      end
    else
      self = anyvalue()  -- a wrong self
    end
    if skipmethod[name] then return more end
  end
  local n = random(0, 4)
  for i = 1, 5 do args[i] = nil end
  for i = 1, n do args[i] = anyvalue() end
  sandbox(tg.label, tg.module, args, n)
  local desc = describecall(tg, self, args, n)
  if skipped(desc) then return more end
  note(desc)
  local mt = self ~= nil and debug.getmetatable(self)
  local rightself = tg.method and mt == tg.kind.mt
  local holder, call = self, nil
  if rightself and not tg.name:match("^__") then
    call = wrapper(tg.name, true)  -- obj:name(...)
  else
    -- Metamethods and a wrong self: called as a user's
    -- getmetatable(o).__gc(x) or Lock.acquire(x) would be.
    holder = {[tg.name] = tg.fn}
    call = wrapper(tg.name, false)
    if tg.method then
      table.insert(args, 1, self)
      n = n + 1
    end
  end
  if tg.method and random(40) == 1 and helpers < MAXHELPERS then
    -- The same call from another thread, not waited for: a call racing
    -- the main thread's next ones (a __gc while another thread waits).
    helpers = helpers + 1
    local hargs = table.pack(table.unpack(args, 1, n))
    local t = threading.Thread{daemon = true, target = function ()
      pcall(call, holder, table.unpack(hargs, 1, hargs.n))
      helpers = helpers - 1
    end}
    pcall(t.start, t)
    stats.helpers = (stats.helpers or 0) + 1
    return more
  end
  local res = watched(tg, desc, call, holder, table.unpack(args, 1, n))
  if res[1] then
    for i = 2, math.min(res.n, 4) do addobject(res[i]) end
  end
  if rightself and (tg.name == "__gc" or tg.name == "__close") then
    destroy(tg.kind, self)
  end
  restore()
  -- Now and then, destroy an object by hand or make fresh ones.
  if random(50) == 1 and #kindlist > 0 then
    local k = pick(kindlist)
    if #k.objects > 0 then destroy(k, pick(k.objects)) end
  end
  if random(500) == 1 then seedobjects() end
  if random(200) == 1 then  -- finalizers of what was dropped, watched
    local tg = {label = "_G.collectgarbage", module = "_G",
                name = "collectgarbage"}
    note("collectgarbage() (finalizers)")
    watched(tg, "collectgarbage()", collectgarbage)
  end
  return more
end

local function mainloop ()
  local deadline = monotonic() + opts.seconds
  while (stats.seq or 0) < opts.calls do
    -- The inner pcall catches an interrupt that lands in the fuzzer's
    -- own code, between two calls.
    local ok, more = pcall(onecall, deadline)
    wd.busy = false
    if ok and not more then break end
    if not ok and not tostring(more):find("interrupted!", 1, true) then
      stderr:write("misuse: fuzzer error: ", tostring(more), "\n")
    end
  end
end

seedobjects()
for _, k in ipairs(kindlist) do  -- one destroyed object of each kind
  local ok, o = pcall(function () return k.objects[1] end)
  if ok and o ~= nil and #k.objects > 1 then destroy(k, o) end
end

local ok, err = pcall(mainloop)
if not ok then stderr:write("misuse: fuzzer error: ", tostring(err), "\n") end
restore()
pcall(_thread.stack_size, saved.stack)

-- Afterwards, fresh objects must still work at once: a lock that library
-- code leaked on an error path (a module-wide one, say) shows here. Each
-- step is watched like a call; one the watchdog interrupts is stuck.
local function checkstill ()
  local q = require "queue"
  local fut = require "concurrent.futures"
  local steps = {
    {"threading.Lock", function ()
      local l = threading.Lock()
      assert(l:acquire(false)) l:release() end},
    {"threading.Event", function ()
      local e = threading.Event() e:set() assert(e:wait(0)) end},
    {"queue.Queue", function ()
      local qq = q.Queue() qq:put(1) assert(qq:get() == 1) end},
    {"concurrent.futures.Future", function ()
      local f = fut.Future() f:set_result(7) assert(f:result() == 7) end},
    {"threading.Thread", function ()
      local t = threading.Thread{target = noop} t:start() t:join() end},
  }
  for _, step in ipairs(steps) do
    wd.desc, wd.t0, wd.n, wd.busy = "after the run: " .. step[1],
                                    monotonic(), -1 - #stats.stuck, true
    local okc, e = pcall(step[2])
    wd.busy = false
    if not okc then
      stats.stuck[#stats.stuck + 1] = step[1] .. ": " .. tostring(e)
    end
  end
end
stats.stuck = {}
pcall(checkstill)
for _, s in ipairs(stats.stuck) do
  stats.violations["stuck " .. s] = {class = "stuck", why =
    "fresh objects of this kind no longer work after the run",
    call = s:match("^[^:]+"), err = s}
  stats.nviolations = stats.nviolations + 1
end
local pass = #stats.stuck == 0 and
             not (opts.strict and stats.nviolations > 0)
writereport(pass and "PASS" or "FAIL")
-- _exit: the process must not wait here for the non-daemon threads that
-- hostile Timers and Threads left (a Timer(1e300, f) waits for ever, as
-- in Python); they are not luagil's fault. Buffers are flushed first.
io.stdout:flush()
hard_exit(0)

-- }======================================================
