#include "runtime/replay_format.hpp"

#include <chrono>
#include <cstdio>
#include <ostream>
#include <variant>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "messages/errc.hpp"
#include "persistence/event_codec.hpp"

namespace cw::runtime {

namespace {

using json = nlohmann::json;

/// Payloads longer than this are cut in summaries.
constexpr size_t max_summary = 100;

template <class... Fs>
struct overload : Fs... {
  using Fs::operator()...;
};

template <class... Fs>
overload(Fs...) -> overload<Fs...>;

std::string shorten(const std::string& str, size_t max = max_summary) {
  if (str.size() <= max)
    return str;
  return str.substr(0, max - 3) + "...";
}

/// Returns the argument list as a shell would show it (quoted when needed),
/// so that a summary tells `a b` from `"a b"`.
std::string command_line(const std::vector<std::string>& argv) {
  std::string result;
  for (auto& arg : argv) {
    if (!result.empty())
      result += ' ';
    if (!arg.empty() && arg.find_first_of(" \t\n'\"\\$") == std::string::npos)
      result += arg;
    else
      result += json(arg).dump();
  }
  return result;
}

std::string summary_of(const task_event& ev) {
  return std::visit(
    overload{
      [](const task_submitted& x) { return summarize(x.spec); },
      [](const task_assigned& x) {
        auto result = x.agent + ", attempt " + std::to_string(x.attempt);
        if (!x.reason.empty())
          result += " (" + x.reason + ")";
        if (x.session != 0)
          result += ", session " + std::to_string(x.session) + " (" + x.tier + ")";
        return result;
      },
      [](const task_started& x) { return "pid " + std::to_string(x.pid); },
      [](const task_finished& x) {
        auto result = to_string(x.outcome.status);
        if (x.outcome.exit_code >= 0)
          result += ", exit " + std::to_string(x.outcome.exit_code);
        if (x.outcome.signal != 0)
          result += ", signal " + std::to_string(x.outcome.signal);
        if (!x.outcome.reason.empty())
          result += ": " + x.outcome.reason;
        return result;
      },
      [](const task_requeued& x) { return x.reason; },
      [](const task_retry_scheduled& x) {
        return x.reason + "; retry at " + format_time(x.run_at_ms);
      },
      [](const task_cancelled& x) {
        return x.reason.empty() ? std::string{"cancelled"} : x.reason;
      },
      [](const task_retried&) { return std::string{"fresh attempts"}; },
      [](const task_parked& x) {
        return x.reason
               + (x.until_ms > 0 ? "; continues at " + format_time(x.until_ms)
                                 : std::string{"; waits for a retry"});
      },
      [](const session_changed& x) {
        return x.what == "opened" ? x.provider + " in pool '" + x.pool + "'"
                                      + (x.resume_key.empty()
                                           ? ""
                                           : ", key " + x.resume_key)
                                  : x.reason;
      },
      [](const workflow_submitted& x) {
        return x.name + " (" + std::to_string(x.tasks.size()) + " tasks, "
               + to_string(x.policy) + ")";
      },
      [](const workflow_finished& x) {
        return to_string(x.status) + (x.reason.empty() ? "" : ": " + x.reason);
      },
      // Types this summary does not know yet show their payload.
      [](const auto&) { return std::string{}; },
    },
    ev);
}

bool digits(const std::string& str, size_t pos, size_t n, int& out) {
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (i >= str.size() || str[i] < '0' || str[i] > '9')
      return false;
    out = out * 10 + (str[i] - '0');
  }
  return true;
}

} // namespace

std::string format_time(int64_t time_ms) {
  using namespace std::chrono;
  sys_time<milliseconds> tp{milliseconds{time_ms}};
  auto day = floor<days>(tp);
  year_month_day ymd{day};
  hh_mm_ss hms{tp - day};
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  return buf;
}

caf::expected<int64_t> parse_time(const std::string& str) {
  using namespace std::chrono;
  auto bad = [&] {
    return make_error(errc::invalid_argument,
                      "expected a seq or a UTC time such as "
                      "2026-11-23T13:25:00Z, got '"
                        + str + "'");
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!digits(str, 0, 4, y) || str[4] != '-' || !digits(str, 5, 2, mo)
      || str[7] != '-' || !digits(str, 8, 2, d)
      || (str[10] != 'T' && str[10] != 't') || !digits(str, 11, 2, h)
      || str[13] != ':' || !digits(str, 14, 2, mi) || str[16] != ':'
      || !digits(str, 17, 2, s))
    return bad();
  size_t pos = 19;
  int ms = 0;
  if (pos < str.size() && str[pos] == '.') {
    size_t n = 0;
    for (++pos; pos < str.size() && str[pos] >= '0' && str[pos] <= '9';
         ++pos, ++n)
      if (n < 3)
        ms = ms * 10 + (str[pos] - '0');
    if (n == 0)
      return bad();
    for (; n < 3; ++n)
      ms *= 10;
  }
  if (pos < str.size() && (str[pos] == 'Z' || str[pos] == 'z'))
    ++pos;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                     day{static_cast<unsigned>(d)}};
  if (pos != str.size() || !ymd.ok() || h > 23 || mi > 59 || s > 59)
    return bad();
  auto midnight = duration_cast<milliseconds>(sys_days{ymd}.time_since_epoch());
  return midnight.count() + ((h * 60 + mi) * 60 + s) * int64_t{1000} + ms;
}

