#include "store/sqlite/rows.h"

#include <utility>

#include "store/sqlite/json_text.h"

namespace triggerd::store::sqlite {

Workspace ReadWorkspace(const Statement& st) {
  Workspace w;
  w.id = st.ColumnText(0);
  w.name = st.ColumnText(1);
  w.created_at = st.ColumnInt64(2);
  return w;
}

Result<ApiKey> ReadApiKey(const Statement& st) {
  ApiKey k;
  k.id = st.ColumnText(0);
  k.workspace_id = st.ColumnText(1);
  k.name = st.ColumnText(2);
  std::optional<Role> role = ParseRole(st.ColumnText(3));
  if (!role) return Status::Internal("read api key " + k.id + ": unknown role");
  k.role = *role;
  k.prefix = st.ColumnText(4);
  k.hash = st.ColumnText(5);
  k.created_by = st.ColumnText(6);
  k.created_at = st.ColumnInt64(7);
  if (!st.ColumnIsNull(8)) k.revoked_at = st.ColumnInt64(8);
  return k;
}

// The secret columns (store/sqlite/secrets.h) go through `secrets`: sealed on bind, opened on
// read, so the file never holds them in plaintext and callers never see them sealed.
Result<Source> ReadSource(const Statement& st, const SecretCodec& secrets) {
  Source s;
  s.id = st.ColumnText(0);
  s.workspace_id = st.ColumnText(1);
  s.name = st.ColumnText(2);
  s.kind = st.ColumnText(3);
  s.enabled = st.ColumnInt64(5) != 0;
  s.auth_json = st.ColumnText(6);
  s.token_hash = st.ColumnText(8);
  if (!DecodeStringArray(st.ColumnText(9), &s.allowed_ips) ||
      !DecodeStringArray(st.ColumnText(10), &s.allowed_origins)) {
    return Status::Internal("read source " + s.id + ": malformed allowed_ips/allowed_origins");
  }
  s.delivery_id_header = st.ColumnText(11);
  s.max_body_bytes = st.ColumnInt64(12);
  s.created_by = st.ColumnText(13);
  s.created_at = st.ColumnInt64(14);
  s.updated_at = st.ColumnInt64(15);
  s.managed_by = st.ColumnText(16);
  TRIGGERD_ASSIGN_OR_RETURN(s.url_secret, secrets.Open(kSourceUrlSecret, s.id, st.ColumnText(4)));
  TRIGGERD_ASSIGN_OR_RETURN(s.signing_secret,
                            secrets.Open(kSourceSigningSecret, s.id, st.ColumnText(7)));
  TRIGGERD_ASSIGN_OR_RETURN(s.trigger_config_json,
                            secrets.Open(kSourceTriggerConfig, s.id, st.ColumnText(17)));
  return s;
}

void BindSourceFields(Statement& st, const Source& s, const SecretCodec& secrets) {
  st.BindText(3, s.name)
      .BindText(4, s.kind)
      .BindText(5, secrets.Seal(kSourceUrlSecret, s.id, s.url_secret))
      .BindInt64(6, s.enabled ? 1 : 0)
      .BindText(7, s.auth_json)
      .BindText(8, secrets.Seal(kSourceSigningSecret, s.id, s.signing_secret))
      .BindText(9, s.token_hash)
      .BindText(10, EncodeStringArray(s.allowed_ips))
      .BindText(11, EncodeStringArray(s.allowed_origins))
      .BindText(12, s.delivery_id_header)
      .BindInt64(13, s.max_body_bytes)
      .BindText(14, s.created_by)
      .BindInt64(15, s.created_at)
      .BindInt64(16, s.updated_at)
      .BindText(17, s.managed_by)
      .BindText(18, secrets.Seal(kSourceTriggerConfig, s.id, s.trigger_config_json));
}

namespace {

// Columns 0-10, which kEventColumns and kEventSummaryColumns share (columns.h).
template <typename Record>
void ReadEventMeta(const Statement& st, Record* e) {
  e->seq = st.ColumnInt64(0);
  e->id = st.ColumnText(1);
  e->workspace_id = st.ColumnText(2);
  e->source_id = st.ColumnText(3);
  e->received_at = st.ColumnInt64(4);
  e->content_type = st.ColumnText(5);
  e->event_type = st.ColumnText(6);
  e->delivery_id = st.ColumnText(7);
  e->remote_addr = st.ColumnText(8);
  e->verification = st.ColumnText(9);
  e->status = st.ColumnText(10);
}

}  // namespace

Result<Event> ReadEvent(const Statement& st) {
  Event e;
  ReadEventMeta(st, &e);
  if (!DecodeHeaders(st.ColumnText(11), &e.headers)) {
    return Status::Internal("read event " + e.id + ": malformed headers");
  }
  e.body = st.ColumnBlob(12);
  e.payload_json = st.ColumnText(13);
  return e;
}

Result<EventSummary> ReadEventSummary(const Statement& st) {
  EventSummary e;
  ReadEventMeta(st, &e);
  e.body_bytes = st.ColumnInt64(11);
  return e;
}

Status RequireChanged(Connection& db, std::string_view what) {
  return db.changes() > 0 ? Status::Ok() : Status::NotFound(std::string(what) + " not found");
}

std::string Concat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (std::string_view p : parts) s.append(p);
  return s;
}

