# GPU model speed benchmark (see bench_gpu.cpp). Included from bench/CMakeLists.txt.
add_executable(bench_gpu ${CMAKE_CURRENT_LIST_DIR}/bench_gpu.cpp)
target_link_libraries(bench_gpu PRIVATE xpusim_gpu xpusim_lowering_gpu xpusim_config xpusim_systemc)
target_compile_definitions(bench_gpu PRIVATE XPUSIM_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
