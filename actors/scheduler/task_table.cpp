#include "actors/scheduler/task_table.hpp"

#include "caf/binary_deserializer.hpp"
#include "caf/serializer_impl.hpp"

#include "messages/errc.hpp"
#include "messages/overload.hpp"

namespace cw::actors {

// A million queued tasks must fit in 1 GiB (cw-bench queue-memory). Each is
// one node of `tasks_` (40 bytes plus the record), which jemalloc serves
// from its 896-byte size class up to this size and from the 1,024-byte one
// above it (then the benchmark is over its target). A field that most tasks
// leave empty belongs in a `boxed<T>` (messages/boxed.hpp).
static_assert(sizeof(task_info) <= 856,
              "task_info outgrew jemalloc's 896-byte class: box new fields");

bool operator==(const workflow_record& a, const workflow_record& b) {
  return a.id == b.id && a.name == b.name && a.policy == b.policy
         && a.tasks == b.tasks && a.status == b.status && a.reason == b.reason
         && a.submitted_ms == b.submitted_ms && a.finished_ms == b.finished_ms
         && a.budget_usd == b.budget_usd;
}

bool task_table::apply(const task_event& ev, int64_t time_ms) {
  if (auto s = std::get_if<session_changed>(&ev))
    return apply_session(*s, time_ms);
  if (auto h = std::get_if<limit_changed>(&ev))
    return apply_limit(*h);
  if (is_workflow_event(ev))
    return apply_workflow(ev, time_ms);
  auto id = subject(ev);
  if (auto submitted = std::get_if<task_submitted>(&ev)) {
    if (tasks_.count(id) != 0)
      return false;
    auto& info = tasks_[id];
    info.id = id;
    info.spec = submitted->spec;
    info.status = task_status::queued;
    info.submitted_ms = time_ms;
    info.not_before_ms = submitted->spec.run_at_ms;
    max_id_ = std::max(max_id_, id);
    block_or_enqueue(info);
    return true;
  }
  auto i = tasks_.find(id);
  if (i == tasks_.end())
    return false;
  auto& info = i->second;
  // An attempt in a session that ends (however) frees the session.
  if (info.status == task_status::running && info.session != 0) {
    if (auto x = std::get_if<task_finished>(&ev))
      release_session(info, &x->outcome.report, time_ms);
    else if (auto x = std::get_if<task_retry_scheduled>(&ev))
      // A failed run's turns and cost count, and the retry goes on from
      // its conversation.
      release_session(info, &x->report, time_ms);
    else if (auto x = std::get_if<task_parked>(&ev)) {
      // What the limited run spent counts; its conversation goes on.
      run_report rep = x->report;
      rep.session = x->session;
      release_session(info, &rep, time_ms);
    } else if (!std::holds_alternative<task_started>(ev)
               && !std::holds_alternative<task_assigned>(ev))
      release_session(info, nullptr, time_ms);
  }
  std::visit(overload{
               [](const task_submitted&) {},
               [&](const task_assigned& x) {
                 // A parked task's session was kept for it until now.
                 sessions_.let_go(info.id);
                 dequeue(info);
                 info.status = task_status::running;
                 info.agent = x.agent;
                 info.attempts = x.attempt;
                 info.pid = 0;
                 info.process = process_ref{};
                 info.exit_code = -1;
                 info.signal = 0;
                 info.reason.clear();
                 info.started_ms = time_ms;
                 info.finished_ms = 0;
                 info.session = x.session;
                 info.pool = x.pool;
                 if (x.session != 0) {
                   // A fact: applied even past the pool's session limit.
                   auto res = sessions_.take(x.session, info.id,
                                             info.spec.provider,
                                             info.spec.pool,
                                             info.spec.resume_key, time_ms,
                                             info.spec.workspace);
                   static_cast<void>(res);
                 }
               },
               [&](const task_started& x) {
                 info.pid = x.pid;
                 info.process = x.process;
                 info.process.pid = x.pid;
               },
               [&](const task_finished& x) {
                 dequeue(info);
                 unpark(info);
                 add_run(info, x.outcome.report, time_ms);
                 if (!info.progress.empty())
                   info.progress.mut().continue_session.clear();
                 info.status = x.outcome.status;
                 info.exit_code = x.outcome.exit_code;
                 info.signal = x.outcome.signal;
                 info.reason = x.outcome.reason;
                 info.changes = x.outcome.changes;
                 info.finished_ms = time_ms;
                 info.dead = info.status == task_status::failed;
                 if (info.status == task_status::completed)
                   unblock_dependents(info.id);
               },
               [&](const task_requeued& x) {
                 dequeue(info);
                 unpark(info);
                 info.status = task_status::queued;
                 info.reason = x.reason;
                 info.pid = 0;
                 info.not_before_ms = 0;
                 enqueue(info);
               },
               [&](const task_retry_scheduled& x) {
                 dequeue(info);
                 if (!x.report.empty())
                   add_run(info, x.report, time_ms);
                 info.status = task_status::queued;
                 info.reason = x.reason;
                 info.pid = 0;
                 info.not_before_ms = x.run_at_ms;
                 enqueue(info);
               },
               [&](const task_cancelled& x) {
                 dequeue(info);
                 unpark(info);
                 if (info.status == task_status::blocked)
                   forget_waits(info);
                 info.status = task_status::cancelled;
                 info.reason = x.reason;
                 info.finished_ms = time_ms;
               },
               [&](const task_retried&) {
                 dequeue(info);
                 unpark(info);
                 forget_waits(info);
                 info.attempts = 0;
                 info.dead = false;
                 info.reason.clear();
                 info.finished_ms = 0;
                 info.not_before_ms = 0;
                 block_or_enqueue(info);
               },
               [&](const task_parked& x) {
                 // The limit is the provider's, not the task's: the
                 // attempt does not count.
                 dequeue(info);
                 if (info.status == task_status::running && info.attempts > 0)
                   --info.attempts;
                 // The run may have spent money before the limit hit.
                 if (!x.report.empty())
                   add_run(info, x.report, time_ms);
                 info.status = task_status::parked;
                 info.reason = x.reason;
                 info.pid = 0;
                 info.parked_until_ms = x.until_ms;
                 if (!x.session.empty() || !info.progress.empty())
                   info.progress.mut().continue_session = x.session;
                 info.finished_ms = 0;
                 parked_.emplace(x.until_ms, info.id);
               },
               [](const workflow_submitted&) {},
               [](const workflow_finished&) {},
               [](const session_changed&) {},
               [](const limit_changed&) {},
             },
             ev);
  keep_session(info);
  return true;
}

bool task_table::keeps_session(const task_info& info) {
  return info.session != 0 && !info.progress->continue_session.empty()
         && ((info.status == task_status::parked && info.parked_until_ms != 0)
             || info.status == task_status::queued);
}

void task_table::keep_session(const task_info& info) {
  if (keeps_session(info))
    sessions_.keep(info.session, info.id);
  else
    sessions_.let_go(info.id);
}

void task_table::add_run(task_info& info, const run_report& r,
                         int64_t time_ms) {
  info.report = r;
  info.cost_usd += r.cost_usd;
  if (auto used = r.tokens(); !used.empty())
    info.progress.mut().tokens += used;
  book(info, r, time_ms);
}

void task_table::book(const task_info& info, const run_report& r,
                      int64_t time_ms) {
  if (r.cost_usd == 0 && r.input_tokens == 0 && r.output_tokens == 0)
    return;
  cost_entry e;
  e.task = info.id;
  e.workflow = info.spec.workflow;
  e.session = info.session;
  e.pool = info.pool;
  e.time_ms = time_ms;
  e.usd = r.cost_usd;
  e.input_tokens = r.input_tokens;
  e.output_tokens = r.output_tokens;
  e.cache_read_tokens = r.cache_read_tokens;
  e.cache_creation_tokens = r.cache_creation_tokens;
  costs_.add(e);
}

void task_table::release_session(task_info& info, const run_report* report,
                                 int64_t time_ms) {
  auto id = info.session;
  auto s = sessions_.find(id);
  if (s == nullptr || s->current_task != info.id)
    return;
  auto res = sessions_.release(id, time_ms);
  static_cast<void>(res);
  if (report != nullptr) {
    auto rec = sessions_.record(id, report->session, report->turns,
                                report->cost_usd, report->tokens());
    static_cast<void>(rec);
  }
}

bool task_table::apply_session(const session_changed& ev, int64_t time_ms) {
  if (ev.what == "opened") {
    if (sessions_.find(ev.id) != nullptr)
      return false;
    sessions_.open_as(ev.id, ev.provider, ev.pool, ev.resume_key, time_ms);
    return true;
  }
  caf::expected<void> res = caf::unit;
  if (ev.what == "paused")
    res = sessions_.pause(ev.id);
  else if (ev.what == "resumed")
    res = sessions_.resume(ev.id, time_ms);
  else if (ev.what == "closed")
    res = sessions_.close(ev.id);
  else
    return false;
  return static_cast<bool>(res);
}

void task_table::configure_sessions(
  const session_config& cfg, const std::map<std::string, uint32_t>& limits) {
  sessions_.configure(cfg);
  for (auto& [pool, limit] : limits)
    sessions_.set_pool_limit(pool, limit);
}

bool task_table::apply_workflow(const task_event& ev, int64_t time_ms) {
  if (auto x = std::get_if<workflow_submitted>(&ev)) {
    if (workflows_.count(x->id) != 0)
      return false;
    auto& rec = workflows_[x->id];
    rec.id = x->id;
    rec.name = x->name;
    rec.policy = x->policy;
    rec.tasks = x->tasks;
    rec.budget_usd = x->budget_usd;
    rec.submitted_ms = time_ms;
    max_workflow_id_ = std::max(max_workflow_id_, x->id);
    return true;
  }
  auto& x = std::get<workflow_finished>(ev);
  auto i = workflows_.find(x.id);
  if (i == workflows_.end())
    return false;
  i->second.status = x.status;
  i->second.reason = x.reason;
  i->second.finished_ms = time_ms;
  return true;
}

const workflow_record* task_table::find_workflow(workflow_id id) const {
  auto i = workflows_.find(id);
  return i != workflows_.end() ? &i->second : nullptr;
}

std::vector<const workflow_record*> task_table::workflows(size_t limit) const {
  std::vector<const workflow_record*> result;
  for (auto i = workflows_.rbegin(); i != workflows_.rend(); ++i) {
    if (limit != 0 && result.size() >= limit)
      break;
    result.push_back(&i->second);
  }
  return result;
}

const task_info* task_table::find(task_id id) const {
  auto i = tasks_.find(id);
  return i != tasks_.end() ? &i->second : nullptr;
}

uint64_t task_table::ready_for(const std::string& provider,
                               const std::string& pool) const {
  auto i = ready_per_target_.find({provider, pool});
  return i != ready_per_target_.end() ? i->second : 0;
}

std::optional<task_id> task_table::next_queued(int64_t now_ms) {
  // Promote every delayed task that is due.
  while (!delayed_.empty() && delayed_.begin()->first <= now_ms) {
    auto id = delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    const auto& info = tasks_.at(id);
    if (ready_.insert(ready_key_of(info)).second)
      ++ready_per_target_[{info.spec.provider, info.spec.pool}];
  }
  if (ready_.empty())
    return std::nullopt;
  return std::get<2>(*ready_.begin());
}

std::optional<task_id>
task_table::next_queued(int64_t now_ms,
                        const std::function<bool(const task_info&)>& eligible,
                        size_t lookahead) {
  next_queued(now_ms); // promotes due tasks
  for (auto& key : ready_) {
    if (lookahead-- == 0)
      break;
    if (eligible(tasks_.at(std::get<2>(key))))
      return std::get<2>(key);
  }
  return std::nullopt;
}

std::optional<int64_t> task_table::next_due(int64_t now_ms) const {
  std::optional<int64_t> result;
  if (!delayed_.empty() && delayed_.begin()->first > now_ms)
    result = delayed_.begin()->first;
  // Parked tasks with a time (0: until a retry) wake the scheduler too.
  auto p = parked_.upper_bound({now_ms, UINT64_MAX});
  if (p != parked_.end() && (!result || p->first < *result))
    result = p->first;
  // So do holds that lift later.
  for (auto& [key, hold] : holds_)
    if (hold.until_ms > now_ms && (!result || hold.until_ms < *result))
      result = hold.until_ms;
  return result;
}

std::vector<task_id> task_table::due_parked(int64_t now_ms) const {
  std::vector<task_id> result;
  for (auto i = parked_.upper_bound({0, UINT64_MAX});
       i != parked_.end() && i->first <= now_ms; ++i)
    result.push_back(i->second);
  return result;
}

std::vector<limit_hold> task_table::holds(int64_t now_ms) const {
  std::vector<limit_hold> result;
  for (auto& [key, hold] : holds_)
    if (hold.until_ms > now_ms)
      result.push_back(hold);
  return result;
}

std::optional<int64_t> task_table::held_until(const std::string& provider,
                                              const std::string& account,
                                              int64_t now_ms) const {
  auto i = holds_.find(std::make_pair(provider, account));
  if (i == holds_.end() || i->second.until_ms <= now_ms)
    return std::nullopt;
  return i->second.until_ms;
}

std::vector<limit_hold> task_table::due_holds(int64_t now_ms) const {
  std::vector<limit_hold> result;
  for (auto& [key, hold] : holds_)
    if (hold.until_ms <= now_ms)
      result.push_back(hold);
  return result;
}

bool task_table::apply_limit(const limit_changed& ev) {
  auto key = std::make_pair(ev.provider, ev.account);
  if (ev.what == "lifted")
    return holds_.erase(key) != 0;
  if (ev.what != "held")
    return false;
  auto& hold = holds_[key];
  // Two runs of one account may hit the limit: the later reset counts.
  if (hold.until_ms >= ev.until_ms && hold.task != 0)
    return true;
  hold.provider = ev.provider;
  hold.account = ev.account;
  hold.until_ms = ev.until_ms;
  hold.task = ev.id;
  hold.reason = ev.reason;
  return true;
}

void task_table::unpark(task_info& info) {
  if (info.status != task_status::parked)
    return;
  parked_.erase({info.parked_until_ms, info.id});
  info.parked_until_ms = 0;
}

std::vector<task_info> task_table::list(const task_filter& filter) const {
  std::vector<task_info> result;
  for (auto i = tasks_.rbegin(); i != tasks_.rend(); ++i) {
    if (!filter.any_status && i->second.status != filter.status)
      continue;
    if (filter.dead_only && !i->second.dead)
      continue;
    result.push_back(i->second);
    if (filter.limit != 0 && result.size() >= filter.limit)
      break;
  }
  return result;
}

std::map<std::string, uint64_t> task_table::counts() const {
  std::map<std::string, uint64_t> result;
  for (auto s : {task_status::blocked, task_status::queued, task_status::running,
                 task_status::completed, task_status::failed,
                 task_status::cancelled, task_status::parked})
    result[to_string(s)] = 0;
  for (auto& [id, info] : tasks_)
    ++result[to_string(info.status)];
  return result;
}

std::vector<task_id> task_table::running() const {
  std::vector<task_id> result;
  for (auto& [id, info] : tasks_)
    if (info.status == task_status::running)
      result.push_back(id);
  return result;
}

namespace {

/// Format of `save`; bump when the layout changes and keep reading old ones.
constexpr uint8_t snapshot_format = 12;

bool same(const task_info& a, const task_info& b) {
  return a.id == b.id && a.spec.provider == b.spec.provider
         && a.spec.argv == b.spec.argv && a.spec.prompt == b.spec.prompt
         && a.spec.workspace == b.spec.workspace
         && a.spec.priority == b.spec.priority && a.status == b.status
         && a.attempts == b.attempts && a.agent == b.agent && a.pid == b.pid
         && a.exit_code == b.exit_code && a.signal == b.signal
         && a.reason == b.reason && a.submitted_ms == b.submitted_ms
         && a.started_ms == b.started_ms && a.finished_ms == b.finished_ms
         && a.not_before_ms == b.not_before_ms && a.dead == b.dead
         && a.spec.timeout_ms == b.spec.timeout_ms
         && a.spec.run_at_ms == b.spec.run_at_ms
         && a.spec.retry.max_attempts == b.spec.retry.max_attempts
         && a.spec.depends_on == b.spec.depends_on
         && a.spec.workflow == b.spec.workflow && a.spec.key == b.spec.key
         && a.spec.pool == b.spec.pool
         && a.spec.capabilities == b.spec.capabilities
         && a.spec.required_agent == b.spec.required_agent
         && a.spec.same_agent_as == b.spec.same_agent_as
         && a.spec.excluded_agents == b.spec.excluded_agents
         && a.spec.locks == b.spec.locks
         && a.spec.env == b.spec.env && a.spec.resume_key == b.spec.resume_key
         && a.spec.resume_session == b.spec.resume_session
         && a.spec.new_session == b.spec.new_session
         && a.spec.model == b.spec.model
         && a.spec.max_turns == b.spec.max_turns
         && a.spec.budget_usd == b.spec.budget_usd && a.cost_usd == b.cost_usd
         && a.parked_until_ms == b.parked_until_ms
         && a.progress->continue_session == b.progress->continue_session
         && a.progress->tokens == b.progress->tokens
         && a.report->session == b.report->session
         && a.report->cost_usd == b.report->cost_usd
         && a.report->limit == b.report->limit;
}

using hold_map = std::map<std::pair<std::string, std::string>, limit_hold>;

bool same_holds(const hold_map& a, const hold_map& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const auto& x, const auto& y) {
                      return x.first == y.first
                             && x.second.until_ms == y.second.until_ms
                             && x.second.task == y.second.task
                             && x.second.reason == y.second.reason;
                    });
}

} // namespace

