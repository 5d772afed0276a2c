// PostgresStore's group commit: the queue of appends in front of the writer thread, and the
// batch sent as one pipelined transaction (pg_store.h, "Appends").
#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "store/postgres/pg_rows.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/json_text.h"

namespace triggerd::store::postgres {

namespace {

// The outbox of a pipelined append: written only if this transaction inserted the event (a
// duplicate — ON CONFLICT DO NOTHING — must write neither). xmin of the event row is the inserting
// transaction; the batch uses no subtransactions, so that is pg_current_xact_id().
constexpr std::string_view kOnlyIfInsertedHere =
    " WHERE EXISTS (SELECT 1 FROM events WHERE id = $2 AND xmin = pg_current_xact_id()::xid)";

constexpr std::string_view kInsertEventSql =
    "INSERT INTO events (id, workspace_id, source_id, received_at, content_type, event_type, "
    "delivery_id, headers, body, payload_json, remote_addr, verification) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
    "ON CONFLICT (source_id, delivery_id) WHERE delivery_id <> '' DO NOTHING RETURNING seq";

constexpr std::string_view kFindDeliverySql =
    "SELECT id, received_at FROM events "
    "WHERE source_id = $1 AND delivery_id = $2 AND delivery_id <> ''";

Params EventParams(const NewEvent& e) {
  Params p;
  p.Text(e.id)
      .Text(e.workspace_id)
      .Text(e.source_id)
      .Int64(e.received_at)
      .Text(e.content_type)
      .Text(e.event_type)
      .Text(e.delivery_id)
      .Bytes(sqlite::EncodeHeaders(e.headers))
      .Bytes(e.body)
      .Text(e.payload_json)
      .Text(e.remote_addr)
      .Text(e.verification);
  return p;
}

}  // namespace

// ---- Outbox statements, shared with AppendMatches (pg_store_model.cc) ----

std::string InsertMatchSql(bool only_if_inserted_here) {
  return Concat(
      {"INSERT INTO matches (workspace_id, event_id, trigger_id, outcome, run_id, "
       "message, evaluated_at, replay, reason) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9",
       only_if_inserted_here ? kOnlyIfInsertedHere : ""});
}

Params MatchParams(std::string_view workspace_id, std::string_view event_id, const Match& m) {
  Params p;
  p.Text(workspace_id)
      .Text(event_id)
      .Text(m.trigger_id)
      .Text(MatchOutcomeName(m.outcome))
      .Text(m.run_id)
      .Text(m.message)
      .Int64(m.evaluated_at)
      .Bool(m.replay)
      .Text(m.reason);
  return p;
}

// max_attempts 0: the agent's, read in this transaction; a run whose agent is already gone keeps
// Agent{}.max_attempts and is cancelled by the first claim that finds it due.
std::string InsertRunSql(bool only_if_inserted_here) {
  return Concat(
      {"INSERT INTO runs (workspace_id, event_id, id, trigger_id, agent_id, owner, "
       "include_payload, max_attempts, created_at, status, attempts, next_attempt_at, "
       "lease_owner, lease_expires_at, started_at, finished_at, last_error) "
       "SELECT $1, $2, $3, $4, $5, $6, $7, CASE WHEN $8 = 0 THEN coalesce("
       "(SELECT max_attempts FROM agents WHERE id = $5 AND workspace_id = $1), $10) "
       "ELSE $8 END, $9, 'queued', 0, $9, '', 0, NULL::bigint, NULL::bigint, ''",
       only_if_inserted_here ? kOnlyIfInsertedHere : ""});
}

Params RunParams(std::string_view workspace_id, std::string_view event_id, const NewRun& r) {
  Params p;
  p.Text(workspace_id)
      .Text(event_id)
      .Text(r.id)
      .Text(r.trigger_id)
      .Text(r.agent_id)
      .Text(r.owner)
      .Bool(r.include_payload)
      .Int64(r.max_attempts)
      .Int64(r.created_at)
      .Int64(Agent{}.max_attempts);
  return p;
}

// ---- Appends: the writer thread ----

void PostgresStore::AppendEvent(NewEvent event, AppendCallback done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closing_) {
      queue_.push_back(PendingAppend{std::move(event), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(Status::Unavailable("append event: the store is closed"));
}

void PostgresStore::WriterLoop() {
  std::vector<PendingAppend> batch;
  batch.reserve(max_batch_);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing, and everything queued has been written
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitAppends(batch);
    batch.clear();
  }
}

void PostgresStore::CommitAppends(std::vector<PendingAppend>& batch) {
  std::vector<AppliedAppend> applied;
  applied.reserve(batch.size());
  // Answers in queue order, each set once the transaction that holds it committed (or failed).
  std::vector<std::optional<Status>> failures(batch.size());
  std::vector<AppliedAppend> answers(batch.size());
  uint64_t runs = 0;
  uint64_t committed_batches = 0;
  size_t largest = 0;
  {
    Result<ConnectionPool::Lease> lease = pool_.Borrow();
    if (!lease) {
      failed_batches_.fetch_add(1, std::memory_order_relaxed);
      for (PendingAppend& a : batch) {
        a.done(Status::Internal("append batch: " + lease.error().message()));
      }
      return;
    }
    Status error;
    BatchResult result = ApplyPipelined(**lease, batch, applied, &error);
    if (result == BatchResult::kCommitted) {
      ++committed_batches;
      largest = batch.size();
      for (size_t i = 0; i < batch.size(); ++i) answers[i] = std::move(applied[i]);
    } else if (result == BatchResult::kUnknown || batch.size() == 1) {
      if (result == BatchResult::kUnknown || error.type() == ErrorType::kInternal) {
        failed_batches_.fetch_add(1, std::memory_order_relaxed);
      }
      // A single append's own failure is its answer (kConflict, kNotFound, …); a batch whose
      // fate is unknown fails whole, like a failed COMMIT of the SQLite store.
      for (size_t i = 0; i < batch.size(); ++i) {
        failures[i] = result == BatchResult::kUnknown
                          ? Status::Internal("commit append batch: " + error.message())
                          : error;
      }
    } else {
      // Nothing of the batch was committed: one append per transaction, so that the bad one
      // fails alone. Each is a (one-round-trip) batch of its own.
      bool broken = false;
      for (size_t i = 0; i < batch.size(); ++i) {
        if (broken) {
          failures[i] = Status::Internal("commit append batch: the connection was lost");
          continue;
        }
        std::vector<AppliedAppend> one;
        Status one_error;
        BatchResult r =
            ApplyPipelined(**lease, std::span<PendingAppend>(&batch[i], 1), one, &one_error);
        if (r == BatchResult::kCommitted) {
          ++committed_batches;
          largest = std::max<size_t>(largest, 1);
          answers[i] = std::move(one[0]);
        } else if (r == BatchResult::kUnknown || !(*lease)->healthy()) {
          broken = true;
          failed_batches_.fetch_add(1, std::memory_order_relaxed);
          failures[i] = Status::Internal("commit append batch: " + one_error.message());
        } else {
          failures[i] = one_error;
        }
      }
    }
  }  // the connection goes back before any callback runs

  uint64_t events = 0, duplicates = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (failures[i]) continue;
    ++(answers[i].outcome.duplicate ? duplicates : events);
    runs += answers[i].runs_created;
  }
  batches_.fetch_add(committed_batches, std::memory_order_relaxed);
  events_committed_.fetch_add(events, std::memory_order_relaxed);
  duplicates_.fetch_add(duplicates, std::memory_order_relaxed);
  runs_created_.fetch_add(runs, std::memory_order_relaxed);
  if (largest > max_batch_seen_.load(std::memory_order_relaxed)) {
    max_batch_seen_.store(largest, std::memory_order_relaxed);  // only this thread raises it
  }
  if (runs > 0) FireRunsQueued();  // before the results, as for every write
  for (size_t i = 0; i < batch.size(); ++i) {
    if (failures[i]) {
      batch[i].done(std::move(*failures[i]));
    } else {
      batch[i].done(std::move(answers[i].outcome));
    }
  }
}

PostgresStore::BatchResult PostgresStore::ApplyPipelined(PgConnection& db,
                                                         std::span<PendingAppend> batch,
                                                         std::vector<AppliedAppend>& applied,
                                                         Status* error) {
  PGconn* c = db.raw();
  std::vector<Sent> sent;
  applied.assign(batch.size(), AppliedAppend{});
  *error = Status::Ok();

  if (PQenterPipelineMode(c) != 1) {
    *error = Status::Internal("enter pipeline mode: " + std::string(PQerrorMessage(c)));
    db.MarkBroken();
    return BatchResult::kNothingCommitted;
  }
  if (!SendPipelined(c, batch, &sent)) {
    // Part of the batch may have reached the server, COMMIT included (it runs when it arrives,
    // not at the sync), so its fate is unknown.
    *error = Status::Internal("send append batch: " + std::string(PQerrorMessage(c)));
    db.MarkBroken();
    return BatchResult::kUnknown;
  }
  bool committed = false;
  bool lost = !ReadPipelined(c, batch, sent, applied, error, &committed);
  if (!lost) {
    PgResult sync(PQgetResult(c));
    lost = sync.get() == nullptr || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC;
  }
  if (lost || PQexitPipelineMode(c) != 1) {
    db.MarkBroken();
    if (committed) return error->ok() ? BatchResult::kCommitted : BatchResult::kUnknown;
    if (error->ok()) {
      *error = Status::Internal("append batch: the connection was lost: " +
                                std::string(PQerrorMessage(c)));
    }
    return BatchResult::kUnknown;
  }
  if (committed && error->ok()) return BatchResult::kCommitted;
  db.RollbackQuietly();  // an explicit transaction that failed stays open (aborted) until then
  if (error->ok()) *error = Status::Internal("append batch: COMMIT did not succeed");
  return BatchResult::kNothingCommitted;
}

bool PostgresStore::SendPipelined(PGconn* c, std::span<PendingAppend> batch,
                                  std::vector<Sent>* sent) {
  // Non-blocking while sending: libpq buffers the whole batch and the flush loop below reads
  // results as they come, so neither side can stall on a full socket buffer.
  PQsetnonblocking(c, 1);
  bool send_ok = true;
  auto send = [&](std::string_view sql, const Params& params, SentKind kind, size_t append) {
    if (!send_ok) return;
    const std::string text(sql);
    std::vector<const char*> values = params.values();
    if (PQsendQueryParams(c, text.c_str(), params.size(), params.types(), values.data(),
                          params.lengths(), params.formats(), 0) != 1) {
      send_ok = false;
      return;
    }
    sent->push_back({kind, append});
  };
  static const std::string kInsertMatch = InsertMatchSql(true);
  static const std::string kInsertRun = InsertRunSql(true);
  send("BEGIN", Params(), SentKind::kBegin, 0);
  bool any_runs = false;
  for (size_t i = 0; i < batch.size(); ++i) {
    const NewEvent& e = batch[i].event;
    send(kInsertEventSql, EventParams(e), SentKind::kEvent, i);
    // The event id and workspace of the outbox are the event's, whatever the records say.
    for (const Match& m : e.matches) {
      send(kInsertMatch, MatchParams(e.workspace_id, e.id, m), SentKind::kMatch, i);
    }
    for (const NewRun& r : e.runs) {
      send(kInsertRun, RunParams(e.workspace_id, e.id, r), SentKind::kRun, i);
      any_runs = true;
    }
    // A separate statement after the insert, so it sees a row another node committed while the
    // insert waited on it (READ COMMITTED: each statement takes a new snapshot).
    if (!e.delivery_id.empty()) {
      send(kFindDeliverySql, Params().Text(e.source_id).Text(e.delivery_id), SentKind::kFind, i);
    }
  }
  if (any_runs) {
    send("SELECT pg_notify($1, $2)", Params().Text(kRunsChannel).Text(NotifyPayload()),
         SentKind::kNotify, 0);
  }
  send("COMMIT", Params(), SentKind::kCommit, 0);
  if (send_ok && PQpipelineSync(c) != 1) send_ok = false;
  while (send_ok) {
    const int flushed = PQflush(c);
    if (flushed == 0) break;
    if (flushed < 0) {
      send_ok = false;
      break;
    }
    pollfd fd{PQsocket(c), POLLIN | POLLOUT, 0};
    if (poll(&fd, 1, 10000) < 0) continue;
    if ((fd.revents & POLLIN) != 0 && PQconsumeInput(c) != 1) send_ok = false;
  }
  PQsetnonblocking(c, 0);
  return send_ok;
}

bool PostgresStore::ReadPipelined(PGconn* c, std::span<PendingAppend> batch,
                                  const std::vector<Sent>& sent,
                                  std::vector<AppliedAppend>& applied, Status* error,
                                  bool* committed) {
  std::vector<bool> inserted(batch.size(), false);
  for (const Sent& s : sent) {
    PgResult r(PQgetResult(c));
    if (r.get() == nullptr) return false;
    const ExecStatusType status = PQresultStatus(r.get());
    // Each query's results end with a null result.
    while (PGresult* extra = PQgetResult(c)) PQclear(extra);
    if (status == PGRES_PIPELINE_ABORTED) continue;  // skipped after an earlier failure
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      if (error->ok()) {
        static constexpr std::string_view kOps[] = {
            "BEGIN",       "insert event", "insert match", "insert run", "find duplicate delivery",
            "notify runs", "COMMIT"};
        *error = PgError(r.get(), c, kOps[static_cast<int>(s.kind)]);
      }
      continue;
    }
    AppliedAppend& a = applied[s.append];
    const NewEvent& e = batch[s.append].event;
    switch (s.kind) {
      case SentKind::kEvent:
        inserted[s.append] = r.rows() == 1;
        if (inserted[s.append]) a.outcome = AppendOutcome{e.id, e.received_at, false};
        break;
      case SentKind::kRun:
        a.runs_created += static_cast<uint64_t>(r.affected());
        break;
      case SentKind::kFind:
        if (!inserted[s.append]) {
          if (r.rows() == 1) {
            a.outcome = AppendOutcome{r.Text(0, 0), r.Int64(0, 1), true};
          } else if (error->ok()) {
            // Cannot happen while the unique index stands; refuse rather than guess.
            *error = Status::Internal("append event: delivery id conflict without a first event");
          }
        }
        break;
      case SentKind::kCommit:
        *committed = true;
        break;
      default:
        break;
    }
  }
  return true;
}

}  // namespace triggerd::store::postgres
