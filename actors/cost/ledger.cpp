#include "actors/cost/ledger.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "caf/deserializer.hpp"
#include "caf/serializer.hpp"

#include "messages/errc.hpp"

namespace cw::actors {

namespace {

constexpr int64_t ms_per_day = 86'400'000;

/// Larger figures are taken as this, which keeps the nano-dollar sums far
/// from overflowing.
constexpr double max_entry_usd = 1e6;

int64_t to_nanos(double usd) {
  if (!std::isfinite(usd) || usd <= 0)
    return 0;
  return std::llround(std::min(usd, max_entry_usd) * 1e9);
}

cost_totals amounts_of(const cost_entry& e) {
  return cost_totals{to_nanos(e.usd), e.input_tokens, e.output_tokens,
                     e.cache_read_tokens, e.cache_creation_tokens};
}

/// Adds (`sign` 1) or takes back (`sign` -1) `d`; taking back only ever
/// removes what an earlier call added, so the unsigned counts stay exact.
void bump(cost_totals& t, const cost_totals& d, int sign) {
  if (sign > 0) {
    t.usd_nanos += d.usd_nanos;
    t.input_tokens += d.input_tokens;
    t.output_tokens += d.output_tokens;
    t.cache_read_tokens += d.cache_read_tokens;
    t.cache_creation_tokens += d.cache_creation_tokens;
  } else {
    t.usd_nanos -= d.usd_nanos;
    t.input_tokens -= d.input_tokens;
    t.output_tokens -= d.output_tokens;
    t.cache_read_tokens -= d.cache_read_tokens;
    t.cache_creation_tokens -= d.cache_creation_tokens;
  }
}

template <class Map, class Key>
cost_totals find_or_zero(const Map& map, const Key& key) {
  auto i = map.find(key);
  return i == map.end() ? cost_totals{} : i->second;
}

/// Returns whether `spent_nanos` reached the limit `limit_usd` (0: none).
bool reached(int64_t spent_nanos, double limit_usd) {
  if (!(limit_usd > 0) || !std::isfinite(limit_usd))
    return false;
  // Beyond the range of the sums, a limit cannot be reached.
  if (limit_usd >= 9e9)
    return false;
  return spent_nanos >= std::llround(limit_usd * 1e9);
}

std::string reason(const std::string& who, const cost_totals& spent,
                   double limit_usd, bool per_day) {
  auto text = "budget: " + who + " spent " + format_usd(spent.usd()) + " of "
              + format_usd(limit_usd);
  if (per_day)
    text += " today";
  return text;
}

} // namespace

std::string format_usd(double x) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), x < 1.0 ? "$%.4f" : "$%.2f", x);
  return buf;
}

caf::error validate(const budgets& x) {
  auto check = [](const char* name, double value) -> caf::error {
    if (std::isfinite(value) && value >= 0)
      return caf::none;
    return make_error(errc::invalid_argument,
                      std::string{"budgets."} + name
                        + ": must be a finite number of dollars, at least 0 "
                          "(0 means no limit)");
  };
  if (auto err = check("per_task_usd", x.per_task_usd))
    return err;
  if (auto err = check("per_workflow_usd", x.per_workflow_usd))
    return err;
  if (auto err = check("per_pool_usd", x.per_pool_usd))
    return err;
  return check("per_day_usd", x.per_day_usd);
}

int64_t utc_day(int64_t time_ms) noexcept {
  auto day = time_ms / ms_per_day;
  // Division truncates toward zero; times before 1970 belong to the day
  // below.
  if (time_ms % ms_per_day < 0)
    --day;
  return day;
}

cost_figures figures_of(const cost_totals& x) {
  cost_figures result;
  result.usd = x.usd();
  result.tokens.input = x.input_tokens;
  result.tokens.output = x.output_tokens;
  result.tokens.cache_read = x.cache_read_tokens;
  result.tokens.cache_creation = x.cache_creation_tokens;
  return result;
}

