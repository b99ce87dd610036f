// Output-stationary array at PE level (mxu_array.h, "Output-stationary"):
// every PE's activation, weight, partial-sum and hold registers and every
// column's drain chain, stepped once per systolic step while a pass is in
// flight. Nothing here is derived from the closed form: completions are
// observed when the last valid result leaves the drain chain, and register
// conflicts (a hold register or drain chain overwritten before it was
// emptied) throw, so the sequencing rule is checked by construction.
//
// Registers, row-major R x C words (fp32 bits or int32):
//   act_/wgt_   the operands moving right / down; wtag_ labels the weight
//               (valid, pass serial, kk): the activation beside it belongs
//               to the same pass and kk (both travel along the diagonal
//               kk + i + c), so one tag serves both.
//   psum_       the stationary partial sums.
//   hold_/htag_ the hold registers written by the last MAC (kk = k - 1);
//               a pass keeping its psums writes none: its flight retires
//               once all R x C PEs made their last MAC.
//   psum_ carries into a continuing pass (its kk = 0 MAC adds to it).
//   drain_/dtag_ per column, R entries; entry R-1 leaves the array next.
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

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
// Tag: bit 63 valid, bit 62 "holds a result for the accumulators" (row < m),
// bits 32..61 pass serial mod 2^30, bits 0..31 kk (weights) or row (hold).
constexpr uint64_t kValid = 1ull << 63;
constexpr uint64_t kResult = 1ull << 62;
constexpr uint64_t kSerialMask = (1ull << 30) - 1;

uint64_t tag(uint64_t serial, uint32_t low, bool result = false) {
  return kValid | (result ? kResult : 0) | ((serial & kSerialMask) << 32) | low;
}

uint32_t mac_word(DType t, uint32_t acc, uint32_t a, uint32_t w) {
  if (detail::is_int(t)) {
    return static_cast<uint32_t>(wrap_add(int32_from_u32(acc), int32_from_u32(a) * int32_from_u32(w)));
  }
  return float_to_bits(add_fp32(bits_to_float(acc), mul_fp32(bits_to_float(a), bits_to_float(w))));
}

uint32_t finish_word(DType t, uint32_t old, uint32_t psum, bool accumulate) {
  if (detail::is_int(t)) {
    return accumulate ? static_cast<uint32_t>(wrap_add(int32_from_u32(old), int32_from_u32(psum))) : psum;
  }
  return detail::canonical_nan(accumulate ? float_to_bits(add_fp32(bits_to_float(old), bits_to_float(psum)))
                                          : psum);
}

class OsPeEngine final : public ArrayEngine {
 public:
  explicit OsPeEngine(const ArrayShape& shape) : seq_(shape, Dataflow::os), R_(shape.rows), C_(shape.cols) {
    const size_t n = size_t(R_) * C_;
    act_.assign(n, 0);
    wgt_.assign(n, 0);
    wtag_.assign(n, 0);
    psum_.assign(n, 0);
    hold_.assign(n, 0);
    htag_.assign(n, 0);
    drain_.assign(n, 0);  // column c's chain: drain_[i * C + c]
    dtag_.assign(n, 0);
    chain_left_.assign(C_, 0);
    load_pending_.assign(C_, false);
    edge_active_.assign(n, 0);
    edge_standby_.assign(n, 0);
    col_latch_.assign(C_, 0);
  }

  void latch_standby(const WeightTile& tile, uint64_t when) override {
    seq_.check_latch(tile, when);
    Latch l{when, std::vector<uint32_t>(size_t(R_) * C_, 0)};
    if (tile.data != nullptr) {
      const size_t es = dtype_bytes(tile.dtype);
      for (uint32_t k = 0; k < tile.k; ++k) {
        for (uint32_t c = 0; c < tile.n; ++c) {
          l.bits[size_t(k) * C_ + c] = detail::element_word(tile.dtype, tile.data + (size_t(k) * tile.n + c) * es);
        }
      }
    }
    latches_.push_back(std::move(l));
  }

