#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>
#include <unordered_map>
#include <utility>

#include "caf/error.hpp"
#include "caf/fwd.hpp"

#include "messages/task.hpp"

namespace cw::actors {

/// What one task cost, as reported by its agent.
struct cost_entry {
  task_id task = 0;
  /// The task's workflow, 0 for none.
  uint64_t workflow = 0;
  /// The task's session, 0 for none.
  uint64_t session = 0;
  /// The pool whose agent ran the task; empty for none.
  std::string pool;
  /// When the cost arose (Unix milliseconds); picks the UTC day.
  int64_t time_ms = 0;
  /// US dollars; negative or non-finite values count as 0.
  double usd = 0;
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
  uint64_t cache_read_tokens = 0;
  uint64_t cache_creation_tokens = 0;
};

/// Money and tokens summed over some entries.
struct cost_totals {
  /// Exact sum in nano-dollars, so that replacing and replaying figures
  /// never drifts.
  int64_t usd_nanos = 0;
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
  uint64_t cache_read_tokens = 0;
  uint64_t cache_creation_tokens = 0;

  /// Returns the sum in US dollars.
  double usd() const noexcept {
    return static_cast<double>(usd_nanos) / 1e9;
  }

  friend bool operator==(const cost_totals&, const cost_totals&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cost_totals& x) {
  return f(caf::meta::type_name("cw.cost_totals"), x.usd_nanos,
           x.input_tokens, x.output_tokens, x.cache_read_tokens,
           x.cache_creation_tokens);
}

/// Returns `x` as clients see it.
cost_figures figures_of(const cost_totals& x);

/// Spending limits in US dollars; 0 means no limit.
struct budgets {
  /// Default limit of one task over all its attempts, for tasks that set
  /// none of their own.
  double per_task_usd = 0;
  /// Limit of one workflow.
  double per_workflow_usd = 0;
  /// Limit of one pool per UTC day.
  double per_pool_usd = 0;
  /// Limit of the whole node per UTC day.
  double per_day_usd = 0;
};

/// Returns `$12.34`, or `$0.0123` below a dollar: how cw writes money.
std::string format_usd(double usd);

/// Returns an `errc::invalid_argument` error naming the first field of `x`
/// that is negative or not finite, else no error.
caf::error validate(const budgets& x);

/// Returns the UTC day of `time_ms` (days since 1970-01-01, rounded down).
int64_t utc_day(int64_t time_ms) noexcept;

/// Money and tokens spent, folded from cost events: totals per task,
/// workflow, session, pool, UTC day and for the node, and the budget checks
/// the scheduler makes. Pure: the caller passes the time. Owned by the
/// scheduler; not thread-safe.
///
/// A task's figure is its *settled* cost (the sum of `add`) plus its
/// *running* cost (the last `set_task_cost`). Every change of a task's
/// figure flows into the other totals, under the dimensions and day of the
/// entry that brought it.
class cost_ledger {
public:
  /// Settles a finished run of `e.task`: adds its figures to the task and
  /// clears the task's running figure, which the final one includes.
  void add(const cost_entry& e);

  /// Replaces the running figure of `e.task` (cost so far of the run in
  /// progress); reporting the same figure again changes nothing.
  void set_task_cost(const cost_entry& e);

  /// Returns what task `id` spent, settled and running.
  cost_totals for_task(task_id id) const;

  /// Returns what workflow `id` spent.
  cost_totals for_workflow(uint64_t id) const;

  /// Returns what session `id` spent.
  cost_totals for_session(uint64_t id) const;

  /// Returns what pool `name` spent, all days.
  cost_totals for_pool(const std::string& name) const;

  /// Returns what pool `name` spent on UTC day `day`.
  cost_totals for_pool_day(const std::string& name, int64_t day) const;

  /// Returns what the node spent on UTC day `day` (see `utc_day`).
  cost_totals for_day(int64_t day) const;

  /// Returns what the node spent on the UTC day of `now_ms`.
  cost_totals today(int64_t now_ms) const {
    return for_day(utc_day(now_ms));
  }

  /// Returns the names of the pools that have spent anything, in order.
  std::vector<std::string> pools() const;

  /// Returns what the node spent in all.
  const cost_totals& node_total() const noexcept {
    return node_;
  }

  /// Returns the ledger by UTC day, newest first: the node's and each
  /// pool's figures of the latest `days` days that saw spending (0: all),
  /// and the totals over all days.
  cost_report report(uint32_t days) const;

  /// Returns why a task may not start now, naming the budget and the
  /// figures (`budget: pool "claude" spent $5.02 of $5.00 today`), or
  /// nothing. A budget is reached once the spending equals it. Checks, in
  /// order: the task's budget (`task_budget_usd` when positive, else
  /// `b.per_task_usd`), its workflow's (unless `workflow` is 0;
  /// `workflow_budget_usd` when positive, else `b.per_workflow_usd`), its
  /// pool's today (unless `pool` is empty), and the node's today.
  std::optional<std::string>
  over_budget(const budgets& b, task_id task, uint64_t workflow,
              const std::string& pool, int64_t now_ms,
              double task_budget_usd, double workflow_budget_usd = 0) const;

  /// Returns whether a running task spent its budget `task_budget_usd`
  /// (0: no limit) and should be stopped.
  bool task_over(task_id task, double task_budget_usd) const;

  /// Writes and reads the settled figures for snapshots (running figures
  /// are not state: they come again from the runs). Errors: the
  /// serializer's.
  caf::error save_to(caf::serializer& sink) const;
  caf::error load_from(caf::deserializer& source);

  /// Returns whether both ledgers hold the same settled figures.
  bool operator==(const cost_ledger& other) const;

private:
  void apply(const cost_entry& e, int sign);

  struct task_record {
    cost_totals total;
    std::optional<cost_entry> running;
  };

  std::unordered_map<task_id, task_record> tasks_;
  std::unordered_map<uint64_t, cost_totals> workflows_;
  std::unordered_map<uint64_t, cost_totals> sessions_;
  std::map<std::string, cost_totals, std::less<>> pools_;
  std::map<std::pair<std::string, int64_t>, cost_totals> pool_days_;
  std::map<int64_t, cost_totals> days_;
  cost_totals node_;
};

} // namespace cw::actors
