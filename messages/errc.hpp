#pragma once

#include <cstdint>
#include <string>

#include "caf/atom.hpp"
#include "caf/error.hpp"

namespace cw {

/// Error codes of cw. Values are pinned every five entries and never reused.
enum class errc : uint8_t {
  /// No error.
  none = 0,
  /// A request named a field with a missing, malformed or out-of-range value.
  invalid_argument,
  /// No task has the requested id.
  no_such_task,
  /// The journal could not be read or written.
  journal_io,
  /// A journal row failed its checksum or could not be decoded.
  journal_corrupt,
  /// The journal file was written by a newer cw than this one.
  journal_too_new = 5,
  /// An agent process could not be started.
  agent_spawn_failed,
  /// The actor asked is shutting down and takes no new work.
  shutting_down,
  /// An unknown provider was named.
  unknown_provider,
  /// The journal file is older than the oldest schema this cw migrates.
  journal_too_old,
  /// The entity is in a state that does not allow the request.
  illegal_transition = 10,
};

/// Returns an error of category `cw` with code `x`.
/// Declared right after the enum: CAF's `has_make_error` trait must see it
/// before any comparison on `errc` is instantiated.
inline caf::error make_error(errc x) {
  return caf::error{static_cast<uint8_t>(x), caf::atom("cw")};
}

/// Returns an error of category `cw` with code `x` and a human-readable
/// context message.
caf::error make_error(errc x, std::string message);

/// Returns the enumerator's name, e.g. `"no_such_task"`.
std::string to_string(errc x);

/// Returns the context message stored in a `cw` error, or an empty string.
std::string error_message(const caf::error& err);

/// Returns the `errc` of a cw error, or `errc::none` for other categories.
errc error_code(const caf::error& err);

/// Returns a one-line description of any error: the message of a cw error,
/// CAF's rendering otherwise.
std::string describe(const caf::error& err);

/// Renders errors of category `cw` for the actor system.
std::string render_error(uint8_t code, caf::atom_value, const caf::message& ctx);

} // namespace cw
