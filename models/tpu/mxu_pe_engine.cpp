// PE-level array engine: every PE's registers, stepped once per systolic step
// while anything is in flight. The reference the tile engine is tested
// against, so nothing here is derived from the closed form: completion
// cycles are observed when the last result is written.
//
// Registers, flat row-major R x C arrays of 32-bit words (fp32 bits or int32):
//   active_/standby_  weights;
//   psum_             partial sums, updated in place from the bottom row up
//                     (row k reads row k-1 before row k-1 is overwritten);
//   act_ + tag_       activations and what they carry (valid, switch flag,
//                     pass, vector index). They move one column right per
//                     step; instead of copying, each row is a ring buffer
//                     whose origin rotates with the step index, so a step
//                     writes only the entering column. The ring is stored
//                     twice (2C words a row, both copies written) so that
//                     the C logical columns are always one contiguous run.
//                     A PE's partial sum always belongs to the vector whose
//                     activation it holds (both arrived along the same
//                     diagonal), so tag_ labels psum_ too.
#include <algorithm>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <stdexcept>
#include <vector>

#include "models/tpu/mxu_array.h"
#include "models/tpu/mxu_array_detail.h"
#include "sim/common/errors.h"

namespace xpu::tpu {
namespace {

// Register tag: bit 63 valid, bit 62 switch flag (first vector of a pass
// that switches weights), bits 32..61 pass serial mod 2^30, bits 0..31
// vector index.
constexpr uint64_t kValid = 1ull << 63;
constexpr uint64_t kSwitch = 1ull << 62;
constexpr uint64_t kSerialMask = (1ull << 30) - 1;

uint64_t make_tag(uint64_t serial, uint32_t r, bool sw) {
  return kValid | (sw ? kSwitch : 0) | ((serial & kSerialMask) << 32) | r;
}

// One row segment of PEs: out[c] = in[c] + act[c] * w[c] (in == +0 for row
// 0), with the mac.h semantics of the pass's dtype.
template <DType kInput>
struct FloatPath {
  static uint32_t load(const uint8_t* p) { return detail::element_word(kInput, p); }
  static void mac_row(uint32_t* __restrict out, const uint32_t* __restrict in,
                      const uint32_t* __restrict act, const uint32_t* __restrict w, uint32_t n) {
    for (uint32_t c = 0; c < n; ++c) {
      out[c] = float_to_bits(add_fp32(bits_to_float(in[c]),
                                      mul_fp32(bits_to_float(act[c]), bits_to_float(w[c]))));
    }
  }
  static void mac_row0(uint32_t* __restrict out, const uint32_t* __restrict act,
                       const uint32_t* __restrict w, uint32_t n) {
    for (uint32_t c = 0; c < n; ++c) {
      out[c] = float_to_bits(add_fp32(0.0f, mul_fp32(bits_to_float(act[c]), bits_to_float(w[c]))));
    }
  }
  static uint32_t finish(uint32_t old, uint32_t psum, bool accumulate) {
    return detail::canonical_nan(
        accumulate ? float_to_bits(add_fp32(bits_to_float(old), bits_to_float(psum))) : psum);
  }
};

// Activation and weight words hold sign-extended int8 values, so their
// int32 product is mul_int8's exact product (no narrowing needed).
struct IntPath {
  static uint32_t load(const uint8_t* p) { return detail::element_word(DType::int8, p); }
  static int32_t v(uint32_t w) { return int32_from_u32(w); }
  static void mac_row(uint32_t* __restrict out, const uint32_t* __restrict in,
                      const uint32_t* __restrict act, const uint32_t* __restrict w, uint32_t n) {
    for (uint32_t c = 0; c < n; ++c) {
      out[c] = static_cast<uint32_t>(wrap_add(v(in[c]), v(act[c]) * v(w[c])));
    }
  }
  static void mac_row0(uint32_t* __restrict out, const uint32_t* __restrict act,
                       const uint32_t* __restrict w, uint32_t n) {
    for (uint32_t c = 0; c < n; ++c) {
      out[c] = static_cast<uint32_t>(wrap_add(0, v(act[c]) * v(w[c])));
    }
  }
  static uint32_t finish(uint32_t old, uint32_t psum, bool accumulate) {
    return accumulate ? static_cast<uint32_t>(wrap_add(int32_from_u32(old), int32_from_u32(psum)))
                      : psum;
  }
};

class PeEngine final : public ArrayEngine {
 public:
  // transposed: results of vector r, column c go to accumulator word
  // acc + c * acc_stride + r (the WS core of the IS engine, below).
  explicit PeEngine(const ArrayShape& shape, bool transposed = false)
      : seq_(shape, Dataflow::ws, transposed), R_(shape.rows), C_(shape.cols), transposed_(transposed) {
    const size_t n = size_t(R_) * C_;
    active_.assign(n, 0);
    standby_.assign(n, 0);
    psum_.assign(n, 0);
    act_.assign(2 * n, 0);
    tag_.assign(2 * n, 0);
    size_t ring = 1;
    while (ring < size_t(R_) + 1) ring <<= 1;
    entries_.assign(ring, Entry{});
    ring_mask_ = ring - 1;
  }

