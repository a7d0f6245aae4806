-- tests/lua/io.lua -- the differential test of io and os: io_corpus.lua
-- run by stock lua5.4 and by luagil must print exactly the same.
print("testing io (differential)")

local LUAGIL = assert(os.getenv("LUAGIL"), "LUAGIL not set")
local LUA = os.getenv("LUA") or "lua5.4"

if not os.execute("command -v " .. LUA .. " > /dev/null") then
  print("skipped: no " .. LUA)
  print("OK")
  return
end

local dir = os.tmpname()  -- the same for both: messages show file names
os.remove(dir)

local function run (interp)
  assert(os.execute("mkdir " .. dir))
  local p = assert(io.popen("IO_CORPUS_DIR=" .. dir .. " " .. interp ..
                            " io_corpus.lua 2>&1"))
  local out = p:read("a")
  local ok, how, code = p:close()
  os.execute("rm -rf " .. dir)
  return out, ok, how, code
end

local expect, ok1 = run(LUA)
local got, ok2, how, code = run(LUAGIL)
assert(ok1, "stock lua failed:\n" .. expect)
assert(ok2, ("luagil %s %s:\n%s"):format(how, code, got))

local n = tonumber(expect:match("cases: (%d+)"))
assert(n and n >= 40, "the corpus has fewer than 40 cases")
if got ~= expect then
  local a, b = {}, {}
  for l in expect:gmatch("[^\n]*") do a[#a + 1] = l end
  for l in got:gmatch("[^\n]*") do b[#b + 1] = l end
  for i = 1, math.max(#a, #b) do
    if a[i] ~= b[i] then
      print("lua5.4: " .. tostring(a[i]))
      print("luagil: " .. tostring(b[i]))
    end
  end
  error("outputs differ")
end
print(n .. " cases identical")
print("OK")
