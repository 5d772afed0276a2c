// PostgresStore: what several nodes share besides the data — the notifications (the listener
// thread, the runs-queued and config-changed listeners) and the node heartbeats (pg_store.h,
// "Notifications").
#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include "store/postgres/pg_rows.h"
#include "store/postgres/pg_store.h"

namespace triggerd::store::postgres {

namespace {

// The listener thread wakes this often to notice Close() even without traffic.
constexpr int kListenPollMillis = 100;
constexpr std::chrono::milliseconds kListenMaxBackoff{5000};

}  // namespace

// ---- Listeners ----

void PostgresStore::SetRunsQueuedListener(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(runs_listener_mu_);
  runs_queued_listener_ = std::move(listener);
}

void PostgresStore::SetConfigChangedListener(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(config_listener_mu_);
  config_changed_listener_ = std::move(listener);
}

// Called under the registration lock (and no other lock of the store), so that once a Set…
// has returned the old listener is not running and never runs again.
void PostgresStore::FireRunsQueued() {
  std::lock_guard<std::mutex> lock(runs_listener_mu_);
  if (runs_queued_listener_) runs_queued_listener_();
}

void PostgresStore::FireConfigChanged() {
  std::lock_guard<std::mutex> lock(config_listener_mu_);
  if (config_changed_listener_) config_changed_listener_();
}

void PostgresStore::OnNotification(std::string_view channel, std::string_view payload) {
  const size_t slash = payload.rfind('/');
  if (slash == std::string_view::npos) return;
  if (payload.substr(0, slash) != schema_) return;        // another namespace on the same database
  if (payload.substr(slash + 1) == instance_id_) return;  // our own commit: already told
  if (channel == kRunsChannel) {
    FireRunsQueued();
  } else if (channel == kConfigChannel) {
    FireConfigChanged();
  }
}

void PostgresStore::ListenLoop(std::unique_ptr<PgConnection> conn) {
  std::chrono::milliseconds backoff{100};
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(listen_mu_);
      if (listen_stop_) return;
    }
    if (conn == nullptr) {
      Result<std::unique_ptr<PgConnection>> fresh = PgConnection::Connect(url_, application_name_);
      Status listening =
          fresh ? (*fresh)->Exec(Concat({"LISTEN ", kRunsChannel, "; LISTEN ", kConfigChannel}),
                                 "listen for notifications")
                : fresh.error();
      if (!listening.ok()) {
        std::unique_lock<std::mutex> lock(listen_mu_);
        listen_cv_.wait_for(lock, backoff, [this] { return listen_stop_; });
        backoff = std::min(backoff * 2, kListenMaxBackoff);
        continue;
      }
      conn = std::move(fresh).value();
      backoff = std::chrono::milliseconds{100};
      // Notifications sent while no connection listened are lost: tell both listeners once.
      FireRunsQueued();
      FireConfigChanged();
    }
    PGconn* c = conn->raw();
    pollfd fd{PQsocket(c), POLLIN, 0};
    const int ready = poll(&fd, 1, kListenPollMillis);
    if (ready < 0) continue;
    if (ready > 0 && PQconsumeInput(c) != 1) {
      conn.reset();  // lost: reconnect (with backoff) above
      continue;
    }
    while (PGnotify* n = PQnotifies(c)) {
      const std::string channel = n->relname != nullptr ? n->relname : "";
      const std::string payload = n->extra != nullptr ? n->extra : "";
      PQfreemem(n);
      OnNotification(channel, payload);
    }
    if (!conn->healthy()) conn.reset();
  }
}

// ---- Heartbeats ----

Result<int> PostgresStore::HeartbeatNode(std::string_view node_id, int64_t now,
                                         int64_t ttl_micros) {
  int alive = 1;
  TRIGGERD_RETURN_IF_ERROR(Write("heartbeat node", [&](PgConnection& db, TxnEffects&) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r, db.Exec("INSERT INTO nodes (id, last_seen) VALUES ($1, $2) "
                            "ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen",
                            Params().Text(node_id).Int64(now), "record node heartbeat"));
    TRIGGERD_ASSIGN_OR_RETURN(PgResult gone,
                              db.Exec("DELETE FROM nodes WHERE last_seen < $1",
                                      Params().Int64(now - ttl_micros), "forget silent nodes"));
    TRIGGERD_ASSIGN_OR_RETURN(PgResult count,
                              db.Exec("SELECT count(*) FROM nodes", Params(), "count nodes"));
    alive = static_cast<int>(std::max<int64_t>(1, count.Int64(0, 0)));
    return Status::Ok();
  }));
  return alive;
}

// ---- The master key ----

Status PostgresStore::CheckMasterKey() {
  using Recorded = std::optional<std::string>;
  Result<Recorded> recorded = Read([](PgConnection& db) -> Result<Recorded> {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r, db.Exec("SELECT value FROM store_settings WHERE name = 'master_key_id'",
                            Params(), "read the master key id"));
    if (r.rows() == 0) return Recorded();
    return Recorded(r.Text(0, 0));
  });
  if (!recorded) return recorded.error();
  if (!recorded->has_value()) return Status::Ok();  // a database opened only without a key
  return secrets().CheckDatabaseKeyId(**recorded);
}

}  // namespace triggerd::store::postgres
