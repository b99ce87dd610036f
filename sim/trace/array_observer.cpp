#include "sim/trace/array_observer.h"

#include <algorithm>
#include <limits>

#include "sim/trace/array_hook.h"

namespace xpu::trace {

namespace {

VcdWriter* g_vcd = nullptr;

class ObservedEngine : public tpu::ArrayEngine {
 public:
  ObservedEngine(std::unique_ptr<tpu::ArrayEngine> inner, tpu::ArrayShape shape)
      : inner_(std::move(inner)), shape_(shape) {}

  void latch_standby(const tpu::WeightTile& tile, uint64_t when) override { inner_->latch_standby(tile, when); }
  void submit(const tpu::Pass& p) override { inner_->submit(p); }

  std::vector<tpu::Completion> advance_to(uint64_t now) override {
    VcdWriter* vcd = g_vcd;
    if (!vcd || vcd->rows() != shape_.rows || vcd->cols() != shape_.cols) {
      last_ = std::max(last_, now);
      return inner_->advance_to(now);
    }
    std::vector<tpu::Completion> out;
    for (;;) {
      const uint64_t ne = inner_->next_event();
      const bool stepping = ne != std::numeric_limits<uint64_t>::max() && ne <= now;
      const uint64_t t = stepping ? std::min(now, std::max(ne, last_ + 1)) : now;
      auto c = inner_->advance_to(t);
      out.insert(out.end(), c.begin(), c.end());
      last_ = t;
      vcd->sample(t, inner_->registers());
      if (!stepping || t >= now) break;
    }
    return out;
  }

  uint64_t next_event() const override { return inner_->next_event(); }
  uint64_t pe_updates() const override { return inner_->pe_updates(); }
  tpu::PeRegisterView registers() const override { return inner_->registers(); }

 private:
  std::unique_ptr<tpu::ArrayEngine> inner_;
  tpu::ArrayShape shape_;
  uint64_t last_ = 0;
};

std::unique_ptr<tpu::ArrayEngine> wrap(std::unique_ptr<tpu::ArrayEngine> e, tpu::ArrayShape shape) {
  return std::make_unique<ObservedEngine>(std::move(e), shape);
}

}  // namespace

void install_array_observer() { g_array_hook = &wrap; }
void remove_array_observer() { g_array_hook = nullptr; }
void set_current_vcd(VcdWriter* vcd) { g_vcd = vcd; }
VcdWriter* current_vcd() { return g_vcd; }

}  // namespace xpu::trace
