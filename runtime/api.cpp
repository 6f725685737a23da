#include "runtime/api.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <fstream>
#include <initializer_list>
#include <map>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "caf/actor.hpp"
#include "caf/actor_system.hpp"
#include "caf/allowed_unsafe_message_type.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/agent/agent.hpp"
#include "messages/errc.hpp"
#include "persistence/event_codec.hpp"
#include "runtime/api_codec.hpp"

namespace cw::runtime {

/// One HTTP request and the way back to its connection. Local only.
struct http_exchange {
  http_request req;
  http_responder respond;
};

} // namespace cw::runtime

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cw::runtime::http_exchange)

namespace cw::runtime {

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

/// How long the API waits for the scheduler on ordinary requests.
constexpr auto request_timeout = 30s;

/// The longest long-poll a client may ask for with `?wait=`.
constexpr int64_t max_wait_seconds = 600;

/// The most log bytes one request returns.
constexpr size_t max_log_chunk = 4 << 20;

struct api_state {
  api_config cfg;
  static inline const char* name = "cw.api";
};

using self_ptr = caf::stateful_actor<api_state>*;

void reply_json(http_exchange& x, unsigned status, const json& body) {
  x.respond(http_response{status, "application/json", body.dump(), {}});
}

void reply_error(self_ptr self, http_exchange& x, const caf::error& err) {
  x.respond(http_response{http_status(err), "application/json",
                          error_body(err, self->system().render(err)),
                          {}});
}

void reply_invalid(self_ptr self, http_exchange& x, const std::string& field,
                   const std::string& what) {
  reply_error(self, x, make_error(errc::invalid_argument, field + ": " + what));
}

/// Answers 405: the route exists, the method does not.
void reply_not_allowed(http_exchange& x) {
  reply_json(x, 405,
             json{{"error", "method_not_allowed"},
                  {"message",
                   x.req.method + " is not allowed on " + x.req.target}});
}

/// Answers 404: no route matches.
void reply_no_route(http_exchange& x) {
  reply_json(x, 404,
             json{{"error", "not_found"},
                  {"message",
                   "no route for " + x.req.method + " " + x.req.target}});
}

/// Parses a non-negative integer; false on anything else.
bool parse_uint(const std::string& str, uint64_t& out) {
  if (str.empty())
    return false;
  auto [ptr, ec] = std::from_chars(str.data(), str.data() + str.size(), out);
  return ec == std::errc{} && ptr == str.data() + str.size();
}

struct target {
  std::vector<std::string> segments;
  std::map<std::string, std::string> query;
};

target split_target(const std::string& str) {
  target result;
  auto qmark = str.find('?');
  auto path = str.substr(0, qmark);
  size_t pos = 0;
  while (pos < path.size()) {
    auto next = path.find('/', pos);
    if (next == std::string::npos)
      next = path.size();
    if (next > pos)
      result.segments.push_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  if (qmark != std::string::npos) {
    auto query = str.substr(qmark + 1);
    size_t start = 0;
    while (start < query.size()) {
      auto amp = query.find('&', start);
      if (amp == std::string::npos)
        amp = query.size();
      auto pair = query.substr(start, amp - start);
      auto eq = pair.find('=');
      if (!pair.empty())
        result.query[pair.substr(0, eq)]
          = eq == std::string::npos ? "" : pair.substr(eq + 1);
      start = amp + 1;
    }
  }
  return result;
}

// -- handlers -----------------------------------------------------------------

void health(self_ptr self, http_exchange x) {
  self->request(self->state.cfg.scheduler, request_timeout, stats_atom_v)
    .then(
      [self, x](const scheduler_status& st) mutable {
        reply_json(x, 200,
                   json{{"status", "ok"},
                        {"node", self->state.cfg.node_name},
                        {"phase", to_string(st.phase)},
                        {"tasks", st.counts}});
      },
      [self, x](caf::error& err) mutable { reply_error(self, x, err); });
}

/// `GET /v1/scheduler` and `POST /v1/scheduler/{pause,resume,drain}`.
template <class Atom>
void scheduler_call(self_ptr self, http_exchange x, Atom what) {
  self->request(self->state.cfg.scheduler, request_timeout, what)
    .then([x](const scheduler_status& st) mutable { reply_json(x, 200, to_json(st)); },
          [self, x](caf::error& err) mutable { reply_error(self, x, err); });
}

void submit(self_ptr self, http_exchange x) {
  auto spec = parse_task_spec(x.req.body);
  if (!spec)
    return reply_error(self, x, spec.error());
  self
    ->request(self->state.cfg.scheduler, request_timeout, submit_atom_v,
              std::move(*spec))
    .then([x](const task_info& info) mutable { reply_json(x, 201, to_json(info)); },
          [self, x](caf::error& err) mutable { reply_error(self, x, err); });
}

void list(self_ptr self, http_exchange x, const target& t) {
  task_filter filter;
  for (auto& [key, value] : t.query) {
    if (key == "status") {
      filter.any_status = false;
      if (!from_string(value, filter.status))
        return reply_invalid(self, x, "status",
                             "must be one of blocked, queued, parked, "
                             "running, completed, failed, cancelled");
    } else if (key == "dead") {
      if (value != "true" && value != "false")
        return reply_invalid(self, x, "dead", "must be true or false");
      filter.dead_only = value == "true";
    } else if (key == "limit") {
      uint64_t n = 0;
      if (!parse_uint(value, n) || n > 1'000'000)
        return reply_invalid(self, x, "limit",
                             "must be an integer from 0 to 1000000");
      filter.limit = static_cast<uint32_t>(n);
    } else {
      return reply_invalid(self, x, key, "unknown query parameter");
    }
  }
  self->request(self->state.cfg.scheduler, request_timeout, list_atom_v, filter)
    .then(
      [x](const std::vector<task_info>& tasks) mutable {
        auto arr = json::array();
        for (auto& info : tasks)
          arr.push_back(to_json(info));
        reply_json(x, 200, json{{"tasks", std::move(arr)}});
      },
      [self, x](caf::error& err) mutable { reply_error(self, x, err); });
}

void show(self_ptr self, http_exchange x, task_id id, const target& t) {
  auto& sched = self->state.cfg.scheduler;
  auto on_error = [self, x](caf::error& err) mutable {
    reply_error(self, x, err);
  };
  auto on_task = [x](const task_info& info) mutable {
    reply_json(x, 200, to_json(info));
  };
  if (auto i = t.query.find("wait"); i != t.query.end()) {
    uint64_t secs = 0;
    if (!parse_uint(i->second, secs)
        || secs > static_cast<uint64_t>(max_wait_seconds))
      return reply_invalid(self, x, "wait",
                           "must be an integer number of seconds from 0 to "
                             + std::to_string(max_wait_seconds));
    auto wait = std::chrono::seconds(secs);
    self
      ->request(sched, wait + request_timeout, await_atom_v, id,
                caf::timespan{wait})
      .then(on_task, on_error);
    return;
  }
  self->request(sched, request_timeout, lookup_atom_v, id).then(on_task, on_error);
}

void log(self_ptr self, http_exchange x, task_id id, const target& t) {
  uint64_t offset = 0;
  if (auto i = t.query.find("offset");
      i != t.query.end() && !parse_uint(i->second, offset))
    return reply_invalid(self, x, "offset", "must be a non-negative integer");
  self->request(self->state.cfg.scheduler, request_timeout, lookup_atom_v, id)
    .then(
      [self, x, offset](const task_info& info) mutable {
        // The log may not exist yet (the task has not started): empty.
        std::string chunk;
        std::ifstream in{actors::task_log_path(self->state.cfg.log_dir, info.id),
                         std::ios::binary};
        if (in) {
          in.seekg(static_cast<std::streamoff>(offset));
          chunk.resize(max_log_chunk);
          in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
          chunk.resize(static_cast<size_t>(in.gcount()));
        }
        http_response res{200, "text/plain; charset=utf-8", {}, {}};
        res.headers.emplace_back("X-Cw-Next-Offset",
                                 std::to_string(offset + chunk.size()));
        res.headers.emplace_back("X-Cw-Task-Status", to_string(info.status));
        res.body = std::move(chunk);
        x.respond(std::move(res));
      },
      [self, x](caf::error& err) mutable { reply_error(self, x, err); });
}

/// `POST /v1/tasks/{id}/cancel` and `/retry`.
template <class Atom>
void change(self_ptr self, http_exchange x, task_id id, Atom what) {
  self->request(self->state.cfg.scheduler, request_timeout, what, id)
    .then([x](const task_info& info) mutable { reply_json(x, 200, to_json(info)); },
          [self, x](caf::error& err) mutable { reply_error(self, x, err); });
}

// -- workflows ----------------------------------------------------------------

template <class... Ts>
void workflow_call(self_ptr self, http_exchange x, unsigned status, Ts... xs) {
  self->request(self->state.cfg.scheduler, request_timeout, workflow_atom_v, xs...)
    .then([x, status](const workflow_info& info) mutable {
            reply_json(x, status, to_json(info));
          },
          [self, x](caf::error& err) mutable { reply_error(self, x, err); });
}

void submit_workflow(self_ptr self, http_exchange x) {
  auto spec = parse_workflow_spec(x.req.body);
  if (!spec)
    return reply_error(self, x, spec.error());
  workflow_call(self, std::move(x), 201, submit_atom_v, std::move(*spec));
}

/// Reads `?limit=N` (0 to 1000000, default 0) and refuses other query
/// parameters than `limit` and `others`; answers the refusal itself.
std::optional<uint32_t> read_limit(self_ptr self, http_exchange& x,
                                   const target& t,
                                   std::initializer_list<std::string_view> others
                                   = {}) {
  uint64_t limit = 0;
  for (auto& [key, value] : t.query) {
    if (std::find(others.begin(), others.end(), key) != others.end())
      continue;
    if (key != "limit") {
      reply_invalid(self, x, key, "unknown query parameter");
      return std::nullopt;
    }
    if (!parse_uint(value, limit) || limit > 1'000'000) {
      reply_invalid(self, x, "limit", "must be an integer from 0 to 1000000");
      return std::nullopt;
    }
  }
  return static_cast<uint32_t>(limit);
}

/// Answers `GET /v1/NAME` with `{"NAME": [...]}`: what the scheduler answers
/// to `(atom, list, args...)`, in its order.
template <class Info, class Atom, class... Ts>
void list_of(self_ptr self, http_exchange x, const char* name, Atom atom,
             Ts... args) {
  self
    ->request(self->state.cfg.scheduler, request_timeout, atom, list_atom_v,
              std::move(args)...)
    .then(
      [x, name](const std::vector<Info>& all) mutable {
        auto arr = json::array();
        for (auto& info : all)
          arr.push_back(to_json(info));
        reply_json(x, 200, json{{name, std::move(arr)}});
      },
      [self, x](caf::error& err) mutable { reply_error(self, x, err); });
}

void list_workflows(self_ptr self, http_exchange x, const target& t) {
  if (auto limit = read_limit(self, x, t))
    list_of<workflow_info>(self, std::move(x), "workflows", workflow_atom_v,
                           *limit);
}

void route_workflows(self_ptr self, http_exchange& x, const target& t) {
  auto& seg = t.segments;
  auto& method = x.req.method;
  auto not_allowed = [&] { reply_not_allowed(x); };
  if (seg.size() == 2) {
    if (method == "POST")
      return submit_workflow(self, std::move(x));
    if (method == "GET")
      return list_workflows(self, std::move(x), t);
    return not_allowed();
  }
  uint64_t id = 0;
  if (!parse_uint(seg[2], id) || id == 0)
    return reply_invalid(self, x, "id",
                         "must be a positive integer, got '" + seg[2] + "'");
  if (seg.size() == 3)
    return method == "GET"
             ? workflow_call(self, std::move(x), 200, lookup_atom_v, id)
             : not_allowed();
  if (seg.size() == 4 && seg[3] == "cancel")
    return method == "POST"
             ? workflow_call(self, std::move(x), 200, cancel_atom_v, id)
             : not_allowed();
  reply_no_route(x);
}

// -- sessions -----------------------------------------------------------------

/// Sends `msg...` to the scheduler and answers with the session it returns.
template <class... Ts>
void session_call(self_ptr self, http_exchange x, unsigned status, Ts... msg) {
  self->request(self->state.cfg.scheduler, request_timeout, session_atom_v,
                std::move(msg)...)
    .then([x, status](const session_info& s) mutable {
            reply_json(x, status, to_json(s));
          },
          [self, x](caf::error& err) mutable { reply_error(self, x, err); });
}

/// `GET /v1/sessions[?state=S][&limit=N]`: S a state's name, or `open`
/// for all but closed ones.
void list_sessions(self_ptr self, http_exchange x, const target& t) {
  auto limit = read_limit(self, x, t, {"state"});
  if (!limit)
    return;
  std::string state;
  if (auto i = t.query.find("state"); i != t.query.end()) {
    state = i->second;
    if (state != "idle" && state != "busy" && state != "paused"
        && state != "closed" && state != "open")
      return reply_invalid(self, x, "state",
                           "must be idle, busy, paused, closed or open");
  }
  list_of<session_info>(self, std::move(x), "sessions", session_atom_v,
                        std::move(state), *limit);
}

// -- costs --------------------------------------------------------------------

/// `GET /v1/costs[?days=N]`: the ledger, the newest N UTC days (0: all).
void list_costs(self_ptr self, http_exchange x, const target& t) {
  uint64_t days = 0;
  for (auto& [key, value] : t.query) {
    if (key != "days")
      return reply_invalid(self, x, key, "unknown query parameter");
    if (!parse_uint(value, days) || days > 100'000)
      return reply_invalid(self, x, "days",
                           "must be an integer from 0 (all) to 100000");
  }
  self
    ->request(self->state.cfg.scheduler, request_timeout, costs_atom_v,
              static_cast<uint32_t>(days))
    .then([x](const cost_report& r) mutable { reply_json(x, 200, to_json(r)); },
          [self, x](caf::error& err) mutable { reply_error(self, x, err); });
}

/// `GET /v1/sessions`, `POST /v1/sessions` (open), `GET /v1/sessions/ID`,
/// `POST /v1/sessions/ID/{pause,resume,close}`.
void route_sessions(self_ptr self, http_exchange& x, const target& t) {
  auto& seg = t.segments;
  auto& method = x.req.method;
  auto not_allowed = [&] { reply_not_allowed(x); };
  if (seg.size() == 2) {
    if (method == "GET")
      return list_sessions(self, std::move(x), t);
    if (method != "POST")
      return not_allowed();
    auto cmd = parse_session_open(x.req.body);
    if (!cmd)
      return reply_error(self, x, cmd.error());
    return session_call(self, std::move(x), 201, std::move(*cmd));
  }
  uint64_t id = 0;
  if (!parse_uint(seg[2], id) || id == 0)
    return reply_invalid(self, x, "id",
                         "must be a positive integer, got '" + seg[2] + "'");
  if (seg.size() == 3)
    return method == "GET" ? session_call(self, std::move(x), 200, lookup_atom_v, id)
                           : not_allowed();
  if (seg.size() == 4
      && (seg[3] == "pause" || seg[3] == "resume" || seg[3] == "close")) {
    if (method != "POST")
      return not_allowed();
    session_command_spec cmd;
    cmd.what = seg[3];
    cmd.id = id;
    return session_call(self, std::move(x), 200, std::move(cmd));
  }
  reply_no_route(x);
}

// -- locks --------------------------------------------------------------------

/// Answers a refused lock request: the usual error body plus `reason`
/// (`deadlock`, `timeout` or `cancelled`) when it was refused.
void reply_lock_error(self_ptr self, http_exchange& x, const caf::error& err) {
  auto reason = lock_refusal_reason(err);
  if (reason.empty())
    return reply_error(self, x, err);
  auto body = json::parse(error_body(err, self->system().render(err)));
  body["reason"] = reason;
  reply_json(x, http_status(err), body);
}

void acquire_lock(self_ptr self, http_exchange x) {
  auto spec = parse_lock_spec(x.req.body);
  if (!spec)
    return reply_error(self, x, spec.error());
  // The manager answers by the request's deadline; the margin covers the
  // journal commit before the answer.
  auto wait = std::chrono::milliseconds(spec->timeout_ms) + request_timeout;
  self->request(self->state.cfg.locks, wait, lock_atom_v, std::move(*spec))
    .then([x](const lock_grant& g) mutable { reply_json(x, 200, to_json(g)); },
          [self, x](caf::error& err) mutable { reply_lock_error(self, x, err); });
}

/// Releases a lock for `owner`, as the lock manager decides.
void forward_release(self_ptr self, http_exchange x, std::string owner,
                     std::string resource) {
  self
    ->request(self->state.cfg.locks, request_timeout, release_atom_v,
              std::move(owner), std::move(resource))
    .then(
      [x](const lock_holder_view& h) mutable {
        reply_json(x, 200, json{{"released", to_json(h)}});
      },
      [self, x](caf::error& err) mutable { reply_error(self, x, err); });
}

void release_lock(self_ptr self, http_exchange x) {
  auto spec = parse_lock_release(x.req.body);
  if (!spec)
    return reply_error(self, x, spec.error());
  // A lock a task declared (`--lock`) is held for it by the scheduler until
  // it ends: released by hand, a second task could enter what the first
  // still works in. Locks a task's process took itself (as `task:<id>`) are
  // its own to release.
  const std::string prefix = "task:";
  const auto& owner = spec->owner;
  task_id id = 0;
  auto digits = owner.data() + prefix.size();
  auto end = owner.data() + owner.size();
  auto is_task = owner.rfind(prefix, 0) == 0 && digits != end;
  if (is_task) {
    auto [ptr, ec] = std::from_chars(digits, end, id);
    is_task = ec == std::errc{} && ptr == end;
  }
  if (!is_task)
    return forward_release(self, x, std::move(spec->owner),
                           std::move(spec->resource));
  self->request(self->state.cfg.scheduler, request_timeout, lookup_atom_v, id)
    .then(
      [self, x, spec = *spec, id](const task_info& info) mutable {
        auto declared = std::any_of(
          info.spec.locks.begin(), info.spec.locks.end(),
          [&](const std::string& text) {
            return parse_lock_need(text).resource == spec.resource;
          });
        if (declared && !is_terminal(info.status))
          return reply_error(
            self, x,
            make_error(errc::invalid_argument,
                       "owner: task " + std::to_string(id) + " holds '"
                         + spec.resource
                         + "' for its --lock until it ends (cancel the task "
                           "to end it sooner)"));
        forward_release(self, x, std::move(spec.owner),
                        std::move(spec.resource));
      },
      [self, x, spec = *spec](caf::error&) mutable {
        // No such task: the lock manager answers as for any owner.
        forward_release(self, x, std::move(spec.owner),
                        std::move(spec.resource));
      });
}

void list_agents(self_ptr self, http_exchange x) {
  self->request(self->state.cfg.scheduler, request_timeout, agents_atom_v)
    .then(
      [x](const agent_listing& l) mutable { reply_json(x, 200, to_json(l)); },
      [self, x](caf::error& err) mutable { reply_error(self, x, err); });
}

void list_locks(self_ptr self, http_exchange x) {
  self->request(self->state.cfg.locks, request_timeout, list_atom_v)
    .then([x](const lock_listing& l) mutable { reply_json(x, 200, to_json(l)); },
          [self, x](caf::error& err) mutable { reply_error(self, x, err); });
}

void route_locks(self_ptr self, http_exchange& x, const target& t) {
  auto& seg = t.segments;
  auto& method = x.req.method;
  auto not_allowed = [&] { reply_not_allowed(x); };
  if (!self->state.cfg.locks)
    return reply_error(self, x,
                       make_error(errc::shutting_down,
                                  "this node runs no lock manager"));
  if (seg.size() == 2)
    return method == "GET" ? list_locks(self, std::move(x)) : not_allowed();
  if (seg.size() == 3 && seg[2] == "acquire")
    return method == "POST" ? acquire_lock(self, std::move(x)) : not_allowed();
  if (seg.size() == 3 && seg[2] == "release")
    return method == "POST" ? release_lock(self, std::move(x)) : not_allowed();
  reply_no_route(x);
}

// -- workspaces ---------------------------------------------------------------

/// `GET /v1/workspaces`, `POST /v1/workspaces` (register),
/// `POST /v1/workspaces/prune`.
void route_workspaces(self_ptr self, http_exchange& x, const target& t) {
  auto& seg = t.segments;
  auto& method = x.req.method;
  auto not_allowed = [&] { reply_not_allowed(x); };
  auto& ws = self->state.cfg.workspaces;
  if (!ws)
    return reply_error(self, x,
                       make_error(errc::shutting_down,
                                  "this node runs no workspace manager"));
  auto fail = [self](http_exchange& x) {
    return [self, x](caf::error& err) mutable { reply_error(self, x, err); };
  };
  if (seg.size() == 2 && method == "GET") {
    self->request(ws, request_timeout, workspace_atom_v)
      .then(
        [x](const std::vector<workspace_info>& list) mutable {
          auto arr = json::array();
          for (auto& w : list)
            arr.push_back(to_json(w));
          reply_json(x, 200, json{{"workspaces", std::move(arr)}});
        },
        fail(x));
    return;
  }
  if (seg.size() == 2 && method == "POST") {
    auto info = parse_workspace_add(x.req.body);
    if (!info)
      return reply_error(self, x, info.error());
    self->request(ws, request_timeout, workspace_atom_v, std::move(*info))
      .then([x](const workspace_info& w) mutable {
              reply_json(x, 201, to_json(w));
            },
            fail(x));
    return;
  }
  if (seg.size() == 3 && seg[2] == "prune") {
    if (method != "POST")
      return not_allowed();
    auto spec = parse_prune_spec(x.req.body);
    if (!spec)
      return reply_error(self, x, spec.error());
    self->request(ws, request_timeout, prune_atom_v, std::move(*spec))
      .then(
        [x](const std::vector<prune_outcome>& outcomes) mutable {
          auto removed = json::array();
          auto kept = json::array();
          for (auto& o : outcomes) {
            json entry;
            persistence::to_json(entry, o.worktree);
            entry["workspace"] = o.workspace;
            if (o.removed) {
              entry["branch_deleted"] = o.branch_deleted;
              if (!o.kept.empty())
                entry["branch_kept"] = o.kept;
              removed.push_back(std::move(entry));
            } else {
              entry["reason"] = o.kept;
              kept.push_back(std::move(entry));
            }
          }
          reply_json(x, 200, json{{"removed", std::move(removed)},
                                  {"kept", std::move(kept)}});
        },
        fail(x));
    return;
  }
  if (seg.size() == 2)
    return not_allowed();
  reply_no_route(x);
}

void route(self_ptr self, http_exchange& x) {
  auto t = split_target(x.req.target);
  auto& seg = t.segments;
  auto& method = x.req.method;
  auto not_allowed = [&] { reply_not_allowed(x); };
  if (seg.size() == 1 && seg[0] == "health")
    return method == "GET" ? health(self, std::move(x)) : not_allowed();
  if (seg.size() >= 2 && seg[0] == "v1" && seg[1] == "scheduler") {
    if (seg.size() == 2)
      return method == "GET" ? scheduler_call(self, std::move(x), stats_atom_v)
                             : not_allowed();
    if (seg.size() == 3 && method != "POST")
      return not_allowed();
    if (seg.size() == 3 && seg[2] == "pause")
      return scheduler_call(self, std::move(x), pause_atom_v);
    if (seg.size() == 3 && seg[2] == "resume")
      return scheduler_call(self, std::move(x), resume_atom_v);
    if (seg.size() == 3 && seg[2] == "drain")
      return scheduler_call(self, std::move(x), drain_atom_v);
  }
  if (seg.size() >= 2 && seg[0] == "v1" && seg[1] == "workflows")
    return route_workflows(self, x, t);
  if (seg.size() >= 2 && seg[0] == "v1" && seg[1] == "locks")
    return route_locks(self, x, t);
  if (seg.size() >= 2 && seg[0] == "v1" && seg[1] == "workspaces")
    return route_workspaces(self, x, t);
  if (seg.size() >= 2 && seg[0] == "v1" && seg[1] == "sessions")
    return route_sessions(self, x, t);
  if (seg.size() == 2 && seg[0] == "v1" && seg[1] == "agents")
    return method == "GET" ? list_agents(self, std::move(x)) : not_allowed();
  if (seg.size() == 2 && seg[0] == "v1" && seg[1] == "costs")
    return method == "GET" ? list_costs(self, std::move(x), t) : not_allowed();
  if (seg.size() >= 2 && seg[0] == "v1" && seg[1] == "tasks") {
    if (seg.size() == 2) {
      if (method == "POST")
        return submit(self, std::move(x));
      if (method == "GET")
        return list(self, std::move(x), t);
      return not_allowed();
    }
    uint64_t id = 0;
    if (!parse_uint(seg[2], id) || id == 0)
      return reply_invalid(self, x, "id", "must be a positive integer, got '"
                                            + seg[2] + "'");
    if (seg.size() == 4 && (seg[3] == "cancel" || seg[3] == "retry")) {
      if (method != "POST")
        return not_allowed();
      if (seg[3] == "cancel")
        return change(self, std::move(x), id, cancel_atom_v);
      return change(self, std::move(x), id, retry_atom_v);
    }
    if (method != "GET")
      return not_allowed();
    if (seg.size() == 3)
      return show(self, std::move(x), id, t);
    if (seg.size() == 4 && seg[3] == "log")
      return log(self, std::move(x), id, t);
  }
  reply_no_route(x);
}

caf::behavior api_impl(self_ptr self, api_config cfg) {
  self->state.cfg = std::move(cfg);
  return {
    [self](http_exchange& x) { route(self, x); },
  };
}

} // namespace

caf::actor spawn_api(caf::actor_system& sys, api_config cfg) {
  return sys.spawn(api_impl, std::move(cfg));
}

http_handler api_handler(caf::actor api) {
  return [api](http_request req, http_responder respond) {
    caf::anon_send(api, http_exchange{std::move(req), std::move(respond)});
  };
}

} // namespace cw::runtime
