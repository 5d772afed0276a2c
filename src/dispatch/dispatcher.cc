#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

#include "common/ids.h"
#include "common/utf8.h"
#include "dispatch/dispatch.h"

#include "common/log_context.h"
#include "dispatch/target.h"

namespace triggerd::dispatch {

namespace {

// The delay before attempt `attempt + 1`, after attempt `attempt` (1-based) failed retryably:
// full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"), so many runs failing
// together do not come back together.
int64_t BackoffMicros(const Options& options, int attempt, std::optional<int64_t> retry_after_ms) {
  const int64_t cap =
      std::chrono::duration_cast<std::chrono::microseconds>(options.max_backoff).count();
  // The target knows best when it can take more: its Retry-After wins over the backoff, even
  // above max_backoff, up to a day (a bogus "Retry-After: 99999999" must not park a run forever).
  if (retry_after_ms) {
    constexpr int64_t kMaxRetryAfterMicros = int64_t{24} * 3600 * 1'000'000;
    return std::clamp<int64_t>(*retry_after_ms * 1000, 0, kMaxRetryAfterMicros);
  }
  const int64_t base =
      std::chrono::duration_cast<std::chrono::microseconds>(options.base_backoff).count();
  int64_t ceiling = base;
  for (int i = 1; i < attempt && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  thread_local std::mt19937_64 random{std::random_device{}()};
  return std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(ceiling, 0))(random);
}

// Lowers the target's timeout to at most `max_ms`; returns the timeout it keeps.
int CapTimeout(TargetConfig* config, int max_ms) {
  int* timeout = config->type == TargetType::kHttp      ? &config->http.timeout_ms
                 : config->type == TargetType::kCommand ? &config->command.timeout_ms
                                                        : &config->llm.timeout_ms;
  *timeout = std::max(1, std::min(*timeout, max_ms));
  return *timeout;
}

}  // namespace

class Dispatcher::Impl {
 public:
  Impl(store::RunQueue* runs, store::ConfigStore* config, store::EventLog* events,
       const Clock* clock, Options options)
      : runs_(runs), config_(config), events_(events), clock_(clock), options_(std::move(options)), owner_(NewId("dsp")) {
    options_.workers = std::max(1, options_.workers);
    options_.claim_batch = std::max(1, options_.claim_batch);
    if (options_.agent_share <= 0) options_.agent_share = (options_.workers + 1) / 2;
    options_.agent_share = std::min(options_.agent_share, options_.workers);
    lease_micros_ = std::chrono::duration_cast<std::chrono::microseconds>(options_.lease).count();
  }

  void SetAttemptObserver(std::shared_ptr<const Dispatcher::AttemptObserver> observer) {
    attempt_observer_.store(std::move(observer));
  }

  Status Start() {
    runs_->SetRunsQueuedListener([this] { Wake(); });
    if (options_.release_leases_on_start) {
      TRIGGERD_RETURN_IF_ERROR(runs_->ReleaseLeases(owner_, clock_->NowMicros()));
    }
    for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
    // Before the dispatcher thread, which reads standing_claim_.
    standing_claim_ = runs_->SetStandingClaim(
        {[this] { return StandingWant(); },
         [this](std::vector<LeasedRun> runs) { StandingClaimed(std::move(runs)); }});
    dispatcher_ = std::thread([this] { DispatchLoop(); });
    return Status::Ok();
  }

  void Stop() {
    // First, so that no claim of the store's own commits hands us runs any more (it waits for
    // one in progress; its callbacks take mu_, so mu_ is not held here).
    runs_->SetStandingClaim({});
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      // Claimed but not started: left to their leases (see the header).
      claimed_ -= static_cast<int>(queue_.size());
      queue_.clear();
    }
    wake_cv_.notify_all();
    work_cv_.notify_all();
    for (auto& worker : workers_) {
      if (worker.joinable()) worker.join();
    }
    // After the workers: the dispatcher thread records their last results before it returns.
    if (dispatcher_.joinable()) dispatcher_.join();
    runs_->SetRunsQueuedListener(nullptr);
  }

