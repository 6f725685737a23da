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

# The programs that run a node (cw-node, cw-bench) allocate with jemalloc:
# under glibc's malloc the scheduler spent about a third of its time in
# malloc and free, much of it on arena locks (events are built on a CAF
# worker and freed on the journal's thread), and scheduler-throughput rose
# by about 40 % with jemalloc (docs/performance.md). Not with sanitizers,
# which bring their own allocator.
option(CW_JEMALLOC "Link cw-node and cw-bench with jemalloc" ON)
add_library(cw_allocator INTERFACE)
if(CW_JEMALLOC AND NOT CW_SANITIZERS)
  find_library(CW_JEMALLOC_LIBRARY jemalloc)
  if(NOT CW_JEMALLOC_LIBRARY)
    message(FATAL_ERROR "jemalloc not found: run scripts/install-deps.sh "
                        "(Debian package libjemalloc-dev), or configure with "
                        "-DCW_JEMALLOC=OFF")
  endif()
  target_link_libraries(cw_allocator INTERFACE ${CW_JEMALLOC_LIBRARY})
endif()
