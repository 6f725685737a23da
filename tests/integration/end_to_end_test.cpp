#define CAF_SUITE integration.end_to_end
#include "caf/test/unit_test.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/env.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/io.hpp>
#include <boost/process/pipe.hpp>

#include "tests/support/temp_dir.hpp"

namespace bp = boost::process;
using namespace std::chrono_literals;

namespace {

struct cli_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

/// A real cw-node process on a free loopback port.
class node_process {
public:
  node_process(const std::string& data_dir) {
    child_ = bp::child{bp::exe = CW_NODE_BIN,
                       bp::args = {"--data-dir", data_dir, "--api",
                                   "127.0.0.1:0", "--agents", "2",
                                   "--log-level", "warn"},
                       bp::std_out > out_, bp::std_err > stderr};
    // The first line names the address; reading it waits for start-up.
    std::string line;
    std::getline(out_, line);
    auto pos = line.find("http://");
    CAF_REQUIRE(pos != std::string::npos);
    url_ = line.substr(pos, line.find(' ', pos) - pos);
  }

  ~node_process() {
    if (child_.running())
      child_.terminate();
  }

  const std::string& url() const {
    return url_;
  }

  /// Sends SIGTERM and returns the exit code.
  int stop() {
    ::kill(child_.id(), SIGTERM);
    if (!child_.wait_for(30s)) {
      child_.terminate();
      CAF_FAIL("cw-node did not stop within 30 s of SIGTERM");
    }
    return child_.exit_code();
  }

private:
  bp::ipstream out_;
  bp::child child_;
  std::string url_;
};

struct fixture {
  cw::test::temp_dir dir;
  std::string data_dir = dir.file("data");

  /// Runs the real `cw` binary and collects its output.
  cli_result cw(const std::string& url, std::vector<std::string> args) {
    args.insert(args.begin(), {"--node", url});
    auto out = dir.file("cw.out");
    auto err = dir.file("cw.err");
    // Boost.Process opens these without truncating.
    std::filesystem::remove(out);
    std::filesystem::remove(err);
    bp::child c{bp::exe = CW_CLI_BIN, bp::args = args, bp::std_out > out,
                bp::std_err > err, bp::std_in < bp::null};
    if (!c.wait_for(60s)) {
      c.terminate();
      CAF_FAIL("cw did not finish within 60 s");
    }
    return {c.exit_code(), slurp(out), slurp(err)};
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(end_to_end_tests, fixture)

CAF_TEST(a task travels from cw to a process and back and survives a restart) {
  std::string id;
  {
    node_process node{data_dir};
    auto run = cw(node.url(), {"run", "--wait", "--", "echo", "hello"});
    CAF_CHECK_EQUAL(run.exit_code, 0);
    CAF_CHECK(run.out.find("completed") != std::string::npos);
    // "task N completed (exit 0)"
    std::istringstream words{run.out};
    std::string word;
    words >> word >> id;
    CAF_REQUIRE(!id.empty());
    auto logs = cw(node.url(), {"logs", id});
    CAF_CHECK_EQUAL(logs.exit_code, 0);
    CAF_CHECK_EQUAL(logs.out, "hello\n");
    auto failing = cw(node.url(), {"run", "--wait", "--", "sh", "-c", "exit 3"});
    CAF_CHECK_EQUAL(failing.exit_code, 1);
    CAF_CHECK(failing.out.find("failed (exit code 3)") != std::string::npos);
    CAF_CHECK_EQUAL(node.stop(), 0);
  }
  node_process node{data_dir};
  auto status = cw(node.url(), {"status", id});
  CAF_CHECK_EQUAL(status.exit_code, 0);
  CAF_CHECK(status.out.find("completed") != std::string::npos);
  CAF_CHECK(status.out.find("echo hello") != std::string::npos);
  auto json = cw(node.url(), {"--json", "status", id});
  CAF_CHECK(json.out.find("\"status\":\"completed\"") != std::string::npos);
  auto tasks = cw(node.url(), {"tasks", "--status", "failed"});
  CAF_CHECK(tasks.out.find("sh -c exit 3") != std::string::npos);
  CAF_CHECK(tasks.out.find("echo hello") == std::string::npos);
  auto logs = cw(node.url(), {"logs", id});
  CAF_CHECK_EQUAL(logs.out, "hello\n");
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST(cw explains bad input and a node that is not running) {
  node_process node{data_dir};
  auto missing = cw(node.url(), {"status", "424242"});
  CAF_CHECK_EQUAL(missing.exit_code, 1);
  CAF_CHECK_EQUAL(missing.err, "cw: no task with id 424242\n");
  auto no_argv = cw(node.url(), {"run"});
  CAF_CHECK_EQUAL(no_argv.exit_code, 2);
  auto bad_ws = cw(node.url(), {"run", "--workspace", "/no/such/dir", "--", "true"});
  CAF_CHECK_EQUAL(bad_ws.exit_code, 1);
  CAF_CHECK(bad_ws.err.find("workspace") != std::string::npos);
  auto url = node.url();
  CAF_CHECK_EQUAL(node.stop(), 0);
  auto down = cw(url, {"tasks"});
  CAF_CHECK_EQUAL(down.exit_code, 3);
  CAF_CHECK_EQUAL(down.err, "cw: cannot reach cw-node at " + url
                              + ": connection refused (is cw-node running?)\n");
}

CAF_TEST(sigterm terminates running processes and the task runs again later) {
  std::string id;
  {
    node_process node{data_dir};
    auto run = cw(node.url(), {"run", "--", "sh", "-c",
                               "echo started; exec sleep 120"});
    CAF_REQUIRE_EQUAL(run.exit_code, 0);
    id = run.out.substr(0, run.out.find('\n'));
    // Wait (bounded, by long-polling logs) until the process runs.
    for (int i = 0; i < 60; ++i) {
      if (cw(node.url(), {"logs", id}).out == "started\n")
        break;
    }
    CAF_REQUIRE_EQUAL(cw(node.url(), {"logs", id}).out, "started\n");
    CAF_CHECK_EQUAL(node.stop(), 0);
  }
  node_process node{data_dir};
  auto status = cw(node.url(), {"--json", "status", id});
  // Requeued at start-up and run by the new node: attempt 2.
  CAF_CHECK(status.out.find("\"attempts\":2") != std::string::npos);
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
