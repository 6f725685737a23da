#include "actors/workspace/manager.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include <spdlog/spdlog.h>

#include "caf/actor_cast.hpp"
#include "caf/actor_system.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "actors/journal/commit_pipe.hpp"
#include "actors/resources/lock_table.hpp"
#include "actors/workspace/confine.hpp"
#include "actors/workspace/watcher_actor.hpp"
#include "actors/workspace/worktree.hpp"
#include "messages/errc.hpp"
#include "persistence/event_codec.hpp"

namespace cw::actors {

namespace fs = std::filesystem;

namespace {

/// Internal: a workspace's watcher may have idled long enough.
using ws_idle_atom = caf::atom_constant<caf::atom("ws_idle")>;

/// Internal: the oldest journal append may be overdue.
using ws_overdue_atom = caf::atom_constant<caf::atom("ws_overdue")>;

/// The manager's full interface: the public one, the watchers' reports and
/// its own timer.
using manager_impl_actor = workspace_manager_actor::extend_with<
  watch_subscriber_actor>::extend<
  caf::reacts_to<ws_idle_atom, std::string, uint64_t>,
  caf::reacts_to<ws_overdue_atom>>;

/// Longest a watcher or the lock manager may take to answer.
constexpr auto peer_timeout = std::chrono::seconds(30);

/// A workspace's watcher while it runs.
struct watch {
  watcher_actor handle;
  /// Tasks open in it now.
  std::set<task_id> open;
  /// Bumped whenever the last task leaves: an idle timer of an older stamp
  /// is stale.
  uint64_t stamp = 0;
};

/// A task between `prepare` and `conclude`.
struct open_task {
  std::string workspace;
  workspace_isolation isolation = workspace_isolation::shared;
  /// Shared: whether a watcher follows it (else `note` says why not).
  bool watched = false;
  std::string note;
};

} // namespace

struct workspace_manager_state {
  workspace_manager_config cfg;
  std::map<std::string, watch> watchers;
  /// Workspaces whose watcher could not start (too large a tree, no inotify
  /// watches left), with the error and when to try again: a failing scan is
  /// not repeated for every task.
  std::map<std::string, std::pair<caf::error, caf::actor_clock::time_point>>
    unwatchable;
  std::map<task_id, open_task> open;
  /// Facts not yet durable and what waits for them.
  commit_pipe<std::function<void()>> pipe;
  /// The highest seq answered.
  uint64_t last_seq = 0;
  /// A `ws_overdue` timer is on its way.
  bool overdue_armed = false;

