#define CAF_SUITE integration.replay
#include "caf/test/unit_test.hpp"

#include <condition_variable>
#include <csignal>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>
#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/io.hpp>
#include <boost/process/pipe.hpp>
#include <nlohmann/json.hpp>

#include "persistence/checksum.hpp"
#include "persistence/event_codec.hpp"
#include "persistence/journal.hpp"
#include "runtime/http_client.hpp"
#include "runtime/node.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/processes.hpp"
#include "tests/support/temp_dir.hpp"

namespace bp = boost::process;
using namespace cw;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

/// What `cw replay` printed, with stdout split into lines.
struct cli_result : cw::test::cli_result {
  std::vector<std::string> lines;
};

using cw::test::slurp;

std::vector<std::string> split_lines(const std::string& str) {
  std::vector<std::string> result;
  std::istringstream in{str};
  for (std::string line; std::getline(in, line);)
    result.push_back(line);
  return result;
}

std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> result;
  std::istringstream in{line};
  for (std::string word; in >> word;)
    result.push_back(word);
  return result;
}

/// Returns the leading seq of a listing line.
uint64_t seq_of(const std::string& line) {
  return std::stoull(line);
}

/// ISO-8601 UTC with milliseconds, written independently of the code under
/// test.
std::string iso(int64_t ms) {
  auto secs = static_cast<time_t>(ms / 1000);
  std::tm t{};
  ::gmtime_r(&secs, &t);
  char buf[64];
  auto n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &t);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ",
                static_cast<int>(ms % 1000));
  return buf;
}

/// 2026-11-23T13:25:00Z in milliseconds since the epoch.
int64_t base_ms() {
  std::tm t{};
  t.tm_year = 2026 - 1900;
  t.tm_mon = 10;
  t.tm_mday = 23;
  t.tm_hour = 13;
  t.tm_min = 25;
  return static_cast<int64_t>(::timegm(&t)) * 1000;
}

// Events are built field by field: their structs grow new fields over time.

task_spec spec_of(std::vector<std::string> argv) {
  task_spec x;
  x.argv = std::move(argv);
  x.workspace = "/tmp";
  return x;
}

std::vector<event> read_all(const std::string& path) {
  auto j = persistence::journal::open(path,
                                      {persistence::durability::full, true});
  CAF_REQUIRE(j);
  std::vector<event> result;
  CAF_REQUIRE((*j)->read(1, [&](event& ev) { result.push_back(ev); }));
  return result;
}

using cw::test::wait_exit;

/// The lines a child prints, read on a thread so that every wait is bounded.
class line_reader {
public:
  explicit line_reader(bp::ipstream& in)
    : thread_([this, &in] {
        for (std::string line; std::getline(in, line);) {
          std::lock_guard<std::mutex> guard{mtx_};
          lines_.push_back(line);
          cv_.notify_all();
        }
        std::lock_guard<std::mutex> guard{mtx_};
        eof_ = true;
        cv_.notify_all();
      }) {
    // nop
  }

  ~line_reader() {
    thread_.join();
  }

  /// Returns the next line, or none at the end or after `timeout`.
  std::optional<std::string> next(std::chrono::seconds timeout = 30s) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, timeout, [this] { return !lines_.empty() || eof_; });
    if (lines_.empty())
      return std::nullopt;
    auto line = std::move(lines_.front());
    lines_.pop_front();
    return line;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;
  bool eof_ = false;
  std::thread thread_;
};

/// A journal from a real run: one task completes, one fails.
struct fixture {
  test::temp_dir dir;
  std::string journal = dir.file("data") + "/journal.db";
  std::vector<event> events;

