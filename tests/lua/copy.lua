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
-- The decoder against hostile bytes
-- =======================================================

do
  local u4 = function (n) return string.pack("=I4", n) end
  -- a back-reference to a number not given out yet, or never
  checkerror("corrupt message", _mp.loads, "R" .. u4(1))
  checkerror("corrupt message", _mp.loads, "R" .. u4(0))
  checkerror("corrupt message", _mp.loads, "T" .. u4(0) .. "R" .. u4(2)
             .. "ie" .. ("\0"):rep(7) .. "e")
  -- to the table being made: a cycle, fine
  local t = _mp.loads("T" .. u4(0) .. "s" .. string.pack("=T", 2) .. "me"
                      .. "R" .. u4(1) .. "e")
  assert(t.me == t)
  -- a table as its own key
  t = _mp.loads("T" .. u4(0) .. "R" .. u4(1) .. "te")
  assert(t[t] == true)
  -- 'R' cut short, and a table left open
  checkerror("corrupt message", _mp.loads, "R\1")
  checkerror("corrupt message", _mp.loads, "T" .. u4(0) .. "R" .. u4(1))
end

-- }======================================================

print("OK")
