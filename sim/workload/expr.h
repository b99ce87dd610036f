#pragma once
// Integer expressions for workload YAML values: "batch * 49", "mid * 4",
// "(size - 1) // 2 + 1". Grammar (usual precedence, left associative):
//   expr    := term (('+' | '-') term)*
//   term    := unary (('*' | '/' | '//' | '%') unary)*
//   unary   := '-' unary | primary
//   primary := integer | name | '(' expr ')' | ('min' | 'max') '(' expr ',' expr ')'
// '/' must divide exactly (an error otherwise, so a typo cannot round
// silently); '//' is floor division; '%' the matching remainder. Names are
// looked up in the enclosing scopes (block arguments, then params).
// Overflow of 64-bit integers is an error, and so is nesting (parentheses,
// unary minus, min/max) deeper than kMaxExprDepth levels.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace xpu::workload {

inline constexpr int kMaxExprDepth = 200;

using NameLookup = std::function<std::optional<int64_t>(const std::string&)>;

// Returns the value, or nullopt with `error` set.
std::optional<int64_t> eval_expr(const std::string& text, const NameLookup& lookup, std::string& error);

}  // namespace xpu::workload