  void submit(const Pass& p) override {
    seq_.check_submit(p);
    flights_.push_back(Flight{p, base_serial_ + flights_.size(), 0, false, false, uint64_t(R_) * C_});
  }

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
    for (const Done& d : done_) out.push_back(Completion{d.id, d.cycle});
    return out;
  }

  uint64_t next_event() const override {
    const uint64_t t = next_step_cycle();
    return t == kNever ? kNever : t + 1;
  }
  uint64_t pe_updates() const override { return pe_updates_; }
  PeRegisterView registers() const override {
    return PeRegisterView{R_, C_, wgt_.data(), act_.data(), psum_.data()};
  }

 private:
  struct Flight {
    Pass p;
    uint64_t serial;
    uint64_t entry;  // step index of the pass's step 0
    bool started;
    bool done;           // last valid result written
    uint64_t remaining;  // drain entries still to leave the array (R * C)
  };
  struct Latch {
    uint64_t when;
    std::vector<uint32_t> bits;
  };
  struct Done {
    uint64_t cycle, serial, id;
  };

  [[noreturn]] static void internal(const std::string& what) {
    throw xpu::InternalError("mxu os pe engine: " + what);
  }

  uint64_t next_step_cycle() const {
    if (active_ > 0) return last_step_cycle_ + step_;
    for (const Flight& f : flights_) {
      if (!f.started) return f.p.start;
    }
    return kNever;
  }

  Flight* lookup(uint64_t t) {
    const uint64_t d = (((t >> 32) & kSerialMask) - base_serial_) & kSerialMask;
    return d < flights_.size() ? &flights_[d] : nullptr;
  }

  // The started pass whose stream occupies edge position `pos` steps behind
  // the array's entry point at step s (s - pos in [entry, entry + k)).
  Flight* streaming(uint64_t s, uint32_t pos, uint32_t& kk) {
    if (s < pos) return nullptr;
    const uint64_t e = s - pos;
    for (Flight& f : flights_) {
      if (!f.started || f.entry > e) continue;
      if (e < f.entry + f.p.k) {
        kk = uint32_t(e - f.entry);
        return &f;
      }
    }
    return nullptr;
  }

  void step(uint64_t t) {
    for (Flight& f : flights_) {
      if (f.started) continue;
      if (f.p.start < t) internal("missed a pass start");
      if (f.p.start == t) {
        f.started = true;
        f.entry = step_index_;
        ++active_;
        step_ = f.p.step;
        dtype_ = f.p.dtype;
        es_ = uint32_t(dtype_bytes(dtype_));
      }
      break;  // passes start in order
    }
    // A latch lands in edge column c at when + c (skewed, mxu_array.h);
    // column C-1 is always the last to take a latch.
    for (uint32_t c = 0; c < C_; ++c) {
      for (; col_latch_[c] < latch_base_ + latches_.size(); ++col_latch_[c]) {
        const Latch& l = latches_[col_latch_[c] - latch_base_];
        if (l.when + c > t) break;
        for (uint32_t k = 0; k < R_; ++k) edge_standby_[size_t(k) * C_ + c] = l.bits[size_t(k) * C_ + c];
      }
    }
    while (!latches_.empty() && col_latch_[C_ - 1] > latch_base_) {
      latches_.pop_front();
      ++latch_base_;
    }
    const uint64_t s = step_index_;

    // 1. Drain: every loaded column emits entry R-1 and shifts down.
    for (uint32_t c = 0; c < C_; ++c) {
      if (chain_left_[c] == 0) continue;
      const size_t bottom = size_t(R_ - 1) * C_ + c;
      const uint64_t tg = dtag_[bottom];
      Flight* g = lookup(tg);
      if (!(tg & kValid) || g == nullptr) internal("empty drain entry");
      const uint32_t row = uint32_t(tg);
      if ((tg & kResult) && c < g->p.n && g->p.acc != nullptr) {
        uint32_t& d = g->p.acc[size_t(row) * g->p.acc_stride + c];
        d = finish_word(g->p.dtype, d, drain_[bottom], g->p.accumulate);
      }
      if (row == 0 && c + 1 == g->p.n) {
        g->done = true;
        done_.push_back(Done{t + 1, g->serial, g->p.id});
      }
      if (--g->remaining == 0) --active_;
      for (uint32_t i = R_ - 1; i > 0; --i) {
        drain_[size_t(i) * C_ + c] = drain_[size_t(i - 1) * C_ + c];
        dtag_[size_t(i) * C_ + c] = dtag_[size_t(i - 1) * C_ + c];
      }
      drain_[c] = 0;
      dtag_[c] = 0;
      --chain_left_[c];
    }
    // 2. Parallel load of the columns whose bottom PE wrote its hold
    // register in the previous step.
    for (uint32_t c = 0; c < C_; ++c) {
      if (!load_pending_[c]) continue;
      if (chain_left_[c] != 0) internal("drain chain loaded while still draining");
      for (uint32_t i = 0; i < R_; ++i) {
        const size_t x = size_t(i) * C_ + c;
        if (!(htag_[x] & kValid)) internal("hold register empty at load");
        drain_[x] = hold_[x];
        dtag_[x] = htag_[x];
        htag_[x] = 0;
      }
      chain_left_[c] = R_;
      load_pending_[c] = false;
    }
    // 3. Operands move: weights one row down, activations one column right
    // (bottom-up / right-to-left so each register reads its neighbour's old
    // value); the edges take the streams.
    for (uint32_t i = R_; i-- > 0;) {
      for (uint32_t c = C_; c-- > 0;) {
        const size_t x = size_t(i) * C_ + c;
        if (i > 0) {
          wgt_[x] = wgt_[x - C_];
          wtag_[x] = wtag_[x - C_];
        }
        if (c > 0) act_[x] = act_[x - 1];
      }
    }
    for (uint32_t c = 0; c < C_; ++c) {  // top edge: row kk of the active bank
      uint32_t kk = 0;
      Flight* f = streaming(s, c, kk);
      if (f == nullptr) {
        wgt_[c] = 0;
        wtag_[c] = 0;
        continue;
      }
      if (kk == 0 && f->p.switch_weights) {  // the switch flag reaches edge column c
        for (uint32_t k = 0; k < R_; ++k) edge_active_[size_t(k) * C_ + c] = edge_standby_[size_t(k) * C_ + c];
      }
      wgt_[c] = edge_active_[size_t(kk) * C_ + c];
      wtag_[c] = tag(f->serial, kk);
    }
    for (uint32_t i = 0; i < R_; ++i) {  // left edge: element kk of vector i
      uint32_t kk = 0;
      Flight* f = streaming(s, i, kk);
      act_[size_t(i) * C_] = f != nullptr && i < f->p.m && f->p.input != nullptr
                                 ? detail::element_word(dtype_, f->p.input + size_t(i) * f->p.input_stride + kk * es_)
                                 : 0;
    }
    // 4. MACs.
    uint64_t cached = 0;
    Flight* g = nullptr;
    for (uint32_t i = 0; i < R_; ++i) {
      for (uint32_t c = 0; c < C_; ++c) {
        const size_t x = size_t(i) * C_ + c;
        const uint64_t tg = wtag_[x];
        if (!(tg & kValid)) continue;
        if ((tg >> 32) != cached) {
          cached = tg >> 32;
          g = lookup(tg);
        }
        if (g == nullptr) internal("weight of a retired pass");
        const uint32_t kk = uint32_t(tg);
        const uint32_t v = mac_word(dtype_, kk == 0 && !g->p.continue_psums ? 0u : psum_[x], act_[x], wgt_[x]);
        psum_[x] = v;
        if (kk + 1 == g->p.k && g->p.keep_psums) {
          // The partial sum stays for the next pass; nothing drains.
          if (i + 1 == g->p.m && c + 1 == g->p.n) {
            g->done = true;
            done_.push_back(Done{t + 1, g->serial, g->p.id});
          }
          if (--g->remaining == 0) --active_;
        } else if (kk + 1 == g->p.k) {
          if (htag_[x] & kValid) internal("hold register overwritten before the drain loaded it");
          hold_[x] = v;
          htag_[x] = tag(g->serial, i, i < g->p.m);
          if (i + 1 == R_) load_pending_[c] = true;
        }
      }
    }
    while (!flights_.empty() && flights_.front().started && flights_.front().remaining == 0) {
      flights_.pop_front();
      ++base_serial_;
    }
    pe_updates_ += uint64_t(R_) * C_;
    last_step_cycle_ = t;
    ++step_index_;
  }

  detail::PassSequencer seq_;
  uint32_t R_, C_;
  std::vector<uint32_t> act_, wgt_, psum_, hold_, drain_;
  std::vector<uint64_t> wtag_, htag_, dtag_;
  std::vector<uint32_t> chain_left_;
  std::vector<bool> load_pending_;
  std::vector<uint32_t> edge_active_, edge_standby_;
  std::deque<Latch> latches_;
  uint64_t latch_base_ = 0;          // index of latches_.front() among all latches
  std::vector<uint64_t> col_latch_;  // per edge column: the next latch it takes
  std::deque<Flight> flights_;
  uint64_t base_serial_ = 0;
  uint32_t active_ = 0;  // started passes with drain entries left
  uint64_t step_index_ = 0;
  uint64_t last_step_cycle_ = 0;
  uint32_t step_ = 1;
  DType dtype_ = DType::int8;
  uint32_t es_ = 1;
  uint64_t pe_updates_ = 0;
  std::vector<Done> done_;
};

}  // namespace

namespace detail {
std::unique_ptr<ArrayEngine> make_os_pe_engine(const ArrayShape& shape) {
  return std::make_unique<OsPeEngine>(shape);
}
}  // namespace detail

}  // namespace xpu::tpu
