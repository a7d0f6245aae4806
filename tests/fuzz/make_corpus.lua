-- tests/fuzz/make_corpus.lua -- writes the seed corpora of the libFuzzer
-- targets: binary chunks (string.dump) for fuzz_dis and serialized values
-- (_multiprocessing.dumps) for fuzz_mp_pickle.
-- See LICENSE for copyright and licence (MIT).
--
-- usage: luagil make_corpus.lua DIR   (writes DIR/dis/* and DIR/mp_pickle/*)
-- Run by run_libfuzzer.sh with the fuzz build's own luagil, so that the
-- chunks and messages are that binary's format.

local dir = assert(arg[1], "usage: luagil make_corpus.lua DIR")
local _mp = require "_multiprocessing"

local function write (sub, name, bytes)
  local f = assert(io.open(dir .. "/" .. sub .. "/" .. name, "wb"))
  f:write(bytes)
  f:close()
end

-- Functions that between them use every kind of constant, upvalues,
-- nested functions, varargs, loops, to-be-closed variables and long
-- strings, so that the chunks cover the reader's every branch.
local up = 1
local chunks = {
  empty = function () end,
  consts = function ()
    return nil, true, false, 1, -7, 2 ^ 63, 3.25, math.mininteger, "s",
           string.rep("long string ", 5)
  end,
  closures = function (a, b, ...)
    local function inner (x) return x + up + a end
    local t = {inner, ..., n = select("#", ...)}
    for i = 1, 3 do t[i] = function () return i, b end end
    return t
  end,
  control = function (t)
    local s = 0
    for k, v in pairs(t) do
      if k == "x" then goto skip end
      s = s + (v // 2) % 3 | 1 & ~2 << 1 >> 1
      ::skip::
    end
    while s > 10 do s = s - 1 end
    repeat s = s + 1 until s > 3
    do local c <close> = setmetatable({}, {__close = print}) end
    return s .. "!", #t, -s, not s, s ~= 1, s <= 2
  end,
  method = function (o) return o:m(1, 2):n{[1] = 2, x = 3} end,
}
local names = {}
for name in pairs(chunks) do names[#names + 1] = name end
table.sort(names)
for _, name in ipairs(names) do
  write("dis", name, string.dump(chunks[name]))
  write("dis", name .. "-stripped", string.dump(chunks[name], true))
end
write("dis", "main", string.dump(assert(load("local a = ... return a"))))

-- Values of every tag the serializer writes, functions included (the
-- Pool's tasks: dumps(v, true)).
local function fact (n) if n <= 1 then return 1 end return n * fact(n - 1) end
local values = {
  {"nil", nil}, {"true", true}, {"false", false}, {"int", -42},
  {"maxint", math.maxinteger}, {"float", 0.1}, {"inf", math.huge},
  {"string", "hello\0world"}, {"empty", ""},
  {"list", {1, 2, 3, "four", 5.5}},
  {"nested", {a = {b = {c = {1, {2, {3}}}}}, [1.5] = false, [true] = "t"}},
  {"function", function (x) return x * up end, true},
  {"recursive", fact, true},
  {"cfunction", print, true},
  {"globals", _G, true},
  {"module", {string.format, require("threading")}, true},
  {"task", {fn = function (...) return select("#", ...) end,
            args = {1, 2}}, true},
}
-- Back-references ('R'): a table reached twice, cycles, a table as a key.
do
  local shared = {1, "s"}
  local cyc = {shared, shared}
  cyc.self = cyc
  cyc[cyc] = {cyc, shared}
  values[#values + 1] = {"shared", {shared, shared, k = shared}}
  values[#values + 1] = {"cycle", cyc}
end

for _, v in ipairs(values) do
  local ok, msg = pcall(_mp.dumps, v[2], v[3])
  if ok then write("mp_pickle", v[1], msg) end
end
print("corpus written to " .. dir)
