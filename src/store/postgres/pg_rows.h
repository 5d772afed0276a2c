// The row mapping of the PostgreSQL store: column lists, readers (PgResult row -> domain record)
// and binders (domain record -> Params). Column lists and readers must stay in step with
// schema/postgres/*.sql. Secret columns (store/secret_codec.h) are sealed on bind and opened on
// read, as in the SQLite store. Internal to store/postgres.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/postgres/connection.h"
#include "store/secret_codec.h"
#include "store/store.h"

namespace triggerd::store::postgres {

inline constexpr std::string_view kWorkspaceColumns = "id, name, created_at";
Result<Workspace> ReadWorkspace(const PgResult& r, int row);

inline constexpr std::string_view kApiKeyColumns =
    "id, workspace_id, name, role, prefix, hash, created_by, created_at, revoked_at";
Result<ApiKey> ReadApiKey(const PgResult& r, int row);

inline constexpr std::string_view kSourceColumns =
    "id, workspace_id, name, kind, url_secret, enabled, auth_json, signing_secret, token_hash, "
    "allowed_ips, allowed_origins, delivery_id_header, max_body_bytes, created_by, created_at, "
    "updated_at, managed_by, trigger_config";
Result<Source> ReadSource(const PgResult& r, int row, const SecretCodec& secrets);
// Adds every column of kSourceColumns in order ($1 = id, $2 = workspace_id, …, $18).
void AddSourceParams(Params& p, const Source& s, const SecretCodec& secrets);

inline constexpr std::string_view kEventColumns =
    "seq, id, workspace_id, source_id, received_at, content_type, event_type, delivery_id, "
    "headers, body, payload_json, remote_addr, verification, status";
Result<Event> ReadEvent(const PgResult& r, int row);

inline constexpr std::string_view kAgentColumns =
    "id, workspace_id, name, instructions, target_json, signing_secret, max_attempts, "
    "concurrency, created_by, created_at, updated_at, managed_by";
Result<Agent> ReadAgent(const PgResult& r, int row, const SecretCodec& secrets);
void AddAgentParams(Params& p, const Agent& a, const SecretCodec& secrets);  // $1..$12

inline constexpr std::string_view kTriggerColumns =
    "id, workspace_id, source_id, agent_id, name, filter, event_types, include_payload, enabled, "
    "created_by, created_at, updated_at, managed_by";
Result<Trigger> ReadTrigger(const PgResult& r, int row);
void AddTriggerParams(Params& p, const Trigger& t);  // $1..$13

inline constexpr std::string_view kMatchColumns =
    "seq, event_id, trigger_id, outcome, run_id, message, evaluated_at, replay";
Result<Match> ReadMatch(const PgResult& r, int row);

inline constexpr std::string_view kRunColumns =
    "seq, id, workspace_id, event_id, trigger_id, agent_id, owner, include_payload, "
    "max_attempts, created_at, status, attempts, next_attempt_at, lease_owner, lease_expires_at, "
    "started_at, finished_at, last_error";
Result<Run> ReadRun(const PgResult& r, int row);

inline constexpr std::string_view kRunMessageColumns = "run_id, attempt, role, content, at";
Result<RunMessage> ReadRunMessage(const PgResult& r, int row);

inline constexpr std::string_view kAgentWebhookColumns =
    "id, workspace_id, agent_id, kind, enabled, token_hash, token_prefix, event_source, "
    "allowed_ips, hmac_secret, description, metadata_json, created_by, created_at, updated_at";
Result<AgentWebhook> ReadAgentWebhook(const PgResult& r, int row, const SecretCodec& secrets);
void AddAgentWebhookParams(Params& p, const AgentWebhook& w,
                           const SecretCodec& secrets);  // $1..$15

// Maps every row of `r` with `read` (PgResult, row -> Result<T>).
template <typename T, typename ReadRow>
Result<std::vector<T>> CollectRows(const PgResult& r, ReadRow read) {
  std::vector<T> rows;
  rows.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    Result<T> item = read(r, i);
    if (!item) return item.error();
    rows.push_back(std::move(item).value());
  }
  return rows;
}

// The first row of `r`, or kNotFound "<what> not found".
template <typename T, typename ReadRow>
Result<T> OneRow(const PgResult& r, ReadRow read, std::string_view what) {
  if (r.rows() == 0) return Status::NotFound(std::string(what) + " not found");
  return read(r, 0);
}

// The rows of a list query fetched with LIMIT limit + 1: the extra row only tells that another
// page exists, and then the cursor is the seq of the last row returned.
template <typename T>
Page<T> ToPage(std::vector<T> rows, int limit) {
  Page<T> page;
  page.items = std::move(rows);
  if (page.items.size() > static_cast<size_t>(limit)) {
    page.items.pop_back();
    page.next_cursor = page.items.back().seq;
  }
  return page;
}

// The outbox statements (pg_store.cc): a match record ($1 workspace, $2 event, …) and a new run
// ($1 workspace, $2 event, $3 run id, …). `only_if_inserted_here`: written only when this
// transaction inserted event $2 (the group commit's duplicate check).
std::string InsertMatchSql(bool only_if_inserted_here);
Params MatchParams(std::string_view workspace_id, std::string_view event_id, const Match& m);
std::string InsertRunSql(bool only_if_inserted_here);
Params RunParams(std::string_view workspace_id, std::string_view event_id, const NewRun& r);

std::string Concat(std::initializer_list<std::string_view> parts);
// "$n", the text of parameter n.
std::string Placeholder(int n);

}  // namespace triggerd::store::postgres