  static inline const char* name = "cw.workspace_manager";
};

namespace {

using self_ptr = manager_impl_actor::stateful_pointer<workspace_manager_state>;

int64_t wall_ms(self_ptr self) {
  if (auto& f = self->state.cfg.wall_clock)
    return f();
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_argument, std::move(msg));
}

/// Arms the timer that checks the oldest journal append, unless one is on
/// its way.
void arm_overdue(self_ptr self) {
  auto& st = self->state;
  auto due = st.pipe.deadline();
  if (!due || st.overdue_armed)
    return;
  st.overdue_armed = true;
  self->delayed_send(self, *due - self->clock().now(), ws_overdue_atom::value);
}

/// Prunes the worktree `w` of an ended task of workspace `name` (at
/// `root`) as `spec` asks: removes it unless it has uncommitted changes
/// (or `force`), then deletes its branch if asked and merged (or `force`).
prune_outcome prune_one(const std::string& name, const std::string& root,
                        const worktree_entry& w, const prune_spec& spec) {
  prune_outcome out;
  out.workspace = name;
  out.worktree = w;
  std::error_code ec;
  if (fs::exists(w.path, ec)) {
    if (!spec.force) {
      auto files = changed_files(w.path, "HEAD");
      if (!files) {
        out.kept = "cannot tell whether it has uncommitted changes: "
                   + describe(files.error());
        return out;
      }
      if (!files->empty()) {
        std::string shown;
        for (size_t i = 0; i < files->size() && i < 3; ++i)
          shown += (i == 0 ? "" : ", ") + (*files)[i];
        out.kept = std::to_string(files->size()) + " file"
                   + (files->size() == 1 ? "" : "s") + " not committed ("
                   + shown + (files->size() > 3 ? ", ..." : "")
                   + "); --force removes them";
        return out;
      }
    }
    if (auto ok = remove_worktree(root, w.path); !ok) {
      spdlog::warn("workspace {}: cannot remove worktree {}: {}", name,
                   w.path, describe(ok.error()));
      out.kept = describe(ok.error());
      return out;
    }
  } else {
    // Gone already: git forgets it.
    prune_worktrees(root);
  }
  out.removed = true;
  if (spec.delete_branches) {
    if (auto ok = delete_branch(root, w.branch, spec.force); !ok) {
      auto why = describe(ok.error());
      out.kept = "branch " + w.branch + " kept: "
                 + why.substr(0, why.find('\n'))
                 + (spec.force ? "" : "; --force deletes it");
    } else {
      out.branch_deleted = true;
    }
  }
  return out;
}

/// Applies `ev` to the registry, journals it, and runs `then` once it is
/// durable. Once no append is in flight, a snapshot of the registry follows,
/// tagged with the seq of the last one: the registry then holds exactly the
/// events up to it (with appends in flight it would hold later ones too, and
/// replaying those again would count a conflict twice).
void record(self_ptr self, workspace_event ev, std::function<void()> then) {
  auto& st = self->state;
  st.cfg.registry.apply(ev);
  st.pipe.record(persistence::encode(ev, wall_ms(self), st.cfg.node_name));
  st.pipe.defer(std::move(then));
  append(self, st.pipe, st.cfg.journal, "workspace manager",
         [self](uint64_t ticket, uint64_t seq) {
           auto& st = self->state;
           st.last_seq = std::max(st.last_seq, seq);
           // The last append answered: the registry holds exactly the facts
           // up to `seq` (the callbacks below may record more).
           if (st.pipe.covering() == ticket) {
             snapshot snap;
             snap.seq = st.last_seq;
             snap.time_ms = wall_ms(self);
             snap.kind = workspace_snapshot_kind;
             snap.state = st.cfg.registry.save();
             self->send(st.cfg.journal, snapshot_atom_v, std::move(snap));
           }
           st.pipe.acknowledge(ticket,
                               [](std::function<void()>& fn) { fn(); });
         });
  arm_overdue(self);
}

/// Reads the `.gitignore` at the top of `root`, if any.
std::string read_gitignore(const fs::path& root) {
  std::ifstream in{root / ".gitignore"};
  std::ostringstream out;
  out << in.rdbuf();
  return in ? out.str() : std::string{};
}

/// The ignore pattern for `dir` inside the tree at `root` (anchored, glob
/// characters escaped); empty when `dir` is not below `root`.
std::string pattern_below(const fs::path& root, const fs::path& dir) {
  std::error_code ec;
  auto rel = fs::weakly_canonical(dir, ec).lexically_relative(
    fs::weakly_canonical(root, ec));
  if (ec || rel.empty() || rel == "." || *rel.begin() == "..")
    return {};
  std::string result = "/";
  for (char c : rel.generic_string()) {
    if (c == '*' || c == '?' || c == '[' || c == '\\')
      result += '\\';
    result += c;
  }
  return result + "/";
}

/// Returns the watcher of `ws`, starting one if none runs. Errors: as
/// `spawn_watcher`.
caf::expected<watch*> watcher_for(self_ptr self, const workspace_info& ws) {
  auto& st = self->state;
  if (auto i = st.watchers.find(ws.name); i != st.watchers.end())
    return &i->second;
  auto now = self->clock().now();
  if (auto i = st.unwatchable.find(ws.name); i != st.unwatchable.end()) {
    if (now < i->second.second)
      return i->second.first;
    st.unwatchable.erase(i);
  }
  watcher_config wcfg;
  wcfg.root = ws.root;
  wcfg.settle_ms = st.cfg.settle_ms;
  wcfg.max_dirs = st.cfg.max_watched_dirs;
  wcfg.ignore.add_lines(read_gitignore(ws.root));
  for (auto& x : st.cfg.ignore)
    wcfg.ignore.add(x);
  for (auto& x : ws.ignore)
    wcfg.ignore.add(x);
  // Last: no pattern of the workspace's can take them back.
  for (auto& x : st.cfg.node_dirs)
    if (auto pattern = pattern_below(ws.root, x); !pattern.empty())
      wcfg.ignore.add(pattern);
  auto handle = spawn_watcher(self->system(), ws.name, std::move(wcfg));
  if (!handle) {
    st.unwatchable[ws.name] = {handle.error(), now + st.cfg.watcher_idle};
    return handle.error();
  }
  self->send(*handle, ws_subscribe_atom::value,
             caf::actor_cast<watch_subscriber_actor>(self));
  // The watcher (and its inotify thread) ends with the manager.
  self->link_to(*handle);
  spdlog::info("workspace {}: watching {}", ws.name, ws.root);
  auto& w = st.watchers[ws.name];
  w.handle = std::move(*handle);
  return &w;
}

/// Stops the watcher of `name` once no task is open in it for a while.
void arm_idle_stop(self_ptr self, const std::string& name) {
  auto& st = self->state;
  auto i = st.watchers.find(name);
  if (i == st.watchers.end() || !i->second.open.empty())
    return;
  self->delayed_send(self, st.cfg.watcher_idle, ws_idle_atom::value, name,
                     ++i->second.stamp);
}

/// Returns the name a new workspace at `root` gets when none is asked for.
std::string default_name(self_ptr self, const fs::path& root) {
  auto base = root.filename().string();
  std::string clean;
  for (char c : base)
    clean += (std::isalnum(static_cast<unsigned char>(c)) || c == '-'
              || c == '_' || c == '.')
               ? c
               : '-';
  while (!clean.empty() && clean.front() == '.')
    clean.erase(0, 1);
  if (clean.size() > workspace_registry::max_name_bytes)
    clean.resize(workspace_registry::max_name_bytes);
  if (clean.empty())
    clean = "root";
  return self->state.cfg.registry.free_name(clean);
}

/// Checks a registration and fills in its defaults. Errors name the field.
caf::expected<workspace_info> check_registration(self_ptr self,
                                                 workspace_info info) {
  auto& reg = self->state.cfg.registry;
  if (info.root.empty() || info.root.front() != '/')
    return invalid("path: must be an absolute directory, got '" + info.root
                   + "'");
  auto root = canonical_root(info.root);
  if (!root)
    return invalid("path: '" + info.root + "' is not a directory");
  info.root = root->string();
  if (info.isolation == workspace_isolation::worktree) {
    if (!git_toplevel(*root))
      return invalid("isolation: '" + info.root
                     + "' is not inside a git repository (worktree "
                       "isolation needs one)");
    if (!info.base.empty()) {
      auto ok = run_git(*root, {"rev-parse", "--verify", "--quiet",
                                info.base + "^{commit}"});
      if (!ok || ok->exit_code != 0)
        return invalid("base: '" + info.base + "' names no commit in '"
                       + info.root + "'");
    }
  } else if (!info.base.empty()) {
    return invalid("base: only worktree isolation has a base");
  }
  if (info.ignore.size() > 256)
    return invalid("ignore: at most 256 patterns");
  for (auto& x : info.ignore)
    if (x.size() > 1024)
      return invalid("ignore: a pattern is longer than 1024 bytes");
  // The same root keeps its name; a new root takes the name asked for or
  // one made from its directory.
  const workspace_info* same_root = nullptr;
  for (auto& [name, ws] : reg.all())
    if (ws.root == info.root)
      same_root = &ws;
  if (info.name.empty())
    info.name = same_root ? same_root->name : default_name(self, *root);
  if (!valid_workspace_name(info.name))
    return invalid("name: '" + info.name
                   + "' is not a workspace name (1 to 64 letters, digits, "
                     "'-', '_' or '.', not starting with '.')");
  if (same_root && same_root->name != info.name)
    return invalid("path: '" + info.root + "' is registered already as '"
                   + same_root->name + "'");
  if (auto other = reg.find(info.name); other && other->root != info.root)
    return invalid("name: '" + info.name + "' is taken by '" + other->root
                   + "'");
  return info;
}

/// Returns whether `holder` (a lock resource name or glob) covers `path`
/// (relative to `root`).
bool covers(const std::string& holder, const std::string& root,
            const std::string& path) {
  auto abs = root + "/" + path;
  if (holder == path || holder == abs)
    return true;
  return is_glob(holder)
         && (glob_match(holder, path) || glob_match(holder, abs));
}

/// Completes `report` (a shared workspace's) under the `lock` policy: a
/// conflict on a file the task holds no lock on is a violation.
void check_locks(self_ptr self, task_id task, const workspace_info& ws,
                 std::vector<workspace_conflict> conflicts,
                 workspace_report report,
                 caf::typed_response_promise<workspace_report> rp) {
  auto& st = self->state;
  self->request(st.cfg.locks, peer_timeout, list_atom_v)
    .then(
      [task, root = ws.root, conflicts = std::move(conflicts), report,
       rp](const lock_listing& listing) mutable {
        auto owner = "task:" + std::to_string(task);
        for (auto& c : conflicts) {
          auto held = std::any_of(listing.holders.begin(),
                                  listing.holders.end(), [&](auto& h) {
                                    return h.owner == owner
                                           && covers(h.resource, root, c.path);
                                  });
          if (!held) {
            auto other = c.first == task ? c.second : c.first;
            report.violation = "'" + c.path + "' was changed by task "
                               + std::to_string(other)
                               + " too, and workspace " + report.workspace
                               + " requires a lock on it";
            break;
          }
        }
        rp.deliver(std::move(report));
      },
      [report, rp](caf::error& err) mutable {
        report.note = "locks not checked: " + describe(err);
        rp.deliver(std::move(report));
      });
}

/// Lists what a worktree changed; failures become the report's note.
workspace_report worktree_report(const std::string& ws,
                                 const worktree_entry& w) {
  workspace_report report;
  report.workspace = ws;
  report.branch = w.branch;
  report.worktree = w.path;
  if (auto files = changed_files(w.path, w.base_commit))
    report.changed_files = std::move(*files);
  else
    report.note = describe(files.error());
  return report;
}

manager_impl_actor::behavior_type
manager(self_ptr self, workspace_manager_config cfg) {
  self->state.cfg = std::move(cfg);
  return {
    // -- registry -------------------------------------------------------------
    [self](workspace_atom,
           workspace_info info) -> caf::result<workspace_info> {
      auto checked = check_registration(self, std::move(info));
      if (!checked)
        return std::move(checked.error());
      auto& reg = self->state.cfg.registry;
      if (auto old = reg.find(checked->name);
          old && !old->implicit && old->isolation == checked->isolation
          && old->base == checked->base && old->policy == checked->policy
          && old->ignore == checked->ignore)
        return *old;
      checked->implicit = false;
      checked->added_ms = wall_ms(self);
      checked->worktrees.clear();
      auto name = checked->name;
      auto rp = self->make_response_promise<workspace_info>();
      record(self, workspace_added{*checked}, [self, rp, name]() mutable {
        rp.deliver(*self->state.cfg.registry.find(name));
      });
      return rp;
    },
    [self](workspace_atom) {
      auto& st = self->state;
      std::vector<workspace_info> result;
      for (auto& [name, ws] : st.cfg.registry.all()) {
        auto view = ws;
        for (auto& [task, t] : st.open)
          if (t.workspace == name)
            view.running.push_back(task);
        view.watched = st.watchers.count(name) != 0;
        result.push_back(std::move(view));
      }
      return result;
    },
    [self](prune_atom,
           const prune_spec& spec) -> caf::result<std::vector<prune_outcome>> {
      auto& st = self->state;
      if (!spec.workspace.empty() && !st.cfg.registry.find(spec.workspace))
        return invalid("workspace: no workspace named '" + spec.workspace
                       + "'");
      std::vector<worktree_removed> removed;
      std::vector<prune_outcome> result;
      for (auto& [name, ws] : st.cfg.registry.all()) {
        if (!spec.workspace.empty() && name != spec.workspace)
          continue;
        for (auto& w : ws.worktrees) {
          if (st.open.count(w.task) != 0)
            continue;
          result.push_back(prune_one(name, ws.root, w, spec));
          if (result.back().removed)
            removed.push_back({name, w.task, w.path,
                               result.back().branch_deleted});
        }
      }
      if (removed.empty())
        return result;
      auto rp = self->make_response_promise<std::vector<prune_outcome>>();
      for (size_t i = 0; i < removed.size(); ++i) {
        auto last = i + 1 == removed.size();
        record(self, removed[i], [rp, result, last]() mutable {
          if (last)
            rp.deliver(result);
        });
      }
      return rp;
    },
    // -- tasks ----------------------------------------------------------------
    [self](prepare_atom, task_id task,
           const task_spec& spec) -> caf::result<workspace_lease> {
      auto& st = self->state;
      auto dir = canonical_root(spec.workspace);
      if (!dir)
        return invalid("workspace: '" + spec.workspace
                       + "' is not a directory");
      auto rp = self->make_response_promise<workspace_lease>();
      auto go = [self, task, dir = *dir, rp]() mutable {
        auto& st = self->state;
        auto* ws = st.cfg.registry.containing(dir);
        // `dir` is canonical and below the root: confined by construction.
        auto rel = dir.lexically_relative(ws->root);
        workspace_lease lease{ws->name, dir.string(), ""};
        auto& t = st.open[task];
        t.workspace = ws->name;
        t.isolation = ws->isolation;
        if (ws->isolation == workspace_isolation::worktree) {
          auto [owner, existing] = st.cfg.registry.worktree_of(task);
          if (existing && fs::exists(existing->path)) {
            // A retry continues in the worktree of the earlier attempt.
            lease.branch = existing->branch;
            lease.cwd = (fs::path{existing->path} / rel).lexically_normal();
            rp.deliver(std::move(lease));
            return;
          }
          auto top = git_toplevel(ws->root);
          if (!top) {
            st.open.erase(task);
            rp.deliver(invalid("workspace: " + describe(top.error())));
            return;
          }
          auto path = fs::path{st.cfg.worktree_dir} / ws->name
                      / std::to_string(task);
          auto made = add_worktree(*top, path, task,
                                   ws->base.empty() ? "HEAD" : ws->base);
          if (!made) {
            st.open.erase(task);
            rp.deliver(invalid("workspace: " + describe(made.error())));
            return;
          }
          worktree_entry entry{task, made->branch, made->path.string(),
                               made->base_commit, wall_ms(self)};
          // The process starts at the same place inside the worktree.
          auto in_repo = fs::path{ws->root}.lexically_relative(*top) / rel;
          lease.branch = entry.branch;
          lease.cwd = (made->path / in_repo).lexically_normal().string();
          if (!lease.cwd.empty() && lease.cwd.back() == '/')
            lease.cwd.pop_back();
          record(self, worktree_created{ws->name, entry},
                 [rp, lease]() mutable { rp.deliver(std::move(lease)); });
          return;
        }
        auto w = watcher_for(self, *ws);
        if (!w) {
          t.note = "changes not watched: " + describe(w.error());
          spdlog::warn("workspace {}: {}", ws->name, t.note);
          rp.deliver(std::move(lease));
          return;
        }
        (*w)->open.insert(task);
        self->request((*w)->handle, peer_timeout, ws_begin_atom::value, task)
          .then(
            [self, task, rp, lease](const std::vector<task_id>&) mutable {
              if (auto i = self->state.open.find(task);
                  i != self->state.open.end())
                i->second.watched = true;
              rp.deliver(std::move(lease));
            },
            [self, task, rp, lease](caf::error& err) mutable {
              if (auto i = self->state.open.find(task);
                  i != self->state.open.end())
                i->second.note = "changes not watched: " + describe(err);
              rp.deliver(std::move(lease));
            });
      };
      auto start = [self, dir = *dir, go]() mutable {
        auto& st = self->state;
        if (st.cfg.registry.containing(dir)) {
          go();
          return;
        }
        // A directory of no workspace becomes one of its own.
        workspace_info info;
        info.root = dir.string();
        info.name = default_name(self, dir);
        info.policy = st.cfg.default_policy;
        info.implicit = true;
        info.added_ms = wall_ms(self);
        spdlog::info("workspace {}: registered {} (implicitly, shared)",
                     info.name, info.root);
        record(self, workspace_added{std::move(info)}, std::move(go));
      };
      auto i = st.open.find(task);
      if (i == st.open.end()) {
        start();
        return rp;
      }
      // The agent of an earlier attempt died before concluding it: that
      // attempt's window closes unreported (before the new one opens), and
      // this one starts afresh.
      auto w = st.watchers.find(i->second.workspace);
      auto watched = i->second.watched && w != st.watchers.end();
      st.open.erase(i);
      if (!watched) {
        start();
        return rp;
      }
      w->second.open.erase(task);
      self->request(w->second.handle, peer_timeout, ws_end_atom::value, task)
        .then([start](const task_changes&) mutable { start(); },
              [start](const caf::error&) mutable { start(); });
      return rp;
    },
    [self](conclude_atom, task_id task) -> caf::result<workspace_report> {
      auto& st = self->state;
      auto i = st.open.find(task);
      if (i == st.open.end()) {
        // Prepared before a restart: a worktree is still there to look at;
        // a shared workspace's window is gone.
        auto [ws, w] = st.cfg.registry.worktree_of(task);
        if (w)
          return worktree_report(ws->name, *w);
        return workspace_report{};
      }
      auto t = std::move(i->second);
      st.open.erase(i);
      auto* ws = st.cfg.registry.find(t.workspace);
      if (!ws)
        return workspace_report{};
      if (t.isolation == workspace_isolation::worktree) {
        auto [owner, w] = st.cfg.registry.worktree_of(task);
        if (w)
          return worktree_report(ws->name, *w);
        workspace_report report;
        report.workspace = ws->name;
        report.note = "no worktree recorded";
        return report;
      }
      workspace_report report;
      report.workspace = ws->name;
      report.note = t.note;
      auto wi = st.watchers.find(ws->name);
      if (!t.watched || wi == st.watchers.end())
        return report;
      wi->second.open.erase(task);
      auto rp = self->make_response_promise<workspace_report>();
      self->request(wi->second.handle, peer_timeout, ws_end_atom::value, task)
        .then(
          [self, task, rp, report, name = ws->name](task_changes changes) mutable {
            arm_idle_stop(self, name);
            std::set<std::string> files;
            for (auto& f : changes.files)
              files.insert(f.path);
            report.changed_files.assign(files.begin(), files.end());
            for (auto& c : changes.conflicts)
              report.conflicts.push_back(
                c.path + " (task "
                + std::to_string(c.first == task ? c.second : c.first) + ")");
            auto* ws = self->state.cfg.registry.find(name);
            if (ws && ws->policy == conflict_policy::lock
                && !changes.conflicts.empty()) {
              check_locks(self, task, *ws, std::move(changes.conflicts),
                          std::move(report), rp);
              return;
            }
            rp.deliver(std::move(report));
          },
          [self, rp, report, name = ws->name](caf::error& err) mutable {
            arm_idle_stop(self, name);
            report.note = "changes unknown: " + describe(err);
            rp.deliver(std::move(report));
          });
      return rp;
    },
    // -- watchers -------------------------------------------------------------
    [](ws_changed_atom, const std::string&, const std::vector<file_change>&) {
      // Per-task summaries come from the windows; nothing to keep here.
    },
    [self](ws_conflict_atom, const workspace_conflict& c) {
      auto* ws = self->state.cfg.registry.find(c.workspace);
      auto policy = ws ? ws->policy : conflict_policy::warn;
      spdlog::warn("workspace {}: tasks {} and {} both changed {}",
                   c.workspace, c.first, c.second, c.path);
      record(self,
             workspace_conflicted{c.workspace, c.path, c.first, c.second,
                                  policy},
             [] {});
    },
    [self](ws_overdue_atom) {
      auto& st = self->state;
      st.overdue_armed = false;
      if (!stop_if_overdue(self, st.pipe, "workspace manager"))
        arm_overdue(self);
    },
    [self](ws_idle_atom, const std::string& name, uint64_t stamp) {
      auto& st = self->state;
      auto i = st.watchers.find(name);
      if (i == st.watchers.end() || i->second.stamp != stamp
          || !i->second.open.empty())
        return;
      spdlog::info("workspace {}: no task for {} ms, watcher stopped", name,
                   st.cfg.watcher_idle.count());
      self->unlink_from(i->second.handle);
      self->send_exit(i->second.handle, caf::exit_reason::user_shutdown);
      st.watchers.erase(i);
    },
  };
}

} // namespace

workspace_manager_actor spawn_workspace_manager(caf::actor_system& sys,
                                                workspace_manager_config cfg) {
  auto handle = sys.spawn<caf::detached>(manager, std::move(cfg));
  return caf::actor_cast<workspace_manager_actor>(handle);
}

} // namespace cw::actors
