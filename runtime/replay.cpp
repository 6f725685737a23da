#include "runtime/replay.hpp"

#include <cerrno>
#include <charconv>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "actors/scheduler/recovery.hpp"
#include "actors/scheduler/task_table.hpp"
#include "messages/errc.hpp"
#include "persistence/checksum.hpp"
#include "persistence/event_codec.hpp"
#include "persistence/journal.hpp"
#include "runtime/api_codec.hpp"
#include "runtime/replay_format.hpp"

namespace cw::runtime {

namespace {

using json = nlohmann::ordered_json;
using journal_ptr = std::unique_ptr<persistence::journal>;

/// How often `--follow` looks for new rows.
constexpr long follow_interval_ns = 200'000'000;

/// Leaves a command with an exit status once the reason is printed.
struct failure {
  cli_status status;
};

[[noreturn]] void fail(const cli_context& ctx, const std::string& what,
                       cli_status status = cli_status::failure) {
  *ctx.err << "cw: " << what << "\n";
  throw failure{status};
}

journal_ptr open_journal(const cli_context& ctx, const std::string& file) {
  std::error_code ec;
  auto st = std::filesystem::status(file, ec);
  if (!std::filesystem::exists(st))
    fail(ctx, file + ": no such file");
  if (!std::filesystem::is_regular_file(st))
    fail(ctx, file + " is not a cw journal (not a regular file)");
  auto j = persistence::journal::open(file, {persistence::durability::full,
                                             /*read_only=*/true});
  if (!j)
    fail(ctx, describe(j.error()));
  return std::move(*j);
}

/// Which events a listing prints.
struct event_filter {
  std::string entity;
  std::string type;
  bool type_is_prefix = false;
  uint64_t from_seq = 1;
  uint64_t to_seq = UINT64_MAX;
  int64_t from_ms = INT64_MIN;
  int64_t to_ms = INT64_MAX;

  bool matches(const event& ev) const {
    if (!entity.empty() && ev.entity != entity)
      return false;
    if (type_is_prefix ? ev.type.compare(0, type.size(), type) != 0
                       : !type.empty() && ev.type != type)
      return false;
    return ev.time_ms >= from_ms && ev.time_ms <= to_ms;
  }
};

replay_bound bound_of(const cli_context& ctx, const std::string& flag,
                      const std::string& str) {
  auto bound = parse_replay_bound(str);
  if (!bound)
    fail(ctx, flag + ": " + describe(bound.error()), cli_status::usage);
  return *bound;
}

event_filter make_filter(const cli_context& ctx, const replay_options& opts) {
  event_filter result;
  if (opts.task)
    result.entity = "task/" + std::to_string(*opts.task);
  result.type = opts.type;
  if (!result.type.empty() && result.type.back() == '*') {
    result.type.pop_back();
    result.type_is_prefix = true;
  }
  if (!opts.since.empty()) {
    auto b = bound_of(ctx, "--since", opts.since);
    if (b.is_seq)
      result.from_seq = std::max<uint64_t>(b.seq, 1);
    else
      result.from_ms = b.time_ms;
  }
  if (!opts.until.empty()) {
    auto b = bound_of(ctx, "--until", opts.until);
    if (b.is_seq)
      result.to_seq = b.seq;
    else
      result.to_ms = b.time_ms;
  }
  return result;
}

/// Waits up to one poll interval; returns false once SIGINT or SIGTERM came.
/// The caller blocks both signals, so none is lost between two waits.
bool wait_for_poll(const sigset_t& stop_signals) {
  timespec interval{0, follow_interval_ns};
  for (;;) {
    auto sig = ::sigtimedwait(&stop_signals, nullptr, &interval);
    if (sig == SIGINT || sig == SIGTERM)
      return false;
    if (sig < 0 && errno == EINTR)
      continue; // another signal's handler ran; keep waiting
    return true;
  }
}

/// Prints new rows until SIGINT or SIGTERM, or until `--until SEQ` is passed.
void follow(const cli_context& ctx, const persistence::journal& j,
            const event_filter& filter,
            const std::function<void(event&)>& print, uint64_t& next) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigset_t old_mask;
  ::pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
  caf::error err;
  while (next <= filter.to_seq && wait_for_poll(stop_signals)) {
    if (auto n = j.read(next, print, filter.to_seq); !n) {
      err = std::move(n.error());
      break;
    }
    ctx.out->flush();
  }
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  if (err)
    fail(ctx, describe(err));
}

cli_status list_events(const cli_context& ctx, const persistence::journal& j,
                       const replay_options& opts, const event_filter& filter) {
  auto last = std::min(j.last_seq(), filter.to_seq);
  // Rows and bar would interleave on one terminal: draw only when stdout
  // goes elsewhere.
  progress_bar bar{*ctx.err,
                   last >= filter.from_seq ? last - filter.from_seq + 1 : 0,
                   ::isatty(STDOUT_FILENO) != 1};
  uint64_t next = filter.from_seq;
  std::function<void(event&)> print = [&](event& ev) {
    next = ev.seq + 1;
    bar.tick();
    if (!filter.matches(ev))
      return;
    if (ctx.json)
      *ctx.out << event_json(ev).dump() << '\n';
    else
      *ctx.out << format_event(ev) << '\n';
  };
  auto n = j.read(filter.from_seq, print, filter.to_seq);
  bar.finish();
  ctx.out->flush();
  if (!n)
    fail(ctx, describe(n.error()));
  if (opts.follow)
    follow(ctx, j, filter, print, next);
  return cli_status::success;
}

/// Sends the fold's warnings (e.g. a damaged snapshot) to stderr: stdout
/// carries the answer.
void log_to_stderr() {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_st>();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("cw", sink));
}