  void latch_standby(const WeightTile& tile, uint64_t when) override {
    seq_.check_latch(tile, when);
    // Copied now (the caller may reuse its buffer), applied at `when`.
    Latch l{when, std::vector<uint32_t>(size_t(R_) * C_, 0)};
    if (tile.data != nullptr) {
      const size_t es = dtype_bytes(tile.dtype);
      for (uint32_t k = 0; k < tile.k; ++k) {
        for (uint32_t c = 0; c < tile.n; ++c) {
          l.bits[size_t(k) * C_ + c] =
              detail::element_word(tile.dtype, tile.data + (size_t(k) * tile.n + c) * es);
        }
      }
    }
    latches_.push_back(std::move(l));
  }

  void submit(const Pass& p) override {
    seq_.check_submit(p);
    flights_.push_back(Flight{p, base_serial_ + flights_.size(), 0, false, false});
  }

  // Executes every step at a cycle < now: a step at cycle t writes its
  // results at t + 1, so this observes exactly the completions <= now, and
  // a pass submitted afterwards may still start at `now`.
  std::vector<Completion> advance_to(uint64_t now) override {
    seq_.check_advance(now);
    done_.clear();
    for (;;) {
      const uint64_t t = next_step_cycle();
      if (t >= now) break;
      step(t);
    }
    std::sort(done_.begin(), done_.end(), [](const Done& a, const Done& b) {
      return a.cycle != b.cycle ? a.cycle < b.cycle : a.serial < b.serial;
    });
    std::vector<Completion> out;
    out.reserve(done_.size());
    for (const Done& d : done_) out.push_back(Completion{d.id, d.cycle});
    return out;
  }

  // The next step's results settle one cycle after it runs.
  uint64_t next_event() const override {
    const uint64_t t = next_step_cycle();
    return t == kNever ? kNever : t + 1;
  }

  uint64_t pe_updates() const override { return pe_updates_; }

  PeRegisterView registers() const override {
    // Un-rotate the activation rings into PE order.
    act_view_.resize(size_t(R_) * C_);
    const uint32_t o = origin(stepped_ ? step_index_ - 1 : 0);
    for (uint32_t k = 0; k < R_; ++k) {
      std::memcpy(&act_view_[size_t(k) * C_], &act_[2 * size_t(k) * C_ + o], C_ * 4);
    }
    return PeRegisterView{R_, C_, active_.data(), act_view_.data(), psum_.data()};
  }

 private:
  static constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

  struct Flight {
    Pass p;
    uint64_t serial;
    uint64_t entry_step;  // step index at which vector 0 entered PE(0, 0)
    bool started;
    bool done;
  };
  struct Latch {
    uint64_t when;
    std::vector<uint32_t> bits;
  };
  struct Done {
    uint64_t cycle, serial, id;
  };
  // The skew buffer: what entered PE(0, 0) at a step; row k reads it k steps
  // later. `input` is that vector's first element (null: no values).
  struct Entry {
    uint64_t tag = 0;
    const uint8_t* input = nullptr;
    uint32_t k = 0;  // the pass's k: rows >= k get +0
  };

