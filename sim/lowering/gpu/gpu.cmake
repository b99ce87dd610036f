# GPU lowerings: GEMM on tensor cores and on the SIMT FP32 pipes, the
# references in the GPU's accumulation orders, and networks layer by layer
# (network*.cpp). Included from
# sim/lowering/CMakeLists.txt.
add_library(xpusim_lowering_gpu STATIC
  ${CMAKE_CURRENT_LIST_DIR}/gemm_tc.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gemm_select.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gemm_grid.cpp
  ${CMAKE_CURRENT_LIST_DIR}/splitk_reduce.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gemm_sm80.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sm80_mainloop.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gemm_sm80_sparse.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tc_mainloop.cpp
  ${CMAKE_CURRENT_LIST_DIR}/int8_epilogue.cpp
  ${CMAKE_CURRENT_LIST_DIR}/conv_implicit.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gemm_simt.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tc_reference.cpp
  ${CMAKE_CURRENT_LIST_DIR}/nn_kernels.cpp
  ${CMAKE_CURRENT_LIST_DIR}/nn_pool.cpp
  ${CMAKE_CURRENT_LIST_DIR}/activation.cpp
  ${CMAKE_CURRENT_LIST_DIR}/half_io.cpp
  ${CMAKE_CURRENT_LIST_DIR}/network.cpp
  ${CMAKE_CURRENT_LIST_DIR}/network_matrix.cpp
  ${CMAKE_CURRENT_LIST_DIR}/network_map.cpp
  ${CMAKE_CURRENT_LIST_DIR}/network_rows.cpp
  ${CMAKE_CURRENT_LIST_DIR}/network_llm.cpp
  ${CMAKE_CURRENT_LIST_DIR}/network_stream.cpp
  ${CMAKE_CURRENT_LIST_DIR}/network_layout.cpp
  ${CMAKE_CURRENT_LIST_DIR}/llm_kernels.cpp
  ${CMAKE_CURRENT_LIST_DIR}/flash_attention.cpp
  ${CMAKE_CURRENT_LIST_DIR}/network_attention.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gemv.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gemv_w8.cpp
  ${CMAKE_CURRENT_LIST_DIR}/network_gemv.cpp
  ${CMAKE_CURRENT_LIST_DIR}/network_gemv_group.cpp)
target_link_libraries(xpusim_lowering_gpu PUBLIC xpusim_gpu xpusim_numerics xpusim_workload)