cli_status print_state(const cli_context& ctx, const persistence::journal& j,
                       const replay_options& opts) {
  auto at = *opts.at;
  if (at > j.last_seq())
    fail(ctx,
         "--at " + std::to_string(at) + ": " + j.path() + " ends at seq "
           + std::to_string(j.last_seq()),
         cli_status::usage);
  log_to_stderr();
  auto recovered = actors::recover_tasks(j, at);
  if (!recovered)
    fail(ctx, describe(recovered.error()));
  auto tasks = recovered->tasks->list(task_filter{});
  if (opts.task)
    std::erase_if(tasks,
                  [&](const task_info& x) { return x.id != *opts.task; });
  auto& out = *ctx.out;
  if (ctx.json) {
    for (auto& x : tasks)
      out << to_json(x).dump() << '\n';
    out.flush();
    return cli_status::success;
  }
  std::string when;
  if (auto n = j.read(
        at, [&](event& ev) { when = format_time(ev.time_ms); }, at);
      !n)
    fail(ctx, describe(n.error()));
  out << "state after seq " << at << (when.empty() ? "" : " (" + when + ")")
      << ": " << tasks.size() << (tasks.size() == 1 ? " task" : " tasks")
      << "\n"
      << pad("ID", 8) << pad("STATUS", 11) << pad("ATTEMPTS", 10)
      << pad("AGENT", 14) << "REASON\n";
  for (auto& x : tasks)
    out << pad(std::to_string(x.id), 8) << pad(to_string(x.status), 11)
        << pad(std::to_string(x.attempts), 10)
        << pad(x.agent.empty() ? "-" : x.agent, 14) << x.reason << "\n";
  out.flush();
  return cli_status::success;
}

/// One state of a task's life.
struct state_entry {
  uint64_t seq = 0;
  int64_t entered_ms = 0;
  task_status status = task_status::queued;
  std::string detail;
};

/// Returns what a state holds beyond its name, e.g. the attempt and agent.
std::string detail_of(const task_info& x, const task_event& ev) {
  switch (x.status) {
    case task_status::queued: {
      std::string result;
      if (std::holds_alternative<task_requeued>(ev))
        result = "requeued: " + x.reason;
      else if (std::holds_alternative<task_retry_scheduled>(ev))
        result = "retry after: " + x.reason;
      else if (std::holds_alternative<task_retried>(ev))
        result = "retried with fresh attempts";
      if (x.not_before_ms != 0)
        result += (result.empty() ? "" : "; ") + std::string{"not before "}
                  + format_time(x.not_before_ms);
      return result;
    }
    case task_status::running:
      return "attempt " + std::to_string(x.attempts) + " on " + x.agent
             + (x.pid != 0 ? ", pid " + std::to_string(x.pid) : "");
    case task_status::completed:
      return x.exit_code >= 0 ? "exit " + std::to_string(x.exit_code) : "";
    default:
      return x.reason;
  }
}

cli_status print_timeline(const cli_context& ctx, const persistence::journal& j,
                          const replay_options& opts) {
  auto id = *opts.task;
  auto entity = "task/" + std::to_string(id);
  actors::task_table table;
  std::vector<state_entry> states;
  event last;
  caf::error bad;
  progress_bar bar{*ctx.err, j.last_seq()};
  auto n = j.read(1, [&](event& ev) {
    bar.tick();
    last.seq = ev.seq;
    last.time_ms = ev.time_ms;
    if (ev.entity != entity || bad)
      return;
    auto typed = persistence::decode(ev);
    if (!typed) {
      bad = make_error(errc::journal_corrupt,
                       j.path() + ": " + describe(typed.error()));
      return;
    }
    if (!table.apply(*typed, ev.time_ms))
      return;
    auto info = table.find(id);
    // A start only adds the pid to the running state.
    if (std::holds_alternative<task_started>(*typed) && !states.empty()) {
      states.back().detail = detail_of(*info, *typed);
      return;
    }
    states.push_back(
      {ev.seq, ev.time_ms, info->status, detail_of(*info, *typed)});
  });
  bar.finish();
  if (!n)
    fail(ctx, describe(n.error()));
  if (bad)
    fail(ctx, describe(bad));
  if (states.empty())
    fail(ctx, "task " + std::to_string(id) + " does not appear in " + j.path());
  auto& out = *ctx.out;
  auto ongoing = !is_terminal(states.back().status);
  if (!ctx.json)
    out << "task " << id << ": " << summarize(table.find(id)->spec) << "\n"
        << pad("   SEQ", 8) << pad("ENTERED", 26) << pad("FOR", 13)
        << "STATE\n";
  for (size_t i = 0; i < states.size(); ++i) {
    auto& x = states[i];
    auto is_last = i + 1 == states.size();
    std::optional<int64_t> spent;
    if (!is_last)
      spent = states[i + 1].entered_ms - x.entered_ms;
    else if (ongoing)
      spent = last.time_ms - x.entered_ms;
    if (ctx.json) {
      out << json{{"seq", x.seq},
                  {"entered", format_time(x.entered_ms)},
                  {"entered_ms", x.entered_ms},
                  {"state", to_string(x.status)},
                  {"detail", x.detail},
                  {"duration_ms", spent ? json(*spent) : json(nullptr)},
                  {"ongoing", is_last && ongoing}}
               .dump()
          << '\n';
      continue;
    }
    auto seq = std::to_string(x.seq);
    out << std::string(seq.size() < 6 ? 6 - seq.size() : 0, ' ') << seq << "  "
        << pad(format_time(x.entered_ms), 26)
        << pad(spent ? format_duration(*spent) : "-", 13) << to_string(x.status)
        << (x.detail.empty() ? "" : " (" + x.detail + ")") << "\n";
  }
  if (ongoing && !ctx.json)
    out << "(still " << to_string(states.back().status)
        << " at the end of the journal: seq " << last.seq << ", "
        << format_time(last.time_ms) << ")\n";
  out.flush();
  return cli_status::success;
}

