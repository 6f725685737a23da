#define CAF_SUITE integration.crash
#include "caf/test/unit_test.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <sys/stat.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "runtime/http_client.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/processes.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;
using cw::test::node_process;

namespace {

struct fixture {
  cw::test::temp_dir dir;
  std::string data_dir = dir.file("data");

  std::unique_ptr<cw::runtime::http_client> client(const node_process& n) {
    auto c = cw::runtime::http_client::make(n.url());
    CAF_REQUIRE(c);
    return std::move(*c);
  }

  json get(cw::runtime::http_client& c, const std::string& target) {
    auto res = c.request("GET", target);
    CAF_REQUIRE(res);
    CAF_REQUIRE_EQUAL(res->status, 200u);
    return json::parse(res->body);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(crash_tests, fixture)

CAF_TEST(every acknowledged task survives a sigkill in mid burst) {
  constexpr int clients = 4;
  constexpr size_t kill_after = 400;
  std::mutex mtx;
  std::map<uint64_t, std::string> acked; // id -> marker in its argv
  std::atomic<size_t> acks{0};
  {
    node_process n{data_dir};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        auto cl = std::move(*cw::runtime::http_client::make(n.url()));
        // Submit until the node is gone (bounded: at most 100k tries).
        for (int i = 0; i < 100'000; ++i) {
          auto marker = std::to_string(c) + "-" + std::to_string(i);
          auto body = json{{"argv", {"true", marker}},
                           {"workspace", dir.path().string()}};
          auto res = cl->request("POST", "/v1/tasks", body.dump(), 5s);
          if (!res)
            return; // connection lost: the node was killed
          if (res->status != 201)
            continue;
          auto id = json::parse(res->body)["id"].get<uint64_t>();
          std::lock_guard<std::mutex> guard{mtx};
          acked.emplace(id, marker);
          ++acks;
        }
      });
    }
    // Kill the node while every client is still submitting.
    while (acks.load() < kill_after)
      std::this_thread::yield();
    n.kill();
    for (auto& t : threads)
      t.join();
  }
  CAF_MESSAGE(acked.size() << " tasks acknowledged before the kill");
  CAF_REQUIRE(acked.size() >= kill_after);
  node_process n{data_dir};
  auto c = client(n);
  auto all = get(*c, "/v1/tasks?limit=0")["tasks"];
  std::map<uint64_t, std::string> found;
  for (auto& t : all) {
    auto id = t["id"].get<uint64_t>();
    CAF_CHECK(found.emplace(id, t["spec"]["argv"][1].get<std::string>()).second);
  }
  size_t missing = 0;
  for (auto& [id, marker] : acked) {
    auto i = found.find(id);
    if (i == found.end() || i->second != marker)
      ++missing;
  }
  CAF_CHECK_EQUAL(missing, 0u);
  // No acknowledged submission was recorded twice under another id.
  std::set<std::string> markers;
  for (auto& [id, marker] : found)
    CAF_CHECK(markers.insert(marker).second);
  CAF_CHECK_EQUAL(n.stop(), 0);
  auto verify = cw::test::run_cw(dir.path(), {"replay", "--verify",
                                              data_dir + "/journal.db"});
  CAF_CHECK_EQUAL(verify.exit_code, 0);
  CAF_CHECK(verify.out.find(": 0 problems") != std::string::npos);
}

namespace {

/// Submits `sh -c "echo begin-N; read line < GATE; echo end-N"`: it runs
/// until the test opens its gate (a FIFO). Returns its id.
std::string submit_gated(cw::runtime::http_client& c, const std::string& gate,
                         int n) {
  auto script = "echo begin-" + std::to_string(n) + "; read line < " + gate
                + "; echo end-" + std::to_string(n);
  auto res = c.request("POST", "/v1/tasks",
                       json{{"argv", {"sh", "-c", script}},
                            {"workspace",
                             std::filesystem::path{gate}.parent_path().string()}}
                         .dump());
  CAF_REQUIRE(res);
  CAF_REQUIRE_EQUAL(res->status, 201u);
  return std::to_string(json::parse(res->body)["id"].get<uint64_t>());
}

/// Waits (bounded, through the API) until task `id`'s log reads `text`.
bool log_reads(cw::runtime::http_client& c, const std::string& id,
               const std::string& text) {
  for (int i = 0; i < 20'000; ++i) {
    auto log = c.request("GET", "/v1/tasks/" + id + "/log");
    if (log && log->body == text)
      return true;
  }
  return false;
}

/// Counts the journal's events of `type` for task `id`.
int count_events(const std::string& journal, const std::string& type,
                 const std::string& id) {
  SQLite::Database db{journal, SQLite::OPEN_READONLY};
  SQLite::Statement q{db, "SELECT COUNT(*) FROM events WHERE type = ? AND "
                          "entity = ?"};
  q.bind(1, type);
  q.bind(2, "task/" + id);
  CAF_REQUIRE(q.executeStep());
  return q.getColumn(0).getInt();
}

} // namespace

