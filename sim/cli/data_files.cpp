#include "sim/cli/data_files.h"

#include <filesystem>
#include <vector>
#include <system_error>

namespace xpu::cli {

std::string bundled_file(const std::string& relative) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec) {
    candidates.push_back(exe.parent_path() / ".." / "share" / "xpusim" / relative);
    candidates.push_back(exe.parent_path() / ".." / relative);
  }
  candidates.push_back(fs::path(XPUSIM_DATA_DIR) / relative);
  for (const auto& c : candidates)
    if (fs::is_regular_file(c, ec)) return c.lexically_normal().string();
  return candidates.back().lexically_normal().string();
}

}  // namespace xpu::cli
