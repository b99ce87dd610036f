// The vector opcode of the activation unit: values against the reference
// executor's formulas and stream cycles against the documented cost
// (activation_unit.h), on tpu_small (L = 8 lanes, UB ports 16 B/cycle,
// passes_exp 4, passes_reciprocal 2, passes_rsqrt 2, passes_erf 4).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

#include "models/tpu/assembler.h"
#include "models/tpu/tpu.h"
#include "net_test_util.h"
#include "sim/workload/op_table.h"

using namespace xpu;

namespace {

void put_bf16(tpu::Tpu& t, uint64_t addr, const std::vector<float>& v) {
  for (size_t i = 0; i < v.size(); ++i) {
    const uint16_t b = bf16::from_float(v[i]).bits;
    std::memcpy(t.unified_buffer().data() + addr + 2 * i, &b, 2);
  }
}
float get_bf16(tpu::Tpu& t, uint64_t addr) {
  uint16_t b;
  std::memcpy(&b, t.unified_buffer().data() + addr, 2);
  return bf16::from_bits(b).to_float();
}
// Inputs exactly representable in bf16, so the fp32 formulas see the same values.
std::vector<float> bf16_values(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 2.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = bf16::from_float(d(rng)).to_float();
  return v;
}
double busy(const tpu::RunResult& r) { return r.stats.get("tpu.act.busy_cycles"); }

}  // namespace

