# Systolic array engines vs host Eigen fp32 GEMM (see bench_array.cpp).
add_executable(bench_array ${CMAKE_CURRENT_LIST_DIR}/bench_array.cpp)
target_link_libraries(bench_array PRIVATE xpusim_tpu_array xpusim_numerics Eigen3::Eigen)
