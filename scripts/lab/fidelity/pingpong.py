# scripts/lab/fidelity/pingpong.py -- the pingpong workload of the
# fidelity lab for CPython 2.7 and 3.x alike; see pingpong.lua.
# Usage: python pingpong.py [N]   (default 20,000)
import sys, threading, time

clock = getattr(time, "perf_counter", time.time)
N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
s1, s2 = threading.Semaphore(0), threading.Semaphore(0)


def b():
    for _ in range(N):
        s1.acquire()
        s2.release()


tb = threading.Thread(target=b)
tb.start()
t0 = clock()
for _ in range(N):               # thread A, the main thread
    s1.release()
    s2.acquire()
dt = clock() - t0
tb.join()
print("pingpong rt_per_s=%.0f" % (N / dt))
