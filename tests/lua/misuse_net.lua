-- tests/lua/misuse_net.lua -- issue 19's hostile-input cases for socket,
-- time, os and dis: every bad argument is a clear error, a socket closed
-- or finalised under another thread's wait ends that wait, and a closed
-- socket is never reported for a descriptor number reused by another.
print("testing misuse_net")

local testlib = require "testlib"
local checkerror = testlib.checkerror


-- run(code): runs 'code' in a child luagil (20 s at most); returns its
-- exit status and its output (stdout and stderr).
local run = testlib.run


-- {==================================================================
-- dis (case 24): a damaged signature is a bad binary chunk
-- ===================================================================
do
  local dis = require "dis"
  for _, fn in ipairs{dis.dis, dis.code_info, dis.get_instructions,
                      dis.show_code} do
    checkerror("bad binary chunk: not a binary chunk", fn, "\27Lux...")
    checkerror("bad binary chunk: not a binary chunk", fn, "\27")
    checkerror("bad binary chunk: not a binary chunk", fn, "\27Lu")
  end
  local good = string.dump(function (a) return a + 1 end)
  checkerror("bad binary chunk: version mismatch", dis.code_info,
             good:sub(1, 4) .. "\0" .. good:sub(6))
  -- source still is source
  assert(dis.code_info("return 1"):find("LOADI"))
  checkerror("unexpected symbol", dis.code_info, "return +")
end
-- }==================================================================


-- {==================================================================
-- time and os (case 22): no silent truncation of years or formats
-- ===================================================================
do
  local time = require "time"
  local huge = {math.maxinteger, 1, 1, 0, 0, 0, 0, 1, 0}
  checkerror("bad argument #2 to 'strftime' (year out of range)",
             function () return time.strftime("%Y", huge) end)
  checkerror("(year out of range)", time.asctime, huge)
  checkerror("(year out of range)", time.mktime, huge)
  checkerror("(year out of range)", time.strftime, "%Y",
             {math.mininteger, 1, 1, 0, 0, 0, 0, 1, 0})
  checkerror("(month out of range)", time.mktime,
             {2020, math.mininteger, 1, 0, 0, 0, 0, 1, 0})
  checkerror("(day of week out of range)", time.mktime,
             {2020, 1, 1, 0, 0, 0, math.maxinteger, 1, 0})
  checkerror("(month out of range)", time.strftime, "%b",
             {2020, 13, 1, 0, 0, 0, 0, 1, 0})
  checkerror("(hour out of range)", time.asctime,
             {2020, 1, 1, 24, 0, 0, 0, 1, 0})
  checkerror("bad argument #1 to 'mktime' (struct_time field 'tm_year' " ..
             "must be an integer)", function () time.mktime{tm_year = "x"} end)
  -- Python's zeros: the smallest month, day and year day
  assert(time.strftime("%Y %b %d", {2020, 0, 0, 0, 0, 0, 0, 0, 0}) ==
         "2020 Jan 01")
  assert(time.strftime("%Y", {2147483647, 1, 1, 0, 0, 0, 0, 1, 0}) ==
         "2147483647")
  checkerror("bad argument #1 to 'strftime' (embedded null character)",
             function () return time.strftime("a\0%Y") end)
  checkerror("(embedded null character)", time.strftime, "\0")
  -- a year past a C int, from a huge timestamp: a table is right, a
  -- formatted year is an error (it printed -2147481749)
  local last = 67768036191676799 - 86400 * 366
  assert(time.gmtime(last).tm_year == 2147485546)
  checkerror("(year out of range)", time.strftime, "%Y", time.gmtime(last))
  assert(time.ctime(last):find(" 214748554[67]$"))
  assert(os.date("!*t", last).year == 2147485546)
  checkerror("bad argument #2 to 'date' (time out of range)",
             function () return os.date("!%Y", last) end)
  checkerror("(time out of range)", os.date, "%c", last)
  checkerror("(time out of range)", os.date, "*t%Y", last)  -- not "*t"
  assert(os.date("!%Y-%m-%d", 0) == "1970-01-01")
  -- os.date's own errors still name it
  checkerror("bad argument #1 to 'date' (invalid conversion specifier " ..
             "'%Ez')", function () return os.date("%Ez") end)
  checkerror("bad argument #2 to 'date' (number expected, got table)",
             function () return os.date("%Y", {}) end)
  checkerror("number has no integer representation", os.date, "%Y", 0.5)
  -- timestamps: NaN and infinity
  checkerror("bad argument #1 to 'localtime' (Invalid value NaN (not a " ..
             "number))", function () return time.localtime(0/0) end)
  checkerror("(timestamp out of range for platform time_t)", time.gmtime,
             math.huge)
  checkerror("(timestamp out of range for platform time_t)", time.ctime,
             -math.huge)
  -- sleep: NaN and infinity
  checkerror("bad argument #1 to 'sleep' (Invalid value NaN (not a number))",
             function () time.sleep(0/0) end)
  checkerror("(sleep length is too large)", time.sleep, math.huge)
  checkerror("(sleep length is too large)", time.sleep, 1e300)
  checkerror("(sleep length must be non-negative)", time.sleep, -math.huge)
  -- a name or command C would cut at its first zero
  checkerror("bad argument #1 to 'remove' (embedded null byte)",
             function () return os.remove("x\0y") end)
  checkerror("bad argument #2 to 'rename' (embedded null byte)",
             function () return os.rename("x", "y\0z") end)
  checkerror("bad argument #1 to 'execute' (embedded null byte)",
             function () return os.execute("true\0false") end)
  assert(os.execute("true") == true)
end
-- }==================================================================


