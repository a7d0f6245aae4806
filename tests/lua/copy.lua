-- tests/lua/copy.lua -- the serializer that copies values between
-- processes (and, later, interpreters): shared tables and cycles, errors
-- that name the value's path, and a decoder that refuses hostile bytes.
-- Through multiprocessing's Pipe and Queue, and _multiprocessing.dumps and
-- loads. Label 'fork': one part goes through a child process.
print("testing copy")

local mp = require "multiprocessing"
local _mp = require "_multiprocessing"

local checkerror = require("testlib").checkerror

-- A copy through a Pipe, a Queue, and dumps/loads (functions allowed).
local a, b = mp.Pipe()
local q = mp.Queue()
local function bypipe (v) a:send(v); return b:recv() end
local function byqueue (v) q:put(v); return q:get() end
local function byloads (v) return _mp.loads(_mp.dumps(v, true), true) end
local ways = {bypipe, byqueue, byloads}


-- {======================================================
-- Shared references and cycles
-- =======================================================

for _, copy in ipairs(ways) do
  -- a table reached twice is one table reached twice
  local shared = {1, 2}
  local t = copy({shared, shared, k = shared})
  assert(t[1] == t[2] and t.k == t[1] and t[1] ~= shared)
  assert(t[1][1] == 1 and t[1][2] == 2 and #t[1] == 2)
  -- a table inside itself is itself
  local cyc = {name = "c"}
  cyc.me = cyc
  local c = copy(cyc)
  assert(c.me == c and c.name == "c" and c ~= cyc)
  -- the root reached again from deep inside; a cycle through two tables
  local x, y = {}, {}
  x.y, y.x = y, x
  x.list = {{{x}}}
  local cx = copy(x)
  assert(cx.y.x == cx and cx.list[1][1][1] == cx)
  -- tables as keys, also shared with values, and the table as its own key
  local key = {"k"}
  local kt = {[key] = key}
  kt[kt] = true
  local ck = copy(kt)
  local n = 0
  for k, v in pairs(ck) do
    n = n + 1
    if k == ck then assert(v == true)
    else assert(type(k) == "table" and k == v and k[1] == "k") end
  end
  assert(n == 2)
  -- two values of one message do not share with another message
  local one, two = copy(shared), copy(shared)
  assert(one ~= two)
  -- metatables still do not travel
  local m = copy(setmetatable({1}, {__index = function () return 0 end}))
  assert(getmetatable(m) == nil and m[5] == nil)
end

-- Functions and tables share one numbering (the Pool's messages).
do
  local t = {}
  local function f () return t end
  local c = byloads({f, f, t, t, {f = f}})
  assert(c[1] == c[2] and c[5].f == c[1] and c[3] == c[4])
  local _, up = debug.getupvalue(c[1], 1)
  assert(up == c[3], "a function's upvalue is the table sent beside it")
  local function rec (n) if n == 0 then return 0 end return rec(n - 1) end
  assert(byloads(rec)(5) == 0)
end

-- Across a fork: a child copies a cyclic, shared value back.
do
  local p = mp.Process{target = function ()
    local shared = {"s"}
    local v = {shared, shared}
    v.self = v
    a:send(v)
  end}
  p:start()
  local v = b:recv()
  p:join()
  assert(p.exitcode == 0)
  assert(v.self == v and v[1] == v[2] and v[1][1] == "s")
end

-- Chains are still limited in depth, cycles or not.
do
  local chain = {}
  for _ = 1, 150 do chain = {chain} end
  checkerror("nested too deeply", a.send, a, chain)
  local ring = {}
  ring[1] = ring
  assert(bypipe(ring)[1][1][1] ~= nil)  -- a cycle is not deep
end

-- }======================================================


-- {======================================================
-- Errors name the value's path
-- =======================================================

do
  local function bad (msg, v, ...)
    checkerror(msg, _mp.dumps, v, ...)
  end
  local ud = io.stdout
  bad("bad value at value: userdata (FILE*) cannot be sent to another "
      .. "process", ud)
  bad("bad value at args[2].x: userdata (FILE*) cannot be copied to another "
      .. "interpreter", {1, {x = ud}}, false, "args",
      "cannot be copied to another interpreter")
  -- every kind of key
  bad("bad value at v[\"a b\"]: function", {["a b"] = print}, false, "v")
  bad("bad value at v[?]: function", {["a\nb"] = print}, false, "v")
  bad("bad value at v[?]: function", {["q\""] = print}, false, "v")
  bad("bad value at v[\"end\"]: function", {["end"] = print}, false, "v")
  bad("bad value at v[?]: function", {[2.5] = print}, false, "v")
  bad("bad value at v[?]: function", {[true] = print}, false, "v")
  bad("bad value at v[-3]._x1: function", {[-3] = {_x1 = print}}, false, "v")
  bad("bad value at v[?][1]: function", {[{}] = {print}}, false, "v")
  bad("bad value at v<key>: function", {[print] = 1}, false, "v")
  bad("bad value at v[1]<key>[1]: thread",
      {{[{coroutine.create(print)}] = 1}}, false, "v")
  -- upvalues, named and not
  local lk = require("threading").Lock()
  local function f () return lk end
  local function g () return f end
  bad("bad value at func<upvalue 1 'f'><upvalue 1 'lk'>: userdata "
      .. "(threading.Lock) cannot", g, true, "func")
  local stripped = load(string.dump(f, true))
  debug.setupvalue(stripped, 1, lk)
  bad("bad value at t.f<upvalue 1>: userdata", {f = stripped}, true,
      "t")  -- stripped: no names
  -- a light userdata
  bad("bad value at value: userdata cannot", debug.upvalueid(f, 1))
  -- a long path loses its middle
  local deep = {}
  local t = deep
  for _ = 1, 20 do t.next = {}; t = t.next end
  t.bad = print
  bad("bad value at v.next.next.next.next.next.next....next.next.next"
      .. ".next.next.bad: function", deep, false, "v")
  -- a shared table is fine wherever it is, and named where it first is
  local shared = {ud}
  bad("bad value at v[1][1]: userdata", {shared, shared}, false, "v")
  -- through Pipe and Queue, with their own roots
  local rd, wr = mp.Pipe()
  checkerror("bad value at value.k[1]: function cannot be sent to another "
             .. "process", wr.send, wr, {k = {print}})
  checkerror("bad value at item.k: thread cannot be sent to another "
             .. "process", q.put, q, {k = coroutine.create(print)})
  wr:send("still usable")
  assert(rd:recv() == "still usable")
end

-- }======================================================


-- {======================================================
-- The decoder against hostile bytes
-- =======================================================

do
  local u4 = function (n) return string.pack("=I4", n) end
  local off = function (n) return string.pack("=T", n) end
  local str = function (x) return "s" .. string.pack("=T", #x) .. x end
  -- what the encoder writes: 'U' for a table an 'R' (an offset) refers to
  assert(_mp.dumps({}) == "T" .. u4(0) .. "e")
  local t = {}
  t.me = t
  assert(_mp.dumps(t) == "U" .. u4(0) .. str("me") .. "R" .. off(0) .. "e")
  -- a back-reference to an offset not recorded: nothing there, a plain
  -- table ('T'), the middle of a tag, the reference itself, or ahead
  checkerror("corrupt message", _mp.loads, "R" .. off(0))
  checkerror("corrupt message", _mp.loads, "T" .. u4(0) .. "tR" .. off(0)
             .. "e")
  checkerror("corrupt message", _mp.loads, "U" .. u4(0) .. "tR" .. off(1)
             .. "e")
  checkerror("corrupt message", _mp.loads, "U" .. u4(0) .. "tR" .. off(6)
             .. "e")
  checkerror("corrupt message", _mp.loads, "U" .. u4(0) .. "tR" .. off(99)
             .. "e")
  checkerror("corrupt message", _mp.loads, "U" .. u4(0) .. "tR"
             .. off(2^62) .. "e")
  -- to the table being made: a cycle, fine
  t = _mp.loads("U" .. u4(0) .. str("me") .. "R" .. off(0) .. "e")
  assert(t.me == t)
  -- a table as its own key, and one reached from a later sibling
  t = _mp.loads("U" .. u4(0) .. "R" .. off(0) .. "te")
  assert(t[t] == true)
  t = _mp.loads("T" .. u4(0) .. "t" .. "U" .. u4(0) .. "e" .. "f" .. "R"
                .. off(6) .. "e")
  assert(t[true] == t[false] and type(t[true]) == "table")
  -- 'R' cut short, and a table left open
  checkerror("corrupt message", _mp.loads, "R\1")
  checkerror("corrupt message", _mp.loads, "U" .. u4(0) .. "R" .. off(0))
  -- a shared C object ('P') comes by pointer: only in a copy within this
  -- process, which no Lua function can ask for
  local ptr = string.pack("=I4", 0) .. ("\0"):rep(string.packsize("T"))
  checkerror("corrupt message", _mp.loads, "P" .. ptr)
  checkerror("corrupt message", _mp.loads, "P" .. ptr, true)
  checkerror("corrupt message", _mp.loads, "T" .. u4(0) .. "tP" .. ptr .. "e",
             true)
end

-- }======================================================

print("OK")