cli_status verify(const cli_context& ctx, const persistence::journal& j) {
  auto& out = *ctx.out;
  uint64_t problems = 0;
  auto report = [&](uint64_t seq, const std::string& what) {
    ++problems;
    if (ctx.json)
      out << json{{"seq", seq}, {"problem", what}}.dump() << '\n';
    else
      out << "seq " << seq << ": " << what << '\n';
  };
  actors::task_table table;
  uint64_t expected = 1;
  progress_bar bar{*ctx.err, j.last_seq()};
  auto n = j.scan(1, [&](event& ev) {
    bar.tick();
    if (ev.seq > expected)
      report(expected, ev.seq == expected + 1
                         ? "missing (gap)"
                         : "missing (gap: seqs " + std::to_string(expected)
                             + " to " + std::to_string(ev.seq - 1) + ")");
    else if (ev.seq < expected)
      report(ev.seq,
             "out of order (expected seq " + std::to_string(expected) + ")");
    expected = ev.seq + 1;
    std::string issues;
    auto add = [&](const std::string& what) {
      issues += (issues.empty() ? "" : "; ") + what;
    };
    if (auto sum = persistence::checksum(ev); sum != ev.checksum)
      add("checksum mismatch (stored " + std::to_string(ev.checksum)
          + ", computed " + std::to_string(sum) + ")");
    if (persistence::is_task_fold_type(ev.type)) {
      if (auto typed = persistence::decode(ev); !typed) {
        add(describe(typed.error()));
      } else if (!table.apply(*typed, ev.time_ms)) {
        auto known = is_workflow_event(*typed)
                       ? table.find_workflow(subject(*typed)) != nullptr
                       : table.find(subject(*typed)) != nullptr;
        add(std::string{"the fold rejects it: "}
            + (is_workflow_event(*typed) ? "workflow " : "task ")
            + std::to_string(subject(*typed))
            + (known ? " was already submitted" : " is unknown"));
      }
    }
    if (!issues.empty())
      report(ev.seq, issues);
    return true;
  });
  bar.finish();
  if (!n)
    fail(ctx, describe(n.error()));
  if (ctx.json)
    out << json{{"verified", *n}, {"problems", problems}}.dump() << '\n';
  else
    out << "verified " << *n << " events: " << problems
        << (problems == 1 ? " problem" : " problems") << '\n';
  out.flush();
  return problems == 0 ? cli_status::success : cli_status::failure;
}

} // namespace

caf::expected<replay_bound> parse_replay_bound(const std::string& str) {
  if (!str.empty()
      && str.find_first_not_of("0123456789") == std::string::npos) {
    replay_bound result;
    auto [end, ec] = std::from_chars(str.data(), str.data() + str.size(),
                                     result.seq);
    if (ec != std::errc{} || end != str.data() + str.size())
      return make_error(errc::invalid_argument, "seq out of range: " + str);
    return result;
  }
  auto ms = parse_time(str);
  if (!ms)
    return std::move(ms.error());
  return replay_bound{false, 0, *ms};
}

cli_status cli_replay(const cli_context& ctx, const replay_options& opts) {
  try {
    if (opts.timeline && !opts.task)
      fail(ctx, "--timeline needs --task ID", cli_status::usage);
    auto filter = make_filter(ctx, opts);
    auto j = open_journal(ctx, opts.file);
    if (opts.verify)
      return verify(ctx, *j);
    if (opts.at)
      return print_state(ctx, *j, opts);
    if (opts.timeline)
      return print_timeline(ctx, *j, opts);
    return list_events(ctx, *j, opts, filter);
  } catch (const failure& x) {
    return x.status;
  }
}

} // namespace cw::runtime
