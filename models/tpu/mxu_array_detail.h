#pragma once
// Internals shared by the two array engines (mxu_tile_engine.cpp,
// mxu_pe_engine.cpp): the sequencing rules both enforce, so that they accept
// and reject exactly the same call sequences, and element decoding.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "models/tpu/mxu_array.h"
#include "sim/numerics/mac.h"

namespace xpu::tpu::detail {

// The 32-bit register word of one input or weight element: fp32 bits for
// bf16/fp16 (both widen exactly), the sign-extended int32 for int8.
inline uint32_t element_word(DType t, const uint8_t* p) {
  switch (t) {
    case DType::int8: {
      int8_t v;
      std::memcpy(&v, p, 1);
      return static_cast<uint32_t>(int32_t{v});
    }
    case DType::bf16: {
      uint16_t b;
      std::memcpy(&b, p, 2);
      return float_to_bits(bf16::from_bits(b).to_float());
    }
    case DType::fp16: {
      uint16_t b;
      std::memcpy(&b, p, 2);
      return float_to_bits(fp16::from_bits(b).to_float());
    }
    default:
      return 0;  // rejected by PassSequencer before any data is read
  }
}

inline bool is_int(DType t) { return t == DType::int8; }

// Accumulator words are written with NaNs canonical (see mxu_array.h): which
// NaN operand the host propagates depends on an operand order the compiler
// may swap, so payloads would differ between the two engines' loops.
constexpr uint32_t kCanonicalNaN = 0x7FC00000u;
inline uint32_t canonical_nan(uint32_t fp32_bits) {
  return (fp32_bits & 0x7FFFFFFFu) > 0x7F800000u ? kCanonicalNaN : fp32_bits;
}

// Validates latch/submit/advance calls against the rules in mxu_array.h and
// remembers what later checks need. Throws std::logic_error naming the rule.
class PassSequencer {
 public:
  // acc_transposed: the pass writes accumulator row c (array column),
  // column r (stream index) -- the WS core inside the IS PE engine.
  explicit PassSequencer(const ArrayShape& shape, Dataflow df = Dataflow::ws, bool acc_transposed = false);

  void check_latch(const WeightTile& tile, uint64_t when);
  void check_submit(const Pass& p);
  void check_advance(uint64_t now);

  const ArrayShape& shape() const { return shape_; }

 private:
  [[noreturn]] void fail(const std::string& what) const;

  ArrayShape shape_;
  Dataflow df_ = Dataflow::ws;
  bool acc_transposed_ = false;
  uint64_t now_ = 0;
  // Previous pass (for earliest_start, precision changes).
  bool have_prev_ = false;
  Pass prev_;
  DType prev_dtype_ = DType::int8;
  uint32_t prev_step_ = 1;
  uint64_t max_completion_ = 0;  // over every pass submitted so far
  bool have_drain_ = false;      // OS: the last pass that drained (did not keep psums)
  Pass last_drain_;
  // Weights.
  bool latched_ = false;        // standby holds a tile
  uint64_t last_latch_ = 0;     // `when` of the newest latch
  DType standby_dtype_ = DType::int8;
  bool have_active_ = false;    // some pass switched a tile in
  DType active_dtype_ = DType::int8;
  bool have_switch_ = false;
  uint64_t last_switch_done_ = 0;  // of the newest switching pass
  // IS stationary inputs.
  bool have_inputs_switch_ = false;
  uint64_t last_inputs_switch_done_ = 0, last_inputs_latch_ = 0;
  uint32_t inputs_m_ = 0, inputs_k_ = 0;
  DType inputs_dtype_ = DType::int8;
};

// Engine factories behind make_array_engine() (mxu_array.cpp).
std::unique_ptr<ArrayEngine> make_tile_engine_df(const ArrayShape& shape, Dataflow df);
std::unique_ptr<ArrayEngine> make_is_pe_engine(const ArrayShape& shape);
std::unique_ptr<ArrayEngine> make_os_pe_engine(const ArrayShape& shape);

}  // namespace xpu::tpu::detail
