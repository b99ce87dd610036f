#pragma once
// ONNX TensorProto values without exposing protobuf types: initializers and
// the backend tests' input_*.pb / output_*.pb files.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/workload/shape.h"

namespace xpu::workload {

// Values one tensor may hold (1 GiB as fp32): weights beyond that do not fit
// the file size limit (config::kMaxBinaryFileBytes) anyway.
inline constexpr size_t kMaxTensorDataElements = size_t(1) << 28;

struct TensorData {
  std::string name;
  Shape shape;
  int onnx_type = 0;            // onnx::TensorProto_DataType (1 float, 7 int64, 10 float16, 16 bfloat16, ...)
  std::vector<float> floats;    // every numeric type, converted to fp32 (exact for fp16/bf16/int8/uint8)
  std::vector<int64_t> ints;    // integer types only, exact
  bool is_integer() const;
  bool is_floating() const;
  static const char* type_name(int onnx_type);
};

// Reads a serialized TensorProto (.pb); throws config::ConfigError naming the
// file and the tensor (for NaN or infinite values too: they are rejected).
TensorData read_tensor_pb(const std::string& path);
// Parses a serialized TensorProto; throws config::ConfigError naming `where`.
TensorData parse_tensor_bytes(const std::string& bytes, const std::string& where);

}  // namespace xpu::workload
