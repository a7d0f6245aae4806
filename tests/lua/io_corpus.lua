-- tests/lua/io_corpus.lua -- the io/os corpus of the differential test:
-- plain Lua, run both by stock lua5.4 and by luagil (tests/lua/io.lua
-- compares the two outputs, which must be identical). Each case prints its
-- name and what the calls returned; addresses and positions are masked.

local dir = assert(os.getenv("IO_CORPUS_DIR"), "IO_CORPUS_DIR not set")
local function path (name) return dir .. "/" .. name end

local function fmt (...)
  local out = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    local s
    if math.type(v) == "float" then s = string.format("%.17g(f)", v)
    elseif type(v) == "string" then s = string.format("%q", v)
    else s = tostring(v) end
    s = s:gsub("0x%x+", "ADDR"):gsub("^.-:%d+: ", "")
    out[#out + 1] = s
  end
  return table.concat(out, " ")
end

local ncases = 0
local function case (name, f)
  ncases = ncases + 1
  io.write(ncases, " ", name, ": ")
  local r = table.pack(pcall(f))
  if r[1] then print(fmt(table.unpack(r, 2, r.n)))
  else print("error " .. fmt(r[2])) end
end

local function put (name, s)
  local f = assert(io.open(path(name), "wb"))
  f:write(s)
  f:close()
  return path(name)
end

local lines = put("lines.txt", "first\nsecond line\n\nlast no newline")
local nums = put("nums.txt",
  "12 -3.5 0x1F 1e3 .5 0x1p4 +7 0X1P-2 1E2\n  \n 42 00012 1..2 0x 1e nan")
local zeros = put("zeros.txt", "a\0b\nc\0\0\n")
local crlf = put("crlf.txt", "one\r\ntwo\r\n")
local long = put("long.txt", string.rep("x", 10000) .. "\n" ..
                 string.rep("y", 70000))
local empty = put("empty.txt", "")
local bignum = put("bignum.txt", string.rep("1", 250))
local odd = put("odd.txt", "0xffffffffffffffffff 1e999 -0 0x.8 9007199254740993")

case("read l", function ()
  local f = io.open(lines); return f:read("l"), f:read("l"), f:read("l"),
    f:read("l"), f:read("l") end)
case("read L", function ()
  local f = io.open(lines); return f:read("L"), f:read("L"), f:read("L"),
    f:read("L"), f:read("L") end)
case("read old-style *l *a", function ()
  local f = io.open(lines); return f:read("*l"), f:read("*a") end)
case("read a twice", function ()
  local f = io.open(lines); return #f:read("a"), f:read("a") end)
case("read numbers", function ()
  local f = io.open(nums)
  return f:read("n", "n", "n", "n", "n", "n", "n", "n", "n") end)
case("read numbers past blank lines", function ()
  local f = io.open(nums); f:read("l")
  return f:read("n", "n", "n", "l") end)
case("read bad numerals", function ()
  local f = io.open(nums); f:read("l"); f:read("n", "n")
  local a = f:read("n"); local rest = f:read("a")
  return a, rest end)
case("read number then stop", function ()
  local f = io.open(lines); return f:read("n", "l") end)
case("numeral too long", function ()
  local f = io.open(bignum); return f:read("n"), f:read("a") end)
case("odd numerals", function ()
  local f = io.open(odd); return f:read("n", "n", "n", "n", "n") end)
case("read counts", function ()
  local f = io.open(lines); return f:read(3, 0, 100, 5, 0) end)
case("read 0 at eof", function ()
  local f = io.open(empty); return f:read(0), f:read(1), f:read("a"),
    f:read("l"), f:read("n") end)
case("several formats", function ()
  local f = io.open(lines); return f:read("l", "L", 3, "a") end)
case("embedded zeros", function ()
  local f = io.open(zeros); return f:read("l"), f:read("L"), f:read("l") end)
case("crlf kept", function ()
  local f = io.open(crlf); return f:read("l"), f:read("L") end)
case("long lines", function ()
  local f = io.open(long); local a, b = f:read("l", "l")
  return #a, #b, f:read("l") end)
case("invalid format", function ()
  local f = io.open(lines); return f:read("x") end)
case("invalid format after a good one", function ()
  local f = io.open(lines); local ok, e = pcall(f.read, f, "l", "z")
  return ok, e, f:read("l") end)
case("invalid format after a failing one", function ()
  local f = io.open(empty); return f:read("l", "z") end)
case("non-integer count", function ()
  local f = io.open(lines); return f:read(1.5) end)
case("format of bad type", function ()
  local f = io.open(lines); return f:read({}) end)
case("read on write-only file", function ()
  local f = io.open(path("wo.txt"), "w"); return f:read("l") end)
case("write on read-only file", function ()
  local f = io.open(lines); local r = table.pack(f:write("x"))
  r[1] = io.type(r[1]) or r[1]; return table.unpack(r, 1, r.n) end)
case("write returns file", function ()
  local f = io.open(path("w.txt"), "w")
  return f:write("a", 1, "b") == f, f:write() == f end)
case("write numbers", function ()
  local f = io.open(path("n.txt"), "w")
  f:write(1, " ", 1.0, " ", -0.0, " ", 2^63, " ", 1e100, " ", 0.1, " ",
          math.huge, " ", -math.huge, " ", math.mininteger, " ", 1/3)
  f:close(); return io.open(path("n.txt")):read("a") end)
case("write bad argument", function ()
  local f = io.open(path("bad.txt"), "w")
  local ok, e = pcall(f.write, f, "before", {}, "after"); f:close()
  return ok, e, io.open(path("bad.txt")):read("a") end)
case("io.write bad argument", function ()
  return io.write(true) end)
case("closed file ops", function ()
  local f = io.open(lines); f:close()
  return io.type(f), tostring(f), pcall(f.read, f), pcall(f.write, f, "x"),
    pcall(f.seek, f), pcall(f.lines, f), pcall(f.flush, f),
    pcall(f.setvbuf, f, "no") end)
case("close twice", function ()
  local f = io.open(lines); return f:close(), pcall(f.close, f) end)
case("tostring open file", function ()
  local f = io.open(lines); local s = tostring(f); f:close(); return s end)
case("io.type", function ()
  return io.type(io.stdout), io.type(42), io.type(nil), io.type({}),
    io.type(io.open(lines)) end)
case("io.type no argument", function () return io.type() end)
case("open missing file", function ()
  return io.open(path("missing/nope.txt")) end)
case("open bad modes", function ()
  local r = {}
  for _, m in ipairs{"rw", "", "r+x", "x", "rb+", "ab", "r+b", "w+", "a+b"} do
    local ok, e = pcall(io.open, path("modes.txt"), m)
    r[#r + 1] = m .. "=" .. (ok and io.type(e) or e)
    if ok and e then e:close() end
  end
  return table.concat(r, ";") end)
case("append mode", function ()
  local p = put("app.txt", "a\n")
  local f = io.open(p, "a"); f:write("b\n"); f:close()
  f = io.open(p, "a+"); f:write("c\n"); f:seek("set"); return f:read("a") end)
case("seek", function ()
  local f = io.open(lines)
  return f:seek(), f:seek("set", 6), f:read("l"), f:seek("cur"),
    f:seek("cur", -4), f:read(4), f:seek("end"), f:seek("end", -4),
    f:read("a") end)
case("seek errors", function ()
  local f = io.open(lines)
  return f:seek("set", -1), pcall(f.seek, f, "bad"),
    pcall(f.seek, f, "set", 1.5) end)
case("seek on pipe", function ()
  local f = io.popen("echo x"); local r = table.pack(f:seek("set", 0))
  f:close(); return table.unpack(r, 1, r.n) end)
case("setvbuf", function ()
  local f = io.open(path("vb.txt"), "w")
  return f:setvbuf("no"), f:setvbuf("full", 1024), f:setvbuf("line"),
    pcall(f.setvbuf, f, "bad"), pcall(f.setvbuf, f) end)
case("flush", function ()
  local f = io.open(path("fl.txt"), "w"); f:write("abc")
  local r = f:flush(); local g = io.open(path("fl.txt"))
  return r, g:read("a"), io.flush() end)
case("io.lines closes at end", function ()
  local t = {}
  local it, s, c, tbc = io.lines(lines)
  for l in it, s, c do t[#t + 1] = l end
  return #t, t[4], io.type(tbc), s, c end)
case("io.lines with formats", function ()
  local t = {}
  for a, b in io.lines(nums, "n", "n") do t[#t + 1] = a .. "," .. b end
  return table.concat(t, " ") end)
case("io.lines count format", function ()
  local t = {}
  for c in io.lines(lines, 4) do t[#t + 1] = c end
  return table.concat(t, "|") end)
case("io.lines L format", function ()
  local t = {}
  for l in io.lines(lines, "L") do t[#t + 1] = l end
  return table.concat(t) end)
case("file:lines keeps file open", function ()
  local f = io.open(lines); local n = 0
  for _ in f:lines() do n = n + 1 end
  return n, io.type(f), f:read("a") end)
case("lines after close", function ()
  local f = io.open(lines); local it = f:lines(); f:close()
  return pcall(it) end)
case("lines too many formats", function ()
  local t = {}
  for i = 1, 251 do t[i] = "l" end
  return pcall(io.lines, lines, table.unpack(t)) end)
case("lines invalid format", function ()
  for l in io.lines(lines, "x") do return l end end)
case("lines missing file", function () return io.lines(path("nope")) end)
case("lines read error", function ()
  local f = io.open(path("wo2.txt"), "w")
  for l in f:lines() do return l end end)
case("to-be-closed file", function ()
  local g
  do local f <close> = io.open(lines); g = f; f:read("l") end
  return io.type(g) end)
case("io.input and io.read", function ()
  local old = io.input()
  io.input(lines)
  local a, b = io.read("l", "n")
  local c = io.read()
  io.input():close()
  local ok, e = pcall(io.read)
  io.input(old)
  return a, b, c, ok, e end)
case("io.read bad formats name argument #1 on", function ()
  local old = io.input()
  io.input(lines)
  local r = {}
  for _, args in ipairs{{"x"}, {1.5}, {{}}, {"l", "x"}, {"l", 2.5}} do
    r[#r + 1] = select(2, pcall(io.read, table.unpack(args)))
  end
  io.input():close()
  io.input(old)
  return table.unpack(r) end)
case("file:read bad format after others", function ()
  local f = io.open(lines)
  return select(2, pcall(f.read, f, "l", "l", "q")),
         select(2, pcall(function () return f:read("n", {}) end)) end)
case("lines bad formats", function ()
  local f = io.open(lines)
  local old = io.input(); io.input(lines)
  local a = select(2, pcall(function () for _ in f:lines(1.5) do end end))
  local b = select(2, pcall(function ()
    for _ in io.lines(nil, "l", "y") do end end))
  io.input():close(); io.input(old)
  return a, b end)
case("io.lines default input", function ()
  local old = io.input(); io.input(lines)
  local n = 0
  for _ in io.lines() do n = n + 1 end
  io.input(old); return n end)
case("io.output and io.write", function ()
  local old = io.output()
  io.output(path("out.txt"))
  local r = io.write("x", 1, "\n") == io.output()
  io.close()
  local ok, e = pcall(io.write, "y")
  io.output(old)
  return r, ok, e, io.open(path("out.txt")):read("a") end)
case("io.output with file", function ()
  local f = io.open(path("out2.txt"), "w"); local old = io.output()
  local r = io.output(f) == f; io.write("z"); io.output(old); f:close()
  return r, io.open(path("out2.txt")):read("a") end)
case("io.input bad file", function ()
  return pcall(io.input, path("nope")) end)
case("io.input closed handle", function ()
  local f = io.open(lines); f:close(); return pcall(io.input, f) end)
case("standard files cannot close", function ()
  return io.stdout:close(), io.stderr:close(), io.type(io.stdout) end)
case("tmpfile", function ()
  local f = io.tmpfile(); f:write("hello\n", 42)
  f:seek("set"); return f:read("l", "n") end)
case("popen read", function ()
  local f = io.popen("printf 'a\\nb\\n12 x'")
  return f:read("l"), f:read("L"), f:read("n"), f:read("a"), f:close() end)
case("popen partial reads", function ()
  local f = io.popen("printf abcdefgh")
  return f:read(3), f:read(3), f:read(3), f:read(3), f:close() end)
case("popen lines", function ()
  local t = {}
  for l in io.popen("printf '1\\n2\\n3\\n'"):lines() do t[#t + 1] = l end
  return table.concat(t, ",") end)
case("popen write", function ()
  local f = io.popen("cat > " .. path("pw.txt"), "w")
  f:write("through a pipe\n")
  return f:close(), io.open(path("pw.txt")):read("a") end)
case("popen status", function ()
  return io.popen("exit 0"):close(), io.popen("exit 7"):close(),
    io.popen("kill -9 $$"):close() end)
case("popen bad mode", function () return io.popen("true", "rw") end)
case("popen closed", function ()
  local f = io.popen("true"); f:close(); return pcall(f.read, f) end)
case("os.execute", function ()
  return os.execute(), os.execute("exit 0"), os.execute("exit 3"),
    os.execute("kill -9 $$") end)
case("os.remove and os.rename", function ()
  local p = put("rm.txt", "x")
  return os.rename(p, path("rm2.txt")), os.rename(p, path("rm3.txt")),
    os.remove(path("rm2.txt")), os.remove(path("rm2.txt")) end)
case("os.remove directory", function ()
  os.execute("mkdir -p " .. path("d/e"))
  return os.remove(path("d")) end)
case("os.tmpname", function ()
  local n = os.tmpname(); local ok = io.open(n) ~= nil; os.remove(n)
  return type(n), ok end)
case("os.getenv", function ()
  return os.getenv("IO_CORPUS_DIR") == dir, os.getenv("NO_SUCH_VAR_xyz") end)
case("os time and date", function ()
  return os.time{year = 2020, month = 1, day = 1, hour = 12},
    os.date("!%Y-%m-%d %H:%M:%S", 86400 * 365), os.difftime(10, 4),
    type(os.clock()), os.date("!*t", 0).year, pcall(os.date, "%Ez") end)
case("os.exit is a function", function () return type(os.exit) end)
case("write then read same file", function ()
  local f = io.open(path("rw.txt"), "w+")
  f:write("line1\n", "line2\n"); f:seek("set")
  return f:read("a"), f:read("a"), f:read("l") end)
case("read after EOF then seek", function ()
  local f = io.open(lines); f:read("a")
  local a = f:read("l"); f:seek("set", 0); return a, f:read("l") end)
case("print tostring error", function ()
  local t = setmetatable({}, {__tostring = function () return 42 end})
  return pcall(print, "p1", t) end)
case("print __name", function ()
  local t = setmetatable({}, {__name = "MyType"})
  local s = tostring(t):gsub("0x%x+", "ADDR")
  return s end)

print("cases: " .. ncases)