std::string SqliteParams(std::string_view sql) {
  std::string out(sql);
  for (size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] == '$' && out[i + 1] >= '0' && out[i + 1] <= '9') out[i] = '?';
  }
  return out;
}

Result<Agent> ReadAgent(const Statement& st, const SecretCodec& secrets) {
  Agent a;
  a.id = st.ColumnText(0);
  a.workspace_id = st.ColumnText(1);
  a.name = st.ColumnText(2);
  a.instructions = st.ColumnText(3);
  a.max_attempts = static_cast<int>(st.ColumnInt64(6));
  a.concurrency = static_cast<int>(st.ColumnInt64(7));
  a.created_by = st.ColumnText(8);
  a.created_at = st.ColumnInt64(9);
  a.updated_at = st.ColumnInt64(10);
  a.managed_by = st.ColumnText(11);
  TRIGGERD_ASSIGN_OR_RETURN(a.target_json, secrets.Open(kAgentTargetJson, a.id, st.ColumnText(4)));
  TRIGGERD_ASSIGN_OR_RETURN(a.signing_secret,
                            secrets.Open(kAgentSigningSecret, a.id, st.ColumnText(5)));
  return a;
}

void BindAgentFields(Statement& st, const Agent& a, const SecretCodec& secrets) {
  st.BindText(3, a.name)
      .BindText(4, a.instructions)
      .BindText(5, secrets.Seal(kAgentTargetJson, a.id, a.target_json))
      .BindText(6, secrets.Seal(kAgentSigningSecret, a.id, a.signing_secret))
      .BindInt64(7, a.max_attempts)
      .BindInt64(8, a.concurrency)
      .BindText(9, a.created_by)
      .BindInt64(10, a.created_at)
      .BindInt64(11, a.updated_at)
      .BindText(12, a.managed_by);
}

Result<Trigger> ReadTrigger(const Statement& st) {
  Trigger t;
  t.id = st.ColumnText(0);
  t.workspace_id = st.ColumnText(1);
  t.source_id = st.ColumnText(2);
  t.agent_id = st.ColumnText(3);
  t.name = st.ColumnText(4);
  t.filter = st.ColumnText(5);
  if (!DecodeStringArray(st.ColumnText(6), &t.event_types)) {
    return Status::Internal("read trigger " + t.id + ": malformed event_types");
  }
  t.include_payload = st.ColumnInt64(7) != 0;
  t.enabled = st.ColumnInt64(8) != 0;
  t.created_by = st.ColumnText(9);
  t.created_at = st.ColumnInt64(10);
  t.updated_at = st.ColumnInt64(11);
  t.managed_by = st.ColumnText(12);
  return t;
}

void BindTriggerFields(Statement& st, const Trigger& t) {
  st.BindText(3, t.source_id)
      .BindText(4, t.agent_id)
      .BindText(5, t.name)
      .BindText(6, t.filter)
      .BindText(7, EncodeStringArray(t.event_types))
      .BindInt64(8, t.include_payload ? 1 : 0)
      .BindInt64(9, t.enabled ? 1 : 0)
      .BindText(10, t.created_by)
      .BindInt64(11, t.created_at)
      .BindInt64(12, t.updated_at)
      .BindText(13, t.managed_by);
}

Result<Match> ReadMatch(const Statement& st) {
  Match m;
  m.seq = st.ColumnInt64(0);
  m.event_id = st.ColumnText(1);
  m.trigger_id = st.ColumnText(2);
  std::optional<MatchOutcome> outcome = ParseMatchOutcome(st.ColumnText(3));
  if (!outcome) return Status::Internal("read match " + std::to_string(m.seq) + ": bad outcome");
  m.outcome = *outcome;
  m.run_id = st.ColumnText(4);
  m.message = st.ColumnText(5);
  m.evaluated_at = st.ColumnInt64(6);
  m.replay = st.ColumnInt64(7) != 0;
  m.reason = st.ColumnText(8);
  return m;
}

