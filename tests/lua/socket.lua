-- tests/lua/socket.lua -- the socket module on loopback only: a client and
-- a server in two threads, a threaded echo server with 50 clients of 1,000
-- lines each, receive patterns, send ranges, timeouts, select, refused and
-- closed peers, IPv6, socketpair.
print("testing socket")

local socket = require "socket"
local time = require "time"

local testlib = require "testlib"
local checkerror, go = testlib.checkerror, testlib.go

-- A client and a server in two threads.
do
  local srv = assert(socket.bind("127.0.0.1", 0))
  assert(tostring(srv):find("^tcp{server}: "))
  local ip, port, family = srv:getsockname()
  assert(ip == "127.0.0.1" and math.type(port) == "integer" and port > 0)
  assert(family == "inet")
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
  assert(pip == "127.0.0.1" and pport == port)
  assert(c:receive() == "hello")                -- CR dropped
  assert(c:receive("l") == "line two")
  assert(c:receive(2) == "re")
  assert(c:receive(2, "ab") == "ab")            -- prefix counts
  assert(c:receive(4, "xy") == "xyst")
  assert(select("#", c:receive(0)) == 3)
  local r, e, p = c:send("ping\n")
  assert(r == 5 and e == nil and p == nil)
  local all = c:receive("*a")                   -- until closed
  assert(#all == 100000)
  local d, err, partial = c:receive()
  assert(d == nil and err == "closed" and partial == "")
  d, err = c:receive("*a")
  assert(d == nil and err == "closed")
  t:join()
  c:close()
  assert(c:close() == 1)                       -- twice is fine
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
  a:send("no newline")
  b:settimeout(0)
  local d, err, partial = b:receive()
  assert(d == nil and err == "timeout" and partial == "no newline")
  a:send("tail\n")
  assert(b:receive("*l", partial) == "no newlinetail")
  checkerror("invalid receive pattern", b.receive, b, "*x")
  checkerror("tcp{client} expected, got tcp{master}",
             socket.tcp().receive, socket.tcp())
  a:close()
  b:settimeout(nil)
  d, err, partial = b:receive(10)
  assert(d == nil and err == "closed" and partial == "")
  b:close()
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
  sc:settimeout(0.1, "t")
  sc:settimeout(nil)
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
  a:close(); b:close()
  r, w, err = socket.select({a}, nil, 0)       -- closed sockets are skipped
  assert(#r == 0 and err == "timeout")
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
  local n, e = a:send("data")
  assert(n == nil and e == "closed")
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
  c, err = socket.connect("no-such-host.invalid", 80)
  assert(c == nil and type(err) == "string")
end

-- Master objects, options.
do
  local m = socket.tcp()
  assert(tostring(m):find("^tcp{master}: "))
  assert(m:setoption("reuseaddr", true) == 1)
  assert(m:getoption("reuseaddr") == true)
  checkerror("invalid option", m.setoption, m, "bogus", true)
  assert(m:bind("127.0.0.1", 0) == 1)
  assert(m:getoption("reuseaddr") == true)
  assert(m:listen(8) == 1)
  assert(tostring(m):find("^tcp{server}: "))
  local _, port = m:getsockname()
  local c = socket.tcp()
  c:settimeout(2)
  assert(c:connect("localhost", port) == 1)
  assert(c:setoption("tcp-nodelay", true) == 1)
  assert(c:getoption("tcp-nodelay") == true)
  assert(c:setoption("keepalive", true) == 1)
  assert(c:shutdown("send") == 1)
  local s = assert(m:accept())
  assert(select(2, s:receive()) == "closed")
  s:close(); c:close(); m:close()
  assert(math.abs(socket.gettime() - os.time()) < 2)
  local t0 = time.monotonic()
  socket.sleep(0.02)
  assert(time.monotonic() - t0 >= 0.02)
end

-- IPv6 loopback (skipped when the machine has no ::1).
do
  local srv = socket.bind("::1", 0)
  if srv then
    local ip, port, family = srv:getsockname()
    assert(ip == "::1" and family == "inet6")
    local c = assert(socket.connect("::1", port))
    local s = assert(srv:accept())
    c:send("six\n")
    assert(s:receive() == "six")
    c:close(); s:close(); srv:close()
  else
    print("no IPv6 loopback: skipped")
  end
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
