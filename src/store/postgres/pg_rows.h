// The row mapping of the PostgreSQL store: readers (PgResult row -> domain record), binders
// (domain record -> Params), and the small helpers every file of the store uses to run a statement.
// Column lists (store/columns.h) and readers must stay in step with schema/postgres/*.sql. Secret
// columns (store/secret_codec.h) are sealed on bind and opened on read, as in the SQLite store.
// Internal to store/postgres.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "store/columns.h"
#include "store/compat_store.h"
#include "store/postgres/connection.h"
#include "store/records.h"
#include "store/secret_codec.h"

namespace triggerd::store::postgres {

// List queries clamp their limit to 1..kMaxListLimit.
inline constexpr int kMaxListLimit = 500;

Result<Workspace> ReadWorkspace(const PgResult& r, int row);

Result<ApiKey> ReadApiKey(const PgResult& r, int row);

Result<Source> ReadSource(const PgResult& r, int row, const SecretCodec& secrets);
// Adds every column of kSourceColumns in order ($1 = id, $2 = workspace_id, …, $18).
void AddSourceParams(Params& p, const Source& s, const SecretCodec& secrets);

Result<Event> ReadEvent(const PgResult& r, int row);
// A row of kEventSummaryColumns + the body's size.
Result<EventSummary> ReadEventSummary(const PgResult& r, int row);

Result<Agent> ReadAgent(const PgResult& r, int row, const SecretCodec& secrets);
void AddAgentParams(Params& p, const Agent& a, const SecretCodec& secrets);  // $1..$12

Result<Trigger> ReadTrigger(const PgResult& r, int row);
void AddTriggerParams(Params& p, const Trigger& t);  // $1..$13

Result<Match> ReadMatch(const PgResult& r, int row);

Result<Run> ReadRun(const PgResult& r, int row);

Result<RunMessage> ReadRunMessage(const PgResult& r, int row);

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

// The outbox statements (append_batch.cc; AppendMatches uses them too): a match record ($1
// workspace, $2 event, …) and a new run
// ($1 workspace, $2 event, $3 run id, …). `only_if_inserted_here`: written only when this
// transaction inserted event $2 (the group commit's duplicate check).
std::string InsertMatchSql(bool only_if_inserted_here);
Params MatchParams(std::string_view workspace_id, std::string_view event_id, const Match& m);
std::string InsertRunSql(bool only_if_inserted_here);
Params RunParams(std::string_view workspace_id, std::string_view event_id, const NewRun& r);

// Runs a statement whose rows are not needed.
Status ExecOnly(PgConnection& db, std::string_view sql, const Params& p, std::string_view op);
// For UPDATE/DELETE keyed by (workspace, id): no row changed means no such row in that workspace
// (kNotFound "<what> not found").
Status RequireChanged(const PgResult& r, std::string_view what);
Status ExecChanged(PgConnection& db, std::string_view sql, const Params& p, std::string_view op,
                   std::string_view what);
// True when `sql` (binding $1 = id, $2 = workspace_id) returns a row.
Result<bool> Exists(PgConnection& db, std::string_view sql, std::string_view op,
                    std::string_view id, std::string_view workspace_id);

std::string Concat(std::initializer_list<std::string_view> parts);
// "$n", the text of parameter n.
std::string Placeholder(int n);

}  // namespace triggerd::store::postgres
