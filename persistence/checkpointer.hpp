#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

struct sqlite3;

namespace cw::persistence {

/// Copies a journal's write-ahead log back into its database file on a thread
/// of its own, so that no commit waits for a checkpoint.
///
/// SQLite's own auto-checkpoint runs inside the commit that crosses its
/// threshold: that commit then writes the changed pages into the database
/// file and fsyncs it, which on a slow disk holds every waiting append for
/// tens of milliseconds. Installed on the writing connection, the
/// checkpointer replaces it: the commit that finds the WAL at `threshold`
/// frames or more only wakes this thread, which checkpoints (PASSIVE) on a
/// connection of its own while appends go on (once per `threshold` new
/// frames: a checkpoint that raced with a commit leaves the WAL to grow on
/// until the next one catches up and the writer starts it over). Only if the
/// WAL reaches `backstop` frames (the thread fell far behind) does a commit
/// checkpoint in line, so the WAL stays bounded whatever the load.
class checkpointer {
public:
  /// Opens a second connection to `path` on a new thread and hooks `writer`
  /// (the connection that appends). Throws on failure to open.
  checkpointer(sqlite3* writer, const std::string& path, int threshold,
               int backstop);

  /// Stops the thread (waiting for a checkpoint under way) and unhooks the
  /// writer.
  ~checkpointer();

  checkpointer(const checkpointer&) = delete;
  checkpointer& operator=(const checkpointer&) = delete;

  /// Waits until the thread has completed `n` checkpoints (successfully) or
  /// `limit` has passed; returns whether it has.
  bool await_completed(uint64_t n, std::chrono::milliseconds limit);

private:
  static int on_commit(void* self, sqlite3* db, const char* name, int frames);

  void run(sqlite3* db);

  sqlite3* writer_;
  int threshold_;
  int backstop_;
  /// Written by the writer's commits only.
  int next_request_;
  int last_frames_ = 0;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::condition_variable done_;
  uint64_t completed_ = 0;
  bool due_ = false;
  bool stop_ = false;
  std::atomic<bool> requested_{false};
  std::thread thread_;
};

} // namespace cw::persistence
