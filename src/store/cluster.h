// Cluster: what several nodes on one database share through the store besides the data — being
// told of another node's configuration changes, and the heartbeats that count the live nodes.
// A one-process store (SQLite) keeps the defaults: never told, always one node. One of the narrow
// interfaces of store/ (store.h aggregates them).
//
// Thread safety: every method may be called from any thread concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "common/result.h"

namespace triggerd::store {

class Cluster {
 public:
  virtual ~Cluster() = default;

  // Several nodes on one database (PostgreSQL): `listener` runs (on a store thread; it must not
  // block or call the store) within a second after ANOTHER process committed a change to what
  // nodes cache — workspaces, API keys, sources, agents, triggers (and their webhooks/extras) —
  // so the caller reloads its caches. Same replacement contract as RunQueue::SetRunsQueuedListener. The
  // SQLite store has one process, whose own writes its callers already know of: never called.
  virtual void SetConfigChangedListener(std::function<void()> listener) { (void)listener; }
  // Several nodes: records that `node_id` is alive at `now` (micros), forgets nodes not seen for
  // `ttl_micros`, and returns how many nodes are alive, this one included. Nodes call it every
  // few seconds to share the ingest rate limits (ingest::Ingestor::SetRateShare) and to show the
  // cluster in /metrics. A one-process store (SQLite) answers 1.
  virtual Result<int> HeartbeatNode(std::string_view node_id, int64_t now, int64_t ttl_micros) {
    (void)node_id, (void)now, (void)ttl_micros;
    return 1;
  }
  // Several nodes: whether this node's master key ring still holds the key the database records
  // for its secrets (another node may have finished a rotation to a key this one lacks). OK, or
  // code crypto::Sealer::kWrongKey ("wrong_master_key") saying which key the database needs; other
  // errors when the database cannot be read. Checked at open by every backend; a one-process
  // store (SQLite) answers OK here.
  virtual Status CheckMasterKey() { return Status::Ok(); }
};

}  // namespace triggerd::store
