# Build options shared by every cw target. Flags travel on the INTERFACE
# target cw_build_options, which each cw target links PRIVATE; nothing edits
# CMAKE_CXX_FLAGS.
option(CW_WERROR "Treat warnings as errors" ON)
option(CW_USE_CCACHE "Use ccache when it is installed" ON)
set(CW_SANITIZERS "" CACHE STRING
    "Sanitizers to build with: address,undefined or thread")

if(CW_USE_CCACHE)
  find_program(CCACHE_PROGRAM ccache)
  if(CCACHE_PROGRAM)
    set(CMAKE_CXX_COMPILER_LAUNCHER "${CCACHE_PROGRAM}")
  endif()
endif()

add_library(cw_build_options INTERFACE)
target_compile_options(cw_build_options INTERFACE
  -Wall -Wextra -Wpedantic -Wno-unused-parameter
  $<$<BOOL:${CW_WERROR}>:-Werror>)
# The repository root is the include root: includes name their folder.
target_include_directories(cw_build_options INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>)
if(CW_SANITIZERS)
  target_compile_options(cw_build_options INTERFACE
    -fsanitize=${CW_SANITIZERS} -fno-omit-frame-pointer)
  # UBSan findings stop the test through UBSAN_OPTIONS=halt_on_error=1 (set by
  # CTest), which still honours tests/ubsan.supp; -fno-sanitize-recover would
  # not.
  target_link_options(cw_build_options INTERFACE -fsanitize=${CW_SANITIZERS})
  # Boost.Asio uses std::atomic_thread_fence, which GCC warns TSan does not
  # model; the warning is about the tool, not our code.
  if(CW_SANITIZERS MATCHES "thread")
    target_compile_options(cw_build_options INTERFACE -Wno-tsan)
  endif()
endif()