std::string task_table::save() const {
  std::string blob;
  caf::serializer_impl<std::string> sink{nullptr, blob};
  auto format = snapshot_format;
  auto max_id = max_id_;
  auto count = static_cast<uint64_t>(tasks_.size());
  auto err = sink(format, max_id, count);
  for (auto i = tasks_.begin(); !err && i != tasks_.end(); ++i)
    err = sink(const_cast<task_info&>(i->second));
  auto max_workflow = max_workflow_id_;
  auto workflow_count = static_cast<uint64_t>(workflows_.size());
  if (!err)
    err = sink(max_workflow, workflow_count);
  for (auto i = workflows_.begin(); !err && i != workflows_.end(); ++i)
    err = sink(const_cast<workflow_record&>(i->second));
  if (!err)
    err = sessions_.save_to(sink);
  auto hold_count = static_cast<uint64_t>(holds_.size());
  if (!err)
    err = sink(hold_count);
  for (auto i = holds_.begin(); !err && i != holds_.end(); ++i)
    err = sink(const_cast<limit_hold&>(i->second));
  if (!err)
    err = costs_.save_to(sink);
  return blob;
}

caf::expected<task_table> task_table::load(const std::string& blob) {
  auto corrupt = [](std::string why) {
    return make_error(errc::journal_corrupt, "task snapshot: " + std::move(why));
  };
  caf::binary_deserializer source{nullptr, blob.data(), blob.size()};
  uint8_t format = 0;
  task_id max_id = 0;
  uint64_t count = 0;
  if (source(format, max_id, count))
    return corrupt("truncated header");
  if (format != snapshot_format)
    return corrupt("unknown format " + std::to_string(format));
  task_table result;
  result.max_id_ = max_id;
  for (uint64_t i = 0; i < count; ++i) {
    task_info info;
    if (source(info))
      return corrupt("truncated at task " + std::to_string(i));
    result.tasks_.emplace_hint(result.tasks_.end(), info.id, std::move(info));
  }
  // Queues and waits follow from the tasks (dependencies have lower ids but
  // may complete later, so all tasks are read first).
  for (auto& [id, info] : result.tasks_) {
    if (info.status == task_status::queued)
      result.enqueue(info);
    else if (info.status == task_status::parked)
      result.parked_.emplace(info.parked_until_ms, info.id);
    else if (info.status == task_status::blocked)
      result.block_or_enqueue(info);
  }
  uint64_t workflow_count = 0;
  if (source(result.max_workflow_id_, workflow_count))
    return corrupt("truncated workflow header");
  for (uint64_t i = 0; i < workflow_count; ++i) {
    workflow_record rec;
    if (source(rec))
      return corrupt("truncated at workflow " + std::to_string(i));
    result.workflows_.emplace_hint(result.workflows_.end(), rec.id,
                                   std::move(rec));
  }
  if (result.sessions_.load_from(source))
    return corrupt("truncated sessions");
  for (auto& [id, info] : result.tasks_)
    if (keeps_session(info))
      result.sessions_.keep(info.session, id);
  uint64_t hold_count = 0;
  if (source(hold_count))
    return corrupt("truncated holds");
  for (uint64_t i = 0; i < hold_count; ++i) {
    limit_hold hold;
    if (source(hold))
      return corrupt("truncated at hold " + std::to_string(i));
    result.holds_.emplace(std::make_pair(hold.provider, hold.account),
                          std::move(hold));
  }
  if (result.costs_.load_from(source))
    return corrupt("truncated costs");
  if (source.remaining() != 0)
    return corrupt("trailing bytes");
  return result;
}

