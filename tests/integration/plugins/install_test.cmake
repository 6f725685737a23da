# integration.plugin_install: installs cw into a fresh prefix, builds the
# example plugin as a project of its own with find_package(cw), and checks
# that cw-node loads the result.
# Inputs: BUILD_DIR, SOURCE_DIR, WORK_DIR, CW_NODE, GENERATOR, LAUNCHER.
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR CW_NODE GENERATOR)
  if(NOT ${var})
    message(FATAL_ERROR "install_test: ${var} is not set")
  endif()
endforeach()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err TIMEOUT 240)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
set(build "${WORK_DIR}/build")
run("cmake --install" ${CMAKE_COMMAND} --install "${BUILD_DIR}"
    --prefix "${prefix}")
foreach(file include/cw/runtime/plugin/api.hpp include/cw/messages/interfaces.hpp
             lib/cmake/cw/cwConfig.cmake)
  if(NOT EXISTS "${prefix}/${file}")
    message(FATAL_ERROR "install_test: ${file} was not installed")
  endif()
endforeach()
set(launcher_arg "")
if(LAUNCHER)
  set(launcher_arg "-DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER}")
endif()
run("configuring the example plugin out of tree"
    ${CMAKE_COMMAND} -S "${SOURCE_DIR}/examples/plugin" -B "${build}"
    -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=RelWithDebInfo
    "-DCMAKE_PREFIX_PATH=${prefix}" ${launcher_arg})
run("building the example plugin out of tree"
    ${CMAKE_COMMAND} --build "${build}")
set(plugin "${build}/libcw-example-plugin.so")
if(NOT EXISTS "${plugin}")
  message(FATAL_ERROR "install_test: ${plugin} was not built")
endif()
run("cw-node --check" "${CW_NODE}" --plugin "${plugin}" --check)
if(NOT run_output MATCHES "providers: claude, command, echo, noop"
   OR NOT run_output MATCHES "observers: event-log")
  message(FATAL_ERROR "install_test: cw-node did not list the plugin's "
                      "types:\n${run_output}")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
message(STATUS "install_test: the installed package builds a loadable plugin")
