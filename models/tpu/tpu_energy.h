#pragma once
// Energy terms of the TPU core: which counter costs how many pJ per unit, for
// sim/energy's EnergyModel. Models only count; this binds the counters of a
// Tpu (tpu.h) built from `cfg` to an energy table.
#include <vector>

#include "models/tpu/tpu_config.h"
#include "sim/energy/energy_model.h"
#include "sim/energy/energy_table.h"

namespace xpu::tpu {

// Terms (component, counter, op class, pJ per unit):
//   tpu.mxu          tpu.mxu.mac.int8   mac   int8_mult + int32_add
//                    tpu.mxu.mac.bf16   mac   bf16_mult + fp32_add
//                    tpu.mxu.mac.fp16   mac   fp16_mult + fp32_add
//                    (only precisions the MXU supports)
//   tpu.ub           tpu.ub.read_bytes  sram_read   per byte, SRAM of
//                    tpu.ub.write_bytes sram_write  unified_buffer.capacity_bytes,
//                                       port width (read/write_bytes_per_cycle * 8 bits)
//   tpu.acc          tpu.acc.read_bytes / write_bytes  sram_read / sram_write, SRAM of
//                                       entries * cols * 4 bytes, one row (cols * 32 bits) wide
//   tpu.weight_fifo  tpu.weight_fifo.write_bytes / read_bytes  sram_write / sram_read,
//                                       SRAM of depth_tiles tiles of rows * cols * 2 bytes
//                                       (1 byte if the MXU supports int8 only), one tile row
//                                       (cols * 8 bits) wide
//   tpu.dram         tpu.dram.read_bytes / write_bytes  dram  8 * dram_pj_per_bit per byte
//                                       (weights, and DMA traffic with host.path dram)
//   tpu.act          tpu.act.elements   act   fp32_mult + fp32_add per element: the unit's
//                                       per-element datapath is a scaling multiplier
//                                       (requantization) and an adder/comparator (relu,
//                                       rounding); charged for every element whatever fn
//                                       and out_dtype are (an upper bound)
//                    tpu.act.fp32_adds / fp32_mults  vector  fp32_add / fp32_mult: the
//                                       arithmetic of vector ops (softmax, layernorm,
//                                       pooling, elementwise) and of activate functions
//                                       beyond relu, counted per op (activation_unit.h:
//                                       exp = 8 mult-adds, reciprocal 3 mult + 2 add, ...)
//   tpu.dma          tpu.dma.in_bytes / out_bytes  dma_staging  per byte, one write and
//                                       one read of a staging SRAM of one DMA chunk
//                                       (16 UB port widths, 4 KiB on TPU v1). The host
//                                       link's own energy (PCIe) is not in the table and
//                                       is not charged.
std::vector<energy::EnergyTerm> tpu_energy_terms(const TpuConfig& cfg, const energy::EnergyTable& table);

}  // namespace xpu::tpu
