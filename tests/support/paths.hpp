#pragma once

// Where this checkout and its build tree keep what the tests run and read.
// The values live in a source file CMake generates in the build tree
// (`paths.cpp`, see tests/CMakeLists.txt), not in compile definitions: no
// test's compile line names a path, so ccache shares the objects between
// checkouts and a clean clone compiles only that one small file.

namespace cw::test::paths {

/// The checkout's root directory.
extern const char* const source_dir;
/// `tests/fixtures` in the checkout.
extern const char* const fixtures_dir;
/// The binaries of this build.
extern const char* const node_bin;
extern const char* const cli_bin;
extern const char* const shim_bin;
/// The plugins of this build: the example and those the node must refuse.
extern const char* const example_plugin;
extern const char* const wrong_version_plugin;
extern const char* const no_entry_plugin;
extern const char* const duplicate_plugin;
extern const char* const null_agent_plugin;

} // namespace cw::test::paths

#define CW_SOURCE_DIR ::cw::test::paths::source_dir
#define CW_FIXTURES_DIR ::cw::test::paths::fixtures_dir
#define CW_NODE_BIN ::cw::test::paths::node_bin
#define CW_CLI_BIN ::cw::test::paths::cli_bin
#define CW_SHIM_BIN ::cw::test::paths::shim_bin
#define CW_EXAMPLE_PLUGIN ::cw::test::paths::example_plugin
#define CW_WRONG_VERSION_PLUGIN ::cw::test::paths::wrong_version_plugin
#define CW_NO_ENTRY_PLUGIN ::cw::test::paths::no_entry_plugin
#define CW_DUPLICATE_PLUGIN ::cw::test::paths::duplicate_plugin
#define CW_NULL_AGENT_PLUGIN ::cw::test::paths::null_agent_plugin
