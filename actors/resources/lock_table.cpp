#include "actors/resources/lock_table.hpp"

#include <algorithm>

#include "messages/errc.hpp"

namespace cw::actors {

// -- vocabulary ---------------------------------------------------------------

std::string to_string(lock_mode x) {
  return x == lock_mode::shared ? "shared" : "exclusive";
}

std::string to_string(acquire_status x) {
  switch (x) {
    case acquire_status::granted:
      return "granted";
    case acquire_status::waiting:
      return "waiting";
    case acquire_status::deadlocked:
      return "deadlocked";
    case acquire_status::timed_out:
      return "timed_out";
  }
  return "acquire_status(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string to_string(const deadlock& x) {
  std::string result = "deadlock: ";
  for (size_t i = 0; i < x.cycle.size(); ++i) {
    auto& step = x.cycle[i];
    auto& next = x.cycle[(i + 1) % x.cycle.size()].waiter.owner;
    if (i > 0)
      result += "; ";
    result += step.waiter.owner + " waits for " + step.waiter.resource + " ("
              + to_string(step.waiter.mode) + ") which " + next
              + (step.blocker_holds ? " holds" : " awaits");
    if (step.blocker_resource != step.waiter.resource)
      result += " as " + step.blocker_resource;
  }
  result += "; refused request " + std::to_string(x.victim.id) + " of "
            + x.victim.owner + " for " + x.victim.resource;
  return result;
}

bool lock_changes::empty() const noexcept {
  return granted.empty() && deadlocks.empty() && timed_out.empty()
         && cancelled.empty() && released.empty();
}

// -- globs --------------------------------------------------------------------

namespace {

enum class glob_op : uint8_t {
  literal,
  any,
  star,
  globstar,
  globstar_slash,
  set,
};

struct glob_token {
  glob_op op = glob_op::literal;
  char c = 0;
  std::string_view set;
  bool negate = false;
};

glob_token make_token(glob_op op, char c = 0) {
  glob_token result;
  result.op = op;
  result.c = c;
  return result;
}

/// Returns the position after the `]` closing the class that opens at `i`,
/// or 0 when the `[` is a plain character.
size_t class_end(std::string_view p, size_t i) {
  auto j = i + 1;
  if (j < p.size() && (p[j] == '!' || p[j] == '^'))
    ++j;
  if (j < p.size() && p[j] == ']') // a leading ']' is a member
    ++j;
  while (j < p.size() && p[j] != ']')
    ++j;
  return j < p.size() ? j + 1 : 0;
}

std::vector<glob_token> parse_glob(std::string_view p) {
  std::vector<glob_token> result;
  for (size_t i = 0; i < p.size();) {
    if (p[i] == '*') {
      auto j = i;
      while (j < p.size() && p[j] == '*')
        ++j;
      if (j - i == 1) {
        result.push_back(make_token(glob_op::star));
      } else if (j < p.size() && p[j] == '/') {
        result.push_back(make_token(glob_op::globstar_slash));
        ++j;
      } else {
        result.push_back(make_token(glob_op::globstar));
      }
      i = j;
    } else if (p[i] == '?') {
      result.push_back(make_token(glob_op::any));
      ++i;
    } else if (auto end = p[i] == '[' ? class_end(p, i) : 0; end != 0) {
      auto tok = make_token(glob_op::set);
      auto body = i + 1;
      tok.negate = p[body] == '!' || p[body] == '^';
      if (tok.negate)
        ++body;
      tok.set = p.substr(body, end - 1 - body);
      result.push_back(tok);
      i = end;
    } else {
      result.push_back(make_token(glob_op::literal, p[i]));
      ++i;
    }
  }
  return result;
}

bool in_class(const glob_token& tok, char c) {
  auto uc = static_cast<unsigned char>(c);
  bool found = false;
  auto& s = tok.set;
  for (size_t i = 0; i < s.size() && !found; ++i) {
    if (i + 2 < s.size() && s[i + 1] == '-') {
      found = static_cast<unsigned char>(s[i]) <= uc
              && uc <= static_cast<unsigned char>(s[i + 2]);
      i += 2;
    } else {
      found = s[i] == c;
    }
  }
  return found != tok.negate;
}

/// Returns the literal text before the first special character.
std::string_view literal_prefix(std::string_view glob) {
  return glob.substr(0, std::min(glob.find_first_of("*?["), glob.size()));
}

/// Returns the literal text after the last special character; may be
/// shorter than the true literal suffix, which keeps overlap tests safe.
std::string_view literal_suffix(std::string_view glob) {
  auto pos = glob.find_last_of("*?[]");
  return pos == std::string_view::npos ? glob : glob.substr(pos + 1);
}

bool conflicts(lock_mode a, lock_mode b) {
  return a == lock_mode::exclusive || b == lock_mode::exclusive;
}

template <class T>
bool contains(const std::vector<T>& xs, const T& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

} // namespace

bool is_glob(std::string_view name) noexcept {
  return name.find_first_of("*?[") != std::string_view::npos;
}

bool glob_match(std::string_view pattern, std::string_view name) {
  // reach[j]: the tokens so far can match the first j characters of `name`.
  auto n = name.size();
  std::vector<char> reach(n + 1, 0);
  std::vector<char> next(n + 1, 0);
  reach[0] = 1;
  for (auto& tok : parse_glob(pattern)) {
    std::fill(next.begin(), next.end(), 0);
    bool run = false;
    for (size_t j = 0; j <= n; ++j) {
      switch (tok.op) {
        case glob_op::literal:
          if (j < n && reach[j] && name[j] == tok.c)
            next[j + 1] = 1;
          break;
        case glob_op::any:
        case glob_op::set:
          if (j < n && reach[j] && name[j] != '/'
              && (tok.op == glob_op::any || in_class(tok, name[j])))
            next[j + 1] = 1;
          break;
        case glob_op::star:
          run = run || reach[j];
          next[j] = run;
          if (j < n && name[j] == '/')
            run = false;
          break;
        case glob_op::globstar:
          run = run || reach[j];
          next[j] = run;
          break;
        case glob_op::globstar_slash:
          // Matches nothing, or anything that ends with '/'.
          next[j] = reach[j] || (run && name[j - 1] == '/');
          run = run || reach[j];
          break;
      }
    }
    reach.swap(next);
    if (std::find(reach.begin(), reach.end(), 1) == reach.end())
      return false;
  }
  return reach[n] != 0;
}

bool may_overlap(std::string_view a, std::string_view b) {
  auto ga = is_glob(a);
  auto gb = is_glob(b);
  if (!ga && !gb)
    return a == b;
  if (!gb)
    return glob_match(a, b);
  if (!ga)
    return glob_match(b, a);
  // Any common match starts with both literal prefixes and ends with both
  // literal suffixes, so one of each pair must extend the other.
  auto pa = literal_prefix(a);
  auto pb = literal_prefix(b);
  auto np = std::min(pa.size(), pb.size());
  if (pa.substr(0, np) != pb.substr(0, np))
    return false;
  auto sa = literal_suffix(a);
  auto sb = literal_suffix(b);
  auto ns = std::min(sa.size(), sb.size());
  return sa.substr(sa.size() - ns) == sb.substr(sb.size() - ns);
}

// -- constructors -------------------------------------------------------------

lock_table::lock_table(size_t max_name_bytes)
  : max_name_bytes_(max_name_bytes) {
  // nop
}

// -- operations ---------------------------------------------------------------

caf::expected<acquire_result> lock_table::acquire(const lock_request& req,
                                                  int64_t now_ms) {
  if (auto err = check_name("owner", req.owner))
    return err;
  if (auto err = check_name("resource", req.resource))
    return err;
  acquire_result result;
  bool upgrade = false;
  if (auto known = lookup(req.owner)) {
    auto& own = owners_[*known];
    if (own.held.count(req.resource) != 0) {
      auto held = find_resource(req.resource)->holders.at(*known);
      if (held == lock_mode::exclusive || req.mode == lock_mode::shared) {
        result.ticket = {0,           req.owner,    req.resource,
                         held,        req.priority, req.deadline_ms};
        return result;
      }
      upgrade = true;
    }
    if (auto w = own.waiting.find(req.resource); w != own.waiting.end()) {
      auto& q = waiting_.at(w->second);
      if (q.mode != req.mode)
        return make_error(errc::illegal_transition,
                          "acquire: owner " + req.owner + " already waits for "
                            + req.resource + " in mode " + to_string(q.mode));
      result.ticket = ticket_of(q);
      result.status = acquire_status::waiting;
      return result;
    }
  }
  request_entry q{++last_id_,      intern(req.owner), req.resource, req.mode,
                  req.priority,    req.deadline_ms,   upgrade,      {}};
  q.blockers = blockers_of(q);
  result.ticket = ticket_of(q);
  std::vector<owner_id> recheck;
  if (q.blockers.empty()) {
    add_holder(q.owner, q.resource, q.mode);
    // Holding, `q` may now block waiters that its owner waits for.
    if (link_behind(q, true))
      recheck.push_back(q.owner);
    resolve_deadlocks(std::move(recheck), result.changes);
    return result;
  }
  if (q.deadline_ms <= now_ms) {
    forget_if_idle(q.owner);
    result.status = acquire_status::timed_out;
    return result;
  }
  auto id = q.id;
  recheck.push_back(q.owner);
  link_behind(q, false);
  enqueue(std::move(q));
  result.status = acquire_status::waiting;
  resolve_deadlocks(std::move(recheck), result.changes);
  if (waiting_.count(id) == 0) {
    // Breaking a deadlock either refused this request or, by refusing
    // another, let it through.
    auto& granted = result.changes.granted;
    auto i = std::find_if(granted.begin(), granted.end(),
                          [id](const lock_ticket& t) { return t.id == id; });
    if (i != granted.end()) {
      granted.erase(i);
      result.status = acquire_status::granted;
    } else {
      result.status = acquire_status::deadlocked;
    }
  }
  return result;
}

caf::expected<lock_changes> lock_table::release(const std::string& owner,
                                                const std::string& resource) {
  if (auto err = check_name("owner", owner))
    return err;
  if (auto err = check_name("resource", resource))
    return err;
  auto o = lookup(owner);
  if (!o || owners_[*o].held.count(resource) == 0)
    return make_error(errc::illegal_transition,
                      "release: owner " + owner + " does not hold " + resource);
  lock_changes changes;
  auto& res = *find_resource(resource);
  changes.released.push_back({owner, resource, res.holders.at(*o)});
  res.holders.erase(*o);
  owners_[*o].held.erase(resource);
  // A pending upgrade of the released lock has nothing left to upgrade.
  if (auto w = owners_[*o].waiting.find(resource);
      w != owners_[*o].waiting.end())
    changes.cancelled.push_back(dequeue(w->second));
  erase_if_unused(resource);
  forget_if_idle(*o);
  pump({resource}, changes);
  return changes;
}

caf::expected<lock_changes> lock_table::release_all(const std::string& owner) {
  if (auto err = check_name("owner", owner))
    return err;
  lock_changes changes;
  auto o = lookup(owner);
  if (!o)
    return changes;
  std::vector<std::string> names;
  auto waits = owners_[*o].waiting;
  for (auto& [name, id] : waits) {
    changes.cancelled.push_back(dequeue(id));
    names.push_back(name);
  }
  auto held = std::move(owners_[*o].held);
  owners_[*o].held.clear();
  for (auto& name : held) {
    auto& res = *find_resource(name);
    changes.released.push_back({owner, name, res.holders.at(*o)});
    res.holders.erase(*o);
    erase_if_unused(name);
    names.push_back(name);
  }
  forget_if_idle(*o);
  pump(names, changes);
  return changes;
}

caf::expected<lock_changes> lock_table::cancel(lock_request_id id) {
  auto i = waiting_.find(id);
  if (i == waiting_.end())
    return make_error(errc::invalid_argument,
                      "cancel: no waiting request " + std::to_string(id));
  lock_changes changes;
  auto owner = i->second.owner;
  auto name = i->second.resource;
  changes.cancelled.push_back(dequeue(id));
  forget_if_idle(owner);
  pump({name}, changes);
  return changes;
}

lock_changes lock_table::expire(int64_t now_ms) {
  lock_changes changes;
  std::vector<std::string> names;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now_ms) {
    auto& q = waiting_.at(deadlines_.begin()->second);
    auto owner = q.owner;
    names.push_back(q.resource);
    changes.timed_out.push_back(dequeue(q.id));
    forget_if_idle(owner);
  }
  if (!names.empty())
    pump(names, changes);
  return changes;
}

// -- queries ------------------------------------------------------------------

std::optional<int64_t> lock_table::next_deadline() const {
  if (deadlines_.empty())
    return std::nullopt;
  return deadlines_.begin()->first;
}

std::vector<resource_locks> lock_table::list() const {
  std::vector<resource_locks> result;
  for (auto* names : {&exact_, &globs_}) {
    for (auto& [name, res] : *names) {
      resource_locks entry{name, {}, {}};
      for (auto& [owner, mode] : res.holders)
        entry.holders.push_back({owners_[owner].name, name, mode});
      std::sort(entry.holders.begin(), entry.holders.end(),
                [](auto& x, auto& y) { return x.owner < y.owner; });
      for (auto& key : res.waiters)
        entry.waiters.push_back(ticket_of(waiting_.at(std::get<2>(key))));
      result.push_back(std::move(entry));
    }
  }
  std::sort(result.begin(), result.end(),
            [](auto& x, auto& y) { return x.resource < y.resource; });
  return result;
}

std::vector<lock_holding> lock_table::held_by(const std::string& owner) const {
  std::vector<lock_holding> result;
  if (auto o = lookup(owner)) {
    for (auto& name : owners_[*o].held) {
      auto& names = is_glob(name) ? globs_ : exact_;
      result.push_back({owner, name, names.at(name).holders.at(*o)});
    }
  }
  return result;
}

std::optional<lock_ticket> lock_table::find_waiting(lock_request_id id) const {
  auto i = waiting_.find(id);
  if (i == waiting_.end())
    return std::nullopt;
  return ticket_of(i->second);
}

// -- owners and resources -----------------------------------------------------

caf::error lock_table::check_name(const char* field,
                                  const std::string& name) const {
  if (name.empty())
    return make_error(errc::invalid_argument,
                      std::string{field} + ": must not be empty");
  if (name.size() > max_name_bytes_)
    return make_error(errc::invalid_argument,
                      std::string{field} + ": " + std::to_string(name.size())
                        + " bytes exceed the limit of "
                        + std::to_string(max_name_bytes_));
  return {};
}

lock_table::owner_id lock_table::intern(const std::string& name) {
  if (auto i = owner_ids_.find(name); i != owner_ids_.end())
    return i->second;
  owner_id id;
  // Reusing freed ids keeps the graph small; the order of reuse is fixed by
  // the calls, so replay assigns the same ids.
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
    owners_[id].name = name;
  } else {
    id = static_cast<owner_id>(owners_.size());
    owners_.push_back({name, {}, {}});
  }
  owner_ids_.emplace(name, id);
  return id;
}

