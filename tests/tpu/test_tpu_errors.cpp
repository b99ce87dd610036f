// Program validation errors, assembly parse errors, assembly round trips and
// deadlock reports.
#include <catch2/catch.hpp>
#include <random>

#include "models/tpu/program_check.h"
#include "sim/common/errors.h"
#include "tests/tpu/tpu_test_util.h"

using namespace xpu;
using namespace xpu::tpu;
using namespace xpu::tpu::test;
using Catch::Matchers::Contains;

namespace {
std::string validation_error(const std::string& text, const TpuConfig& cfg) {
  try {
    validate_program(parse_assembly(text, "prog.s"), cfg);
  } catch (const xpu::InternalError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("tpu errors: Tpu::run rejects invalid programs naming instruction and line", "[tpu][errors]") {
  Tpu tpu(load("tpu_small"));
  // k = 9 > mxu.rows = 8.
  const Program bad_k = parse_assembly(
      "read_host_memory host=0 ub=0 bytes=72\n"
      "read_weights weights=0 k=8 n=8\n"
      "\n"
      "matmul ub=0 stride=9 acc=0 rows=8 k=9 n=8   # line 4\n"
      "halt\n",
      "bad_k.s");
  REQUIRE_THROWS_AS(tpu.run(bad_k), xpu::InternalError);
  REQUIRE_THROWS_WITH(tpu.run(bad_k), Contains("instruction 2") && Contains("line 4") &&
                                          Contains("matmul ub=0 stride=9") &&
                                          Contains("k = 9 exceeds mxu.rows = 8"));
  // UB range: 65530 + 64 > 64 KiB.
  const Program bad_ub = parse_assembly("read_host_memory host=0 ub=65530 bytes=64\nhalt\n", "bad_ub.s");
  REQUIRE_THROWS_WITH(tpu.run(bad_ub), Contains("instruction 0") && Contains("line 1") &&
                                           Contains("exceeds unified_buffer.capacity_bytes = 65536"));
  // Nothing ran: the Tpu is still usable, and time did not move.
  CHECK(tpu.now_cycles() == 0);
  const RunResult r = tpu.run(parse_assembly("read_host_memory host=0 ub=0 bytes=8\nhalt\n"));
  CHECK(r.cycles > 0);
}

TEST_CASE("tpu errors: validation rules", "[tpu][errors]") {
  const TpuConfig small = load("tpu_small");
  CHECK_THAT(validation_error("read_weights weights=0 k=8 n=9\n", small), Contains("n = 9 exceeds mxu.cols = 8"));
  CHECK_THAT(validation_error("activate acc=60 rows=8 n=8 ub=0\n", small),
             Contains("accumulator rows [60, 68) exceed accumulators.entries = 64"));
  CHECK_THAT(validation_error("read_weights weights=0 k=8 n=8 dtype=int32\n", small),
             Contains("not an MXU input type"));
  CHECK_THAT(validation_error("matmul ub=0 acc=0 rows=1 k=8 n=8\n", small),
             Contains("no read_weights precedes it"));
  CHECK_THAT(validation_error("read_weights weights=0 k=8 n=8\nmatmul ub=0 acc=0 rows=1 k=4 n=8\n", small),
             Contains("do not match the weight tile"));
  CHECK_THAT(validation_error("read_weights weights=0 k=8 n=8\nhalt\n", small), Contains("never used"));
  CHECK_THAT(validation_error("matmul ub=0 acc=0 rows=1 k=8 n=8 load_weights=0\n", small),
             Contains("no earlier matmul of this program loaded a tile"));
  CHECK_THAT(validation_error("read_weights weights=0 k=8 n=8\nmatmul ub=0 stride=4 acc=0 rows=2 k=8 n=8\n", small),
             Contains("stride 4 is smaller than one input vector (8 bytes)"));
  CHECK_THAT(validation_error("halt\nsync\n", small), Contains("instruction 1") && Contains("after halt"));
  CHECK_THAT(validation_error("write_host_memory ub=0 host=0 bytes=0\n", small), Contains("bytes must be >= 1"));
  // tpu_v2_like has a bf16-only MXU.
  CHECK_THAT(validation_error("read_weights weights=0 k=8 n=8 dtype=int8\n", load("tpu_v2_like")),
             Contains("not supported by this MXU (mxu.supports_int8: false)"));
  CHECK(validation_error("read_weights weights=0 k=8 n=8\nmatmul ub=0 acc=0 rows=3 k=8 n=8\n"
                         "matmul ub=0 acc=3 rows=3 k=8 n=8 load_weights=0 accumulate=1\nhalt\n",
                         small)
            .empty());
}

TEST_CASE("tpu errors: assembly parse errors name file line and token", "[tpu][errors]") {
  auto error_of = [](const std::string& text) -> std::string {
    try {
      parse_assembly(text, "kernel.s");
    } catch (const AssemblyError& e) {
      return e.what();
    }
    return "";
  };
  CHECK(error_of("halt\n\n  matmull ub=0\n") ==
        "kernel.s:3: unknown opcode (did you mean 'matmul'?) (at 'matmull')");
  CHECK(error_of("matmul ub=0 strde=8 acc=0 rows=1 k=8 n=8\n") ==
        "kernel.s:1: unknown key 'strde' for matmul (did you mean 'stride'?) (at 'strde=8')");
  CHECK(error_of("# comment\nmatmul ub=0 acc=0 rows=abc k=8 n=8\n") ==
        "kernel.s:2: expected a non-negative integer (decimal or 0x hex) (at 'rows=abc')");
  CHECK(error_of("matmul ub=0 acc=0 k=8 n=8\n") == "kernel.s:1: missing required key 'rows'");
  CHECK(error_of("read_weights weights=0 k=8 n=8 k=4\n") == "kernel.s:1: duplicate key 'k' (at 'k=4')");
  CHECK(error_of("read_weights weights=0 k=8 n=8 dtype=bfloat16\n") ==
        "kernel.s:1: unknown dtype (expected int8, bf16, fp16, fp32 or int32) (at 'dtype=bfloat16')");
  {  // every function of the unit's table (act_fn.cpp) is listed, the last after "or"
    const auto& fns = tpu::act_fn_names();
    std::string list;
    for (size_t i = 0; i < fns.size(); ++i) list += (i == 0 ? "" : i + 1 == fns.size() ? " or " : ", ") + fns[i];
    CHECK(list.rfind("none, relu, relu6, clip, sigmoid, tanh, gelu, gelu_tanh", 0) == 0);
    CHECK(error_of("activate acc=0 rows=1 n=8 ub=0 fn=swish\n") ==
          "kernel.s:1: unknown activation function (expected " + list + ") (at 'fn=swish')");
  }
  CHECK(error_of("sync now\n") == "kernel.s:1: expected key=value (at 'now')");
  CHECK(error_of("matmul ub=-1 acc=0 rows=1 k=8 n=8\n") ==
        "kernel.s:1: expected a non-negative integer (at 'ub=-1')");
  try {
    parse_assembly("halt\nhlat\n", "x.s");
    FAIL("no error");
  } catch (const AssemblyError& e) {
    CHECK(e.file() == "x.s");
    CHECK(e.line() == 2);
    CHECK(e.token() == "hlat");
  }
  // Comments, blank lines, hex, defaults.
  const Program p = parse_assembly("  # header\n\nmatmul ub=0x10 acc=2 rows=3 k=4 n=5 dtype=bf16 # tail\n");
  REQUIRE(p.code.size() == 1);
  const Instruction& m = p.code[0];
  CHECK(m.ub_addr == 16);
  CHECK(m.ub_stride == 8);  // default: one dense vector, 4 bf16
  CHECK(m.load_weights);
  CHECK_FALSE(m.accumulate);
  CHECK(m.source_line == 3);
}

TEST_CASE("tpu errors: instruction to_string round-trips through the assembler", "[tpu][errors]") {
  std::mt19937 rng(42);
  auto r32 = [&](uint32_t hi) { return std::uniform_int_distribution<uint32_t>(0, hi)(rng); };
  const DType dts[] = {DType::int8, DType::bf16, DType::fp16, DType::fp32, DType::int32};
  for (int i = 0; i < 300; ++i) {
    Instruction in;
    in.op = Opcode(i % 7);
    in.host_addr = (uint64_t(r32(0xFFFFFFFF)) << 8) | r32(255);
    in.ub_addr = r32(1 << 24);
    in.bytes = r32(1 << 20);
    in.weight_addr = uint64_t(r32(0xFFFFFFFF)) * 3;
    in.ub_stride = r32(4096);
    in.acc_addr = r32(4095);
    in.rows = r32(5000);
    in.k = r32(256);
    in.n = r32(256);
    in.dtype = dts[r32(2)];
    in.accumulate = r32(1);
    in.load_weights = r32(1);
    in.fn = ActFn(r32(1));
    in.out_dtype = dts[r32(4)];
    in.scale = std::uniform_real_distribution<float>(-10.0f, 10.0f)(rng) / float(1 + r32(1000));
    const std::string text = in.to_string();
    INFO(text);
    const Program p = parse_assembly(text);
    REQUIRE(p.code.size() == 1);
    CHECK(p.code[0].to_string() == text);
    if (in.op == Opcode::activate) CHECK(float_to_bits(p.code[0].scale) == float_to_bits(in.scale));
  }
  // A whole program.
  const Program p = parse_assembly(to_assembly(parse_assembly(
      "read_host_memory host=0 ub=0 bytes=64\nread_weights weights=0 k=8 n=8\n"
      "matmul ub=0 stride=8 acc=0 rows=8 k=8 n=8\nactivate acc=0 rows=8 n=8 ub=64 fn=relu out_dtype=int8 scale=0.25\n"
      "sync\nwrite_host_memory ub=64 host=0 bytes=64\nhalt\n")));
  CHECK(p.code.size() == 7);
  CHECK(p.code[3].to_string() == "activate acc=0 rows=8 n=8 ub=64 stride=8 fn=relu out_dtype=int8 scale=0.25");
}

TEST_CASE("tpu errors: a deadlocked program is reported", "[tpu][errors]") {
  // 12 tiles fetched before any matmul: the FIFO (4) can only drain two
  // tiles into the array (shift chain + standby) without a matmul; the
  // fetcher then waits for a slot, its queue (4) fills, and the controller
  // can never issue the first matmul.
  Tpu tpu(load("tpu_small"));
  std::string text;
  for (int i = 0; i < 12; ++i) text += "read_weights weights=0 k=8 n=8\n";
  for (int i = 0; i < 12; ++i) text += "matmul ub=0 acc=0 rows=1 k=8 n=8\n";
  text += "halt\n";
  REQUIRE_THROWS_WITH(tpu.run(parse_assembly(text, "deadlock")),
                      Contains("deadlocked") && Contains("waiting for a slot in the weight_fetch queue"));
}
