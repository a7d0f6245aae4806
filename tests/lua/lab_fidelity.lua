-- tests/lua/lab_fidelity.lua -- scripts/lab/fidelity.lua at --quick
-- sizes: the shape of its two tables (a column per implementation found,
-- a ratio or a reason on every row of the model table), absent runtimes
-- and policies skipped with a note, --pin's regime, bad arguments. Never
-- a timing value: those belong to the lab's real runs.
print("testing the fidelity lab")

local testlib = require "testlib"

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local LAB = here .. "/../../scripts/lab/fidelity.lua"
local ABSENT = "/nonexistent/fidelity-test-runtime"
local KEYS = {"rt_alone", "rt_with_cpu", "cpu_share", "slowdown_t2",
              "slowdown_t4", "seen_per_s", "stats_per_s", "rt_per_s"}
local POLICIES = {"interval", "interval:free", "ticks", "priority-io",
                  "priority-io:5", "gvl"}
local PAIRS = {interval = "python3", ["interval:free"] = "python3",
               ticks = "python2.7", gvl = "ruby",
               ["priority-io"] = "python3", ["priority-io:5"] = "python3"}


-- Run the lab with 'env' (a string of NAME=VALUE words) and 'args';
-- returns its exit status and stdout.
local function lab (env, args)
  local cmd = ("env %s timeout 600 %s %s %s 2>/dev/null; echo \"status=$?\"")
              :format(env, testlib.luagil, LAB, args)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  p:close()
  return tonumber(out:match("status=(%d+)\n$")), out
end


-- The Markdown tables of 'out': a list of {head = cells, rows = {cells}}.
local function tables (out)
  local ts, cur = {}, nil
  for line in out:gmatch("[^\n]*") do
    if line:match("^|") then
      local cells = {}
      for c in line:gmatch("|%s*([^|]-)%s*%f[|]") do cells[#cells + 1] = c end
      if not cur then
        cur = {head = cells, rows = {}}
        ts[#ts + 1] = cur
      elseif not cells[1]:match("^%-+$") then
        cur.rows[#cur.rows + 1] = cells
      end
    else
      cur = nil
    end
  end
  return ts
end


local function has (list, x)
  for _, v in ipairs(list) do if v == x then return true end end
  return false
end


-- Checks common to every run: returns the two tables and the notes.
local function check_shape (out, regime)
  assert(out:match("== fidelity, " .. regime), out)
  local ts = tables(out)
  assert(#ts == 2, "two tables, got " .. #ts .. ":\n" .. out)
  local matrix, model = ts[1], ts[2]
  -- the matrix: a column per implementation, a row per key
  for _, p in ipairs(POLICIES) do
    assert(has(matrix.head, "luagil " .. p), out)
  end
  assert(#matrix.rows == #KEYS, out)
  for k, key in ipairs(KEYS) do
    local row = matrix.rows[k]
    assert(row[1] == key and #row == #matrix.head, out)
    for c = 2, #row do   -- luagil reports every key, the others all but one
      local luagil = matrix.head[c]:match("^luagil ")
      if luagil or key ~= "stats_per_s" then
        assert(tonumber(row[c]), matrix.head[c] .. " " .. key .. ":\n" .. out)
      else
        assert(row[c] == "–", out)
      end
    end
  end
  -- the model table: 8 workloads, one row per policy and its runtime
  assert(#model.rows == 8 * 6, out)
  for _, row in ipairs(model.rows) do
    assert(#row == 5, out)
    local real, policy = row[2]:match("^(%S+):"), row[3]:match("^(%S+):")
    assert(PAIRS[policy] == real, row[2] .. " beside " .. row[3])
    if row[4] == "–" then
      assert(row[5]:match("^skipped: no "), out)
    else
      assert(row[4]:match("^[%d.e+-]+×$"), row[4])
      assert(row[5] ~= "" and not row[5]:match("skipped"), out)
    end
  end
  local notes = out:match("\nNotes:\n(.*)$") or ""
  assert(not notes:match("failed"), "a workload failed:\n" .. out)
  return matrix, model, notes
end


-- Rows of 'model' for 'policy'.
local function rows_of (model, policy)
  local rs = {}
  for _, row in ipairs(model.rows) do
    if row[3]:match("^(%S+):") == policy then rs[#rs + 1] = row end
  end
  assert(#rs == 8)
  return rs
end


do  -- The real runtimes found run beside the policies; ruby made absent
  local status, out = lab("RUBY=" .. ABSENT, "--quick")
  assert(status == 0, out)
  local matrix, model, notes = check_shape(out, "%d+ cores")
  assert(notes:find("ruby: " .. ABSENT .. " not found: skipped", 1, true),
         out)
  assert(not has(matrix.head, "ruby"), out)
  for _, row in ipairs(rows_of(model, "gvl")) do
    assert(row[4] == "–" and row[5]:match("^skipped: no "), out)
  end
  -- python3, when there is one, is measured and compared with interval
  local py3 = not notes:find("- python3: ", 1, true)
  for _, row in ipairs(rows_of(model, "interval")) do
    assert((row[4] ~= "–") == py3, out)
  end
end


do  -- Every runtime absent, one core: only luagil runs, every pair skipped
  local env = {}
  for _, v in ipairs{"PYTHON3", "PYTHON312", "PYTHON313", "PYTHON27",
                     "RUBY"} do
    env[#env + 1] = v .. "=" .. ABSENT
  end
  local status, out = lab(table.concat(env, " "), "--quick --pin")
  assert(status == 0, out)
  local matrix, model, notes = check_shape(out, "1 core %(taskset %-c 0%)")
  for _, name in ipairs{"python3", "python3.12", "python3.13", "python2.7",
                        "ruby"} do
    assert(notes:find("- " .. name .. ": " .. ABSENT .. " not found", 1,
                      true), name .. ":\n" .. out)
  end
  assert(#matrix.head == 1 + #POLICIES)
  for _, row in ipairs(model.rows) do   -- the runtime is named as absent
    local real = row[2]:match("^(%S+):")
    assert(row[4] == "–" and row[5]:match("^skipped: ")
           and row[5]:find("no " .. real, 1, true), out)
  end
  assert(out:match("of cpu0"), out)
end


do  -- A bad argument fails with a clear message, before anything runs
  local cmd = ("%s %s --fast 2>&1"):format(testlib.luagil, LAB)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  assert(not p:close())
  assert(out:find("unknown argument '--fast'", 1, true), out)
  assert(not out:find("fidelity: run"), out)
end

print("OK")
