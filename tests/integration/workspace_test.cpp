// Workspaces through a real node: a real git repository with worktrees, real
// file writes seen by the watcher, two real agent processes writing one file.

#define CAF_SUITE integration.workspace
#include "caf/test/unit_test.hpp"

#include <fstream>

#include <nlohmann/json.hpp>

#include "actors/workspace/worktree.hpp"
#include "runtime/http_client.hpp"
#include "tests/support/processes.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

using cw::test::cli_result;
using cw::test::node_process;
using cw::test::run_cw;
using strings = std::vector<std::string>;

std::string git(const fs::path& dir, strings args) {
  strings all{"-c", "user.name=cw test", "-c", "user.email=cw@example.com",
              "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"};
  all.insert(all.end(), args.begin(), args.end());
  auto out = cw::actors::run_git(dir, all);
  CAF_REQUIRE(out);
  if (out->exit_code != 0)
    CAF_FAIL("git failed: " << out->err);
  return out->out;
}

/// A shell script that writes `file`, marks itself ready and waits (at most
/// 30 s, polling) until the other task is ready too: both are then running
/// at once, whatever the scheduler's timing.
std::string meet(const std::string& me, const std::string& other,
                 const std::string& file) {
  return "echo " + me + " >> " + file + "; touch " + me
         + ".ready; i=0; until [ -e " + other
         + ".ready ] || [ $i -ge 3000 ]; do sleep 0.01; i=$((i+1)); done";
}

struct fixture {
  cw::test::temp_dir dir;
  std::string data_dir = dir.file("data");
  fs::path root = fs::canonical(dir.path());
  fs::path repo = root / "repo";
  fs::path shared = root / "shared";

  fixture() {
    fs::create_directories(repo);
    fs::create_directories(shared);
    git(repo, {"init", "-q"});
    std::ofstream{repo / "README.md"} << "hello\n";
    git(repo, {"add", "."});
    git(repo, {"commit", "-q", "-m", "first"});
  }

  cli_result cw(const node_process& n, strings args) {
    args.insert(args.begin(), {"--node", n.url()});
    return run_cw(dir.path(), std::move(args));
  }

  json call(const node_process& n, const std::string& method,
            const std::string& target, const std::string& body = {}) {
    auto c = cw::runtime::http_client::make(n.url());
    CAF_REQUIRE(c);
    auto res = (*c)->request(method, target, body, 90s);
    CAF_REQUIRE(res);
    auto j = json::parse(res->body, nullptr, false);
    CAF_REQUIRE(j.is_object());
    return j;
  }

  uint64_t submit(const node_process& n, const fs::path& ws,
                  const std::string& script, strings locks = {}) {
    json body{{"argv", {"sh", "-c", script}}, {"workspace", ws.string()}};
    if (!locks.empty())
      body["locks"] = locks;
    auto j = call(n, "POST", "/v1/tasks", body.dump());
    CAF_REQUIRE(j.contains("id"));
    return j["id"].get<uint64_t>();
  }

  json wait(const node_process& n, uint64_t id) {
    auto j = call(n, "GET", "/v1/tasks/" + std::to_string(id) + "?wait=60");
    CAF_REQUIRE(j.contains("status"));
    return j;
  }

