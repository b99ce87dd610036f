// Tile-level array engine: closed-form timing, and each pass's values in bulk
// when it is reported, in the array's accumulation order.
//
// Order: for every output (r, c), psum = 0, then psum = mac(psum, x[r][k],
// w[k][c]) for k = 0, 1, ... ascending, then acc = accumulate ? acc + psum :
// psum. The kernel blocks over r and c (register tiles) but never reorders k
// within a column, so the bits equal those of the PE engine. Rows the PE
// engine adds beyond the ones computed here contribute +-0, which leaves a
// partial sum unchanged (it starts at +0 and so is never -0): see
// mxu_array.h.
//
// Dataflows: IS computes the same sums in the same order as WS (the WS
// array with the operands' roles swapped; rows beyond pass.k meet the
// streamed weights exactly as WS rows meet the stationary ones), so only the
// timing and sequencing rules differ. OS streams only the pass's k rows of
// the tile: the k loop stops at pass.k even where later tile rows hold
// non-finite weights.
#include <algorithm>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <vector>

#include "models/tpu/mxu_array.h"
#include "models/tpu/mxu_array_detail.h"

namespace xpu::tpu {
namespace {

// Register tile of the kernel: kMr vectors x kNr columns of partial sums.
constexpr uint32_t kMr = 4;
constexpr uint32_t kNr = 8;

uint32_t panels(uint32_t cols) { return (cols + kNr - 1) / kNr; }

// fp32 products and sums via mac.h (two roundings, never fused).
struct FloatMath {
  using In = float;
  using Acc = float;
  static In load(DType t, const uint8_t* p) { return bits_to_float(detail::element_word(t, p)); }
  static Acc mac(Acc acc, In x, In w) { return add_fp32(acc, mul_fp32(x, w)); }
  static uint32_t finish(uint32_t old, Acc psum, bool accumulate) {
    return detail::canonical_nan(
        float_to_bits(accumulate ? add_fp32(bits_to_float(old), psum) : psum));
  }
  static Acc from_word(uint32_t w) { return bits_to_float(w); }
  static uint32_t to_word(Acc a) { return float_to_bits(a); }
};

// int8 x int8 -> int32, wrapping adds (int32_acc.h).
struct IntMath {
  using In = int8_t;
  using Acc = int32_t;
  static In load(DType, const uint8_t* p) {
    int8_t v;
    std::memcpy(&v, p, 1);
    return v;
  }
  static Acc mac(Acc acc, In x, In w) { return mac_int8(acc, x, w); }
  static uint32_t finish(uint32_t old, Acc psum, bool accumulate) {
    return static_cast<uint32_t>(accumulate ? wrap_add(int32_from_u32(old), psum) : psum);
  }
  static Acc from_word(uint32_t w) { return int32_from_u32(w); }
  static uint32_t to_word(Acc a) { return static_cast<uint32_t>(a); }
};

// A latched tile, copied (the caller may reuse its buffer) and packed into
// kNr-column panels so the kernel reads weights contiguously: element (k, c)
// at (c / kNr * R + k) * kNr + c % kNr, zero outside the tile.
struct PackedTile {
  DType dtype = DType::int8;
  // Rows the kernel must visit even where a pass's activations are +0: one
  // past the last row holding an Inf or NaN weight (0 * Inf = NaN). Finite
  // weights times +0 give +-0, which cannot change a partial sum.
  uint32_t nonfinite_rows = 0;
  std::vector<float> f;
  std::vector<int8_t> i;
};

template <class M>
void pack_weights(const ArrayShape& a, const WeightTile& t, std::vector<typename M::In>& out) {
  out.assign(size_t(panels(a.cols)) * a.rows * kNr, typename M::In{});
  if (t.data == nullptr) return;  // timing-only tile: zero weights
  const size_t es = dtype_bytes(t.dtype);
  for (uint32_t k = 0; k < t.k; ++k) {
    for (uint32_t c = 0; c < t.n; ++c) {
      out[(size_t(c / kNr) * a.rows + k) * kNr + c % kNr] =
          M::load(t.dtype, t.data + (size_t(k) * t.n + c) * es);
    }
  }
}

std::shared_ptr<const PackedTile> pack_tile(const ArrayShape& a, const WeightTile& t) {
  auto p = std::make_shared<PackedTile>();
  p->dtype = t.dtype;
  if (detail::is_int(t.dtype)) {
    pack_weights<IntMath>(a, t, p->i);
  } else {
    pack_weights<FloatMath>(a, t, p->f);
    for (uint32_t k = 0; k < a.rows; ++k) {
      for (uint32_t c = 0; c < panels(a.cols) * kNr; ++c) {
        const float w = p->f[(size_t(c / kNr) * a.rows + k) * kNr + c % kNr];
        if (!(w - w == 0.0f)) p->nonfinite_rows = k + 1;  // Inf - Inf and NaN - NaN are NaN
      }
    }
  }
  return p;
}

// The pass's input vectors packed as kMr-vector blocks: vector r, element k
// at (r / kMr * kk + k) * kMr + r % kMr; +0 beyond pass.k and beyond m.
template <class M>
void pack_inputs(const Pass& p, uint32_t kk, std::vector<typename M::In>& out) {
  const uint32_t blocks = (p.m + kMr - 1) / kMr;
  out.assign(size_t(blocks) * kk * kMr, typename M::In{});
  const size_t es = dtype_bytes(p.dtype);
  for (uint32_t r = 0; r < p.m; ++r) {
    const uint8_t* row = p.input + size_t(r) * p.input_stride;
    typename M::In* dst = out.data() + size_t(r / kMr) * kk * kMr + r % kMr;
    for (uint32_t k = 0; k < p.k; ++k) dst[size_t(k) * kMr] = M::load(p.dtype, row + k * es);
  }
}

// The bulk GEMM of one pass. The s[][] block stays in registers; the k loop
// is the sequential accumulation of every column. OS whole-K chains: a
// continuing pass starts from the partial sums in `carry` (row stride
// `cols`), a keeping pass leaves them there instead of finishing them into
// the accumulators.
template <class M>
void run_pass(const Pass& p, uint32_t rows, uint32_t kk, const typename M::In* xp,
              const typename M::In* wp, uint32_t* carry, uint32_t cols) {
  using In = typename M::In;
  using Acc = typename M::Acc;
  for (uint32_t r0 = 0; r0 < p.m; r0 += kMr) {
    const In* xb = xp + size_t(r0 / kMr) * kk * kMr;
    for (uint32_t c0 = 0; c0 < p.n; c0 += kNr) {
      const In* wb = wp + size_t(c0 / kNr) * rows * kNr;
      const uint32_t mi = std::min(kMr, p.m - r0);
      const uint32_t nj = std::min(kNr, p.n - c0);
      Acc s[kMr][kNr];
      for (uint32_t i = 0; i < kMr; ++i) {
        for (uint32_t j = 0; j < kNr; ++j) {
          s[i][j] = p.continue_psums && i < mi && j < nj ? M::from_word(carry[size_t(r0 + i) * cols + c0 + j])
                                                         : Acc{};  // int 0 or +0.0f
        }
      }
      for (uint32_t k = 0; k < kk; ++k) {
        const In* x = xb + size_t(k) * kMr;
        const In* w = wb + size_t(k) * kNr;
        for (uint32_t i = 0; i < kMr; ++i) {
          for (uint32_t j = 0; j < kNr; ++j) s[i][j] = M::mac(s[i][j], x[i], w[j]);
        }
      }
      if (p.keep_psums) {
        for (uint32_t i = 0; i < mi; ++i) {
          for (uint32_t j = 0; j < nj; ++j) carry[size_t(r0 + i) * cols + c0 + j] = M::to_word(s[i][j]);
        }
        continue;
      }
      for (uint32_t i = 0; i < mi; ++i) {
        uint32_t* dst = p.acc + size_t(r0 + i) * p.acc_stride + c0;
        for (uint32_t j = 0; j < nj; ++j) dst[j] = M::finish(dst[j], s[i][j], p.accumulate);
      }
    }
  }
}

class TileEngine final : public ArrayEngine {
 public:
  TileEngine(const ArrayShape& shape, Dataflow df) : shape_(shape), df_(df), seq_(shape, df) {}

