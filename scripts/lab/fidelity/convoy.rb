# scripts/lab/fidelity/convoy.rb -- the convoy workload of the fidelity
# lab for Ruby MRI; see convoy.lua. 1-byte syswrite/sysread round trips
# on a UNIX socketpair.
# Usage: ruby convoy.rb [DUR]   (default 1.0 s per phase)
require "socket"
DUR = (ARGV[0] || "1.0").to_f
$stop = false
def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

def echo(sock)
  loop { sock.syswrite(sock.sysread(1)) }
rescue EOFError, IOError
end

def client(sock)
  n = 0
  t0 = now
  stop_at = t0 + DUR
  while now < stop_at
    sock.syswrite("x")
    sock.sysread(1)
    n += 1
  end
  n / (now - t0)
end

def spinner
  x = 0
  x += 1 until $stop  # pure-interpreter loop
  x
end

def phase(with_io, with_cpu)
  $stop = false
  a, b = UNIXSocket.pair
  t0 = now
  cpu = Thread.new { spinner } if with_cpu
  rt = nil
  if with_io
    e = Thread.new { echo(b) }
    rt = Thread.new { client(a) }.value
  else
    sleep DUR
  end
  $stop = true
  spins = cpu&.value
  dt = now - t0
  a.close                 # the echo thread sees EOF and exits
  e&.join
  b.close
  [rt, spins && spins / dt]
end

rt_alone, = phase(true, false)
_, cpu_alone = phase(false, true)
rt_cpu, cpu_io = phase(true, true)
puts format("convoy rt_alone=%.0f rt_with_cpu=%.1f cpu_share=%.3f",
            rt_alone, rt_cpu, cpu_io / cpu_alone)
