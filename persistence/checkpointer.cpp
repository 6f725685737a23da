#include "persistence/checkpointer.hpp"

#include <stdexcept>

#include <sqlite3.h>

namespace cw::persistence {

checkpointer::checkpointer(sqlite3* writer, const std::string& path,
                           int threshold, int backstop)
  : writer_(writer),
    threshold_(threshold),
    backstop_(backstop),
    next_request_(threshold) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr)
      != SQLITE_OK) {
    std::string what = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error("checkpoint connection: " + what);
  }
  // A checkpoint runs on this connection's own thread, so it may wait a
  // little for a lock on the WAL index that a commit holds; a PASSIVE one
  // never waits for the writer or for another checkpoint (the backstop) and
  // is tried again at the next wake-up.
  sqlite3_busy_timeout(db, 100);
  // A connection learns that the file is in WAL mode when it first reads
  // it; until then a checkpoint fails at once.
  if (sqlite3_exec(db, "PRAGMA journal_mode", nullptr, nullptr, nullptr)
      != SQLITE_OK) {
    std::string what = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error("checkpoint connection: " + what);
  }
  // The connection is used by the thread alone from here on.
  thread_ = std::thread{[this, db] { run(db); }};
  sqlite3_wal_hook(writer_, &checkpointer::on_commit, this);
}

checkpointer::~checkpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    std::lock_guard guard{mtx_};
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

bool checkpointer::await_completed(uint64_t n,
                                   std::chrono::milliseconds limit) {
  std::unique_lock lock{mtx_};
  return done_.wait_for(lock, limit, [&] { return completed_ >= n; });
}

int checkpointer::on_commit(void* ptr, sqlite3* db, const char* name,
                            int frames) {
  auto* self = static_cast<checkpointer*>(ptr);
  // A checkpoint that raced with commits leaves the last frames behind, and
  // the WAL only starts over once all are copied; asking again at every
  // commit until then would checkpoint (and fsync the database) once per
  // commit. So one request per `threshold` new frames.
  if (frames < self->last_frames_)
    self->next_request_ = self->threshold_;
  self->last_frames_ = frames;
  if (frames >= self->backstop_) {
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                              nullptr);
  } else if (frames >= self->next_request_
             && !self->requested_.exchange(true, std::memory_order_acq_rel)) {
    self->next_request_ = frames + self->threshold_;
    {
      std::lock_guard guard{self->mtx_};
      self->due_ = true;
    }
    self->cv_.notify_one();
  }
  return SQLITE_OK;
}

void checkpointer::run(sqlite3* db) {
  std::unique_lock lock{mtx_};
  for (;;) {
    cv_.wait(lock, [this] { return due_ || stop_; });
    if (stop_)
      break;
    due_ = false;
    lock.unlock();
    // SQLITE_BUSY: the backstop is checkpointing in a commit right now.
    auto rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE,
                                        nullptr, nullptr);
    requested_.store(false, std::memory_order_release);
    lock.lock();
    if (rc == SQLITE_OK) {
      ++completed_;
      done_.notify_all();
    }
  }
  lock.unlock();
  sqlite3_close(db);
}

} // namespace cw::persistence
