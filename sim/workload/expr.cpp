#include "sim/workload/expr.h"

#include <cctype>

namespace xpu::workload {

namespace {

struct Failure {
  std::string message;
};

class Parser {
 public:
  Parser(const std::string& text, const NameLookup& lookup) : t_(text), lookup_(lookup) {}

  int64_t parse() {
    const int64_t v = expr();
    skip();
    if (p_ != t_.size()) fail("unexpected '" + t_.substr(p_, 1) + "'");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& m) const {
    // A long expression is quoted by its start only: the column locates the problem.
    const std::string shown = t_.size() <= 80 ? t_ : t_.substr(0, 77) + "...";
    throw Failure{m + " at column " + std::to_string(p_ + 1) + " of \"" + shown + "\""};
  }
  void skip() {
    while (p_ < t_.size() && std::isspace(static_cast<unsigned char>(t_[p_]))) ++p_;
  }
  bool eat(const char* tok) {
    skip();
    const std::string s(tok);
    if (t_.compare(p_, s.size(), s) != 0) return false;
    // "/" must not match the start of "//".
    if (s == "/" && p_ + 1 < t_.size() && t_[p_ + 1] == '/') return false;
    p_ += s.size();
    return true;
  }
  void check(bool overflow) const {
    if (overflow) fail("integer overflow");
  }

  int64_t expr() {
    int64_t v = term();
    for (;;) {
      int64_t r = 0;
      if (eat("+")) {
        const int64_t b = term();
        check(__builtin_add_overflow(v, b, &r));
        v = r;
      } else if (eat("-")) {
        const int64_t b = term();
        check(__builtin_sub_overflow(v, b, &r));
        v = r;
      } else {
        return v;
      }
    }
  }

  int64_t term() {
    int64_t v = unary();
    for (;;) {
      int64_t r = 0;
      if (eat("*")) {
        const int64_t b = unary();
        check(__builtin_mul_overflow(v, b, &r));
        v = r;
      } else if (eat("//")) {
        const int64_t b = divisor(v);
        int64_t q = v / b;
        if ((v % b != 0) && ((v < 0) != (b < 0))) --q;
        v = q;
      } else if (eat("/")) {
        const int64_t b = divisor(v);
        if (v % b != 0)
          fail(std::to_string(v) + " / " + std::to_string(b) + " is not exact (use // for floor division)");
        v /= b;
      } else if (eat("%")) {
        const int64_t b = divisor(v);
        int64_t m = v % b;
        if (m != 0 && ((m < 0) != (b < 0))) m += b;
        v = m;
      } else {
        return v;
      }
    }
  }

  // Returns a non-zero divisor; INT64_MIN / -1 (and its floor and remainder
  // forms) is the one quotient that does not fit, and traps on x86.
  int64_t divisor(int64_t dividend) {
    const int64_t b = unary();
    if (b == 0) fail("division by zero");
    if (b == -1 && dividend == INT64_MIN) fail("integer overflow");
    return b;
  }

  // Each nesting level (parenthesis, unary minus, min/max) costs stack; a
  // bound keeps a hostile expression from overflowing it.
  struct Nest {
    explicit Nest(Parser& p) : p_(p) {
      if (++p_.depth_ > kMaxExprDepth) p_.fail("nested more than " + std::to_string(kMaxExprDepth) + " levels deep");
    }
    ~Nest() { --p_.depth_; }
    Parser& p_;
  };

  int64_t unary() {
    const Nest nest(*this);
    if (eat("-")) {
      const int64_t v = unary();
      int64_t r = 0;
      check(__builtin_sub_overflow(int64_t(0), v, &r));
      return r;
    }
    return primary();
  }

  int64_t primary() {
    skip();
    if (p_ >= t_.size()) fail("expected a value");
    if (eat("(")) {
      const int64_t v = expr();
      if (!eat(")")) fail("expected ')'");
      return v;
    }
    const char c = t_[p_];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      int64_t v = 0;
      while (p_ < t_.size() && (std::isdigit(static_cast<unsigned char>(t_[p_])) || t_[p_] == '_')) {
        if (t_[p_] != '_') {
          check(__builtin_mul_overflow(v, int64_t(10), &v));
          check(__builtin_add_overflow(v, int64_t(t_[p_] - '0'), &v));
        }
        ++p_;
      }
      return v;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const size_t start = p_;
      while (p_ < t_.size() && (std::isalnum(static_cast<unsigned char>(t_[p_])) || t_[p_] == '_')) ++p_;
      const std::string name = t_.substr(start, p_ - start);
      if (name == "min" || name == "max") {
        if (!eat("(")) fail("expected '(' after " + name);
        const int64_t a = expr();
        if (!eat(",")) fail("expected ',' in " + name + "(a, b)");
        const int64_t b = expr();
        if (!eat(")")) fail("expected ')'");
        return name == "min" ? (a < b ? a : b) : (a < b ? b : a);
      }
      const auto v = lookup_(name);
      if (!v) {
        p_ = start;
        fail("unknown name '" + name + "'");
      }
      return *v;
    }
    fail("unexpected '" + std::string(1, c) + "'");
  }

  const std::string& t_;
  const NameLookup& lookup_;
  size_t p_ = 0;
  int depth_ = 0;
};

}  // namespace

std::optional<int64_t> eval_expr(const std::string& text, const NameLookup& lookup, std::string& error) {
  try {
    return Parser(text, lookup).parse();
  } catch (const Failure& f) {
    error = f.message;
    return std::nullopt;
  }
}

}  // namespace xpu::workload
