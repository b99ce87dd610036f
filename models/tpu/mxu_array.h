#pragma once
// The systolic array itself, free of SystemC: the same microarchitecture at
// two fidelities. The SystemC MXU module (mxu.h) decides when each pass may
// start; these classes say what the array computes and when it finishes.
//
// Weight-stationary R x C array (R = rows = K direction, C = cols = N):
// - Vector r of a pass enters PE row k at systolic step r + k (the skew) and
//   moves one column right per step; PE(k, c) handles it at step r + k + c.
// - Partial sums start at 0 in PE row 0 and flow down one row per step:
//   psum(k, c) = psum(k - 1, c) + x[k] * w[k][c], rounded after the add
//   (sim/numerics/mac.h). Every PE performs its MAC every step; the column
//   result is then added to (accumulate) or replaces the accumulator:
//   acc = accumulate ? acc + psum : psum (int32 wrapping / fp32 rounded).
// - Unused rows and columns: activations of rows k >= pass.k are +0 (a
//   vector has k elements); weights outside the latched tile's k x n are +0.
//   A +0 activation times a finite weight, or a finite activation times a +0
//   weight, gives +-0; a partial sum starts at +0 and (round to nearest) can
//   never become -0, so adding +-0 leaves it bit-for-bit unchanged (+0 + -0
//   = +0). With tile.k == pass.k the result is therefore exactly the K-chunk
//   sum in order k = 0 .. k-1 (ref_gemm_f16 with k_chunk = k). Non-finite
//   values still meet the zeros: Inf or NaN in an input element k < pass.k
//   beyond tile.k, or in a tile row k >= pass.k, makes that column NaN
//   (Inf * 0). Columns pass.n <= c < C are computed and discarded; columns
//   tile.n <= c < pass.n are written (+0, or NaN from non-finite inputs).
// - NaN results are written to the accumulators as the canonical quiet NaN
//   0x7FC00000: IEEE 754 leaves payload propagation open, and the host's
//   choice follows an operand order the compiler may swap, so payloads
//   would differ between fidelities. NaN-ness itself is exact.
// - Column c of vector r is produced by PE(R-1, c) at step r + R - 1 + c,
//   leaves the array at the next step and is written to the accumulator one
//   cycle later. One step lasts `step` cycles. Completion of a pass (its last
//   valid result, vector m-1 column n-1, written) is therefore
//     start + step * (m + R + n - 2) + 1.
//   Accumulator column c is fed by array column c: passes whose accumulator
//   words alias must use them in the same column, and then every word sees
//   its writes in submission order in both engines.
// - Weights: each PE has an active and a standby register. A tile is latched
//   into standby all at once (after being shifted in through a separate
//   chain); a pass with switch_weights set carries a switch flag with its
//   first vector, so PE(k, c) copies standby -> active at step k + c of that
//   pass, before its MAC. A latch at cycle t lands before a step at cycle t
//   reads standby, so standby may be overwritten only after that wavefront
//   has passed the last PE: at or after  start + step * (R + C - 2) + 1
//   (switch_done()). A switching pass takes the newest tile latched at or
//   before its start.
// - Cycle convention: a step at cycle t computes from the registers as they
//   were and its results are visible from t + 1. advance_to(now) therefore
//   runs the steps at cycles < now, which observes every completion <= now,
//   and a pass may still be submitted with start == now afterwards.
// - Buffers: latched tiles are copied. A pass's input and accumulator rows
//   must stay valid and unchanged (except by the array) until the pass is
//   reported: the tile engine reads them when it computes the pass.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "sim/numerics/mac.h"