std::optional<lock_table::owner_id>
lock_table::lookup(const std::string& name) const {
  if (auto i = owner_ids_.find(name); i != owner_ids_.end())
    return i->second;
  return std::nullopt;
}

void lock_table::forget_if_idle(owner_id id) {
  auto& own = owners_[id];
  if (!own.held.empty() || !own.waiting.empty())
    return;
  owner_ids_.erase(own.name);
  own = owner_entry{};
  free_ids_.push_back(id);
}

lock_table::resource_entry* lock_table::find_resource(const std::string& name) {
  auto& names = is_glob(name) ? globs_ : exact_;
  auto i = names.find(name);
  return i != names.end() ? &i->second : nullptr;
}

lock_table::resource_entry& lock_table::resource(const std::string& name) {
  return (is_glob(name) ? globs_ : exact_)[name];
}

void lock_table::erase_if_unused(const std::string& name) {
  auto& names = is_glob(name) ? globs_ : exact_;
  if (auto i = names.find(name);
      i != names.end() && i->second.holders.empty()
      && i->second.waiters.empty())
    names.erase(i);
}

template <class F>
void lock_table::for_each_overlapping(const std::string& name, F f) {
  if (!is_glob(name)) {
    if (auto i = exact_.find(name); i != exact_.end())
      f(i->first, i->second);
  } else {
    // Every exact name a glob matches starts with its literal prefix.
    auto prefix = literal_prefix(name);
    for (auto i = exact_.lower_bound(std::string{prefix});
         i != exact_.end() && i->first.compare(0, prefix.size(), prefix) == 0;
         ++i)
      if (glob_match(name, i->first))
        f(i->first, i->second);
  }
  for (auto& [glob, res] : globs_)
    if (may_overlap(glob, name))
      f(glob, res);
}

