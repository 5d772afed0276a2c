// The row mapping of the SQLite store: readers (Statement row -> domain record), binders (domain
// record -> parameters) and the small helpers every file of the store uses to run a statement
// and shape its rows. Column lists: store/columns.h. Secret columns (store/sqlite/secrets.h) go
// through a SecretCodec: sealed on bind, opened on read, so the file never holds them in
// plaintext and callers never see them sealed. Internal to store/sqlite.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "store/columns.h"
#include "store/compat_store.h"
#include "store/records.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/secrets.h"

namespace triggerd::store::sqlite {

// List queries clamp their limit to 1..kMaxListLimit.
inline constexpr int kMaxListLimit = 500;

Workspace ReadWorkspace(const Statement& st);
Result<ApiKey> ReadApiKey(const Statement& st);
Result<Source> ReadSource(const Statement& st, const SecretCodec& secrets);
// Binds every non-key column of a source to ?3..?18 (?1 = id, ?2 = workspace_id), shared by
// INSERT and UPDATE so the two cannot drift apart.
void BindSourceFields(Statement& st, const Source& s, const SecretCodec& secrets);
Result<Event> ReadEvent(const Statement& st);
// A row of kEventSummaryColumns + the body's size.
Result<EventSummary> ReadEventSummary(const Statement& st);
Result<Agent> ReadAgent(const Statement& st, const SecretCodec& secrets);
// Binds every non-key column of an agent to ?3..?12 (?1 = id, ?2 = workspace_id).
void BindAgentFields(Statement& st, const Agent& a, const SecretCodec& secrets);
Result<Trigger> ReadTrigger(const Statement& st);
// Binds every non-key column of a trigger to ?3..?13 (?1 = id, ?2 = workspace_id).
void BindTriggerFields(Statement& st, const Trigger& t);
Result<Match> ReadMatch(const Statement& st);
Result<Run> ReadRun(const Statement& st);
RunMessage ReadRunMessage(const Statement& st);
Result<AgentWebhook> ReadAgentWebhook(const Statement& st, const SecretCodec& secrets);
// Binds every column but id and workspace_id to ?3..?15, shared by INSERT and UPDATE.
void BindAgentWebhookFields(Statement& st, const AgentWebhook& w, const SecretCodec& secrets);

// Runs a SELECT and maps each row with `read_row` (Statement -> T or Result<T>).
template <typename T, typename ReadRow>
Result<std::vector<T>> CollectRows(Statement& st, ReadRow read_row) {
  std::vector<T> rows;
  TRIGGERD_RETURN_IF_ERROR(ForEachRow(st, [&](const Statement& row) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(T item, Result<T>(read_row(row)));
    rows.push_back(std::move(item));
    return Status::Ok();
  }));
  return rows;
}

// A single-row SELECT: the row, or kNotFound with `what` when there is none.
template <typename T, typename ReadRow>
Result<T> OneRow(Statement& st, ReadRow read_row, std::string_view what) {
  TRIGGERD_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound(std::string(what) + " not found");
  return Result<T>(read_row(st));
}

// For UPDATE/DELETE keyed by (workspace, id): no row changed means no such row in that workspace.
Status RequireChanged(Connection& db, std::string_view what);

// True when `sql` (a SELECT binding ?1 = id, ?2 = workspace_id) returns a row.
Result<bool> Exists(Connection& db, std::string_view sql, std::string_view op, std::string_view id,
                    std::string_view workspace_id);

std::string Concat(std::initializer_list<std::string_view> parts);

// `sql` written with PostgreSQL's $n parameters (the statements both backends share, e.g.
// store/run_sql.h) in SQLite's spelling, ?n: the same numbered parameter. (SQLite would read $1
// as a named parameter, numbered by first appearance rather than by its digits.)
std::string SqliteParams(std::string_view sql);

}  // namespace triggerd::store::sqlite
