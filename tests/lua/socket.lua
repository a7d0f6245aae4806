-- tests/lua/socket.lua -- the socket module on loopback only: LuaSocket's
-- API as its core gives it (classes, result types, error strings), tcp in
-- two threads, a threaded echo server with 50 clients of 1,000 lines
-- each, receive patterns, send ranges, timeouts, select, statistics,
-- setfd, non-blocking connects, udp, dns on numeric addresses and
-- /etc/hosts names, try and protect, the Lua layer (LuaSocket's own
-- socket.lua, or ours when SOCKET_LAYER=own hides it), guard.
print("testing socket")

local socket = require "socket"
local time = require "time"

local testlib = require "testlib"
local checkerror, go = testlib.checkerror, testlib.go

-- Which layer is on the core: LuaSocket's socket.lua, or ours.
local layer = debug.getinfo(socket.bind, "S").source
print("layer: " .. layer)
if os.getenv("SOCKET_LAYER") == "own" then
  assert(layer == "=socket_layer.lua", layer)
end
assert(require("socket.core") == socket)

-- A connected pair of tcp clients over loopback: (connecting, accepted).
local function tcppair ()
  local srv = assert(socket.bind("127.0.0.1", 0))
  local c = assert(socket.connect("127.0.0.1", (select(2, srv:getsockname()))))
  local s = assert(srv:accept())
  srv:close()
  return c, s
end

