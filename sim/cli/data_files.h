#pragma once
// Files shipped with xpusim (configs/, workloads/), found from the binary,
// never from the current directory: `xpusim run --scalesim-cfg` works from
// anywhere.
#include <string>

namespace xpu::cli {

// `relative` (e.g. "configs/energy/horowitz_45nm.yaml") in the first of:
// <binary dir>/../share/xpusim/ (an installed tree), <binary dir>/.. (the
// binary at the top of a build folder inside the source tree), and the
// source tree the binary was built from. When none has it, the last
// candidate, so the error names a path.
std::string bundled_file(const std::string& relative);

}  // namespace xpu::cli
