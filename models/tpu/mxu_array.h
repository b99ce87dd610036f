#pragma once
// The systolic array itself, free of SystemC: the same microarchitecture at
// two fidelities. The SystemC MXU module (mxu.h) decides when each pass may
// start; these classes say what the array computes and when it finishes.
//
// Weight-stationary (Dataflow::ws) R x C array (R = rows = K direction,
// C = cols = N):
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
//
// ---------------------------------------------------------------------------
// Output-stationary (Dataflow::os). R x C array, rows = output rows (M, the
// pass's vectors), cols = output columns (N); K streams in time. A pass has
// m <= R vectors, k <= R (the weight tile's K chunk: read_weights tiles are
// at most R x C in every dataflow) and n <= C.
// - Nothing but the outputs is stationary. Vector i (input row i of the
//   pass) enters PE row i from the left, element kk at step kk + i, and
//   moves one column right per step. The weight tile sits in a double-
//   buffered top-edge buffer (active/standby banks, R x C, filled through the
//   same shift chain and latch as the WS standby registers: read_weights
//   loads it); row kk of the active bank enters PE column c from the top at
//   step kk + c and moves one row down per step. PE(i, c) therefore meets
//   x[i][kk] and w[kk][c] at step kk + i + c:
//     psum(i, c) = mac(kk == 0 ? +0 : psum(i, c), x[i][kk], w[kk][c]).
//   Rows i >= m get +0 activations; weights outside the tile's k x n are +0;
//   tile rows >= pass.k are never streamed.
// - Accumulation order: each output is a plain sequential dot product over
//   the pass's k, from +0, in order kk = 0 .. k-1, then acc = accumulate ?
//   acc + psum : psum. A GEMM whose K exceeds R is split into passes of
//   k <= R (one weight tile each); drained one by one they combine in the
//   accumulators (ref_gemm_f16 with k_chunk = R, the bits of WS when
//   tile.k == pass.k; unlike WS, a non-finite weight in a tile row >= pass.k
//   never meets a +0 activation, since such rows are not streamed); the
//   lowering instead chains them in the PEs (whole-K accumulation below).
// - Drain: the MAC with kk = k-1 writes the result into the PE's hold
//   register (the partial sum restarts at +0 with the next pass's kk = 0).
//   One step after PE(R-1, c) wrote its hold register (step b = k + R - 2 +
//   c), column c's R hold registers are loaded in parallel into the column's
//   drain chain, which shifts down one row per step: row R-1 leaves the
//   array at step b + 2, row i at step b + 1 + R - i, and is written to the
//   accumulator (row i of the pass, column c) one cycle after it leaves.
//   Row 0 leaves last, so completion does not depend on m:
//     completion = start + step * (k + 2R + n - 2) + 1.
//   Columns n <= c < C drain too (their results are discarded).
// - Drain overlaps the next pass: the hold registers are free again once
//   loaded into the chain and the chain is empty R steps after its load. A
//   pass after `prev` (same dtype and step) may start at
//     start >= prev.start + step * (prev.k + R - k)   (>= input_free(prev))
//   so that its row-0 hold write comes no earlier than prev's chain load:
//   back-to-back passes of full K chunks (k = R) are R steps apart and keep
//   every PE busy; a pass with k < R is drain-bound (R steps per pass).
// - Weight switch: a switching pass carries a switch flag with its first
//   weight row; edge column c copies standby -> active at step c, before it
//   sends row 0. The standby bank is latched skewed like the stream it
//   feeds: a latch at `when` lands in edge column c at cycle when + c (the
//   shift chain runs one cycle behind per column, as the stream does one
//   step), so a pass started at or after `when` finds the new tile in every
//   column, and the next tile may be latched as soon as it cannot overtake
//   the switch flag (when + c > start + step * c for every c):
//     switch_done = start + (step - 1) * (C - 1) + 1,
//   start + 1 at one cycle per step. A latch that had to wait for column
//   C-1 to switch (start + step * (C - 1) + 1) would stall every K chunk of
//   k < C steps on an array wider than tall.
//   A reusing pass (switch_weights false) streams the active bank again.
// - Whole-K accumulation (keep_psums / continue_psums): a GEMM with K > R
//   needs one weight tile per K chunk of R rows, but the partial sums need
//   not leave the PEs between chunks. A pass with keep_psums leaves them in
//   the PE psum registers (no hold write, no drain, no accumulator access);
//   the next pass must have continue_psums (same m, n, dtype, step) and
//   starts its kk = 0 MAC from them instead of +0. A chain of such passes
//   over chunks k_0, k_1, ... computes each output as ONE sequential dot
//   product over the whole K, from +0, in order kk = 0 .. K-1 (the
//   reference is ref_gemm_f16 with k_chunk >= K), and drains once, with its
//   last pass: the accumulators see one write per output tile instead of
//   one per chunk. PE(i, c) meets the continuing pass's kk = 0 one step
//   after the kept pass's kk = k-1 when the continuing pass starts at the
//   kept pass's input_free (start + step * k): the edges stream the whole K
//   back to back. A kept pass has no accumulator write; its "completion"
//   is its last valid MAC, PE(m-1, n-1) at kk = k-1, settled one cycle on:
//     completion(keep) = start + step * (k + m + n - 3) + 1.
//   For a chain of full chunks (k_j = R) started back to back, the output
//   tile completes at chain start + step * (K + 2R + n - 2) + 1 (the last
//   pass's drain formula with its start at chain start + step * (K - k_last)).
//   Spacing: after a kept pass only its stream (start + step * k); a
//   draining pass must also keep its row-0 hold write after the chain load
//   of the last draining pass d:  start >= d.start + step * (d.k + R - k).
//
// ---------------------------------------------------------------------------
// Input-stationary (Dataflow::is). R x C array, rows = K, cols = input
// vectors (M); the weight tile's columns (N) stream in time. A pass has
// m <= C vectors, k <= R, n <= C (the tile's N). This is the WS array with
// the operands' roles swapped (C^T = B^T A^T): the same PE registers, the
// same skew, partial sums flowing down; only the routing differs.
// - Stationary: the inputs. PE(kk, c) holds x[c][kk] (+0 for kk >= k or
//   c >= m) in an active register with a standby register behind it. The
//   pass's vectors are shifted from the unified buffer into standby through
//   a separate chain and latched all at once at pass.inputs_latch; the pass
//   carries a switch flag with its first weight column, so PE(kk, c) copies
//   standby -> active at step kk + c. Standby may be re-latched from
//     inputs_switch_done = start + step * (R + C - 2) + 1.
//   A pass with switch_inputs false reuses the active inputs (the MXU reuses
//   them for consecutive N tiles of one M block and K chunk).
// - Streams: the weight tile sits in a double-buffered left-edge buffer
//   (read_weights loads it through the shift chain + latch, as in WS);
//   column j of the active bank enters PE row kk at step j + kk (the skew)
//   and moves one column right per step. Edge row kk switches banks at step
//   kk of a switching pass; the standby bank is latched skewed along the
//   rows as OS's along the columns (row kk at when + kk):
//     switch_done = start + (step - 1) * (R - 1) + 1.
// - Partial sums start at +0 in row 0 and flow down exactly as in WS:
//   psum(kk, c) = psum(kk-1, c) + x[c][kk] * w[kk][j]; tile rows >= pass.k
//   are streamed (their weights meet +0 inputs), rows beyond max(k,
//   tile.k) carry +0 * +0. Accumulation order and special-value behaviour
//   are WS's with the roles swapped: the same bits as WS (k_chunk = R).
// - Column c, weight column j leaves PE(R-1, c) at step j + R - 1 + c, the
//   array one step later, and is written to accumulator row c, column j one
//   cycle after that:
//     completion = start + step * (n + R + m - 2) + 1   (WS with m <-> n).
//   The weight stream occupies the left edge for n steps: the next pass may
//   start at start + step * n (input_free of the stream).
//
// ---------------------------------------------------------------------------
// Dataflow-generic rules: earliest_start() gives the earliest start of a
// pass after the previous one (same dtype and step); a change of dtype or
// step needs the array drained (every completion, every switch wavefront,
// weights and, for IS, inputs).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "models/tpu/tpu_config.h"
#include "sim/common/fidelity.h"
#include "sim/numerics/mac.h"

