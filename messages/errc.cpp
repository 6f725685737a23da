#include "messages/errc.hpp"

#include "caf/message.hpp"
#include "caf/make_message.hpp"

namespace cw {

caf::error make_error(errc x, std::string message) {
  return caf::error{static_cast<uint8_t>(x), caf::atom("cw"),
                    caf::make_message(std::move(message))};
}

std::string to_string(errc x) {
  switch (x) {
    case errc::none:
      return "none";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::no_such_task:
      return "no_such_task";
    case errc::journal_io:
      return "journal_io";
    case errc::journal_corrupt:
      return "journal_corrupt";
    case errc::journal_too_new:
      return "journal_too_new";
    case errc::agent_spawn_failed:
      return "agent_spawn_failed";
    case errc::shutting_down:
      return "shutting_down";
    case errc::unknown_provider:
      return "unknown_provider";
    case errc::journal_too_old:
      return "journal_too_old";
    case errc::illegal_transition:
      return "illegal_transition";
  }
  return "errc(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string error_message(const caf::error& err) {
  // An empty caf::error has no context to look at.
  if (!err)
    return {};
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return {};
}

errc error_code(const caf::error& err) {
  if (!err || err.category() != caf::atom("cw"))
    return errc::none;
  return static_cast<errc>(err.code());
}

std::string describe(const caf::error& err) {
  if (error_code(err) != errc::none) {
    auto msg = error_message(err);
    return msg.empty() ? to_string(error_code(err)) : msg;
  }
  return caf::to_string(err);
}

std::string render_error(uint8_t code, caf::atom_value,
                         const caf::message& ctx) {
  auto result = to_string(static_cast<errc>(code));
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    result += ": " + ctx.get_as<std::string>(0);
  return result;
}

} // namespace cw