  fixture() {
    auto cfg = runtime::default_node_config();
    cfg.shim_path = CW_SHIM_BIN;
    cfg.data_dir = dir.file("data");
    cfg.api_port = 0;
    cfg.agents = 1;
    cfg.log_level = "warn";
    cfg.node_name = "replay-node";
    auto n = runtime::node::start(cfg);
    CAF_REQUIRE(n);
    auto client = runtime::http_client::make(
      "http://127.0.0.1:" + std::to_string((*n)->api_port()));
    CAF_REQUIRE(client);
    CAF_REQUIRE_EQUAL(run(**client, {"true"}, "completed"), 1u);
    CAF_REQUIRE_EQUAL(run(**client, {"sh", "-c", "exit 3"}, "failed"), 2u);
    (*n)->stop();
    events = read_all(journal);
    CAF_REQUIRE(events.size() >= 8u);
  }

  task_id run(runtime::http_client& client, std::vector<std::string> argv,
              const std::string& status) {
    auto body = json{{"argv", argv}, {"workspace", dir.path().string()}};
    auto res = client.request("POST", "/v1/tasks", body.dump());
    CAF_REQUIRE(res);
    CAF_REQUIRE_EQUAL(res->status, 201u);
    auto id = json::parse(res->body)["id"].get<task_id>();
    auto done = client.request("GET",
                               "/v1/tasks/" + std::to_string(id) + "?wait=60");
    CAF_REQUIRE(done);
    auto info = json::parse(done->body);
    CAF_REQUIRE_EQUAL(info["status"], status);
    return id;
  }

  /// Returns the seq of the event of `type` about task `id`.
  uint64_t seq_where(const std::string& type, task_id id) const {
    for (auto& ev : events)
      if (ev.type == type && ev.entity == "task/" + std::to_string(id))
        return ev.seq;
    CAF_FAIL("no " << type << " for task " << id);
  }

  /// Returns the seqs of the events that satisfy `pred`.
  template <class Pred>
  std::vector<uint64_t> seqs_where(Pred pred) const {
    std::vector<uint64_t> result;
    for (auto& ev : events)
      if (pred(ev))
        result.push_back(ev.seq);
    return result;
  }

  /// Runs `cw [--json] replay ARGS...`.
  cli_result replay(std::vector<std::string> args, bool as_json = false) {
    args.insert(args.begin(), "replay");
    if (as_json)
      args.insert(args.begin(), "--json");
    cli_result result{cw::test::run_cw(dir.path(), std::move(args)), {}};
    result.lines = split_lines(result.out);
    return result;
  }

  /// Returns the seqs that lead the lines of `res`.
  static std::vector<uint64_t> listed(const cli_result& res) {
    std::vector<uint64_t> result;
    for (auto& line : res.lines)
      result.push_back(seq_of(line));
    return result;
  }

  /// Writes a journal with chosen times from 2026-11-23T13:25:00Z: task 1
  /// is requeued and runs again, task 2 waits for a retry and is cancelled.
  std::string synthetic_journal() {
    auto path = dir.file("synthetic.db");
    auto j = persistence::journal::open(path);
    CAF_REQUIRE(j);
    auto t0 = base_ms();
    auto spec = spec_of({"true"});
    std::vector<std::pair<task_event, int64_t>> evs{
      {task_submitted{1, spec}, t0},
      {task_assigned{1, "agent-a", 1, ""}, t0 + 1000},
      {task_started{1, 111, {}}, t0 + 1500},
      {task_requeued{1, "node restarted"}, t0 + 3000},
      {task_submitted{2, spec}, t0 + 3200},
      {task_assigned{1, "agent-b", 2, ""}, t0 + 3500},
      {task_submitted{3, spec}, t0 + 10000},
      {task_assigned{2, "agent-a", 1, ""}, t0 + 10500},
      {task_retry_scheduled{2, "exit code 1", t0 + 20000}, t0 + 11000},
      {task_cancelled{2, "by request"}, t0 + 12000},
    };
    std::vector<event> rows;
    for (auto& [ev, t] : evs)
      rows.push_back(persistence::encode(ev, t, "synthetic"));
    CAF_REQUIRE((*j)->append(rows));
    return path;
  }