  // Physical slot of logical column 0 in every activation ring after step s.
  uint32_t origin(uint64_t s) const { return uint32_t((C_ - s % C_) % C_); }

  bool busy() const { return active_passes_ > 0 || !wavefronts_.empty(); }

  Flight* feeding() {
    const uint64_t i = feed_serial_ - base_serial_;
    return i < flights_.size() ? &flights_[i] : nullptr;
  }

  uint64_t next_step_cycle() const {
    if (busy()) return last_step_cycle_ + step_;
    const uint64_t i = feed_serial_ - base_serial_;
    return i < flights_.size() ? flights_[i].p.start : kNever;
  }

  // The live pass a tag names, or nullptr once it has retired.
  Flight* lookup(uint64_t tag) {
    const uint64_t d = (((tag >> 32) & kSerialMask) - base_serial_) & kSerialMask;
    return d < flights_.size() ? &flights_[d] : nullptr;
  }

  void step(uint64_t t) {
    // Leaving idle: forget the skew buffer (it may point into the buffers of
    // retired passes).
    if (!busy()) std::fill(entries_.begin(), entries_.end(), Entry{});
    Flight* f = feeding();
    if (f != nullptr && !f->started) {
      if (f->p.start < t) throw xpu::InternalError("mxu pe engine: missed a pass start");
      if (f->p.start == t) {
        f->started = true;
        f->entry_step = step_index_;
        ++active_passes_;
        step_ = f->p.step;
        dtype_ = f->p.dtype;
        es_ = uint32_t(dtype_bytes(dtype_));
        if (f->p.switch_weights) wavefronts_.push_back(step_index_);
      }
    }
    // Latches at `when` land before the step at that cycle reads standby.
    while (!latches_.empty() && latches_.front().when <= t) {
      standby_.swap(latches_.front().bits);
      latches_.pop_front();
    }
    if (detail::is_int(dtype_)) {
      step_rows<IntPath>(t, f);
    } else {
      if (dtype_ == DType::bf16) {
        step_rows<FloatPath<DType::bf16>>(t, f);
      } else {
        step_rows<FloatPath<DType::fp16>>(t, f);
      }
    }
    // A wavefront has passed the array once PE(R-1, C-1) has switched.
    const uint64_t s = step_index_;
    wavefronts_.erase(std::remove_if(wavefronts_.begin(), wavefronts_.end(),
                                     [&](uint64_t e0) { return s >= e0 + R_ + C_ - 2; }),
                      wavefronts_.end());
    while (!flights_.empty() && flights_.front().done) {
      flights_.pop_front();
      ++base_serial_;
    }
    pe_updates_ += uint64_t(R_) * C_;
    last_step_cycle_ = t;
    ++step_index_;
    stepped_ = true;
  }

  template <class P>
  void step_rows(uint64_t t, Flight* f) {
    const uint64_t s = step_index_;
    if (stepped_) drain<P>(t);

    // The vector entering PE(0, 0) now; its row-k element enters row k in k
    // steps (the skew buffer is the entries_ ring).
    Entry entering;
    if (f != nullptr && f->started) {
      const uint32_t r = uint32_t(s - f->entry_step);
      entering.tag = make_tag(f->serial, r, r == 0 && f->p.switch_weights);
      entering.input = f->p.input != nullptr ? f->p.input + size_t(r) * f->p.input_stride : nullptr;
      entering.k = f->p.k;
      if (r + 1 == f->p.m) ++feed_serial_;
    }
    entries_[s & ring_mask_] = entering;

    // Switch flags: PE(k, c) copies standby -> active at step e0 + k + c,
    // before its MAC, so the flagged vector already uses the new weight. The
    // flagged PEs form one anti-diagonal per wavefront.
    for (uint64_t e0 : wavefronts_) {
      const uint64_t d = s - e0;  // k + c of the flagged PEs
      const uint32_t k_lo = d >= C_ ? uint32_t(d - (C_ - 1)) : 0;
      const uint32_t k_hi = uint32_t(std::min<uint64_t>(d, R_ - 1));
      for (uint32_t k = k_lo; k <= k_hi; ++k) {
        const size_t i = size_t(k) * C_ + (d - k);
        active_[i] = standby_[i];
      }
    }

    const uint32_t o = origin(s);
    for (uint32_t k = R_; k-- > 0;) {
      const size_t row = size_t(k) * C_;
      const size_t row2 = 2 * row;  // this row's activation/tag ring
      static const Entry kNone{};
      const Entry& en = s >= k ? entries_[(s - k) & ring_mask_] : kNone;
      // Rows >= pass.k get +0 (the vector has only k elements), as do rows
      // with no vector.
      const uint32_t a =
          en.input != nullptr && k < en.k ? P::load(en.input + k * es_) : 0;
      act_[row2 + o] = a;
      act_[row2 + o + C_] = a;
      tag_[row2 + o] = en.tag;
      tag_[row2 + o + C_] = en.tag;
      // Logical column c sits in ring slot o + c.
      uint32_t* out = psum_.data() + row;
      const uint32_t* act = act_.data() + row2 + o;
      const uint32_t* w = active_.data() + row;
      if (k == 0) {
        P::mac_row0(out, act, w, C_);
      } else {
        P::mac_row(out, psum_.data() + row - C_, act, w, C_);
      }
    }
  }

