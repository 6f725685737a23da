# `cmake --install`: the programs, the headers a plugin needs and the CMake
# package `cw` (find_package(cw) gives cw::plugin_api; see
# docs/extending.md).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(CW_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/cw")

install(TARGETS cw-node cw cw-shim RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# A plugin links cw_messages (the vocabulary's few non-inline functions) into
# itself; cw_build_options travels along only as cw_messages' link-only
# dependency (its sanitizer link flags).
set_target_properties(cw_messages PROPERTIES EXPORT_NAME messages)
set_target_properties(cw_build_options PROPERTIES EXPORT_NAME build_options)
install(TARGETS cw_messages cw_plugin_api cw_build_options
  EXPORT cwTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT cwTargets NAMESPACE cw:: DESTINATION ${CW_INSTALL_CMAKEDIR})

# Headers keep their folder, under include/cw: `#include "messages/task.hpp"`.
set(CW_INSTALL_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}/cw")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/messages/"
  DESTINATION "${CW_INSTALL_INCLUDEDIR}/messages"
  FILES_MATCHING PATTERN "*.hpp")
install(FILES "${PROJECT_SOURCE_DIR}/runtime/plugin/api.hpp"
  DESTINATION "${CW_INSTALL_INCLUDEDIR}/runtime/plugin")
install(FILES "${PROJECT_SOURCE_DIR}/actors/agent/process_launcher.hpp"
  DESTINATION "${CW_INSTALL_INCLUDEDIR}/actors/agent")

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/cwConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/cwConfig.cmake"
  INSTALL_DESTINATION ${CW_INSTALL_CMAKEDIR})
write_basic_package_version_file("${PROJECT_BINARY_DIR}/cwConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/cwConfig.cmake"
              "${PROJECT_BINARY_DIR}/cwConfigVersion.cmake"
              "${PROJECT_SOURCE_DIR}/cmake/FindCAF.cmake"
  DESTINATION ${CW_INSTALL_CMAKEDIR})