// -- updates ------------------------------------------------------------------

void cost_ledger::add(const cost_entry& e) {
  auto& rec = tasks_[e.task];
  if (rec.running) {
    auto old = std::move(*rec.running);
    rec.running.reset();
    apply(old, -1);
  }
  apply(e, 1);
}

void cost_ledger::set_task_cost(const cost_entry& e) {
  auto& rec = tasks_[e.task];
  if (rec.running)
    apply(*rec.running, -1);
  rec.running = e;
  apply(e, 1);
}

void cost_ledger::apply(const cost_entry& e, int sign) {
  auto d = amounts_of(e);
  bump(tasks_[e.task].total, d, sign);
  if (e.workflow != 0)
    bump(workflows_[e.workflow], d, sign);
  if (e.session != 0)
    bump(sessions_[e.session], d, sign);
  auto day = utc_day(e.time_ms);
  if (!e.pool.empty()) {
    bump(pools_[e.pool], d, sign);
    bump(pool_days_[{e.pool, day}], d, sign);
  }
  bump(days_[day], d, sign);
  bump(node_, d, sign);
}

// -- queries ------------------------------------------------------------------

cost_totals cost_ledger::for_task(task_id id) const {
  auto i = tasks_.find(id);
  return i == tasks_.end() ? cost_totals{} : i->second.total;
}

cost_totals cost_ledger::for_workflow(uint64_t id) const {
  return find_or_zero(workflows_, id);
}

cost_totals cost_ledger::for_session(uint64_t id) const {
  return find_or_zero(sessions_, id);
}

cost_totals cost_ledger::for_pool(const std::string& name) const {
  return find_or_zero(pools_, name);
}

std::vector<std::string> cost_ledger::pools() const {
  std::vector<std::string> result;
  result.reserve(pools_.size());
  for (auto& [name, totals] : pools_)
    result.push_back(name);
  return result;
}

cost_totals cost_ledger::for_pool_day(const std::string& name,
                                      int64_t day) const {
  return find_or_zero(pool_days_, std::make_pair(name, day));
}

cost_totals cost_ledger::for_day(int64_t day) const {
  return find_or_zero(days_, day);
}

cost_report cost_ledger::report(uint32_t days) const {
  cost_report result;
  for (auto i = days_.rbegin(); i != days_.rend(); ++i) {
    if (days != 0 && result.days.size() >= days)
      break;
    cost_day day;
    day.day = i->first;
    day.node = figures_of(i->second);
    for (auto& [name, totals] : pools_) {
      auto p = pool_days_.find(std::make_pair(name, i->first));
      if (p != pool_days_.end())
        day.pools.emplace(name, figures_of(p->second));
    }
    result.days.push_back(std::move(day));
  }
  result.total = figures_of(node_);
  for (auto& [name, totals] : pools_)
    result.pools.emplace(name, figures_of(totals));
  return result;
}

// -- budgets ------------------------------------------------------------------

std::optional<std::string>
cost_ledger::over_budget(const budgets& b, task_id task, uint64_t workflow,
                         const std::string& pool, int64_t now_ms,
                         double task_budget_usd,
                         double workflow_budget_usd) const {
  auto task_limit = task_budget_usd > 0 ? task_budget_usd : b.per_task_usd;
  if (auto spent = for_task(task); reached(spent.usd_nanos, task_limit))
    return reason("task " + std::to_string(task), spent, task_limit, false);
  auto workflow_limit = workflow_budget_usd > 0 ? workflow_budget_usd
                                                : b.per_workflow_usd;
  if (workflow != 0)
    if (auto spent = for_workflow(workflow);
        reached(spent.usd_nanos, workflow_limit))
      return reason("workflow " + std::to_string(workflow), spent,
                    workflow_limit, false);
  auto day = utc_day(now_ms);
  if (!pool.empty())
    if (auto spent = for_pool_day(pool, day);
        reached(spent.usd_nanos, b.per_pool_usd))
      return reason("pool \"" + pool + "\"", spent, b.per_pool_usd, true);
  if (auto spent = for_day(day); reached(spent.usd_nanos, b.per_day_usd))
    return reason("node", spent, b.per_day_usd, true);
  return std::nullopt;
}