namespace xpu::tpu {

// The machine-neutral fidelity (sim/common/fidelity.h), under its old name.
using Fidelity = xpu::Fidelity;

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
  uint64_t start = 0;  // cycle at which the pass's first element enters PE(0, 0)
  // Input-stationary only: the pass's vectors were latched into the standby
  // input registers at inputs_latch (<= start) and switch in with the pass;
  // false reuses the active inputs (same m, k and dtype, and `input` shows
  // the same values: the tile engine reads them there).
  bool switch_inputs = true;
  uint64_t inputs_latch = 0;
  // Output-stationary only (see "Whole-K accumulation" above): leave the
  // partial sums in the PEs for the next pass instead of draining them, and
  // start from the partial sums the previous (keeping) pass left.
  bool keep_psums = false;
  bool continue_psums = false;
};

// Closed-form timing (the tile-level model's timing, derived above), per
// dataflow (ws when omitted).
uint64_t pass_completion(const ArrayShape& a, const Pass& p, Dataflow df = Dataflow::ws);
// Cycle from which the weight standby (WS: PE registers; OS/IS: edge
// buffer bank) may be re-latched after the switching pass p.
uint64_t switch_done(const ArrayShape& a, const Pass& p, Dataflow df = Dataflow::ws);
// IS: cycle from which the standby input registers may be re-latched.
uint64_t inputs_switch_done(const ArrayShape& a, const Pass& p);
// Cycle after the pass's last operand has passed the last PE, PE(R-1, C-1),
// whatever its m, k and n: the temporal operand (WS vectors, OS the k steps,
// IS weight columns) moves through every row and column of the array.
//   WS start + step * (m + R + C - 2); OS k; IS n in place of m.
// all_columns false: the last used column's PE(R-1, c) instead (C replaced
// by the used columns: WS and OS n, IS m); later columns carry nothing the
// pass needs.
uint64_t array_clear(const ArrayShape& a, const Pass& p, Dataflow df, bool all_columns = true);
// WS: cycle after which the next pass's first vector may enter: vectors are
// spaced one step apart.
inline uint64_t input_free(const Pass& p) { return p.start + uint64_t(p.step) * p.m; }
// Cycles during which a pass streams its temporal operand into the array
// (WS: m vectors; OS: k steps; IS: n weight columns).
inline uint64_t stream_cycles(const Pass& p, Dataflow df) {
  return uint64_t(p.step) * (df == Dataflow::os ? p.k : df == Dataflow::is ? p.n : p.m);
}
// Earliest start of `next` after `prev` (same dtype and step) by the array's
// own rules: WS input_free(prev); IS prev.start + step * prev.n; OS
// prev.start + step * prev.k and, when `next` drains, d.start + step *
// (d.k + R - next.k) for the last draining pass d (drain chain, see above):
// d is `prev` unless prev kept its partial sums, then `last_drain` (nullptr:
// none yet).
uint64_t earliest_start(const ArrayShape& a, Dataflow df, const Pass& prev, const Pass& next,
                        const Pass* last_drain = nullptr);