  // Results leave the bottom row one step after PE(R-1, c) produced them and
  // are written to the accumulators at t + 1. Right to left: older vectors
  // are further right, so writes of one step land in submission order.
  template <class P>
  void drain(uint64_t t) {
    const uint64_t* tags = tag_.data() + 2 * size_t(R_ - 1) * C_ + origin(step_index_ - 1);
    const size_t row = size_t(R_ - 1) * C_;
    uint64_t cached_key = 0;  // a step's outputs come from one or two passes
    Flight* g = nullptr;
    for (uint32_t c = C_; c-- > 0;) {
      const uint64_t tag = tags[c];
      if (!(tag & kValid)) continue;
      if ((tag >> 32) != cached_key) {
        cached_key = tag >> 32;
        g = lookup(tag);
      }
      if (g == nullptr || c >= g->p.n || g->done) continue;
      const Pass& p = g->p;
      const uint32_t r = uint32_t(tag);
      if (p.acc != nullptr) {
        uint32_t& d = transposed_ ? p.acc[size_t(c) * p.acc_stride + r] : p.acc[size_t(r) * p.acc_stride + c];
        d = P::finish(d, psum_[row + c], p.accumulate);
      }
      if (r + 1 == p.m && c + 1 == p.n) {
        g->done = true;
        --active_passes_;
        done_.push_back(Done{t + 1, g->serial, p.id});
      }
    }
  }

  detail::PassSequencer seq_;
  uint32_t R_, C_;
  bool transposed_;
  std::vector<uint32_t> active_, standby_, psum_, act_;
  std::vector<uint64_t> tag_;
  mutable std::vector<uint32_t> act_view_;
  std::vector<Entry> entries_;  // what entered PE(0, 0) at step s, at s & ring_mask_
  uint64_t ring_mask_ = 0;
  std::deque<Flight> flights_;  // submitted and not yet retired, in order
  uint64_t base_serial_ = 0;    // serial of flights_.front()
  uint64_t feed_serial_ = 0;    // first pass with vectors still to enter
  uint32_t active_passes_ = 0;  // started and not done
  std::vector<uint64_t> wavefronts_;  // entry steps of switch flags still in the array
  std::deque<Latch> latches_;
  uint64_t step_index_ = 0;  // steps executed so far (idle cycles are skipped)
  uint64_t last_step_cycle_ = 0;
  uint32_t step_ = 1;
  DType dtype_ = DType::int8;  // of the passes in flight
  uint32_t es_ = 1;            // its element size
  bool stepped_ = false;
  uint64_t pe_updates_ = 0;
  std::vector<Done> done_;
};

// Input-stationary at PE level: the WS array with the operands' roles
// swapped (mxu_array.h). The pass's input vectors become the core's
// stationary tile (A^T, k x m: PE(kk, c) holds x[c][kk]), latched at
// pass.inputs_latch and switched in by the pass's wavefront; the columns of
// the active left-edge weight bank become the core's streamed vectors
// (vector j = tile column j, R elements, +0 beyond tile.k; C vectors, +0
// beyond tile.n); the core writes column c of vector j to accumulator row c,
// column j. Every PE is stepped by the core.
class IsPeEngine final : public ArrayEngine {
 public:
  explicit IsPeEngine(const ArrayShape& shape)
      : seq_(shape, Dataflow::is), R_(shape.rows), C_(shape.cols), core_(shape, true) {}

