// SqliteStore's write path: the one queue in front of the writer thread, and the group commit
// that applies a batch of appends and writes in one transaction (sqlite_store.h, "Writes").
#include <algorithm>
#include <future>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "store/run_policy.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/sqlite_store.h"

namespace triggerd::store::sqlite {

void SqliteStore::AppendEvent(NewEvent event, AppendCallback done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closing_) {
      queue_.emplace_back(PendingAppend{std::move(event), std::move(done)});
      // Usually nobody waits (the writer is busy committing the previous batch), so this is cheap;
      // the appends arriving meanwhile are exactly what forms the next batch.
      cv_.notify_one();
      return;
    }
  }
  done(Status::Unavailable("append event: the store is closed"));
}

Status SqliteStore::Write(std::function<Status(Connection&)> apply) {
  if (std::this_thread::get_id() == writer_thread_id_) {
    return Status::Internal(
        "store write called on the writer thread, from an append callback or the runs-queued "
        "listener (it would wait for itself)");
  }
  std::future<Status> result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) return Status::Unavailable("store write: the store is closed");
    PendingWrite write{std::move(apply), {}};
    result = write.result.get_future();
    queue_.emplace_back(std::move(write));
    cv_.notify_one();
  }
  return result.get();
}

void SqliteStore::SetRunsQueuedListener(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(listener_mu_);
  runs_queued_listener_ = std::move(listener);
}

bool SqliteStore::SetStandingClaim(StandingClaim claim) {
  std::lock_guard<std::mutex> lock(listener_mu_);
  standing_claim_ = std::move(claim);
  return true;
}

Status SqliteStore::ApplyStandingClaim(BatchClaim* claim) {
  if (!standing_claim_.want || !standing_claim_.claimed) return Status::Ok();
  const ClaimRequest request = standing_claim_.want();
  Result<int> limit = ClaimLimit(request);
  // A malformed request claims nothing (the listener is told instead); it must not fail the
  // batch's appends.
  if (!limit || *limit == 0) return Status::Ok();
  claim->made = true;
  claim->asked = *limit;
  Status own;
  Status txn = InSavepoint(
      [&]() -> Status { return ClaimInTransaction(*writer_, request, *limit, &claim->runs); },
      &own);
  if (!own.ok()) {
    claim->failed = true;
    claim->runs.clear();  // rolled back with its savepoint
  }
  return txn;
}

void SqliteStore::WriterLoop() {
  std::vector<WriteRequest> batch;
  std::vector<AppliedRequest> applied;
  BatchClaim claim;
  batch.reserve(max_batch_);
  applied.reserve(max_batch_);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing, and everything queued has been written
      // The run at the front, appends and writes alike, in queue order (FIFO is kept: they are
      // applied in this order and their results are delivered in this order).
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    Status txn;
    // Held from the standing claim's `want` to its `claimed` and the listener's call (see
    // SetStandingClaim): taken by ApplyBatch when the batch made runs due.
    std::unique_lock<std::mutex> listener_lock(listener_mu_, std::defer_lock);
    {
      // The gate: a RESTART checkpoint holds the writer here, between transactions. Released
      // before the results are delivered, so a slow callback does not hold up a checkpoint.
      std::unique_lock<std::mutex> gate(gate_mu_);
      gate_cv_.wait(gate, [this] { return !pause_writer_.load(std::memory_order_acquire); });
      txn = ApplyBatch(batch, applied, &claim, &listener_lock);
    }
    DeliverBatch(batch, applied, txn, &claim, &listener_lock);
    batch.clear();
    applied.clear();
    claim = BatchClaim{};
  }
}

Status SqliteStore::Execute(std::string_view sql, std::string_view op) {
  TRIGGERD_ASSIGN_OR_RETURN(Statement st, writer_->Prepare(sql, op));
  return st.Run();
}

