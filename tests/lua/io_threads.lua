-- tests/lua/io_threads.lua -- io under threads: a thread blocked reading a
-- pipe or stdin does not stop the others; two threads writing 10,000 lines
-- each to one file lose and split no line; print never mixes lines.
print("testing io with threads")

local threading = require "threading"
local time = require "time"
local LUAGIL = assert(os.getenv("LUAGIL"), "LUAGIL not set")

-- A reader blocked on a pipe leaves the GIL to a CPU-bound thread: the
-- main thread counts loop iterations while the reader is inside read().
-- (The loop yields with sleep(0) so the test needs no preemption.)
local function blocked_reader (open)
  local state = {reading = false, done = false}
  local t = threading.Thread{target = function ()
    local f = open()
    state.reading = true
    state.got = f:read("a")
    state.done = true
    f:close()
  end}
  t:start()
  local n, i = 0, 0
  while not state.done do
    i = i + 1
    if state.reading then n = n + 1 end
    if i % 1000 == 0 then time.sleep(0) end
  end
  t:join()
  return n, state.got
end

do
  local n, got = blocked_reader(function ()
    return io.popen("sleep 0.5; echo from-pipe") end)
  assert(got == "from-pipe\n")
  assert(n > 10000, "only " .. n .. " iterations while the reader blocked")
end

-- The same with io.read on stdin, in a child luagil whose stdin is a pipe.
do
  local child = [[
    local threading = require "threading"
    local time = require "time"
    local s = {}
    local t = threading.Thread{target = function ()
      s.reading = true; s.line = io.read("l"); s.done = true end}
    t:start()
    local n, i = 0, 0
    while not s.done do
      i = i + 1
      if s.reading then n = n + 1 end
      if i % 1000 == 0 then time.sleep(0) end
    end
    t:join()
    print(s.line, n > 10000)
  ]]
  local p = io.popen("(sleep 0.5; echo typed) | " .. LUAGIL .. " -e '" ..
                     child .. "'")
  local out = p:read("a")
  assert(p:close())
  assert(out == "typed\ttrue\n", out)
end

-- Two writers on one file: every line whole, each thread's in order.
do
  local name = os.tmpname()
  local f = assert(io.open(name, "w"))
  f:setvbuf("full", 512)  -- small buffer: many flushes mid-stream
  local N = 10000
  local writers = {}
  for w = 1, 2 do
    writers[w] = threading.Thread{target = function ()
      local pad = string.rep(w == 1 and "a" or "b", 40)
      for i = 1, N do
        f:write("w", w, " ", i, " ", pad, "\n")
      end
    end}
    writers[w]:start()
  end
  for w = 1, 2 do writers[w]:join() end
  f:close()
  local next_i = {1, 1}
  local count = 0
  for line in io.lines(name) do
    local w, i, pad = line:match("^w(%d) (%d+) (%a+)$")
    w, i = tonumber(w), tonumber(i)
    assert(w and pad == string.rep(w == 1 and "a" or "b", 40),
           "split line: " .. line)
    assert(i == next_i[w], "lost line before " .. line)
    next_i[w] = i + 1
    count = count + 1
  end
  assert(count == 2 * N and next_i[1] == N + 1 and next_i[2] == N + 1)
  os.remove(name)
end

-- print from four threads of a child: no line mixed with another.
do
  local child = [[
    local threading = require "threading"
    local ts = {}
    for k = 1, 4 do
      ts[k] = threading.Thread{target = function ()
        for i = 1, 2000 do print("thread", k, "line", i, ("x"):rep(k * 20)) end
      end}
      ts[k]:start()
    end
    for k = 1, 4 do ts[k]:join() end
  ]]
  local p = io.popen(LUAGIL .. " -e '" .. child .. "'")
  local count = 0
  for line in p:lines() do
    local k, pad = line:match("^thread\t(%d)\tline\t%d+\t(x+)$")
    assert(k and #pad == tonumber(k) * 20, "mixed line: " .. line)
    count = count + 1
  end
  assert(p:close())
  assert(count == 8000, count)
end

-- Closing a file that another thread is reading waits for that read.
-- The reader has let the GIL go for its read once gil.stats() counts a
-- blocking drop for it; it takes the file's lock right after that (the
-- short sleep covers that moment).
do
  local f = io.popen("sleep 0.2; echo late")
  local got
  local t = threading.Thread{target = function () got = f:read("a") end}
  t:start()
  require("testlib").wait_blocked(t)
  time.sleep(0.01)
  assert(f:close())
  t:join()
  assert(got == "late\n" and io.type(f) == "closed file")
end

-- os.execute releases the GIL.
do
  local done = false
  local t = threading.Thread{target = function ()
    os.execute("sleep 0.3"); done = true end}
  t:start()
  local n, i = 0, 0
  while not done do
    i = i + 1; n = n + 1
    if i % 1000 == 0 then time.sleep(0) end
  end
  t:join()
  assert(n > 10000, n)
end

-- os.exit: close=true is refused outside the main thread.
do
  local err
  local t = threading.Thread{target = function ()
    err = select(2, pcall(os.exit, 0, true)) end}
  t:start(); t:join()
  assert(tostring(err):find("main thread", 1, true), tostring(err))
  -- From a thread, os.exit ends the process at once, with its code.
  local p = io.popen(LUAGIL .. [[ -e '
    local threading = require "threading"
    io.write("before ")
    threading.Thread{target = function () os.exit(7) end}:start()
    require("time").sleep(10)
    print("not reached")' ; echo "status $?"]])
  assert(p:read("a") == "before status 7\n")
  p:close()
  -- close=true on the main thread joins the threads first.
  p = io.popen(LUAGIL .. [[ -e '
    local threading = require "threading"
    threading.Thread{target = function ()
      require("time").sleep(0.1); print("thread done") end}:start()
    os.exit(3, true)' ; echo "status $?"]])
  assert(p:read("a") == "thread done\nstatus 3\n")
  p:close()
end

print("OK")