CAF_TEST(three tasks running at a sigkill are adopted and finish once) {
  std::vector<std::string> ids;
  std::vector<std::string> gates;
  for (int i = 0; i < 3; ++i) {
    gates.push_back(dir.file("gate-" + std::to_string(i)));
    CAF_REQUIRE_EQUAL(::mkfifo(gates.back().c_str(), 0600), 0);
  }
  {
    node_process n{data_dir, {"--agents", "3"}};
    auto c = client(n);
    for (int i = 0; i < 3; ++i)
      ids.push_back(submit_gated(*c, gates[i], i));
    for (int i = 0; i < 3; ++i)
      CAF_REQUIRE(log_reads(*c, ids[i], "begin-" + std::to_string(i) + "\n"));
    n.kill();
  }
  node_process n{data_dir, {"--agents", "3"}};
  auto c = client(n);
  // Still running after the restart: adopted, not run again.
  for (auto& id : ids) {
    auto info = get(*c, "/v1/tasks/" + id);
    CAF_CHECK_EQUAL(info["status"], "running");
  }
  for (auto& gate : gates)
    std::ofstream{gate} << "go\n";
  for (int i = 0; i < 3; ++i) {
    auto done = get(*c, "/v1/tasks/" + ids[i] + "?wait=60");
    CAF_CHECK_EQUAL(done["status"], "completed");
    CAF_CHECK_EQUAL(done["attempts"], 1);
    // The whole output of the one run, across the kill.
    auto log = c->request("GET", "/v1/tasks/" + ids[i] + "/log");
    CAF_REQUIRE(log);
    CAF_CHECK_EQUAL(log->body, "begin-" + std::to_string(i) + "\nend-"
                                 + std::to_string(i) + "\n");
  }
  CAF_CHECK_EQUAL(n.stop(), 0);
  for (auto& id : ids) {
    CAF_CHECK_EQUAL(count_events(data_dir + "/journal.db", "task.assigned", id),
                    1);
    CAF_CHECK_EQUAL(count_events(data_dir + "/journal.db", "task.requeued", id),
                    0);
  }
}

CAF_TEST(a stop on purpose terminates agents and their tasks run again) {
  auto gate = dir.file("gate");
  CAF_REQUIRE_EQUAL(::mkfifo(gate.c_str(), 0600), 0);
  std::string id;
  {
    node_process n{data_dir};
    auto c = client(n);
    id = submit_gated(*c, gate, 0);
    CAF_REQUIRE(log_reads(*c, id, "begin-0\n"));
    CAF_CHECK_EQUAL(n.stop(), 0);
  }
  CAF_CHECK_EQUAL(count_events(data_dir + "/journal.db", "task.requeued", id),
                  1);
  node_process n{data_dir};
  auto c = client(n);
  // The second run prints begin-0 after the first one's.
  CAF_REQUIRE(log_reads(*c, id, "begin-0\nbegin-0\n"));
  std::ofstream{gate} << "go\n";
  auto done = get(*c, "/v1/tasks/" + id + "?wait=60");
  CAF_CHECK_EQUAL(done["status"], "completed");
  CAF_CHECK_EQUAL(done["attempts"], 2);
}

CAF_TEST(keep agents leaves processes running for the next start) {
  auto gate = dir.file("gate");
  CAF_REQUIRE_EQUAL(::mkfifo(gate.c_str(), 0600), 0);
  std::string id;
  {
    node_process n{data_dir, {"--keep-agents"}};
    auto c = client(n);
    id = submit_gated(*c, gate, 0);
    CAF_REQUIRE(log_reads(*c, id, "begin-0\n"));
    CAF_CHECK_EQUAL(n.stop(), 0);
  }
  node_process n{data_dir};
  auto c = client(n);
  std::ofstream{gate} << "go\n";
  auto done = get(*c, "/v1/tasks/" + id + "?wait=60");
  CAF_CHECK_EQUAL(done["status"], "completed");
  CAF_CHECK_EQUAL(done["attempts"], 1);
  auto log = c->request("GET", "/v1/tasks/" + id + "/log");
  CAF_REQUIRE(log);
  CAF_CHECK_EQUAL(log->body, "begin-0\nend-0\n");
}

CAF_TEST(a corrupt row stops start up naming the seq and the file) {
  {
    node_process n{data_dir};
    auto c = client(n);
    for (int i = 0; i < 3; ++i) {
      auto res = c->request("POST", "/v1/tasks",
                            json{{"argv", {"true"}},
                                 {"workspace", dir.path().string()}}
                              .dump());
      CAF_REQUIRE(res);
    }
    CAF_CHECK_EQUAL(n.stop(), 0);
  }
  auto path = data_dir + "/journal.db";
  {
    SQLite::Database db{path, SQLite::OPEN_READWRITE};
    db.exec("UPDATE events SET payload = '{\"id\":2}' WHERE seq = 2");
  }
  auto before = cw::test::slurp(path);
  auto err = dir.file("node.err");
  boost::process::child node{boost::process::exe = CW_NODE_BIN,
                             boost::process::args = {"--data-dir", data_dir,
                                                     "--api", "127.0.0.1:0"},
                             boost::process::std_out > boost::process::null,
                             boost::process::std_err > err,
                             cw::test::dies_with_test()};
  CAF_REQUIRE(cw::test::wait_exit(node, 30s));
  CAF_CHECK_EQUAL(node.exit_code(), 1);
  auto msg = cw::test::slurp(err);
  CAF_CHECK(msg.find("seq 2") != std::string::npos);
  CAF_CHECK(msg.find(path) != std::string::npos);
  // Nothing was overwritten.
  CAF_CHECK(cw::test::slurp(path) == before);
}

CAF_TEST_FIXTURE_SCOPE_END()
