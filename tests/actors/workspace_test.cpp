// Workspaces: confinement, ignore rules, git worktrees and the watcher, all
// against real directories, a real git and real inotify.

#define CAF_SUITE actors.workspace_confine
#include "caf/test/unit_test.hpp"

#include <chrono>
#include <fstream>
#include <set>

#include <unistd.h>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/scoped_actor.hpp"

#include "actors/workspace/confine.hpp"
#include "actors/workspace/ignore.hpp"
#include "actors/workspace/ledger.hpp"
#include "actors/workspace/watcher.hpp"
#include "actors/workspace/watcher_actor.hpp"
#include "actors/workspace/worktree.hpp"
#include "messages/errc.hpp"
#include "tests/support/temp_dir.hpp"

using namespace cw;
using namespace cw::actors;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using strings = std::vector<std::string>;

void write_file(const fs::path& path, const std::string& text = "x\n") {
  fs::create_directories(path.parent_path());
  std::ofstream out{path, std::ios::trunc};
  out << text;
}

/// Returns whether `err` is an `invalid_argument` whose message names `what`.
bool names(const caf::error& err, const std::string& what) {
  CAF_MESSAGE("error: " << to_string(error_code(err)) << ": "
                        << error_message(err));
  return error_code(err) == errc::invalid_argument
         && error_message(err).find(what) != std::string::npos;
}

/// Returns the value of `x`, failing the test on an error. (The check
/// macros bind references: `*f()` would dangle.)
template <class T>
T value(caf::expected<T> x) {
  if (!x)
    CAF_FAIL("unexpected error: " << error_message(x.error()));
  return std::move(*x);
}

