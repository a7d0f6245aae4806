-- tests/lua/lifecycle.lua -- what a whole program does, seen from outside:
-- an error in a thread prints the excepthook message and the program goes
-- on; the program waits for non-daemon threads; it exits at once, cleanly,
-- with daemon threads still running; Ctrl-C interrupts a join or a sleep.
-- Runs luagil ($LUAGIL) as a child process.
print("testing the program's lifecycle")

local threading = require "threading"
local time = require "time"

local LUAGIL = assert(os.getenv("LUAGIL"), "set LUAGIL to the luagil binary")
local tmp = os.tmpname()

-- Run 'code' as a script; returns stdout+stderr and the exit status.
local function run (code, extra)
  local f = assert(io.open(tmp, "w"))
  f:write(code)
  f:close()
  local p = assert(io.popen(("%s %s %s 2>&1"):format(LUAGIL, extra or "", tmp)))
  local out = p:read("a")
  local _, _, status = p:close()
  return out, status
end

-- An error escaping a thread: excepthook prints it, the program goes on.
do
  local out, status = run([[
    local threading = require "threading"
    local t = threading.Thread{name = "bad", target = function ()
      error("something broke")
    end}
    t:start(); t:join()
    print("still running")
  ]])
  assert(status == 0, out)
  assert(out:find("Exception in thread bad:\n", 1, true), out)
  assert(out:find("something broke", 1, true), out)
  assert(out:find("stack traceback:", 1, true), out)
  assert(out:find("still running", 1, true), out)
end

-- excepthook is assignable; _thread.exit() ends a thread quietly.
do
  local out, status = run([[
    local threading = require "threading"
    local _thread = require "_thread"
    threading.excepthook = function (args)
      print("hook", args.thread.name, args.exc_value.code)
    end
    local t = threading.Thread{name = "t1", target = function ()
      error({code = 42})
    end}
    t:start(); t:join()
    local q = threading.Thread{target = function () _thread.exit() end}
    q:start(); q:join()
  ]])
  assert(status == 0 and out == "hook\tt1\t42\n", out)
end

-- The program ends only when its non-daemon threads have. The thread
-- goes on only once the main chunk has ended: shutdown runs the hooks of
-- threading._register_atexit before it joins.
do
  local out, status = run([[
    local threading = require "threading"
    local ended = threading.Event()
    threading._register_atexit(function () ended:set() end)
    threading.Thread{target = function ()
      ended:wait()
      print("thread done")
    end}:start()
    print("main done")
  ]])
  assert(status == 0 and out == "main done\nthread done\n", out)
end

-- An error in the main chunk still waits for threads, and exits 1.
do
  local out, status = run([[
    local threading = require "threading"
    local ended = threading.Event()
    threading._register_atexit(function () ended:set() end)
    threading.Thread{target = function ()
      ended:wait()
      print("thread done")
    end}:start()
    error("main failed")
  ]])
  assert(status == 1, out)
  assert(out:find("main failed", 1, true) and out:find("thread done", 1, true),
         out)
end

-- Exiting with daemon threads still running (sleeping, spinning, waiting
-- for the GIL, in a coroutine): never a crash or a hang, 100 times.
do
  local script = [[
    local threading = require "threading"
    local time = require "time"
    for i = 1, 4 do
      threading.Thread{daemon = true, target = time.sleep, args = {10}}:start()
    end
    for i = 1, 3 do
      threading.Thread{daemon = true, target = function ()
        local t = {}
        while true do t[#t % 1000 + 1] = {i} end
      end}:start()
    end
    threading.Thread{daemon = true, target = function ()
      coroutine.wrap(function () while true do end end)()
    end}:start()
    local x = 0
    for i = 1, 1000 do x = x + i end
    print("bye")
  ]]
  local t0 = time.monotonic()
  for i = 1, 100 do
    local out, status = run(script)
    assert(status == 0 and out == "bye\n",
           ("run %d: status %s, output %q"):format(i, status, out))
  end
  print(("100 exits with daemon threads: %.2f s"):format(time.monotonic() - t0))
end

-- Ctrl-C interrupts the main thread blocked in join, and in sleep.
local function interrupted (body)
  local f = assert(io.open(tmp, "w"))
  f:write(body)
  f:close()
  local ready = tmp .. ".ready"
  os.remove(ready)
  -- The script creates 'ready' just before it blocks; then SIGINT it.
  local cmd = ([[
    %s %s %s 2>&1 &
    pid=$!
    i=0
    while [ ! -e %s ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done
    sleep 0.1
    kill -INT $pid
    wait $pid
    echo "status=$?"
  ]]):format(LUAGIL, "", tmp, ready)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  os.remove(ready)
  return out
end

do
  local out = interrupted(([[
    local threading = require "threading"
    local time = require "time"
    local t = threading.Thread{daemon = true, target = time.sleep,
                               args = {60}}
    t:start()
    io.open(%q, "w"):close()
    t:join()
    print("not reached")
  ]]):format(tmp .. ".ready"))
  assert(out:find("interrupted!", 1, true), out)
  assert(out:find("status=1", 1, true), out)
  assert(not out:find("not reached", 1, true), out)

  out = interrupted(([[
    local time = require "time"
    io.open(%q, "w"):close()
    local ok, err = pcall(time.sleep, 60)
    print("caught", err)
  ]]):format(tmp .. ".ready"))
  assert(out:find("caught\tinterrupted!", 1, true), out)
  assert(out:find("status=0", 1, true), out)

  out = interrupted(([[
    io.open(%q, "w"):close()
    local ok, err = pcall(function () while true do end end)
    print("caught", err)
  ]]):format(tmp .. ".ready"))
  assert(out:find("interrupted!", 1, true) and out:find("status=0", 1, true),
         out)
end

os.remove(tmp)
print("OK")
