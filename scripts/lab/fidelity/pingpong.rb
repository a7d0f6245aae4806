# scripts/lab/fidelity/pingpong.rb -- the pingpong workload of the
# fidelity lab for Ruby MRI; see pingpong.lua. Ruby's core has no
# Semaphore: two Thread::Queue objects play them (push releases, pop
# acquires), as the shared anchors' ruby/pingpong.rb does.
# Usage: ruby pingpong.rb [N]   (default 20,000)
N = (ARGV[0] || "20000").to_i
q1 = Queue.new
q2 = Queue.new
def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

b = Thread.new do
  N.times do
    q1.pop
    q2.push(:token)
  end
end
t0 = now
N.times do            # thread A, the main thread
  q1.push(:token)
  q2.pop
end
dt = now - t0
b.join
puts format("pingpong rt_per_s=%.0f", N / dt)