bool task_table::operator==(const task_table& other) const {
  if (max_id_ != other.max_id_ || ready_ != other.ready_
      || delayed_ != other.delayed_ || parked_ != other.parked_
      || waiting_on_ != other.waiting_on_
      || unmet_ != other.unmet_ || workflows_ != other.workflows_
      || max_workflow_id_ != other.max_workflow_id_
      || queued_per_pool_ != other.queued_per_pool_
      || ready_per_target_ != other.ready_per_target_
      || sessions_.size() != other.sessions_.size()
      || sessions_.next_id() != other.sessions_.next_id()
      || !same_holds(holds_, other.holds_) || !(costs_ == other.costs_)
      || sessions_.kept() != other.sessions_.kept()
      || tasks_.size() != other.tasks_.size())
    return false;
  for (auto i = tasks_.begin(), j = other.tasks_.begin(); i != tasks_.end();
       ++i, ++j)
    if (i->first != j->first || !same(i->second, j->second))
      return false;
  return true;
}

void task_table::block_or_enqueue(task_info& info) {
  uint32_t unmet = 0;
  for (auto dep : info.spec.depends_on) {
    auto d = tasks_.find(dep);
    if (d == tasks_.end() || d->second.status != task_status::completed) {
      waiting_on_.emplace(dep, info.id);
      ++unmet;
    }
  }
  if (unmet > 0) {
    info.status = task_status::blocked;
    unmet_[info.id] = unmet;
    return;
  }
  info.status = task_status::queued;
  enqueue(info);
}