// -- requests -----------------------------------------------------------------

lock_table::wait_key lock_table::key_of(const request_entry& q) {
  return {q.upgrade ? 0 : 1, -static_cast<int64_t>(q.priority), q.id};
}

lock_ticket lock_table::ticket_of(const request_entry& q) const {
  return {q.id,     owners_[q.owner].name, q.resource,
          q.mode,   q.priority,            q.deadline_ms};
}

std::vector<lock_table::owner_id>
lock_table::blockers_of(const request_entry& q) {
  std::vector<owner_id> result;
  auto add = [&](owner_id o) {
    if (o != q.owner && !contains(result, o))
      result.push_back(o);
  };
  auto key = key_of(q);
  for_each_overlapping(q.resource, [&](const std::string&,
                                       resource_entry& res) {
    for (auto& [holder, mode] : res.holders)
      if (conflicts(q.mode, mode))
        add(holder);
    // An upgrade waits for holders only: queued requests of others wait for
    // its shared lock, so waiting behind them would be a certain deadlock.
    if (q.upgrade)
      return;
    for (auto k = res.waiters.begin(); k != res.waiters.end() && *k < key; ++k)
      if (auto& w = waiting_.at(std::get<2>(*k)); conflicts(q.mode, w.mode))
        add(w.owner);
  });
  return result;
}

