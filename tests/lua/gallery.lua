-- tests/lua/gallery.lua -- runs every tutorial example in scripts/examples
-- and checks an invariant of its output: counts, orderings that joins and
-- barriers guarantee, exact locked counters, limits never exceeded.
print("testing gallery")

local LUAGIL = os.getenv("LUAGIL") or arg[-1]
local DIR = os.getenv("EXAMPLES") or "../../scripts/examples"

local function lines (s)
  local t = {}
  for l in s:gmatch("[^\n]*") do if l ~= "" then t[#t + 1] = l end end
  return t
end

local function count (s, pat)
  local n = 0
  for _ in s:gmatch(pat) do n = n + 1 end
  return n
end

local function has (out, line)
  for _, l in ipairs(lines(out)) do if l == line then return true end end
  return false
end

-- The first position of a plain string in 'out' (error if missing).
local function at (out, s, init)
  local i = out:find(s, init or 1, true)
  assert(i, "missing: " .. s)
  return i
end

local function lastat (out, s)
  local i, j = nil, 0
  repeat
    local k = out:find(s, j + 1, true)
    if k then i, j = k, k end
  until not k
  assert(i, "missing: " .. s)
  return i
end

local function lottery (out)
  local n = 0
  for l in out:gmatch("%[([%d, ]+)%]") do
    local prev, k = 0, 0
    for v in l:gmatch("%d+") do
      v = tonumber(v)
      assert(v > prev and v <= 50, l)
      prev, k = v, k + 1
    end
    assert(k == 6, l)
    n = n + 1
  end
  assert(n == 100, n)
end

-- Not interleaved: every 'a' comes before every 'b' or after it.
local function serial (s, a, b)
  local la, fb = s:find(a .. "[^" .. a .. "]*$"), s:find(b, 1, true)
  local lb, fa = s:find(b .. "[^" .. b .. "]*$"), s:find(a, 1, true)
  assert(la < fb or lb < fa, a .. " and " .. b .. " interleaved: " .. s)
end

local checks = {}

checks.thread_workers = function (out)
  for i = 0, 4 do
    assert(count(out, "thread worker nr%. " .. i .. "\n") == 1)
  end
end

checks.thread_echo = function (out)
  assert(out == "doing some work in thread\necho: text\ndone\n", out)
end

checks.thread_names = function (out)
  for _, l in ipairs{"wait_3\tstarting...", "wait_2\tstarting...",
                     "Thread-1\tstarting...", "wait_3\texiting...",
                     "wait_2\texiting...", "Thread-1\texiting...",
                     "Main thread name:\tMainThread"} do
    assert(has(out, l), l)
  end
  assert(at(out, "\nt1\n") < at(out, "\nt2\n"))  -- joined in turn
end

checks.logging_threadname = function (out)
  for _, n in ipairs{"wait 3", "wait 2", "Thread-1"} do
    assert(has(out, "[DEBUG] " .. n .. " starting..."))
    assert(at(out, "] " .. n .. " starting") < at(out, "] " .. n .. " exiting"))
  end
end

checks.daemon = function (out)
  assert(has(out, "non daemon exiting..."))
  assert(not has(out, "daemon exiting..."), out)  -- never reached
end

checks.daemon_join = function (out)
  assert(has(out, "daemon exiting...") and has(out, "non daemon exiting..."))
end

checks.join_timeout = function (out)
  assert(has(out, "d.isAlive() value: \ttrue"), out)
  assert(not has(out, "daemon exiting..."))
end

checks.enumerate_join = function (out)
  assert(count(out, "Thread%-%d exiting\n") == 3)
  for i = 1, 3 do assert(has(out, "MainThread joining Thread-" .. i)) end
end

checks.subclass_thread = function (out)
  for i = 0, 2 do
    assert(has(out, ("Thread-%d running with args: {%d} and kwargs: "
                     .. "{a=1, b=2}"):format(i + 1, i)), out)
  end
end

checks.subclass_delay = function (out)
  local ls = lines(out)
  assert(#ls == 10, out)
  for _, l in ipairs(ls) do
    assert(l:match("^thd%-%d %d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d,%d%d%d "), l)
  end
  assert(count(out, "iteration: ") == 6)
end

checks.fibonacci_thread = function (out)
  assert(has(out, "34") and has(out, "144"))
end

checks.counter_lock = function (out)
  assert(has(out, "final counter: 4"), out)
  assert(count(out, "counter: %d") == 5)
end

checks.semaphore_pool = function (out)
  assert(count(out, "running: ") == 10)
  for list in out:gmatch("running: (%b[])") do
    assert(count(list, "'") <= 4, "more than 2 active: " .. list)
  end
end

checks.event_wait = function (out)
  assert(count(out, "event is true") == 2)
  assert(count(out, "0.2s timeout") >= 1)
  assert(at(out, "now setting event") < at(out, "event is true"))
end

checks.event_three_waiters = function (out)
  assert(count(out, "waiting for event") == 3)
  assert(count(out, "proceeding after event") == 3)
  assert(at(out, "main setting event flag") < at(out, "proceeding"))
end

checks.bank_interference = function (out)
  local b = tonumber(out:match("balance: (%-?%d+)"))
  assert(b == 50 or b == 100 or b == -50, out)
end

checks.rlock = function (out)
  assert(has(out, "Lock: second acquire succeeds?\tfalse"))
  assert(has(out, "RLock: second acquire succeeds?\ttrue"))
end

checks.bounded_semaphore = function (out)
  local held, peak = 0, 0
  for _, l in ipairs(lines(out)) do
    if l:find("claimed semaphore") then held = held + 1 end
    if l:find("released semaphore") then held = held - 1 end
    if held > peak then peak = held end
  end
  assert(peak <= 3 and count(out, "claimed") == 7, out)
  assert(out:find("Semaphore released too many times", 1, true))
end

checks.condition_broken = function (out)
  at(out, "Nothing in buffer, but consumer will try to consume")
  at(out, "pop from empty list")
end

checks.condition_fixed = function (out)
  assert(has(out, "10 produced, 10 consumed, in the same order"), out)
end

checks.condition_notify_all = function (out)
  assert(count(out, "has obtained the data") == 3)
  assert(at(out, "notifying all consumers") < at(out, "has obtained"))
end

checks.queue_producer_consumer = function (out)
  assert(count(out, "got\titem%-") == 10)
  assert(lines(out)[#lines(out)] == "all 10 items processed")
end

checks.lottery_threads = function (out)
  lottery(out)
  assert(out:find("\n100\ndone.\n$"))
end

checks.pool_lottery = function (out)
  lottery(out)
  assert(out:find("\nDone.\n$"))
end

checks.race_counter = function (out)
  local got, expected = out:match("^(%d+)\nexpected (%d+)")
  assert(tonumber(got) <= tonumber(expected), out)
end

checks.race_counter_lock = function (out)
  local got, expected = out:match("^(%d+)\nexpected (%d+)")
  assert(got == expected, out)
end

checks.account = function (out)
  assert(has(out, "balance of DE00 1234: 40100.00 (expected 40100.00)"), out)
  assert(out:find("InsufficientBalance: negative balance.", 1, true))
end

checks.semaphore_items = function (out)
  assert(count(out, "Processing item %d+") == 10)
  local secs = tonumber(out:match("10 items in ([%d.]+) s"))
  assert(secs >= 0.55, out)  -- at most 4 at a time: three rounds of 0.2 s
end

checks.barrier_two = function (out)
  assert(lastat(out, "reached the barrier") < at(out, "Worker finished"))
  assert(count(out, "Worker finished") == 2)
end

checks.barrier_server = function (out)
  assert(lastat(out, "waiting to connect") < at(out, "has connected"))
  assert(count(out, "client%d has connected") == 4)
  assert(out:find("server ready to accept connections", 1, true))
  assert(out:find("end of program\n$"))
end

checks.timer = function (out)
  assert(out == "timer started\nhello, world\n", out)
end

checks.one_lock = function (out)
  local digits = lines(out)[1]
  assert(#digits == 196, digits)
  for i = 0, 3 do
    local run = digits:sub(49 * i + 1, 49 * i + 49)
    assert(run == run:sub(1, 1):rep(49), digits)
  end
end

checks.two_locks = function (out)
  local digits = lines(out)[1]
  assert(#digits == 196)
  serial(digits, "1", "3")
  serial(digits, "2", "4")
end

checks.start_new_thread = function (out)
  assert(count(out, "thread%-1: ") == 5 and count(out, "thread%-2: ") == 5)
end

checks.three_counters = function (out)
  assert(has(out, "M.count2: 900000"), out)
  local c1, most = out:match("M.count1: (%d+) %(at most (%d+)%)")
  assert(tonumber(c1) <= tonumber(most))
end

checks.interleaved_output = function (out)
  for d = 1, 3 do assert(count(out, tostring(d)) == 147, out) end
  assert(out:find("End of main\n$"))
end

checks.square_cube = function (out)
  assert(has(out, "square of a number\t100"))
  assert(has(out, "cube of a number\t1000"))
  assert(out:find("Done!\n$"))
end

checks.logging_print_time = function (out)
  assert(count(out, "Thread%-1: is running") == 3)
  assert(count(out, "Thread%-2: is running") == 3)
  assert(out:find("done%.\n$"))
end

-- Every check has its example; an example without a check here (one not
-- from the tutorials) is only smoke-tested, as example.<name>.
local names = {}
local p = io.popen(('ls "%s"'):format(DIR))
for f in p:lines() do
  local name = f:match("^(.*)%.lua$")
  if name then names[#names + 1] = name end
end
p:close()
assert(#names > 0, "no examples in " .. DIR)
local seen = {}
for _, name in ipairs(names) do
  local check = checks[name]
  if check == nil then goto continue end
  seen[name] = true
  local f = io.popen(('"%s" "%s/%s.lua" 2>&1'):format(LUAGIL, DIR, name))
  local out = f:read("a")
  local ok, how, code = f:close()
  assert(ok, ("example %s failed (%s %s):\n%s"):format(name, how, code, out))
  local cok, err = pcall(check, out)
  if not cok then
    error(("example %s: %s\n-- output:\n%s"):format(name, err, out), 0)
  end
  ::continue::
end
for name in pairs(checks) do
  assert(seen[name], "check without an example: " .. name)
end
print(("%d examples"):format(#names))
print("OK")
