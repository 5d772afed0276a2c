// The column lists of the store's tables, in the order the row mapping of both backends reads and
// binds them (store/sqlite/rows.cc, store/postgres/pg_rows.cc). The SQLite schema (schema/*.sql)
// and the PostgreSQL one (schema/postgres/*.sql) name the same columns; a change to either must
// keep both schemas, these lists and both row mappings in step. Internal to store/.
#pragma once

#include <string_view>

namespace triggerd::store {

inline constexpr std::string_view kWorkspaceColumns = "id, name, created_at";

inline constexpr std::string_view kApiKeyColumns =
    "id, workspace_id, name, role, prefix, hash, created_by, created_at, revoked_at";

inline constexpr std::string_view kSourceColumns =
    "id, workspace_id, name, kind, url_secret, enabled, auth_json, signing_secret, token_hash, "
    "allowed_ips, allowed_origins, delivery_id_header, max_body_bytes, created_by, created_at, "
    "updated_at, managed_by, trigger_config";

// kEventColumns starts with kEventSummaryColumns' columns, in the same positions (0-10), so one
// row reader serves both (ReadEventMeta in each backend's row mapping).
inline constexpr std::string_view kEventColumns =
    "seq, id, workspace_id, source_id, received_at, content_type, event_type, delivery_id, "
    "remote_addr, verification, status, headers, body, payload_json";

// ListEvents' columns (EventSummary): no headers, body or payload_json. The last column, the
// body's size, is each backend's expression (kEventSummaryColumns + "length(body)" on SQLite,
// "octet_length(body)" on PostgreSQL): both read the size without loading the body (SQLite from
// the record header of a BLOB, PostgreSQL from the TOAST pointer).
inline constexpr std::string_view kEventSummaryColumns =
    "seq, id, workspace_id, source_id, received_at, content_type, event_type, delivery_id, "
    "remote_addr, verification, status, ";

inline constexpr std::string_view kAgentColumns =
    "id, workspace_id, name, instructions, target_json, signing_secret, max_attempts, "
    "concurrency, created_by, created_at, updated_at, managed_by";

inline constexpr std::string_view kTriggerColumns =
    "id, workspace_id, source_id, agent_id, name, filter, event_types, include_payload, enabled, "
    "created_by, created_at, updated_at, managed_by";

inline constexpr std::string_view kMatchColumns =
    "seq, event_id, trigger_id, outcome, run_id, message, evaluated_at, replay, reason";

inline constexpr std::string_view kRunColumns =
    "seq, id, workspace_id, event_id, trigger_id, agent_id, owner, include_payload, "
    "max_attempts, created_at, status, attempts, next_attempt_at, lease_owner, lease_expires_at, "
    "started_at, finished_at, last_error";

inline constexpr std::string_view kAgentWebhookColumns =
    "id, workspace_id, agent_id, kind, enabled, token_hash, token_prefix, event_source, "
    "allowed_ips, hmac_secret, description, metadata_json, created_by, created_at, updated_at, "
    "hmac_enforcement, hmac_created_at";

inline constexpr std::string_view kRunMessageColumns = "run_id, attempt, role, content, at";

}  // namespace triggerd::store