-- {==================================================================
-- socket (case 22): arguments out of range are errors, not wrapped
-- ===================================================================
local socket = require "socket"
do
  checkerror("bad argument #2 to 'bind' (port must be 0-65535)",
             function () local s = socket.bind("127.0.0.1", 70000) end)
  checkerror("(port must be 0-65535)", socket.bind, "127.0.0.1", -1)
  checkerror("(port must be 0-65535)", socket.connect, "127.0.0.1", 65536)
  checkerror("bad argument #1 to 'connect' (embedded null character)",
             function () local s = socket.connect("127.0.0.1\0x", 1) end)
  checkerror("(embedded null character)",
             function () local s = socket.bind("127.0.0.1\0x", 0) end)
  checkerror("(backlog out of range)",
             function () local s = socket.bind("127.0.0.1", 0, 2^40) end)
  local m = socket.tcp()
  checkerror("bad argument #2 to 'bind' (port must be 0-65535)",
             function () local r = m:bind("127.0.0.1", 70000) end)
  checkerror("bad argument #2 to 'connect' (port must be 0-65535)",
             function () local r = m:connect("127.0.0.1", 1 << 32) end)
  checkerror("bad argument #1 to 'listen' (backlog out of range)",
             function () local r = m:listen(math.maxinteger) end)
  m:close()
  m = socket.tcp4()
  assert(m:listen(-5) == 1)  -- Python's: a negative backlog is 0
  m:close()

  local a, b = socket.socketpair()
  checkerror("bad argument #1 to 'receive' (invalid receive pattern)",
             function () local r = a:receive(math.huge) end)
  checkerror("(invalid receive pattern)", a.receive, a, 0/0)
  checkerror("(invalid receive pattern)", a.receive, a, -1)
  checkerror("(invalid receive pattern)", a.receive, a, -math.huge)
  checkerror("bad argument #2 to 'send' (number has no integer " ..
             "representation)", function () local r = a:send("x", 0/0) end)
  assert(a:send("abc", math.mininteger, math.maxinteger) == 3)
  assert(a:send("de", 1, math.huge) == 2)       -- clamped
  assert(a:send("f", -math.huge, 1e300) == 1)
  assert(b:receive(6) == "abcdef")
  assert(b:receive(2.0, "xy") == "xy")

  checkerror("bad argument #1 to 'select' (table expected, got number)",
             function () local r = socket.select(1, "x") end)
  checkerror("bad argument #2 to 'select' (table expected, got string)",
             function () local r = socket.select({}, "x", 0) end)
  local r, w, e = socket.select(nil, nil, 0)
  assert(next(r) == nil and next(w) == nil and e == "timeout")
  r, w, e = socket.select({a, "x", {}}, {a}, 0/0)  -- NaN: no timeout
  assert(r[1] == nil and w[1] == a and w[a] == 1 and e == nil)
  checkerror("bad argument #1 to 'select' (socket expected, got number)",
             function () local r = socket.select({a, 42}, nil, 0) end)

  -- every method and metamethod checks its self
  for _, s in ipairs{a, socket.tcp(), socket.udp(), socket.udp4()} do
    local mt = getmetatable(s)
    for name, f in pairs(mt.__index) do
      if type(f) == "function" then
        checkerror("bad argument #1", f)
        checkerror(" expected)", f, {})
        checkerror(" expected)", f, io.stdout)
        checkerror(" expected)", f, s.class:find("^tcp") and socket.udp()
                                                          or a)
      end
    end
    for _, name in ipairs{"__gc", "__close", "__tostring"} do
      checkerror("bad argument #1", mt[name], nil)
      checkerror(s.class:match("^%a+") .. "{any} expected)", mt[name], 1)
    end
  end
  a:close()
  b:close()
end


-- Cases that crashed or hung before the fix run in a child luagil; each
-- must print "child ok" and exit 0.
local function child (what, code)
  local status, out = run('local socket = require "socket"\n' ..
                          'local testlib = require "testlib"\n' .. code ..
                          '\nprint("child ok")\n')
  assert(status == 0 and out:find("child ok\n", 1, true),
         what .. ": status " .. tostring(status) .. ", output:\n" .. out)
end

-- case 22: select on a non-table without a timeout blocked for ever
child("select(\"x\")", [[
  local ok, err = pcall(socket.select, "x")
  assert(not ok and err:find("table expected, got string"), err)
]])


-- {==================================================================
-- socket (case 1): __gc by hand, and use after it
-- ===================================================================

-- __gc while another thread waits in receive: it gets "closed"; every
-- later use raises, close and __gc stay harmless
child("__gc under receive", [[
  local a, b = socket.socketpair()
  local res
  local t = testlib.go(function () res = table.pack(a:receive()) end)
  testlib.wait_blocked(t)
  getmetatable(a).__gc(a)
  t:join()
  assert(res[1] == nil and res[2] == "closed" and res[3] == "",
         tostring(res[2]))
  for name, f in pairs(getmetatable(a).__index) do
    if name ~= "close" and type(f) == "function" then
      local ok, err = pcall(f, a, 1, 1)
      assert(not ok and err:find("attempt to use a destroyed socket", 1,
                                 true), name .. ": " .. tostring(err))
    end
  end
  local r, w, e = socket.select({a}, {a}, 0)  -- skipped, as a closed one
  assert(next(r) == nil and next(w) == nil and e == "timeout")
  getmetatable(a).__gc(a)
  assert(a:close() == 1)
  assert(tostring(a):find("^tcp{client}: "))
  assert(b:receive() == nil)
  collectgarbage()
]])

-- use after __gc with no waiter, every method, each class
child("use after __gc", [[
  local srv = assert(socket.bind("127.0.0.1", 0))
  local c = assert(socket.connect("127.0.0.1", (select(2, srv:getsockname()))))
  for _, s in ipairs{socket.tcp(), srv, c} do
    local mt = getmetatable(s)
    mt.__gc(s)
    mt.__gc(s)
    for name, f in pairs(mt.__index) do
      local ok, err = pcall(f, s, "127.0.0.1", 0)
      if type(f) ~= "function" then
        assert(name == "class")
      elseif name == "close" then
        assert(ok and err == 1)
      else
        assert(not ok and err:find("attempt to use a destroyed socket", 1,
                                   true), name .. ": " .. tostring(err))
      end
    end
    mt.__close(s)
    assert(tostring(s):find("^tcp{"))
  end
  collectgarbage()
]])

-- __gc while another thread waits in accept
child("__gc under accept", [[
  local srv = assert(socket.bind("127.0.0.1", 0))
  local res
  local t = testlib.go(function () res = table.pack(srv:accept()) end)
  testlib.wait_blocked(t)
  getmetatable(srv).__gc(srv)
  t:join()
  assert(res[1] == nil and res[2] == "closed", tostring(res[2]))
  local ok, err = pcall(srv.accept, srv)
  assert(not ok and err:find("destroyed socket"), err)
]])

-- __gc while another thread waits in send on a full socket, and while a
-- third waits for the send lock
child("__gc under send", [[
  local a, b = socket.socketpair()
  local big = string.rep("x", 1 << 24)
  local res1, res2
  local t1 = testlib.go(function () res1 = table.pack(a:send(big)) end)
  testlib.wait_blocked(t1)
  local t2 = testlib.go(function () res2 = table.pack(a:send("y")) end)
  testlib.wait_blocked(t2)
  getmetatable(a).__gc(a)
  t1:join()
  t2:join()
  assert(res1[1] == nil and res1[2] == "closed", tostring(res1[2]))
  assert(res2[1] == nil and res2[2] == "closed", tostring(res2[2]))
]])

-- __gc while another thread waits in select
child("__gc under select", [[
  local a, b = socket.socketpair()
  local res
  local t = testlib.go(function () res = table.pack(socket.select({a})) end)
  testlib.wait_blocked(t)
  getmetatable(a).__gc(a)
  t:join()
  assert(res[1][1] == a and res[3] == nil, tostring(res[3]))
]])
-- }==================================================================


-- {==================================================================
-- socket (case 13): close wakes select; no descriptor reuse under it
-- ===================================================================

-- select without a timeout, its socket closed by another thread: it
-- returns with the socket readable, and receive says "closed"
child("close under select", [[
  local a, b = socket.socketpair()
  local c, d = socket.socketpair()
  local res
  local t = testlib.go(function ()
    res = table.pack(socket.select({c, a}, {}))
  end)
  testlib.wait_blocked(t)
  a:close()
  t:join()
  local r, w, e = res[1], res[2], res[3]
  assert(#r == 1 and r[1] == a and r[a] == 1 and r[c] == nil, #r)
  assert(next(w) == nil and e == nil)
  local data, err = a:receive()
  assert(data == nil and err == "closed")
  assert(select(2, a:send("x")) == "closed")
  -- a server closed under select
  local srv = assert(socket.bind("127.0.0.1", 0))
  t = testlib.go(function () res = table.pack(socket.select({srv})) end)
  testlib.wait_blocked(t)
  srv:close()
  t:join()
  assert(res[1][1] == srv and res[3] == nil)
  assert(select(2, srv:accept()) == "closed")
]])

-- close under a connect that waits (the listener's queue is full)
child("close under connect", [[
  local srv = socket.tcp()
  assert(srv:bind("127.0.0.1", 0) == 1 and srv:listen(1) == 1)
  local port = select(2, srv:getsockname())
  local c1 = assert(socket.connect("127.0.0.1", port))
  local c2 = assert(socket.connect("127.0.0.1", port))
  local c3 = socket.tcp()
  local res
  local t = testlib.go(function ()
    res = table.pack(c3:connect("127.0.0.1", port))
  end)
  testlib.wait_blocked(t)
  c3:close()
  t:join()
  assert(res[1] == nil and res[2] == "closed", tostring(res[2]))
  -- socket.bind's backlog 0 listens too (Python's listen(0))
  local s0 = assert(socket.bind("127.0.0.1", 0, 0))
  assert(socket.connect("127.0.0.1", (select(2, s0:getsockname()))))
]])

-- The descriptor of a socket closed under a select (with a timeout) is
-- not closed, so not reused, until that select is done with it: a new
-- socket made at once gets another number, and its data is not reported
-- for the closed one. The long switch interval keeps the GIL in this
-- thread from close to socketpair.
child("descriptor reuse under select", [[
  local gil = require "gil"
  local a, b = socket.socketpair()
  local old = a:getfd()
  local res
  local t = testlib.go(function ()
    res = table.pack(socket.select({a}, nil, 60))
  end)
  testlib.wait_blocked(t)
  gil.setswitchinterval(10)
  a:close()
  local c, d = socket.socketpair()
  local cfd, dfd = c:getfd(), d:getfd()
  gil.setswitchinterval(0.005)
  assert(cfd ~= old and dfd ~= old, "descriptor " .. old .. " reused")
  d:send("x")
  t:join()
  assert(res[1][1] == a and res[3] == nil)
  assert(c:receive(1) == "x")
  assert(select(2, a:receive()) == "closed")
]])
-- }==================================================================

print("OK")
