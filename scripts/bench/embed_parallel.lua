-- embed_parallel: a C host runs two interpreters from two host threads
-- (issue 14's embedding figure): the cpu sum (sum of i^0.3, 0 <= i <
-- 8,000,000) in one interpreter, then split over two, each installed by
-- its own host thread with luagil_newstate (embed_parallel.c says how).
-- cpu_over_wall is the process's CPU time over wall time of the two-thread
-- pass: about 2 when both interpreters ran at once on two free cores.
-- The host program is built beside the luagil program (target
-- bench_embed_parallel); the runner says where (LUAGIL_BIN_DIR).
-- goal: speedup >= 1.8
-- goal: cpu_over_wall >= 1.8
local dir = os.getenv("LUAGIL_BIN_DIR") or "build"
local prog = dir .. "/bench_embed_parallel"
local p = assert(io.popen(("'%s' 2>&1"):format(prog)))
local out = p:read("a")
local ok = p:close()
if not ok or not out:match("^embed_parallel ") then
  error(("%s failed (build the target bench_embed_parallel): %s")
        :format(prog, out))
end
io.write(out)
