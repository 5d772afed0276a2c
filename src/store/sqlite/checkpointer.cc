// SqliteStore's checkpointer thread: WAL checkpoints off the writer's path (sqlite_store.h,
// "Checkpoints").
#include <sqlite3.h>

#include "store/sqlite/connection.h"
#include "store/sqlite/sqlite_store.h"

namespace triggerd::store::sqlite {

// Runs on the writer thread after each commit, with the WAL's size in pages. Cheap: it only wakes
// the checkpointer once per checkpoint_pages_ new pages.
int SqliteStore::OnWalCommit(void* self, sqlite3*, const char*, int wal_pages) {
  auto* store = static_cast<SqliteStore*>(self);
  // A smaller WAL than at the last signal means it was rewound (RESTART, or it had been fully
  // checkpointed when this transaction began): count from its start again.
  if (wal_pages < store->pages_at_last_signal_) store->pages_at_last_signal_ = 0;
  if (wal_pages - store->pages_at_last_signal_ >= store->checkpoint_pages_) {
    store->pages_at_last_signal_ = wal_pages;
    {
      std::lock_guard<std::mutex> lock(store->checkpoint_mu_);
      store->wal_pages_ = wal_pages;
      store->checkpoint_due_ = true;
    }
    store->checkpoint_cv_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteStore::CheckpointLoop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(checkpoint_mu_);
      checkpoint_cv_.wait(lock, [this] { return checkpoint_due_ || checkpoint_stop_; });
      if (checkpoint_stop_) return;
      checkpoint_due_ = false;
    }
    // PASSIVE takes no lock that the writer or a reader waits for: the writer keeps committing.
    int wal_pages = Checkpoint(SQLITE_CHECKPOINT_PASSIVE);
    if (wal_pages < restart_pages_) continue;
    // One more PASSIVE first, still without the writer held: it copies what was committed while
    // the first one ran, so the RESTART below (whose copy and database fsync hold the writer)
    // has only the last few transactions left to copy.
    if (Checkpoint(SQLITE_CHECKPOINT_PASSIVE) < 0) continue;
    // Under steady load the WAL never gets fully checkpointed between two transactions, which is
    // when SQLite would rewind it, so rewind it here: hold the writer between transactions, then
    // RESTART (copies the few pages committed since the PASSIVE, waits for readers still on the
    // WAL within busy_timeout, and makes the next commit start at the WAL's first frame).
    // Measured on the dev VM under load: ~10-50 ms per RESTART, once per restart_wal_pages.
    pause_writer_.store(true, std::memory_order_release);
    {
      std::lock_guard<std::mutex> gate(gate_mu_);
      if (Checkpoint(SQLITE_CHECKPOINT_RESTART) >= 0) {
        wal_restarts_.fetch_add(1, std::memory_order_relaxed);
      }
      pause_writer_.store(false, std::memory_order_release);
    }
    gate_cv_.notify_all();
  }
}

int SqliteStore::Checkpoint(int mode) {
  int wal_pages = 0, checkpointed = 0;
  int rc = sqlite3_wal_checkpoint_v2(checkpointer_->db(), nullptr, mode, &wal_pages, &checkpointed);
  if (rc != SQLITE_OK || wal_pages < 0) {
    // SQLITE_BUSY (a RESTART that readers outlasted, another process checkpointing) or an I/O
    // error: nothing is lost, the pages stay in the WAL and the next signal tries again.
    failed_checkpoints_.fetch_add(1, std::memory_order_relaxed);
    return -1;
  }
  if (mode == SQLITE_CHECKPOINT_PASSIVE) checkpoints_.fetch_add(1, std::memory_order_relaxed);
  return wal_pages;
}

}  // namespace triggerd::store::sqlite
