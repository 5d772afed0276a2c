#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
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

void CapTimeout(TargetConfig* config, int max_ms) {
  int* timeout = config->type == TargetType::kHttp      ? &config->http.timeout_ms
                 : config->type == TargetType::kCommand ? &config->command.timeout_ms
                                                        : &config->llm.timeout_ms;
  *timeout = std::max(1, std::min(*timeout, max_ms));
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
    dispatcher_ = std::thread([this] { DispatchLoop(); });
    return Status::Ok();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      // Claimed but not started: left to their leases (see the header).
      in_flight_ -= static_cast<int>(queue_.size());
      queue_.clear();
    }
    wake_cv_.notify_all();
    work_cv_.notify_all();
    if (dispatcher_.joinable()) dispatcher_.join();
    for (auto& worker : workers_) {
      if (worker.joinable()) worker.join();
    }
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
    std::lock_guard<std::mutex> lock(targets_mu_);
    targets_.erase(agent_id);
  }

  void ForgetAllAgents() {
    std::lock_guard<std::mutex> lock(targets_mu_);
    targets_.clear();
  }

  const std::string& owner() const { return owner_; }

  DispatchStats stats() const {
    DispatchStats stats;
    stats.claimed = claimed_.load();
    stats.succeeded = succeeded_.load();
    stats.retried = retried_.load();
    stats.failed = failed_.load();
    stats.dead = dead_.load();
    stats.lost_leases = lost_leases_.load();
    std::lock_guard<std::mutex> lock(mu_);
    stats.in_flight = static_cast<uint64_t>(in_flight_);
    return stats;
  }

 private:
  struct CachedTarget {
    int64_t agent_updated_at = 0;
    std::shared_ptr<Target> target;
  };

  // The dispatcher thread: claim while there are free workers and due runs; otherwise sleep until
  // woken, the next due time, or idle_poll.
  void DispatchLoop() {
    for (;;) {
      int free = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
        wake_pending_ = false;
        free = options_.workers - in_flight_;
      }
      int want = std::min(free, options_.claim_batch);
      int claimed = 0;
      if (want > 0) {
        store::ClaimRequest request;
        request.owner = owner_;
        request.now = clock_->NowMicros();
        request.lease_micros =
            std::chrono::duration_cast<std::chrono::microseconds>(options_.lease).count();
        request.limit = want;
        request.max_per_agent = options_.agent_share;
        auto runs = runs_->ClaimRuns(request);
        if (!runs) {
          spdlog::error("dispatch: claiming runs failed: {}", runs.error().ToString());
        } else if (!runs->empty()) {
          claimed = static_cast<int>(runs->size());
          claimed_.fetch_add(claimed, std::memory_order_relaxed);
          std::lock_guard<std::mutex> lock(mu_);
          for (auto& run : *runs) queue_.push_back(std::move(run));
          in_flight_ += claimed;
          work_cv_.notify_all();
        }
      }
      if (claimed == want && want > 0) continue;  // there may be more: claim again at once

      // Nothing more to claim now (or no free worker): sleep until something can change that.
      auto deadline = std::chrono::steady_clock::now() + options_.idle_poll;
      if (want > 0) {
        auto due = runs_->NextDueTime();
        if (due && due->has_value()) {
          int64_t wait_micros = **due - clock_->NowMicros();
          // A due time in the past means due runs that the claim left (their agent is at its
          // concurrency or its share of this pool): a finishing attempt wakes us, idle_poll
          // covers other processes.
          if (wait_micros > 0) {
            deadline = std::min(deadline, std::chrono::steady_clock::now() +
                                              std::chrono::microseconds(wait_micros));
          }
        }
      }
      std::unique_lock<std::mutex> lock(mu_);
      wake_cv_.wait_until(lock, deadline, [this] { return wake_pending_ || stopping_; });
    }
  }

  void WorkerLoop() {
    for (;;) {
      store::Run run;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_cv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) return;  // stopping
        run = std::move(queue_.front());
        queue_.pop_front();
      }
      Attempt(run);
      {
        std::lock_guard<std::mutex> lock(mu_);
        --in_flight_;
        wake_pending_ = true;
      }
      wake_cv_.notify_one();
    }
  }

  std::shared_ptr<Target> TargetFor(const store::Agent& agent, std::string* error) {
    {
      std::lock_guard<std::mutex> lock(targets_mu_);
      auto it = targets_.find(agent.id);
      if (it != targets_.end() && it->second.agent_updated_at == agent.updated_at) {
        return it->second.target;
      }
    }
    auto config = ParseTargetConfigText(agent.target_json);
    if (!config) {
      *error = "the agent's target is invalid: " + config.error().message();
      return nullptr;
    }
    const auto lease_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.lease).count();
    CapTimeout(&*config, static_cast<int>(std::min<int64_t>(lease_ms * 9 / 10, INT32_MAX)));
    auto made = MakeTarget(*config);
    if (!made) {
      *error = "the agent's target is invalid: " + made.error().message();
      return nullptr;
    }
    std::shared_ptr<Target> target = std::move(made).value();
    std::lock_guard<std::mutex> lock(targets_mu_);
    targets_[agent.id] = CachedTarget{agent.updated_at, target};
    return target;
  }

  // One attempt of a claimed run, start to recorded end.
  void Attempt(const store::Run& run) {
    ScopedLogContext log_context(
        {.workspace_id = run.workspace_id, .event_id = run.event_id, .run_id = run.id});
    const int64_t started_at = clock_->NowMicros();
    store::AttemptResult result;
    result.run_id = run.id;
    result.lease_owner = owner_;
    result.attempt = run.attempts;

    DeliveryResult delivered;
    auto agent = config_->GetAgent(run.workspace_id, run.agent_id);
    auto event = events_->GetEvent(run.workspace_id, run.event_id);
    std::shared_ptr<Target> target;
    std::string setup_error;
    if (!agent) {
      setup_error = agent.error().type() == ErrorType::kNotFound
                        ? "the agent no longer exists"
                        : "reading the agent failed: " + agent.error().message();
    } else if (!event) {
      setup_error = event.error().type() == ErrorType::kNotFound
                        ? "the event no longer exists"
                        : "reading the event failed: " + event.error().message();
    } else {
      target = TargetFor(*agent, &setup_error);
    }
    const bool store_trouble = (!agent && agent.error().type() != ErrorType::kNotFound) ||
                               (agent && !event && event.error().type() != ErrorType::kNotFound);
    if (target == nullptr) {
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
      delivery.attempt = run.attempts;
      delivery.message = BuildRunMessage(run, *event);
      if (run.include_payload) delivery.payload = std::string(EventPayload(*event));
      delivery.instructions = agent->instructions;
      delivery.signing_secret = agent->signing_secret;
      delivery.now_unix_seconds = clock_->NowUnixSeconds();
      delivered = target->Deliver(delivery);
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
    Status finished = runs_->FinishAttempt(result);
    if (!finished.ok()) {
      if (finished.type() == ErrorType::kConflict) {
        lost_leases_.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("dispatch: run {} attempt {}: result dropped ({})", run.id, run.attempts,
                     finished.message());
      } else {
        // The run stays running under our lease; when it expires it is claimed again.
        spdlog::error("dispatch: run {} attempt {}: recording the result failed: {}", run.id,
                      run.attempts, finished.ToString());
      }
      return;
    }
    if (auto observer = attempt_observer_.load()) {
      AttemptObservation seen;
      seen.outcome = result.outcome == store::AttemptOutcome::kSucceeded ? "succeeded"
                     : result.outcome == store::AttemptOutcome::kRetry   ? "retried"
                     : result.outcome == store::AttemptOutcome::kFailed  ? "failed"
                                                                         : "dead";
      seen.attempt_seconds = static_cast<double>(now - started_at) / 1e6;
      if (run.attempts == 1) {
        seen.first_attempt_delay_seconds =
            static_cast<double>(std::max<int64_t>(0, started_at - run.created_at)) / 1e6;
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
      spdlog::info("dispatch: run {} attempt {}/{} {}: {}", run.id, run.attempts, run.max_attempts,
                   result.outcome == store::AttemptOutcome::kRetry  ? "will retry"
                   : result.outcome == store::AttemptOutcome::kDead ? "is dead"
                                                                    : "failed",
                   result.message.substr(0, 300));
    }
  }

  store::RunQueue* const runs_;
  store::ConfigStore* const config_;
  store::EventLog* const events_;
  const Clock* const clock_;
  Options options_;
  std::atomic<std::shared_ptr<const Dispatcher::AttemptObserver>> attempt_observer_;
  const std::string owner_;

  mutable std::mutex mu_;
  std::condition_variable wake_cv_;  // the dispatcher thread waits here
  std::condition_variable work_cv_;  // workers wait here
  std::deque<store::Run> queue_;     // claimed, not yet started; guarded by mu_
  int in_flight_ = 0;                // claimed and not finished; guarded by mu_
  bool wake_pending_ = false;        // guarded by mu_
  bool stopping_ = false;            // guarded by mu_

  std::mutex targets_mu_;
  std::unordered_map<std::string, CachedTarget> targets_;  // by agent id

  std::thread dispatcher_;
  std::vector<std::thread> workers_;

  std::atomic<uint64_t> claimed_{0}, succeeded_{0}, retried_{0}, failed_{0}, dead_{0},
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
