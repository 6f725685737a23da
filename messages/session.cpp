#include "messages/session.hpp"

namespace cw {

std::string to_string(session_state x) {
  switch (x) {
    case session_state::idle:
      return "idle";
    case session_state::busy:
      return "busy";
    case session_state::paused:
      return "paused";
    case session_state::closed:
      return "closed";
  }
  return "unknown";
}

} // namespace cw
