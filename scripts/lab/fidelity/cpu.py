# scripts/lab/fidelity/cpu.py -- the CPU-bound workload of the fidelity
# lab for CPython 2.7 and 3.x alike; see cpu.lua.
# Usage: python cpu.py [N]   (default 2,000,000)
import sys, threading, time

clock = getattr(time, "perf_counter", time.time)
try:
    irange = xrange            # 2.7: range() would build a list
except NameError:
    irange = range
N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000000
ROUNDS = 3


def work(lo, hi, out, k):
    s = 0.0
    for i in irange(lo, hi):
        s += float(i) ** 0.3
    out[k] = s


def run(t):
    out = [0.0] * t
    step = N // t
    threads = [threading.Thread(target=work,
                                args=(k * step, (k + 1) * step, out, k))
               for k in range(t)]
    t0 = clock()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return clock() - t0


best = {}
for _ in range(ROUNDS):
    for t in (1, 2, 4):
        dt = run(t)
        best[t] = min(best.get(t, dt), dt)
print("cpu t1_s=%.3f slowdown_t2=%.3f slowdown_t4=%.3f"
      % (best[1], best[2] / best[1], best[4] / best[1]))
