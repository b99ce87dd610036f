#include "models/gpu/mma_shape.h"

#include <string>

#include "models/gpu/mma_ampere_mma_sync.h"
#include "models/gpu/mma_volta_hmma884.h"
#include "sim/common/errors.h"

namespace xpu::gpu {

const MmaShape& mma_shape(MmaKind kind) {
  static const VoltaHmma884 volta_hmma884;
  static const AmpereMmaSync ampere_mma_sync;
  // Indexed by MmaKind: one entry per kind, in enum order.
  static const MmaShape* const shapes[] = {&volta_hmma884, &ampere_mma_sync};
  static_assert(sizeof(shapes) / sizeof(shapes[0]) == static_cast<size_t>(MmaKind::count), "one shape per MmaKind");
  const auto i = static_cast<size_t>(kind);
  if (i >= static_cast<size_t>(MmaKind::count)) throw InternalError("unknown MmaKind " + std::to_string(i));
  return *shapes[i];
}

}  // namespace xpu::gpu
