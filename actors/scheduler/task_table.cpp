#include "actors/scheduler/task_table.hpp"

namespace cw::actors {

namespace {

template <class... Fs>
struct overload : Fs... {
  using Fs::operator()...;
};

template <class... Fs>
overload(Fs...) -> overload<Fs...>;

} // namespace

bool task_table::apply(const task_event& ev, int64_t time_ms) {
  auto id = subject(ev);
  if (auto submitted = std::get_if<task_submitted>(&ev)) {
    if (tasks_.count(id) != 0)
      return false;
    auto& info = tasks_[id];
    info.id = id;
    info.spec = submitted->spec;
    info.status = task_status::queued;
    info.submitted_ms = time_ms;
    max_id_ = std::max(max_id_, id);
    enqueue(info);
    return true;
  }
  auto i = tasks_.find(id);
  if (i == tasks_.end())
    return false;
  auto& info = i->second;
  std::visit(overload{
               [](const task_submitted&) {},
               [&](const task_assigned& x) {
                 dequeue(info);
                 info.status = task_status::running;
                 info.agent = x.agent;
                 info.attempts = x.attempt;
                 info.pid = 0;
                 info.exit_code = -1;
                 info.signal = 0;
                 info.reason.clear();
                 info.started_ms = time_ms;
                 info.finished_ms = 0;
               },
               [&](const task_started& x) { info.pid = x.pid; },
               [&](const task_finished& x) {
                 dequeue(info);
                 info.status = x.outcome.status;
                 info.exit_code = x.outcome.exit_code;
                 info.signal = x.outcome.signal;
                 info.reason = x.outcome.reason;
                 info.finished_ms = time_ms;
               },
               [&](const task_requeued& x) {
                 info.status = task_status::queued;
                 info.reason = x.reason;
                 info.pid = 0;
                 enqueue(info);
               },
             },
             ev);
  return true;
}

const task_info* task_table::find(task_id id) const {
  auto i = tasks_.find(id);
  return i != tasks_.end() ? &i->second : nullptr;
}

std::optional<task_id> task_table::next_queued() const {
  if (queue_.empty())
    return std::nullopt;
  return queue_.begin()->second;
}

std::vector<task_info> task_table::list(const task_filter& filter) const {
  std::vector<task_info> result;
  for (auto i = tasks_.rbegin(); i != tasks_.rend(); ++i) {
    if (!filter.any_status && i->second.status != filter.status)
      continue;
    result.push_back(i->second);
    if (filter.limit != 0 && result.size() >= filter.limit)
      break;
  }
  return result;
}

status_counts task_table::counts() const {
  status_counts result;
  for (auto s : {task_status::blocked, task_status::queued, task_status::running,
                 task_status::completed, task_status::failed,
                 task_status::cancelled})
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

void task_table::enqueue(const task_info& info) {
  queue_.emplace(-info.spec.priority, info.id);
}

void task_table::dequeue(const task_info& info) {
  queue_.erase(queue_key{-info.spec.priority, info.id});
}

} // namespace cw::actors
