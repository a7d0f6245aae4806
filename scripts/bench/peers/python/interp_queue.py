# interp_queue, luagil's scripts/bench/interp_queue.lua for CPython: one
# process puts 200,000 ints into multiprocessing.Queue(maxsize=1000), another
# process gets them all; timed from when the consumer is ready until its sum
# comes back (CPython 3.11 has no queue shared by interpreters: the issue
# compares with multiprocessing's, between two processes).
import sys
if not sys.flags.safe_path:
    del sys.path[0]
import multiprocessing as mp, time

N = 200_000

def consumer(q, back, n):
    back.put("ready")
    s = 0
    for _ in range(n):
        s += q.get()
    back.put(s)

if __name__ == "__main__":
    q, back = mp.Queue(maxsize=1000), mp.Queue()
    p = mp.Process(target=consumer, args=(q, back, N))
    p.start()
    assert back.get() == "ready"
    t0 = time.perf_counter()
    for i in range(N):
        q.put(i)
    total = back.get()
    dt = time.perf_counter() - t0
    p.join()
    assert total == N * (N - 1) // 2
    print(f"interp_queue items_per_s={N / dt:.0f} items/s n={N} total_s={dt:.3f}")
