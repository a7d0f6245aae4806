# bench: python>=3.13
# interp_create, luagil's scripts/bench/interp_create.lua for CPython 3.13: 300
# times, create an isolated subinterpreter (_interpreters.create(), the private
# module under PEP 734's interpreters), exec a trivial function there and
# destroy it; microseconds per interpreter for each step and in all (total_us).
import sys
if not sys.flags.safe_path:
    del sys.path[0]
import _interpreters, time

N = 300

def trivial():
    return 1

if __name__ == "__main__":
    create = call = close = 0.0
    for _ in range(N):
        t0 = time.perf_counter()
        ip = _interpreters.create()
        t1 = time.perf_counter()
        exc = _interpreters.exec(ip, trivial)
        t2 = time.perf_counter()
        if exc is not None:
            raise RuntimeError(exc.formatted)
        _interpreters.destroy(ip)
        t3 = time.perf_counter()
        create, call, close = create + (t1 - t0), call + (t2 - t1), close + (t3 - t2)
    us = 1e6 / N
    print(f"interp_create total_us={(create + call + close) * us:.1f} us "
          f"create_us={create * us:.1f} call_us={call * us:.1f} "
          f"close_us={close * us:.1f} n={N}")