void task_table::unblock_dependents(task_id id) {
  auto [first, last] = waiting_on_.equal_range(id);
  std::vector<task_id> dependents;
  for (auto i = first; i != last; ++i)
    dependents.push_back(i->second);
  waiting_on_.erase(id);
  for (auto dep_id : dependents) {
    auto& info = tasks_.at(dep_id);
    auto left = unmet_.find(dep_id);
    if (info.status != task_status::blocked || left == unmet_.end())
      continue;
    if (--left->second == 0) {
      unmet_.erase(left);
      info.status = task_status::queued;
      enqueue(info);
    }
  }
}

void task_table::forget_waits(const task_info& info) {
  for (auto dep : info.spec.depends_on) {
    auto [first, last] = waiting_on_.equal_range(dep);
    for (auto i = first; i != last;)
      i = i->second == info.id ? waiting_on_.erase(i) : std::next(i);
  }
  unmet_.erase(info.id);
}

std::vector<task_id> task_table::blocked_on(task_id id) const {
  std::vector<task_id> result;
  auto [first, last] = waiting_on_.equal_range(id);
  for (auto i = first; i != last; ++i)
    result.push_back(i->second);
  return result;
}

task_table::ready_key task_table::ready_key_of(const task_info& info) {
  return {-info.spec.priority, info.spec.run_at_ms, info.id};
}

void task_table::enqueue(const task_info& info) {
  // Whether it is due is decided in next_queued, which knows the time.
  bool added = false;
  if (info.not_before_ms > 0) {
    added = delayed_.emplace(info.not_before_ms, info.id).second;
  } else if (ready_.insert(ready_key_of(info)).second) {
    added = true;
    ++ready_per_target_[{info.spec.provider, info.spec.pool}];
  }
  if (added)
    ++queued_per_pool_[info.spec.pool];
}

void task_table::dequeue(const task_info& info) {
  auto was_ready = ready_.erase(ready_key_of(info));
  if (was_ready > 0)
    if (auto i = ready_per_target_.find({info.spec.provider, info.spec.pool});
        i != ready_per_target_.end() && --i->second == 0)
      ready_per_target_.erase(i);
  auto removed = was_ready
                 + delayed_.erase(delayed_key{info.not_before_ms, info.id});
  if (removed > 0)
    if (auto i = queued_per_pool_.find(info.spec.pool);
        i != queued_per_pool_.end() && --i->second == 0)
      queued_per_pool_.erase(i);
}

} // namespace cw::actors
