#include "actors/workspace/confine.hpp"

#include <climits>
#include <cstdlib>
#include <deque>
#include <memory>

#include <sys/stat.h>
#include <unistd.h>

#include "messages/errc.hpp"

namespace fs = std::filesystem;

namespace cw::actors {

namespace {

constexpr int max_symlinks = 40;

caf::error escape_error(const fs::path& path, const fs::path& root,
                        const fs::path& resolved, const char* why) {
  return make_error(errc::invalid_argument,
                    "path '" + path.string() + "' is outside workspace '"
                      + root.string() + "': " + why + " '" + resolved.string()
                      + "'");
}

// Pushes the components of `p` to the front of `todo`, in order.
void push_front_components(std::deque<std::string>& todo, const fs::path& p) {
  std::vector<std::string> parts;
  for (auto& part : p.relative_path())
    parts.push_back(part.string());
  for (auto i = parts.rbegin(); i != parts.rend(); ++i)
    todo.push_front(*i);
}

} // namespace

caf::expected<fs::path> canonical_root(const fs::path& root) {
  if (root.empty())
    return make_error(errc::invalid_argument, "workspace path is empty");
  std::unique_ptr<char, decltype(&free)> buf{::realpath(root.c_str(), nullptr),
                                             &free};
  if (!buf)
    return make_error(errc::invalid_argument,
                      "workspace '" + root.string() + "' does not exist");
  fs::path result{buf.get()};
  struct stat st;
  if (::stat(result.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return make_error(errc::invalid_argument,
                      "workspace '" + root.string() + "' is not a directory");
  return result;
}

bool is_within(const fs::path& root, const fs::path& path) noexcept {
  auto r = root.begin();
  auto p = path.begin();
  for (; r != root.end(); ++r, ++p) {
    // A trailing separator of `root` shows up as an empty last component.
    if (r->empty() && std::next(r) == root.end())
      return true;
    if (p == path.end() || *p != *r)
      return false;
  }
  return true;
}

caf::expected<fs::path> confine(const fs::path& root, const fs::path& path) {
  auto base = canonical_root(root);
  if (!base)
    return std::move(base.error());
  if (path.native().find('\0') != std::string::npos)
    return make_error(errc::invalid_argument,
                      "path in workspace '" + base->string()
                        + "' contains a NUL byte");
  // Resolve component by component, as the kernel does, so that a symlink
  // is followed before any `..` after it applies, and a dangling symlink is
  // judged by its target (weakly_canonical would keep it lexically).
  std::deque<std::string> todo;
  fs::path current;
  if (path.is_absolute()) {
    current = "/";
    push_front_components(todo, path);
  } else {
    current = *base;
    push_front_components(todo, path);
  }
  int links = 0;
  bool missing = false;
  bool via_link = false;
  while (!todo.empty()) {
    auto part = std::move(todo.front());
    todo.pop_front();
    if (part.empty() || part == ".")
      continue;
    if (part == "..") {
      current = current.parent_path();
      continue;
    }
    auto next = current / part;
    if (missing) {
      current = std::move(next);
      continue;
    }
    struct stat st;
    if (::lstat(next.c_str(), &st) != 0) {
      // Nothing there: the rest can only be resolved lexically.
      missing = true;
      current = std::move(next);
      continue;
    }
    if (!S_ISLNK(st.st_mode)) {
      current = std::move(next);
      continue;
    }
    if (++links > max_symlinks)
      return make_error(errc::invalid_argument,
                        "path '" + path.string() + "' in workspace '"
                          + base->string() + "' has too many symlinks");
    std::string target(PATH_MAX, '\0');
    auto n = ::readlink(next.c_str(), target.data(), target.size());
    if (n < 0) {
      missing = true;
      current = std::move(next);
      continue;
    }
    target.resize(static_cast<size_t>(n));
    via_link = true;
    fs::path t{target};
    if (t.is_absolute())
      current = "/";
    push_front_components(todo, t);
  }
  current = current.lexically_normal();
  if (!is_within(*base, current))
    return escape_error(path, *base, current,
                        via_link ? "it resolves through a symlink to"
                                 : "it resolves to");
  return current;
}

caf::expected<std::string> confine_relative(const fs::path& root,
                                            const fs::path& path) {
  auto base = canonical_root(root);
  if (!base)
    return std::move(base.error());
  auto abs = confine(*base, path);
  if (!abs)
    return std::move(abs.error());
  return abs->lexically_relative(*base).generic_string();
}

} // namespace cw::actors
