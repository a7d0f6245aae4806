# scripts/lab/fidelity/switches.rb -- the switch-rate workload of the
# fidelity lab for Ruby MRI; see switches.lua. MRI does not count its GVL
# switches, so only the proxy is printed: how often the running thread
# changed, as the two spinning threads see it.
# Usage: ruby switches.rb [DUR]   (default 1.0 s)
DUR = (ARGV[0] || "1.0").to_f
$stop = false
$owner = 0
def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

def worker(me)
  x = n = 0
  until $stop
    if $owner != me
      $owner = me
      n += 1
    end
    x += 1
  end
  n
end

t0 = now
ts = [1, 2].map { |k| Thread.new { worker(k) } }
sleep DUR
$stop = true
n = ts.sum(&:value)
dt = now - t0
puts format("switches seen_per_s=%.0f", n / dt)
