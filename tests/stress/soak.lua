-- tests/stress/soak.lua -- the soak: 8 threads through Lock, Condition,
-- Queue, Event and BoundedSemaphore for SECONDS, the switch interval
-- changed at random (1 us to 10 ms) all along, with invariants checked:
-- no item lost or duplicated through the Queue or the Condition's buffer,
-- exact counts under the Lock, the semaphore never over its bound. RSS is
-- sampled every few seconds; after warm-up it must not grow.
-- Usage: luagil tests/stress/soak.lua [SECONDS [SEED]]   (default 10)
-- Run by scripts/stress --soak SECONDS. Fails with an error.
local threading = require "threading"
local queue = require "queue"
local time = require "time"
local gil = require "gil"

local SECONDS = tonumber(arg and arg[1]) or 10
local SEED = tonumber(arg and arg[2]) or os.time()
local NPROD, NCONS = 4, 4
local BOUND = 3              -- the semaphore's
local CBUF = 16              -- the Condition's buffer size
local SAMPLE = SECONDS >= 60 and 5 or 1   -- seconds between RSS samples
math.randomseed(SEED)
print(("soak: %d s, %d producers, %d consumers, seed %d"):format(
  SECONDS, NPROD, NCONS, SEED))

local lock = threading.Lock()
local counter = 0                       -- lock
local sem = threading.BoundedSemaphore(BOUND)
local semlock = threading.Lock()
local inside, most_inside = 0, 0        -- semlock
local go = threading.Event()            -- cleared now and then: a pause
local stop = false
local q = queue.Queue(32)
local cond = threading.Condition(threading.Lock())
local cbuf, chead, ctail = {}, 1, 1     -- cond: FIFO of at most CBUF items
local STOP = -1                         -- the end of a channel
go:set()


-- What each consumer took from each channel, folded into totals: count,
-- sum and sum of squares of the item numbers (no set of every item: that
-- would grow). Producers fold what they put the same way.
local function newtotals () return {n = 0, sum = 0, sq = 0} end
local function fold (t, item)
  t.n = t.n + 1
  t.sum = t.sum + item
  t.sq = t.sq + item * item % 1000000007
end
local put = {q = newtotals(), c = newtotals()}
local got = {q = newtotals(), c = newtotals()}


-- The parts of one round of every thread.
local function locked_count ()
  lock:acquire()
  counter = counter + 1
  lock:release()
end


local function in_semaphore ()
  sem:acquire()
  semlock:acquire()
  inside = inside + 1
  if inside > most_inside then most_inside = inside end
  local over = inside > BOUND
  semlock:release()
  assert(not over, "semaphore over its bound")
  if math.random(8) == 1 then time.sleep(0) end
  semlock:acquire()
  inside = inside - 1
  semlock:release()
  sem:release()
end


local function cput (item)
  cond:acquire()
  while ctail - chead >= CBUF do cond:wait(1) end
  cbuf[ctail] = item
  ctail = ctail + 1
  cond:notify_all()
  cond:release()
end


local function cget ()
  cond:acquire()
  while ctail == chead do cond:wait(1) end
  local item = cbuf[chead]
  cbuf[chead] = nil
  chead = chead + 1
  cond:notify_all()
  cond:release()
  return item
end


local function qget ()
  while true do
    local ok, item = pcall(q.get, q, true, 1)
    if ok then return item end
    assert(queue.Empty:is(item), tostring(item))
  end
end


local function producer (id)
  local rounds, seq = 0, 0
  local mine = {q = newtotals(), c = newtotals()}
  while not stop do
    go:wait()
    locked_count()
    in_semaphore()
    seq = seq + 1
    local item = id * 1000000000 + seq  -- unique, rising per producer
    q:put(item)
    fold(mine.q, item)
    cput(item)
    fold(mine.c, item)
    rounds = rounds + 1
  end
  return rounds, mine
end


local function consumer ()
  local rounds = 0
  local mine = {q = newtotals(), c = newtotals()}
  local last = {q = {}, c = {}}  -- per producer: the last item seen
  local qdone, cdone = false, false
  local function take (ch, item)
    local p = item // 1000000000
    assert(item > (last[ch][p] or 0),
           ("%s: item %d after %d: duplicated or out of order"):format(
             ch, item, last[ch][p] or 0))
    last[ch][p] = item
    fold(mine[ch], item)
  end
  while not (qdone and cdone) do
    go:wait()
    locked_count()
    in_semaphore()
    if not qdone then
      local item = qget()
      if item == STOP then qdone = true else take("q", item) end
    end
    if not cdone then
      local item = cget()
      if item == STOP then cdone = true else take("c", item) end
    end
    rounds = rounds + 1
  end
  return rounds, mine
end


local function rss_kb ()
  for l in io.lines("/proc/self/status") do
    local kb = l:match("^VmRSS:%s*(%d+)")
    if kb then return tonumber(kb) end
  end
end


