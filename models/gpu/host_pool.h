#pragma once
// Persistent host threads for simulating the SMs of a quantum in parallel
// (sim.host_threads > 1). Starting OS threads every quantum cost tens of
// microseconds per quantum; these wait on a condition variable in between.
// Work items are claimed in index order from a shared counter, so uneven SMs
// balance; the SMs of a quantum do not interact, so the claim order does not
// change any result.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace xpu::gpu {

class HostPool {
 public:
  explicit HostPool(unsigned threads);  // the calling thread is one of them
  ~HostPool();
  HostPool(const HostPool&) = delete;
  HostPool& operator=(const HostPool&) = delete;
  unsigned threads() const { return static_cast<unsigned>(workers_.size()) + 1; }
  // Runs f(0) .. f(n - 1) and returns when all are done; rethrows the
  // exception of the lowest failing index.
  void run(size_t n, const std::function<void(size_t)>& f);

 private:
  void worker();
  void drain();

  std::mutex m_;
  std::condition_variable go_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(size_t)>* job_ = nullptr;
  size_t n_ = 0;
  std::atomic<size_t> next_{0};
  unsigned active_ = 0;  // workers not yet finished with the current job
  uint64_t epoch_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  size_t error_index_ = 0;
};

}  // namespace xpu::gpu