  void latch_standby(const WeightTile& tile, uint64_t when) override {
    seq_.check_latch(tile, when);
    // Latches land in time order; the core applies its own (input) latches,
    // the edge bank is bound to a pass when the pass is submitted, so apply
    // this one to standby now, in submission order with the passes.
    auto b = std::make_shared<EdgeBank>();
    b->dtype = tile.dtype;
    b->k = tile.k;
    const size_t es = dtype_bytes(tile.dtype);
    b->bytes.assign(size_t(C_) * R_ * es, 0);
    if (tile.data != nullptr) {
      for (uint32_t kk = 0; kk < tile.k; ++kk) {
        for (uint32_t j = 0; j < tile.n; ++j) {
          std::memcpy(&b->bytes[(size_t(j) * R_ + kk) * es], tile.data + (size_t(kk) * tile.n + j) * es, es);
        }
      }
    }
    standby_ = std::move(b);
  }

  void submit(const Pass& p) override {
    seq_.check_submit(p);
    if (p.switch_weights) active_ = standby_;
    const size_t es = dtype_bytes(p.dtype);
    if (p.switch_inputs) {
      WeightTile t{p.dtype, p.k, p.m, nullptr};
      if (p.input != nullptr) {
        at_.assign(size_t(p.k) * p.m * es, 0);
        for (uint32_t c = 0; c < p.m; ++c) {
          for (uint32_t kk = 0; kk < p.k; ++kk) {
            std::memcpy(&at_[(size_t(kk) * p.m + c) * es], p.input + size_t(c) * p.input_stride + kk * es, es);
          }
        }
        t.data = at_.data();
      }
      core_.latch_standby(t, p.inputs_latch);
    }
    Pass q = p;
    q.m = p.n;  // streamed weight columns
    q.n = p.m;  // array columns = input vectors
    q.k = std::max(p.k, active_->k);  // tile rows beyond pass.k are streamed too
    q.switch_weights = p.switch_inputs;
    q.input = p.input != nullptr ? active_->bytes.data() : nullptr;
    q.input_stride = size_t(R_) * es;
    keep_.push_back(Kept{p.id, active_});
    core_.submit(q);
  }

  std::vector<Completion> advance_to(uint64_t now) override {
    seq_.check_advance(now);
    std::vector<Completion> done = core_.advance_to(now);
    for (const Completion& c : done) {
      keep_.erase(std::remove_if(keep_.begin(), keep_.end(), [&](const Kept& k) { return k.id == c.id; }),
                  keep_.end());
    }
    return done;
  }
  uint64_t next_event() const override { return core_.next_event(); }
  uint64_t pe_updates() const override { return core_.pe_updates(); }
  PeRegisterView registers() const override { return core_.registers(); }

 private:
  struct EdgeBank {
    DType dtype = DType::int8;
    uint32_t k = 0;
    std::vector<uint8_t> bytes;  // C vectors of R elements
  };
  struct Kept {
    uint64_t id;
    std::shared_ptr<const EdgeBank> bank;  // read by the core until reported
  };
  detail::PassSequencer seq_;
  uint32_t R_, C_;
  PeEngine core_;
  std::shared_ptr<const EdgeBank> standby_, active_;
  std::vector<Kept> keep_;
  std::vector<uint8_t> at_;
};

}  // namespace

std::unique_ptr<ArrayEngine> make_pe_engine(const ArrayShape& shape) {
  return std::make_unique<PeEngine>(shape);
}

namespace detail {
std::unique_ptr<ArrayEngine> make_is_pe_engine(const ArrayShape& shape) {
  return std::make_unique<IsPeEngine>(shape);
}
}  // namespace detail

}  // namespace xpu::tpu
