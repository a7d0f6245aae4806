-- tests/lua/misuse_vm.lua -- issue 19: misuse of the VM core, _thread and
-- gil must raise clear errors, never crash, hang or leak.
print("testing misuse_vm")

local testlib = require "testlib"
local checkerror = testlib.checkerror
local threading = require "threading"
local _thread = require "_thread"
local gil = require "gil"

local LUAGIL = assert(os.getenv("LUAGIL"), "LUAGIL not set")

-- run(code [, opts [, shell [, limit]]]) -> status, output: 'code' in a
-- child luagil with options 'opts', after the shell commands 'shell',
-- killed after 'limit' seconds (default 20).
local function run (code, opts, shell, limit)
  return testlib.run(code, {args = opts, shell = shell, timeout = limit})
end


-- Case 3: an 'n' field is a length to check, not to trust.
checkerror("bad argument #2 to '_thread.start_new_thread' (too many "
           .. "arguments)", _thread.start_new_thread, print, {n = 2147483645})
checkerror("too many arguments", _thread.start_new_thread, print,
           {n = math.maxinteger})
checkerror("field 'n' must be >= 0", _thread.start_new_thread, print,
           {n = -1})
checkerror("field 'n' must be >= 0", _thread.start_new_thread, print,
           {n = math.mininteger})
checkerror("field 'n' must be an integer", _thread.start_new_thread, print,
           {n = 1.5})
checkerror("field 'n' must be an integer", _thread.start_new_thread, print,
           {n = 0/0})
checkerror("field 'n' must be an integer", _thread.start_new_thread, print,
           {n = "2"})
do  -- a valid 'n' still works, holes and all
  local done = threading.Event()
  local got
  _thread.start_new_thread(function (...)
    got = table.pack(...)
    done:set()
  end, {1, nil, 3, n = 4})
  done:wait()
  assert(got.n == 4 and got[1] == 1 and got[2] == nil and got[3] == 3)
end


-- Case 14: every numeric argument of gil is checked.
do
  local old = gil.getswitchinterval()
  for _, v in ipairs{0, -1, -math.huge, 0/0, -0.0} do
    checkerror("setswitchinterval' (switch interval must "
               .. "be strictly positive)", gil.setswitchinterval, v)
    checkerror("switch interval must be strictly positive",
               threading.setswitchinterval, v)
  end
  for _, v in ipairs{math.huge, 1e300, 1e9} do
    checkerror("setswitchinterval' (switch interval is "
               .. "too large)", gil.setswitchinterval, v)
  end
  assert(gil.getswitchinterval() == old)
  gil.setswitchinterval(1e6)  -- long, but fine
  assert(math.abs(gil.getswitchinterval() - 1e6) < 1e-3)
  gil.setswitchinterval(old)
  for _, v in ipairs{0/0, math.huge, 1e300, 1.5, "x"} do
    checkerror("bad argument #2 to 'gil.setpolicy' (field 'n' must be an "
               .. "integer)", gil.setpolicy, "ticks", {n = v})
    checkerror("bad argument #2 to 'gil.setpolicy' (field 'seed' must be an "
               .. "integer)", gil.setpolicy, "deterministic", {seed = v})
  end
  for _, v in ipairs{0, -5, math.mininteger, math.maxinteger} do
    checkerror("bad argument #2 to 'gil.setpolicy' (n must be a positive "
               .. "number of instructions)", gil.setpolicy, "ticks", {n = v})
  end
  checkerror("bad argument #1 to 'gil.seed'", gil.seed, 0/0)
  checkerror("bad argument #1 to 'gil.seed'", gil.seed, math.huge)
  assert(gil.getpolicy() == "interval")
end


-- Case 24: a trace that cannot be written fails at its start.
do
  checkerror("cannot open file '/nonexistent/dir/t.json' (No such file or "
             .. "directory)", gil.trace_start, "/nonexistent/dir/t.json")
  assert(gil.trace_stop() == false)  -- nothing was started
  local file = os.tmpname()  -- a file, so file/t.json cannot be made
  checkerror("cannot open file '" .. file .. "/t.json' (Not a directory)",
             gil.trace_start, file .. "/t.json")
  assert(gil.trace_stop() == false)
  -- and so does --gil-trace, before the script runs
  local status, out = run("print('ran')", "--gil-trace=" .. file .. "/t.json")
  assert(status == 1 and not out:find("ran") and
         out:find("cannot open file '" .. file .. "/t.json' (Not a "
                  .. "directory)", 1, true), out)
  os.remove(file)
end

-- Case 24: a thread's error is reported by its value: a number as the
-- number, a failing __tostring as the type, never a panic.
do
  local status, out = run([[
    local _thread = require "_thread"
    -- joined, so that each report is written before the next starts
    _thread.start_joinable_thread(function () error(42) end, "T1"):join()
    _thread.start_joinable_thread(function ()
      error(setmetatable({}, {__tostring = function () error("no") end}))
    end, "T2"):join()
    _thread.start_joinable_thread(_thread.exit, "T3"):join()
  ]])
  assert(status == 0, out)
  assert(out:find("Unhandled error in thread started by T1:\n42\n", 1,
                  true), out)
  assert(out:find("Unhandled error in thread started by T2:\n(error "
                  .. "object is a table value)\n", 1, true), out)
  assert(select(2, out:gsub("Unhandled error", "")) == 2, out)  -- not exit
end