deadlock_step lock_table::step_of(const wait_for_graph::edge& e) {
  auto& q = waiting_.at(e.via);
  deadlock_step step{ticket_of(q), {}, true};
  auto& next = owners_[e.to];
  for (auto& name : next.held) {
    auto mode = find_resource(name)->holders.at(e.to);
    if (may_overlap(q.resource, name) && conflicts(q.mode, mode)) {
      step.blocker_resource = name;
      return step;
    }
  }
  step.blocker_holds = false;
  for (auto& [name, id] : next.waiting) {
    if (may_overlap(q.resource, name)
        && conflicts(q.mode, waiting_.at(id).mode)) {
      step.blocker_resource = name;
      break;
    }
  }
  return step;
}

void lock_table::add_holder(owner_id owner, const std::string& name,
                            lock_mode mode) {
  resource(name).holders[owner] = mode;
  owners_[owner].held.insert(name);
}

void lock_table::enqueue(request_entry q) {
  resource(q.resource).waiters.insert(key_of(q));
  owners_[q.owner].waiting.emplace(q.resource, q.id);
  if (q.deadline_ms != lock_forever)
    deadlines_.emplace(q.deadline_ms, q.id);
  for (auto b : q.blockers)
    graph_.add_edge(q.owner, b, q.id);
  auto id = q.id;
  waiting_.emplace(id, std::move(q));
}