  void Wake() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      wake_pending_ = true;
    }
    wake_cv_.notify_one();
  }

  void ForgetAgent(const std::string& agent_id) {
    std::lock_guard<std::mutex> lock(agents_mu_);
    agents_.erase(agent_id);
    ++agents_generation_;
  }

  void ForgetAllAgents() {
    std::lock_guard<std::mutex> lock(agents_mu_);
    agents_.clear();
    ++agents_generation_;
  }

  const std::string& owner() const { return owner_; }

  DispatchStats stats() const {
    DispatchStats stats;
    stats.claimed = claimed_total_.load();
    stats.succeeded = succeeded_.load();
    stats.retried = retried_.load();
    stats.failed = failed_.load();
    stats.dead = dead_.load();
    stats.lost_leases = lost_leases_.load();
    std::lock_guard<std::mutex> lock(mu_);
    stats.in_flight = static_cast<uint64_t>(claimed_ + recording_);
    return stats;
  }

 private:
  // An agent as attempts use it: its record and its target, built once.
  struct CachedAgent {
    store::Agent agent;
    std::shared_ptr<Target> target;
    int64_t timeout_micros = 0;  // the target's, capped at 90% of the lease
  };
  using LeasedRun = store::RunQueue::LeasedRun;
  // An attempt that ended, waiting for the dispatcher thread to record it.
  struct Ended {
    store::AttemptResult result;
    int attempt = 0;
    int max_attempts = 0;
    int64_t created_at = 0;
    int64_t started_at = 0;
  };

  // How many runs this dispatcher may hold claimed and not yet attempted to the end (queued for
  // a worker or attempting): every worker busy plus `agent_share` waiting. One agent holds at
  // most `workers` leases here (MakeClaim), so it never fills the room another agent's run
  // needs, and runs at most `agent_share` attempts at once (NextRunnable).
  int Room() const { return options_.workers + options_.agent_share; }

  // The claim for up to `limit` runs, as both the dispatcher thread and the standing claim make
  // it. An agent may hold `workers` leases, twice its share of attempts: a lease lasts until its
  // result commits, so the slack keeps the agent's workers busy while the results of its last
  // attempts are being recorded and its next runs wait for them.
  store::ClaimRequest MakeClaim(int limit) const {
    store::ClaimRequest request;
    request.owner = owner_;
    request.now = clock_->NowMicros();
    request.lease_micros = lease_micros_;
    request.limit = limit;
    request.max_per_agent = options_.workers;
    return request;
  }

  // The standing claim (RunQueue::SetStandingClaim), on the store's writer thread: asks for the
  // free room and reserves it until StandingClaimed.
  store::ClaimRequest StandingWant() {
    std::lock_guard<std::mutex> lock(mu_);
    const int limit = stopping_ ? 0 : std::min(Room() - claimed_, options_.claim_batch * 2);
    standing_reserved_ = std::max(0, limit);
    claimed_ += standing_reserved_;
    return MakeClaim(standing_reserved_);
  }

  void StandingClaimed(std::vector<LeasedRun> runs) {
    claimed_total_.fetch_add(runs.size(), std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mu_);
      claimed_ -= standing_reserved_ - static_cast<int>(runs.size());
      standing_reserved_ = 0;
      if (stopping_) {  // left to their leases, as in Stop
        claimed_ -= static_cast<int>(runs.size());
        return;
      }
      for (auto& run : runs) queue_.push_back(std::move(run));
    }
    NotifyWorkers(runs.size());
  }

  // Wakes one idle worker per queued run: with many workers, waking all of them for each run
  // cost more CPU in context switches than the deliveries themselves.
  void NotifyWorkers(size_t runs) {
    for (size_t i = 0; i < runs; ++i) work_cv_.notify_one();
  }

  // The dispatcher thread: records ended attempts (many per write), then claims while there is
  // room and something may be due; otherwise sleeps until woken (runs queued, an attempt ended,
  // Stop), the next due time, or idle_poll. A claim is a write transaction, so one is made only
  // when woken, after recording (room was freed), or when the store's next due time — a read —
  // says something is due.
  void DispatchLoop() {
    bool timer = true;  // at start: whatever is due already
    for (;;) {
      std::vector<Ended> ended;
      bool woken = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_ && ended_.empty() && claimed_ == 0) return;
        woken = wake_pending_;
        wake_pending_ = false;
        ended.swap(ended_);
        recording_ += static_cast<int>(ended.size());
      }
      if (!ended.empty()) Record(ended);

      // The store's next due time, when read in this round (nullopt: unknown or none).
      std::optional<std::optional<int64_t>> next_due;
      // Recording freed room: the store's standing claim, when it has one, already used it in
      // the recording's own commit (and woke us if it could not take every due run).
      bool try_claim = woken || (!ended.empty() && !standing_claim_);
      if (!try_claim && timer) {
        next_due = NextDue();
        try_claim = next_due->has_value() && **next_due <= clock_->NowMicros();
      }
      int room = 0;
      int claimed = 0;
      if (try_claim) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          room = stopping_ ? 0 : std::min(Room() - claimed_, options_.claim_batch);
          if (room > 0) claimed_ += room;  // reserved until the claim returns
        }
        if (room > 0) claimed = Claim(room);
      }
      if (room > 0 && claimed == room) continue;  // there may be more: claim again at once

      // Nothing more to claim now (or no room): sleep until something can change that.
      auto deadline = std::chrono::steady_clock::now() + options_.idle_poll;
      if (!next_due) next_due = NextDue();
      if (next_due->has_value()) {
        const int64_t wait_micros = **next_due - clock_->NowMicros();
        // A due time in the past means due runs that the claim left (their agent is at its
        // concurrency or its share of this pool): an ending attempt wakes us.
        if (wait_micros > 0) {
          deadline = std::min(deadline, std::chrono::steady_clock::now() +
                                            std::chrono::microseconds(wait_micros));
        }
      }
      std::unique_lock<std::mutex> lock(mu_);
      timer = !wake_cv_.wait_until(lock, deadline, [this] {
        return wake_pending_ || !ended_.empty() || (stopping_ && claimed_ == 0);
      });
    }
  }

  // RunQueue::NextDueTime, nullopt when it failed (logged) or nothing is waiting.
  std::optional<int64_t> NextDue() {
    auto due = runs_->NextDueTime();
    if (!due) {
      spdlog::error("dispatch: reading the next due time failed: {}", due.error().ToString());
      return std::nullopt;
    }
    return *due;
  }

  // Claims up to `room` runs (already reserved in claimed_) and queues them for the workers;
  // returns how many.
  int Claim(int room) {
    auto runs = runs_->ClaimRuns(MakeClaim(room));
    int claimed = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      claimed_ -= room;
      if (!runs) {
        spdlog::error("dispatch: claiming runs failed: {}", runs.error().ToString());
        return 0;
      }
      claimed = static_cast<int>(runs->size());
      claimed_total_.fetch_add(claimed, std::memory_order_relaxed);
      if (stopping_) return claimed;  // left to their leases, as in Stop
      claimed_ += claimed;
      for (auto& run : *runs) queue_.push_back({std::move(run), nullptr});
    }
    NotifyWorkers(static_cast<size_t>(claimed));
    return claimed;
  }

  // Records ended attempts in one write, then counts and reports them.
  void Record(std::vector<Ended>& ended) {
    std::vector<store::AttemptResult> results;
    results.reserve(ended.size());
    for (const Ended& e : ended) results.push_back(e.result);
    auto recorded = runs_->FinishAttempts(results);
    const int64_t now = clock_->NowMicros();
    for (size_t i = 0; i < ended.size(); ++i) {
      Report(ended[i], recorded ? (*recorded)[i] : recorded.error(), now);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      recording_ -= static_cast<int>(ended.size());
    }
  }

  void Report(const Ended& e, const Status& recorded, int64_t now) {
    const store::AttemptResult& result = e.result;
    if (!recorded.ok()) {
      if (recorded.type() == ErrorType::kConflict) {
        lost_leases_.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("dispatch: run {} attempt {}: result dropped ({})", result.run_id, e.attempt,
                     recorded.message());
      } else {
        // The run stays running under our lease; when it expires it is claimed again.
        spdlog::error("dispatch: run {} attempt {}: recording the result failed: {}",
                      result.run_id, e.attempt, recorded.ToString());
      }
      return;
    }
    if (auto observer = attempt_observer_.load()) {
      AttemptObservation seen;
      seen.outcome = result.outcome == store::AttemptOutcome::kSucceeded ? "succeeded"
                     : result.outcome == store::AttemptOutcome::kRetry   ? "retried"
                     : result.outcome == store::AttemptOutcome::kFailed  ? "failed"
                                                                         : "dead";
      seen.attempt_seconds = static_cast<double>(now - e.started_at) / 1e6;
      if (e.attempt == 1) {
        seen.first_attempt_delay_seconds =
            static_cast<double>(std::max<int64_t>(0, e.started_at - e.created_at)) / 1e6;
      }
      (*observer)(seen);
    }
    switch (result.outcome) {
      case store::AttemptOutcome::kSucceeded:
        succeeded_.fetch_add(1);
        break;
      case store::AttemptOutcome::kRetry:
        retried_.fetch_add(1);
        break;
      case store::AttemptOutcome::kFailed:
        failed_.fetch_add(1);
        break;
      case store::AttemptOutcome::kDead:
        dead_.fetch_add(1);
        break;
    }
    if (result.outcome != store::AttemptOutcome::kSucceeded) {
      ScopedLogContext log_context({.run_id = result.run_id});
      spdlog::info("dispatch: run {} attempt {}/{} {}: {}", result.run_id, e.attempt,
                   e.max_attempts,
                   result.outcome == store::AttemptOutcome::kRetry  ? "will retry"
                   : result.outcome == store::AttemptOutcome::kDead ? "is dead"
                                                                    : "failed",
                   result.message.substr(0, 300));
    }
  }

  // The first queued run whose agent has fewer than agent_share attempts here, or end().
  // REQUIRES: mu_ held.
  std::deque<LeasedRun>::iterator NextRunnable() {
    return std::find_if(queue_.begin(), queue_.end(), [this](const LeasedRun& leased) {
      auto it = attempting_.find(leased.run.agent_id);
      return it == attempting_.end() || it->second < options_.agent_share;
    });
  }

  void WorkerLoop() {
    for (;;) {
      LeasedRun leased;
      {
        std::unique_lock<std::mutex> lock(mu_);
        std::deque<LeasedRun>::iterator next;
        work_cv_.wait(lock, [&] {
          if (stopping_) return true;
          next = NextRunnable();
          return next != queue_.end();
        });
        if (stopping_) return;
        leased = std::move(*next);
        queue_.erase(next);
        ++attempting_[leased.run.agent_id];
      }
      const store::Run& run = leased.run;
      Ended ended = Attempt(run, std::move(leased.event));
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (--attempting_[run.agent_id] == 0) attempting_.erase(run.agent_id);
        --claimed_;
        ended_.push_back(std::move(ended));
      }
      // No worker to wake: the one run this attempt's end may have made startable (its agent
      // was at its share) is this worker's next.
      wake_cv_.notify_one();
    }
  }

  // The run's agent and its target: from the cache, else read and built (and cached). The cache
  // is the catalog's to invalidate (ForgetAgent after a change or delete, ForgetAllAgents after
  // another node's), so an attempt costs no read of its agent — and no unsealing of its signing
  // secret. nullptr with `error` set, and `store_trouble` when a store hiccup (not a missing
  // agent or a broken target) is to blame.
  std::shared_ptr<const CachedAgent> AgentFor(const store::Run& run, std::string* error,
                                              bool* store_trouble) {
    uint64_t generation = 0;
    {
      std::lock_guard<std::mutex> lock(agents_mu_);
      auto it = agents_.find(run.agent_id);
      if (it != agents_.end() && it->second->agent.workspace_id == run.workspace_id) {
        return it->second;
      }
      generation = agents_generation_;
    }
    auto agent = config_->GetAgent(run.workspace_id, run.agent_id);
    if (!agent) {
      *store_trouble = agent.error().type() != ErrorType::kNotFound;
      *error = !*store_trouble ? "the agent no longer exists"
                               : "reading the agent failed: " + agent.error().message();
      return nullptr;
    }
    auto config = ParseTargetConfigText(agent->target_json);
    if (!config) {
      *error = "the agent's target is invalid: " + config.error().message();
      return nullptr;
    }
    const auto lease_ms = lease_micros_ / 1000;
    const int timeout_ms =
        CapTimeout(&*config, static_cast<int>(std::min<int64_t>(lease_ms * 9 / 10, INT32_MAX)));
    auto made = MakeTarget(*config);
    if (!made) {
      *error = "the agent's target is invalid: " + made.error().message();
      return nullptr;
    }
    auto cached = std::make_shared<const CachedAgent>(CachedAgent{
        std::move(agent).value(), std::move(made).value(), int64_t{timeout_ms} * 1000});
    std::lock_guard<std::mutex> lock(agents_mu_);
    // Read before a ForgetAgent that has happened since: used once, not kept.
    if (agents_generation_ == generation) agents_[run.agent_id] = cached;
    return cached;
  }

  // One attempt of a claimed run, start to end; its result is recorded by the dispatcher thread.
  // `event` is the run's event when its claim handed it over, else nullptr (read here).
  Ended Attempt(const store::Run& run, std::shared_ptr<const store::Event> event) {
    ScopedLogContext log_context(
        {.workspace_id = run.workspace_id, .event_id = run.event_id, .run_id = run.id});
    Ended ended;
    ended.attempt = run.attempts;
    ended.max_attempts = run.max_attempts;
    ended.created_at = run.created_at;
    ended.started_at = clock_->NowMicros();
    store::AttemptResult& result = ended.result;
    result.run_id = run.id;
    result.lease_owner = owner_;
    result.attempt = run.attempts;

    DeliveryResult delivered;
    std::string setup_error;
    bool store_trouble = false;
    std::shared_ptr<const CachedAgent> agent = AgentFor(run, &setup_error, &store_trouble);
    // Targets' timeouts are capped at 90% of the lease, so an attempt started early in its lease
    // ends inside it. One that waited for a worker so long that its timeout no longer fits in
    // what is left of the lease (every worker held by slow attempts) is not started: another
    // claim could take the run over mid-attempt.
    if (agent != nullptr && run.lease_expires_at - ended.started_at < agent->timeout_micros) {
      agent = nullptr;
      setup_error = "not started: it waited for a worker until its timeout no longer fit in its "
                    "lease";
      store_trouble = true;  // retryable
    }
    if (agent != nullptr && event == nullptr) {
      Result<store::Event> read = events_->GetEvent(run.workspace_id, run.event_id);
      if (read) {
        event = std::make_shared<const store::Event>(std::move(read).value());
      } else {
        agent = nullptr;
        store_trouble = read.error().type() != ErrorType::kNotFound;
        setup_error = !store_trouble ? "the event no longer exists"
                                     : "reading the event failed: " + read.error().message();
      }
    }
    if (agent == nullptr) {
      // A store hiccup is worth another attempt; a missing agent or event, a broken config not.
      delivered.kind =
          store_trouble ? DeliveryResult::Kind::kRetryable : DeliveryResult::Kind::kPermanent;
      delivered.error = setup_error;
    } else {
      Delivery delivery;
      delivery.run_id = run.id;
      delivery.event_id = run.event_id;
      delivery.source_id = event->source_id;
      delivery.trigger_id = run.trigger_id;
      delivery.agent_id = run.agent_id;
      delivery.event_type = event->event_type;
      delivery.delivery_id = event->delivery_id;
      delivery.attempt = run.attempts;
      delivery.message = BuildRunMessage(run, *event);
      if (run.include_payload) delivery.payload = std::string(EventPayload(*event));
      delivery.instructions = agent->agent.instructions;
      delivery.signing_secret = agent->agent.signing_secret;
      delivery.now_unix_seconds = clock_->NowUnixSeconds();
      delivered = agent->target->Deliver(delivery);
    }

    // Replies are the agent's raw bytes; what is stored and shown as JSON must be valid UTF-8.
    if (FindInvalidUtf8(delivered.reply) != std::string_view::npos) {
      delivered.reply = RepairUtf8(delivered.reply);
    }
    const int64_t now = clock_->NowMicros();
    result.finished_at = now;
    switch (delivered.kind) {
      case DeliveryResult::Kind::kSucceeded:
        result.outcome = store::AttemptOutcome::kSucceeded;
        result.message = std::move(delivered.reply);
        break;
      case DeliveryResult::Kind::kPermanent:
        result.outcome = store::AttemptOutcome::kFailed;
        result.message = std::move(delivered.error);
        break;
      case DeliveryResult::Kind::kRetryable:
        result.message = std::move(delivered.error);
        if (run.attempts >= run.max_attempts) {
          result.outcome = store::AttemptOutcome::kDead;
        } else {
          result.outcome = store::AttemptOutcome::kRetry;
          result.next_attempt_at =
              now + BackoffMicros(options_, run.attempts, delivered.retry_after_ms);
        }
        break;
    }
    return ended;
  }

  store::RunQueue* const runs_;
  store::ConfigStore* const config_;
  store::EventLog* const events_;
  const Clock* const clock_;
  Options options_;
  int64_t lease_micros_ = 0;
  bool standing_claim_ = false;  // the store claims on its commits for us (set by Start)
  std::atomic<std::shared_ptr<const Dispatcher::AttemptObserver>> attempt_observer_;
  const std::string owner_;

  mutable std::mutex mu_;
  std::condition_variable wake_cv_;  // the dispatcher thread waits here
  std::condition_variable work_cv_;  // workers wait here
  std::deque<LeasedRun> queue_;      // claimed, not yet started; guarded by mu_
  // Attempts running per agent id; guarded by mu_.
  std::unordered_map<std::string, int> attempting_;
  // Runs claimed (or reserved for a claim in progress) whose attempt has not ended: queued and
  // attempting; guarded by mu_. At most Room().
  int claimed_ = 0;
  int standing_reserved_ = 0;  // of claimed_, for the standing claim in progress; guarded by mu_
  std::vector<Ended> ended_;   // attempts ended, not yet taken to be recorded; guarded by mu_
  int recording_ = 0;          // ended attempts being recorded; guarded by mu_
  bool wake_pending_ = false;  // guarded by mu_
  bool stopping_ = false;      // guarded by mu_

  std::mutex agents_mu_;
  // By agent id; guarded by agents_mu_.
  std::unordered_map<std::string, std::shared_ptr<const CachedAgent>> agents_;
  uint64_t agents_generation_ = 0;  // counts forgets; guarded by agents_mu_

  std::thread dispatcher_;
  std::vector<std::thread> workers_;

  std::atomic<uint64_t> claimed_total_{0}, succeeded_{0}, retried_{0}, failed_{0}, dead_{0},
      lost_leases_{0};
};

Dispatcher::Dispatcher(store::RunQueue* runs, store::ConfigStore* config,
                       store::EventLog* events, const Clock* clock, Options options)
    : impl_(std::make_unique<Impl>(runs, config, events, clock, std::move(options))) {}
Dispatcher::~Dispatcher() { Stop(); }
Status Dispatcher::Start() { return impl_->Start(); }
void Dispatcher::Stop() { impl_->Stop(); }
void Dispatcher::Wake() { impl_->Wake(); }
void Dispatcher::ForgetAgent(const std::string& agent_id) { impl_->ForgetAgent(agent_id); }
void Dispatcher::ForgetAllAgents() { impl_->ForgetAllAgents(); }
const std::string& Dispatcher::owner_id() const { return impl_->owner(); }
DispatchStats Dispatcher::stats() const { return impl_->stats(); }

void Dispatcher::SetAttemptObserver(AttemptObserver observer) {
  impl_->SetAttemptObserver(
      observer ? std::make_shared<const AttemptObserver>(std::move(observer)) : nullptr);
}

}  // namespace triggerd::dispatch