-- Case 20: under 'ticks', two CPU-bound threads must let a sleeper back
-- in (the holder took the GIL straight back under gil.mutex: the main
-- thread's sleep never returned). A child, since a hang is the failure.
do
  local status, out = run([[
    local threading, time = require "threading", require "time"
    local stop = false
    local started = threading.Semaphore(0)
    local spinners = {}
    for i = 1, 2 do
      spinners[i] = threading.Thread{target = function ()
        started:release()
        local n = 0
        while not stop do n = n + 1 end
      end}
      spinners[i]:start()
    end
    started:acquire()
    started:acquire()
    time.sleep(0.2)
    stop = true
    for i = 1, 2 do spinners[i]:join() end
    print("returned")
  ]], "--gil-policy=ticks")
  assert(status == 0 and out == "returned\n", out)
end

-- Case 19: exited threads are forgotten, not kept for ever: RSS stays
-- flat over 100,000 threads after a warm-up of 10,000 (each kept a
-- ~220-byte GIL record: 22 MB). In a child, so that ASan's quarantine
-- of freed memory can be turned off (other builds ignore the variable).
do
  local status, out = run([[
    local threading, gil = require "threading", require "gil"
    local function rss ()
      local f = assert(io.open("/proc/self/statm"))
      local pages = f:read("a"):match("^%d+%s+(%d+)")
      f:close()
      return tonumber(pages) * 4096
    end
    local function run (n)
      local f = function () end
      for _ = 1, n do
        local t = threading.Thread{target = f}
        t:start()
        t:join()
      end
      collectgarbage()
      collectgarbage()
    end
    run(10000)
    local before = rss()
    run(100000)
    local growth = rss() - before
    assert(growth < 4 * 1024 * 1024, "RSS grew by " .. growth .. " bytes")
    local s = gil.stats()
    assert(#s.threads <= 2001, #s.threads)  -- the main thread, the exited
    assert(s.threads[1].name == "MainThread")
    assert(s.forgotten.threads >= 110000 - 2000, s.forgotten.threads)
    assert(s.forgotten.threads + #s.threads == 110001)
    assert(s.forgotten.acquisitions >= s.forgotten.threads)
    print("flat")
  ]], nil, "ASAN_OPTIONS=quarantine_size_mb=0:$ASAN_OPTIONS", 100)
  assert(status == 0 and out == "flat\n", out)
end

-- Case 4: a small thread stack still ends deep C recursion in Lua's own
-- error, never a segfault (262144 bytes crashed long before 200 levels).
do
  local status, out = run([[
    local threading = require "threading"
    local deep = {
      function ()
        local function f () return (string.gsub("x", "x", f)) end
        return f()
      end,
      function ()
        local mt = {}
        mt.__tostring = function ()
          return string.format("%s", setmetatable({}, mt))
        end
        return tostring(setmetatable({}, mt))
      end,
      function ()
        local function f () return coroutine.wrap(f)() end
        return f()
      end,
    }
    for _, size in ipairs{32768, 65536, 262144, 524288} do
      assert(threading.stack_size(size) >= 0)
      for i, f in ipairs(deep) do
        local t = threading.Thread{target = function ()
          local ok, err = pcall(f)
          assert(not ok)
          err = tostring(err)
          assert(err:find("stack overflow") or
                 err:find("error in error handling"), err)
          io.write(i, " ")
        end}
        t:start()
        t:join()
      end
    end
    assert(threading.stack_size(0) == 524288, "the size as given")
    print("ended")
  ]])
  assert(status == 0 and out == ("1 2 3 "):rep(4) .. "ended\n", out)
  -- the default size too, under a small ulimit -s
  status, out = run([[
    local threading = require "threading"
    local t = threading.Thread{target = function ()
      local function f () return (string.gsub("x", "x", f)) end
      print(pcall(f))
    end}
    t:start()
    t:join()
  ]], nil, "ulimit -s 256;")
  assert(status == 0 and out == "false\tC stack overflow\n", out)
end

-- Case 6: out of memory, starting a thread raises in the starter ("not
-- enough memory" or "can't start new thread"); it aborted the process
-- with "fatal: calloc failed" at some limits (64000 KiB here). Threads
-- are started until one fails, at limits from 40 to 76 MB; a build that
-- cannot run under a limit at all (ASan's shadow memory) skips this.
do
  local code = [[
    local threading = require "threading"
    local ev = threading.Event()
    local ballast = {}  -- freed after the failure: room for the rest
    for i = 1, 64 do ballast[i] = string.rep(string.char(i), 1 << 17) end
    local ts = {}
    local function new ()
      local t = threading.Thread{target = function () ev:wait() end,
                                 daemon = true}
      t:start()
      ts[#ts + 1] = t
    end
    local ok, err
    repeat ok, err = pcall(new) until not ok or #ts == 200000
    ballast = nil
    collectgarbage()
    ev:set()
    assert(not ok, "no failure")
    err = tostring(err)
    assert(err:find("not enough memory", 1, true) or
           err:find("can't start new thread", 1, true), err)
    for _, t in ipairs(ts) do t:join() end
    print("joined")
  ]]
  local probe = run("print('runs')", nil, "ulimit -v 60000;")
  if probe == 0 then
    for limit = 40000, 76000, 6000 do
      local status, out = run(code, nil, "ulimit -v " .. limit .. ";", 100)
      -- a waiter may fail too, out of memory: that is reported, and fine
      assert(status == 0 and out:find("joined\n$") and
             not out:find("fatal"), limit .. ": " .. out)
    end
  else
    print("(skipped: this build does not run under ulimit -v)")
  end
end

print("OK")
