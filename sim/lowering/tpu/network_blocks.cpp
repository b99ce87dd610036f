// Block planning of the network lowering (network.h, "Blocking and
// streaming"): how many rows a streamed layer's block buffers hold, how its
// blocks are noted in the plan, and how one block's copies are slotted
// between the previous block's passes.
#include <algorithm>
#include <cstdio>

#include "sim/lowering/tpu/network_builder.h"

namespace xpu::lowering::detail {

std::string size_text(uint64_t bytes) {
  char buf[32];
  if (bytes >= 1000000)
    std::snprintf(buf, sizeof buf, "%.2f MB", double(bytes) / 1e6);
  else if (bytes >= 1000)
    std::snprintf(buf, sizeof buf, "%.1f KB", double(bytes) / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  return buf;
}

void NetBuilder::fail_unfit_block(const workload::Layer& l, const std::string& what, uint64_t bytes) const {
  fail(l, what + " needs " + std::to_string(bytes) +
              " bytes of the unified buffer with every other tensor spilled: its operands cannot be tiled to fit");
}

uint64_t NetBuilder::stream_block_units(const workload::Layer& l, uint64_t unit_bytes, uint64_t max_units,
                                        uint64_t& nbuf) {
  for (;;) {
    const uint64_t ext = ub_free_extent();
    for (nbuf = 2; nbuf >= 1; --nbuf) {
      // Whole 64-byte units per buffer: the buffers are allocated aligned.
      const uint64_t units = std::min(max_units, ext / nbuf / 64 * 64 / unit_bytes);
      if (units > 0) return units;
    }
    if (!try_spill_one()) fail_unfit_block(l, "one row block", unit_bytes);
  }
}

void NetBuilder::stream_in(uint64_t host_addr, uint64_t ub_addr, uint64_t bytes) {
  emit(host_dma(tpu::Opcode::read_host_memory, host_addr, ub_addr, bytes));
  plan().stream_in_bytes += bytes;
}

void NetBuilder::stream_out(uint64_t host_addr, uint64_t ub_addr, uint64_t bytes) {
  emit(host_dma(tpu::Opcode::write_host_memory, host_addr, ub_addr, bytes));
  plan().stream_out_bytes += bytes;
}

void NetBuilder::note_streamed(uint64_t blocks, uint64_t rows, uint64_t nbuf, const std::string& unit,
                               const char* label) {
  plan().blocks = blocks;
  plan().block_rows = rows;
  plan().spill_bytes += plan().stream_in_bytes + plan().stream_out_bytes;
  std::string what = std::string(label) + ": " + std::to_string(blocks) + " blocks of " + std::to_string(rows) + " " + unit +
                     (nbuf == 2 ? " (double-buffered)" : "");
  if (plan().stream_in_bytes) what += ", in " + size_text(plan().stream_in_bytes);
  if (plan().stream_out_bytes) what += ", out " + size_text(plan().stream_out_bytes);
  note_io(what);
}

void NetBuilder::interleave(size_t from, std::vector<tpu::Instruction> extra) {
  if (discarding()) return;
  // Slots after the matmuls only: a copy queued behind an activate (which
  // waits for its passes) would hold up the in-order issue of the next passes.
  // The s-th matmul (from 1) is followed by extra[(s - 1) ne / slots, s ne /
  // slots); no matmul: the extras go last.
  auto& code = step_->program.code;
  const size_t end = code.size(), ne = extra.size();
  size_t slots = 0;
  for (size_t i = from; i < end; ++i) slots += code[i].op == tpu::Opcode::matmul;
  if (slots == 0) {
    code.insert(code.end(), extra.begin(), extra.end());
    return;
  }
  // In place, from the back: each instruction moves once (no copy of the passes).
  code.resize(end + ne);
  size_t w = code.size(), s = slots;
  for (size_t i = end; i-- > from;) {
    if (code[i].op == tpu::Opcode::matmul) {
      for (size_t k = s * ne / slots; k-- > (s - 1) * ne / slots;) code[--w] = extra[k];
      --s;
    }
    code[--w] = code[i];
  }
}

}  // namespace xpu::lowering::detail
