#define CAF_SUITE actors.cost_ledger
#include "caf/test/unit_test.hpp"

#include <cmath>
#include <limits>

#include "actors/cost/ledger.hpp"
#include "messages/errc.hpp"

using namespace cw;
using namespace cw::actors;

namespace {

constexpr int64_t day_ms = 86'400'000;

/// 2026-02-18T00:00Z.
constexpr int64_t feb18 = 1771372800'000;

/// Returns an entry of `usd` for `task` with 10/20/30/40 tokens.
cost_entry entry(task_id task, double usd, uint64_t workflow = 0,
                 uint64_t session = 0, std::string pool = "claude",
                 int64_t time_ms = feb18 + 3'600'000) {
  return cost_entry{task,  workflow, session, std::move(pool),
                    time_ms, usd,    10,      20,
                    30,    40};
}

cost_totals dollars(double usd, uint64_t entries = 1) {
  return cost_totals{std::llround(usd * 1e9), 10 * entries, 20 * entries,
                     30 * entries, 40 * entries};
}

/// Returns the reason, or "(none)".
std::string why(const std::optional<std::string>& reason) {
  return reason ? *reason : "(none)";
}

struct fixture {
  cost_ledger ledger;
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(cost_ledger_tests, fixture)

// -- totals -------------------------------------------------------------------

CAF_TEST(an empty ledger has zero totals everywhere) {
  CAF_CHECK(ledger.for_task(1) == cost_totals{});
  CAF_CHECK(ledger.for_workflow(1) == cost_totals{});
  CAF_CHECK(ledger.for_session(1) == cost_totals{});
  CAF_CHECK(ledger.for_pool("claude") == cost_totals{});
  CAF_CHECK(ledger.today(feb18) == cost_totals{});
  CAF_CHECK(ledger.node_total() == cost_totals{});
  CAF_CHECK_EQUAL(ledger.node_total().usd(), 0.0);
}

CAF_TEST(entries add up per task workflow session pool day and node) {
  ledger.add(entry(1, 0.10, 7, 100, "claude"));
  ledger.add(entry(2, 0.20, 7, 101, "claude"));
  ledger.add(entry(3, 0.40, 8, 100, "codex"));
  ledger.add(entry(1, 0.05, 7, 100, "claude"));
  CAF_CHECK(ledger.for_task(1) == dollars(0.15, 2));
  CAF_CHECK(ledger.for_task(2) == dollars(0.20));
  CAF_CHECK(ledger.for_task(3) == dollars(0.40));
  CAF_CHECK(ledger.for_task(4) == cost_totals{});
  CAF_CHECK(ledger.for_workflow(7) == dollars(0.35, 3));
  CAF_CHECK(ledger.for_workflow(8) == dollars(0.40));
  CAF_CHECK(ledger.for_session(100) == dollars(0.55, 3));
  CAF_CHECK(ledger.for_session(101) == dollars(0.20));
  CAF_CHECK(ledger.for_pool("claude") == dollars(0.35, 3));
  CAF_CHECK(ledger.for_pool("codex") == dollars(0.40));
  CAF_CHECK(ledger.for_pool("other") == cost_totals{});
  CAF_CHECK(ledger.today(feb18) == dollars(0.75, 4));
  CAF_CHECK(ledger.node_total() == dollars(0.75, 4));
  CAF_CHECK_EQUAL(ledger.node_total().usd(), 0.75);
  CAF_CHECK_EQUAL(ledger.node_total().input_tokens, 40u);
  CAF_CHECK_EQUAL(ledger.node_total().cache_creation_tokens, 160u);
}

CAF_TEST(no workflow session or pool means no such total) {
  ledger.add(entry(1, 1.0, 0, 0, ""));
  CAF_CHECK(ledger.for_workflow(0) == cost_totals{});
  CAF_CHECK(ledger.for_session(0) == cost_totals{});
  CAF_CHECK(ledger.for_pool("") == cost_totals{});
  CAF_CHECK(ledger.node_total() == dollars(1.0));
}

CAF_TEST(sums of many small costs are exact) {
  for (int i = 0; i < 10; ++i)
    ledger.add(entry(1, 0.1));
  CAF_CHECK_EQUAL(ledger.for_task(1).usd_nanos, 1'000'000'000);
  CAF_CHECK_EQUAL(ledger.for_task(1).usd(), 1.0);
}

CAF_TEST(negative and non finite costs count as zero) {
  ledger.add(entry(1, -3.0));
  ledger.add(entry(2, std::numeric_limits<double>::quiet_NaN()));
  ledger.add(entry(3, std::numeric_limits<double>::infinity()));
  CAF_CHECK_EQUAL(ledger.for_task(1).usd_nanos, 0);
  CAF_CHECK_EQUAL(ledger.for_task(2).usd_nanos, 0);
  CAF_CHECK_EQUAL(ledger.for_task(3).usd_nanos, 0);
  // The tokens still count.
  CAF_CHECK_EQUAL(ledger.node_total().output_tokens, 60u);
}

// -- days ---------------------------------------------------------------------

CAF_TEST(days are utc days) {
  CAF_CHECK_EQUAL(utc_day(0), 0);
  CAF_CHECK_EQUAL(utc_day(day_ms - 1), 0);
  CAF_CHECK_EQUAL(utc_day(day_ms), 1);
  CAF_CHECK_EQUAL(utc_day(-1), -1);
  CAF_CHECK_EQUAL(utc_day(-day_ms), -1);
  CAF_CHECK_EQUAL(utc_day(-day_ms - 1), -2);
  CAF_CHECK_EQUAL(utc_day(feb18), 20502);
}

CAF_TEST(entries fall on the utc day of their time) {
  ledger.add(entry(1, 1.0, 0, 0, "claude", feb18 - 1));
  ledger.add(entry(2, 2.0, 0, 0, "claude", feb18));
  ledger.add(entry(3, 4.0, 0, 0, "claude", feb18 + day_ms - 1));
  ledger.add(entry(4, 8.0, 0, 0, "claude", feb18 + day_ms));
  CAF_CHECK_EQUAL(ledger.for_day(utc_day(feb18) - 1).usd(), 1.0);
  CAF_CHECK_EQUAL(ledger.for_day(utc_day(feb18)).usd(), 6.0);
  CAF_CHECK_EQUAL(ledger.for_day(utc_day(feb18) + 1).usd(), 8.0);
  CAF_CHECK_EQUAL(ledger.today(feb18 + 12 * 3'600'000).usd(), 6.0);
  CAF_CHECK_EQUAL(ledger.for_pool_day("claude", utc_day(feb18)).usd(), 6.0);
  CAF_CHECK_EQUAL(ledger.for_pool("claude").usd(), 15.0);
  CAF_CHECK_EQUAL(ledger.node_total().usd(), 15.0);
}

// -- running tasks ------------------------------------------------------------

CAF_TEST(a running figure is replaced not added) {
  ledger.set_task_cost(entry(1, 0.10, 7, 100));
  ledger.set_task_cost(entry(1, 0.25, 7, 100));
  ledger.set_task_cost(entry(1, 0.25, 7, 100));
  CAF_CHECK(ledger.for_task(1) == dollars(0.25));
  CAF_CHECK(ledger.for_workflow(7) == dollars(0.25));
  CAF_CHECK(ledger.for_session(100) == dollars(0.25));
  CAF_CHECK(ledger.for_pool("claude") == dollars(0.25));
  CAF_CHECK(ledger.today(feb18) == dollars(0.25));
  CAF_CHECK(ledger.node_total() == dollars(0.25));
}

CAF_TEST(the final figure of a run replaces its running figure) {
  ledger.set_task_cost(entry(1, 0.10));
  ledger.set_task_cost(entry(1, 0.30));
  ledger.add(entry(1, 0.40));
  CAF_CHECK(ledger.for_task(1) == dollars(0.40));
  // A retry runs up its own figure on top of the first run's.
  ledger.set_task_cost(entry(1, 0.05));
  CAF_CHECK(ledger.for_task(1) == dollars(0.45, 2));
  ledger.add(entry(1, 0.06));
  CAF_CHECK(ledger.for_task(1) == dollars(0.46, 2));
  CAF_CHECK(ledger.node_total() == dollars(0.46, 2));
}

CAF_TEST(a replaced figure leaves the day and pool it was booked under) {
  // The first report came before midnight, the next one after.
  ledger.set_task_cost(entry(1, 1.0, 0, 0, "claude", feb18 - 1000));
  ledger.set_task_cost(entry(1, 1.5, 0, 0, "claude", feb18 + 1000));
  CAF_CHECK(ledger.for_day(utc_day(feb18) - 1) == cost_totals{});
  CAF_CHECK(ledger.for_day(utc_day(feb18)) == dollars(1.5));
  ledger.set_task_cost(entry(1, 2.0, 0, 0, "codex", feb18 + 2000));
  CAF_CHECK(ledger.for_pool("claude") == cost_totals{});
  CAF_CHECK(ledger.for_pool("codex") == dollars(2.0));
  CAF_CHECK(ledger.node_total() == dollars(2.0));
}

// -- budgets ------------------------------------------------------------------

CAF_TEST(zero budgets mean no limit) {
  ledger.add(entry(1, 1000.0, 7));
  CAF_CHECK(!ledger.over_budget(budgets{}, 1, 7, "claude", feb18, 0));
  CAF_CHECK(!ledger.task_over(1, 0));
}

CAF_TEST(a task budget stops starts and running tasks once reached) {
  budgets b;
  b.per_task_usd = 1.0;
  ledger.add(entry(1, 0.99));
  CAF_CHECK(!ledger.over_budget(b, 1, 0, "claude", feb18, 0));
  CAF_CHECK(!ledger.task_over(1, 1.0));
  ledger.set_task_cost(entry(1, 0.01));
  CAF_CHECK_EQUAL(why(ledger.over_budget(b, 1, 0, "claude", feb18, 0)),
                  "budget: task 1 spent $1.00 of $1.00");
  CAF_CHECK(ledger.task_over(1, 1.0));
  // The task's own budget beats the default.
  CAF_CHECK(!ledger.over_budget(b, 1, 0, "claude", feb18, 2.5));
  CAF_CHECK_EQUAL(why(ledger.over_budget(b, 1, 0, "claude", feb18, 0.5)),
                  "budget: task 1 spent $1.00 of $0.5000");
  CAF_CHECK(!ledger.task_over(1, 2.5));
  // Another task has spent nothing.
  CAF_CHECK(!ledger.over_budget(b, 2, 0, "claude", feb18, 0));
}

CAF_TEST(a workflow budget counts every task of the workflow) {
  budgets b;
  b.per_workflow_usd = 10.0;
  ledger.add(entry(1, 6.0, 7));
  ledger.set_task_cost(entry(2, 3.0, 7));
  ledger.add(entry(3, 50.0, 8));
  CAF_CHECK(!ledger.over_budget(b, 4, 7, "claude", feb18, 0));
  ledger.set_task_cost(entry(2, 4.5, 7));
  CAF_CHECK_EQUAL(why(ledger.over_budget(b, 4, 7, "claude", feb18, 0)),
                  "budget: workflow 7 spent $10.50 of $10.00");
  // A task outside any workflow is not held by workflow 8.
  CAF_CHECK(!ledger.over_budget(b, 5, 0, "claude", feb18, 0));
}

CAF_TEST(a pool budget is per utc day) {
  budgets b;
  b.per_pool_usd = 5.0;
  ledger.add(entry(1, 3.0, 0, 0, "claude", feb18 - 1000));
  ledger.add(entry(2, 3.0, 0, 0, "claude", feb18 + 1000));
  ledger.add(entry(3, 9.0, 0, 0, "codex", feb18 + 1000));
  CAF_CHECK(!ledger.over_budget(b, 4, 0, "claude", feb18 + 2000, 0));
  ledger.add(entry(2, 2.02, 0, 0, "claude", feb18 + 3000));
  CAF_CHECK_EQUAL(why(ledger.over_budget(b, 4, 0, "claude", feb18 + 4000, 0)),
                  R"(budget: pool "claude" spent $5.02 of $5.00 today)");
  CAF_CHECK_EQUAL(why(ledger.over_budget(b, 4, 0, "codex", feb18 + 4000, 0)),
                  R"(budget: pool "codex" spent $9.00 of $5.00 today)");
  // The next day starts afresh.
  CAF_CHECK(!ledger.over_budget(b, 4, 0, "claude", feb18 + day_ms, 0));
  // A task with no pool is held by no pool budget.
  CAF_CHECK(!ledger.over_budget(b, 4, 0, "", feb18 + 4000, 0));
}

CAF_TEST(a day budget counts the whole node) {
  budgets b;
  b.per_day_usd = 20.0;
  ledger.add(entry(1, 12.0, 0, 0, "claude", feb18 + 1000));
  ledger.add(entry(2, 7.0, 0, 0, "codex", feb18 + 2000));
  CAF_CHECK(!ledger.over_budget(b, 3, 0, "claude", feb18 + 3000, 0));
  ledger.add(entry(3, 1.0, 0, 0, "", feb18 + 3000));
  CAF_CHECK_EQUAL(why(ledger.over_budget(b, 4, 0, "other", feb18 + 4000, 0)),
                  "budget: node spent $20.00 of $20.00 today");
  CAF_CHECK(!ledger.over_budget(b, 4, 0, "other", feb18 + day_ms, 0));
  CAF_CHECK(!ledger.over_budget(b, 4, 0, "other", feb18 - 1, 0));
}

CAF_TEST(the first budget reached is named task workflow pool then day) {
  budgets b{1.0, 1.0, 1.0, 1.0};
  ledger.add(entry(1, 2.0, 7, 0, "claude"));
  auto at = feb18 + 3'600'000;
  CAF_CHECK_EQUAL(why(ledger.over_budget(b, 1, 7, "claude", at, 0)),
                  "budget: task 1 spent $2.00 of $1.00");
  CAF_CHECK_EQUAL(why(ledger.over_budget(b, 2, 7, "claude", at, 0)),
                  "budget: workflow 7 spent $2.00 of $1.00");
  CAF_CHECK_EQUAL(why(ledger.over_budget(b, 2, 8, "claude", at, 0)),
                  R"(budget: pool "claude" spent $2.00 of $1.00 today)");
  CAF_CHECK_EQUAL(why(ledger.over_budget(b, 2, 8, "codex", at, 0)),
                  "budget: node spent $2.00 of $1.00 today");
}

// -- validation ---------------------------------------------------------------

CAF_TEST(budgets must be finite and not negative) {
  CAF_CHECK(!validate(budgets{}));
  CAF_CHECK(!validate(budgets{1, 2, 3, 4}));
  auto bad = [](budgets b, const char* field) {
    auto err = validate(b);
    CAF_CHECK_EQUAL(error_code(err), errc::invalid_argument);
    auto msg = error_message(err);
    if (msg.find(field) == std::string::npos)
      CAF_ERROR("message does not name " << field << ": " << msg);
  };
  bad(budgets{-1, 0, 0, 0}, "budgets.per_task_usd");
  bad(budgets{0, -0.01, 0, 0}, "budgets.per_workflow_usd");
  bad(budgets{0, 0, -5, 0}, "budgets.per_pool_usd");
  bad(budgets{0, 0, 0, -1e-9}, "budgets.per_day_usd");
  bad(budgets{std::numeric_limits<double>::quiet_NaN(), 0, 0, 0},
      "budgets.per_task_usd");
  bad(budgets{0, 0, 0, std::numeric_limits<double>::infinity()},
      "budgets.per_day_usd");
}

CAF_TEST_FIXTURE_SCOPE_END()