TEST_CASE("vector ops: values match the reference formulas, cycles the documented cost", "[tpu_network][vector]") {
  const auto cfg = config::load_tpu_config(test::src("configs/accelerators/tpu_small.yaml"));
  tpu::Tpu t(cfg);
  const auto x = bf16_values(64, 7);
  put_bf16(t, 0, x);

  {  // softmax: 4 rows of 16
    // per row: (2 + passes_exp) sweeps x ceil(16 / 8) vectors + passes_reciprocal
    //   = 6 x 2 + 2 = 14 cycles (ports: 32 B / 16 = 2); stream = 4 x 14 = 56.
    auto r = t.run(tpu::parse_assembly("vector op=softmax rows=4 n=16 ub=0 dtype=bf16 dst=1024 out_dtype=bf16\nhalt\n"));
    CHECK(busy(r) == 56);
    for (int row = 0; row < 4; ++row) {
      float m = x[row * 16];
      for (int e = 1; e < 16; ++e) m = std::max(m, x[row * 16 + e]);
      std::vector<float> ex(16);
      float s = 0;
      for (int e = 0; e < 16; ++e) {
        ex[e] = std::exp(x[row * 16 + e] - m);
        s = s + ex[e];
      }
      for (int e = 0; e < 16; ++e)
        CHECK(get_bf16(t, 1024 + 2 * (row * 16 + e)) == bf16::from_float(ex[e] / s).to_float());
    }
  }
  {  // gelu (erf) elementwise: 2 rows of 8
    // packed: ceil(16 elements x (passes_erf + 1 = 5) / 8) = 10 > ports (32 B / 16 = 2).
    auto r = t.run(tpu::parse_assembly("vector op=act fn=gelu rows=2 n=8 ub=0 dtype=bf16 dst=1024 out_dtype=bf16\nhalt\n"));
    CHECK(busy(r) == 10);
    for (int i = 0; i < 16; ++i) {
      const float want = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.7071067811865476f));
      CHECK(get_bf16(t, 1024 + 2 * i) == bf16::from_float(want).to_float());
    }
  }
  {  // silu elementwise: 2 rows of 8, x * (1 / (1 + exp(-x))) with the sigmoid rounded first
    // packed: ceil(16 x (passes_exp 4 + passes_reciprocal 2 + 2) / 8) = 16 > ports (2).
    auto r = t.run(tpu::parse_assembly("vector op=act fn=silu rows=2 n=8 ub=0 dtype=bf16 dst=1024 out_dtype=bf16\nhalt\n"));
    CHECK(busy(r) == 16);
    CHECK(r.stats.get("tpu.act.fp32_adds") == 16 * (8 + 2 + 1));   // exp, reciprocal, 1 + e
    CHECK(r.stats.get("tpu.act.fp32_mults") == 16 * (8 + 3 + 1));  // exp, reciprocal, x * s
    for (int i = 0; i < 16; ++i) {
      const float s = 1.0f / (1.0f + std::exp(-x[i]));
      CHECK(get_bf16(t, 1024 + 2 * i) == bf16::from_float(x[i] * s).to_float());
    }
  }
  {  // leaky_relu (p0 = alpha 0.125) elementwise: 2 rows of 8, x < 0 ? alpha * x : x
    // packed: ceil(16 x 1 / 8) = 2 = ports (32 B / 16); a compare and a multiply per element.
    auto r = t.run(tpu::parse_assembly(
        "vector op=act fn=leaky_relu p0=0.125 rows=2 n=8 ub=0 dtype=bf16 dst=1024 out_dtype=bf16\nhalt\n"));
    CHECK(busy(r) == 2);
    CHECK(r.stats.get("tpu.act.fp32_adds") == 16);
    CHECK(r.stats.get("tpu.act.fp32_mults") == 16);
    for (int i = 0; i < 16; ++i)
      CHECK(get_bf16(t, 1024 + 2 * i) == bf16::from_float(x[i] < 0 ? 0.125f * x[i] : x[i]).to_float());
  }
  {  // add with relu: 4 rows of 8, read-port bound
    // packed lanes: 32 / 8 = 4 cycles; reads 64 + 64 B / 16 = 8; writes 64 / 16 = 4 -> 8.
    auto r = t.run(tpu::parse_assembly(
        "vector op=add fn=relu rows=4 n=8 ub=0 dtype=bf16 ub2=64 stride2=16 dtype2=bf16 dst=1024 out_dtype=bf16\nhalt\n"));
    CHECK(busy(r) == 8);
    for (int i = 0; i < 32; ++i) {
      const float s = x[i] + x[32 + i];
      CHECK(get_bf16(t, 1024 + 2 * i) == bf16::from_float(s < 0 ? 0.0f : s).to_float());
    }
  }
  {  // layernorm with scale/shift rows: 2 rows of 16
    // per row: 4 sweeps x 2 vectors + passes_rsqrt 2 = 10; stream 20.
    std::vector<float> rows(32);
    for (int i = 0; i < 16; ++i) {
      rows[i] = 1.0f + 0.25f * float(i);
      rows[16 + i] = -0.5f + 0.125f * float(i);
    }
    std::memcpy(t.unified_buffer().data() + 2048, rows.data(), 128);
    auto r = t.run(tpu::parse_assembly("vector op=layernorm rows=2 n=16 ub=0 dtype=bf16 ub2=2048 stride2=64 dtype2=fp32 "
                                       "affine=1 p0=1e-5 dst=1024 out_dtype=bf16\nhalt\n"));
    CHECK(busy(r) == 20);
    for (int row = 0; row < 2; ++row) {
      const float* X = x.data() + row * 16;
      float s = 0;
      for (int i = 0; i < 16; ++i) s = s + X[i];
      const float mean = s / 16.0f;
      float sq = 0;
      for (int i = 0; i < 16; ++i) {
        const float d = X[i] - mean;
        const float d2 = d * d;
        sq = sq + d2;
      }
      const float inv = 1.0f / std::sqrt(sq / 16.0f + 1e-5f);
      for (int i = 0; i < 16; ++i) {
        const float want = (X[i] - mean) * inv * rows[i] + rows[16 + i];
        CHECK(get_bf16(t, 1024 + 2 * (row * 16 + i)) == bf16::from_float(want).to_float());
      }
    }
  }
  {  // copy is data movement at the packed port rate; transpose moves elements
    // 64 bf16 elements: ceil(64 / 8) = 8; 128 B / 16 = 8 both ways -> 8.
    auto r = t.run(tpu::parse_assembly("vector op=transpose rows=4 n=16 ub=0 dtype=bf16 dst=1024 dst_stride=8 dst_estride=1 "
                                       "out_dtype=bf16\nhalt\n"));
    CHECK(busy(r) == 8);
    for (int rr = 0; rr < 4; ++rr)
      for (int e = 0; e < 16; ++e) CHECK(get_bf16(t, 1024 + e * 8 + rr * 2) == x[rr * 16 + e]);
  }
}

