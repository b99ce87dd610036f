# Writes generated/xpusim_version.h with the project version and git revision,
# so every report manifest names the code that produced it.
find_package(Git QUIET)
set(XPUSIM_GIT_REVISION "unknown")
if(GIT_FOUND AND EXISTS ${PROJECT_SOURCE_DIR}/.git)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --short=12 HEAD
                  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
                  OUTPUT_VARIABLE XPUSIM_GIT_REVISION
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT XPUSIM_GIT_REVISION)
    set(XPUSIM_GIT_REVISION "unknown")
  endif()
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/xpusim_version.h.in
               ${PROJECT_BINARY_DIR}/generated/xpusim_version.h @ONLY)
