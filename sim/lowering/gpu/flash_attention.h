#pragma once
// Fused attention on the GPU, flash-attention style (Dao et al., "FlashAttention",
// NeurIPS 2022): softmax(q K^T x scale + causal mask) V for every query row
// in one kernel; the score matrix never leaves the SM.
//
// Grid: one CTA of 128 threads per (head, block of R query rows), R = 4, 2
// or 1 (the largest dividing the rows of a head). The CTA's R rows of q stay
// resident in shared memory (fp32); K and V of the head stream through
// shared memory in tiles of Bc = 128 / R positions (16-byte loads), or of
// Bc = 32 in a split decode (below) where d allows G = 128 / (R Bc) parts
// of at least 16 elements. The next tile's loads are in flight while a tile
// computes (the first tile's before q's). Per tile:
//   1. score (row r, position j), G threads per score:
//        part g = ffma chain over k in [g d/G, (g+1) d/G) from +0 (q fp32,
//        K widened exactly); s = part 0, then s = fadd(s, part g) for g = 1..G-1
//        (G = 1: the one chain over k = 0..d-1);
//        s = fmul(s, scale), s = -inf where position > the row's query position;
//   2. threads with j % 8 == 0: m8 = fmax chain of s[j..j+7];
//   3. thread r: m' = fmax chain (m, m8[0], m8[1], ...),
//        alpha = ex2(fmul(fadd(m, -m'), log2 e)), m = m';
//   4. thread t: p = ex2(fmul(fadd(s, -m'), log2 e));
//   5. thread c < d owns output column c of the R rows:
//        o = fmul(o, alpha), l = fmul(l, alpha), then for j in order
//        o = ffma(p_j, v_jc, o), l = fadd(l, p_j);
//      with G > 1, H = 256 / d position groups instead: thread t owns
//      columns 2 cp, 2 cp + 1 (cp = t % (d/2), one 32-bit V word) and
//      group h = t / (d/2), positions [h P, (h + 1) P) of every tile
//      (P = Bc / H), keeping its own o_h and l_h as above; after the last
//      tile o = o_0, then o = fadd(o, o_h) for h = 1..H-1, and so l;
// and at the end o = fmul(o, rcp(l)), written as fp32. reference_flash_attention
// computes exactly this (bit for bit: the SFU results of the model are the
// correctly rounded host results). Every CTA runs ceil(L / Bc) tiles (a
// data-oblivious trip count, so identical CTAs take the fast path; a
// causal prefill's early rows compute tiles that are wholly masked).
// The query position of every row comes from a small per-CTA table the
// host writes (stage_flash_meta), not from %ctaid.
#include <cstdint>
#include <string>
#include <vector>

#include "sim/lowering/gpu/nn_kernels.h"
#include "sim/numerics/mac.h"

namespace xpu::lowering::gpu {

struct FlashSpec {
  uint64_t heads = 0;  // independent (batch, KV head) pairs
  uint64_t rows = 0;   // query rows per head; row i has query position past + i % seq
  uint64_t seq = 1, past = 0;  // keys: past + seq positions
  uint64_t d = 0;      // head dimension: a power of two in [32, 128]
  DType in = DType::fp16;  // q, K, V elements: fp16 or bf16
  float scale = 1.0f;
  // Device addresses: q [heads, rows, d] and K, V [heads, past + seq, d]
  // (16-bit), o [heads, rows, d] fp32, meta: the per-CTA query positions.
  // ws: the split-KV workspace (flash_workspace_bytes). K and V must be
  // followed by flash_kv_padding bytes the kernel may read (zeros).
  uint64_t q = 0, k = 0, v = 0, o = 0, meta = 0, ws = 0;
  uint64_t positions() const { return past + seq; }
};

// What the host needs besides the launch (NnPlan). Split-KV (decode steps
// whose (head, row block) CTAs are fewer than the SMs, as flash-decoding
// does): split s of each head covers tiles [s tps, (s + 1) tps), writes its
// unnormalized o, m and l to the workspace, and a second kernel merges the
// splits per output element c of a row, in split order:
//   m* = fmax chain of m_s; f_s = ex2(fmul(fadd(m_s, -m*), log2 e));
//   O = ffma(o_s, f_s, O), l = ffma(l_s, f_s, l) from +0; out = fmul(O, rcp(l)).
// The K/V loads are unguarded: positions past a head's end read the next
// head's rows (or the padding), masked to p = 0 (the reference reads the same).
struct FlashPlan {
  uint32_t r = 1, bc = 128;    // query rows per CTA, positions per tile
  uint32_t g = 1;              // threads per score (parts of its dot product)
  uint32_t pv_groups = 1;      // P V: position groups (> 1: a thread per column pair and group)
  uint32_t splits = 1, tps = 1;  // KV splits, tiles per split
  std::vector<int32_t> meta;   // written at spec.meta: per (split, row block) R query positions, split-relative
  NnPlan combine;              // splits > 1: the merge
  uint64_t meta_bytes() const { return meta.size() * 4; }
};
// The grid (rows per CTA, tile, splits) without building the kernels.
FlashPlan plan_flash_attention(const xpu::gpu::GpuConfig& cfg, const FlashSpec& s);
uint64_t flash_kv_padding(const FlashPlan& p, const FlashSpec& s);
uint64_t flash_workspace_bytes(const FlashPlan& p, const FlashSpec& s);

// Why the kernel cannot take this shape on `cfg` (empty: it can).
std::string flash_attention_unsupported(const xpu::gpu::GpuConfig& cfg, const FlashSpec& s);
// Throws GpuLoweringError for a shape the kernel does not take.
void lower_flash_attention(const xpu::gpu::GpuConfig& cfg, const FlashSpec& s, FlashPlan& plan, NnPlan& nn);

// The kernel's arithmetic in its order: q, k, v raw 16-bit elements as laid
// out at spec.q/k/v (from 0); returns o [heads, rows, d].
std::vector<float> reference_flash_attention(const FlashSpec& s, const FlashPlan& p, const uint16_t* q,
                                             const uint16_t* k, const uint16_t* v);

}  // namespace xpu::lowering::gpu