Status SqliteStore::ApplyBatch(std::vector<WriteRequest>& batch,
                               std::vector<AppliedRequest>& applied, BatchClaim* claim,
                               std::unique_lock<std::mutex>* listener_lock) {
  // IMMEDIATE takes the write lock now rather than at the first insert, so a lock conflict with
  // another process shows up here (after busy_timeout) and not halfway through the batch.
  Status txn = Execute("BEGIN IMMEDIATE", "BEGIN IMMEDIATE");
  for (size_t i = 0; txn.ok() && i < batch.size(); ++i) {
    AppliedRequest& request = applied.emplace_back();
    effects_ = WriteEffects{};
    if (auto* append = std::get_if<PendingAppend>(&batch[i])) {
      txn = InSavepoint(
          [&]() -> Status {
            TRIGGERD_ASSIGN_OR_RETURN(request.append, ApplyAppend(append->event));
            return Status::Ok();
          },
          &request.status);
    } else {
      auto& write = std::get<PendingWrite>(batch[i]);
      txn = InSavepoint([&]() -> Status { return write.apply(*writer_); }, &request.status);
    }
    // A request that failed left nothing behind (its savepoint was rolled back), so nothing of
    // what it noted happened either.
    if (request.status.ok()) request.effects = effects_;
  }
  const bool claim_may_take = std::any_of(applied.begin(), applied.end(), [](const auto& r) {
    return r.status.ok() && (r.effects.runs_made_due || r.effects.attempts_ended);
  });
  if (txn.ok() && claim_may_take) {
    // The runs this batch made due are leased by its own commit for the dispatcher that asks
    // (SetStandingClaim): no claim write of their own.
    listener_lock->lock();
    txn = ApplyStandingClaim(claim);
  }
  if (txn.ok()) txn = Execute("COMMIT", "COMMIT");
  if (!txn.ok() && writer_->in_transaction()) {
    // Nothing of the batch may remain: roll back whatever SQLite has not already rolled back.
    (void)Execute("ROLLBACK", "ROLLBACK");
  }
  return txn;
}

template <typename Apply>
Status SqliteStore::InSavepoint(Apply&& apply, Status* own) {
  // The savepoint confines a failing request (say a duplicate event id, or a kConflict from a
  // write's own checks) to itself: rolling back to it undoes that request's partial rows and
  // leaves the rest of the batch intact.
  Status s = Execute("SAVEPOINT request", "SAVEPOINT");
  if (!s.ok()) {
    *own = s;
    return s;
  }
  *own = apply();
  if (!own->ok()) {
    // An I/O error, SQLITE_FULL or the like may have rolled back the whole transaction; going on
    // would then autocommit the rest of the batch one request at a time, so that is fatal.
    if (!writer_->in_transaction()) {
      return Status::Internal(own->message() + " (the batch transaction was rolled back)");
    }
    s = Execute("ROLLBACK TO request", "ROLLBACK TO SAVEPOINT");
    if (!s.ok()) return s;
  }
  return Execute("RELEASE request", "RELEASE SAVEPOINT");
}

std::vector<RunQueue::LeasedRun> SqliteStore::HandOver(std::vector<WriteRequest>& batch,
                                                       const std::vector<AppliedRequest>& applied,
                                                       std::vector<Run>& runs) {
  std::vector<LeasedRun> leased(runs.size());
  if (runs.empty()) return leased;
  // The events this batch stored with runs, by id. Moved out of their requests: nothing reads
  // them after the commit (an append's answer is its AppendOutcome).
  std::unordered_map<std::string_view, NewEvent*> stored;
  for (size_t i = 0; i < batch.size(); ++i) {
    auto* append = std::get_if<PendingAppend>(&batch[i]);
    if (append != nullptr && applied[i].status.ok() && !applied[i].append.duplicate &&
        !append->event.runs.empty()) {
      stored.emplace(append->event.id, &append->event);
    }
  }
  // Looked up before anything is moved: the keys view the requests' own ids.
  std::vector<NewEvent*> sources(runs.size(), nullptr);
  for (size_t i = 0; i < runs.size(); ++i) {
    auto it = stored.find(runs[i].event_id);
    if (it != stored.end()) sources[i] = it->second;
  }
  std::unordered_map<NewEvent*, std::shared_ptr<const Event>> events;  // one per event
  for (size_t i = 0; i < runs.size(); ++i) {
    if (sources[i] != nullptr) {
      std::shared_ptr<const Event>& event = events[sources[i]];
      if (event == nullptr) {
        auto made = std::make_shared<Event>();
        static_cast<NewEvent&>(*made) = std::move(*sources[i]);
        made->matches.clear();
        made->runs.clear();
        event = std::move(made);
      }
      leased[i].event = event;
    }
    leased[i].run = std::move(runs[i]);
  }
  return leased;
}

