#include "models/gpu/gpu_energy.h"

namespace xpu::gpu {

std::vector<energy::EnergyTerm> gpu_energy_terms(const GpuConfig& cfg, const energy::EnergyTable& t) {
  using energy::EnergyTerm;
  std::vector<EnergyTerm> v;
  const double rf_read = t.register_file_pj(32, false), rf_write = t.register_file_pj(32, true);
  v.push_back({"gpu.sm.rf", "gpu.sm.rf.reads", "rf_read", rf_read});
  v.push_back({"gpu.sm.rf", "gpu.sm.rf.writes", "rf_write", rf_write});
  v.push_back({"gpu.sm.tensor", "gpu.sm.tensor.mac.fp16", "mac", energy::mac_pj(t, "fp16", "fp32")});
  v.push_back({"gpu.sm.tensor", "gpu.sm.tensor.mac.fp16_acc16", "mac", t.op_pj("fp16_mult") + t.op_pj("fp16_add")});
  v.push_back({"gpu.sm.tensor", "gpu.sm.tensor.mac.bf16", "mac", energy::mac_pj(t, "bf16", "fp32")});
  v.push_back({"gpu.sm.tensor", "gpu.sm.tensor.mac.int8", "mac", energy::mac_pj(t, "int8", "int32")});
  v.push_back({"gpu.sm.fp32", "gpu.sm.fp32.adds", "alu", t.op_pj("fp32_add")});
  v.push_back({"gpu.sm.fp32", "gpu.sm.fp32.mults", "alu", t.op_pj("fp32_mult")});
  const uint64_t unified = cfg.shared.unified_bytes;
  v.push_back({"gpu.sm.shmem", "gpu.sm.shmem.read_bytes", "sram_read",
               energy::sram_bytes_pj(t, unified, cfg.shared.bank_bytes * 8, false)});
  v.push_back({"gpu.sm.shmem", "gpu.sm.shmem.write_bytes", "sram_write",
               energy::sram_bytes_pj(t, unified, cfg.shared.bank_bytes * 8, true)});
  v.push_back({"gpu.sm.l1", "gpu.sm.l1.read_bytes", "sram_read", energy::sram_bytes_pj(t, unified, 64, false)});
  const uint64_t slice = cfg.l2.capacity_bytes / cfg.l2.slices;
  v.push_back({"gpu.l2", "gpu.l2.read_bytes", "sram_read", energy::sram_bytes_pj(t, slice, 64, false)});
  v.push_back({"gpu.l2", "gpu.l2.write_bytes", "sram_write", energy::sram_bytes_pj(t, slice, 64, true)});
  v.push_back({"gpu.dram", "gpu.dram.read_bytes", "dram", energy::dram_bytes_pj(t)});
  v.push_back({"gpu.dram", "gpu.dram.write_bytes", "dram", energy::dram_bytes_pj(t)});
  if (cfg.tensor_core.sparse_2_4)  // the products mma.sp does (the pruned half is skipped)
    v.push_back({"gpu.sm.tensor", "gpu.sm.tensor.mac.sparse16", "mac", energy::mac_pj(t, "fp16", "fp32")});
  if (cfg.tensor_core.sparse_2_4)
    v.push_back({"gpu.sm.tensor", "gpu.sm.tensor.mac.sparse8", "mac", energy::mac_pj(t, "int8", "int32")});
  if (cfg.tensor_core.tf32)  // tf32 products are 11 x 11 bits like fp16's; fp32 accumulation
    v.push_back({"gpu.sm.tensor", "gpu.sm.tensor.mac.tf32", "mac", energy::mac_pj(t, "fp16", "fp32")});
  return v;
}

}  // namespace xpu::gpu
