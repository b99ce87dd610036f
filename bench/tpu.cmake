# The whole TPU model vs host Eigen fp32 GEMM (see bench_tpu.cpp).
add_executable(bench_tpu ${CMAKE_CURRENT_LIST_DIR}/bench_tpu.cpp)
target_link_libraries(bench_tpu PRIVATE xpusim_tpu xpusim_lowering xpusim_experiment xpusim_config
                      xpusim_systemc Eigen3::Eigen)
