# scripts/lab/fidelity/convoy.py -- the convoy workload of the fidelity
# lab for CPython 2.7 and 3.x alike (no f-strings); see convoy.lua.
# Usage: python convoy.py [DUR]   (default 1.0 s per phase)
import socket, sys, threading, time

clock = getattr(time, "perf_counter", time.time)   # 2.7 has no perf_counter
DUR = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
state = {"stop": False, "spins": 0}


def echo(sock):
    while True:
        b = sock.recv(1)
        if not b:
            return
        sock.sendall(b)


def client(sock, res):
    n = 0
    t0 = clock()
    end = t0 + DUR
    while clock() < end:
        sock.sendall(b"x")
        sock.recv(1)
        n += 1
    res.append(n / (clock() - t0))


def spinner():
    x = 0
    while not state["stop"]:      # pure-interpreter loop
        x += 1
    state["spins"] = x


def phase(with_io, with_cpu):
    state["stop"] = False
    res = []
    a, b = socket.socketpair()
    io = [threading.Thread(target=echo, args=(b,)),
          threading.Thread(target=client, args=(a, res))]
    cpu = threading.Thread(target=spinner)
    t0 = clock()
    if with_cpu:
        cpu.start()
    if with_io:
        for t in io:
            t.start()
        io[1].join()
    else:
        time.sleep(DUR)
    state["stop"] = True
    if with_cpu:
        cpu.join()
    dt = clock() - t0
    a.close()                     # the echo thread sees EOF and exits
    if with_io:
        io[0].join()
    b.close()
    return (res[0] if with_io else None,
            state["spins"] / dt if with_cpu else None)


rt_alone = phase(True, False)[0]
cpu_alone = phase(False, True)[1]
rt_cpu, cpu_io = phase(True, True)
print("convoy rt_alone=%.0f rt_with_cpu=%.1f cpu_share=%.3f"
      % (rt_alone, rt_cpu, cpu_io / cpu_alone))
