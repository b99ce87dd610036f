#include "models/tpu/tpu_energy.h"

#include <algorithm>

namespace xpu::tpu {

std::vector<energy::EnergyTerm> tpu_energy_terms(const TpuConfig& cfg, const energy::EnergyTable& table) {
  using energy::EnergyTerm;
  std::vector<EnergyTerm> t;
  if (cfg.mxu.supports_int8) t.push_back({"tpu.mxu", "tpu.mxu.mac.int8", "mac", energy::mac_pj(table, "int8", "int32")});
  if (cfg.mxu.supports_bf16) t.push_back({"tpu.mxu", "tpu.mxu.mac.bf16", "mac", energy::mac_pj(table, "bf16", "fp32")});
  if (cfg.mxu.supports_fp16) t.push_back({"tpu.mxu", "tpu.mxu.mac.fp16", "mac", energy::mac_pj(table, "fp16", "fp32")});

  const auto& ub = cfg.unified_buffer;
  t.push_back({"tpu.ub", "tpu.ub.read_bytes", "sram_read",
               energy::sram_bytes_pj(table, ub.capacity_bytes, ub.read_bytes_per_cycle * 8, false)});
  t.push_back({"tpu.ub", "tpu.ub.write_bytes", "sram_write",
               energy::sram_bytes_pj(table, ub.capacity_bytes, ub.write_bytes_per_cycle * 8, true)});

  const uint64_t acc_bytes = uint64_t(cfg.accumulators.entries) * cfg.mxu.cols * 4;
  const unsigned acc_width = cfg.mxu.cols * 32;
  t.push_back({"tpu.acc", "tpu.acc.read_bytes", "sram_read", energy::sram_bytes_pj(table, acc_bytes, acc_width, false)});
  t.push_back({"tpu.acc", "tpu.acc.write_bytes", "sram_write", energy::sram_bytes_pj(table, acc_bytes, acc_width, true)});

  const uint64_t elem = (cfg.mxu.supports_bf16 || cfg.mxu.supports_fp16) ? 2 : 1;
  const uint64_t fifo_bytes = uint64_t(cfg.weight_fifo.depth_tiles) * cfg.mxu.rows * cfg.mxu.cols * elem;
  const unsigned fifo_width = cfg.mxu.cols * 8;
  t.push_back({"tpu.weight_fifo", "tpu.weight_fifo.write_bytes", "sram_write",
               energy::sram_bytes_pj(table, fifo_bytes, fifo_width, true)});
  t.push_back({"tpu.weight_fifo", "tpu.weight_fifo.read_bytes", "sram_read",
               energy::sram_bytes_pj(table, fifo_bytes, fifo_width, false)});

  const double dram = energy::dram_bytes_pj(table);
  t.push_back({"tpu.dram", "tpu.dram.read_bytes", "dram", dram});
  t.push_back({"tpu.dram", "tpu.dram.write_bytes", "dram", dram});

  // The CMEM: an SRAM of the core's share, read and written 64 bits at a
  // time (the Horowitz points' width). Above the largest point (1 MiB) the
  // table continues its last segment linearly in log2(capacity)
  // (EnergyTable::sram_access_pj): an extrapolation, no measured point.
  if (cfg.cmem.capacity_bytes > 0) {
    t.push_back({"tpu.cmem", "tpu.cmem.read_bytes", "sram_read",
                 energy::sram_bytes_pj(table, cfg.cmem.capacity_bytes, 64, false)});
    t.push_back({"tpu.cmem", "tpu.cmem.write_bytes", "sram_write",
                 energy::sram_bytes_pj(table, cfg.cmem.capacity_bytes, 64, true)});
  }

  t.push_back({"tpu.act", "tpu.act.elements", "act", table.op_pj("fp32_mult") + table.op_pj("fp32_add")});
  // The arithmetic of vector ops and activate functions beyond relu.
  t.push_back({"tpu.act", "tpu.act.fp32_adds", "vector", table.op_pj("fp32_add")});
  t.push_back({"tpu.act", "tpu.act.fp32_mults", "vector", table.op_pj("fp32_mult")});

  const uint64_t chunk = uint64_t(std::max(ub.read_bytes_per_cycle, ub.write_bytes_per_cycle)) * 16;
  const double staging = energy::sram_bytes_pj(table, chunk, 64, true) + energy::sram_bytes_pj(table, chunk, 64, false);
  t.push_back({"tpu.dma", "tpu.dma.in_bytes", "dma_staging", staging});
  t.push_back({"tpu.dma", "tpu.dma.out_bytes", "dma_staging", staging});
  return t;
}

}  // namespace xpu::tpu
