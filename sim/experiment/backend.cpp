#include "sim/experiment/backend.h"

#include "sim/config/document.h"
#include "sim/experiment/machine_registry.h"
#include "sim/lowering/lowering_error.h"

namespace xpu::experiment {

void require_plain_gemm(const workload::Layer& layer, const std::string& machine) {
  if (layer.gemm_form == workload::GemmForm::gemm && layer.gemm_count == 1 && !layer.attrs.trans_a &&
      !layer.attrs.trans_b)
    return;
  throw lowering::LoweringError("layer '" + layer.name + "' (" + workload::op_name(layer.op) + "): the " + machine +
                                " backend runs plain GEMM layers only so far");
}

std::unique_ptr<Backend> make_backend(const std::string& config_file, const std::vector<std::string>& overrides,
                                      const energy::EnergyTable& table, const std::string& instance) {
  return machine_kind_of(config::Document::load(config_file)).make_backend(config_file, overrides, table, instance);
}

}  // namespace xpu::experiment
