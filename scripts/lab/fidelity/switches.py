# scripts/lab/fidelity/switches.py -- the switch-rate workload of the
# fidelity lab for CPython 2.7 and 3.x alike; see switches.lua. CPython
# does not count its GIL switches, so only the proxy is printed: how
# often the running thread changed, as the two spinning threads see it.
# Usage: python switches.py [DUR]   (default 1.0 s)
import sys, threading, time

clock = getattr(time, "perf_counter", time.time)
DUR = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
state = {"stop": False, "owner": 0}
seen = [0, 0, 0]


def worker(me):
    x = n = 0
    while not state["stop"]:
        if state["owner"] != me:
            state["owner"] = me
            n += 1
        x += 1
    seen[me] = n


ts = [threading.Thread(target=worker, args=(k,)) for k in (1, 2)]
t0 = clock()
for t in ts:
    t.start()
time.sleep(DUR)
state["stop"] = True
for t in ts:
    t.join()
dt = clock() - t0
print("switches seen_per_s=%.0f" % ((seen[1] + seen[2]) / dt))
