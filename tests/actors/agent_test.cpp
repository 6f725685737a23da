#define CAF_SUITE actors.agent
#include "tests/support/actor_fixture.hpp"

#include "caf/typed_event_based_actor.hpp"

#include "actors/agent/agent.hpp"
#include "actors/agent/process_launcher.hpp"
#include "actors/scheduler/scheduler.hpp"

using namespace cw;
using namespace cw::actors;
using namespace std::chrono_literals;

namespace {

/// Records launches; the test plays the operating system by calling the
/// stored callbacks.
class fake_launcher : public process_launcher {
public:
  struct launch {
    launch_request req;
    start_callback on_start;
    exit_callback on_exit;
  };

  void launch(launch_request req, start_callback on_start,
              exit_callback on_exit) override {
    launches.push_back({std::move(req), std::move(on_start), std::move(on_exit)});
  }

  bool adopt(const process_ref& ref, const launch_request& req,
             exit_callback on_exit) override {
    adopted.push_back({ref, req.status_path, std::move(on_exit)});
    return adopt_finds;
  }

  void terminate(const process_ref& ref,
                 std::chrono::milliseconds grace) override {
    terminated.emplace_back(ref.pid, grace);
  }

  struct adoption {
    process_ref ref;
    std::string status_path;
    exit_callback on_exit;
  };

  std::vector<struct launch> launches;
  std::vector<adoption> adopted;
  bool adopt_finds = true;
  std::vector<std::pair<int64_t, std::chrono::milliseconds>> terminated;
};

journal_actor::behavior_type instant_journal() {
  return {
    [](append_atom, const std::vector<event>&) -> uint64_t { return 0; },
    [](snapshot_atom, const snapshot&) {},
    [](flush_atom) {},
  };
}

struct fixture : test::actor_fixture {
  std::shared_ptr<fake_launcher> launcher = std::make_shared<fake_launcher>();
  scheduler_actor scheduler;
  agent_actor agent;

  fixture() {
    scheduler_config cfg;
    cfg.node_name = "node-a";
    cfg.log_dir = "/logs";
    cfg.default_workspace = "/tmp";
    cfg.journal = sys.spawn(instant_journal);
    cfg.pools["default"] = pool_settings{};
    scheduler = spawn_scheduler(sys, std::move(cfg));
    agent_profile profile;
    profile.name = "agent-1";
    // The pool's variables: under the task's own, over the allow-list.
    agent = spawn_agent(sys, {profile, scheduler, launcher, 3s, {}, nullptr, {},
                              {{"POOL_TOKEN", "p"}, {"SHARED", "pool"}}});
    drain();
  }

  ~fixture() {
    // Scheduler and agent hold each other, and the stored callbacks hold the
    // agent: stop them explicitly, as the node does.
    launcher->launches.clear();
    launcher->adopted.clear();
    self->send_exit(agent, caf::exit_reason::user_shutdown);
    self->send_exit(scheduler, caf::exit_reason::user_shutdown);
    drain();
  }

  task_id submit(std::vector<std::string> argv) {
    task_spec spec;
    spec.argv = std::move(argv);
    spec.workspace = "/tmp";
    self->send(scheduler, submit_atom_v, spec);
    drain();
    return reply<task_info>().id;
  }