-- Least-squares slope of y over x.
local function slope (xs, ys)
  local n, sx, sy, sxx, sxy = #xs, 0, 0, 0, 0
  for i = 1, n do
    sx, sy = sx + xs[i], sy + ys[i]
    sxx, sxy = sxx + xs[i] * xs[i], sxy + xs[i] * ys[i]
  end
  local d = n * sxx - sx * sx
  return d ~= 0 and (n * sxy - sx * sy) / d or 0
end


local threads = {}
for i = 1, NPROD do
  threads[#threads + 1] = threading.Thread{name = "prod" .. i,
    target = producer, args = {i}, daemon = true}
end
for i = 1, NCONS do
  threads[#threads + 1] = threading.Thread{name = "cons" .. i,
    target = consumer, daemon = true}
end
-- Daemons, so that a failed check in the main chunk ends the run at once.
for _, t in ipairs(threads) do t:start() end

-- The controller: switch intervals, pauses, RSS samples.
local t0 = time.monotonic()
local next_sample, switches = t0, 0
local ts, rss, luakb = {}, {}, {}
while true do
  local now = time.monotonic()
  if now >= next_sample then
    ts[#ts + 1] = now - t0
    rss[#rss + 1] = rss_kb()
    luakb[#luakb + 1] = math.floor(collectgarbage("count"))
    print(("  t=%6.1f s  rss=%d KB  lua=%d KB  counter=%d"):format(
      ts[#ts], rss[#rss], luakb[#luakb], counter))
    next_sample = next_sample + SAMPLE
  end
  if now - t0 >= SECONDS then break end
  gil.setswitchinterval(10 ^ (-6 + 4 * math.random()))  -- 1 us .. 10 ms
  switches = switches + 1
  if math.random(10) == 1 then
    go:clear()
    time.sleep(0.001 * math.random(5))
    go:set()
  end
  time.sleep(0.01 * math.random(20))
end
gil.setswitchinterval(0.005)

-- Stop: producers first, then one end mark per consumer in each channel.
stop = true
go:set()
local rounds, cycles = 0, 0
local function finish (t)
  local alive = t:join(120) or t:is_alive()
  assert(not alive, t.name .. " did not finish: a hang")
  local r, mine = t:value()
  rounds = rounds + r
  return mine
end
for i = 1, NPROD do
  local mine = finish(threads[i])
  for _, ch in ipairs{"q", "c"} do
    put[ch].n = put[ch].n + mine[ch].n
    put[ch].sum = put[ch].sum + mine[ch].sum
    put[ch].sq = (put[ch].sq + mine[ch].sq)
  end
end
for _ = 1, NCONS do
  q:put(STOP)
  cput(STOP)
end
for i = NPROD + 1, NPROD + NCONS do
  local mine = finish(threads[i])
  for _, ch in ipairs{"q", "c"} do
    got[ch].n = got[ch].n + mine[ch].n
    got[ch].sum = got[ch].sum + mine[ch].sum
    got[ch].sq = (got[ch].sq + mine[ch].sq)
  end
end
cycles = rounds

for _, ch in ipairs{"q", "c"} do
  local name = ch == "q" and "Queue" or "Condition buffer"
  assert(put[ch].n == got[ch].n and put[ch].sum == got[ch].sum and
         put[ch].sq == got[ch].sq,
         ("%s: put %d items, got %d (sums %d/%d): lost or duplicated")
           :format(name, put[ch].n, got[ch].n, put[ch].sum, got[ch].sum))
end
assert(q:qsize() == 0 and ctail == chead, "items left over")
assert(counter == cycles, ("counter %d after %d locked increments")
                            :format(counter, cycles))
assert(inside == 0 and most_inside <= BOUND,
       ("semaphore: %d inside at most (bound %d)"):format(most_inside, BOUND))

-- RSS over the second half of the run.
local xs, ys = {}, {}
for i = 1, #ts do
  if ts[i] >= SECONDS / 2 then
    xs[#xs + 1] = ts[i] / 60
    ys[#ys + 1] = rss[i]
  end
end
local kbmin = slope(xs, ys)
local rise = #xs > 1 and kbmin * (xs[#xs] - xs[1]) or 0
print(("soak: %d rounds, %d items through each channel, %d interval " ..
       "changes, semaphore at most %d/%d"):format(cycles, put.q.n, switches,
       most_inside, BOUND))
print(("soak: RSS %d -> %d KB; second half slope %.1f KB/min (%d samples)")
        :format(rss[1], rss[#rss], kbmin, #xs))
-- Clearly growing: over 1 MB/min, and by more than sampling noise. Not
-- under ASan or TSan, whose allocators keep freed memory for a while (RSS
-- grows until their quarantine is full); LeakSanitizer checks at exit.
local f = io.open("/proc/self/maps")
local maps = f and f:read("a") or ""
if f then f:close() end
if maps:find("lib[at]san") then
  print("soak: RSS not checked (sanitizer build)")
else
  assert(not (kbmin > 1024 and rise > 4096),
         ("RSS grows %.1f KB/min over the second half"):format(kbmin))
end
print("soak OK")
