// FaultInjectionVfs: a SQLite VFS that forwards to the default VFS and can make xSync fail on
// demand. SQLite's VFS is our storage seam (the role Env plays in LevelDB's
// fault_injection_test): pass name() as SqliteOptions::vfs and every connection of the store
// goes through it.
//
// Thread safety: the switches and counters are atomics; the VFS is registered once per process
// and never unregistered.
#pragma once

#include <atomic>
#include <cstdint>

namespace triggerd::store::testing {

class FaultInjectionVfs {
 public:
  // Registers the VFS on first use (not as the default).
  static FaultInjectionVfs& Instance();

  const char* name() const { return "triggerd_fault"; }

  // While true, every xSync returns SQLITE_IOERR_FSYNC without syncing.
  void set_fail_sync(bool fail) { fail_sync_.store(fail); }
  // Syncs of WAL files that were forwarded (succeeded), and syncs refused while failing.
  uint64_t wal_syncs() const { return wal_syncs_.load(); }
  uint64_t failed_syncs() const { return failed_syncs_.load(); }

  // Called by the VFS's xSync.
  bool ShouldFailSync() {
    if (!fail_sync_.load()) return false;
    failed_syncs_.fetch_add(1);
    return true;
  }
  void CountWalSync() { wal_syncs_.fetch_add(1); }

 private:
  FaultInjectionVfs();

  std::atomic<bool> fail_sync_{false};
  std::atomic<uint64_t> wal_syncs_{0};
  std::atomic<uint64_t> failed_syncs_{0};
};

}  // namespace triggerd::store::testing