std::string format_duration(int64_t ms) {
  char buf[48];
  if (ms < 0)
    return "-" + format_duration(-ms);
  if (ms < 1000)
    return std::to_string(ms) + " ms";
  if (ms < 60'000) {
    std::snprintf(buf, sizeof(buf), "%d.%03d s", static_cast<int>(ms / 1000),
                  static_cast<int>(ms % 1000));
    return buf;
  }
  auto secs = ms / 1000;
  if (secs < 3600)
    std::snprintf(buf, sizeof(buf), "%dm %02ds", static_cast<int>(secs / 60),
                  static_cast<int>(secs % 60));
  else
    std::snprintf(buf, sizeof(buf), "%lldh %02dm %02ds",
                  static_cast<long long>(secs / 3600),
                  static_cast<int>(secs / 60 % 60),
                  static_cast<int>(secs % 60));
  return buf;
}

std::string summarize(const event& ev) {
  if (persistence::is_task_fold_type(ev.type))
    if (auto typed = persistence::decode(ev))
      if (auto result = summary_of(*typed); !result.empty())
        return result;
  return shorten(ev.payload);
}

std::string summarize(const task_spec& spec) {
  std::string result;
  if (spec.provider != "command")
    result += "provider " + spec.provider + "; ";
  if (!spec.argv.empty())
    result += command_line(spec.argv) + "; ";
  if (!spec.prompt.empty())
    result += "prompt " + json(shorten(spec.prompt, 40)).dump() + "; ";
  result += "priority " + std::to_string(spec.priority);
  if (spec.retry.max_attempts != 0)
    result += "; max attempts " + std::to_string(spec.retry.max_attempts);
  if (spec.timeout_ms != 0)
    result += "; timeout " + format_duration(spec.timeout_ms);
  if (spec.run_at_ms != 0)
    result += "; not before " + format_time(spec.run_at_ms);
  return result + "; in " + spec.workspace;
}

std::string pad(std::string str, size_t width) {
  if (str.size() < width)
    str.append(width - str.size(), ' ');
  return str;
}

std::string format_event(const event& ev) {
  auto seq = std::to_string(ev.seq);
  if (seq.size() < 6)
    seq.insert(0, 6 - seq.size(), ' ');
  return seq + "  " + format_time(ev.time_ms) + "  "
         + (ev.node.empty() ? "-" : ev.node) + "  "
         + pad(ev.type + "@" + std::to_string(ev.version), 22) + "  "
         + pad(ev.entity, 9) + "  " + summarize(ev);
}

nlohmann::ordered_json event_json(const event& ev) {
  using ojson = nlohmann::ordered_json;
  auto payload = ojson::parse(ev.payload, nullptr, false);
  if (payload.is_discarded())
    payload = ev.payload;
  return ojson{{"seq", ev.seq},          {"time", format_time(ev.time_ms)},
               {"time_ms", ev.time_ms},  {"node", ev.node},
               {"type", ev.type},        {"version", ev.version},
               {"entity", ev.entity},    {"payload", std::move(payload)},
               {"checksum", ev.checksum}};
}

progress_bar::progress_bar(std::ostream& err, uint64_t total, bool enabled)
  : err_(err),
    total_(total),
    active_(enabled && total > threshold && ::isatty(STDERR_FILENO) == 1) {
  // nop
}

progress_bar::~progress_bar() {
  finish();
}

void progress_bar::finish() {
  if (!active_)
    return;
  active_ = false;
  err_ << "\r\033[K" << std::flush;
}

void progress_bar::draw() {
  constexpr uint64_t width = 40;
  auto shown = std::min(done_, total_);
  auto filled = shown * width / total_;
  err_ << "\r[" << std::string(filled, '#') << std::string(width - filled, '.')
       << "] " << shown * 100 / total_ << "% " << shown << "/" << total_
       << " events" << std::flush;
  next_draw_ = done_ + std::max<uint64_t>(total_ / 100, 1);
}

} // namespace cw::runtime
