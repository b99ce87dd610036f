#pragma once
// Reports are written to a temporary file in the target directory, flushed
// to disk and renamed over the target: a crash never leaves half a file.
#include <string>

namespace xpu::report {

// Creates `dir` and its parents. Throws xpu::IoError naming the path.
void make_dirs(const std::string& dir);
// Writes `content` to `path` atomically. Throws xpu::IoError naming the path.
void write_atomically(const std::string& path, const std::string& content);

}  // namespace xpu::report
