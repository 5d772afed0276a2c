#include "app/cluster.h"

#include <spdlog/spdlog.h>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/crypto_sealer.h"
#include "ingest/ingest.h"
#include "store/store.h"

namespace triggerd::app {

ClusterFollower::ClusterFollower(store::Store* store, catalog::Catalog* catalog,
                                 ingest::Ingestor* ingestor, const Clock* clock,
                                 ClusterOptions options)
    : store_(store),
      catalog_(catalog),
      ingestor_(ingestor),
      clock_(clock),
      options_(std::move(options)) {}

ClusterFollower::~ClusterFollower() { Stop(); }

void ClusterFollower::Start() {
  store_->SetConfigChangedListener([this] {
    {
      std::lock_guard lock(mu_);
      changed_ = true;
    }
    cv_.notify_all();
  });
  Heartbeat();
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void ClusterFollower::Stop() {
  if (!started_) return;
  started_ = false;
  store_->SetConfigChangedListener({});  // returns once no call is in progress
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // The node's row stays until the others age it out (node_ttl).
}

int ClusterFollower::nodes_alive() const {
  std::lock_guard lock(mu_);
  return nodes_alive_;
}

uint64_t ClusterFollower::reloads() const {
  std::lock_guard lock(mu_);
  return reloads_;
}

void ClusterFollower::Loop() {
  auto next_heartbeat = std::chrono::steady_clock::now() + options_.heartbeat;
  bool retry_reload = false;  // a reload failed (database unreachable): again at the heartbeat
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_until(lock, next_heartbeat, [this] { return stop_ || changed_; });
    if (stop_) break;
    if (changed_) {
      changed_ = false;  // a change during the reload sets it again: one more reload follows
      lock.unlock();
      retry_reload = !ReloadCaches();
      lock.lock();
      ++reloads_;
    }
    if (std::chrono::steady_clock::now() >= next_heartbeat) {
      lock.unlock();
      Heartbeat();
      lock.lock();
      next_heartbeat = std::chrono::steady_clock::now() + options_.heartbeat;
      if (retry_reload) changed_ = true;
    }
  }
}

void ClusterFollower::Heartbeat() {
  if (!MasterKeyFits()) return;
  const int64_t ttl =
      std::chrono::duration_cast<std::chrono::microseconds>(options_.node_ttl).count();
  auto alive = store_->HeartbeatNode(options_.node_id, clock_->NowMicros(), ttl);
  if (!alive) {
    spdlog::warn("cluster: heartbeat failed: {}", alive.error().message());
    return;  // keep the last share: a database hiccup must not multiply the limits
  }
  int previous;
  {
    std::lock_guard lock(mu_);
    previous = nodes_alive_;
    nodes_alive_ = *alive;
  }
  if (previous != *alive) spdlog::info("cluster: {} node(s) alive", *alive);
  ingestor_->SetRateShare(*alive);
}

bool ClusterFollower::MasterKeyFits() {
  if (wrong_master_key_) return false;
  Status key = store_->CheckMasterKey();
  if (key.ok()) return true;
  if (key.code() != crypto::Sealer::kWrongKey) {
    spdlog::warn("cluster: checking the master key: {}", key.message());
    return true;  // the database is unreachable: the reload or heartbeat reports it
  }
  wrong_master_key_ = true;
  spdlog::critical("cluster: this node can no longer open the database's secrets; stopping: {}",
                   key.message());
  if (options_.on_wrong_master_key) options_.on_wrong_master_key(key);
  return false;
}

bool ClusterFollower::ReloadCaches() {
  if (!MasterKeyFits()) return true;  // nothing to retry: the node is stopping
  if (Status s = catalog_->Reload(); !s.ok()) {
    spdlog::error("cluster: reloading the caches (retried at the next heartbeat): {}",
                  s.message());
    return false;
  }
  spdlog::debug("cluster: caches reloaded after a change on another node");
  return true;
}

}  // namespace triggerd::app
