#include "sim/experiment/tpu_prelowered.h"

#include <algorithm>
#include <deque>
#include <map>
#include <sstream>

namespace xpu::experiment {

namespace {

// Programs of this many configs (lowering keys) are kept, the most recently
// lowered: a driver forks the points group by group, so older programs are
// no longer needed, and dropping them keeps each fork cheap (its page
// tables) and the driver's memory bounded.
constexpr size_t kMaxConfigs = 2;

struct Store {
  std::map<std::string, std::map<std::string, std::shared_ptr<const lowering::NetworkPlan>>> by_config;
  std::deque<std::string> order;  // config keys, least recently lowered first
};

Store& store() {
  static Store s;
  return s;
}

std::string workload_key(const workload::Workload& w, DType dtype) {
  std::ostringstream k;
  k << w.source_file << '\n' << w.name << '\n' << w.layers.size() << '\n' << w.tensors.size() << '\n'
    << dtype_name(dtype);
  return k.str();
}

std::string plan_key(const workload::Workload& w, DType dtype, bool standalone, bool resident) {
  return workload_key(w, dtype) + '\n' + (standalone ? (resident ? "gemms resident" : "gemms host") : "network");
}

// The plans kept for one config, made the most recent.
std::map<std::string, std::shared_ptr<const lowering::NetworkPlan>>& plans_of(const std::string& config_key) {
  Store& s = store();
  auto it = std::find(s.order.begin(), s.order.end(), config_key);
  if (it != s.order.end()) s.order.erase(it);
  s.order.push_back(config_key);
  while (s.order.size() > kMaxConfigs) {
    s.by_config.erase(s.order.front());
    s.order.pop_front();
  }
  return s.by_config[config_key];
}

}  // namespace

std::string tpu_lowering_key(const tpu::TpuConfig& c) {
  std::ostringstream k;
  const auto& m = c.mxu;
  k << "tpu " << c.name << "\nmxu " << m.rows << ' ' << m.cols << ' ' << tpu::dataflow_name(m.dataflow) << ' '
    << m.step_int8 << ' ' << m.step_bf16 << ' ' << m.step_fp16 << ' ' << m.supports_int8 << m.supports_bf16
    << m.supports_fp16 << ' ' << m.weight_load_cycles << ' ' << m.double_buffer_weights << ' ' << m.fold_overlap << "\nacc "
    << c.accumulators.entries << ' ' << c.accumulators.double_buffered << "\nub " << c.unified_buffer.capacity_bytes
    << "\nact " << c.activation.elements_per_cycle
    // Standalone GEMMs stream A where the DMA engines reach HBM (lowering/tpu/gemm.h, prefer_streamed).
    << "\nhost " << (c.host.path == tpu::HostPath::dram ? "dram" : "pcie");
  return k.str();
}

void prelower_tpu(const tpu::TpuConfig& cfg, const std::vector<workload::Workload>& workloads,
                  const std::vector<DType>& precisions, bool resident) {
  auto& plans = plans_of(tpu_lowering_key(cfg));
  for (const auto& w : workloads)
    for (DType t : precisions) {
      const bool standalone = lowering::standalone_gemms(w);
      auto& slot = plans[plan_key(w, t, standalone, resident)];
      if (slot) continue;
      lowering::NetworkOptions lo;  // as a timing run lowers: no values
      lo.dtype = t;
      lo.values = false;
      slot = std::make_shared<const lowering::NetworkPlan>(
          standalone ? lowering::lower_standalone_gemms(cfg, w, t, resident, nullptr)
                     : lowering::lower_network(cfg, w, lo));
    }
}

std::shared_ptr<const lowering::NetworkPlan> prelowered_plan(const tpu::TpuConfig& cfg, const workload::Workload& w,
                                                             DType dtype, bool standalone, bool resident) {
  const auto& by_config = store().by_config;
  const auto c = by_config.find(tpu_lowering_key(cfg));
  if (c == by_config.end()) return nullptr;
  const auto p = c->second.find(plan_key(w, dtype, standalone, resident));
  return p == c->second.end() ? nullptr : p->second;
}

bool prelowered(const tpu::TpuConfig& cfg, const workload::Workload& w, DType dtype) {
  for (bool standalone : {false, true})
    for (bool resident : {false, true})
      if (prelowered_plan(cfg, w, dtype, standalone, resident)) return true;
  return false;
}

}  // namespace xpu::experiment
