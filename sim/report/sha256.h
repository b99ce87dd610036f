#pragma once
// SHA-256 (FIPS 180-4) of files, for run manifests: a result names the exact
// inputs that produced it.
#include <string>

namespace xpu::report {

std::string sha256_hex(const std::string& data);
// Throws std::runtime_error naming the file if it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace xpu::report
