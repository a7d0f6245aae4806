-- tests/lua/testlib.lua -- helpers shared by the Lua tests (not a test).
-- Each test reaches it with require "testlib": CTest runs them in this
-- folder.
local testlib = {}

-- checkerror(msg, f, ...): f(...) must raise an error whose text contains
-- 'msg' (plain text, not a pattern).
function testlib.checkerror (msg, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "no error; expected '" .. msg .. "'")
  assert(string.find(tostring(err), msg, 1, true),
         "expected '" .. msg .. "', got '" .. tostring(err) .. "'")
end

-- go(f, ...): f(...) in a new threading.Thread, started; returns the
-- Thread (joined by the caller).
function testlib.go (f, ...)
  local t = require("threading").Thread{target = f, args = table.pack(...)}
  t:start()
  return t
end

-- blocking_drops(t): how many times Thread 't' has let the GIL go around
-- a blocking call so far (its gil.stats() entry; 0 before it has one).
function testlib.blocking_drops (t)
  local n = 0
  for _, s in ipairs(require("gil").stats().threads) do
    if s.ident == t.ident then n = s.blocking_drops end  -- the newest one
  end
  return n
end

-- wait_blocked(t): returns once Thread 't' has let the GIL go around a
-- blocking call, so that a test can wake it from there rather than hope a
-- sleep was long enough; fails after 30 s.
function testlib.wait_blocked (t)
  local time = require "time"
  local deadline = time.monotonic() + 30
  while testlib.blocking_drops(t) == 0 do
    assert(time.monotonic() < deadline,
           tostring(t) .. " never blocked")
    time.sleep(0.001)
  end
end

-- Whether pure-Lua code is preempted here: not under ThreadSanitizer, which
-- delays signals to code it did not instrument (Debian's liblua), so a
-- spinning thread keeps the GIL; CTest says so there.
testlib.preempts = os.getenv("LUAGIL_TEST_NO_PREEMPT") == nil

-- The luagil under test: CTest sets LUAGIL; else the running program.
testlib.luagil = os.getenv("LUAGIL") or (arg and arg[-1])

-- run(code [, opts]) -> status, output: 'code' run as a script by a child
-- luagil, stdin from /dev/null, stdout and stderr together, killed after
-- opts.timeout seconds (default 20: status 124 then says it hung). opts:
-- args (options before the script), shell (shell commands run first, such
-- as "ulimit -v 60000;"), timeout.
function testlib.run (code, opts)
  opts = opts or {}
  local file = os.tmpname()
  local f = assert(io.open(file, "w"))
  f:write(code)
  f:close()
  local cmd = ("%s timeout %d %s %s %s < /dev/null 2>&1; echo \"status=$?\"")
              :format(opts.shell or "", opts.timeout or 20, testlib.luagil,
                      opts.args or "", file)
  local p = assert(io.popen("bash -c '" .. cmd:gsub("'", "'\\''") .. "'"))
  local out = p:read("a")
  p:close()
  os.remove(file)
  local status = tonumber(out:match("status=(%d+)\n$"))
  return status, (out:gsub("status=%d+\n$", ""))
end

-- stuck_pipe() -> w, stop: a pipe whose reader never reads, for a write
-- that fills it and then waits; stop() ends the reader and closes 'w'
-- (what stayed in its buffer meets the closed pipe: SIGPIPE is ignored
-- once socket is loaded, and the close fails quietly).
function testlib.stuck_pipe ()
  require "socket"
  local pidfile = os.tmpname()
  local w = assert(io.popen("echo $$ > " .. pidfile .. "; exec sleep 3600",
                            "w"))
  local function stop ()
    local pid
    repeat
      local f = assert(io.open(pidfile))
      pid = f:read("l")
      f:close()
    until pid ~= nil
    os.remove(pidfile)
    assert(os.execute("kill " .. pid))
    w:close()
  end
  return w, stop
end

return testlib
