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
//
// With SQLite (one process) serve does not start a follower: its own writes already update the
// caches through the catalog.
//
// Thread safety: Start/Stop from one thread; the rest is internal.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

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
  std::thread thread_;
};

}  // namespace triggerd::app