  task_info lookup(task_id id) {
    self->send(scheduler, lookup_atom_v, id);
    drain();
    return reply<task_info>();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(agent_tests, fixture)

CAF_TEST(the agent launches the task with a clean environment) {
  ::setenv("CW_TEST_SECRET", "leak", 1);
  auto id = submit({"make", "-j2"});
  CAF_REQUIRE_EQUAL(launcher->launches.size(), 1u);
  auto& req = launcher->launches.front().req;
  CAF_CHECK_EQUAL(req.argv, (std::vector<std::string>{"make", "-j2"}));
  CAF_CHECK_EQUAL(req.workspace, "/tmp");
  CAF_CHECK_EQUAL(req.log_path, "/logs/" + std::to_string(id) + ".log");
  CAF_CHECK_EQUAL(req.status_path,
                  "/logs/" + std::to_string(id) + ".1.status");
  CAF_CHECK_EQUAL(req.env.count("PATH"), 1u);
  CAF_CHECK_EQUAL(req.env.count("CW_TEST_SECRET"), 0u);
}

CAF_TEST(pool variables reach the process under those of the task) {
  task_spec spec;
  spec.argv = {"env"};
  spec.workspace = "/tmp";
  spec.env = {{"SHARED", "task"}};
  self->send(scheduler, submit_atom_v, spec);
  drain();
  static_cast<void>(reply<task_info>());
  CAF_REQUIRE_EQUAL(launcher->launches.size(), 1u);
  auto env = launcher->launches.front().req.env;
  CAF_CHECK_EQUAL(env["POOL_TOKEN"], "p");
  CAF_CHECK_EQUAL(env["SHARED"], "task");
  CAF_CHECK_EQUAL(env.count("PATH"), 1u);
}

CAF_TEST(start and exit reach the scheduler) {
  auto id = submit({"true"});
  auto& l = launcher->launches.front();
  l.on_start(process_ref{777, 777 - 1, 42, 0});
  drain();
  auto info = lookup(id);
  CAF_CHECK(info.status == task_status::running);
  CAF_CHECK_EQUAL(info.pid, 777);
  CAF_CHECK_EQUAL(info.process.shim_pid, 776);
  CAF_CHECK_EQUAL(info.process.shim_start, 42u);
  l.on_exit(task_outcome{task_status::completed, 0, 0, ""});
  drain();
  CAF_CHECK(lookup(id).status == task_status::completed);
}

CAF_TEST(a program that cannot start fails its task not the agent) {
  auto id = submit({"no-such-program"});
  launcher->launches.front().on_exit(
    task_outcome{task_status::failed, -1, 0, "program not found: no-such-program"});
  drain();
  auto info = lookup(id);
  CAF_CHECK(info.status == task_status::failed);
  CAF_CHECK_EQUAL(info.reason, "program not found: no-such-program");
  // The same agent takes the next task.
  submit({"true"});
  CAF_CHECK_EQUAL(launcher->launches.size(), 2u);
}

CAF_TEST(cancel terminates the running process group) {
  auto id = submit({"sleep", "100"});
  launcher->launches.front().on_start(process_ref{4321, 4321 - 1, 42, 0});
  drain();
  self->send(agent, cancel_atom_v, id);
  drain();
  CAF_REQUIRE_EQUAL(launcher->terminated.size(), 1u);
  CAF_CHECK_EQUAL(launcher->terminated.front().first, 4321);
  CAF_CHECK(launcher->terminated.front().second == 3s);
}

CAF_TEST(a cancel that arrives before the pid stops the process once it starts) {
  auto id = submit({"sleep", "100"});
  self->send(agent, cancel_atom_v, id);
  drain();
  CAF_CHECK(launcher->terminated.empty());
  launcher->launches.front().on_start(process_ref{5555, 5555 - 1, 42, 0});
  drain();
  CAF_REQUIRE_EQUAL(launcher->terminated.size(), 1u);
  CAF_CHECK_EQUAL(launcher->terminated.front().first, 5555);
}

CAF_TEST(an adopted process counts as running and reports its end) {
  process_ref ref{900, 899, 42, 10};
  self->send(agent, adopt_atom_v, task_id{7}, uint32_t{2},
                ref, std::string{"/logs/7.log"});
  drain();
  CAF_CHECK(reply<bool>());
  CAF_REQUIRE_EQUAL(launcher->adopted.size(), 1u);
  CAF_CHECK_EQUAL(launcher->adopted.front().status_path, "/logs/7.2.status");
  // The adopted process can be cancelled like one started here.
  self->send(agent, cancel_atom_v, task_id{7});
  drain();
  CAF_REQUIRE_EQUAL(launcher->terminated.size(), 1u);
  CAF_CHECK_EQUAL(launcher->terminated.front().first, 900);
}

CAF_TEST(an adoption that finds nothing leaves the agent free) {
  launcher->adopt_finds = false;
  self->send(agent, adopt_atom_v, task_id{7}, uint32_t{1},
                process_ref{}, std::string{"/logs/7.log"});
  drain();
  CAF_CHECK(!reply<bool>());
  // The default max load is 1: the agent takes a new task.
  submit({"true"});
  CAF_CHECK_EQUAL(launcher->launches.size(), 1u);
}

CAF_TEST(an agent runs up to its max load at once) {
  agent_profile profile;
  profile.name = "wide";
  profile.max_load = 2;
  auto wide = spawn_agent(sys, {profile, scheduler, launcher, 3s});
  drain();
  for (auto i = 0; i < 3; ++i)
    self->send(wide, run_atom_v, task_id(100 + i), 1u, task_spec{}, "/logs/x");
  drain();
  // Two launches, the third refused as busy (and reported to the scheduler).
  CAF_CHECK_EQUAL(launcher->launches.size(), 2u);
  self->send_exit(wide, caf::exit_reason::user_shutdown);
  drain();
}

CAF_TEST(wait statuses map to outcomes) {
  auto ok = outcome_from_wait_status(0);
  CAF_CHECK(ok.status == task_status::completed);
  CAF_CHECK_EQUAL(ok.exit_code, 0);
  auto failed = outcome_from_wait_status(3 << 8);
  CAF_CHECK(failed.status == task_status::failed);
  CAF_CHECK_EQUAL(failed.exit_code, 3);
  CAF_CHECK_EQUAL(failed.reason, "exit code 3");
  auto killed = outcome_from_wait_status(9);
  CAF_CHECK(killed.status == task_status::failed);
  CAF_CHECK_EQUAL(killed.signal, 9);
  CAF_CHECK_EQUAL(killed.reason, "killed by signal 9");
}

CAF_TEST_FIXTURE_SCOPE_END()
