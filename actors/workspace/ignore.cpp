#include "actors/workspace/ignore.hpp"

namespace cw::actors {

namespace {

// Matches one bracket expression at the start of `p` against `c`. Returns
// the length of the expression, or 0 when it is not well formed (then `[` is
// a literal).
size_t match_class(std::string_view p, char c, bool& matched) {
  size_t i = 1;
  bool negate = false;
  if (i < p.size() && (p[i] == '!' || p[i] == '^')) {
    negate = true;
    ++i;
  }
  bool hit = false;
  bool first = true;
  while (i < p.size() && (p[i] != ']' || first)) {
    first = false;
    char lo = p[i];
    if (lo == '\\' && i + 1 < p.size())
      lo = p[++i];
    char hi = lo;
    if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
      hi = p[i + 2];
      if (hi == '\\' && i + 3 < p.size()) {
        hi = p[i + 3];
        ++i;
      }
      i += 2;
    }
    if (lo <= c && c <= hi)
      hit = true;
    ++i;
  }
  if (i >= p.size())
    return 0;
  matched = (hit != negate) && c != '/';
  return i + 1;
}

// Returns whether `**` starts at `i` as a whole component of `p`.
bool is_double_star(std::string_view p, size_t i) {
  return p.substr(i, 2) == "**" && (i == 0 || p[i - 1] == '/')
         && (i + 2 == p.size() || p[i + 2] == '/');
}

bool match(std::string_view p, std::string_view s) {
  size_t pi = 0;
  size_t si = 0;
  while (pi < p.size()) {
    if (is_double_star(p, pi)) {
      auto rest = p.substr(pi + 2);
      if (rest.empty())
        return true;
      // `**/rest`: rest at the current position or after any later slash.
      rest.remove_prefix(1);
      auto tail = s.substr(si);
      for (size_t k = 0;;) {
        if (match(rest, tail.substr(k)))
          return true;
        auto slash = tail.find('/', k);
        if (slash == std::string_view::npos)
          return false;
        k = slash + 1;
      }
    }
    char c = p[pi];
    if (c == '*') {
      // Consecutive stars that are not a whole component act as one.
      while (pi < p.size() && p[pi] == '*')
        ++pi;
      auto rest = p.substr(pi);
      for (size_t k = si;; ++k) {
        if (match(rest, s.substr(k)))
          return true;
        if (k >= s.size() || s[k] == '/')
          return false;
      }
    }
    if (si >= s.size())
      return false;
    if (c == '?') {
      if (s[si] == '/')
        return false;
      ++pi;
      ++si;
      continue;
    }
    if (c == '[') {
      bool matched = false;
      auto len = match_class(p.substr(pi), s[si], matched);
      if (len > 0) {
        if (!matched)
          return false;
        pi += len;
        ++si;
        continue;
      }
    }
    if (c == '\\' && pi + 1 < p.size())
      c = p[++pi];
    if (c != s[si])
      return false;
    ++pi;
    ++si;
  }
  return si == s.size();
}

std::string_view trim_path(std::string_view path) {
  while (path.substr(0, 2) == "./")
    path.remove_prefix(2);
  while (!path.empty() && path.front() == '/')
    path.remove_prefix(1);
  while (!path.empty() && path.back() == '/')
    path.remove_suffix(1);
  return path;
}

} // namespace

bool ignore_glob_match(std::string_view pattern, std::string_view path) {
  return match(pattern, path);
}

ignore_rules::ignore_rules() : ignore_rules({}, true) {
  // nop
}

ignore_rules::ignore_rules(const std::vector<std::string>& patterns,
                           bool with_defaults) {
  if (with_defaults)
    for (auto& x : default_patterns())
      add(x);
  for (auto& x : patterns)
    add(x);
}

const std::vector<std::string>& ignore_rules::default_patterns() {
  static const std::vector<std::string> result{
    ".git/",  ".hg/",   ".svn/",  "node_modules/", "build/",  "build-*/",
    "target/", "dist/", "__pycache__/", ".cache/", "*.o",     "*.obj",
    "*.a",    "*.so",   "*.pyc",  "*.swp",         "*.swx",   "*~",
    ".#*",    "4913",
  };
  return result;
}

void ignore_rules::add(std::string_view line) {
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  // Trailing blanks are dropped unless escaped.
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')
         && !(line.size() >= 2 && line[line.size() - 2] == '\\'))
    line.remove_suffix(1);
  if (line.empty() || line.front() == '#')
    return;
  rule r;
  if (line.front() == '!') {
    r.negated = true;
    line.remove_prefix(1);
  } else if (line.substr(0, 2) == "\\!" || line.substr(0, 2) == "\\#") {
    line.remove_prefix(1);
  }
  if (!line.empty() && line.back() == '/') {
    r.dir_only = true;
    line.remove_suffix(1);
  }
  if (line.empty())
    return;
  if (line.front() == '/') {
    r.anchored = true;
    line.remove_prefix(1);
  }
  if (line.find('/') != std::string_view::npos)
    r.anchored = true;
  r.glob = std::string{line};
  rules_.push_back(std::move(r));
}

void ignore_rules::add_lines(std::string_view text) {
  while (!text.empty()) {
    auto eol = text.find('\n');
    add(text.substr(0, eol));
    if (eol == std::string_view::npos)
      break;
    text.remove_prefix(eol + 1);
  }
}

bool ignore_rules::is_ignored_entry(std::string_view path, bool is_dir) const {
  path = trim_path(path);
  if (path.empty())
    return false;
  auto slash = path.rfind('/');
  auto name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  bool ignored = false;
  for (auto& r : rules_) {
    if (r.dir_only && !is_dir)
      continue;
    // Only a rule that could change the answer needs matching.
    if (r.negated != ignored)
      continue;
    if (match(r.glob, r.anchored ? path : name))
      ignored = !r.negated;
  }
  return ignored;
}

bool ignore_rules::is_ignored(std::string_view path, bool is_dir) const {
  path = trim_path(path);
  for (size_t i = path.find('/'); i != std::string_view::npos;
       i = path.find('/', i + 1))
    if (is_ignored_entry(path.substr(0, i), true))
      return true;
  return is_ignored_entry(path, is_dir);
}

} // namespace cw::actors
