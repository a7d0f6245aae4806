# scripts/lab/fidelity/cpu.rb -- the CPU-bound workload of the fidelity
# lab for Ruby MRI; see cpu.lua.
# Usage: ruby cpu.rb [N]   (default 2,000,000)
N = (ARGV[0] || "2000000").to_i
ROUNDS = 3
def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

def work(lo, hi)
  s = 0.0
  i = lo
  while i < hi
    s += i.to_f ** 0.3
    i += 1
  end
  s
end

def run(t)
  step = N / t
  t0 = now
  (0...t).map { |k| Thread.new { work(k * step, (k + 1) * step) } }
         .each(&:join)
  now - t0
end

best = {}
ROUNDS.times do
  [1, 2, 4].each do |t|
    dt = run(t)
    best[t] = [best[t] || dt, dt].min
  end
end
puts format("cpu t1_s=%.3f slowdown_t2=%.3f slowdown_t4=%.3f",
            best[1], best[2] / best[1], best[4] / best[1])
