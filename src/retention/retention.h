// retention: the background job that bounds the database (issue 8, "Retention"). Events older
// than a configured age are deleted with their match records, runs and run messages; payload
// bodies can be dropped sooner than that metadata. The work is done by store::StoreOperations::Purge in
// short bounded transactions, so ingest never waits behind a long delete.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/result.h"
#include "store/operations.h"

namespace triggerd::retention {

struct Options {
  // 0 keeps forever. Bodies: 0 = as long as the events themselves.
  std::chrono::seconds events_max_age{0};
  std::chrono::seconds bodies_max_age{0};
  std::chrono::seconds interval{std::chrono::hours(1)};  // between passes
  int batch = 500;                                       // events per transaction
};

struct Totals {
  int64_t events_deleted = 0;
  int64_t runs_deleted = 0;
  int64_t bodies_emptied = 0;
};

// Thread-safe. Start() runs a pass at once and then every `interval`; Stop() ends the thread
// (a pass in progress stops after its current batch).
class Job {
 public:
  // `store` (only its Purge is used) and `clock` must outlive the job.
  Job(store::StoreOperations* store, const Clock* clock, Options options);
  ~Job();  // Stop()
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  // Whether anything is configured to be deleted at all.
  bool enabled() const;
  void Start();
  void Stop();
  // One whole pass now, on the caller's thread: what it deleted. Stops early (with what it did
  // so far) on a store error, which it returns.
  Result<Totals> RunOnce();
  Totals totals() const;  // since construction

 private:
  store::StoreOperations* const store_;
  const Clock* const clock_;
  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;         // guarded by mu_
  Totals totals_;                 // guarded by mu_
  int64_t bodies_after_seq_ = 0;  // guarded by mu_: Purge's cursor, kept across passes
  std::mutex pass_mu_;            // one pass at a time
  std::thread thread_;
};

}  // namespace triggerd::retention
