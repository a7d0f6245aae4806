-- tests/embed/module.lua -- luagil loaded into stock lua5.4 ('lua5.4 -l
-- luagil'): 4 threads and a queue, the module names, and a non-daemon
-- thread still running when the script ends (lua_close joins it).
-- See LICENSE for copyright and licence (MIT).
print("testing module")

assert(type(luagil) == "table" and luagil._VERSION:find("^luagil"))
local threading = require "threading"
local queue = require "queue"
local time = require "time"
assert(require "luagil.threading" == threading)
assert(luagil.queue == queue)
-- logging keeps only its luagil. name in module mode; socket is ours
-- (LuaSocket's socket.lua, where installed, on luagil's socket.core)
assert(package.preload.logging == nil and package.preload["luagil.logging"])
local socket = require "socket"
assert(require "socket.core" == socket and luagil.socket == socket)
assert(socket._VERSION:find("luagil"))
do  -- a receive in a thread lets the GIL go: the main thread goes on
  local a, b = socket.socketpair()
  local got
  local t = threading.Thread{target = function () got = a:receive() end}
  t:start()
  b:send("through\n")
  t:join()
  assert(got == "through")
end

local q = queue.Queue()
local results = queue.Queue()
local workers = {}
for i = 1, 4 do
  workers[i] = threading.Thread{name = "w" .. i, target = function ()
    local sum = 0
    while true do
      local item = q:get()
      if item == false then break end
      sum = sum + item
      q:task_done()
    end
    q:task_done()
    results:put(sum)
  end}
  workers[i]:start()
end
for i = 1, 10000 do q:put(i) end
for _ = 1, 4 do q:put(false) end
q:join()
local total = 0
for _ = 1, 4 do total = total + results:get() end
for i = 1, 4 do workers[i]:join() end
assert(total == 10000 * 10001 // 2, total)
assert(threading.active_count() == 1)

-- joined by lua_close, after the script has ended
local started = threading.Event()
threading.Thread{name = "late", target = function ()
  started:set()
  time.sleep(0.1)
  local lk = threading.Lock()  -- objects made and finalized meanwhile
  for _ = 1, 1000 do lk = threading.Lock(); lk:acquire(); lk:release() end
  q:put("late")
  assert(q:get() == "late")
  io.write("late thread done\n")
end}:start()
started:wait()
-- abandoned at exit, busy sleeping: parks when it wants the GIL back
threading.Thread{daemon = true, target = function ()
  while true do time.sleep(0.01) end
end}:start()
print("OK")