  void latch_standby(const WeightTile& tile, uint64_t when) override {
    seq_.check_latch(tile, when);
    if (tile.data != nullptr) {
      standby_ = pack_tile(shape_, tile);
      return;
    }
    // Timing-only tiles are all zeros: share one per dtype instead of
    // allocating R x C words per latch.
    auto& zero = zero_tiles_[static_cast<size_t>(tile.dtype)];
    if (!zero) zero = pack_tile(shape_, tile);
    standby_ = zero;
  }

  void submit(const Pass& p) override {
    seq_.check_submit(p);
    if (p.switch_weights) active_ = standby_;
    queue_.push_back(Queued{p, serial_++, pass_completion(shape_, p, df_), active_, false, false});
  }

  std::vector<Completion> advance_to(uint64_t now) override {
    seq_.check_advance(now);
    // Values are computed in submission order (a later, shorter pass can
    // complete first; passes writing the same accumulator must still apply
    // in the order the array writes them), reports come in completion order.
    size_t last = queue_.size();
    for (size_t i = 0; i < queue_.size(); ++i) {
      if (queue_[i].completion <= now) last = i;
    }
    std::vector<Completion> done;
    if (last == queue_.size()) return done;
    for (size_t i = 0; i <= last; ++i) {
      Queued& q = queue_[i];
      if (!q.computed) {
        compute(q);
        q.computed = true;
      }
    }
    std::vector<std::pair<uint64_t, uint64_t>> order;  // (cycle, serial) -> ties by submission
    for (size_t i = 0; i <= last; ++i) {
      Queued& q = queue_[i];
      if (!q.reported && q.completion <= now) {
        q.reported = true;
        order.emplace_back(q.completion, i);
      }
    }
    std::sort(order.begin(), order.end());
    done.reserve(order.size());
    for (const auto& o : order) done.push_back(Completion{queue_[o.second].p.id, o.first});
    while (!queue_.empty() && queue_.front().reported) queue_.pop_front();
    return done;
  }

