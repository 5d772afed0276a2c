// dispatch: turns queued runs into attempts against agents' targets, at least once.
//
//   store (runs due) --lease--> queue --> worker pool --Target::Deliver--> agent
//   ended attempts --FinishAttempts (many per write)--> store (succeeded | retrying | failed | dead)
//
// Claims. On SQLite the store leases runs for this dispatcher inside the very commit that stores
// them (RunQueue::SetStandingClaim): an event's runs reach a worker at its commit, with no claim
// write of their own, and a commit that records ended attempts leases the runs the freed slots
// admit. Otherwise (PostgreSQL, where nodes compete, and whatever the standing claim left) the
// dispatcher thread claims with ClaimRuns when woken (the runs-queued listener, an ended attempt)
// or when the store's next due time (a read) says something is due; it sleeps until then, capped
// at `idle_poll` (runs made due by another process sharing the database).
// Room: the dispatcher holds at most workers + agent_share runs claimed and not yet attempted to
// the end. Fairness is decided inside the claim (store/run_policy.h): the least served workspace,
// then its least served agent, then that agent's oldest due run, so a backlog in one workspace
// does not queue another's runs behind it (issue 18, item 6); one agent holds at most `workers`
// leases here and runs at most `agent_share` attempts at once, so a slow or dead agent never
// holds every worker, whatever its concurrency.
// Workers never wait for the store's commits: an ended attempt goes to the dispatcher thread,
// which records all that ended meanwhile in one write (one commit, one fsync).
// Leases: a claimed run is leased for `lease`, and its attempt is cut at 90% of that (a target
// timeout above it is lowered), so a live attempt always ends inside its lease. A process that
// dies mid-attempt leaves the lease to expire, and the run is claimed again (ReleaseLeases at
// start-up shortcuts that for the single-process SQLite store). Every attempt carries the run id as its
// idempotency key, so a target can drop the duplicate a crash may cause.
// Retries: exponential backoff with full jitter, delay = uniform(0, min(max_backoff,
// base_backoff * 2^(attempt-1))); a Retry-After from the target replaces it (capped at a day,
// not at max_backoff: the target knows when it can take more). Permanent errors (see DeliveryResult) fail the run at once; a retryable error on
// the last attempt makes it dead.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "store/config_store.h"
#include "store/event_log.h"
#include "store/records.h"
#include "store/run_queue.h"

namespace triggerd::dispatch {

// The message a run sends its agent (http body, llm user message, and command stdin when the
// trigger excludes the payload). Deterministic in its inputs, so the API shows exactly what was
// sent without storing a copy per run:
//   {"run_id":…, "event":{"id","source_id","type","delivery_id","received_at"},
//    "trigger_id":…, "agent_id":…, "payload": <JSON>}      ("payload" only with include_payload)
// `payload_json` is the event's payload as JSON text (store::Event body or payload_json).
std::string BuildRunMessage(const store::Run& run, const store::Event& event);
// The payload as JSON text: the event's payload_json when set, else its body.
std::string_view EventPayload(const store::Event& event);

struct Options {
  int workers = 32;                 // attempts in flight at once, across agents
  // The most workers one agent holds at once (ClaimRequest::max_per_agent); its concurrency
  // still applies below it. 0 = half the workers, rounded up: a second agent always finds
  // workers free, at the cost of one busy agent alone using only half the pool.
  int agent_share = 0;
  int claim_batch = 32;             // at most this many runs per claim
  std::chrono::milliseconds base_backoff{1000};
  std::chrono::milliseconds max_backoff{std::chrono::hours(1)};
  std::chrono::milliseconds lease{std::chrono::minutes(15)};
  std::chrono::milliseconds idle_poll{1000};
  // Release leases of other owners at start (single-process stores: SQLite).
  bool release_leases_on_start = true;
};

// One finished attempt, as an attempt observer (Dispatcher::SetAttemptObserver) sees it.
struct AttemptObservation {
  std::string_view outcome;  // "succeeded" | "retried" | "failed" | "dead"
  double attempt_seconds = 0;  // from the start of the attempt to its recorded result
  // For first attempts: from the run's creation (its event's commit) to the attempt's start,
  // the queueing part of dispatch latency. Negative (not applicable) for later attempts.
  double first_attempt_delay_seconds = -1;
};

// Counters, monotonic.
struct DispatchStats {
  uint64_t claimed = 0;
  uint64_t succeeded = 0;
  uint64_t retried = 0;
  uint64_t failed = 0;
  uint64_t dead = 0;
  uint64_t lost_leases = 0;  // FinishAttempt answered kConflict (lease taken over, cancelled)
  uint64_t in_flight = 0;    // a gauge
};

class Dispatcher {
 public:
  // The dispatcher drains `runs` (claims, attempts' results, next due time, the runs-queued
  // listener) and reads what an attempt needs: its agent from `config`, its event from `events`.
  // All of them and `clock` must outlive the dispatcher.
  Dispatcher(store::RunQueue* runs, store::ConfigStore* config, store::EventLog* events,
             const Clock* clock, Options options);
  // One store that serves all three (a store::Store).
  template <typename AnyStore>
    requires std::derived_from<AnyStore, store::RunQueue> &&
             std::derived_from<AnyStore, store::ConfigStore> &&
             std::derived_from<AnyStore, store::EventLog>
  Dispatcher(AnyStore* store, const Clock* clock, Options options)
      : Dispatcher(store, store, store, clock, std::move(options)) {}
  ~Dispatcher();  // Stop()
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Registers the store's runs-queued listener, releases stale leases (per options) and starts
  // the threads.
  Status Start();
  // Stops claiming and waits for the attempts in flight (each bounded by its timeout); runs
  // claimed but not yet started are left to their leases (ReleaseLeases at the next start, or
  // expiry). Idempotent.
  void Stop();
  // Wakes the dispatcher (runs became due). Cheap; callable from any thread, store callbacks too.
  void Wake();
  // The dispatcher reads an agent (its record, signing secret and target) once and keeps it: the
  // catalog must tell it of every change. Drops this agent (after it was changed or deleted).
  void ForgetAgent(const std::string& agent_id);
  // Drops every cached agent (another node sharing the database changed agents).
  void ForgetAllAgents();

  const std::string& owner_id() const;
  DispatchStats stats() const;
  // Called by the worker after each recorded attempt (metrics histograms, wired by api/). May be
  // set or replaced at any time, also while running; must be cheap and thread-safe.
  using AttemptObserver = std::function<void(const AttemptObservation&)>;
  void SetAttemptObserver(AttemptObserver observer);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace triggerd::dispatch