  /// Edits the journal file directly, as corruption would.
  void exec_sql(const std::string& sql) {
    SQLite::Database db{journal, SQLite::OPEN_READWRITE};
    db.exec(sql);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(replay_tests, fixture)

CAF_TEST(every event is listed with its envelope and a summary) {
  auto res = replay({journal});
  CAF_CHECK_EQUAL(res.exit_code, 0);
  CAF_CHECK_EQUAL(res.err, "");
  CAF_REQUIRE_EQUAL(res.lines.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    auto& ev = events[i];
    auto w = words(res.lines[i]);
    CAF_REQUIRE(w.size() >= 6u);
    CAF_CHECK_EQUAL(w[0], std::to_string(ev.seq));
    CAF_CHECK_EQUAL(w[1], iso(ev.time_ms));
    CAF_CHECK_EQUAL(w[2], "replay-node");
    CAF_CHECK_EQUAL(w[3], ev.type + "@" + std::to_string(ev.version));
    CAF_CHECK_EQUAL(w[4], ev.entity);
  }
  auto line = [&](uint64_t seq) { return res.lines.at(seq - 1); };
  auto started = events[seq_where("task.started", 1) - 1];
  auto pid = json::parse(started.payload)["pid"].get<int64_t>();
  CAF_CHECK(line(started.seq).ends_with("  pid " + std::to_string(pid)));
  CAF_CHECK(line(seq_where("task.submitted", 2)).find(R"(sh -c "exit 3")")
            != std::string::npos);
  CAF_CHECK(line(seq_where("task.assigned", 2)).find("  agent-1, attempt 1")
            != std::string::npos);
  CAF_CHECK(line(seq_where("task.finished", 1)).ends_with("completed, exit 0"));
  CAF_CHECK(line(seq_where("task.finished", 2))
              .ends_with("failed, exit 3: exit code 3"));
}

CAF_TEST(task and type filters select events) {
  auto of_task_2
    = seqs_where([](const event& ev) { return ev.entity == "task/2"; });
  CAF_CHECK_EQUAL(of_task_2.size(), 4u);
  CAF_CHECK_EQUAL(listed(replay({journal, "--task", "2"})), of_task_2);
  CAF_CHECK_EQUAL(listed(replay({journal, "--type", "task.started"})),
                  (std::vector<uint64_t>{seq_where("task.started", 1),
                                         seq_where("task.started", 2)}));
  auto tasks
    = seqs_where([](const event& ev) { return ev.type.starts_with("task."); });
  CAF_CHECK_EQUAL(listed(replay({journal, "--type", "task.*"})), tasks);
  CAF_CHECK_EQUAL(
    listed(replay({journal, "--type", "task.fin*", "--task", "1"})),
    std::vector<uint64_t>{seq_where("task.finished", 1)});
  // Without the star a type matches exactly.
  auto exact = replay({journal, "--type", "task."});
  CAF_CHECK_EQUAL(exact.exit_code, 0);
  CAF_CHECK_EQUAL(exact.out, "");
}

CAF_TEST(since and until take seqs and times) {
  CAF_CHECK_EQUAL(listed(replay({journal, "--since", "3", "--until", "5"})),
                  (std::vector<uint64_t>{3, 4, 5}));
  CAF_CHECK_EQUAL(listed(replay({journal, "--since", "7"})),
                  seqs_where([](const event& ev) { return ev.seq >= 7; }));
  // Times from the real run: everything from the second task's submission.
  auto t = events[seq_where("task.submitted", 2) - 1].time_ms;
  CAF_CHECK_EQUAL(listed(replay({journal, "--since", iso(t)})),
                  seqs_where([&](const event& ev) { return ev.time_ms >= t; }));
  CAF_CHECK_EQUAL(listed(replay({journal, "--until", iso(t - 1)})),
                  seqs_where([&](const event& ev) { return ev.time_ms < t; }));
  // Chosen times: with or without Z and milliseconds, all UTC.
  auto path = synthetic_journal();
  CAF_CHECK_EQUAL(listed(replay({path, "--since", "2026-11-23T13:25:03Z"})),
                  (std::vector<uint64_t>{4, 5, 6, 7, 8, 9, 10}));
  CAF_CHECK_EQUAL(listed(replay({path, "--since", "2026-11-23T13:25:03.2"})),
                  (std::vector<uint64_t>{5, 6, 7, 8, 9, 10}));
  CAF_CHECK_EQUAL(listed(replay({path, "--until", "2026-11-23T13:25:01.500Z"})),
                  (std::vector<uint64_t>{1, 2, 3}));
  CAF_CHECK_EQUAL(listed(replay({path, "--since", "2026-11-23T13:25:01",
                                 "--until", "2026-11-23T13:25:03.200Z"})),
                  (std::vector<uint64_t>{2, 3, 4, 5}));
  auto first = replay({path, "--until", "1"});
  CAF_REQUIRE_EQUAL(first.lines.size(), 1u);
  auto first_words = words(first.lines[0]);
  CAF_CHECK_EQUAL(first_words.at(1), "2026-11-23T13:25:00.000Z");
}

CAF_TEST(bad flag values are usage errors naming the flag) {
  auto since = replay({journal, "--since", "yesterday"});
  CAF_CHECK_EQUAL(since.exit_code, 2);
  CAF_CHECK(since.err.starts_with("--since: "));
  CAF_CHECK(since.err.find("yesterday") != std::string::npos);
  auto until = replay({journal, "--until", "2026-13-01T00:00:00Z"});
  CAF_CHECK_EQUAL(until.exit_code, 2);
  CAF_CHECK(until.err.starts_with("--until: "));
  auto at = replay({journal, "--at", "soon"});
  CAF_CHECK_EQUAL(at.exit_code, 2);
  CAF_CHECK(at.err.find("--at") != std::string::npos);
  CAF_CHECK_EQUAL(replay({journal, "--timeline"}).exit_code, 2);
  CAF_CHECK_EQUAL(replay({journal, "--verify", "--follow"}).exit_code, 2);
  auto past = replay({journal, "--at", "100000"});
  CAF_CHECK_EQUAL(past.exit_code, 2);
  CAF_CHECK_EQUAL(past.err, "cw: --at 100000: " + journal + " ends at seq "
                              + std::to_string(events.back().seq) + "\n");
}

CAF_TEST(json lines carry the envelope and the payload as an object) {
  auto res = replay({journal}, true);
  CAF_CHECK_EQUAL(res.exit_code, 0);
  CAF_REQUIRE_EQUAL(res.lines.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    auto j = json::parse(res.lines[i], nullptr, false);
    CAF_REQUIRE(j.is_object());
    auto& ev = events[i];
    CAF_CHECK_EQUAL(j["seq"], ev.seq);
    CAF_CHECK_EQUAL(j["time"], iso(ev.time_ms));
    CAF_CHECK_EQUAL(j["time_ms"], ev.time_ms);
    CAF_CHECK_EQUAL(j["node"], ev.node);
    CAF_CHECK_EQUAL(j["type"], ev.type);
    CAF_CHECK_EQUAL(j["version"], ev.version);
    CAF_CHECK_EQUAL(j["entity"], ev.entity);
    CAF_CHECK_EQUAL(j["checksum"], ev.checksum);
    CAF_REQUIRE(j["payload"].is_object());
    CAF_CHECK_EQUAL(j["payload"], json::parse(ev.payload));
  }
}

CAF_TEST(at shows the tasks as they were after an event) {
  auto assigned = seq_where("task.assigned", 1);
  auto early = replay({journal, "--at", std::to_string(assigned)}, true);
  CAF_CHECK_EQUAL(early.exit_code, 0);
  CAF_REQUIRE_EQUAL(early.lines.size(), 1u);
  auto t1 = json::parse(early.lines[0]);
  CAF_CHECK_EQUAL(t1["id"], 1);
  CAF_CHECK_EQUAL(t1["status"], "running");
  CAF_CHECK_EQUAL(t1["attempts"], 1);
  CAF_CHECK_EQUAL(t1["agent"], "agent-1");
  auto last = std::to_string(events.back().seq);
  auto end = replay({journal, "--at", last}, true);
  CAF_REQUIRE_EQUAL(end.lines.size(), 2u);
  auto t2 = json::parse(end.lines[0]);
  CAF_CHECK_EQUAL(t2["status"], "failed");
  CAF_CHECK_EQUAL(t2["reason"], "exit code 3");
  t1 = json::parse(end.lines[1]);
  CAF_CHECK_EQUAL(t1["status"], "completed");
  auto table = replay({journal, "--at", last});
  CAF_CHECK_EQUAL(table.exit_code, 0);
  CAF_REQUIRE_EQUAL(table.lines.size(), 4u);
  CAF_CHECK_EQUAL(table.lines[0], "state after seq " + last + " ("
                                    + iso(events.back().time_ms)
                                    + "): 2 tasks");
  CAF_CHECK_EQUAL(
    words(table.lines[1]),
    (std::vector<std::string>{"ID", "STATUS", "ATTEMPTS", "AGENT", "REASON"}));
  CAF_CHECK_EQUAL(words(table.lines[2]),
                  (std::vector<std::string>{"2", "failed", "1", "agent-1",
                                            "exit", "code", "3"}));
  CAF_CHECK_EQUAL(words(table.lines[3]),
                  (std::vector<std::string>{"1", "completed", "1", "agent-1"}));
  auto running = replay({journal, "--at", std::to_string(assigned)});
  CAF_CHECK_EQUAL(words(running.lines.at(2)),
                  (std::vector<std::string>{"1", "running", "1", "agent-1"}));
  auto before = replay({journal, "--at", "0"});
  CAF_CHECK_EQUAL(before.out, "state after seq 0: 0 tasks\n"
                              "ID      STATUS     ATTEMPTS  AGENT         "
                              "REASON\n");
}

CAF_TEST(timeline shows each state and the time spent in it) {
  auto res = replay({journal, "--task", "1", "--timeline"}, true);
  CAF_CHECK_EQUAL(res.exit_code, 0);
  CAF_REQUIRE_EQUAL(res.lines.size(), 3u);
  auto time_of = [&](const std::string& type) {
    return events[seq_where(type, 1) - 1].time_ms;
  };
  auto queued = json::parse(res.lines[0]);
  auto running = json::parse(res.lines[1]);
  auto done = json::parse(res.lines[2]);
  CAF_CHECK_EQUAL(queued["state"], "queued");
  CAF_CHECK_EQUAL(queued["duration_ms"],
                  time_of("task.assigned") - time_of("task.submitted"));
  CAF_CHECK_EQUAL(running["state"], "running");
  CAF_CHECK(running["detail"].get<std::string>().starts_with(
    "attempt 1 on agent-1, pid "));
  CAF_CHECK_EQUAL(running["entered"], iso(time_of("task.assigned")));
  CAF_CHECK_EQUAL(running["duration_ms"],
                  time_of("task.finished") - time_of("task.assigned"));
  CAF_CHECK_EQUAL(done["state"], "completed");
  CAF_CHECK(done["duration_ms"].is_null());
  CAF_CHECK_EQUAL(done["ongoing"], false);
  // A task still running at the end: requeued once, then on attempt 2.
  auto path = synthetic_journal();
  auto text = replay({path, "--task", "1", "--timeline"});
  CAF_CHECK_EQUAL(text.exit_code, 0);
  CAF_CHECK_EQUAL(
    text.out,
    "task 1: true; priority 0; in /tmp\n"
    "   SEQ  ENTERED                   FOR          STATE\n"
    "     1  2026-11-23T13:25:00.000Z  1.000 s      queued\n"
    "     2  2026-11-23T13:25:01.000Z  2.000 s      running (attempt 1 on "
    "agent-a, pid 111)\n"
    "     4  2026-11-23T13:25:03.000Z  500 ms       queued (requeued: node "
    "restarted)\n"
    "     6  2026-11-23T13:25:03.500Z  8.500 s      running (attempt 2 on "
    "agent-b)\n"
    "(still running at the end of the journal: seq 10, "
    "2026-11-23T13:25:12.000Z)\n");
  auto retried = replay({path, "--task", "2", "--timeline"});
  CAF_CHECK_EQUAL(retried.exit_code, 0);
  CAF_REQUIRE_EQUAL(retried.lines.size(), 6u);
  CAF_CHECK(retried.lines[4].ends_with(
    "1.000 s      queued (retry after: exit code 1; not before "
    "2026-11-23T13:25:20.000Z)"));
  CAF_CHECK(retried.lines[5].ends_with("-            cancelled (by request)"));
  auto listing = replay({path, "--since", "9"});
  CAF_REQUIRE_EQUAL(listing.lines.size(), 2u);
  CAF_CHECK(listing.lines[0].ends_with(
    "  exit code 1; retry at 2026-11-23T13:25:20.000Z"));
  CAF_CHECK(listing.lines[1].ends_with("  by request"));
  auto missing = replay({path, "--task", "9", "--timeline"});
  CAF_CHECK_EQUAL(missing.exit_code, 1);
  CAF_CHECK_EQUAL(missing.err, "cw: task 9 does not appear in " + path + "\n");
}

CAF_TEST(verify passes a clean journal) {
  auto res = replay({journal, "--verify"});
  CAF_CHECK_EQUAL(res.exit_code, 0);
  CAF_CHECK_EQUAL(res.out, "verified " + std::to_string(events.size())
                             + " events: 0 problems\n");
}

CAF_TEST(verify lists every corrupt row and printing stops at the first) {
  auto a = seq_where("task.started", 1);
  auto b = seq_where("task.finished", 2);
  exec_sql("UPDATE events SET payload = '{\"id\":1,\"pid\":1}' WHERE seq = "
           + std::to_string(a));
  exec_sql("UPDATE events SET payload = replace(payload, 'exit code 3', "
           "'exit code 4') WHERE seq = "
           + std::to_string(b));
  auto res = replay({journal, "--verify"});
  CAF_CHECK_EQUAL(res.exit_code, 1);
  CAF_REQUIRE_EQUAL(res.lines.size(), 3u);
  CAF_CHECK(res.lines[0].starts_with("seq " + std::to_string(a)
                                     + ": checksum mismatch"));
  CAF_CHECK(res.lines[1].starts_with("seq " + std::to_string(b)
                                     + ": checksum mismatch"));
  CAF_CHECK_EQUAL(res.lines[2], "verified " + std::to_string(events.size())
                                  + " events: 2 problems");
  auto list = replay({journal});
  CAF_CHECK_EQUAL(list.exit_code, 1);
  CAF_CHECK_EQUAL(list.lines.size(), a - 1);
  CAF_CHECK_EQUAL(list.err, "cw: " + journal + ": checksum mismatch at seq "
                              + std::to_string(a) + "\n");
}

CAF_TEST(verify reports a deleted row as a gap) {
  auto gone = seq_where("task.started", 1);
  exec_sql("DELETE FROM events WHERE seq = " + std::to_string(gone));
  auto res = replay({journal, "--verify"});
  CAF_CHECK_EQUAL(res.exit_code, 1);
  CAF_CHECK_EQUAL(
    res.out, "seq " + std::to_string(gone) + ": missing (gap)\nverified "
               + std::to_string(events.size() - 1) + " events: 1 problem\n");
}

CAF_TEST(verify reports rows the fold does not accept) {
  // A row with a valid checksum whose payload does not decode.
  auto bad = events[seq_where("task.started", 1) - 1];
  bad.payload = R"({"id":1,"pid":)";
  exec_sql("UPDATE events SET payload = '" + bad.payload
           + "', checksum = " + std::to_string(persistence::checksum(bad))
           + " WHERE seq = " + std::to_string(bad.seq));
  // Without its submission, task 2's later events are about an unknown task.
  auto submitted = seq_where("task.submitted", 2);
  exec_sql("DELETE FROM events WHERE seq = " + std::to_string(submitted));
  auto res = replay({journal, "--verify"}, true);
  CAF_CHECK_EQUAL(res.exit_code, 1);
  std::vector<uint64_t> seqs;
  for (auto& line : res.lines)
    seqs.push_back(json::parse(line).value("seq", uint64_t{0}));
  CAF_CHECK_EQUAL(seqs, (std::vector<uint64_t>{
                          bad.seq, submitted, seq_where("task.assigned", 2),
                          seq_where("task.started", 2),
                          seq_where("task.finished", 2), 0}));
  CAF_REQUIRE_EQUAL(res.lines.size(), 6u);
  std::vector<json> found;
  for (auto& line : res.lines)
    found.push_back(json::parse(line));
  CAF_CHECK(found[0]["problem"].get<std::string>().starts_with(
    "cannot decode task.started@"));
  CAF_CHECK_EQUAL(found[1]["problem"], "missing (gap)");
  CAF_CHECK_EQUAL(found[2]["problem"],
                  "the fold rejects it: task 2 is unknown");
  CAF_CHECK_EQUAL(found[4]["problem"],
                  "the fold rejects it: task 2 is unknown");
  CAF_CHECK_EQUAL(found[5],
                  (json{{"verified", events.size() - 1}, {"problems", 5}}));
}

CAF_TEST(follow prints matching rows appended after it started) {
  bp::ipstream out;
  bp::child child{
    bp::exe = CW_CLI_BIN,
    bp::args = {"replay", journal, "--follow", "--type", "task.submitted"},
    bp::std_out > out, bp::std_err > stderr, bp::std_in < bp::null};
  line_reader reader{out};
  auto stop = [&] {
    if (child.running())
      child.terminate();
  };
  // What is there: the two submissions, printed before any append.
  auto first = reader.next();
  auto second = reader.next();
  if (!first || !second)
    stop();
  CAF_REQUIRE(first && second);
  CAF_CHECK_EQUAL(seq_of(*first), seq_where("task.submitted", 1));
  CAF_CHECK_EQUAL(seq_of(*second), seq_where("task.submitted", 2));
  {
    auto j = persistence::journal::open(journal);
    CAF_REQUIRE(j);
    std::vector<event> rows{
      persistence::encode(task_requeued{1, "filtered out"}, 1, "writer"),
      persistence::encode(task_submitted{3, spec_of({"echo", "later"})}, 2,
                          "writer")};
    CAF_REQUIRE((*j)->append(rows));
  }
  auto appended = reader.next();
  if (!appended)
    stop();
  CAF_REQUIRE(appended);
  CAF_CHECK_EQUAL(seq_of(*appended), events.back().seq + 2);
  CAF_CHECK(appended->find("task.submitted@") != std::string::npos);
  CAF_CHECK(appended->find("  task/3  ") != std::string::npos);
  CAF_CHECK(appended->ends_with("echo later; priority 0; in /tmp"));
  // SIGTERM ends it cleanly; the filtered row never shows up.
  ::kill(child.id(), SIGTERM);
  if (!wait_exit(child, 30s)) {
    CAF_FAIL("cw replay --follow did not stop within 30 s of SIGTERM");
  }
  CAF_CHECK_EQUAL(child.exit_code(), 0);
  CAF_CHECK(!reader.next(5s));
}

CAF_TEST(a missing file or a file that is no journal is one line and status 1) {
  auto missing = dir.file("no-such.db");
  auto res = replay({missing});
  CAF_CHECK_EQUAL(res.exit_code, 1);
  CAF_CHECK_EQUAL(res.out, "");
  CAF_CHECK_EQUAL(res.err, "cw: " + missing + ": no such file\n");
  auto text = dir.file("notes.txt");
  std::ofstream{text} << "these are not the events you are looking for\n";
  res = replay({text});
  CAF_CHECK_EQUAL(res.exit_code, 1);
  CAF_CHECK_EQUAL(split_lines(res.err).size(), 1u);
  CAF_CHECK(res.err.starts_with("cw: " + text));
  auto empty = dir.file("empty.db");
  std::ofstream{empty}.flush();
  res = replay({empty, "--verify"});
  CAF_CHECK_EQUAL(res.exit_code, 1);
  CAF_CHECK_EQUAL(res.err, "cw: " + empty + " is not a cw journal\n");
}

CAF_TEST_FIXTURE_SCOPE_END()
