// ClusterFollower: what a node does because other nodes share its database (PostgreSQL).
//
// * Caches follow other nodes' changes. The store's config-changed listener (fired within a
//   second of another node's commit, via NOTIFY) only raises a flag; the follower's thread then
//   has the catalog tell its observers to reload (catalog::Catalog::Reload: the ingest cache,
//   the schedule/poll producer, the dispatcher's agent targets). Changes arriving while a reload
//   runs are folded into one more reload, never lost.
// * Rate limits are shared. Every `heartbeat` the node records itself in the store
//   (Store::HeartbeatNode) and gives the ingestor its share of the configured limits
//   (1 / nodes alive). A node that stops heartbeating is forgotten after `node_ttl`.
// * The master key still fits. At every heartbeat and before every reload the node checks that
//   its key ring holds the key the database records for its secrets (Store::CheckMasterKey):
//   another node may have finished a rotation to a key this one lacks, and a node that cannot
//   open the secrets would answer 404 for every new source. On a mismatch it logs the reason at
//   critical and calls `on_wrong_master_key` once (serve stops the process, exit status 1), as a
//   start with that key would have refused.
//
// With SQLite (one process) serve does not start a follower: its own writes already update the
// caches through the catalog.
//
// Thread safety: Start/Stop from one thread; the rest is internal.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"

namespace triggerd {
class Clock;
namespace store {
class Store;
}
namespace ingest {
class Ingestor;
}
namespace catalog {
class Catalog;
}
}  // namespace triggerd

namespace triggerd::app {

struct ClusterOptions {
  std::string node_id;  // unique per process, e.g. "<host>:<port>:<pid>"
  std::chrono::milliseconds heartbeat{2000};
  std::chrono::milliseconds node_ttl{10000};
  // Called once, from the follower's thread, when the database's master key is no longer in this
  // node's ring (the Status says which key it needs). Must not call Stop() (it joins that
  // thread); serve raises SIGTERM. nullptr: only logged.
  std::function<void(const Status&)> on_wrong_master_key;
};

class ClusterFollower {
 public:
  // None of the pointers is owned; all must outlive the follower (Stop() before they go).
  // `ingestor` gets the rate share; `catalog` reloads the caches.
  ClusterFollower(store::Store* store, catalog::Catalog* catalog, ingest::Ingestor* ingestor,
                  const Clock* clock, ClusterOptions options);
  ~ClusterFollower();  // Stop()

  ClusterFollower(const ClusterFollower&) = delete;
  ClusterFollower& operator=(const ClusterFollower&) = delete;

  // Registers the config-changed listener, heartbeats once (so the rate share is right before
  // the first request) and starts the thread.
  void Start();
  // Unregisters the listener and joins the thread. Idempotent.
  void Stop();

  int nodes_alive() const;
  uint64_t reloads() const;

 private:
  void Loop();
  void Heartbeat();
  bool ReloadCaches();  // false when a cache could not be reloaded (retried)
  // False (after on_wrong_master_key) when the database's master key is not in this node's ring.
  bool MasterKeyFits();

  store::Store* const store_;
  catalog::Catalog* const catalog_;
  ingest::Ingestor* const ingestor_;
  const Clock* const clock_;
  const ClusterOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool changed_ = false;
  bool stop_ = false;
  bool started_ = false;
  int nodes_alive_ = 1;
  uint64_t reloads_ = 0;
  bool wrong_master_key_ = false;  // follower thread only
  std::thread thread_;
};

}  // namespace triggerd::app