  json workspace(const node_process& n, const std::string& name) {
    auto list = call(n, "GET", "/v1/workspaces");
    for (auto& w : list["workspaces"])
      if (w["name"] == name)
        return w;
    CAF_FAIL("no workspace " << name);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(workspace_tests, fixture)

CAF_TEST(a task in a worktree workspace works on its own branch) {
  std::string worktree;
  {
    node_process n{data_dir};
    auto add = cw(n, {"workspace", "add", repo.string(), "--isolation",
                      "worktree"});
    CAF_CHECK_EQUAL(add.exit_code, 0);
    CAF_CHECK(add.out.find("workspace repo:") != std::string::npos);
    auto id = submit(n, repo, "echo new > new.txt; echo more >> README.md");
    auto task = wait(n, id);
    CAF_CHECK(task["status"] == "completed");
    auto& changes = task["changes"];
    CAF_CHECK(changes["workspace"] == "repo");
    CAF_CHECK(changes["branch"] == "cw/" + std::to_string(id));
    CAF_CHECK(changes["changed_files"] == json({"README.md", "new.txt"}));
    worktree = changes["worktree"].get<std::string>();
    CAF_CHECK(fs::exists(fs::path{worktree} / "new.txt"));
    // The repository's own checkout is untouched; the branch exists.
    CAF_CHECK(!fs::exists(repo / "new.txt"));
    CAF_CHECK_EQUAL(git(repo, {"status", "--porcelain"}), "");
    CAF_CHECK(git(repo, {"branch", "--list", "cw/*"}).find("cw/")
              != std::string::npos);
    auto show = cw(n, {"status", std::to_string(id)});
    CAF_CHECK(show.out.find("branch:     cw/") != std::string::npos);
    CAF_CHECK(show.out.find("  new.txt") != std::string::npos);
    CAF_CHECK_EQUAL(n.stop(), 0);
  }
  // The registry and the worktree list come back from the journal.
  node_process n{data_dir};
  auto list = cw(n, {"workspace", "list"});
  CAF_CHECK(list.out.find("worktree") != std::string::npos);
  CAF_CHECK(list.out.find(worktree) != std::string::npos);
  // The task's changes are not committed: prune keeps them unless forced.
  auto keep = cw(n, {"workspace", "prune", "repo"});
  CAF_CHECK_EQUAL(keep.exit_code, 0);
  CAF_CHECK_EQUAL(keep.out.rfind("kept worktree of task ", 0), 0u);
  CAF_CHECK(keep.out.find(" at " + worktree
                          + ": 2 files not committed (README.md, new.txt); "
                            "--force removes them\n")
            != std::string::npos);
  CAF_CHECK(fs::exists(fs::path{worktree} / "new.txt"));
  auto prune = cw(n, {"workspace", "prune", "repo", "--force"});
  CAF_CHECK_EQUAL(prune.exit_code, 0);
  CAF_CHECK_EQUAL(prune.out.rfind("removed worktree of task ", 0), 0u);
  CAF_CHECK(prune.out.find(" at " + worktree + " (branch kept: cw/")
            != std::string::npos);
  CAF_CHECK(!fs::exists(worktree));
  CAF_CHECK(workspace(n, "repo")["worktrees"].empty());
  // Bad input: clear errors naming the flag's field, nothing changed.
  auto plain = cw(n, {"workspace", "add", shared.string(), "--isolation",
                      "worktree"});
  CAF_CHECK_EQUAL(plain.exit_code, 1);
  CAF_CHECK(plain.err.find("not inside a git repository") != std::string::npos);
  auto missing = cw(n, {"workspace", "prune", "nope"});
  CAF_CHECK(missing.err.find("no workspace named 'nope'") != std::string::npos);
}

CAF_TEST(two agents writing one file in a shared workspace conflict) {
  node_process n{data_dir};
  auto a = submit(n, shared, meet("a", "b", "same.txt"));
  auto b = submit(n, shared, meet("b", "a", "same.txt"));
  auto ta = wait(n, a);
  auto tb = wait(n, b);
  CAF_CHECK(ta["status"] == "completed");
  CAF_CHECK(tb["status"] == "completed");
  for (auto* t : {&ta, &tb}) {
    auto& files = (*t)["changes"]["changed_files"];
    CAF_CHECK(std::find(files.begin(), files.end(), "same.txt") != files.end());
  }
  auto conflicts = ta["changes"]["conflicts"];
  CAF_CHECK(std::find(conflicts.begin(), conflicts.end(),
                      "same.txt (task " + std::to_string(b) + ")")
            != conflicts.end());
  auto ws = workspace(n, "shared");
  CAF_CHECK(ws["implicit"] == true);
  CAF_CHECK(ws["conflicts"].get<uint64_t>() >= 1u);
}

CAF_TEST(the lock policy fails the task that wrote without a lock) {
  node_process n{data_dir};
  auto add = cw(n, {"workspace", "add", shared.string(), "--conflict-policy",
                    "lock"});
  CAF_REQUIRE_EQUAL(add.exit_code, 0);
  auto holder = submit(n, shared, meet("a", "b", "same.txt"), {"*"});
  auto other = submit(n, shared, meet("b", "a", "same.txt"));
  auto th = wait(n, holder);
  auto to = wait(n, other);
  CAF_CHECK(th["status"] == "completed");
  CAF_CHECK(to["status"] == "failed");
  CAF_CHECK(to["reason"].get<std::string>().find("workspace conflict:")
            == 0);
  CAF_CHECK(to["changes"]["violation"].get<std::string>().find(
              "requires a lock")
            != std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()