-- A client and a server in two threads.
do
  local srv = assert(socket.bind("127.0.0.1", 0))
  assert(tostring(srv):find("^tcp{server}: "))
  local ip, port, family = srv:getsockname()
  assert(ip == "127.0.0.1" and type(port) == "string", port)
  assert(family == "inet" and tonumber(port) > 0)
  local t = go(function ()
    local c = assert(srv:accept())
    assert(tostring(c):find("^tcp{client}: "))
    c:send("hello\r\n")
    c:send("line two\nrest")
    assert(c:receive("*l") == "ping")
    c:send(string.rep("z", 100000))
    c:close()
  end)
  local c = assert(socket.connect("127.0.0.1", port))
  local pip, pport = c:getpeername()
  assert(pip == "127.0.0.1" and math.type(pport) == "integer")
  assert(pport == tonumber(port))
  assert(c:receive() == "hello")                -- CR dropped
  assert(c:receive("*line") == "line two")
  assert(c:receive(2) == "re")
  assert(c:receive(2, "ab") == "ab")            -- prefix counts
  assert(c:receive(4, "xy") == "xyst")
  assert(select("#", c:receive(0)) == 3)
  local r, e, p = c:send("ping\n")
  assert(r == 5 and math.type(r) == "float" and e == nil and p == nil)
  local all = c:receive("*a")                   -- until closed
  assert(#all == 100000)
  local d, err, partial = c:receive()
  assert(d == nil and err == "closed" and partial == "")
  d, err = c:receive("*a")
  assert(d == nil and err == "closed")
  t:join()
  c:close()
  assert(c:close() == 1)                        -- twice is fine
  d, err, partial = c:receive("*l", "pre")
  assert(d == nil and err == "closed" and partial == "pre")
  assert(select(2, c:send("x")) == "closed")
  srv:close()
end

-- Partial results, send ranges, patterns.
do
  local a, b = socket.socketpair()
  assert(a:send("abcdef", 2, 4) == 4)
  assert(b:receive(3) == "bcd")
  assert(a:send("abcdef", -2) == 6)
  assert(b:receive(2) == "ef")
  assert(a:send("abc", 3, 2) == 2)              -- nothing to send
  assert(a:send("abc", 1.9) == 3)               -- truncated, as LuaSocket
  assert(b:receive("3") == "abc")               -- a count as a string
  a:send("12345")
  assert(b:receive(2.5) == "12")
  assert(b:receive(3) == "345")
  a:send("no newline")
  b:settimeout(0)
  local d, err, partial = b:receive()
  assert(d == nil and err == "timeout" and partial == "no newline")
  a:send("tail\n")
  assert(b:receive("*l", partial) == "no newlinetail")
  d, err, partial = b:receive("*a", "PP")
  assert(d == nil and err == "timeout" and partial == "PP")
  for _, bad in ipairs{"*x", "l", "a", "x", -1, 0/0} do
    checkerror("invalid receive pattern", b.receive, b, bad)
  end
  checkerror("calling 'receive' on bad self (tcp{client} expected)",
             function () local m = socket.tcp(); return m:receive() end)
  a:close()
  b:settimeout(nil)
  d, err, partial = b:receive(10)
  assert(d == nil and err == "closed" and partial == "")
  b:close()
end

-- Classes and LuaSocket's result types.
do
  local m = socket.tcp()
  assert(m.class == "tcp{master}" and getmetatable(m).__name == m.class)
  assert(tostring(m):find("^tcp{master}: 0x"))
  assert(m:getfd() == -1 and math.type(m:getfd()) == "float")  -- no fd yet
  assert(m:getfamily() == "inet4")
  local b, t = m:gettimeout()
  assert(b == -1 and t == -1 and math.type(b) == "float")
  assert(m:settimeout(1.5) == 1 and m:settimeout(2, "t") == 1)
  b, t = m:gettimeout()
  assert(b == 1.5 and t == 2)
  checkerror("invalid timeout mode", m.settimeout, m, 1, "x")
  assert(m:settimeout(nil) == 1 and m:gettimeout() == -1)
  checkerror("calling 'accept' on bad self (tcp{server} expected)",
             function () return m:accept() end)
  checkerror("(tcp{client} expected)", m.getstats, m)
  checkerror("(tcp{any} expected)", m.getfd, socket.udp())
  checkerror("(tcp{any} expected)", m.getfd, "x")
  local r, err = m:getsockname()
  assert(r == nil and err == "Bad file descriptor", err)
  r, err = m:listen()
  assert(r == nil and err == "Bad file descriptor", err)
  assert(m:bind("127.0.0.1", 0) == 1 and m:getfd() >= 0)
  assert(m:getfamily() == "inet4" and m.class == "tcp{master}")
  assert(m:listen(0) == 1 and m.class == "tcp{server}")
  local c = assert(socket.tcp6())
  assert(c:getfamily() == "inet6" and c:getfd() >= 0)
  local addr, port, fam = c:getsockname()
  assert(addr == "::" and port == "0" and fam == "inet6")
  assert(c:close() == 1 and math.type(c:close()) == "float")
  assert(c:getfd() == -1)
  m:close()
  -- socket.tcp() takes the family of the address it binds or connects
  m = socket.tcp()
  if m:bind("::1", 0) then
    assert(m:getfamily() == "inet6" and (m:getsockname()) == "::1")
  end
  m:close()
  local t4 = socket.tcp4()
  r, err = t4:bind("::1", 0)
  assert(r == nil and type(err) == "string")
  t4:close()
end

-- Timeouts: a lower bound on the time, never an upper one.
do
  local srv = assert(socket.bind("127.0.0.1", 0))
  local _, port = srv:getsockname()
  srv:settimeout(0.05)
  local t0 = time.monotonic()
  local c, err = srv:accept()
  assert(c == nil and err == "timeout")
  assert(time.monotonic() - t0 >= 0.05)
  srv:settimeout(0)
  assert(select(2, srv:accept()) == "timeout")
  local cl = assert(socket.connect("127.0.0.1", port))
  srv:settimeout(nil)
  local sc = assert(srv:accept())
  sc:settimeout(0.1)
  t0 = time.monotonic()
  local d, e, p = sc:receive()
  assert(d == nil and e == "timeout" and p == "")
  assert(time.monotonic() - t0 >= 0.1)
  sc:settimeout(nil)
  sc:settimeout(0.1, "t")                      -- the total one alone
  t0 = time.monotonic()
  d, e = sc:receive(3)
  assert(d == nil and e == "timeout" and time.monotonic() - t0 >= 0.1)
  sc:settimeout(-1, "t")
  cl:send("ok\n")
  assert(sc:receive() == "ok")
  cl:close(); sc:close(); srv:close()
end

-- select.
do
  local a, b = socket.socketpair()
  local r, w, err = socket.select({a, b}, nil, 0.05)
  assert(#r == 0 and err == "timeout")
  r, w, err = socket.select({a}, {b}, 0)
  assert(#r == 0 and #w == 1 and w[1] == b and w[b] == 1 and err == nil)
  b:send("x\ny\n")
  r, w, err = socket.select({a, b}, {}, 1)
  assert(#r == 1 and r[1] == a and r[a] == 1 and err == nil)
  assert(a:receive() == "x")
  assert(a:dirty())                            -- "y\n" is buffered
  r = socket.select({a}, nil, 0)
  assert(r[1] == a)                            -- buffered data counts
  -- A thread blocked in select wakes when data comes.
  assert(a:receive() == "y")
  local t = go(socket.select, {a}, nil)
  testlib.wait_blocked(t)
  b:send("z")
  r = t:value()
  assert(r[1] == a)
  assert(a:receive(1) == "z")
  -- Any table with getfd (and dirty) is taken, as by LuaSocket.
  local plain = {getfd = function () return a:getfd() end}
  b:send("w")
  r, w, err = socket.select({plain}, nil, 1)
  assert(r[1] == plain and err == nil)
  local dirty = {getfd = function () return b:getfd() end,
                 dirty = function () return true end}
  r = socket.select({dirty}, nil)
  assert(r[1] == dirty)
  assert(a:receive(1) == "w")
  a:close(); b:close()
  r, w, err = socket.select({a}, nil, 0)       -- closed sockets are skipped
  assert(#r == 0 and err == "timeout")
  checkerror("(table expected, got string)",
             socket.select, "x")
  checkerror("(table expected, got number)",
             socket.select, {}, 1, 0)
  checkerror("(socket expected, got number)", socket.select, {1}, nil, 0)
  assert(math.type(socket._SETSIZE) == "integer" and socket._SETSIZE > 0)
  local many = {}
  for i = 1, socket._SETSIZE + 1 do many[i] = i end
  checkerror("too many sockets", socket.select, many, nil, 0)
end

-- Refused, reset and closed peers: error strings, never a crash.
do
  local srv = assert(socket.bind("127.0.0.1", 0))
  local _, port = srv:getsockname()
  srv:close()
  local c, err = socket.connect("127.0.0.1", port)
  assert(c == nil and err == "connection refused", err)
  local m = socket.tcp()
  c, err = m:connect("127.0.0.1", port)
  assert(c == nil and err == "connection refused", err)
  -- Writing to a peer that went away: "closed", no SIGPIPE.
  local a, b = socket.socketpair()
  b:close()
  local n, e, last = a:send("data")
  assert(n == nil and e == "closed" and last == 0)
  a:close()
  -- close() from another thread wakes a blocked receive and accept.
  a, b = socket.socketpair()
  local got = {}
  local t = go(function () got[1], got[2] = a:receive() end)
  testlib.wait_blocked(t)
  a:close()
  t:join()
  assert(got[1] == nil and got[2] == "closed")
  b:close()
  srv = assert(socket.bind("127.0.0.1", 0))
  t = go(function () got[3], got[4] = srv:accept() end)
  testlib.wait_blocked(t)
  srv:close()
  t:join()
  assert(got[3] == nil and got[4] == "closed")
end

-- Options.
do
  local m = socket.tcp()
  local r, err = m:setoption("reuseaddr", true)   -- no descriptor yet
  assert(r == nil and err == "setsockopt failed")
  r, err = m:getoption("reuseaddr")
  assert(r == nil and err == "getsockopt failed")
  checkerror("bad argument #1 to 'setoption' (unsupported option `bogus')",
             function () return m:setoption("bogus", true) end)
  checkerror("unsupported option `ipv6-v6only'", m.getoption, m,
             "ipv6-v6only")
  m = socket.tcp4()
  assert(m:setoption("reuseaddr", true) == 1)
  assert(m:getoption("reuseaddr") == true)
  checkerror("boolean expected, got number", m.setoption, m, "keepalive", 1)
  assert(m:bind("127.0.0.1", 0) == 1)
  assert(m:listen(8) == 1)
  assert(tostring(m):find("^tcp{server}: "))
  local _, port = m:getsockname()
  local c = socket.tcp()
  c:settimeout(2)
  assert(c:connect("localhost", port) == 1)
  assert(c:setoption("tcp-nodelay", true) == 1)
  assert(c:getoption("tcp-nodelay") == true)
  assert(c:getoption("keepalive") == false)
  assert(c:setoption("keepalive", true) == 1)
  assert(c:getoption("keepalive") == true)
  assert(c:setoption("tcp-keepidle", 100) == 1)
  local v = c:getoption("tcp-keepidle")
  assert(v == 100 and math.type(v) == "float")
  for _, name in ipairs{"tcp-keepcnt", "tcp-keepintvl", "recv-buffer-size",
                        "send-buffer-size"} do
    v = c:getoption(name)
    assert(math.type(v) == "float" and v > 0, name)
  end
  local li = c:getoption("linger")
  assert(li.on == false and li.timeout == 0)
  assert(c:setoption("linger", {on = true, timeout = 3}) == 1)
  li = c:getoption("linger")
  assert(li.on == true and li.timeout == 3)
  checkerror("table expected, got boolean", c.setoption, c, "linger", true)
  checkerror("boolean 'on' field expected", c.setoption, c, "linger", {})
  assert(c:getoption("error") == nil)
  checkerror("unsupported option `error'", c.setoption, c, "error", 1)
  assert(c:shutdown("send") == 1)
  checkerror("invalid option 'x'", c.shutdown, c, "x")
  local s = assert(m:accept())
  assert(select(2, s:receive()) == "closed")
  s:close(); c:close(); m:close()
  r, err = c:getoption("keepalive")
  assert(r == nil and err == "getsockopt failed")
  assert(math.abs(socket.gettime() - os.time()) < 2)
  assert(math.type(socket.gettime()) == "float")
  local t0 = time.monotonic()
  socket.sleep(0.02)
  assert(time.monotonic() - t0 >= 0.02)
  assert(socket.sleep(-1) == nil)
end

-- getstats and setstats.
do
  local c, s = tcppair()
  local total = 0
  for i = 1, 25 do
    local n = i * 7
    assert(c:send(string.rep("a", n)) == n)
    assert(#s:receive(n) == n)
    total = total + n
    local r, sent, age = s:getstats()
    assert(r == total and sent == 0 and age >= 0)
    r, sent = c:getstats()
    assert(r == 0 and sent == total and math.type(sent) == "float")
  end
  c:send("line\n")
  s:receive()
  assert(s:getstats() == total + 5)            -- the newline counts
  assert(c:setstats(10, 20, 30) == 1)
  local r, sent, age = c:getstats()
  assert(r == 10 and sent == 20 and age >= 30)
  assert(c:setstats(5) == 1)
  assert(c:getstats() == 5 and select(2, c:getstats()) == 20)
  checkerror("number expected, got string", c.setstats, c, "x")
  c:close(); s:close()
end

-- setfd, getfd, dirty: a descriptor changes hands (LuaSec does this).
do
  local c, s = tcppair()
  local holder = socket.tcp()
  local fd = c:getfd()
  assert(holder:setfd(fd) == nil and holder:getfd() == fd)
  c:setfd(-1)                                   -- c lets it go
  assert(c:getfd() == -1)
  c:close()                                     -- closes nothing now
  holder:close()
  assert(holder:getfd() == -1)
  s:settimeout(1)
  local d, err = s:receive()
  assert(d == nil and err == "closed")          -- closed by holder only
  -- a server given a descriptor that does not listen: an error
  local srv = assert(socket.bind("127.0.0.1", 0))
  local other = socket.tcp4()
  srv:setfd(other:getfd())
  srv:settimeout(1)
  local r, e = srv:accept()
  assert(r == nil and type(e) == "string")
  s:close(); srv:close()
  c, s = tcppair()
  c:send("x\ny\n")
  assert(s:receive() == "x" and s:dirty())
  assert(not c:dirty())
  c:close(); s:close()
end

-- Non-blocking connects: "timeout", already a client, select for write.
do
  local srv = assert(socket.bind("127.0.0.1", 0))
  local _, port = srv:getsockname()
  local m = socket.tcp()
  m:settimeout(0)
  local r, err = m:connect("127.0.0.1", port)
  assert(r == 1 or err == "timeout", err)
  assert(m.class == "tcp{client}")
  local _, w = socket.select(nil, {m}, 5)
  assert(w[1] == m)
  assert(m:getoption("error") == nil)
  m:settimeout(nil)
  assert(m:send("hi\n") == 3)
  local s = assert(srv:accept())
  assert(s:receive() == "hi")
  s:close(); m:close()
  srv:close()
  m = socket.tcp()
  m:settimeout(0)
  r, err = m:connect("127.0.0.1", port)      -- refused, now or later
  if err == "timeout" then
    socket.select(nil, {m}, 5)
    assert(m:getoption("error") == "connection refused")
  else
    assert(err == "connection refused", err)
  end
  m:close()
end

-- IPv6 loopback (skipped when the machine has no ::1).
do
  local srv = socket.bind("::1", 0)
  if srv then
    local ip, port, family = srv:getsockname()
    assert(ip == "::1" and family == "inet6")
    assert(srv:getfamily() == "inet6")
    local c = assert(socket.connect("::1", port))
    local s = assert(srv:accept())
    c:send("six\n")
    assert(s:receive() == "six")
    c:close(); s:close(); srv:close()
  else
    print("no IPv6 loopback: skipped")
  end
end

-- udp.
do
  local u = socket.udp()
  assert(u.class == "udp{unconnected}" and u:getfd() == -1)
  assert(tostring(u):find("^udp{unconnected}: 0x"))
  local r = assert(socket.udp4())
  assert(r:getfd() >= 0 and r:getfamily() == "inet4")
  assert(r:setsockname("127.0.0.1", 0) == 1)
  local ra, rp, rf = r:getsockname()
  assert(ra == "127.0.0.1" and type(rp) == "string" and rf == "inet")
  assert(u:sendto("hello", ra, rp) == 5)        -- makes u's descriptor
  assert(u:getfd() >= 0 and (u:getsockname()) == "0.0.0.0")
  assert(u:sendto("", ra, tonumber(rp)) == 0)  -- a zero-length datagram
  assert(u:sendto(string.rep("z", 20000), ra, rp) == 20000)
  local d, from, fport = r:receivefrom()
  assert(d == "hello" and from == "127.0.0.1")
  assert(math.type(fport) == "integer")
  assert(r:receive() == "")
  assert(#r:receive() == socket._DATAGRAMSIZE)  -- the default size
  checkerror("(udp{connected} expected)", u.send, u, "x")
  checkerror("(udp{connected} expected)", u.getpeername, u)
  assert(u:setpeername(ra, rp) == 1 and u.class == "udp{connected}")
  checkerror("(udp{unconnected} expected)", u.sendto, u, "x", ra, rp)
  local pa, pp = u:getpeername()
  assert(pa == "127.0.0.1" and pp == tonumber(rp))
  assert(u:send("conn") == 4)
  assert(r:receive(2) == "co")                  -- the rest is dropped
  assert(u:setpeername("*") == 1 and u.class == "udp{unconnected}")
  r:settimeout(0)
  local x, err = r:receive()
  assert(x == nil and err == "timeout")
  r:settimeout(0.05)
  local t0 = time.monotonic()
  x, err = r:receivefrom()
  assert(x == nil and err == "timeout" and time.monotonic() - t0 >= 0.05)
  -- A thread blocked in receive lets the GIL go and wakes for data.
  r:settimeout(nil)
  local got
  local t = go(function () got = r:receive() end)
  testlib.wait_blocked(t)
  assert(u:sendto("wake", ra, rp) == 4)
  t:join()
  assert(got == "wake")
  -- close() from another thread ends a blocked receive.
  t = go(function () got = table.pack(r:receive()) end)
  testlib.wait_blocked(t)
  r:close()
  t:join()
  assert(got[1] == nil and got[2] == "closed")
  assert(u:close() == 1 and u:getfd() == -1)
  checkerror("(udp{any} expected)", u.receive, socket.tcp())
  checkerror("unsupported option `keepalive'", u.getoption, u, "keepalive")
  local o = socket.udp4()
  assert(o:getoption("broadcast") == false)
  assert(o:setoption("broadcast", true) == 1 and o:getoption("broadcast"))
  assert(o:getoption("ip-multicast-loop") == true)
  assert(o:setoption("ip-multicast-ttl", 3) == 1)
  assert(o:setoption("ip-multicast-if", "127.0.0.1") == 1)
  assert(o:getoption("ip-multicast-if") == "127.0.0.1")
  checkerror("ip expected", o.setoption, o, "ip-multicast-if", "x")
  checkerror("string 'multiaddr' field expected", o.setoption, o,
             "ip-add-membership", {})
  assert(math.type(o:getoption("recv-buffer-size")) == "float")
  o:close()
  local six = socket.udp6()
  if six and six:setsockname("::1", 0) then
    assert(six:getoption("ipv6-v6only") == true)
    local a6, p6 = six:getsockname()
    assert(socket.udp6():sendto("v6", a6, p6) == 2)
    six:settimeout(5)
    assert(six:receive() == "v6")
  end
end

-- dns: numeric addresses and names from /etc/hosts only.
do
  local dns = socket.dns
  local ip, info = dns.toip("127.0.0.1")
  assert(ip == "127.0.0.1" and info.ip[1] == "127.0.0.1")
  assert(type(info.name) == "string" and type(info.alias) == "table")
  ip, info = dns.toip("localhost")
  assert(ip == "127.0.0.1" and info.name == "localhost")
  local name = dns.tohostname("127.0.0.1")
  assert(type(name) == "string")
  assert(type(dns.gethostname()) == "string")
  local addrs = assert(dns.getaddrinfo("127.0.0.1"))
  assert(#addrs == 1 and addrs[1].family == "inet")
  assert(addrs[1].addr == "127.0.0.1")
  addrs = assert(dns.getaddrinfo("::1"))
  assert(addrs[1].family == "inet6" and addrs[1].addr == "::1")
  local found = false
  for _, a in ipairs(assert(dns.getaddrinfo("localhost"))) do
    found = found or (a.family == "inet" and a.addr == "127.0.0.1")
  end
  assert(found)
  local names, serv = dns.getnameinfo(nil, 54321)
  assert(next(names) == nil and serv == "54321")
  names = dns.getnameinfo("127.0.0.1")
  assert(type(names[1]) == "string")
  checkerror("host and serv cannot be both nil", dns.getnameinfo)
  checkerror("string expected, got no value", dns.toip)
end

-- try, protect, newtry, skip.
do
  assert(select("#", socket.skip(1, "a", "b", "c")) == 2)
  assert(socket.skip(1, "a", "b") == "b")
  assert(select("#", socket.skip(5, "a")) == 0)
  local called
  local try = socket.newtry(function () called = true end)
  local f = socket.protect(function (...) return try(...) end)
  local a, b, c = f(1, 2, 3)
  assert(a == 1 and b == 2 and c == 3 and not called)
  a, b = f(nil, "boom")
  assert(a == nil and b == "boom" and called)
  local ok, e = pcall(socket.newtry(), false, "msg")
  assert(not ok and type(e) == "table" and e[1] == "msg")
  assert(getmetatable(e) == false and tostring(e) == "msg")
  local tab = {}
  ok, e = pcall(socket.protect(function () error(tab) end))
  assert(not ok and e == tab)                   -- other errors go through
  ok, e = pcall(socket.protect(function () error("plain") end))
  assert(not ok and e:find("plain"))
  -- a protected function may yield
  local co = coroutine.wrap(socket.protect(function (x)
    local y = coroutine.yield(x + 1)
    return socket.try(y, "nil y")
  end))
  assert(co(1) == 2)
  assert(co(10) == 10)
  co = coroutine.wrap(socket.protect(function ()
    coroutine.yield(1)
    socket.try(nil, "after yield")
  end))
  co()
  local r1, r2 = co()
  assert(r1 == nil and r2 == "after yield")
end

-- The Lua layer: connect4/6, bind (backlog 0 listens), choose, sources,
-- sinks.
do
  local srv = assert(socket.bind("127.0.0.1", 0, 0))
  assert(srv.class == "tcp{server}")
  local port = select(2, srv:getsockname())
  local c = assert(socket.connect4("127.0.0.1", port))
  local s = assert(srv:accept())
  assert(c:getfamily() == "inet4")
  local sink = socket.sink("keep-open", c)
  assert(sink("abc") == 3 and sink(nil) == 1)
  assert(s:receive(3) == "abc")
  assert(socket.select(nil, {sink}, 1)[1] == nil)  -- writable, not readable
  sink = socket.sink("close-when-done", c)
  sink("xyz\n")
  assert(sink() == 1 and c:getfd() == -1)
  local source = socket.source("until-closed", s)
  local parts = {}
  for chunk in source do parts[#parts + 1] = chunk end
  assert(table.concat(parts) == "xyz\n" and s:getfd() == -1)
  local p1, p2 = socket.socketpair()
  p1:send("0123456789")
  source = socket.source("by-length", p2, 6)
  assert(source() == "012345" and source() == nil)
  assert(socket.BLOCKSIZE == 2048)
  local choose = socket.choose{default = function (a) return "d", a end,
                               k = function (a) return "k", a end}
  assert(select(2, choose("k", 1)) == 1 and choose(5) == "d")
  checkerror("unknown key (z)", choose, "z")
  local r, err = socket.connect6("::1", port)       -- srv is inet only
  assert(r == nil and type(err) == "string")
  assert(socket.try(1, 2) == 1)
  p1:close(); p2:close(); srv:close()
end

-- guard(): a to-be-closed socket.
do
  local s
  do
    local g <close> = socket.tcp4():guard()
    s = g
    assert(s:getfd() >= 0)
  end
  assert(s:getfd() == -1)
  local u
  do
    local g <close> = socket.udp4():guard()
    u = g
  end
  assert(u:getfd() == -1)
end

-- Ctrl-C (here _thread.interrupt_main) ends every wait of the main
-- thread with "interrupted!"; the sockets stay usable.
do
  local _thread = require "_thread"
  local threading = require "threading"
  local function interrupted (block)
    local about = threading.Event()
    local helper = go(function () about:wait(); _thread.interrupt_main() end)
    local ok, err = pcall(function () about:set(); block() end)
    helper:join()
    assert(not ok and tostring(err):find("interrupted!", 1, true),
           tostring(err))
  end
  local a, b = socket.socketpair()
  interrupted(function () a:receive() end)
  interrupted(function () a:receive(10) end)
  b:settimeout(0)
  while b:send(string.rep("x", 65536)) do end   -- b's buffers are full
  b:settimeout(nil)
  interrupted(function () b:send(string.rep("y", 1 << 20)) end)
  local c, d = socket.socketpair()                -- nothing to read
  interrupted(function () socket.select({c}, nil) end)
  interrupted(function () socket.select({c}, nil, 60) end)
  c:close(); d:close()
  interrupted(function () socket.sleep(60) end)
  local srv = assert(socket.bind("127.0.0.1", 0))
  interrupted(function () srv:accept() end)
  local u = assert(socket.udp4())
  assert(u:setsockname("127.0.0.1", 0))
  interrupted(function () u:receive() end)
  interrupted(function () u:receivefrom() end)
  local ua, up = u:getsockname()
  assert(socket.udp4():sendto("still", ua, up) == 5)
  assert(u:receive() == "still")
  a:close(); b:close(); srv:close(); u:close()
end

-- A threaded echo server: 50 clients of 1,000 lines each get every line.
do
  local NCLIENTS, NLINES = 50, 1000
  local srv = assert(socket.bind("127.0.0.1", 0, 64))
  local _, port = srv:getsockname()
  local handlers = {}
  local acceptor = go(function ()
    for i = 1, NCLIENTS do
      local c = assert(srv:accept())
      handlers[i] = go(function ()
        while true do
          local line, err = c:receive()
          if not line then assert(err == "closed", err) break end
          assert(c:send(line .. "\n"))
        end
        c:close()
      end)
    end
  end)
  local bad = 0
  local clients = {}
  for k = 1, NCLIENTS do
    clients[k] = go(function ()
      local c = assert(socket.connect("127.0.0.1", port))
      for i = 1, NLINES do
        local msg = ("client %d line %d"):format(k, i)
        c:send(msg .. "\n")
        if c:receive() ~= msg then bad = bad + 1 end
      end
      c:close()
    end)
  end
  for k = 1, NCLIENTS do clients[k]:join() end
  acceptor:join()
  for i = 1, NCLIENTS do handlers[i]:join() end
  srv:close()
  assert(bad == 0, bad .. " lines lost or garbled")
end

print("OK")