/// A temp dir whose canonical path is known (/tmp may be a symlink).
struct workspace_fixture {
  test::temp_dir dir;
  fs::path root = fs::canonical(dir.path());
  test::temp_dir elsewhere;
  fs::path outside = fs::canonical(elsewhere.path());
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(confine_tests, workspace_fixture)

CAF_TEST(paths inside resolve to absolute paths) {
  write_file(root / "src/main.cpp");
  CAF_CHECK_EQUAL(value(confine(root, "src/main.cpp")), root / "src/main.cpp");
  CAF_CHECK_EQUAL(value(confine(root, "./src/../src/main.cpp")),
                  root / "src/main.cpp");
  CAF_CHECK_EQUAL(value(confine(root, root / "src")), root / "src");
  CAF_CHECK_EQUAL(value(confine(root, "")), root);
  // Paths that do not exist yet are fine: agents create files.
  CAF_CHECK_EQUAL(value(confine(root, "new/dir/../file.txt")),
                  root / "new/file.txt");
  CAF_CHECK_EQUAL(value(confine_relative(root, root / "src/main.cpp")),
                  "src/main.cpp");
  CAF_CHECK_EQUAL(value(confine_relative(root, ".")), ".");
}

CAF_TEST(dot dot out of the tree is refused) {
  for (auto path : {"..", "../x", "src/../../x", "a/b/../../../etc/passwd"}) {
    CAF_MESSAGE("path " << path);
    auto res = confine(root, path);
    CAF_REQUIRE(!res);
    CAF_CHECK(names(res.error(), path));
    CAF_CHECK(names(res.error(), root.string()));
  }
}

CAF_TEST(absolute paths outside are refused) {
  for (auto path : {fs::path{"/etc/passwd"}, outside / "x", fs::path{"/"},
                    fs::path{root.string() + "-other/x"}}) {
    CAF_MESSAGE("path " << path);
    auto res = confine(root, path);
    CAF_REQUIRE(!res);
    CAF_CHECK(names(res.error(), path.string()));
  }
}

CAF_TEST(symlinks out of the tree are refused) {
  write_file(outside / "secret");
  fs::create_directories(root / "src");
  fs::create_directory_symlink(outside, root / "src/out");
  fs::create_symlink(outside / "secret", root / "leak");
  fs::create_symlink(outside / "missing", root / "dangling");
  fs::create_symlink("../../..", root / "src/up");
  fs::create_symlink("main.cpp", root / "src/alias");
  for (auto path : {"src/out", "src/out/secret", "src/out/new", "leak",
                    "dangling", "src/up/x"}) {
    CAF_MESSAGE("path " << path);
    auto res = confine(root, path);
    CAF_REQUIRE(!res);
    CAF_CHECK(names(res.error(), path));
    CAF_CHECK(error_message(res.error()).find("symlink") != std::string::npos);
  }
  // A symlink that stays inside is followed.
  CAF_CHECK_EQUAL(value(confine(root, "src/alias")), root / "src/main.cpp");
  // `..` applies after the symlink, as in the kernel: out/.. is outside/..
  CAF_CHECK(!confine(root, "src/out/../x"));
}

CAF_TEST(a missing or non-directory root is refused) {
  auto res = confine(root / "nope", "x");
  CAF_REQUIRE(!res);
  CAF_CHECK(names(res.error(), (root / "nope").string()));
  write_file(root / "file");
  CAF_CHECK(!confine(root / "file", "x"));
}

CAF_TEST(is_within compares whole components) {
  CAF_CHECK(is_within("/a/b", "/a/b"));
  CAF_CHECK(is_within("/a/b", "/a/b/c"));
  CAF_CHECK(!is_within("/a/b", "/a/bc"));
  CAF_CHECK(!is_within("/a/b", "/a"));
  CAF_CHECK(is_within("/", "/x"));
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- ignore rules -------------------------------------------------------------

#undef CAF_SUITE
#define CAF_SUITE actors.workspace_ignore

CAF_TEST(the defaults ignore vcs folders dependencies and build output) {
  ignore_rules r;
  struct row {
    const char* path;
    bool is_dir;
    bool ignored;
  };
  for (auto [path, is_dir, ignored] : std::vector<row>{
         {".git", true, true},
         {".git/config", false, true},
         {"node_modules/x/index.js", false, true},
         {"web/node_modules/x.js", false, true},
         {"build/cw", false, true},
         {"build-asan/tests/x", false, true},
         {"target/debug/app", false, true},
         {"dist/app.js", false, true},
         {"src/lock.o", false, true},
         {"src/.main.cpp.swp", false, true},
         {"src/main.cpp~", false, true},
         {"src/main.cpp", false, false},
         {"building/plan.md", false, false},
         {"build", false, false}, // a file named build: dir-only rule
         {"src/builder.cpp", false, false},
         {".gitignore", false, false},
       }) {
    CAF_MESSAGE(path);
    CAF_CHECK_EQUAL(r.is_ignored(path, is_dir), ignored);
  }
}

CAF_TEST(globs follow gitignore) {
  struct row {
    const char* pattern;
    const char* path;
    bool match;
  };
  for (auto [pattern, path, match] : std::vector<row>{
         {"*.md", "a.md", true},
         {"*.md", "a/b.md", false},
         {"a/*.md", "a/b.md", true},
         {"a/*.md", "a/x/b.md", false},
         {"a?c", "abc", true},
         {"a?c", "a/c", false},
         {"[ab]x", "bx", true},
         {"[!ab]x", "bx", false},
         {"[a-c]x", "cx", true},
         {"**/gen", "gen", true},
         {"**/gen", "x/y/gen", true},
         {"a/**", "a/b/c", true},
         {"a/**", "a", false},
         {"a/**/b", "a/b", true},
         {"a/**/b", "a/x/y/b", true},
         {"a/**/b", "a/x/y/c", false},
         {"a**b", "axxb", true},
         {"a**b", "ax/b", false},
         {"\\*x", "*x", true},
         {"\\*x", "ax", false},
       }) {
    CAF_MESSAGE(pattern << " ~ " << path);
    CAF_CHECK_EQUAL(ignore_glob_match(pattern, path), match);
  }
}

CAF_TEST(rules anchor negate and match directories) {
  ignore_rules r{{"# a comment", "", "/docs/*.md", "logs/", "*.log",
                  "!keep.log", "gen/**/*.cpp", "\\#literal", "tmp"},
                 false};
  CAF_CHECK_EQUAL(r.size(), 7u);
  CAF_CHECK(r.is_ignored("docs/a.md", false));
  CAF_CHECK(!r.is_ignored("x/docs/a.md", false));
  CAF_CHECK(!r.is_ignored("docs/sub/a.md", false));
  CAF_CHECK(r.is_ignored("logs", true));
  CAF_CHECK(r.is_ignored("a/logs/today.txt", false));
  CAF_CHECK(!r.is_ignored("logs", false));
  CAF_CHECK(r.is_ignored("a/b.log", false));
  CAF_CHECK(!r.is_ignored("a/keep.log", false));
  // Below an ignored directory nothing comes back.
  CAF_CHECK(r.is_ignored("logs/keep.log", false));
  CAF_CHECK(r.is_ignored("gen/x.cpp", false));
  CAF_CHECK(r.is_ignored("gen/a/b/x.cpp", false));
  CAF_CHECK(!r.is_ignored("src/gen/x.cpp", false));
  CAF_CHECK(r.is_ignored("#literal", false));
  CAF_CHECK(r.is_ignored("a/tmp", false));
  CAF_CHECK(r.is_ignored("a/tmp/x", false));
  CAF_CHECK(r.is_ignored("./a/tmp/", true));
  CAF_CHECK(!r.is_ignored("", true));
  // A later rule wins.
  ignore_rules again{{"*.txt", "!a.txt", "a.txt"}, false};
  CAF_CHECK(again.is_ignored("a.txt", false));
  ignore_rules text{strings{}, false};
  text.add_lines("*.tmp\r\n\n!x.tmp\n");
  CAF_CHECK(text.is_ignored("y.tmp", false));
  CAF_CHECK(!text.is_ignored("x.tmp", false));
}

// -- worktrees ----------------------------------------------------------------

#undef CAF_SUITE
#define CAF_SUITE actors.worktree

namespace {

/// Runs git with an identity and requires success; returns stdout.
std::string git(const fs::path& dir, strings args) {
  strings all{"-c", "user.name=cw test", "-c", "user.email=cw@example.com",
              "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"};
  all.insert(all.end(), args.begin(), args.end());
  auto out = run_git(dir, all);
  CAF_REQUIRE(out);
  if (out->exit_code != 0)
    CAF_FAIL("git failed: " << out->err);
  return out->out;
}

/// A git repository with one commit on `main`.
struct repo_fixture {
  test::temp_dir dir;
  fs::path repo = fs::canonical(dir.path()) / "repo";
  fs::path trees = fs::canonical(dir.path()) / "trees";

  repo_fixture() {
    fs::create_directories(repo);
    git(repo, {"init", "-q"});
    write_file(repo / "README.md", "hello\n");
    write_file(repo / "src/main.cpp", "int main() {}\n");
    write_file(repo / "src/old.cpp", "old\n");
    write_file(repo / ".gitignore", "*.log\n");
    git(repo, {"add", "."});
    git(repo, {"commit", "-q", "-m", "first"});
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(worktree_tests, repo_fixture)

CAF_TEST(a non-git directory is refused and nothing changes) {
  auto plain = fs::canonical(dir.path()) / "plain";
  fs::create_directories(plain);
  auto top = git_toplevel(plain);
  CAF_REQUIRE(!top);
  CAF_CHECK(names(top.error(), plain.string()));
  CAF_CHECK(names(top.error(), "not a git repository"));
  auto res = add_worktree(plain, trees / "1", 1, "main");
  CAF_REQUIRE(!res);
  CAF_CHECK(names(res.error(), plain.string()));
  CAF_CHECK(!fs::exists(trees / "1"));
  CAF_CHECK(!git_toplevel(plain / "missing"));
  CAF_CHECK_EQUAL(value(git_toplevel(repo / "src")), repo);
}

CAF_TEST(a task worktree is created listed diffed and removed) {
  auto wt = add_worktree(repo, trees / "7", 7, "main");
  CAF_REQUIRE(wt);
  CAF_CHECK_EQUAL(wt->branch, "cw/7");
  CAF_CHECK_EQUAL(wt->task, 7u);
  CAF_CHECK_EQUAL(wt->path, trees / "7");
  CAF_CHECK_EQUAL(wt->base_commit.size(), 40u);
  CAF_CHECK(fs::exists(trees / "7/src/main.cpp"));
  CAF_CHECK_EQUAL(git(trees / "7", {"branch", "--show-current"}), "cw/7\n");
  CAF_CHECK_EQUAL(value(changed_files(wt->path, wt->base_commit)), strings{});
  // Committed, staged, modified, deleted and untracked changes all count;
  // ignored files do not.
  write_file(trees / "7/src/new.cpp", "new\n");
  git(trees / "7", {"add", "src/new.cpp"});
  git(trees / "7", {"commit", "-q", "-m", "new"});
  write_file(trees / "7/README.md", "changed\n");
  write_file(trees / "7/staged.txt", "s\n");
  git(trees / "7", {"add", "staged.txt"});
  fs::remove(trees / "7/src/old.cpp");
  write_file(trees / "7/notes/todo with space.txt", "t\n");
  write_file(trees / "7/debug.log", "ignored\n");
  CAF_CHECK_EQUAL(value(changed_files(wt->path, wt->base_commit)),
                  (strings{"README.md", "notes/todo with space.txt",
                           "src/new.cpp", "src/old.cpp", "staged.txt"}));
  // The main checkout did not change.
  CAF_CHECK(fs::exists(repo / "src/old.cpp"));
  auto listed = list_worktrees(repo);
  CAF_REQUIRE(listed);
  CAF_REQUIRE_EQUAL(listed->size(), 1u);
  CAF_CHECK_EQUAL(listed->at(0).task, 7u);
  CAF_CHECK_EQUAL(listed->at(0).branch, "cw/7");
  CAF_CHECK_EQUAL(listed->at(0).path, trees / "7");
  CAF_CHECK_EQUAL(listed->at(0).head.size(), 40u);
  // Kept after the task: removal is explicit.
  CAF_REQUIRE(remove_worktree(repo, trees / "7"));
  CAF_CHECK(!fs::exists(trees / "7"));
  CAF_CHECK(list_worktrees(repo)->empty());
  CAF_CHECK_EQUAL(git(repo, {"branch", "--list", "cw/7"}), "  cw/7\n");
  auto again = remove_worktree(repo, trees / "7");
  CAF_REQUIRE(!again);
  CAF_CHECK(names(again.error(), (trees / "7").string()));
}

CAF_TEST(bad requests change nothing) {
  auto first = add_worktree(repo, trees / "1", 1, "main");
  CAF_REQUIRE(first);
  // The branch exists already.
  auto dup = add_worktree(repo, trees / "1b", 1, "main");
  CAF_REQUIRE(!dup);
  CAF_CHECK(names(dup.error(), "cw/1"));
  CAF_CHECK(!fs::exists(trees / "1b"));
  // The path exists already.
  auto taken = add_worktree(repo, trees / "1", 2, "main");
  CAF_REQUIRE(!taken);
  CAF_CHECK(names(taken.error(), (trees / "1").string()));
  // The base names no commit.
  auto nobase = add_worktree(repo, trees / "3", 3, "no-such-branch");
  CAF_REQUIRE(!nobase);
  CAF_CHECK(names(nobase.error(), "no-such-branch"));
  CAF_CHECK(!fs::exists(trees / "3"));
  CAF_CHECK_EQUAL(git(repo, {"branch", "--list", "cw/*"}), "+ cw/1\n");
  CAF_CHECK_EQUAL(list_worktrees(repo)->size(), 1u);
}

CAF_TEST(a deleted worktree directory is pruned and a branch deleted) {
  auto a = add_worktree(repo, trees / "4", 4, "main");
  auto b = add_worktree(repo, trees / "5", 5, "main");
  CAF_REQUIRE(a && b);
  fs::remove_all(trees / "4");
  CAF_REQUIRE(prune_worktrees(repo));
  auto listed = list_worktrees(repo);
  CAF_REQUIRE_EQUAL(listed->size(), 1u);
  CAF_CHECK_EQUAL(listed->at(0).task, 5u);
  CAF_REQUIRE(remove_worktree(repo, trees / "5"));
  CAF_CHECK_EQUAL(git(repo, {"branch", "--list", "cw/5"}), "  cw/5\n");
  // Merged into HEAD (no commits of its own): `-d` deletes it.
  CAF_REQUIRE(delete_branch(repo, "cw/5", false));
  CAF_CHECK_EQUAL(git(repo, {"branch", "--list", "cw/5"}), "");
  auto gone = delete_branch(repo, "cw/5", false);
  CAF_REQUIRE(!gone);
  CAF_CHECK(names(gone.error(), "cw/5"));
  CAF_CHECK(!prune_worktrees(dir.path() / "nothing"));
}

CAF_TEST(git that runs too long is killed) {
  // A bound of zero ends any git at once: the kill path, without a slow git.
  auto out = run_git(repo, {"status"}, 0ms);
  CAF_REQUIRE(!out);
  CAF_CHECK(names(out.error(), repo.string()));
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- watcher ------------------------------------------------------------------

#undef CAF_SUITE
#define CAF_SUITE actors.watcher

namespace {

struct watcher_fixture {
  test::temp_dir dir;
  fs::path root = fs::canonical(dir.path());
  std::unique_ptr<watcher> w;

  watcher_fixture() {
    write_file(root / "src/main.cpp");
    fs::create_directories(root / "node_modules/pkg");
    watcher_config cfg;
    cfg.root = root;
    cfg.ignore = ignore_rules{{"*.tmp"}};
    cfg.settle_ms = 50;
    auto res = watcher::open(std::move(cfg));
    CAF_REQUIRE(res);
    w = std::move(*res);
  }

  static std::set<std::string> paths(const std::vector<file_change>& xs) {
    std::set<std::string> result;
    for (auto& x : xs)
      result.insert(x.path);
    return result;
  }
};

using path_set = std::set<std::string>;

} // namespace

CAF_TEST_FIXTURE_SCOPE(watcher_tests, watcher_fixture)

CAF_TEST(a write is reported once it settles) {
  CAF_CHECK_EQUAL(w->watched_dirs(), 2u); // root and src, not node_modules
  write_file(root / "src/main.cpp", "changed\n");
  // Events are queued by the time write() returns: no waiting needed.
  CAF_CHECK_GREATER(w->read(1000), 0u);
  CAF_CHECK_EQUAL(w->pending(), 1u);
  CAF_CHECK(w->settled(1049).empty());
  CAF_CHECK_EQUAL(w->next_settle(), 1050);
  CAF_CHECK_EQUAL(w->settled(1050),
                  (std::vector<file_change>{
                    {"src/main.cpp", change_kind::modified}}));
  CAF_CHECK_EQUAL(w->pending(), 0u);
  CAF_CHECK_EQUAL(w->next_settle(), std::nullopt);
}

CAF_TEST(many writes to one file coalesce into one report) {
  for (int i = 0; i < 100; ++i) {
    std::ofstream out{root / "src/main.cpp", std::ios::app};
    out << i << "\n";
    out.close();
    w->read(1000 + i);
  }
  CAF_CHECK(w->settled(1120).empty()); // still written at 1099
  CAF_CHECK_EQUAL(w->settled(1149),
                  (std::vector<file_change>{
                    {"src/main.cpp", change_kind::modified}}));
}

CAF_TEST(files in a new directory are reported even before its watch) {
  // The whole tree exists before the watcher reads the first event, so the
  // files can only be found by scanning the new directory.
  write_file(root / "a/b/c/deep.txt");
  write_file(root / "a/top.txt");
  w->read(0);
  CAF_CHECK_EQUAL(paths(w->flush()), (path_set{"a/b/c/deep.txt", "a/top.txt"}));
  CAF_CHECK_EQUAL(w->watched_dirs(), 5u);
  // The new directories are watched from now on.
  write_file(root / "a/b/c/later.txt");
  w->read(10);
  CAF_CHECK_EQUAL(paths(w->flush()), (path_set{"a/b/c/later.txt"}));
}

CAF_TEST(ignored paths are not reported) {
  write_file(root / "node_modules/pkg/index.js");
  write_file(root / "build/out/app");
  write_file(root / "src/main.o");
  write_file(root / "src/scratch.tmp");
  write_file(root / ".git/HEAD");
  write_file(root / "src/kept.cpp");
  w->read(0);
  CAF_CHECK_EQUAL(paths(w->flush()), (path_set{"src/kept.cpp"}));
  CAF_CHECK_EQUAL(w->watched_dirs(), 2u);
}

CAF_TEST(removals are reported and short-lived files are not) {
  fs::remove(root / "src/main.cpp");
  write_file(root / "src/short-lived.txt");
  fs::remove(root / "src/short-lived.txt");
  write_file(root / "src/renamed.txt");
  fs::rename(root / "src/renamed.txt", root / "src/final.txt");
  w->read(0);
  auto got = w->flush();
  std::sort(got.begin(), got.end(), [](auto& a, auto& b) {
    return a.path < b.path;
  });
  CAF_CHECK_EQUAL(got, (std::vector<file_change>{
                         {"src/final.txt", change_kind::modified},
                         {"src/main.cpp", change_kind::removed},
                       }));
}

CAF_TEST(a directory moved in is watched and scanned) {
  test::temp_dir other;
  write_file(other.path() / "pkg/lib/a.py");
  fs::rename(other.path() / "pkg", root / "pkg");
  w->read(0);
  CAF_CHECK_EQUAL(paths(w->flush()), (path_set{"pkg/lib/a.py"}));
  write_file(root / "pkg/lib/b.py");
  w->read(1);
  CAF_CHECK_EQUAL(paths(w->flush()), (path_set{"pkg/lib/b.py"}));
  // Moved out again: no more watches below it.
  fs::rename(root / "pkg", other.path() / "pkg2");
  w->read(2);
  CAF_CHECK_EQUAL(paths(w->flush()), (path_set{"pkg"}));
  CAF_CHECK_EQUAL(w->watched_dirs(), 2u);
}

CAF_TEST(the ledger attributes changes to open tasks and finds conflicts) {
  change_ledger l{"ws"};
  std::vector<file_change> a{{"a.txt", change_kind::modified}};
  std::vector<file_change> b{{"b.txt", change_kind::modified}};
  CAF_CHECK(l.record(a).empty()); // no task open: nobody's change
  CAF_REQUIRE(l.begin(1));
  CAF_CHECK_EQUAL(error_code(l.begin(1).error()), errc::illegal_transition);
  CAF_CHECK(l.record(a).empty());
  CAF_REQUIRE(l.begin(2));
  CAF_CHECK_EQUAL(l.open_tasks(), (std::vector<task_id>{1, 2}));
  // Task 2 changes a file task 1 changed: one conflict, reported once.
  auto conflicts = l.record(a);
  CAF_CHECK_EQUAL(conflicts,
                  (std::vector<workspace_conflict>{{"ws", "a.txt", 1, 2}}));
  CAF_CHECK(l.record(a).empty());
  auto one = l.end(1);
  CAF_REQUIRE(one);
  CAF_CHECK_EQUAL(one->files, a);
  CAF_CHECK_EQUAL(one->conflicts.size(), 1u);
  CAF_CHECK(l.record(b).empty());
  auto two = l.end(2);
  CAF_REQUIRE(two);
  CAF_CHECK_EQUAL(two->files, (std::vector<file_change>{a[0], b[0]}));
  CAF_CHECK_EQUAL(error_code(l.end(2).error()), errc::illegal_transition);
}

CAF_TEST_FIXTURE_SCOPE_END()

namespace {

/// A real actor system: the watcher reads inotify on a thread of its own.
struct watcher_actor_fixture {
  test::temp_dir dir;
  fs::path root = fs::canonical(dir.path());
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  watcher_actor w;

  watcher_actor_fixture() {
    watcher_config wc;
    wc.root = root;
    // Long enough that nothing settles by itself: end() must flush.
    wc.settle_ms = 60'000;
    auto res = spawn_watcher(sys, "ws", std::move(wc));
    CAF_REQUIRE(res);
    w = std::move(*res);
  }

  ~watcher_actor_fixture() {
    self->send_exit(w, caf::exit_reason::user_shutdown);
  }

  std::vector<task_id> begin(task_id task) {
    std::vector<task_id> result;
    self->request(w, 10s, ws_begin_atom::value, task)
      .receive([&](std::vector<task_id>& xs) { result = std::move(xs); },
               [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
    return result;
  }

  task_changes end(task_id task) {
    task_changes result;
    self->request(w, 10s, ws_end_atom::value, task)
      .receive([&](task_changes& x) { result = std::move(x); },
               [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
    return result;
  }

  caf::error end_error(task_id task) {
    caf::error result;
    self->request(w, 10s, ws_end_atom::value, task)
      .receive([&](task_changes&) { CAF_FAIL("end succeeded"); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  static path_set paths(const task_changes& x) {
    path_set result;
    for (auto& f : x.files)
      result.insert(f.path);
    return result;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(watcher_actor_tests, watcher_actor_fixture)

CAF_TEST(a task window collects the files written while it ran) {
  write_file(root / "before.txt");
  CAF_CHECK_EQUAL(begin(1), std::vector<task_id>{});
  write_file(root / "src/a.cpp");
  write_file(root / "src/deep/new/b.cpp");
  write_file(root / "build/ignored.o");
  for (int i = 0; i < 50; ++i)
    write_file(root / "src/a.cpp", std::to_string(i));
  auto changes = end(1);
  CAF_CHECK_EQUAL(changes.task, 1u);
  CAF_CHECK_EQUAL(paths(changes),
                  (path_set{"src/a.cpp", "src/deep/new/b.cpp"}));
  CAF_CHECK(changes.conflicts.empty());
  write_file(root / "after.txt");
  CAF_CHECK_EQUAL(error_code(end_error(1)), errc::illegal_transition);
}

CAF_TEST(subscribers see changes and conflicts name both tasks) {
  self->send(w, ws_subscribe_atom::value,
             caf::actor_cast<watch_subscriber_actor>(self));
  CAF_CHECK_EQUAL(begin(1), std::vector<task_id>{});
  write_file(root / "shared.txt", "one");
  write_file(root / "only-1.txt");
  CAF_CHECK_EQUAL(begin(2), std::vector<task_id>{1});
  write_file(root / "shared.txt", "two");
  auto first = end(1);
  auto second = end(2);
  CAF_CHECK_EQUAL(paths(first), (path_set{"only-1.txt", "shared.txt"}));
  CAF_CHECK_EQUAL(paths(second), (path_set{"shared.txt"}));
  workspace_conflict expected{"ws", "shared.txt", 1, 2};
  CAF_CHECK_EQUAL(first.conflicts, std::vector<workspace_conflict>{expected});
  CAF_CHECK_EQUAL(second.conflicts, std::vector<workspace_conflict>{expected});
  // Subscribers got every change and the conflict; the flushes came before
  // the replies, so everything is in the mailbox by now.
  path_set seen;
  std::vector<workspace_conflict> conflicts;
  bool more = true;
  while (more)
    self->receive(
      [&](ws_changed_atom, const std::string& ws,
          const std::vector<file_change>& xs) {
        CAF_CHECK_EQUAL(ws, "ws");
        for (auto& x : xs)
          seen.insert(x.path);
      },
      [&](ws_conflict_atom, const workspace_conflict& c) {
        conflicts.push_back(c);
      },
      caf::after(0s) >> [&] { more = false; });
  CAF_CHECK_EQUAL(seen, (path_set{"only-1.txt", "shared.txt"}));
  CAF_CHECK_EQUAL(conflicts, std::vector<workspace_conflict>{expected});
}

CAF_TEST(settled files reach subscribers without a flush) {
  self->send_exit(w, caf::exit_reason::user_shutdown);
  watcher_config wc;
  wc.root = root;
  wc.settle_ms = 20;
  auto res = spawn_watcher(sys, "fast", std::move(wc));
  CAF_REQUIRE(res);
  w = *res;
  self->send(w, ws_subscribe_atom::value,
             caf::actor_cast<watch_subscriber_actor>(self));
  // The subscription is in place once a request behind it returns.
  self->request(w, 10s, ws_flush_atom::value)
    .receive([](uint64_t) {},
             [&](caf::error& err) { CAF_FAIL(sys.render(err)); });
  write_file(root / "x.txt");
  bool got = false;
  self->receive(
    [&](ws_changed_atom, const std::string&,
        const std::vector<file_change>& xs) {
      CAF_CHECK_EQUAL(xs, (std::vector<file_change>{
                            {"x.txt", change_kind::modified}}));
      got = true;
    },
    caf::after(10s) >> [] { CAF_FAIL("no change reported within 10 s"); });
  CAF_CHECK(got);
}

CAF_TEST(bad requests get errors) {
  CAF_CHECK_EQUAL(error_code(end_error(9)), errc::illegal_transition);
  begin(3);
  self->request(w, 10s, ws_begin_atom::value, task_id{3})
    .receive([&](std::vector<task_id>&) { CAF_FAIL("begin twice succeeded"); },
             [&](caf::error& err) {
               CAF_CHECK_EQUAL(error_code(err), errc::illegal_transition);
             });
  watcher_config wc;
  wc.root = root / "missing";
  auto res = spawn_watcher(sys, "bad", std::move(wc));
  CAF_REQUIRE(!res);
  CAF_CHECK(names(res.error(), (root / "missing").string()));
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- registry -----------------------------------------------------------------

#undef CAF_SUITE
#define CAF_SUITE actors.workspace_registry

#include "actors/resources/lock_manager.hpp"
#include "actors/workspace/manager.hpp"
#include "actors/workspace/registry.hpp"
#include "persistence/event_codec.hpp"
#include "persistence/journal.hpp"
#include "tests/support/fake_journal.hpp"

namespace {

workspace_info registered(std::string name, std::string root,
                          workspace_isolation iso
                          = workspace_isolation::shared) {
  workspace_info info;
  info.name = std::move(name);
  info.root = std::move(root);
  info.isolation = iso;
  info.added_ms = 1;
  return info;
}

worktree_entry tree(task_id task, std::string path) {
  return {task, "cw/" + std::to_string(task), std::move(path), "abc", 2};
}

} // namespace

CAF_TEST(the registry folds additions worktrees removals and conflicts) {
  workspace_registry reg;
  reg.apply(workspace_added{registered("app", "/src/app",
                                       workspace_isolation::worktree)});
  reg.apply(workspace_added{registered("src", "/src")});
  reg.apply(worktree_created{"app", tree(4, "/data/worktrees/app/4")});
  reg.apply(worktree_created{"app", tree(5, "/data/worktrees/app/5")});
  reg.apply(workspace_conflicted{"src", "a.txt", 1, 2, conflict_policy::warn});
  reg.apply(worktree_removed{"app", 4, "/data/worktrees/app/4", false});
  CAF_REQUIRE(reg.find("app") != nullptr);
  CAF_CHECK_EQUAL(reg.find("app")->worktrees.size(), 1u);
  CAF_CHECK_EQUAL(reg.find("app")->worktrees[0].task, 5u);
  CAF_CHECK_EQUAL(reg.find("src")->conflicts, 1u);
  CAF_CHECK_EQUAL(reg.worktree_of(5).second->path, "/data/worktrees/app/5");
  CAF_CHECK(reg.worktree_of(4).second == nullptr);
  // The deepest root wins; whole components only.
  CAF_CHECK_EQUAL(reg.containing("/src/app/lib")->name, "app");
  CAF_CHECK_EQUAL(reg.containing("/src/apple")->name, "src");
  CAF_CHECK_EQUAL(reg.containing("/src")->name, "src");
  CAF_CHECK(reg.containing("/other") == nullptr);
  CAF_CHECK_EQUAL(reg.free_name("app"), "app-2");
  CAF_CHECK_EQUAL(reg.free_name("new"), "new");
  // Registering a name again changes its settings, keeps its worktrees.
  auto again = registered("app", "/src/app", workspace_isolation::worktree);
  again.policy = conflict_policy::lock;
  reg.apply(workspace_added{again});
  CAF_CHECK_EQUAL(reg.find("app")->policy, conflict_policy::lock);
  CAF_CHECK_EQUAL(reg.find("app")->worktrees.size(), 1u);
}

CAF_TEST(a registry snapshot loads back equal) {
  workspace_registry reg;
  auto app = registered("app", "/src/app", workspace_isolation::worktree);
  app.base = "main";
  app.ignore = {"*.tmp", "out/"};
  app.policy = conflict_policy::lock;
  reg.apply(workspace_added{app});
  reg.apply(worktree_created{"app", tree(9, "/w/app/9")});
  reg.apply(workspace_conflicted{"app", "x", 1, 2, conflict_policy::lock});
  auto loaded = value(workspace_registry::load(reg.save()));
  CAF_CHECK_EQUAL(loaded.save(), reg.save());
  auto* ws = loaded.find("app");
  CAF_REQUIRE(ws != nullptr);
  CAF_CHECK_EQUAL(ws->base, "main");
  CAF_CHECK_EQUAL(ws->ignore, (strings{"*.tmp", "out/"}));
  CAF_CHECK_EQUAL(ws->conflicts, 1u);
  CAF_CHECK_EQUAL(ws->worktrees.at(0).path, "/w/app/9");
  CAF_CHECK(!workspace_registry::load("{\"format\":2}"));
  CAF_CHECK(!workspace_registry::load("not json"));
}

CAF_TEST(workspace events round trip through the codec) {
  std::vector<workspace_event> evs{
    workspace_added{registered("app", "/src/app")},
    worktree_created{"app", tree(3, "/w/app/3")},
    worktree_removed{"app", 3, "/w/app/3", true},
    workspace_conflicted{"app", "f.txt", 3, 4, conflict_policy::lock}};
  for (auto& ev : evs) {
    auto row = persistence::encode(ev, 5, "node-a");
    CAF_CHECK(persistence::is_workspace_type(row.type));
    CAF_CHECK(!persistence::is_task_fold_type(row.type));
    CAF_CHECK_EQUAL(row.entity, "workspace/app");
    auto back = value(persistence::decode_workspace_event(row));
    CAF_CHECK_EQUAL(persistence::encode(back, 5, "node-a").payload,
                    row.payload);
  }
  event bad;
  bad.type = "workspace.added";
  bad.payload = "{\"name\":1}";
  CAF_CHECK(!persistence::decode_workspace_event(bad));
}

CAF_TEST(recovery starts from the snapshot and reads only workspace events) {
  test::temp_dir dir;
  auto j = value(persistence::journal::open((dir.path() / "j.db").string()));
  auto append = [&](const workspace_event& ev) {
    std::vector<event> rows{persistence::encode(ev, 1, "n")};
    return value(j->append(rows));
  };
  auto noise = [&] {
    std::vector<event> rows{persistence::encode(
      task_event{task_requeued{1, "noise"}}, 1, "n")};
    value(j->append(rows));
  };
  workspace_registry reg;
  workspace_event added = workspace_added{registered("a", "/a")};
  reg.apply(added);
  auto seq = append(added);
  noise();
  snapshot snap{seq, 1, workspace_snapshot_kind, reg.save(), 0};
  CAF_REQUIRE(!j->save_snapshot(snap));
  noise();
  append(workspace_added{registered("b", "/b")});
  noise();
  append(workspace_conflicted{"a", "x", 1, 2, conflict_policy::warn});
  auto rec = value(recover_workspaces(*j));
  CAF_CHECK_EQUAL(rec.snapshot_seq, seq);
  CAF_CHECK_EQUAL(rec.replayed, 2u);
  CAF_CHECK(rec.registry.find("a") != nullptr);
  CAF_CHECK(rec.registry.find("b") != nullptr);
  CAF_CHECK_EQUAL(rec.registry.find("a")->conflicts, 1u);
}

// -- manager ------------------------------------------------------------------

#undef CAF_SUITE
#define CAF_SUITE actors.workspace_manager

namespace {

/// A real workspace manager over a fake journal and a real lock manager,
/// with a git repository (`repo`) and a plain directory (`plain`).
struct manager_fixture : repo_fixture {
  fs::path plain = fs::canonical(dir.path()) / "plain";
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::shared_ptr<test::journal_data> jd
    = std::make_shared<test::journal_data>();
  journal_actor journal = sys.spawn(test::fake_journal, jd);
  lock_actor locks;
  workspace_manager_actor m;

  manager_fixture() {
    fs::create_directories(plain);
    lock_manager_config lcfg;
    lcfg.node_name = "n";
    lcfg.journal = journal;
    locks = spawn_lock_manager(sys, std::move(lcfg));
    workspace_manager_config mcfg;
    mcfg.node_name = "n";
    mcfg.journal = journal;
    mcfg.locks = locks;
    mcfg.worktree_dir = trees.string();
    mcfg.node_dirs = {(plain / "node-data").string()};
    // Long enough that nothing settles by itself: conclude must flush.
    mcfg.settle_ms = 60'000;
    m = spawn_workspace_manager(sys, std::move(mcfg));
  }

  ~manager_fixture() {
    self->send_exit(m, caf::exit_reason::user_shutdown);
    self->send_exit(locks, caf::exit_reason::user_shutdown);
  }

  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    caf::expected<T> result{T{}};
    self->request(m, 30s, std::forward<Ts>(xs)...)
      .receive([&](T& x) { result = std::move(x); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  caf::expected<workspace_info> add(workspace_info info) {
    return ask<workspace_info>(workspace_atom_v, std::move(info));
  }

  workspace_lease prepare(task_id task, const fs::path& dir) {
    task_spec spec;
    spec.workspace = dir.string();
    return value(ask<workspace_lease>(prepare_atom_v, task, spec));
  }

  workspace_report conclude(task_id task) {
    return value(ask<workspace_report>(conclude_atom_v, task));
  }

  /// Checks that every snapshot the manager saved equals the fold of the
  /// workspace events up to its seq: no more, no less.
  void check_snapshots() {
    event_types(); // everything appended is in
    std::vector<snapshot> snapshots;
    std::vector<event> events;
    {
      std::lock_guard guard{jd->mtx};
      snapshots = jd->snapshots;
      events = jd->events;
    }
    CAF_REQUIRE(!snapshots.empty());
    for (auto& snap : snapshots) {
      workspace_registry fold;
      for (auto& ev : events)
        if (ev.seq <= snap.seq && persistence::is_workspace_type(ev.type))
          fold.apply(value(persistence::decode_workspace_event(ev)));
      CAF_CHECK_EQUAL(snap.state, fold.save());
    }
  }

  std::vector<std::string> event_types() {
    // A request to the journal after the manager's: its appends are in.
    self->request(journal, 10s, flush_atom_v).receive([] {}, [](caf::error&) {});
    std::vector<std::string> result;
    std::lock_guard guard{jd->mtx};
    for (auto& ev : jd->events)
      if (persistence::is_workspace_type(ev.type))
        result.push_back(ev.type);
    return result;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(manager_tests, manager_fixture)

CAF_TEST(a worktree task runs on its own branch and reports its changes) {
  auto info = registered("", repo.string(), workspace_isolation::worktree);
  auto ws = value(add(info));
  CAF_CHECK_EQUAL(ws.name, "repo");
  auto lease = prepare(7, repo / "src");
  CAF_CHECK_EQUAL(lease.workspace, "repo");
  CAF_CHECK_EQUAL(lease.branch, "cw/7");
  CAF_CHECK_EQUAL(lease.cwd, (trees / "repo/7/src").string());
  write_file(lease.cwd + "/new.cpp");
  write_file(lease.cwd + "/main.cpp", "changed\n");
  auto report = conclude(7);
  CAF_CHECK_EQUAL(report.branch, "cw/7");
  CAF_CHECK_EQUAL(report.worktree, (trees / "repo/7").string());
  CAF_CHECK_EQUAL(report.changed_files, (strings{"src/main.cpp", "src/new.cpp"}));
  // The repository itself is untouched.
  CAF_CHECK(!fs::exists(repo / "src/new.cpp"));
  CAF_CHECK_EQUAL(git(repo, {"status", "--porcelain"}), "");
  // A retry continues in the same worktree.
  auto again = prepare(7, repo / "src");
  CAF_CHECK_EQUAL(again.cwd, lease.cwd);
  conclude(7);
  auto list = value(ask<std::vector<workspace_info>>(workspace_atom_v));
  CAF_REQUIRE_EQUAL(list.size(), 1u);
  CAF_CHECK_EQUAL(list[0].worktrees.size(), 1u);
  CAF_CHECK_EQUAL(event_types(),
                  (strings{"workspace.added", "workspace.worktree_created"}));
  CAF_CHECK(!jd->snapshots.empty());
}

CAF_TEST(prune removes worktrees of ended tasks only) {
  value(add(registered("app", repo.string(), workspace_isolation::worktree)));
  auto done = prepare(1, repo);
  conclude(1);
  auto also_done = prepare(3, repo);
  conclude(3);
  auto running = prepare(2, repo);
  {
    // The manager may still send the journal a snapshot of what came before.
    std::lock_guard guard{jd->mtx};
    jd->snapshots.clear();
  }
  auto pruned = value(ask<std::vector<prune_outcome>>(prune_atom_v,
                                                      prune_spec{}));
  CAF_REQUIRE_EQUAL(pruned.size(), 2u);
  CAF_CHECK_EQUAL(pruned[0].worktree.task, 1u);
  CAF_CHECK_EQUAL(pruned[0].workspace, "app");
  CAF_CHECK(pruned[0].removed && pruned[1].removed);
  CAF_CHECK(!pruned[0].branch_deleted);
  CAF_CHECK_EQUAL(pruned[0].kept, "");
  CAF_CHECK(!fs::exists(also_done.cwd));
  // Two removals in one go: the snapshot waits for both.
  check_snapshots();
  CAF_CHECK(!fs::exists(done.cwd));
  CAF_CHECK(fs::exists(running.cwd));
  // The branch stays unless asked.
  CAF_CHECK(git(repo, {"branch", "--list", "cw/1"}).find("cw/1")
            != std::string::npos);
  conclude(2);
  prune_spec all{"app", true};
  pruned = value(ask<std::vector<prune_outcome>>(prune_atom_v, all));
  CAF_REQUIRE_EQUAL(pruned.size(), 1u);
  CAF_CHECK(pruned[0].removed && pruned[0].branch_deleted);
  CAF_CHECK_EQUAL(git(repo, {"branch", "--list", "cw/2"}), "");
  auto bad = ask<std::vector<prune_outcome>>(prune_atom_v,
                                             prune_spec{"nope", false});
  CAF_REQUIRE(!bad);
  CAF_CHECK(names(bad.error(), "workspace"));
}

CAF_TEST(prune keeps uncommitted work and unmerged branches unless forced) {
  value(add(registered("app", repo.string(), workspace_isolation::worktree)));
  // Task 1 left a file it did not commit; task 2 committed its work.
  auto dirty = prepare(1, repo);
  write_file(fs::path{dirty.cwd} / "notes.txt", "draft\n");
  conclude(1);
  auto committed = prepare(2, repo);
  write_file(fs::path{committed.cwd} / "done.txt", "done\n");
  git(committed.cwd, {"add", "done.txt"});
  git(committed.cwd, {"commit", "-q", "-m", "work"});
  conclude(2);
  auto pruned = value(ask<std::vector<prune_outcome>>(
    prune_atom_v, prune_spec{"app", true, false}));
  CAF_REQUIRE_EQUAL(pruned.size(), 2u);
  // The uncommitted file keeps the worktree, named in the reason.
  CAF_CHECK(!pruned[0].removed);
  CAF_CHECK_EQUAL(pruned[0].kept,
                  "1 file not committed (notes.txt); --force removes them");
  CAF_CHECK(fs::exists(fs::path{dirty.cwd} / "notes.txt"));
  // The clean worktree goes; its branch holds a commit HEAD lacks: it stays.
  CAF_CHECK(pruned[1].removed);
  CAF_CHECK(!pruned[1].branch_deleted);
  CAF_CHECK(pruned[1].kept.rfind("branch cw/2 kept: ", 0) == 0);
  CAF_CHECK(pruned[1].kept.find("--force deletes it") != std::string::npos);
  CAF_CHECK(!fs::exists(committed.cwd));
  CAF_CHECK(git(repo, {"branch", "--list", "cw/2"}).find("cw/2")
            != std::string::npos);
  // Only the removal is journaled, and the registry still lists task 1.
  auto listed = value(ask<std::vector<workspace_info>>(workspace_atom_v));
  CAF_REQUIRE_EQUAL(listed.size(), 1u);
  CAF_REQUIRE_EQUAL(listed[0].worktrees.size(), 1u);
  CAF_CHECK_EQUAL(listed[0].worktrees[0].task, 1u);
  // Forced: the uncommitted file goes with its worktree and branch.
  pruned = value(ask<std::vector<prune_outcome>>(
    prune_atom_v, prune_spec{"app", true, true}));
  CAF_REQUIRE_EQUAL(pruned.size(), 1u);
  CAF_CHECK(pruned[0].removed && pruned[0].branch_deleted);
  CAF_CHECK(!fs::exists(dirty.cwd));
  CAF_CHECK_EQUAL(git(repo, {"branch", "--list", "cw/1"}), "");
}

CAF_TEST(what the node writes inside a shared workspace is no task change) {
  // The node's data dir lies in the workspace (cw-node started in it with
  // `--data-dir node-data`): its journal and logs change while tasks run.
  fs::create_directories(plain / "node-data/logs");
  prepare(1, plain);
  write_file(plain / "node-data/journal.db-wal");
  write_file(plain / "node-data/logs/1.log");
  write_file(plain / "mine.txt");
  CAF_CHECK_EQUAL(conclude(1).changed_files, (strings{"mine.txt"}));
}

CAF_TEST(a shared workspace reports the files of each task and their conflicts) {
  // No registration: the first task registers the directory implicitly.
  auto a = prepare(1, plain);
  CAF_CHECK_EQUAL(a.cwd, plain.string());
  CAF_CHECK_EQUAL(a.branch, "");
  write_file(plain / "only-1.txt");
  prepare(2, plain);
  write_file(plain / "same.txt", "two");
  auto first = conclude(1);
  auto second = conclude(2);
  CAF_CHECK_EQUAL(first.workspace, "plain");
  CAF_CHECK_EQUAL(first.changed_files, (strings{"only-1.txt", "same.txt"}));
  CAF_CHECK_EQUAL(second.changed_files, (strings{"same.txt"}));
  CAF_CHECK_EQUAL(first.conflicts, (strings{"same.txt (task 2)"}));
  CAF_CHECK_EQUAL(second.conflicts, (strings{"same.txt (task 1)"}));
  CAF_CHECK(first.violation.empty());
  auto types = event_types();
  CAF_CHECK_EQUAL(types.front(), "workspace.added");
  CAF_CHECK(std::count(types.begin(), types.end(), "workspace.conflict") == 1);
  check_snapshots();
  auto list = value(ask<std::vector<workspace_info>>(workspace_atom_v));
  CAF_REQUIRE_EQUAL(list.size(), 1u);
  CAF_CHECK(list[0].implicit);
  CAF_CHECK(list[0].watched);
}

CAF_TEST(an attempt prepared again after its agent died starts afresh) {
  prepare(4, plain);
  write_file(plain / "first-attempt.txt");
  // No conclude: the agent crashed. The retry prepares the task again.
  prepare(4, plain);
  write_file(plain / "second-attempt.txt");
  CAF_CHECK_EQUAL(conclude(4).changed_files, (strings{"second-attempt.txt"}));
}

CAF_TEST(the lock policy fails a task that changed a file it did not lock) {
  auto info = registered("guarded", plain.string());
  info.policy = conflict_policy::lock;
  value(add(info));
  lock_spec spec{"task:1", "*.txt", true, 0, 0};
  self->request(locks, 10s, lock_atom_v, spec)
    .receive([](lock_grant&) {}, [&](caf::error& err) {
      CAF_FAIL(sys.render(err));
    });
  prepare(1, plain);
  prepare(2, plain);
  write_file(plain / "same.txt", "both");
  auto holder = conclude(1);
  auto other = conclude(2);
  CAF_CHECK_EQUAL(holder.changed_files, (strings{"same.txt"}));
  CAF_CHECK(holder.violation.empty());
  CAF_CHECK(other.violation.find("'same.txt' was changed by task 1")
            != std::string::npos);
  CAF_CHECK(other.violation.find("requires a lock") != std::string::npos);
}

CAF_TEST(bad registrations are refused with the field named) {
  CAF_CHECK(names(add(registered("", "relative/dir")).error(), "path"));
  CAF_CHECK(names(add(registered("", (plain / "missing").string())).error(),
                  "path"));
  CAF_CHECK(names(add(registered("", plain.string(),
                                 workspace_isolation::worktree))
                    .error(),
                  "isolation"));
  auto based = registered("", repo.string(), workspace_isolation::worktree);
  based.base = "no-such-branch";
  CAF_CHECK(names(add(based).error(), "base"));
  CAF_CHECK(names(add(registered("../x", plain.string())).error(), "name"));
  value(add(registered("p", plain.string())));
  CAF_CHECK(names(add(registered("p", repo.string())).error(), "name"));
  CAF_CHECK(names(add(registered("q", plain.string())).error(), "path"));
  // The same registration again is no change: one event.
  value(add(registered("p", plain.string())));
  CAF_CHECK_EQUAL(event_types(), (strings{"workspace.added"}));
  task_spec spec;
  spec.workspace = (plain / "missing").string();
  auto lease = ask<workspace_lease>(prepare_atom_v, task_id{1}, spec);
  CAF_REQUIRE(!lease);
  CAF_CHECK(names(lease.error(), "workspace"));
  // Concluding a task never prepared reports nothing.
  CAF_CHECK(conclude(99).empty());
}

CAF_TEST_FIXTURE_SCOPE_END()
