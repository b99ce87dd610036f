// Writes the generated ONNX files of the fuzz corpora (tests/fuzz/README.md):
//   fuzz_make_onnx_corpus tests/fuzz
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include "tests/fuzz/onnx_models.h"

namespace {

void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  std::printf("%s (%zu bytes)\n", path.c_str(), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FUZZ_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  write(dir + "/corpus/onnx/gemm.onnx", xpu::fuzz::onnx_gemm());
  write(dir + "/regressions/onnx/nan_weight.onnx", xpu::fuzz::onnx_gemm(std::nanf("")));
  write(dir + "/regressions/onnx/input_dim_2pow31.onnx", xpu::fuzz::onnx_big_input(int64_t(1) << 31));
  write(dir + "/regressions/onnx/nested_graph_attributes.onnx", xpu::fuzz::onnx_nested_graphs(200));
  write(dir + "/regressions/onnx/conv_without_input.onnx", xpu::fuzz::onnx_node_without_input());
  return 0;
}
