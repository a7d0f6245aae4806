# bench: python>=3.13
# interp_parallel, luagil's scripts/bench/interp_parallel.lua for CPython 3.13:
# the cpu sum (sum of float(i)**0.3, i < 8,000,000) in one isolated
# subinterpreter, then split over two, each run from a thread of its own; best
# of 5 interleaved passes, the interpreters made before the clock starts. An
# isolated interpreter (_interpreters.create(), the private module under PEP
# 734's interpreters) has its own GIL. speedup = time(1) / time(2).
import sys
if not sys.flags.safe_path:
    del sys.path[0]
import _interpreters, os, threading, time

N = 8_000_000
PASSES = 5

# Runs in the subinterpreter's __main__, with lo, hi and fd set there: the
# result comes back through a pipe (os.write is atomic for so short a line).
CODE = """
import os
s = 0.0
for i in range(lo, hi):
    s += float(i) ** 0.3
os.write(fd, (repr(s) + "\\n").encode())
"""

def run(ids):
    """Seconds for the sum split over interpreters 'ids', and the sum."""
    p = len(ids)
    r, w = os.pipe()
    errors = []
    def one(k):
        _interpreters.set___main___attrs(ids[k], {"lo": k * N // p,
                                                  "hi": (k + 1) * N // p, "fd": w})
        exc = _interpreters.exec(ids[k], CODE)
        if exc is not None:
            errors.append(exc.formatted)
    ts = [threading.Thread(target=one, args=(k,)) for k in range(p)]
    t0 = time.perf_counter()
    for t in ts: t.start()
    for t in ts: t.join()
    dt = time.perf_counter() - t0
    os.close(w)
    with os.fdopen(r) as f:
        total = sum(float(x) for x in f.read().split())
    if errors:
        raise RuntimeError("; ".join(errors))
    return dt, total

if __name__ == "__main__":
    a, b = _interpreters.create(), _interpreters.create()
    i1 = i2 = float("inf")
    for _ in range(PASSES):
        t, s = run([a])
        i1, total = min(i1, t), s
        t, s = run([a, b])
        i2 = min(i2, t)
        assert abs(s - total) < 1e-6 * total, "sums differ"
    _interpreters.destroy(a)
    _interpreters.destroy(b)
    print(f"interp_parallel speedup={i1 / i2:.3f} x i1_s={i1:.3f} i2_s={i2:.3f} "
          f"sum={total:.6e}")
