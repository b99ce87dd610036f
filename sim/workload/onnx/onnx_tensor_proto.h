#pragma once
// Internal: TensorProto -> TensorData (includes the protobuf headers).
#include <onnx/onnx_pb.h>

#include "sim/workload/onnx/onnx_tensor.h"

namespace xpu::workload {

// Throws std::runtime_error for unsupported types or inconsistent sizes.
TensorData from_proto(const onnx::TensorProto& t);

}  // namespace xpu::workload