lock_ticket lock_table::dequeue(lock_request_id id) {
  auto i = waiting_.find(id);
  auto& q = i->second;
  auto ticket = ticket_of(q);
  find_resource(q.resource)->waiters.erase(key_of(q));
  owners_[q.owner].waiting.erase(q.resource);
  deadlines_.erase({q.deadline_ms, id});
  graph_.remove_edges(q.owner, id);
  auto name = std::move(q.resource);
  waiting_.erase(i);
  erase_if_unused(name);
  return ticket;
}

bool lock_table::link_behind(const request_entry& q, bool holds) {
  // The waiters that `q` now blocks: those behind it, and when it holds,
  // upgrades too (they wait for holders only).
  bool added = false;
  auto key = key_of(q);
  for_each_overlapping(q.resource, [&](const std::string&,
                                       resource_entry& res) {
    auto first = holds ? res.waiters.begin() : res.waiters.upper_bound(key);
    for (auto k = first; k != res.waiters.end(); ++k) {
      auto& w = waiting_.at(std::get<2>(*k));
      if (w.owner == q.owner || !conflicts(w.mode, q.mode)
          || (w.upgrade && !holds) || contains(w.blockers, q.owner))
        continue;
      w.blockers.push_back(q.owner);
      graph_.add_edge(w.owner, q.owner, w.id);
      added = true;
    }
  });
  return added;
}