namespace xpu::tpu {

// tile: closed-form timing, values in bulk (the default); pe: every PE
// stepped; timing: tile timing without values (fast sweeps).
enum class Fidelity { tile, pe, timing };

struct ArrayShape {
  uint32_t rows = 0;
  uint32_t cols = 0;
};

// One MATMUL instruction on the array.
struct Pass {
  uint64_t id = 0;
  DType dtype = DType::int8;  // int8 -> int32 accumulators; bf16/fp16 -> fp32
  uint32_t step = 1;          // cycles per systolic step
  uint32_t m = 0, k = 0, n = 0;  // vectors, active K (<= R), active N (<= C)
  bool switch_weights = true;
  // Vector r, element j at input + r * input_stride + j * dtype_bytes(dtype).
  // nullptr: timing only (no values).
  const uint8_t* input = nullptr;
  size_t input_stride = 0;
  // Accumulator row r of this pass at acc + r * acc_stride (32-bit words,
  // int32 or fp32 bits). nullptr: timing only.
  uint32_t* acc = nullptr;
  size_t acc_stride = 0;
  bool accumulate = false;
  uint64_t start = 0;  // cycle at which vector 0 enters PE(0, 0)
};

// Closed-form timing (the tile-level model's timing, derived above).
uint64_t pass_completion(const ArrayShape& a, const Pass& p);
uint64_t switch_done(const ArrayShape& a, const Pass& p);
// Cycle after which the next pass's first vector may enter: vectors are
// spaced one step apart.
inline uint64_t input_free(const Pass& p) { return p.start + uint64_t(p.step) * p.m; }

// A weight tile: k x n elements of `dtype`, dense row-major. nullptr data
// means timing only.
struct WeightTile {
  DType dtype = DType::int8;
  uint32_t k = 0, n = 0;
  const uint8_t* data = nullptr;
};

struct Completion {
  uint64_t id = 0;
  uint64_t cycle = 0;  // cycle at which the pass's last valid result was written
};

// Raw register bits of every PE, row-major R x C (PE-level only), for VCD.
struct PeRegisterView {
  uint32_t rows = 0, cols = 0;
  const uint32_t* weight = nullptr;      // active weight
  const uint32_t* activation = nullptr;  // activation register
  const uint32_t* psum = nullptr;        // partial-sum register (int32 or fp32 bits)
};

// Common interface of both fidelities. Passes are submitted in order, each
// with start >= input_free(previous pass), start >= the cycle last advanced
// to, start a multiple of its step (the array's datapath has a fixed phase),
// 1 <= k <= R, 1 <= n <= C, m >= 1, and, when its dtype or step differs from
// the previous pass's, start >= every earlier pass's completion and the last
// switching pass's switch_done (the array drains, results and weight
// wavefront, before it changes precision). A switching pass needs a latched
// tile of its dtype (latched at or before its start); a reusing pass needs
// active weights of its dtype. Tiles are int8/bf16/fp16, at most R x C;
// latches come in time order. Violations throw std::logic_error naming the
// rule.
class ArrayEngine {
 public:
  virtual ~ArrayEngine() = default;
  // Latches a tile into the standby registers at cycle `when` (all PEs at
  // once). Throws std::logic_error if `when` < switch_done() of the last
  // pass that switched weights (its wavefront still needs the old standby).
  virtual void latch_standby(const WeightTile& tile, uint64_t when) = 0;
  // Queues a pass; it is executed as the engine advances past p.start.
  virtual void submit(const Pass& p) = 0;
  // Brings the array up to cycle `now` inclusive and returns the passes that
  // completed at or before `now` (each exactly once, ordered by completion
  // cycle, ties by submission; a short pass can finish before an earlier
  // wide one). `now` must not decrease. The tile engine computes a pass's
  // values in bulk, in the same accumulation order, when it reports it
  // (earlier-submitted passes first); the PE engine steps every PE each
  // systolic step.
  virtual std::vector<Completion> advance_to(uint64_t now) = 0;
  // Earliest cycle at which advance_to() may report a completion, or
  // UINT64_MAX when no pass is in flight. The tile engine returns the exact
  // completion; the PE engine returns the cycle at which its next systolic
  // step's results settle (that step's cycle + 1), so advance_to(next_event())
  // always makes progress.
  virtual uint64_t next_event() const = 0;
  // PE register updates performed so far (0 for the tile engine).
  virtual uint64_t pe_updates() const = 0;
  virtual PeRegisterView registers() const { return {}; }
};

// Tile-level: closed-form timing, math in bulk per pass.
std::unique_ptr<ArrayEngine> make_tile_engine(const ArrayShape& shape);
// PE-level: every PE's weight, activation and partial-sum registers stepped
// each systolic step while anything (a pass or a switch wavefront) is in
// flight; registers() shows them as of the cycle last advanced to.
std::unique_ptr<ArrayEngine> make_pe_engine(const ArrayShape& shape);

}  // namespace xpu::tpu
