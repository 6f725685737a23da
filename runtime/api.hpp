#pragma once

#include <string>

#include "caf/fwd.hpp"

#include "messages/interfaces.hpp"
#include "runtime/http_types.hpp"

namespace cw::runtime {

/// What the HTTP API needs to answer.
struct api_config {
  /// Name of this node, shown by /health.
  std::string node_name;
  /// Directory of the per-task log files.
  std::string log_dir;
  scheduler_actor scheduler;
  /// The lock manager behind `/v1/locks`; null answers those routes with 503.
  lock_actor locks;
  /// The workspace manager behind `/v1/workspaces`; null: 503.
  workspace_manager_actor workspaces;
};

/// Spawns the API actor, which turns HTTP requests into typed requests to
/// the scheduler. Its owner stops it with an exit message.
///
/// Routes: `GET /health`, `POST /v1/tasks`, `GET /v1/tasks[?status=S&limit=N]`,
/// `GET /v1/tasks/{id}[?wait=SECONDS]`, `GET /v1/tasks/{id}/log[?offset=N]`,
/// `GET /v1/locks`, `POST /v1/locks/acquire`, `POST /v1/locks/release`,
/// `GET /v1/workspaces`, `POST /v1/workspaces` (register),
/// `POST /v1/workspaces/prune`.
/// Errors are JSON objects `{"error": code, "message": text[, "field": f]}`.
caf::actor spawn_api(caf::actor_system& sys, api_config cfg);

/// Returns the HTTP handler that feeds requests to the API actor `api`.
http_handler api_handler(caf::actor api);

} // namespace cw::runtime
