#pragma once
// Text helpers for SCALE-Sim files: trimming, comma splitting, integers.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xpu::workload::scalesim {

std::string trim(const std::string& s);
std::string lower(std::string s);
// Splits on ','; fields are trimmed.
std::vector<std::string> split_commas(const std::string& line);
// A decimal integer (optional surrounding blanks, optional leading '+'),
// like Python's int(); nullopt for anything else or overflow.
std::optional<int64_t> parse_int(const std::string& s);
// Text lines of a file with their 1-based numbers; throws config::ConfigError
// naming the file if it cannot be read.
std::vector<std::string> read_lines(const std::string& path);
std::vector<std::string> split_lines(const std::string& text);

}  // namespace xpu::workload::scalesim
