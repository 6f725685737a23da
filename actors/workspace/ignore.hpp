#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cw::actors {

/// Returns whether `path` matches the gitignore-style glob `pattern`: `*`
/// and `?` match within one path component, `[abc]`, `[a-z]` and `[!a]`
/// match one character of a class, `\` escapes the next character, and `**`
/// as a whole component matches any number of components (`**/x` also
/// matches `x`, `a/**` everything below `a`, `a/**/b` also `a/b`).
bool ignore_glob_match(std::string_view pattern, std::string_view path);

/// Ignore rules for a workspace, with gitignore's syntax and meaning, all
/// relative to the workspace root: a pattern without a slash (other than a
/// trailing one) matches a name at any depth; one with a slash is anchored
/// at the root (a leading slash is dropped); a trailing slash matches only
/// directories; `!` re-includes what an earlier rule excluded; the last
/// matching rule wins. Everything below an ignored directory is ignored and
/// cannot be re-included (as in git). Blank lines and `#` comments are
/// skipped; `\#` and `\!` start a literal. Immutable once built, so safe to
/// share between threads.
class ignore_rules {
public:
  // -- constructors -----------------------------------------------------------

  /// Creates rules holding only `default_patterns()`.
  ignore_rules();

  /// Creates rules from `patterns` (gitignore lines), after the defaults
  /// unless `with_defaults` is false.
  explicit ignore_rules(const std::vector<std::string>& patterns,
                        bool with_defaults = true);

  /// Returns the defaults: version control and dependency folders, build
  /// output, object files and editor scratch files (`.git/`,
  /// `node_modules/`, `build/`, `build-*/`, `target/`, `dist/`, `*.o`, ...).
  static const std::vector<std::string>& default_patterns();

  // -- modifiers --------------------------------------------------------------

  /// Adds one gitignore line; blank lines and comments add nothing.
  void add(std::string_view line);

  /// Adds every line of `text`, e.g. the contents of a `.gitignore`.
  void add_lines(std::string_view text);

  // -- queries ----------------------------------------------------------------

  /// Returns whether `path` (relative to the root, `/`-separated; a leading
  /// `./` or trailing `/` is fine) is ignored, itself or through one of its
  /// parent directories. `is_dir` says whether `path` is a directory.
  bool is_ignored(std::string_view path, bool is_dir) const;

  /// Returns whether `path` is ignored by the rules that match it directly,
  /// assuming no parent directory is ignored: what a watcher asks for each
  /// new entry of a directory it already watches.
  bool is_ignored_entry(std::string_view path, bool is_dir) const;

  /// Returns the number of rules.
  size_t size() const noexcept {
    return rules_.size();
  }

private:
  struct rule {
    std::string glob;
    bool negated = false;
    bool dir_only = false;
    bool anchored = false;
  };

  std::vector<rule> rules_;
};

} // namespace cw::actors
