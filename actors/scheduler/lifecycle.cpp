#include "actors/scheduler/lifecycle.hpp"

#include "messages/errc.hpp"

namespace cw::actors {

std::string to_string(lifecycle_command x) {
  switch (x) {
    case lifecycle_command::pause:
      return "pause";
    case lifecycle_command::resume:
      return "resume";
    case lifecycle_command::drain:
      return "drain";
  }
  return "unknown";
}

namespace {

/// The transition table; `idle` is left automatically once agents exist and
/// `stopping` once no task runs.
bool target(scheduler_phase from, lifecycle_command cmd, scheduler_phase& to) {
  using p = scheduler_phase;
  switch (cmd) {
    case lifecycle_command::pause:
      if (from == p::idle || from == p::running) {
        to = p::paused;
        return true;
      }
      return false;
    case lifecycle_command::resume:
      if (from == p::paused || from == p::stopped || from == p::stopping) {
        to = p::running;
        return true;
      }
      return false;
    case lifecycle_command::drain:
      if (from == p::idle || from == p::running || from == p::paused) {
        to = p::stopping;
        return true;
      }
      return false;
  }
  return false;
}

} // namespace

caf::expected<scheduler_phase> lifecycle::next(lifecycle_command cmd) const {
  scheduler_phase to;
  if (target(phase_, cmd, to))
    return to;
  std::string names;
  for (auto c : allowed())
    names += (names.empty() ? "" : ", ") + to_string(c);
  return make_error(errc::illegal_transition,
                    "cannot " + to_string(cmd) + ": the scheduler is "
                      + to_string(phase_) + "; allowed: "
                      + (names.empty() ? "none" : names));
}

std::vector<lifecycle_command> lifecycle::allowed() const {
  std::vector<lifecycle_command> result;
  for (auto c : {lifecycle_command::pause, lifecycle_command::resume,
                 lifecycle_command::drain}) {
    scheduler_phase to;
    if (target(phase_, c, to))
      result.push_back(c);
  }
  return result;
}

} // namespace cw::actors
