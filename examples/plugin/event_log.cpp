#include "event_log.hpp"

#include <fstream>

#include "caf/actor_system.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

namespace cw_example {

namespace {

struct event_log_state {
  std::ofstream out;
  /// Events seen so far.
  uint64_t count = 0;

  static inline const char* name = "cw_example.event_log";
};

cw::observer_actor::behavior_type
event_log(cw::observer_actor::stateful_pointer<event_log_state> self,
          std::string path) {
  self->state.out.open(path, std::ios::app);
  return {
    [self](cw::committed_atom, const std::vector<cw::event>& events) {
      auto& st = self->state;
      for (auto& ev : events)
        st.out << ev.seq << ' ' << ev.type << ' ' << ev.entity << '\n';
      st.count += events.size();
      // One flush per commit, so a reader sees whole batches.
      st.out.flush();
    },
  };
}

} // namespace

cw::observer_actor spawn_event_log(caf::actor_system& sys,
                                   const cw::plugin::observer_context& ctx) {
  return sys.spawn(event_log, ctx.data_dir + "/event-log.txt");
}

} // namespace cw_example
