// Integer expressions of the workload YAML format.
#include <catch2/catch.hpp>

#include "sim/workload/expr.h"

using namespace xpu::workload;

namespace {

std::optional<int64_t> ev(const std::string& text, std::string* err = nullptr) {
  std::string e;
  auto r = eval_expr(text, [](const std::string& n) -> std::optional<int64_t> {
    if (n == "batch") return 8;
    if (n == "mid") return 64;
    return std::nullopt;
  }, e);
  if (err) *err = e;
  return r;
}

}  // namespace

TEST_CASE("Expressions follow precedence, parentheses and names") {
  CHECK(ev("42") == 42);
  CHECK(ev("1_000") == 1000);
  CHECK(ev("mid * 4") == 256);
  CHECK(ev("batch * 7 * 7") == 392);
  CHECK(ev("2 + 3 * 4") == 14);
  CHECK(ev("(2 + 3) * 4") == 20);
  CHECK(ev("10 - 4 - 3") == 3);  // left associative
  CHECK(ev("-3 + 5") == 2);
  CHECK(ev("min(mid, 16) + max(1, batch)") == 24);
  CHECK(ev("768 / 12") == 64);
  CHECK(ev("7 // 2") == 3);
  CHECK(ev("-7 // 2") == -4);  // floor division
  CHECK(ev("-7 % 3") == 2);    // the remainder that matches //
  CHECK(ev(" ( 224 - 7 + 2 * 3 ) // 2 + 1 ") == 112);
}

TEST_CASE("Expression errors say what and where") {
  std::string err;
  CHECK_FALSE(ev("7 / 2", &err));
  CHECK_THAT(err, Catch::Contains("not exact"));
  CHECK_FALSE(ev("batch * bach", &err));
  CHECK_THAT(err, Catch::Contains("unknown name 'bach'"));
  CHECK_THAT(err, Catch::Contains("column 9"));
  CHECK_FALSE(ev("3 +", &err));
  CHECK_THAT(err, Catch::Contains("expected a value"));
  CHECK_FALSE(ev("(3 + 4", &err));
  CHECK_THAT(err, Catch::Contains("expected ')'"));
  CHECK_FALSE(ev("4 $ 2", &err));
  CHECK_THAT(err, Catch::Contains("unexpected '$'"));
  CHECK_FALSE(ev("1 // 0", &err));
  CHECK_THAT(err, Catch::Contains("division by zero"));
  CHECK_FALSE(ev("9223372036854775807 + 1", &err));
  CHECK_THAT(err, Catch::Contains("overflow"));
  CHECK_FALSE(ev("99999999999999999999", &err));
  CHECK_THAT(err, Catch::Contains("overflow"));
  CHECK_FALSE(ev("", &err));
}