Result<Run> ReadRun(const Statement& st) {
  Run r;
  r.seq = st.ColumnInt64(0);
  r.id = st.ColumnText(1);
  r.workspace_id = st.ColumnText(2);
  r.event_id = st.ColumnText(3);
  r.trigger_id = st.ColumnText(4);
  r.agent_id = st.ColumnText(5);
  r.owner = st.ColumnText(6);
  r.include_payload = st.ColumnInt64(7) != 0;
  r.max_attempts = static_cast<int>(st.ColumnInt64(8));
  r.created_at = st.ColumnInt64(9);
  std::optional<RunStatus> status = ParseRunStatus(st.ColumnText(10));
  if (!status) return Status::Internal("read run " + r.id + ": unknown status");
  r.status = *status;
  r.attempts = static_cast<int>(st.ColumnInt64(11));
  r.next_attempt_at = st.ColumnInt64(12);
  r.lease_owner = st.ColumnText(13);
  r.lease_expires_at = st.ColumnInt64(14);
  if (!st.ColumnIsNull(15)) r.started_at = st.ColumnInt64(15);
  if (!st.ColumnIsNull(16)) r.finished_at = st.ColumnInt64(16);
  r.last_error = st.ColumnText(17);
  return r;
}

RunMessage ReadRunMessage(const Statement& st) {
  RunMessage m;
  m.run_id = st.ColumnText(0);
  m.attempt = static_cast<int>(st.ColumnInt64(1));
  m.role = st.ColumnText(2);
  m.content = st.ColumnText(3);
  m.at = st.ColumnInt64(4);
  return m;
}

Result<bool> Exists(Connection& db, std::string_view sql, std::string_view op, std::string_view id,
                    std::string_view workspace_id) {
  TRIGGERD_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql, op));
  st.BindText(1, id).BindText(2, workspace_id);
  return st.Step();
}

// hmac_secret goes through `secrets`, as the secret columns of sources and agents do.
Result<AgentWebhook> ReadAgentWebhook(const Statement& st, const SecretCodec& secrets) {
  AgentWebhook w;
  w.id = st.ColumnText(0);
  w.workspace_id = st.ColumnText(1);
  w.agent_id = st.ColumnText(2);
  w.kind = st.ColumnText(3);
  w.enabled = st.ColumnInt64(4) != 0;
  w.token_hash = st.ColumnText(5);
  w.token_prefix = st.ColumnText(6);
  w.event_source = st.ColumnText(7);
  if (!DecodeStringArray(st.ColumnText(8), &w.allowed_ips)) {
    return Status::Internal("read agent webhook " + w.id + ": malformed allowed_ips");
  }
  TRIGGERD_ASSIGN_OR_RETURN(w.hmac_secret,
                            secrets.Open(kAgentWebhookHmacSecret, w.id, st.ColumnText(9)));
  w.description = st.ColumnText(10);
  w.metadata_json = st.ColumnText(11);
  w.created_by = st.ColumnText(12);
  w.created_at = st.ColumnInt64(13);
  w.updated_at = st.ColumnInt64(14);
  w.hmac_enforcement = st.ColumnText(15);
  w.hmac_created_at = st.ColumnInt64(16);
  return w;
}

void BindAgentWebhookFields(Statement& st, const AgentWebhook& w, const SecretCodec& secrets) {
  st.BindText(3, w.agent_id)
      .BindText(4, w.kind)
      .BindInt64(5, w.enabled ? 1 : 0)
      .BindText(6, w.token_hash)
      .BindText(7, w.token_prefix)
      .BindText(8, w.event_source)
      .BindText(9, EncodeStringArray(w.allowed_ips))
      .BindText(10, secrets.Seal(kAgentWebhookHmacSecret, w.id, w.hmac_secret))
      .BindText(11, w.description)
      .BindText(12, w.metadata_json)
      .BindText(13, w.created_by)
      .BindInt64(14, w.created_at)
      .BindInt64(15, w.updated_at)
      .BindText(16, w.hmac_enforcement)
      .BindInt64(17, w.hmac_created_at);
}

}  // namespace triggerd::store::sqlite