void lock_table::set_blockers(request_entry& q, std::vector<owner_id> blockers,
                              std::vector<owner_id>& recheck) {
  if (blockers == q.blockers)
    return;
  auto grew = std::any_of(blockers.begin(), blockers.end(),
                          [&](owner_id b) { return !contains(q.blockers, b); });
  graph_.remove_edges(q.owner, q.id);
  for (auto b : blockers)
    graph_.add_edge(q.owner, b, q.id);
  q.blockers = std::move(blockers);
  if (grew)
    recheck.push_back(q.owner);
}

void lock_table::grant(lock_request_id id, lock_changes& changes,
                       std::vector<owner_id>& recheck) {
  auto q = waiting_.at(id);
  changes.granted.push_back(dequeue(id));
  add_holder(q.owner, q.resource, q.mode);
  if (link_behind(q, true))
    recheck.push_back(q.owner);
}

void lock_table::pump(const std::vector<std::string>& names,
                      lock_changes& changes) {
  std::vector<owner_id> recheck;
  std::vector<wait_key> keys;
  for (auto& name : names)
    for_each_overlapping(name, [&](const std::string&, resource_entry& res) {
      keys.insert(keys.end(), res.waiters.begin(), res.waiters.end());
    });
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  // One pass in service order suffices: a grant never unblocks a request.
  for (auto& key : keys) {
    auto i = waiting_.find(std::get<2>(key));
    if (i == waiting_.end())
      continue;
    auto blockers = blockers_of(i->second);
    if (blockers.empty())
      grant(i->first, changes, recheck);
    else
      set_blockers(i->second, std::move(blockers), recheck);
  }
  resolve_deadlocks(std::move(recheck), changes);
}

void lock_table::resolve_deadlocks(std::vector<owner_id> recheck,
                                   lock_changes& changes) {
  // New edges all touch an owner in `recheck`, so any new cycle runs
  // through one of them.
  for (auto node : recheck) {
    for (auto cycle = graph_.find_cycle(node); !cycle.empty();
         cycle = graph_.find_cycle(node)) {
      deadlock found;
      for (auto& e : cycle)
        found.cycle.push_back(step_of(e));
      auto victim = std::min_element(
        found.cycle.begin(), found.cycle.end(), [](auto& x, auto& y) {
          return std::tuple{x.waiter.priority, y.waiter.id}
                 < std::tuple{y.waiter.priority, x.waiter.id};
        });
      found.victim = victim->waiter;
      auto owner = waiting_.at(found.victim.id).owner;
      dequeue(found.victim.id);
      forget_if_idle(owner);
      changes.deadlocks.push_back(std::move(found));
      pump({changes.deadlocks.back().victim.resource}, changes);
    }
  }
}

} // namespace cw::actors