bool cost_ledger::task_over(task_id task, double task_budget_usd) const {
  return reached(for_task(task).usd_nanos, task_budget_usd);
}

// -- snapshots ----------------------------------------------------------------

namespace {

/// Writes `m` as a count and (key parts..., totals) records.
template <class Map, class Split>
caf::error save_map(caf::serializer& sink, const Map& m, Split split) {
  auto count = static_cast<uint64_t>(m.size());
  if (auto err = sink(count))
    return err;
  for (auto& [key, totals] : m) {
    auto t = totals;
    if (auto err = split(key, t))
      return err;
  }
  return {};
}

} // namespace

caf::error cost_ledger::save_to(caf::serializer& sink) const {
  auto plain = [&sink](auto key, cost_totals& t) {
    return sink(key, t);
  };
  std::map<task_id, cost_totals> tasks;
  for (auto& [id, rec] : tasks_)
    tasks.emplace(id, rec.total);
  if (auto err = save_map(sink, tasks, plain))
    return err;
  if (auto err = save_map(sink, workflows_, plain))
    return err;
  if (auto err = save_map(sink, sessions_, plain))
    return err;
  if (auto err = save_map(sink, pools_, plain))
    return err;
  auto pair = [&sink](const std::pair<std::string, int64_t>& key,
                      cost_totals& t) {
    auto name = key.first;
    auto day = key.second;
    return sink(name, day, t);
  };
  if (auto err = save_map(sink, pool_days_, pair))
    return err;
  if (auto err = save_map(sink, days_, plain))
    return err;
  auto node = node_;
  return sink(node);
}

caf::error cost_ledger::load_from(caf::deserializer& source) {
  *this = cost_ledger{};
  auto load = [&source](auto& m, auto read) -> caf::error {
    uint64_t count = 0;
    if (auto err = source(count))
      return err;
    for (uint64_t i = 0; i < count; ++i)
      if (auto err = read(m))
        return err;
    return {};
  };
  auto plain = [&source](auto& m) -> caf::error {
    typename std::decay_t<decltype(m)>::key_type key{};
    cost_totals t;
    if (auto err = source(key, t))
      return err;
    m.emplace(std::move(key), t);
    return {};
  };
  std::map<task_id, cost_totals> tasks;
  if (auto err = load(tasks, plain))
    return err;
  for (auto& [id, t] : tasks)
    tasks_[id].total = t;
  if (auto err = load(workflows_, plain))
    return err;
  if (auto err = load(sessions_, plain))
    return err;
  if (auto err = load(pools_, plain))
    return err;
  auto pair = [&source](auto& m) -> caf::error {
    std::string name;
    int64_t day = 0;
    cost_totals t;
    if (auto err = source(name, day, t))
      return err;
    m.emplace(std::make_pair(std::move(name), day), t);
    return {};
  };
  if (auto err = load(pool_days_, pair))
    return err;
  if (auto err = load(days_, plain))
    return err;
  return source(node_);
}

bool cost_ledger::operator==(const cost_ledger& other) const {
  if (tasks_.size() != other.tasks_.size())
    return false;
  for (auto& [id, rec] : tasks_) {
    auto i = other.tasks_.find(id);
    if (i == other.tasks_.end() || !(i->second.total == rec.total))
      return false;
  }
  return workflows_ == other.workflows_ && sessions_ == other.sessions_
         && pools_ == other.pools_ && pool_days_ == other.pool_days_
         && days_ == other.days_ && node_ == other.node_;
}

} // namespace cw::actors
