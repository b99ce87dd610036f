#pragma once
// Per-SM event counts, summed over SMs into the gpu.* statistics (gpu.cpp).
#include <cstdint>

namespace xpu::gpu {

enum class Stall : uint8_t {
  memory_dependency,     // operand waits on a global/shared load
  execution_dependency,  // operand waits on an ALU/SFU/tensor result
  pipe_busy,             // the instruction's ALU/SFU pipe is issuing another warp
  tensor_busy,           // the sub-core's tensor cores are busy
  mio_throttle,          // the SM's LD/ST data path (shared memory/L1) is backed up
  barrier,               // waiting at bar.sync
  branch,                // fetch redirect after a branch
  idle,                  // no resident warp
  count
};
const char* stall_name(Stall s);

enum class Ctr : uint8_t {
  warp_insts, thread_insts, issue_cycles,
  inst_int32, inst_fp32, inst_fp64, inst_sfu, inst_ldst, inst_tensor, inst_branch,
  fp32_flops, fp32_adds, fp32_mults,
  hmma_steps, mac_fp16, mac_fp16_acc16, mac_bf16, mac_int8, mac_tf32, mac_sparse16, mac_sparse8,
  rf_reads, rf_writes, rf_bank_conflicts,
  smem_accesses, smem_wavefronts, smem_bank_conflicts, smem_read_bytes, smem_write_bytes,
  l1_hits, l1_misses, l1_read_bytes, gmem_write_bytes,
  divergent_branches, barriers, ctas,
  count
};

struct SmCounters {
  uint64_t c[static_cast<int>(Ctr::count)] = {};
  uint64_t stall[static_cast<int>(Stall::count)] = {};
  uint64_t& operator[](Ctr k) { return c[static_cast<int>(k)]; }
  uint64_t operator[](Ctr k) const { return c[static_cast<int>(k)]; }
  void add(const SmCounters& o) {
    for (int i = 0; i < static_cast<int>(Ctr::count); ++i) c[i] += o.c[i];
    for (int i = 0; i < static_cast<int>(Stall::count); ++i) stall[i] += o.stall[i];
  }
};

}  // namespace xpu::gpu