TEST_CASE("activate with bias and a fused function: old programs keep their timing", "[tpu_network][vector]") {
  const auto cfg = config::load_tpu_config(test::src("configs/accelerators/tpu_small.yaml"));
  tpu::Tpu t(cfg);
  tpu::ActivationConfig a = cfg.activation;
  // duration = latency + rows x max(ceil(n x passes / L), write port): relu 2 + 4 x 1 = 6;
  // sigmoid: passes = exp 4 + reciprocal 2 + 1 = 7 -> 2 + 4 x 7 = 30.
  CHECK(tpu::act_fn_passes(a, tpu::ActFn::relu) == 1);
  CHECK(tpu::act_fn_passes(a, tpu::ActFn::sigmoid) == 7);
  auto r1 = t.run(tpu::parse_assembly("activate acc=0 rows=4 n=8 ub=0 fn=relu out_dtype=int8\nhalt\n"));
  CHECK(r1.stats.get("tpu.act.busy_cycles") == 6);
  auto r2 = t.run(tpu::parse_assembly("activate acc=0 rows=4 n=8 ub=0 fn=sigmoid out_dtype=bf16\nhalt\n"));
  CHECK(r2.stats.get("tpu.act.busy_cycles") == 30);
}

TEST_CASE("moments vop: per-row mean and inverse standard deviation as layernorm computes them", "[tpu_network][vector]") {
  const auto cfg = config::load_tpu_config(test::src("configs/accelerators/tpu_small.yaml"));
  tpu::Tpu t(cfg);
  const auto x = bf16_values(48, 11);
  put_bf16(t, 0, x);
  // 3 rows of 16 bf16, fp32 out: per row 2 sweeps x ceil(16 / 8) vectors +
  // passes_rsqrt 2 = 6 (ports: 32 B read / 16 = 2, 8 B written / 16 = 1);
  // stream 3 x 6 = 18. Energy: 48 x (3 adds + 1 mult) + 3 rsqrt (2 + 3).
  auto r = t.run(tpu::parse_assembly("vector op=moments rows=3 n=16 ub=0 dtype=bf16 p0=1e-3 dst=1024 dst_stride=8 "
                                     "out_dtype=fp32\nhalt\n"));
  CHECK(busy(r) == 18);
  CHECK(r.stats.get("tpu.act.fp32_adds") == 48 * 3 + 3 * 2);
  CHECK(r.stats.get("tpu.act.fp32_mults") == 48 * 1 + 3 * 3);
  CHECK(r.stats.get("tpu.act.vector_elements") == 6);
  for (int row = 0; row < 3; ++row) {
    const float* X = x.data() + row * 16;
    float s = 0;
    for (int i = 0; i < 16; ++i) s = s + X[i];
    const float mean = s / 16.0f;
    float sq = 0;
    for (int i = 0; i < 16; ++i) {
      const float d = X[i] - mean;
      const float d2 = d * d;
      sq = sq + d2;
    }
    const float inv = 1.0f / std::sqrt(sq / 16.0f + 1e-3f);
    float got[2];
    std::memcpy(got, t.unified_buffer().data() + 1024 + 8 * row, 8);
    CHECK(got[0] == mean);
    CHECK(got[1] == inv);
  }
  // The text form round-trips.
  const auto p = tpu::parse_assembly("vector op=moments rows=3 n=16 ub=0 dtype=bf16 p0=1e-3 dst=1024 dst_stride=8 "
                                     "out_dtype=fp32\nhalt\n");
  CHECK(tpu::parse_assembly(p.code[0].to_string() + "\nhalt\n").code[0].to_string() == p.code[0].to_string());
}

TEST_CASE("every workload activation has an activation-unit function of its name", "[tpu_network][vector][optable]") {
  workload::Attrs a;
  for (const auto& row : workload::activations()) {
    for (bool tanh_form : {false, true}) {
      a.gelu_tanh = tanh_form;
      const std::string name = workload::activation_fn(row.op, a);
      INFO(name);
      const auto fn = tpu::act_fn_from_name(name);
      REQUIRE(fn);
      CHECK(tpu::act_fn_name(*fn) == name);
      // The unit gets exactly the row's parameters.
      CHECK(tpu::act_fn_params(*fn) == row.params.size());
    }
  }
  // Names and enum values agree (rows in enum order), and the text form round-trips.
  const auto& names = tpu::act_fn_names();
  for (size_t i = 0; i < names.size(); ++i) {
    INFO(names[i]);
    CHECK(tpu::act_fn_from_name(names[i]) == tpu::ActFn(i));
    const auto p = tpu::parse_assembly("activate acc=0 rows=1 n=8 ub=0 fn=" + names[i] +
                                       " out_dtype=bf16 p0=0.25 p1=3\nhalt\n");
    const auto again = tpu::parse_assembly(p.code[0].to_string() + "\nhalt\n");
    CHECK(again.code[0].to_string() == p.code[0].to_string());
    CHECK(again.code[0].p0 == (tpu::act_fn_params(tpu::ActFn(i)) > 0 ? 0.25f : 0.0f));
  }
}
