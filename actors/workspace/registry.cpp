#include "actors/workspace/registry.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "messages/errc.hpp"
#include "messages/overload.hpp"
#include "persistence/checksum.hpp"
#include "persistence/event_codec.hpp"
#include "persistence/journal.hpp"

namespace cw::actors {

namespace fs = std::filesystem;
using json = nlohmann::json;

void workspace_registry::apply(const workspace_event& ev) {
  auto f = overload{
    [this](const workspace_added& x) {
      auto& entry = by_name_[x.info.name];
      // A new registration keeps the worktrees made under the old one.
      auto worktrees = std::move(entry.worktrees);
      auto conflicts = entry.conflicts;
      entry = x.info;
      entry.worktrees = std::move(worktrees);
      entry.conflicts = conflicts;
      entry.running.clear();
      entry.watched = false;
    },
    [this](const worktree_created& x) {
      auto i = by_name_.find(x.workspace);
      if (i == by_name_.end())
        return;
      auto& list = i->second.worktrees;
      std::erase_if(list, [&](auto& w) { return w.task == x.worktree.task; });
      list.push_back(x.worktree);
    },
    [this](const worktree_removed& x) {
      auto i = by_name_.find(x.workspace);
      if (i != by_name_.end())
        std::erase_if(i->second.worktrees,
                      [&](auto& w) { return w.task == x.task; });
    },
    [this](const workspace_conflicted& x) {
      if (auto i = by_name_.find(x.workspace); i != by_name_.end())
        ++i->second.conflicts;
    },
  };
  std::visit(f, ev);
}

const workspace_info*
workspace_registry::find(const std::string& name) const {
  auto i = by_name_.find(name);
  return i == by_name_.end() ? nullptr : &i->second;
}

const workspace_info*
workspace_registry::containing(const fs::path& dir) const {
  const workspace_info* best = nullptr;
  for (auto& [name, info] : by_name_) {
    fs::path root{info.root};
    auto [r, d] = std::mismatch(root.begin(), root.end(), dir.begin(),
                                dir.end());
    if (r != root.end())
      continue;
    if (!best || info.root.size() > best->root.size())
      best = &info;
  }
  return best;
}

std::pair<const workspace_info*, const worktree_entry*>
workspace_registry::worktree_of(task_id task) const {
  for (auto& [name, info] : by_name_)
    for (auto& w : info.worktrees)
      if (w.task == task)
        return {&info, &w};
  return {nullptr, nullptr};
}

std::string workspace_registry::free_name(const std::string& base) const {
  if (by_name_.count(base) == 0)
    return base;
  for (int i = 2;; ++i) {
    auto name = base + "-" + std::to_string(i);
    if (by_name_.count(name) == 0)
      return name;
  }
}

std::string workspace_registry::save() const {
  auto list = json::array();
  for (auto& [name, info] : by_name_) {
    json j;
    persistence::to_json(j, info);
    persistence::to_json(j["worktrees"], info.worktrees);
    j["conflicts"] = info.conflicts;
    list.push_back(std::move(j));
  }
  return json{{"format", 1}, {"workspaces", std::move(list)}}.dump();
}

caf::expected<workspace_registry>
workspace_registry::load(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object() || j.value("format", 0) != 1
      || !j.contains("workspaces") || !j["workspaces"].is_array())
    return make_error(errc::journal_corrupt,
                      "workspace snapshot: unknown format");
  workspace_registry result;
  // Each entry is read as the event that would have made it, so that the
  // snapshot and the events share one decoder.
  for (auto& wj : j["workspaces"]) {
    event ev;
    ev.type = "workspace.added";
    ev.payload = wj.dump();
    auto added = persistence::decode_workspace_event(ev);
    if (!added)
      return added.error();
    result.apply(*added);
    auto name = std::get<workspace_added>(*added).info.name;
    for (auto& w : wj.value("worktrees", json::array())) {
      event wev;
      wev.type = "workspace.worktree_created";
      auto payload = w;
      payload["workspace"] = name;
      wev.payload = payload.dump();
      auto created = persistence::decode_workspace_event(wev);
      if (!created)
        return created.error();
      result.apply(*created);
    }
    result.by_name_[name].conflicts = wj.value("conflicts", uint64_t{0});
  }
  return result;
}

bool valid_workspace_name(const std::string& name) {
  if (name.empty() || name.size() > workspace_registry::max_name_bytes
      || name.front() == '.')
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

caf::expected<workspace_recovery>
recover_workspaces(const persistence::journal& j) {
  workspace_recovery result;
  auto snaps = j.snapshots(workspace_snapshot_kind);
  if (!snaps)
    return snaps.error();
  for (auto& snap : *snaps) {
    if (persistence::checksum(snap) != snap.checksum) {
      spdlog::warn("{}: workspace snapshot at seq {} fails its checksum, "
                   "trying an older one",
                   j.path(), snap.seq);
      continue;
    }
    auto loaded = workspace_registry::load(snap.state);
    if (!loaded) {
      spdlog::warn("{}: workspace snapshot at seq {} does not load ({}), "
                   "trying an older one",
                   j.path(), snap.seq, describe(loaded.error()));
      continue;
    }
    result.registry = std::move(*loaded);
    result.snapshot_seq = snap.seq;
    break;
  }
  caf::error decode_error;
  auto n = j.read_prefix("workspace.", result.snapshot_seq + 1, [&](event& ev) {
    if (decode_error)
      return;
    auto typed = persistence::decode_workspace_event(ev);
    if (!typed) {
      decode_error = make_error(errc::journal_corrupt,
                                j.path() + ": " + describe(typed.error()));
      return;
    }
    result.registry.apply(*typed);
  });
  if (!n)
    return n.error();
  if (decode_error)
    return decode_error;
  result.replayed = *n;
  return result;
}

} // namespace cw::actors
