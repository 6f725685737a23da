#define CAF_SUITE actors.supervisor
#include "tests/support/actor_fixture.hpp"

#include <memory>

#include "actors/supervisor/supervisor.hpp"
#include "messages/errc.hpp"
#include "messages/type_ids.hpp"

using namespace cw;
using namespace cw::actors;
using namespace std::chrono_literals;

namespace {

using strings = std::vector<std::string>;

/// A child that exits on command: `"exit"` normally, `"crash"` with an error.
/// Counts its starts in `starts`.
caf::behavior worker(caf::event_based_actor* self,
                     std::shared_ptr<int> starts) {
  ++*starts;
  return {
    [self](const std::string& cmd) {
      if (cmd == "exit")
        self->quit();
      else if (cmd == "crash")
        self->quit(make_error(errc::journal_io, "disk on fire"));
    },
  };
}

/// A child that ignores being told to stop.
caf::behavior stubborn(caf::event_based_actor* self,
                       std::shared_ptr<int> starts) {
  ++*starts;
  self->set_exit_handler([](caf::exit_msg&) {});
  return {
    [](const std::string&) {},
  };
}

struct child_view {
  std::string name;
  std::string state;
  caf::actor handle;
};

struct fixture : test::actor_fixture {
  std::shared_ptr<strings> log = std::make_shared<strings>();
  std::shared_ptr<std::vector<supervisor_report>> reports
    = std::make_shared<std::vector<supervisor_report>>();
  std::shared_ptr<int> starts = std::make_shared<int>(0);
  std::vector<caf::actor> tops;

  ~fixture() {
    // Supervisors hold their children: stop the trees as the node does.
    for (auto& sup : tops)
      self->send_exit(sup, caf::exit_reason::user_shutdown);
    drain();
  }

  /// Records reports as `"<supervisor>: <kind> <child>"`.
  supervisor_observer observer() {
    return [log = log, reports = reports](const supervisor_report& r) {
      log->push_back(r.supervisor + ": " + to_string(r.what) + " " + r.child);
      reports->push_back(r);
    };
  }

  child_spec worker_spec(std::string name,
                         restart_type type = restart_type::permanent) {
    return {std::move(name),
            [starts = starts](caf::actor_system& sys) {
              return sys.spawn(worker, starts);
            },
            type};
  }

  supervisor_config config(std::string name, restart_strategy strategy,
                           std::vector<child_spec> children,
                           uint32_t intensity = 10) {
    supervisor_config cfg;
    cfg.name = std::move(name);
    cfg.flags.strategy = strategy;
    cfg.flags.intensity = intensity;
    cfg.flags.period_ms = 1000;
    cfg.children = std::move(children);
    cfg.observer = observer();
    return cfg;
  }

  caf::actor start(supervisor_config cfg) {
    auto sup = spawn_supervisor(sys, std::move(cfg));
    tops.push_back(sup);
    drain();
    return sup;
  }

  /// Returns the log so far and clears it.
  strings take_log() {
    auto result = std::move(*log);
    log->clear();
    return result;
  }

  std::vector<child_view> children(const caf::actor& sup) {
    self->send(sup, children_atom_v);
    drain();
    std::vector<child_view> result;
    self->receive(
      [&](strings& names, strings& states, std::vector<caf::actor>& handles) {
        for (size_t i = 0; i < names.size(); ++i)
          result.push_back({names[i], states[i], handles[i]});
      },
      caf::after(0s) >> [] { CAF_FAIL("no reply to children"); });
    return result;
  }

  caf::actor child(const caf::actor& sup, const std::string& name) {
    for (auto& c : children(sup))
      if (c.name == name)
        return c.handle;
    CAF_FAIL("no child named " << name);
    return {};
  }

  std::string state(const caf::actor& sup, const std::string& name) {
    for (auto& c : children(sup))
      if (c.name == name)
        return c.state;
    return "none";
  }

  void tell(const caf::actor& sup, const std::string& name,
            const std::string& cmd) {
    auto h = child(sup, name);
    CAF_REQUIRE(h != nullptr);
    self->send(h, cmd);
    drain();
  }