  uint64_t next_event() const override {
    uint64_t t = std::numeric_limits<uint64_t>::max();
    for (const Queued& q : queue_) {
      if (!q.reported) t = std::min(t, q.completion);
    }
    return t;
  }

  uint64_t pe_updates() const override { return 0; }

 private:
  struct Queued {
    Pass p;
    uint64_t serial;
    uint64_t completion;
    std::shared_ptr<const PackedTile> tile;
    bool computed;
    bool reported;
  };

  void compute(const Queued& q) {
    const Pass& p = q.p;
    if (p.input == nullptr || (p.acc == nullptr && !p.keep_psums)) return;  // timing only
    const PackedTile& w = *q.tile;
    carry_.resize(size_t(shape_.rows) * shape_.cols);
    if (detail::is_int(p.dtype)) {
      // Integer products of +0 activations are exact zeros: rows >= k never matter.
      pack_inputs<IntMath>(p, p.k, xi_);
      run_pass<IntMath>(p, shape_.rows, p.k, xi_.data(), w.i.data(), carry_.data(), shape_.cols);
    } else {
      const uint32_t kk = df_ == Dataflow::os ? p.k : std::max(p.k, w.nonfinite_rows);
      pack_inputs<FloatMath>(p, kk, xf_);
      run_pass<FloatMath>(p, shape_.rows, kk, xf_.data(), w.f.data(), carry_.data(), shape_.cols);
    }
  }

  ArrayShape shape_;
  Dataflow df_;
  detail::PassSequencer seq_;
  std::shared_ptr<const PackedTile> standby_, active_;
  std::shared_ptr<const PackedTile> zero_tiles_[5];  // by DType
  std::deque<Queued> queue_;
  uint64_t serial_ = 0;
  std::vector<float> xf_;  // packed inputs, reused across passes
  std::vector<int8_t> xi_;
  std::vector<uint32_t> carry_;  // OS: partial sums kept in the PEs between passes (R x C)
};

}  // namespace

std::unique_ptr<ArrayEngine> make_tile_engine(const ArrayShape& shape) {
  return std::make_unique<TileEngine>(shape, Dataflow::ws);
}

namespace detail {
std::unique_ptr<ArrayEngine> make_tile_engine_df(const ArrayShape& shape, Dataflow df) {
  return std::make_unique<TileEngine>(shape, df);
}
}  // namespace detail

}  // namespace xpu::tpu
