#include "models/gpu/host_pool.h"

namespace xpu::gpu {

HostPool::HostPool(unsigned threads) {
  for (unsigned i = 1; i < threads; ++i) workers_.emplace_back([this] { worker(); });
}

HostPool::~HostPool() {
  {
    std::lock_guard<std::mutex> lock(m_);
    stop_ = true;
  }
  go_.notify_all();
  for (auto& t : workers_) t.join();
}

void HostPool::run(size_t n, const std::function<void(size_t)>& f) {
  {
    std::lock_guard<std::mutex> lock(m_);
    job_ = &f;
    n_ = n;
    next_.store(0, std::memory_order_relaxed);
    active_ = static_cast<unsigned>(workers_.size());
    error_ = nullptr;
    ++epoch_;
  }
  go_.notify_all();
  drain();
  std::exception_ptr e;
  {
    std::unique_lock<std::mutex> lock(m_);
    done_.wait(lock, [this] { return active_ == 0; });
    job_ = nullptr;
    e = error_;
    error_ = nullptr;
  }
  if (e) std::rethrow_exception(e);
}

void HostPool::drain() {
  for (;;) {
    const size_t i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= n_) return;
    try {
      (*job_)(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(m_);
      if (!error_ || i < error_index_) {
        error_ = std::current_exception();
        error_index_ = i;
      }
    }
  }
}

void HostPool::worker() {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(m_);
      go_.wait(lock, [&] { return stop_ || epoch_ != seen; });
      if (stop_) return;
      seen = epoch_;
    }
    drain();
    std::lock_guard<std::mutex> lock(m_);
    if (--active_ == 0) done_.notify_one();
  }
}

}  // namespace xpu::gpu
