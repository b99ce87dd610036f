#pragma once
// The one error every lowering throws for a layer that cannot run on a
// machine (shape cannot be tiled, missing precision, ...). The CLI maps it to
// exit code 1.
#include <stdexcept>

namespace xpu::lowering {

class LoweringError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace xpu::lowering
