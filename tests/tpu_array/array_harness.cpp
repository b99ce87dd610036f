#include "tests/tpu_array/array_harness.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <sstream>

#include "sim/numerics/mac.h"
#include "sim/numerics/reference_gemm.h"

namespace xpu::tpu::test {

namespace {

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kFar = uint64_t(1) << 62;

uint16_t float_bits16(DType t, float f) {
  return t == DType::bf16 ? bf16::from_float(f).bits : fp16::from_float(f).bits;
}

// One 16-bit float element of the requested kind.
uint16_t special16(DType t, std::mt19937_64& rng) {
  const bool b = t == DType::bf16;
  const uint16_t sign = (rng() & 1) ? 0x8000 : 0;
  const int pick = int(rng() % 200);
  if (pick < 2) {  // NaNs: quiet, other payloads, negative, signalling
    static const uint16_t kBf[] = {0x7FC0, 0x7FA1, 0xFFC3, 0x7F81};
    static const uint16_t kFp[] = {0x7E00, 0x7D55, 0xFE01, 0x7C01};
    return (b ? kBf : kFp)[rng() % 4];
  }
  if (pick < 4) return uint16_t((b ? 0x7F80 : 0x7C00) | sign);  // +-Inf
  if (pick < 50) {  // subnormal
    const uint16_t frac = uint16_t(1 + rng() % (b ? 0x7F : 0x3FF));
    return uint16_t(frac | sign);
  }
  if (pick < 80) return sign;  // +-0
  if (pick < 90) return uint16_t(((b ? 0x7F7F : 0x7BFF) - rng() % 16) | sign);  // near max
  if (pick < 110) {  // smallest normals (products underflow, for bf16 to subnormal fp32)
    return uint16_t(((b ? 0x0080 : 0x0400) + rng() % 64) | sign);
  }
  std::uniform_real_distribution<float> d(-4.0f, 4.0f);
  return float_bits16(t, d(rng));
}

}  // namespace

const uint8_t* Scenario::add_blob(std::vector<uint8_t> bytes) {
  blobs.push_back(std::make_shared<std::vector<uint8_t>>(std::move(bytes)));
  return blobs.back()->data();
}

std::vector<uint8_t> random_elements(DType t, size_t count, Values v, std::mt19937_64& rng) {
  std::vector<uint8_t> out(count * dtype_bytes(t));
  if (t == DType::int8) {
    for (size_t i = 0; i < count; ++i) {
      int8_t x;
      if (v == Values::random || rng() % 2) {
        x = int8_t(int(rng() % 256) - 128);
      } else {
        static const int8_t kEdge[] = {-128, 127, 0, -1, 1, -127};
        x = kEdge[rng() % 6];
      }
      std::memcpy(&out[i], &x, 1);
    }
    return out;
  }
  std::uniform_real_distribution<float> mod(-4.0f, 4.0f);
  std::uniform_real_distribution<float> big(0.5f, 1.0f);
  for (size_t i = 0; i < count; ++i) {
    uint16_t b = 0;
    switch (v) {
      case Values::random: b = float_bits16(t, mod(rng)); break;
      case Values::special: b = special16(t, rng); break;
      case Values::huge: {
        // bf16: ~1e19..3e38, so products overflow to Inf and Inf - Inf = NaN;
        // fp16: up to 65504 (fp16 products are exact, sums grow large).
        const float scale = t == DType::bf16 ? 3.0e38f : 65504.0f;
        const float mag = t == DType::bf16 && rng() % 2 ? 1.0e19f : scale;
        b = float_bits16(t, big(rng) * mag * ((rng() & 1) ? -1.0f : 1.0f));
        break;
      }
    }
    std::memcpy(&out[2 * i], &b, 2);
  }
  return out;
}

RunResult run(const Scenario& sc, ArrayEngine& engine, Drive drive) {
  RunResult r;
  r.acc = sc.acc_init;
  auto record = [&](const std::vector<Completion>& v, uint64_t now) {
    for (const Completion& c : v) {
      r.done.push_back(c);
      r.reported_at.push_back(now);
    }
  };
  auto apply = [&](const Op& op) {
    if (op.is_latch) {
      engine.latch_standby(op.tile, op.when);
    } else {
      Pass p = op.pass;
      p.acc = op.has_acc ? r.acc.data() + op.acc_offset : nullptr;
      engine.submit(p);
    }
  };
  auto step_events_until = [&](uint64_t limit) {
    for (uint64_t t = engine.next_event(); t != kNever && t <= limit; t = engine.next_event()) {
      record(engine.advance_to(t), t);
    }
  };
  switch (drive) {
    case Drive::upfront:
      for (const Op& op : sc.ops) apply(op);
      record(engine.advance_to(kFar), kFar);
      break;
    case Drive::event:
      for (const Op& op : sc.ops) apply(op);
      step_events_until(kNever);
      break;
    case Drive::interleaved: {
      uint64_t now = 0;
      for (const Op& op : sc.ops) {
        const uint64_t t = op.is_latch ? op.when : op.pass.start;
        if (t > now) {
          step_events_until(t);
          now = t;
          record(engine.advance_to(now), now);
        }
        apply(op);
      }
      step_events_until(kNever);
      break;
    }
  }
  r.pe_updates = engine.pe_updates();
  return r;
}

namespace {
// Accumulator contents before a run: anything, including -0 and for special
// values NaN and Inf; int32 near the limits for `huge`, so the wrapping adds
// overflow.
void fill_acc(std::vector<uint32_t>& acc, DType t, Values v, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> d(-8.0f, 8.0f);
  for (uint32_t& w : acc) {
    if (t == DType::int8) {
      w = v == Values::random ? uint32_t(rng())
                              : uint32_t(0x7FFFFFFFu - rng() % 4096) ^
                                    ((rng() & 1) ? 0xFFFFFFFFu : 0u);
      continue;
    }
    w = float_to_bits(d(rng));
    const int pick = int(rng() % 16);
    if (pick == 0) w = 0x80000000u;  // -0
    if (pick == 1) w = 0;
    if (v == Values::special && pick == 2) w = 0x7FC00000u | uint32_t(rng() % 7);  // NaN
    if (v != Values::random && pick == 3) w = (rng() & 1) ? 0x7F800000u : 0xFF800000u;
  }
}
}  // namespace

GemmCase gemm_case(const ArrayShape& a, DType t, uint32_t step, uint32_t M, uint32_t K,
                   uint32_t N, Values v, uint64_t seed, bool accumulate, uint32_t gap) {
  std::mt19937_64 rng(seed);
  GemmCase g;
  g.dtype = t;
  g.M = M;
  g.K = K;
  g.N = N;
  g.accumulate = accumulate;
  Scenario& sc = g.sc;
  sc.shape = a;
  std::ostringstream name;
  name << a.rows << "x" << a.cols << " " << dtype_name(t) << " M" << M << " K" << K << " N" << N
       << " step" << step << " seed" << seed << (accumulate ? " acc" : "");
  sc.name = name.str();
  const size_t es = dtype_bytes(t);
  g.A = random_elements(t, size_t(M) * K, v, rng);
  g.B = random_elements(t, size_t(K) * N, v, rng);
  // Engines read A with a gap after each vector.
  std::vector<uint8_t> padded(size_t(M) * (K + gap) * es, 0xA5);
  for (uint32_t r = 0; r < M; ++r) {
    std::memcpy(&padded[size_t(r) * (K + gap) * es], &g.A[size_t(r) * K * es], K * es);
  }
  const uint8_t* input = sc.add_blob(std::move(padded));
  sc.acc_init.resize(size_t(M) * N);
  fill_acc(sc.acc_init, t, v, rng);

  uint64_t input_free_c = 0, last_switch_done = 0, when = 0;
  bool first = true;
  uint64_t id = 1;
  for (uint32_t c0 = 0; c0 < N; c0 += a.cols) {
    const uint32_t nn = std::min(a.cols, N - c0);
    for (uint32_t k0 = 0; k0 < K; k0 += a.rows) {
      const uint32_t kk = std::min(a.rows, K - k0);
      std::vector<uint8_t> tile(size_t(kk) * nn * es);
      for (uint32_t k = 0; k < kk; ++k) {
        std::memcpy(&tile[size_t(k) * nn * es], &g.B[(size_t(k0 + k) * N + c0) * es], nn * es);
      }
      Op l;
      l.is_latch = true;
      when = first ? 0 : std::max(when, last_switch_done);
      l.when = when;
      l.tile = WeightTile{t, kk, nn, sc.add_blob(std::move(tile))};
      sc.ops.push_back(l);

      Op op;
      Pass& p = op.pass;
      p.id = id++;
      p.dtype = t;
      p.step = step;
      p.m = M;
      p.k = kk;
      p.n = nn;
      p.switch_weights = true;
      p.input = input + size_t(k0) * es;
      p.input_stride = (K + gap) * es;
      p.acc_stride = N;
      p.accumulate = accumulate || k0 > 0;
      const uint64_t s = std::max(input_free_c, when);
      p.start = (s + step - 1) / step * step;
      op.acc_offset = c0;
      sc.ops.push_back(op);
      input_free_c = input_free(p);
      last_switch_done = switch_done(a, p);
      first = false;
    }
  }
  return g;
}

std::vector<uint32_t> GemmCase::expected() const {
  std::vector<uint32_t> out = sc.acc_init;
  if (dtype == DType::int8) {
    std::vector<int8_t> a(A.size()), b(B.size());
    std::vector<int32_t> c(out.size());
    std::memcpy(a.data(), A.data(), A.size());
    std::memcpy(b.data(), B.data(), B.size());
    std::memcpy(c.data(), out.data(), out.size() * 4);
    ref_gemm_int8(M, N, K, a.data(), b.data(), c.data(), accumulate);
    std::memcpy(out.data(), c.data(), out.size() * 4);
    return out;
  }
  std::vector<float> c(out.size());
  std::memcpy(c.data(), out.data(), out.size() * 4);
  if (dtype == DType::bf16) {
    std::vector<bf16> a(A.size() / 2), b(B.size() / 2);
    std::memcpy(a.data(), A.data(), A.size());
    std::memcpy(b.data(), B.data(), B.size());
    ref_gemm_f16<bf16>(M, N, K, a.data(), b.data(), c.data(), accumulate, k_chunk ? k_chunk : sc.shape.rows);
  } else {
    std::vector<fp16> a(A.size() / 2), b(B.size() / 2);
    std::memcpy(a.data(), A.data(), A.size());
    std::memcpy(b.data(), B.data(), B.size());
    ref_gemm_f16<fp16>(M, N, K, a.data(), b.data(), c.data(), accumulate, k_chunk ? k_chunk : sc.shape.rows);
  }
  std::memcpy(out.data(), c.data(), out.size() * 4);
  // The engines write NaN as the canonical quiet NaN (mxu_array.h).
  for (uint32_t& w : out) {
    if ((w & 0x7FFFFFFFu) > 0x7F800000u) w = 0x7FC00000u;
  }
  return out;
}

Scenario random_sequence(const ArrayShape& a, DType t0, uint32_t step0, int passes, Values v,
                         uint64_t seed, bool change_dtype) {
  std::mt19937_64 rng(seed);
  Scenario sc;
  sc.shape = a;
  std::ostringstream name;
  name << a.rows << "x" << a.cols << " " << dtype_name(t0) << " step" << step0 << " passes"
       << passes << " seed" << seed << (change_dtype ? " dtype-change" : "");
  sc.name = name.str();
  const uint32_t R = a.rows, C = a.cols;
  const uint32_t max_m = 2 * R + 3;
  const size_t acc_stride = C + 2;
  const int regions = 3;
  sc.acc_init.resize((size_t(regions) * max_m + 2) * acc_stride);
  fill_acc(sc.acc_init, t0, v, rng);

  bool have_prev = false, have_switch = false, have_active = false;
  uint64_t input_free_c = 0, max_completion = 0, last_switch_done = 0, last_latch = 0;
  DType prev_t = t0;
  uint32_t prev_step = step0, tile_k = 0, tile_n = 0;
  for (int i = 0; i < passes; ++i) {
    DType t = t0;
    uint32_t step = step0;
    if (change_dtype && i >= passes / 2) {
      t = t0 == DType::int8 ? DType::bf16 : (t0 == DType::bf16 ? DType::int8 : DType::bf16);
      step = t == DType::int8 ? 1 : 2;
    }
    const size_t es = dtype_bytes(t);
    const bool change = have_prev && (t != prev_t || step != prev_step);
    const bool sw = !have_active || change || rng() % 2 == 0;
    const uint32_t m = 1 + uint32_t(rng() % (i % 3 == 0 ? max_m : std::max(1u, R / 2 + 2)));
    uint64_t start = input_free_c;
    if (change) start = std::max({start, max_completion, have_switch ? last_switch_done : 0});
    uint32_t k, n;
    if (sw) {
      tile_k = 1 + uint32_t(rng() % R);
      tile_n = 1 + uint32_t(rng() % C);
      if (rng() % 3 == 0) tile_k = R;
      if (rng() % 3 == 0) tile_n = C;
      // Exactly at the previous switch_done (the earliest legal cycle), sometimes later.
      uint64_t when = std::max(have_switch ? last_switch_done : 0, last_latch);
      if (rng() % 4 == 0) when += rng() % 7;
      Op l;
      l.is_latch = true;
      l.when = when;
      l.tile = WeightTile{t, tile_k, tile_n,
                          sc.add_blob(random_elements(t, size_t(tile_k) * tile_n, v, rng))};
      sc.ops.push_back(l);
      last_latch = when;
      start = std::max(start, when);
    }
    // Mostly the tile's own shape; sometimes fewer or more rows/columns than
    // the tile (exercises the +0 rows and columns).
    k = rng() % 4 == 0 ? 1 + uint32_t(rng() % R) : tile_k;
    n = rng() % 4 == 0 ? 1 + uint32_t(rng() % C) : tile_n;
    start = (start + step - 1) / step * step;
    if (rng() % 6 == 0) start += step * (rng() % 4);

    Op op;
    Pass& p = op.pass;
    p.id = 100 + uint64_t(i);
    p.dtype = t;
    p.step = step;
    p.m = m;
    p.k = k;
    p.n = n;
    p.switch_weights = sw;
    p.input_stride = k * es;
    p.input = sc.add_blob(random_elements(t, size_t(m) * k, v, rng));
    p.acc_stride = acc_stride;
    p.accumulate = rng() % 3 != 0;
    p.start = start;
    // Regions overlap by whole rows, never shifted by a column: accumulator
    // column c is fed by array column c (mxu_array.h).
    op.acc_offset = (size_t(rng() % regions) * max_m + rng() % 3) * acc_stride;
    sc.ops.push_back(op);

    have_prev = true;
    prev_t = t;
    prev_step = step;
    input_free_c = input_free(p);
    max_completion = std::max(max_completion, pass_completion(a, p));
    if (sw) {
      have_switch = true;
      have_active = true;
      last_switch_done = switch_done(a, p);
    }
  }
  return sc;
}

long first_difference(const std::vector<uint32_t>& x, const std::vector<uint32_t>& y) {
  if (x.size() != y.size()) return 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] != y[i]) return long(i);
  }
  return -1;
}

std::string describe(const Completion& c) {
  return "{id " + std::to_string(c.id) + ", cycle " + std::to_string(c.cycle) + "}";
}

}  // namespace xpu::tpu::test
