#include "retention/retention.h"

#include <spdlog/spdlog.h>

namespace triggerd::retention {

Job::Job(store::StoreOperations* store, const Clock* clock, Options options)
    : store_(store), clock_(clock), options_(options) {}

Job::~Job() { Stop(); }

bool Job::enabled() const {
  return options_.events_max_age.count() > 0 || options_.bodies_max_age.count() > 0;
}

void Job::Start() {
  if (!enabled() || thread_.joinable()) return;
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      Result<Totals> pass = RunOnce();
      if (!pass) {
        spdlog::error("retention: {}", pass.error().ToString());
      } else if (pass->events_deleted + pass->bodies_emptied > 0) {
        spdlog::info("retention: deleted {} events ({} runs), emptied {} bodies",
                     pass->events_deleted, pass->runs_deleted, pass->bodies_emptied);
      }
      lock.lock();
      cv_.wait_for(lock, options_.interval, [this] { return stopping_; });
    }
  });
}

void Job::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<Totals> Job::RunOnce() {
  std::lock_guard pass_lock(pass_mu_);
  const int64_t now = clock_->NowMicros();
  auto cutoff = [now](std::chrono::seconds age) -> int64_t {
    return age.count() > 0 ? now - age.count() * 1'000'000 : 0;
  };
  store::PurgeRequest request;
  request.events_before = cutoff(options_.events_max_age);
  request.bodies_before = cutoff(options_.bodies_max_age);
  // Bodies older than the events are gone with their events anyway.
  if (request.bodies_before != 0 && request.bodies_before <= request.events_before) {
    request.bodies_before = 0;
  }
  request.limit = options_.batch;
  Totals pass;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
      request.bodies_after_seq = bodies_after_seq_;
    }
    Result<store::PurgeResult> step = store_->Purge(request);
    if (!step) return step.error();
    pass.events_deleted += step->events_deleted;
    pass.runs_deleted += step->runs_deleted;
    pass.bodies_emptied += step->bodies_emptied;
    {
      std::lock_guard lock(mu_);
      bodies_after_seq_ = step->bodies_after_seq;
      totals_.events_deleted += step->events_deleted;
      totals_.runs_deleted += step->runs_deleted;
      totals_.bodies_emptied += step->bodies_emptied;
    }
    if (!step->more) break;
  }
  return pass;
}

Totals Job::totals() const {
  std::lock_guard lock(mu_);
  return totals_;
}

}  // namespace triggerd::retention
