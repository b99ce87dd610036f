# GPU model speed benchmark (see bench_gpu.cpp). Included from bench/CMakeLists.txt.
add_executable(bench_gpu ${CMAKE_CURRENT_LIST_DIR}/bench_gpu.cpp)
target_link_libraries(bench_gpu PRIVATE xpusim_gpu xpusim_lowering_gpu xpusim_config xpusim_systemc)
target_compile_definitions(bench_gpu PRIVATE XPUSIM_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
# Sampled vs full simulation on many-wave kernels (see bench_gpu_sampling.cpp).
add_executable(bench_gpu_sampling ${CMAKE_CURRENT_LIST_DIR}/bench_gpu_sampling.cpp)
target_link_libraries(bench_gpu_sampling PRIVATE xpusim_gpu xpusim_lowering_gpu xpusim_config xpusim_workload xpusim_systemc)
target_compile_definitions(bench_gpu_sampling PRIVATE XPUSIM_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
