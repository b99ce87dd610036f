#pragma once
// Value-free TPU plans kept from a workload's check to its timing run, so a
// timing run lowers once (the check's lowering is the run's: at timing
// fidelity the lowering does no value work, NetworkOptions::values).
//
// A plan is found by the workload's structure (plan_key: every layer's op,
// operands, shapes and attributes, every tensor's shape, dtype and role: what
// a value-free lowering reads), not by its address, so a different workload
// at a reused address never finds another's plan. Each plan is taken once.
// A plan that would take the kept instructions over kMaxKeptInstructions is
// not kept unless nothing else is (its run would hold it anyway), so keeping
// costs little more host memory than the runs themselves.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "sim/lowering/tpu/network.h"
#include "sim/workload/workload.h"

namespace xpu::experiment {

std::string plan_key(const workload::Workload& w, DType dtype, bool standalone_resident);

class KeptPlans {
 public:
  // About 50 MB of instructions.
  static constexpr size_t kMaxKeptInstructions = size_t(1) << 18;
  void keep(std::string key, lowering::NetworkPlan plan);
  // The plan kept under `key`, removed from the store; nullopt if none.
  std::optional<lowering::NetworkPlan> take(const std::string& key);

 private:
  struct Entry {
    std::string key;
    lowering::NetworkPlan plan;
    size_t instructions = 0;
  };
  std::vector<Entry> entries_;
  size_t instructions_ = 0;
};

}  // namespace xpu::experiment