  /// Returns the exit reason of `who` once it is down; fails otherwise.
  caf::error down_reason(const caf::actor& who) {
    caf::error result;
    bool got = false;
    self->receive(
      [&](caf::down_msg& dm) {
        CAF_CHECK_EQUAL(dm.source, who.address());
        result = std::move(dm.reason);
        got = true;
      },
      caf::after(0s) >> [] {});
    CAF_REQUIRE(got);
    return result;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(supervisor_tests, fixture)

CAF_TEST(children start in order and are listed with their handles) {
  auto sup = start(config("sup", restart_strategy::one_for_one,
                          {worker_spec("a"), worker_spec("b")}));
  CAF_CHECK_EQUAL(take_log(), (strings{"sup: started a", "sup: started b"}));
  auto xs = children(sup);
  CAF_REQUIRE_EQUAL(xs.size(), 2u);
  CAF_CHECK_EQUAL(xs[0].name, "a");
  CAF_CHECK_EQUAL(xs[0].state, "running");
  CAF_CHECK(xs[0].handle != nullptr);
  CAF_CHECK(xs[1].handle != nullptr);
  CAF_CHECK_NOT_EQUAL(xs[0].handle, xs[1].handle);
}

CAF_TEST(one_for_one restarts only the crashed child) {
  auto sup = start(config("sup", restart_strategy::one_for_one,
                          {worker_spec("a"), worker_spec("b"),
                           worker_spec("c")}));
  auto before = children(sup);
  take_log();
  tell(sup, "b", "crash");
  CAF_CHECK_EQUAL(take_log(),
                  (strings{"sup: crashed b", "sup: restarting b",
                           "sup: started b"}));
  auto after = children(sup);
  CAF_CHECK_EQUAL(after[0].handle, before[0].handle);
  CAF_CHECK_NOT_EQUAL(after[1].handle, before[1].handle);
  CAF_CHECK(after[1].handle != nullptr);
  CAF_CHECK_EQUAL(after[2].handle, before[2].handle);
  CAF_CHECK_EQUAL(reports->at(3).reason, "disk on fire");
  CAF_CHECK_EQUAL(reports->at(5).restarts, 1u);
}

CAF_TEST(one_for_all stops the others in reverse order then restarts all) {
  auto sup = start(config("sup", restart_strategy::one_for_all,
                          {worker_spec("a"), worker_spec("b"),
                           worker_spec("c")}));
  auto before = children(sup);
  take_log();
  tell(sup, "b", "crash");
  CAF_CHECK_EQUAL(take_log(),
                  (strings{"sup: crashed b", "sup: restarting a",
                           "sup: restarting b", "sup: restarting c",
                           "sup: stopped c", "sup: stopped a",
                           "sup: started a", "sup: started b",
                           "sup: started c"}));
  auto after = children(sup);
  for (size_t i = 0; i < 3; ++i) {
    CAF_CHECK(after[i].handle != nullptr);
    CAF_CHECK_NOT_EQUAL(after[i].handle, before[i].handle);
  }
}

CAF_TEST(rest_for_one restarts the crashed child and later ones) {
  auto sup = start(config("sup", restart_strategy::rest_for_one,
                          {worker_spec("a"), worker_spec("b"),
                           worker_spec("c")}));
  auto before = children(sup);
  take_log();
  tell(sup, "b", "crash");
  CAF_CHECK_EQUAL(take_log(),
                  (strings{"sup: crashed b", "sup: restarting b",
                           "sup: restarting c", "sup: stopped c",
                           "sup: started b", "sup: started c"}));
  auto after = children(sup);
  CAF_CHECK_EQUAL(after[0].handle, before[0].handle);
  CAF_CHECK_NOT_EQUAL(after[1].handle, before[1].handle);
  CAF_CHECK_NOT_EQUAL(after[2].handle, before[2].handle);
}

CAF_TEST(a permanent child is restarted after a normal exit) {
  auto sup = start(config("sup", restart_strategy::one_for_one,
                          {worker_spec("a")}));
  take_log();
  tell(sup, "a", "exit");
  CAF_CHECK_EQUAL(take_log(), (strings{"sup: stopped a", "sup: restarting a",
                                       "sup: started a"}));
  CAF_CHECK_EQUAL(state(sup, "a"), "running");
}

CAF_TEST(a transient child is restarted only after a crash) {
  auto sup = start(config("sup", restart_strategy::one_for_one,
                          {worker_spec("t", restart_type::transient)}));
  take_log();
  tell(sup, "t", "crash");
  CAF_CHECK_EQUAL(take_log(), (strings{"sup: crashed t", "sup: restarting t",
                                       "sup: started t"}));
  tell(sup, "t", "exit");
  CAF_CHECK_EQUAL(take_log(), strings{"sup: stopped t"});
  CAF_CHECK_EQUAL(state(sup, "t"), "stopped");
  CAF_CHECK(child(sup, "t") == nullptr);
}

CAF_TEST(a transient child shut down by someone else counts as normal) {
  auto sup = start(config("sup", restart_strategy::one_for_one,
                          {worker_spec("t", restart_type::transient)}));
  take_log();
  self->send_exit(child(sup, "t"), caf::exit_reason::user_shutdown);
  drain();
  CAF_CHECK_EQUAL(take_log(), strings{"sup: stopped t"});
  CAF_CHECK_EQUAL(state(sup, "t"), "stopped");
}

CAF_TEST(a temporary child is never restarted) {
  auto sup = start(config("sup", restart_strategy::one_for_one,
                          {worker_spec("a"),
                           worker_spec("t", restart_type::temporary)}));
  take_log();
  tell(sup, "t", "crash");
  CAF_CHECK_EQUAL(take_log(), strings{"sup: crashed t"});
  CAF_CHECK_EQUAL(state(sup, "t"), "stopped");
  CAF_CHECK_EQUAL(state(sup, "a"), "running");
  CAF_CHECK_EQUAL(*starts, 2);
}

CAF_TEST(exceeding the intensity stops the children and exits with reason) {
  auto sup = start(config("pool", restart_strategy::one_for_one,
                          {worker_spec("a"), worker_spec("b"),
                           worker_spec("c")},
                          1));
  self->monitor(sup);
  tell(sup, "b", "crash");
  take_log();
  tell(sup, "b", "crash");
  CAF_CHECK_EQUAL(take_log(),
                  (strings{"pool: crashed b", "pool: gave_up b",
                           "pool: stopped c", "pool: stopped a"}));
  auto reason = down_reason(sup);
  CAF_CHECK(is_give_up(reason));
  CAF_CHECK_EQUAL(error_message(reason),
                  "supervisor 'pool' gave up: restart intensity exceeded: "
                  "more than 1 restarts within 1000 ms; last: child 'b' "
                  "exited: disk on fire");
}

CAF_TEST(restarts spread over more than the period are all allowed) {
  auto sup = start(config("sup", restart_strategy::one_for_one,
                          {worker_spec("a")}, 1));
  self->monitor(sup);
  for (int i = 0; i < 3; ++i) {
    tell(sup, "a", "crash");
    advance_time(1001ms);
    drain();
  }
  CAF_CHECK_EQUAL(state(sup, "a"), "running");
  CAF_CHECK(!received<caf::down_msg>(self));
}

CAF_TEST(back-off delays restarts in virtual time) {
  auto cfg = config("sup", restart_strategy::one_for_one, {worker_spec("a")});
  cfg.flags.backoff = backoff_policy{100, 2.0, 250, 60'000};
  auto sup = start(std::move(cfg));
  take_log();
  tell(sup, "a", "crash");
  CAF_CHECK_EQUAL(reports->back().delay_ms, 100);
  CAF_CHECK_EQUAL(state(sup, "a"), "waiting");
  advance_time(99ms);
  drain();
  CAF_CHECK_EQUAL(state(sup, "a"), "waiting");
  advance_time(1ms);
  drain();
  CAF_CHECK_EQUAL(state(sup, "a"), "running");
  CAF_CHECK_EQUAL(take_log(), (strings{"sup: crashed a", "sup: restarting a",
                                       "sup: started a"}));
  CAF_CHECK_EQUAL(reports->back().restarts, 1u);
  tell(sup, "a", "crash");
  CAF_CHECK_EQUAL(reports->back().delay_ms, 200);
  advance_time(200ms);
  drain();
  tell(sup, "a", "crash");
  CAF_CHECK_EQUAL(reports->back().delay_ms, 250); // capped
  advance_time(249ms);
  drain();
  CAF_CHECK_EQUAL(state(sup, "a"), "waiting");
  advance_time(1ms);
  drain();
  CAF_CHECK_EQUAL(state(sup, "a"), "running");
}

CAF_TEST(back-off starts over after the child ran stably) {
  auto cfg = config("sup", restart_strategy::one_for_one, {worker_spec("a")});
  cfg.flags.backoff = backoff_policy{100, 2.0, 10'000, 5'000};
  auto sup = start(std::move(cfg));
  tell(sup, "a", "crash");
  advance_time(100ms);
  drain();
  tell(sup, "a", "crash");
  CAF_CHECK_EQUAL(reports->back().delay_ms, 200);
  advance_time(200ms);
  drain();
  advance_time(5s);
  tell(sup, "a", "crash");
  CAF_CHECK_EQUAL(reports->back().delay_ms, 100);
  CAF_CHECK_EQUAL(reports->back().restarts, 1u);
}

CAF_TEST(a factory that yields no actor counts as a crash) {
  auto cfg = config("sup", restart_strategy::one_for_one, {}, 2);
  cfg.children.push_back(
    {"broken", [](caf::actor_system&) { return caf::actor{}; },
     restart_type::permanent});
  auto sup = spawn_supervisor(sys, std::move(cfg));
  self->monitor(sup);
  drain();
  CAF_CHECK_EQUAL(take_log(),
                  (strings{"sup: crashed broken", "sup: restarting broken",
                           "sup: crashed broken", "sup: restarting broken",
                           "sup: crashed broken", "sup: gave_up broken"}));
  CAF_CHECK_EQUAL(reports->front().reason, "the factory returned no actor");
  CAF_CHECK(is_give_up(down_reason(sup)));
}

CAF_TEST(a nested supervisor that gives up is restarted by its parent) {
  auto pool = config("pool", restart_strategy::one_for_one, {worker_spec("w")},
                     1);
  child_spec pool_spec{"pool",
                       [pool](caf::actor_system& sys) {
                         return spawn_supervisor(sys, pool);
                       },
                       restart_type::permanent};
  auto node = start(config("node", restart_strategy::one_for_one,
                           {pool_spec, worker_spec("api")}));
  CAF_CHECK_EQUAL(take_log(), (strings{"node: started pool", "node: started api",
                                       "pool: started w"}));
  auto pool1 = child(node, "pool");
  auto api = child(node, "api");
  tell(pool1, "w", "crash");
  take_log();
  tell(pool1, "w", "crash");
  CAF_CHECK_EQUAL(take_log(),
                  (strings{"pool: crashed w", "pool: gave_up w",
                           "node: crashed pool", "node: restarting pool",
                           "node: started pool", "pool: started w"}));
  auto crash = std::find_if(reports->begin(), reports->end(), [](auto& r) {
    return r.supervisor == "node" && r.what == supervisor_report::kind::crashed;
  });
  CAF_REQUIRE(crash != reports->end());
  CAF_CHECK_EQUAL(crash->reason.rfind("supervisor 'pool' gave up", 0), 0u);
  auto pool2 = child(node, "pool");
  CAF_CHECK(pool2 != nullptr);
  CAF_CHECK_NOT_EQUAL(pool1, pool2);
  CAF_CHECK_EQUAL(state(pool2, "w"), "running");
  CAF_CHECK_EQUAL(child(node, "api"), api);
}

CAF_TEST(a parent exceeding its own intensity escalates further) {
  auto pool = config("pool", restart_strategy::one_for_one, {worker_spec("w")},
                     0);
  child_spec pool_spec{"pool",
                       [pool](caf::actor_system& sys) {
                         return spawn_supervisor(sys, pool);
                       },
                       restart_type::permanent};
  auto node = start(config("node", restart_strategy::one_for_one,
                           {worker_spec("journal"), pool_spec}, 0));
  self->monitor(node);
  take_log();
  tell(child(node, "pool"), "w", "crash");
  CAF_CHECK_EQUAL(take_log(),
                  (strings{"pool: crashed w", "pool: gave_up w",
                           "node: crashed pool", "node: gave_up pool",
                           "node: stopped journal"}));
  auto reason = down_reason(node);
  CAF_CHECK(is_give_up(reason));
  CAF_CHECK_EQUAL(error_message(reason).rfind("supervisor 'node' gave up", 0),
                  0u);
  CAF_CHECK(error_message(reason).find("supervisor 'pool' gave up")
            != std::string::npos);
}

CAF_TEST(shutdown stops the tree depth first in reverse start order) {
  auto pool = config("pool", restart_strategy::one_for_one,
                     {worker_spec("w1"), worker_spec("w2")});
  child_spec pool_spec{"pool",
                       [pool](caf::actor_system& sys) {
                         return spawn_supervisor(sys, pool);
                       },
                       restart_type::permanent};
  auto node = start(config("node", restart_strategy::one_for_one,
                           {worker_spec("journal"), pool_spec,
                            worker_spec("api")}));
  self->monitor(node);
  take_log();
  self->send_exit(node, caf::exit_reason::user_shutdown);
  drain();
  CAF_CHECK_EQUAL(take_log(),
                  (strings{"node: stopped api", "pool: stopped w2",
                           "pool: stopped w1", "node: stopped pool",
                           "node: stopped journal"}));
  CAF_CHECK(down_reason(node) == caf::exit_reason::user_shutdown);
  CAF_CHECK_EQUAL(*starts, 4);
}

CAF_TEST(a child that ignores its stop is killed after the shutdown time) {
  auto cfg = config("sup", restart_strategy::one_for_one,
                    {worker_spec("a"),
                     {"s",
                      [starts = starts](caf::actor_system& sys) {
                        return sys.spawn(stubborn, starts);
                      },
                      restart_type::permanent}});
  cfg.shutdown_ms = 2000;
  auto sup = start(std::move(cfg));
  self->monitor(sup);
  take_log();
  self->send_exit(sup, caf::exit_reason::user_shutdown);
  drain();
  CAF_CHECK_EQUAL(state(sup, "s"), "stopping");
  CAF_CHECK_EQUAL(state(sup, "a"), "stopping");
  advance_time(1999ms);
  drain();
  CAF_CHECK(!received<caf::down_msg>(self));
  advance_time(1ms);
  drain();
  CAF_CHECK_EQUAL(take_log(), (strings{"sup: stopped s", "sup: stopped a"}));
  CAF_CHECK(down_reason(sup) == caf::exit_reason::user_shutdown);
}

CAF_TEST(grow adds dynamic children up to the maximum and shrink removes them) {
  auto cfg = config("pool", restart_strategy::one_for_one, {worker_spec("w-1")});
  cfg.dynamic_child = [this](uint32_t i) {
    return worker_spec("w-" + std::to_string(i));
  };
  cfg.max_children = 3;
  auto sup = start(std::move(cfg));
  take_log();
  self->send(sup, grow_atom_v);
  drain();
  // Index 1 is taken by the fixed child: the lowest free one is 2.
  CAF_CHECK_EQUAL(reply<std::string>(), "w-2");
  self->send(sup, grow_atom_v);
  drain();
  CAF_CHECK_EQUAL(reply<std::string>(), "w-3");
  self->send(sup, grow_atom_v);
  drain();
  auto err = error_reply();
  CAF_CHECK(err == errc::illegal_transition);
  CAF_CHECK(error_message(err).find("maximum of 3") != std::string::npos);
  CAF_CHECK_EQUAL(take_log(), (strings{"pool: started w-2", "pool: started w-3"}));
  // A dynamic child crashes and is restarted like any other.
  tell(sup, "w-2", "crash");
  CAF_CHECK_EQUAL(state(sup, "w-2"), "running");
  take_log();
  // Shrink: stopped for good, its name free again, its reason reported.
  auto w2 = child(sup, "w-2");
  self->send(sup, shrink_atom_v, std::string{"w-2"}, std::string{"idle for 60 s"});
  drain();
  CAF_CHECK(reply<bool>());
  CAF_CHECK_EQUAL(take_log(), (strings{"pool: stopped w-2"}));
  CAF_CHECK_EQUAL(reports->back().reason, "idle for 60 s");
  CAF_CHECK_EQUAL(state(sup, "w-2"), "none");
  CAF_CHECK_EQUAL(children(sup).size(), 2u);
  self->send(sup, shrink_atom_v, std::string{"w-9"}, std::string{"idle"});
  drain();
  CAF_CHECK(!reply<bool>());
  self->send(sup, grow_atom_v);
  drain();
  CAF_CHECK_EQUAL(reply<std::string>(), "w-2");
  CAF_CHECK_NOT_EQUAL(child(sup, "w-2"), w2);
}

CAF_TEST(grow refuses without a factory and keeps nothing of a failed start) {
  auto plain = start(config("plain", restart_strategy::one_for_one, {}));
  self->send(plain, grow_atom_v);
  drain();
  CAF_CHECK(error_reply() == errc::illegal_transition);
  auto cfg = config("broken", restart_strategy::one_for_one, {});
  cfg.dynamic_child = [](uint32_t i) {
    return child_spec{"b-" + std::to_string(i),
                      [](caf::actor_system&) { return caf::actor{}; },
                      restart_type::permanent};
  };
  cfg.max_children = 2;
  auto broken = start(std::move(cfg));
  self->send(broken, grow_atom_v);
  drain();
  auto err = error_reply();
  CAF_CHECK(err == errc::agent_spawn_failed);
  CAF_CHECK(error_message(err).find("the factory returned no actor")
            != std::string::npos);
  CAF_CHECK(children(broken).empty());
}

CAF_TEST_FIXTURE_SCOPE_END()
