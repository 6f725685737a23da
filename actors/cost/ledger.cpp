#include "actors/cost/ledger.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

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

// -- budgets ------------------------------------------------------------------

std::optional<std::string>
cost_ledger::over_budget(const budgets& b, task_id task, uint64_t workflow,
                         const std::string& pool, int64_t now_ms,
                         double task_budget_usd) const {
  auto task_limit = task_budget_usd > 0 ? task_budget_usd : b.per_task_usd;
  if (auto spent = for_task(task); reached(spent.usd_nanos, task_limit))
    return reason("task " + std::to_string(task), spent, task_limit, false);
  if (workflow != 0)
    if (auto spent = for_workflow(workflow);
        reached(spent.usd_nanos, b.per_workflow_usd))
      return reason("workflow " + std::to_string(workflow), spent,
                    b.per_workflow_usd, false);
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

} // namespace cw::actors