// Largest m of one pass: WS unbounded, OS R (rows), IS C (columns).
uint32_t max_pass_m(const ArrayShape& a, Dataflow df);

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
// with start >= earliest_start(previous pass, this pass) (WS: input_free),
// start >= the cycle last advanced to, start a multiple of its step (the
// array's datapath has a fixed phase), 1 <= k <= R, 1 <= n <= C,
// 1 <= m <= max_pass_m(), and, when its dtype or step differs from the
// previous pass's, start >= every earlier pass's completion and the last
// switching pass's switch_done (and, IS, inputs_switch_done): the array
// drains, results and wavefronts, before it changes precision. IS: a pass
// switching inputs has inputs_latch <= start, inputs_latch >= the previous
// input-switching pass's inputs_switch_done, latches non-decreasing; a pass
// reusing them matches the last switching pass's m, k and dtype. A switching pass needs a latched
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

// Tile-level: closed-form timing, math in bulk per pass (weight-stationary).
std::unique_ptr<ArrayEngine> make_tile_engine(const ArrayShape& shape);
// PE-level (weight-stationary): every PE's weight, activation and
// partial-sum registers stepped each systolic step while anything (a pass or
// a switch wavefront) is in flight; registers() shows them as of the cycle
// last advanced to.
std::unique_ptr<ArrayEngine> make_pe_engine(const ArrayShape& shape);
// Either fidelity of any dataflow (Fidelity::timing gives the tile engine).
// PE level, IS: the WS array with the stationary inputs in the weight
// registers and the streamed weights in the activation registers. OS:
// activation (moving right), weight (moving down) and partial-sum registers
// (registers() shows them); hold and drain-chain registers are internal.
std::unique_ptr<ArrayEngine> make_array_engine(const ArrayShape& shape, Dataflow df, Fidelity f);

}  // namespace xpu::tpu
