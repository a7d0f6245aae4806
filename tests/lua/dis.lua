-- tests/lua/dis.lua -- the dis module: listings checked line for line
-- against Debian's luac5.4 on a corpus that reaches every opcode, the
-- fields of get_instructions checked against luac's operands, bad input
-- (truncated and bit-flipped chunks) rejected with an error, and
-- 'luagil --dis'.
print("testing dis")

local dis = require "dis"

local checkerror = require("testlib").checkerror

local function readcmd (cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  p:close()
  return out
end

local LUAC = "luac5.4"
local have_luac = os.execute(LUAC .. " -v >/dev/null 2>&1")
local LUAGIL = os.getenv("LUAGIL")
local tmp = os.tmpname()


-- {==================================================================
-- The corpus: each entry is a chunk that returns a function; together
-- they reach every opcode.
-- ===================================================================

local function R (s) return "return function " .. s end

local corpus = {
  -- loads and moves
  R"(a) local b = a; return b end",
  R"() local i, f, k, s = 1, 1.0, 1e10, 's'; return i, f, k, s end",
  R"() local x, y = false, true; return x, y end",
  R"() local x, y, z; return x end",
  R"(a, b) local x = a < b; return x end",
  R"() return -32768, 65536, 1e300, -1.5, 2^63, 3 // 0.0 end",
  R"() return 9223372036854775807, math.mininteger, -0.0 end",
  -- globals, tables, fields, upvalues
  R"() g = g + 1 end",
  R"(t, k, v) t[k] = t[k] or v; return t[1], t.x end",
  R"(t, v) t[1] = v; t.x = v; t.y = 'k'; t[v] = 3 end",
  R"() return {}, {1, 2}, {x = 1, y = 2}, {1, x = 2, [3] = 4} end",
  R"(o) return o:m(1), o.f(o), o:n() end",
  R"() local u = 0; return function () u = u + 1; return u end end",
  R"(a) return function () return function () return a end end end",
  "local u = 0; return function (v) local old = u; u = v; return old end",
  -- arithmetic with immediates and constants
  R"(a) return a + 1, a - 1, a + 300, a - 300 end",
  R"(a) return a + 0.5, a - 0.5, a * 2, a % 3, a ^ 2 end",
  R"(a) return a / 2, a // 2, a & 0xff, a | 1, a ~ 1 end",
  R"(a) return a >> 1, a << 1, 1 << a, 1 >> a end",
  R"(a, b) return a + b, a - b, a * b, a % b, a ^ b end",
  R"(a, b) return a / b, a // b, a & b, a | b, a ~ b end",
  R"(a, b) return a << b, a >> b end",
  R"(a) return 1 + a, 2.5 * a, 'x' .. a, 1 - a end",
  R"(a) return -a, ~a, not a, #a end",
  R"(a, b, c) return a .. b .. c .. 'd' end",
  R"() return 2^53 + 1, 7 // 2, 7 % -3, 1 / 0, -(1 / 0) end",
  -- comparisons and tests
  R"(a, b) if a == b then return 1 elseif a < b then return 2 "
    .. "elseif a <= b then return 3 end end",
  R"(a) if a == 'x' then return 1 end if a ~= 2.5 then return 2 end end",
  R"(a) return a == 1, a < 1, a <= 1, a > 1, a >= 1 end",
  R"(a) return 1 == a, 1 < a, 1 <= a, 1 > a, 1 >= a end",
  R"(a, b) if a then return b end if not b then return a end end",
  R"(a, b, c) local x; x = a or b; c = a and b; return x, c end",
  R"(a, b) while a < b do a = a + 1 end return a end",
  R"(a) repeat a = a - 1 until a <= 0 return a end",
  -- calls and returns
  R"(f, ...) return f(...) end",
  R"(f, a) f(a, a); local x = f(); local y, z = f() end",
  R"(...) return ... end",
  R"(...) local a, b = ...; local t = {...}; return select('#', ...) end",
  R"() return end",
  R"(a) return a end",
  R"(a, b) return a, b end",
  R"(f) return (f()) end",
  -- loops
  R"() local s = 0; for i = 1, 10 do s = s + i end return s end",
  R"(n) for i = n, 1, -1 do print(i) end end",
  R"() for x = 0.5, 2.5, 0.5 do g = x end end",
  R"(t) for k, v in pairs(t) do t[k] = v end end",
  R"(t) local n = 0; for _, v in ipairs(t) do n = n + v end return n end",
  R"(t) for i = 1, #t do if t[i] then break end end end",
  -- blocks, upvalues closed, to-be-closed variables, goto
  R"(a) do local x = a; g = function () return x end end return 1 end",
  R"(a) while a do local x = a; g = function () return x end; a = g() end end",
  R"(r) local x <close> = r; return 1 end",
  R"(r) do local x <close> = r; local y <close> = r end end",
  R"(a) ::top:: a = a - 1; if a > 0 then goto top end return a end",
  R"() local k <const> = 10; return k * 2 end",
  -- strings: escapes, long strings, non-printable bytes
  R"() return 'a\\0b\\n\\t\\\"\\\\\\a\\b\\f\\v\\r\\200\\127' end",
  R"() return '" .. string.rep("long", 20) .. "' end",
  R"(s) return s:upper(), s:sub(2, 3), #s, s .. s end",
  -- methods, varargs, multiple assignment
  "local M = {}; function M.f (a) return a end\n"
    .. "function M:g (b) return self, b end\n"
    .. "return function () return M.f(1), M:g(2) end",
  R"(a, b) a, b = b, a; return a, b end",
  R"(t, i, j) t[i], t[j] = t[j], t[i] end",
  R"(...) local t = table.pack(...); return t.n, t end",
  R"(a) local t = {f = function (x) return x end, a, a + 1}; return t end",
}

-- Generated: a table constructor large enough for NEWTABLE's and
-- SETLIST's EXTRAARG, and a function with more constants than Bx holds
-- (LOADKX).
do
  local items = {}
  for i = 1, 600 do items[i] = tostring(i) end
  corpus[#corpus + 1] = R"() return {" .. table.concat(items, ", ") .. "} end"
  local lines = {"return function () local x"}
  for i = 1, 131100 do lines[#lines + 1] = "x = " .. i .. ".5" end
  lines[#lines + 1] = "return x end"
  corpus[#corpus + 1] = table.concat(lines, "\n")
end

assert(#corpus >= 50)

-- }==================================================================


-- {==================================================================
-- Reading luac's listing
-- ===================================================================

-- luac's listing of 'src' (compiled from the file 'tmp').
local function luac (src, flags)
  local f = assert(io.open(tmp, "w"))
  f:write(src)
  f:close()
  return readcmd(LUAC .. " " .. flags .. " -p " .. tmp .. " 2>&1")
end


-- luac names functions by address; dis by position (F0 is main): give
-- luac's addresses the names of their functions' positions.
local function normalize (listing)
  local names, n = {}, 0
  for addr in listing:gmatch("\n%a+ <[^\n]*instructions? at (0x%x+)%)") do
    names[addr] = "F" .. n
    n = n + 1
  end
  return (listing:gsub("0x%x+", function (a) return names[a] or a end))
end


-- The functions of a listing, in order: each a list of
-- {op = name, args = {numbers}, k = suffix 'k' seen}, and its linedefined.
local function parsecode (listing)
  local funcs, cur = {}, nil
  for line in listing:gmatch("[^\n]+") do
    if line:match("^%a+ <") then
      cur = {linedefined = tonumber(line:match(":(%d+),%d+> %("))}
      funcs[#funcs + 1] = cur
    else
      local op, args = line:match("^\t%d+\t%[[^%]]*%]\t(%u[%u%d]*) *\t([^\t]*)")
      if op then
        local ins = {op = op, args = {}, k = args:match("k$") ~= nil}
        for n in args:gmatch("%-?%d+") do
          ins.args[#ins.args + 1] = tonumber(n)
        end
        cur[#cur + 1] = ins
      end
    end
  end
  return funcs
end

-- }==================================================================


-- {==================================================================
-- The listings match luac's, line for line
-- ===================================================================

-- Which fields of an instruction luac prints, in order, by opcode; the
-- rest print "a b c".
local printed = {}
local function shape (names, fields)
  for op in names:gmatch("%S+") do printed[op] = fields end
end
shape("MOVE UNM BNOT NOT LEN CONCAT LOADNIL GETUPVAL SETUPVAL", {"a", "b"})
shape("LOADI LOADF", {"a", "sbx"})
shape("LOADK FORLOOP FORPREP TFORPREP TFORLOOP CLOSURE", {"a", "bx"})
shape("LOADKX LOADFALSE LFALSESKIP LOADTRUE CLOSE TBC RETURN1 VARARGPREP",
      {"a"})
shape("ADDI SHRI SHLI", {"a", "b", "sc"})
shape("MMBINI", {"a", "sb", "c", "k"})
shape("MMBINK", {"a", "b", "c", "k"})
shape("JMP", {"sj"})
shape("EQ LT LE EQK TESTSET", {"a", "b", "k"})
shape("EQI LTI LEI GTI GEI", {"a", "sb", "k"})
shape("TEST", {"a", "k"})
shape("RETURN0", {})
shape("TFORCALL VARARG", {"a", "c"})
shape("EXTRAARG", {"ax"})
-- luac shows k as a suffix "k" on the last operand of these
local ksuffix = {SETTABUP = true, SETTABLE = true, SETI = true,
                 SETFIELD = true, SELF = true, TAILCALL = true, RETURN = true}

local seen = {}  -- opcodes the corpus reached

-- Check get_instructions(f) against luac's listing of the same function.
local function compare (insts, ref, what)
  assert(#insts == #ref, what .. ": " .. #insts .. " instructions, luac "
         .. #ref)
  for i, ins in ipairs(insts) do
    local r = ref[i]
    local where = what .. " instruction " .. i .. " (" .. r.op .. ")"
    assert(ins.offset == i, where)
    assert(ins.opname == r.op, where .. ": got " .. ins.opname)
    assert(dis.opname[ins.opcode + 1] == ins.opname, where)
    seen[ins.opname] = true
    local fields = printed[r.op] or {"a", "b", "c"}
    assert(#r.args >= #fields, where)
    for j, field in ipairs(fields) do
      local v = ins[field]
      if field == "k" then v = v and 1 or 0 end
      assert(v == r.args[j], where .. ": " .. field .. " is "
             .. tostring(v) .. ", luac " .. tostring(r.args[j]))
    end
    if ksuffix[r.op] then assert(ins.k == r.k, where .. ": k") end
  end
end


-- Fields present exactly as the format says.
local formats = {
  a = "ABC ABx AsBx", b = "ABC", c = "ABC", k = "ABC", bx = "ABx",
  sbx = "AsBx", ax = "Ax", sj = "sJ",
}
local function checkfields (ins)
  local fmt = ins.opname == "JMP" and "sJ" or ins.opname == "EXTRAARG" and "Ax"
    or ins.bx and "ABx" or ins.sbx and "AsBx" or "ABC"
  for field, fmts in pairs(formats) do
    local want = (" " .. fmts .. " "):find(" " .. fmt .. " ", 1, true) ~= nil
    assert((ins[field] ~= nil) == want, ins.opname .. ": field " .. field)
  end
  assert(math.type(ins.line) == "integer")
  assert(math.type(ins.offset) == "integer")
  if ins.k ~= nil then assert(type(ins.k) == "boolean") end
end


if have_luac then
  for n, src in ipairs(corpus) do
    local what = "corpus #" .. n
    local ref = luac(src, "-l -l")
    assert(not ref:find("luac5.4:"), what .. ": " .. ref)
    -- the whole listing, headers, comments and debug sections included
    local mine = dis.code_info(src, "@" .. tmp)
    if #src < 10000 then  -- the LOADKX one is checked by its opcodes
      assert(mine == normalize(ref), what .. " differs from luac:\n" .. mine
             .. "\n---- luac:\n" .. ref)
    end
    -- get_instructions on the chunk and on the function it returns
    local funcs = parsecode(ref)
    local chunk = assert(load(src, "@" .. tmp))
    compare(dis.get_instructions(chunk), funcs[1], what .. " main")
    local f = chunk()
    local insts = dis.get_instructions(f)
    local line = debug.getinfo(f, "S").linedefined
    local i = 2  -- the first function defined on f's line
    while funcs[i].linedefined ~= line do i = i + 1 end
    compare(insts, funcs[i], what .. " function")
    for _, ins in ipairs(insts) do checkfields(ins) end
    -- a function, its source and its binary chunk give the same
    assert(dis.code_info(string.dump(chunk)) == mine, what)
    assert(dis.code_info(f) == dis.code_info(string.dump(f)), what)
  end
  local missing = {}
  for _, name in ipairs(dis.opname) do
    if not seen[name] then missing[#missing + 1] = name end
  end
  assert(#missing == 0, "opcodes not reached: " .. table.concat(missing, " "))
  print(string.format("  %d chunks, %d opcodes match luac", #corpus,
                      #dis.opname))
else
  print("  (luac5.4 not found: comparisons with luac skipped)")
end

-- }==================================================================


-- {==================================================================
-- Arguments, stripped chunks, line numbers
-- ===================================================================

assert(#dis.opname == 83 and dis.opname[1] == "MOVE"
       and dis.opname[83] == "EXTRAARG")

checkerror("bad argument #1 to 'dis' (Lua function expected, got C function)",
           function () dis.dis(print) end)
checkerror("Lua function expected, got C function", dis.get_instructions,
           string.format)
checkerror("bad argument #1 to 'get_instructions' (function or string "
           .. "expected, got number)", function () dis.get_instructions(42) end)
checkerror("bad argument #1 to 'code_info' (function or string expected, "
           .. "got no value)", function () dis.code_info() end)
checkerror("unexpected symbol", dis.dis, "x = = 1")
checkerror("[string \"x = = 1\"]:1:", dis.dis, "x = = 1")
checkerror("src:1:", dis.dis, "x = = 1", "=src")

-- a source string is compiled, never run
ran = false
dis.get_instructions("ran = true")
assert(ran == false)

-- source names as luac shows them
assert(dis.code_info("return 1"):find(
  "^\nmain <%(string%):0,0> %(4 instructions at F0%)\n"))
assert(dis.code_info("return 1", "=stdin"):find("^\nmain <stdin:0,0>"))
assert(dis.code_info("return 1", "@x.lua"):find("^\nmain <x.lua:0,0>"))

-- a stripped chunk has no lines, names or source
do
  local f = load("local a = 1\nlocal b = a\n"
                 .. "return function (x) return x + a end")
  local s = dis.code_info(string.dump(f, true))
  assert(s:find("^\nmain <%?:0,0>"), s)
  assert(s:find("\t1\t%[%-%]\tVARARGPREP\t0\n"), s)
  assert(s:find("\t0\t%-\t1\t0\n"), s)  -- the upvalue has no name
  for _, ins in ipairs(dis.get_instructions(string.dump(f, true))) do
    assert(ins.line == -1)
  end
  local lines = {}
  for _, ins in ipairs(dis.get_instructions(f)) do
    lines[#lines + 1] = ins.line
  end
  assert(table.concat(lines, " ") == "1 1 2 3 3 3", table.concat(lines, " "))
end

-- lines that need absolute line info (jumps of more than 127 lines, and
-- more than 128 instructions without one)
do
  local src = "local a = 1\n" .. string.rep("\n", 300) .. "a = a + 1\n"
              .. string.rep("a = a + 1 ", 300) .. "\n" .. string.rep("\n", 200)
              .. "return a\n"
  local insts = dis.get_instructions(src)
  assert(insts[2].line == 1 and insts[3].line == 302, insts[3].line)
  assert(insts[#insts - 1].line == 504 and insts[#insts].line == 504)
  if have_luac then
    assert(dis.code_info(src, "@" .. tmp) == normalize(luac(src, "-l -l")))
  end
end

-- closures with upvalues are dumped with their upvalue descriptions
do
  local up = 1
  local function f () up = up + 1; return up end
  local s = dis.code_info(f)
  assert(s:find("GETUPVAL \t0 0\t; up", 1, true), s)
  assert(s:find("upvalues (1) for F0:\n\t0\tup\t1\t", 1, true), s)
end

-- }==================================================================


-- {==================================================================
-- Bad chunks: truncated, bit-flipped, lying about sizes
-- ===================================================================

local function checkbad (chunk, msg)
  for _, fn in ipairs{dis.code_info, dis.get_instructions} do
    local ok, err = pcall(fn, chunk)
    assert(not ok and tostring(err):find("bad binary chunk: " .. (msg or ""),
                                         1, true), tostring(err))
  end
end

-- survives anything: either a listing or a "bad binary chunk" error
local function survives (chunk)
  for _, fn in ipairs{dis.code_info, dis.get_instructions} do
    local ok, err = pcall(fn, chunk)
    if chunk:sub(1, 4) == "\27Lua" then  -- else it was read as source
      assert(ok or tostring(err):find("^bad binary chunk: "), tostring(err))
    end
  end
end

local sample = string.dump(load([[
  local t = {1, 2.5, "three", x = true, [false] = nil}
  local function f (a, ...) for i = 1, a do t[i] = ... end return #t end
  return f(3, "x"), t.x and "yes" or "no"
]], "@sample.lua"))
assert(dis.code_info(sample):find("main <sample.lua:0,0>", 1, true))

-- every proper prefix is cut short
for n = 1, #sample - 1 do  -- (the empty string is an empty source chunk)
  local ok, err = pcall(dis.get_instructions, sample:sub(1, n))
  assert(not ok, "prefix of " .. n .. " bytes accepted")
  if n >= 4 then
    assert(tostring(err):find("^bad binary chunk: "), err)
  end
end
checkbad(sample:sub(1, 40), "truncated")

-- header checks
local function patch (s, pos, byte)
  return s:sub(1, pos - 1) .. string.char(byte) .. s:sub(pos + 1)
end
checkbad(patch(sample, 5, 0x53), "version mismatch")
checkbad(patch(sample, 6, 1), "format mismatch")
checkbad(patch(sample, 8, 0), "corrupted chunk")
checkbad(patch(sample, 13, 8), "Instruction size mismatch")
checkbad(patch(sample, 14, 4), "lua_Integer size mismatch")
checkbad(patch(sample, 15, 4), "lua_Number size mismatch")
checkbad(patch(sample, 16, 0), "integer format mismatch")
checkbad(patch(sample, 31, 0), "float format mismatch")

-- sizes that lie, overflowing numbers, endless nesting
local header = sample:sub(1, 31) .. "\1"  -- up to the upvalue count
checkbad(header .. "\x80\x80\x80\0\1\2" .. "\x7f\x7f\x7f\xff", "truncated")
checkbad(header .. "\x80\x80\x80\0\1\2" .. "\x7f\x7f\x7f\x7f\x7f\xff",
         "integer overflow")
checkbad(header .. "\x80\x80\x80\0\1\2\x81" .. "\127\0\0\0", "bad opcode 127")
checkbad(header .. "\x80\x80\x80\0\1\2\x80\x81\x42", "bad constant type 66")
checkbad(header .. ("\x80\x80\x80\0\0\2\x80\x80\x80\x81"):rep(1000),
         "functions nested too deeply")
checkbad(header .. "\x80\x80\x80\0\0\2\x80\x80\x80\x80"
         .. "\x80\x80\x80\x81\x81",
         "more upvalue names than upvalues")
checkbad(header .. "\x80\x80\x80\0\0\2\x81\0\0\0\0\x80\x80\x80" .. "\x83\0\0\0",
         "bad line info")

-- random bit flips and byte changes (fixed seed): never a crash
math.randomseed(20240505)
local flips, accepted = 0, 0
for _ = 1, 400 do
  local s = sample
  for _ = 1, math.random(1, 3) do
    local pos = math.random(1, #s)
    local byte = s:byte(pos) ~ (1 << math.random(0, 7))
    s = patch(s, pos, byte)
  end
  survives(s)
  flips = flips + 1
  if pcall(dis.code_info, s) then accepted = accepted + 1 end
end
for _ = 1, 200 do  -- random bytes after a good header
  local bytes = {}
  for i = 1, math.random(0, 64) do
    bytes[i] = string.char(math.random(0, 255))
  end
  survives(header .. table.concat(bytes))
end
print(string.format("  %d prefixes and %d bit-flipped chunks (%d still "
                    .. "decode) handled", #sample, flips, accepted))

-- }==================================================================


-- {==================================================================
-- dis.dis and 'luagil --dis'
-- ===================================================================

if LUAGIL then
  local f = assert(io.open(tmp, "w"))
  f:write("print('this must ' .. 'not run')\n"
          .. "local function sq (x) return x * x end\nreturn sq(3)\n")
  f:close()
  local out = readcmd(LUAGIL .. " --dis " .. tmp .. " 2>&1")
  assert(not out:find("must not run", 1, true), out)
  assert(out:find("\nmain <" .. tmp .. ":0,0>", 1, true), out)
  assert(out:find("\nfunction <" .. tmp .. ":2,2>", 1, true), out)
  if have_luac then
    assert(out == normalize(luac(io.open(tmp):read("a"), "-l")), out)
  end
  -- dis.dis writes to io.stdout what code_info's first part shows
  local out2 = readcmd(LUAGIL .. " -e \"require('dis').dis(loadfile('" .. tmp
                       .. "'))\"")
  assert(out2 == out, out2)
  -- without a script, or with a script that does not compile
  out = readcmd(LUAGIL .. " --dis 2>&1; echo status=$?")
  assert(out:find("status=1", 1, true) and out:find("--dis", 1, true), out)
  f = assert(io.open(tmp, "w"))
  f:write("x = = 1\n")
  f:close()
  out = readcmd(LUAGIL .. " --dis " .. tmp .. " 2>&1; echo status=$?")
  assert(out:find("unexpected symbol", 1, true), out)
  assert(out:find("status=1", 1, true), out)
end

-- }==================================================================

os.remove(tmp)
print("OK")
