-- stdlib/socket/socket_layer.lua -- the 'socket' module: the Lua layer
-- over luagil's 'socket.core' (stdlib/socket/socket.c, which loads this
-- once the core is in package.loaded). Compiled into the binary
-- (cmake/embed.cmake).
-- See LICENSE for copyright and licence (MIT).
--
-- Where LuaSocket is installed, its own socket.lua is the layer, run
-- unchanged on our core, so that socket.http, socket.url, socket.ftp,
-- socket.smtp, ltn12 and mime work as they do with LuaSocket's C core,
-- while every wait lets the GIL go. It is looked for on package.path's
-- absolute entries only: a script's own socket.lua in the current
-- directory (this project's tests/lua/socket.lua, say) is not LuaSocket's.
-- Where it is not installed, the layer is this file's: the functions
-- LuaSocket's socket.lua adds to the core (connect4, connect6, bind, try,
-- choose, the sources and sinks of LTN12), written from LuaSocket's
-- manual. Either way the module is the core's table, with these added.

local core = require "socket.core"

-- The name of v's type, as Lua's own errors give it ("FILE*" for a file).
local function luatype (v)
  local mt = getmetatable(v)
  local name = type(mt) == "table" and rawget(mt, "__name")
  return type(name) == "string" and name or type(v)
end

local function luasocket ()
  local dirs = {}
  for template in package.path:gmatch("[^;]+") do
    if template:sub(1, 1) == "/" then
      dirs[#dirs + 1] = template
    end
  end
  return package.searchpath("socket", table.concat(dirs, ";"))
end

local path = luasocket()
if path then
  return assert(loadfile(path))("socket", path)
end


local socket = core

-- Argument errors read like the C functions' ("bad argument #1 to 'bind'
-- (string expected, got nil)"), raised at the caller of the function
-- that checks.
local function argerror (n, fname, msg, level)
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg),
        (level or 2) + 1)
end

local function checkaddress (n, fname, v)
  if type(v) ~= "string" and type(v) ~= "number" then
    argerror(n, fname, "string expected, got " .. luatype(v), 3)
  elseif type(v) == "string" and v:find("\0", 1, true) then
    argerror(n, fname, "embedded null character", 3)
  end
end

-- socket.connect4/connect6(address, port [, locaddr [, locport]])
function socket.connect4 (address, port, locaddr, locport)
  return core.connect(address, port, locaddr, locport, "inet")
end

function socket.connect6 (address, port, locaddr, locport)
  return core.connect(address, port, locaddr, locport, "inet6")
end

-- socket.bind(address, port [, backlog]) -> server | nil, err: the first
-- address that binds, with reuseaddr, listening (a backlog of 0 too).
function socket.bind (address, port, backlog)
  checkaddress(1, "bind", address)
  if backlog ~= nil and (math.type(backlog) == nil or backlog ~= backlog or
                         backlog > 0x7fffffff) then
    argerror(3, "bind", math.type(backlog) and "backlog out of range"
                        or "number expected, got " .. luatype(backlog))
  end
  if address == "*" then
    address = "0.0.0.0"
  end
  local addrs, err = core.dns.getaddrinfo(address)
  if not addrs then
    return nil, err
  end
  err = "no info on address"
  for _, a in ipairs(addrs) do
    local sock
    if a.family == "inet6" then
      sock, err = core.tcp6()
    else
      sock, err = core.tcp4()
    end
    if not sock then
      return nil, err
    end
    sock:setoption("reuseaddr", true)
    local ok
    ok, err = sock:bind(a.addr, port)
    if ok then
      ok, err = sock:listen(backlog)
      if ok then
        return sock
      end
    end
    sock:close()
  end
  return nil, err
end

socket.try = core.newtry()

-- socket.choose(t) -> f(name, ...) calling t[name](...), where a name
-- that is not a string means "default" and is the first argument.
-- f passes the position of the first of them to t[name], for errors.
function socket.choose (t)
  if type(t) ~= "table" then
    argerror(1, "choose", "table expected, got " .. luatype(t))
  end
  return function (name, a, b)
    local n = 2
    if type(name) ~= "string" then
      name, a, b, n = "default", name, a, 1
    end
    local f = t[name or "nil"]
    if not f then
      error("unknown key (" .. tostring(name) .. ")", 3)
    end
    return f(a, b, n)
  end
end


-- {==================================================================
-- LTN12 sources and sinks over a socket: callable tables that also
-- answer getfd and dirty, so that select takes them.
-- ===================================================================

socket.BLOCKSIZE = 2048
socket.sourcet, socket.sinkt = {}, {}

local function hasgetfd (sock)
  local t = type(sock)
  if t ~= "userdata" and t ~= "table" then
    return false
  end
  local ok, f = pcall(function () return sock.getfd end)
  return ok and type(f) == "function"
end

local function callable (sock, fn, fname, n)
  if not hasgetfd(sock) then
    error(("bad argument #%d to '%s' (socket expected, got %s)")
          :format(n or 1, fname, luatype(sock)), 4)
  end
  return setmetatable({
    getfd = function () return sock:getfd() end,
    dirty = function () return sock:dirty() end,
  }, {__call = fn})
end

socket.sinkt["close-when-done"] = function (sock, _, n)
  return callable(sock, function (_, chunk)
    if chunk then
      return sock:send(chunk)
    end
    sock:close()
    return 1
  end, "sink", n)
end

socket.sinkt["keep-open"] = function (sock, _, n)
  return callable(sock, function (_, chunk)
    if chunk then
      return sock:send(chunk)
    end
    return 1
  end, "sink", n)
end

socket.sinkt.default = socket.sinkt["keep-open"]
socket.sink = socket.choose(socket.sinkt)

socket.sourcet["by-length"] = function (sock, length, n)
  if math.type(length) == nil then
    error(("bad argument #%d to 'source' (number expected, got %s)")
          :format((n or 1) + 1, luatype(length)), 3)
  end
  return callable(sock, function ()
    if length <= 0 then
      return nil
    end
    local chunk, err = sock:receive(math.min(socket.BLOCKSIZE, length))
    if err then
      return nil, err
    end
    length = length - #chunk
    return chunk
  end, "source", n)
end

socket.sourcet["until-closed"] = function (sock, _, n)
  local done = false
  return callable(sock, function ()
    if done then
      return nil
    end
    local chunk, err, partial = sock:receive(socket.BLOCKSIZE)
    if not err then
      return chunk
    elseif err == "closed" then
      sock:close()
      done = true
      return partial
    end
    return nil, err
  end, "source", n)
end

socket.sourcet.default = socket.sourcet["until-closed"]
socket.source = socket.choose(socket.sourcet)

-- }==================================================================

return socket
