# The systolic array at two fidelities (no SystemC). Included from
# models/tpu/CMakeLists.txt.
add_library(xpusim_tpu_array STATIC
  ${CMAKE_CURRENT_LIST_DIR}/mxu_array.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mxu_tile_engine.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mxu_pe_engine.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mxu_os_engine.cpp)
target_link_libraries(xpusim_tpu_array PUBLIC xpusim_numerics)
