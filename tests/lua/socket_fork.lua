-- tests/lua/socket_fork.lua -- sockets across fork: a forked child may use
-- a socket that a parent thread was blocked receiving or sending on (that
-- thread, and the lock its call held, do not exist in the child), and the
-- child's close really closes its copy, without shutting the parent's down.
print("testing socket_fork")

local run = require("testlib").run  -- a child luagil: status, output


-- The prelude of each case: a socketpair (a, b) with a thread blocked in
-- a:receive(5), and one (c, d) with a thread blocked in c:send of more
-- than the socket's buffer holds, as no one reads d yet.
local PRELUDE = [[
local socket = require "socket"
local threading = require "threading"
local mp = require "multiprocessing"
local testlib = require "testlib"
local a, b = assert(socket.socketpair())
local c, d = assert(socket.socketpair())
local BIG = string.rep("x", 1 << 23)
local got, sent = {}, {}
local reader = testlib.go(function () got = table.pack(a:receive(5)) end)
local writer = testlib.go(function () sent = table.pack(c:send(BIG)) end)
testlib.wait_blocked(reader)  -- holds a's receive lock, in its call
testlib.wait_blocked(writer)  -- holds c's send lock, in its call
]]

-- The parent's end: its threads were not disturbed by the child.
local EPILOGUE = [[
assert(b:send("hello") == 5)
reader:join()
assert(got[1] == "hello", tostring(got[2]))
assert(d:receive(#BIG) == BIG)
writer:join()
assert(sent[1] == #BIG, tostring(sent[2]))
print("parent ok")
]]


-- {======================================================
-- The child uses the sockets the parent's threads wait on
-- =======================================================

do
  local status, out = run(PRELUDE .. [[
local p = mp.Process{target = function ()
  a:settimeout(0)
  assert(a:receive(0) == "")           -- takes a's receive lock
  local r, err = a:receive(1)          -- no data: nobody sends to a yet
  assert(r == nil and err == "timeout", err)
  a:settimeout(0.01)
  r, err = a:receive("*l")             -- waits, without the GIL
  assert(r == nil and err == "timeout", err)
  assert(a:send("from child\n") == 11)
  assert(c:send("") == 0)              -- takes c's send lock
  assert(not a:dirty())
  print("child ok")
end}
p:start()
p:join()
assert(p.exitcode == 0, p.exitcode)
assert(b:receive() == "from child")
]] .. EPILOGUE)
  assert(status == 0 and out == "child ok\nparent ok\n",
         "status " .. tostring(status) .. ": " .. out)
end


-- {======================================================
-- The child's close really closes, and shuts nothing down
-- =======================================================

do
  local status, out = run(PRELUDE .. [[
local p = mp.Process{target = function ()
  local fa, fc = a:getfd(), c:getfd()
  assert(a:close() == 1 and c:close() == 1)
  -- The descriptors are gone from the child ($PPID: this process).
  for _, fd in ipairs{fa, fc} do
    assert(not os.execute(("test -e /proc/$PPID/fd/%d"):format(fd)),
           "descriptor still open")
  end
  local r, err = a:receive(1)
  assert(r == nil and err == "closed", err)
  print("child ok")
end}
p:start()
p:join()
assert(p.exitcode == 0, p.exitcode)
]] .. EPILOGUE)
  assert(status == 0 and out == "child ok\nparent ok\n",
         "status " .. tostring(status) .. ": " .. out)
end


-- {======================================================
-- A server a parent thread accepts on
-- =======================================================

-- The child's close of the server closes its copy only: the parent's
-- accept goes on and takes the next connection (it used to be shut down).
do
  local status, out = run(PRELUDE .. [[
local server = assert(socket.bind("127.0.0.1", 0))
local _, port = server:getsockname()
local client, aerr
local acceptor = testlib.go(function () client, aerr = server:accept() end)
testlib.wait_blocked(acceptor)  -- counts in server's calls
local p = mp.Process{target = function ()
  server:settimeout(0)
  local r, err = server:accept()
  assert(r == nil and err == "timeout", err)
  local fd = server:getfd()
  assert(server:close() == 1)
  assert(not os.execute(("test -e /proc/$PPID/fd/%d"):format(fd)),
         "descriptor still open")
  print("child ok")
end}
p:start()
p:join()
assert(p.exitcode == 0, p.exitcode)
local peer = assert(socket.connect("127.0.0.1", port))
acceptor:join()
assert(client, aerr)
assert(peer:send("ping\n") == 5 and client:receive() == "ping")
]] .. EPILOGUE)
  assert(status == 0 and out == "child ok\nparent ok\n",
         "status " .. tostring(status) .. ": " .. out)
end


-- {======================================================
-- A socket a parent thread selects on
-- =======================================================

-- select counts in the calls of each socket it waits on: the child's
-- close of one closes its copy and does not wake the parent's select.
do
  local status, out = run(PRELUDE .. [[
local e, f = assert(socket.socketpair())
local ready
local selector = testlib.go(function () ready = socket.select({e}) end)
testlib.wait_blocked(selector)
local p = mp.Process{target = function ()
  local fd = e:getfd()
  assert(e:close() == 1)
  assert(not os.execute(("test -e /proc/$PPID/fd/%d"):format(fd)),
         "descriptor still open")
  print("child ok")
end}
p:start()
p:join()
assert(p.exitcode == 0, p.exitcode)
assert(f:send("w") == 1)
selector:join()
assert(ready[1] == e and e:receive(1) == "w")
]] .. EPILOGUE)
  assert(status == 0 and out == "child ok\nparent ok\n",
         "status " .. tostring(status) .. ": " .. out)
end


-- {======================================================
-- A socket finalised by hand under a parent's call
-- =======================================================

-- The parent's reader is blocked on a when a's __gc runs by hand: the
-- object is destroyed, and the call that would free its memory is the
-- reader's. In the child, where the reader does not exist, the other
-- sockets still work and the child exits cleanly.
do
  local status, out = run(PRELUDE .. [[
local e = assert(socket.socketpair())
local gc = getmetatable(e).__gc
local reader2 = testlib.go(function () return e:receive(1) end)
testlib.wait_blocked(reader2)
gc(e)  -- shuts e down: reader2 wakes
local p = mp.Process{target = function ()
  local ok, err = pcall(e.receive, e, 1)
  assert(not ok and err:find("destroyed socket"), err)
  a:settimeout(0)
  assert(a:receive(0) == "")
  print("child ok")
end}
p:start()
p:join()
assert(p.exitcode == 0, p.exitcode)
reader2:join()
]] .. EPILOGUE)
  assert(status == 0 and out == "child ok\nparent ok\n",
         "status " .. tostring(status) .. ": " .. out)
end

print("OK")