void SqliteStore::DeliverBatch(std::vector<WriteRequest>& batch,
                               std::vector<AppliedRequest>& applied, const Status& txn,
                               BatchClaim* claim, std::unique_lock<std::mutex>* listener_lock) {
  if (claim->made) {
    // Exactly once per `want` that asked: the runs when the commit holds them, else none.
    if (!txn.ok()) claim->runs.clear();
    claim->took = static_cast<int>(claim->runs.size());
    standing_claim_.claimed(HandOver(batch, applied, claim->runs));
  }
  if (!txn.ok()) {
    if (listener_lock->owns_lock()) listener_lock->unlock();
    failed_batches_.fetch_add(1, std::memory_order_relaxed);
    // Always kInternal: a COMMIT that failed on a constraint is still the store's failure, not
    // the caller's (deferred constraints are not used). Every request gets it, including one
    // that had failed on its own: what the caller must know is that nothing was committed.
    for (WriteRequest& request : batch) {
      if (auto* append = std::get_if<PendingAppend>(&request)) {
        append->done(Status::Internal("commit append batch: " + txn.message()));
      } else {
        std::get<PendingWrite>(request).result.set_value(
            Status::Internal("commit write batch: " + txn.message()));
      }
    }
    return;
  }

  // Durable from here on: COMMIT returned after the WAL fsync (synchronous=FULL).
  uint64_t events = 0, duplicates = 0, writes = 0, runs = 0;
  bool runs_made_due = false;
  bool attempts_ended = false;
  for (size_t i = 0; i < batch.size(); ++i) {
    const AppliedRequest& request = applied[i];
    if (!request.status.ok()) continue;
    if (std::holds_alternative<PendingAppend>(batch[i])) {
      ++(request.append.duplicate ? duplicates : events);
    } else {
      ++writes;
    }
    runs += request.effects.runs_created;
    runs_made_due = runs_made_due || request.effects.runs_made_due;
    attempts_ended = attempts_ended || request.effects.attempts_ended;
  }
  batches_.fetch_add(1, std::memory_order_relaxed);
  events_committed_.fetch_add(events, std::memory_order_relaxed);
  duplicates_.fetch_add(duplicates, std::memory_order_relaxed);
  writes_committed_.fetch_add(writes, std::memory_order_relaxed);
  runs_created_.fetch_add(runs, std::memory_order_relaxed);
  if (batch.size() > max_batch_seen_.load(std::memory_order_relaxed)) {
    max_batch_seen_.store(batch.size(), std::memory_order_relaxed);  // only this thread writes it
  }

  // The listener before the results: whoever sees its write acknowledged may rely on the
  // dispatcher having been woken for it. Called under listener_mu_ (and no other lock of the
  // store), so that once SetRunsQueuedListener has returned the old listener is not running and
  // never runs again: its owner may then be destroyed.
  // A standing claim that took fewer runs than it asked for took every due run its policy
  // allows; the listener is told only when more may be waiting (it was full, failed, or absent
  // while runs became due).
  const bool claim_took_all = claim->made && !claim->failed && claim->took < claim->asked;
  if (!claim_took_all && (runs_made_due || (attempts_ended && claim->made))) {
    if (!listener_lock->owns_lock()) listener_lock->lock();
    if (runs_queued_listener_) runs_queued_listener_();
  }
  if (listener_lock->owns_lock()) listener_lock->unlock();

  for (size_t i = 0; i < batch.size(); ++i) {
    AppliedRequest& request = applied[i];
    if (auto* append = std::get_if<PendingAppend>(&batch[i])) {
      if (request.status.ok()) {
        append->done(std::move(request.append));
      } else {
        append->done(std::move(request.status));
      }
    } else {
      std::get<PendingWrite>(batch[i]).result.set_value(std::move(request.status));
    }
  }
}

}  // namespace triggerd::store::sqlite
