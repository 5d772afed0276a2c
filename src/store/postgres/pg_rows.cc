#include "store/postgres/pg_rows.h"

#include <utility>

// The JSON text of string lists and headers is the SQLite store's (backend-neutral) encoding.
#include "store/sqlite/json_text.h"

namespace triggerd::store::postgres {

using sqlite::DecodeHeaders;
using sqlite::DecodeStringArray;
using sqlite::EncodeStringArray;

std::string Concat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (std::string_view p : parts) s.append(p);
  return s;
}

Status RequireChanged(const PgResult& r, std::string_view what) {
  return r.affected() > 0 ? Status::Ok() : Status::NotFound(std::string(what) + " not found");
}

Status ExecChanged(PgConnection& db, std::string_view sql, const Params& p, std::string_view op,
                   std::string_view what) {
  TRIGGERD_ASSIGN_OR_RETURN(PgResult r, db.Exec(sql, p, op));
  return RequireChanged(r, what);
}

Status ExecOnly(PgConnection& db, std::string_view sql, const Params& p, std::string_view op) {
  Result<PgResult> r = db.Exec(sql, p, op);
  return r ? Status::Ok() : r.error();
}

Result<bool> Exists(PgConnection& db, std::string_view sql, std::string_view op,
                    std::string_view id, std::string_view workspace_id) {
  TRIGGERD_ASSIGN_OR_RETURN(PgResult r, db.Exec(sql, Params().Text(id).Text(workspace_id), op));
  return r.rows() > 0;
}

std::string Placeholder(int n) {
  std::string s(1, '$');
  s.append(std::to_string(n));
  return s;
}

Result<Workspace> ReadWorkspace(const PgResult& r, int row) {
  Workspace w;
  w.id = r.Text(row, 0);
  w.name = r.Text(row, 1);
  w.created_at = r.Int64(row, 2);
  return w;
}

Result<ApiKey> ReadApiKey(const PgResult& r, int row) {
  ApiKey k;
  k.id = r.Text(row, 0);
  k.workspace_id = r.Text(row, 1);
  k.name = r.Text(row, 2);
  std::optional<Role> role = ParseRole(r.Text(row, 3));
  if (!role) return Status::Internal("read api key " + k.id + ": unknown role");
  k.role = *role;
  k.prefix = r.Text(row, 4);
  k.hash = r.Text(row, 5);
  k.created_by = r.Text(row, 6);
  k.created_at = r.Int64(row, 7);
  k.revoked_at = r.OptInt64(row, 8);
  return k;
}

Result<Source> ReadSource(const PgResult& r, int row, const SecretCodec& secrets) {
  Source s;
  s.id = r.Text(row, 0);
  s.workspace_id = r.Text(row, 1);
  s.name = r.Text(row, 2);
  s.kind = r.Text(row, 3);
  s.enabled = r.Bool(row, 5);
  s.auth_json = r.Text(row, 6);
  s.token_hash = r.Text(row, 8);
  if (!DecodeStringArray(r.Text(row, 9), &s.allowed_ips) ||
      !DecodeStringArray(r.Text(row, 10), &s.allowed_origins)) {
    return Status::Internal("read source " + s.id + ": malformed allowed_ips/allowed_origins");
  }
  s.delivery_id_header = r.Text(row, 11);
  s.max_body_bytes = r.Int64(row, 12);
  s.created_by = r.Text(row, 13);
  s.created_at = r.Int64(row, 14);
  s.updated_at = r.Int64(row, 15);
  s.managed_by = r.Text(row, 16);
  TRIGGERD_ASSIGN_OR_RETURN(s.url_secret, secrets.Open(kSourceUrlSecret, s.id, r.Text(row, 4)));
  TRIGGERD_ASSIGN_OR_RETURN(s.signing_secret,
                            secrets.Open(kSourceSigningSecret, s.id, r.Text(row, 7)));
  TRIGGERD_ASSIGN_OR_RETURN(s.trigger_config_json,
                            secrets.Open(kSourceTriggerConfig, s.id, r.Text(row, 17)));
  return s;
}

void AddSourceParams(Params& p, const Source& s, const SecretCodec& secrets) {
  p.Text(s.id)
      .Text(s.workspace_id)
      .Text(s.name)
      .Text(s.kind)
      .Text(secrets.Seal(kSourceUrlSecret, s.id, s.url_secret))
      .Bool(s.enabled)
      .Text(s.auth_json)
      .Text(secrets.Seal(kSourceSigningSecret, s.id, s.signing_secret))
      .Text(s.token_hash)
      .Text(EncodeStringArray(s.allowed_ips))
      .Text(EncodeStringArray(s.allowed_origins))
      .Text(s.delivery_id_header)
      .Int64(s.max_body_bytes)
      .Text(s.created_by)
      .Int64(s.created_at)
      .Int64(s.updated_at)
      .Text(s.managed_by)
      .Text(secrets.Seal(kSourceTriggerConfig, s.id, s.trigger_config_json));
}

namespace {

// Columns 0-10, which kEventColumns and kEventSummaryColumns share (columns.h).
template <typename Record>
void ReadEventMeta(const PgResult& r, int row, Record* e) {
  e->seq = r.Int64(row, 0);
  e->id = r.Text(row, 1);
  e->workspace_id = r.Text(row, 2);
  e->source_id = r.Text(row, 3);
  e->received_at = r.Int64(row, 4);
  e->content_type = r.Text(row, 5);
  e->event_type = r.Text(row, 6);
  e->delivery_id = r.Text(row, 7);
  e->remote_addr = r.Text(row, 8);
  e->verification = r.Text(row, 9);
  e->status = r.Text(row, 10);
}

}  // namespace

Result<Event> ReadEvent(const PgResult& r, int row) {
  Event e;
  ReadEventMeta(r, row, &e);
  if (!DecodeHeaders(r.Bytes(row, 11), &e.headers)) {
    return Status::Internal("read event " + e.id + ": malformed headers");
  }
  e.body = r.Bytes(row, 12);
  e.payload_json = r.Text(row, 13);
  return e;
}

Result<EventSummary> ReadEventSummary(const PgResult& r, int row) {
  EventSummary e;
  ReadEventMeta(r, row, &e);
  e.body_bytes = r.Int64(row, 11);
  return e;
}

Result<Agent> ReadAgent(const PgResult& r, int row, const SecretCodec& secrets) {
  Agent a;
  a.id = r.Text(row, 0);
  a.workspace_id = r.Text(row, 1);
  a.name = r.Text(row, 2);
  a.instructions = r.Text(row, 3);
  a.max_attempts = static_cast<int>(r.Int64(row, 6));
  a.concurrency = static_cast<int>(r.Int64(row, 7));
  a.created_by = r.Text(row, 8);
  a.created_at = r.Int64(row, 9);
  a.updated_at = r.Int64(row, 10);
  a.managed_by = r.Text(row, 11);
  TRIGGERD_ASSIGN_OR_RETURN(a.target_json, secrets.Open(kAgentTargetJson, a.id, r.Text(row, 4)));
  TRIGGERD_ASSIGN_OR_RETURN(a.signing_secret,
                            secrets.Open(kAgentSigningSecret, a.id, r.Text(row, 5)));
  return a;
}

void AddAgentParams(Params& p, const Agent& a, const SecretCodec& secrets) {
  p.Text(a.id)
      .Text(a.workspace_id)
      .Text(a.name)
      .Text(a.instructions)
      .Text(secrets.Seal(kAgentTargetJson, a.id, a.target_json))
      .Text(secrets.Seal(kAgentSigningSecret, a.id, a.signing_secret))
      .Int64(a.max_attempts)
      .Int64(a.concurrency)
      .Text(a.created_by)
      .Int64(a.created_at)
      .Int64(a.updated_at)
      .Text(a.managed_by);
}

Result<Trigger> ReadTrigger(const PgResult& r, int row) {
  Trigger t;
  t.id = r.Text(row, 0);
  t.workspace_id = r.Text(row, 1);
  t.source_id = r.Text(row, 2);
  t.agent_id = r.Text(row, 3);
  t.name = r.Text(row, 4);
  t.filter = r.Text(row, 5);
  if (!DecodeStringArray(r.Text(row, 6), &t.event_types)) {
    return Status::Internal("read trigger " + t.id + ": malformed event_types");
  }
  t.include_payload = r.Bool(row, 7);
  t.enabled = r.Bool(row, 8);
  t.created_by = r.Text(row, 9);
  t.created_at = r.Int64(row, 10);
  t.updated_at = r.Int64(row, 11);
  t.managed_by = r.Text(row, 12);
  return t;
}

void AddTriggerParams(Params& p, const Trigger& t) {
  p.Text(t.id)
      .Text(t.workspace_id)
      .Text(t.source_id)
      .Text(t.agent_id)
      .Text(t.name)
      .Text(t.filter)
      .Text(EncodeStringArray(t.event_types))
      .Bool(t.include_payload)
      .Bool(t.enabled)
      .Text(t.created_by)
      .Int64(t.created_at)
      .Int64(t.updated_at)
      .Text(t.managed_by);
}

Result<Match> ReadMatch(const PgResult& r, int row) {
  Match m;
  m.seq = r.Int64(row, 0);
  m.event_id = r.Text(row, 1);
  m.trigger_id = r.Text(row, 2);
  std::optional<MatchOutcome> outcome = ParseMatchOutcome(r.Text(row, 3));
  if (!outcome) return Status::Internal("read match " + std::to_string(m.seq) + ": bad outcome");
  m.outcome = *outcome;
  m.run_id = r.Text(row, 4);
  m.message = r.Text(row, 5);
  m.evaluated_at = r.Int64(row, 6);
  m.replay = r.Bool(row, 7);
  m.reason = r.Text(row, 8);
  return m;
}

Result<Run> ReadRun(const PgResult& r, int row) {
  Run run;
  run.seq = r.Int64(row, 0);
  run.id = r.Text(row, 1);
  run.workspace_id = r.Text(row, 2);
  run.event_id = r.Text(row, 3);
  run.trigger_id = r.Text(row, 4);
  run.agent_id = r.Text(row, 5);
  run.owner = r.Text(row, 6);
  run.include_payload = r.Bool(row, 7);
  run.max_attempts = static_cast<int>(r.Int64(row, 8));
  run.created_at = r.Int64(row, 9);
  std::optional<RunStatus> status = ParseRunStatus(r.Text(row, 10));
  if (!status) return Status::Internal("read run " + run.id + ": unknown status");
  run.status = *status;
  run.attempts = static_cast<int>(r.Int64(row, 11));
  run.next_attempt_at = r.Int64(row, 12);
  run.lease_owner = r.Text(row, 13);
  run.lease_expires_at = r.Int64(row, 14);
  run.started_at = r.OptInt64(row, 15);
  run.finished_at = r.OptInt64(row, 16);
  run.last_error = r.Text(row, 17);
  return run;
}

Result<RunMessage> ReadRunMessage(const PgResult& r, int row) {
  RunMessage m;
  m.run_id = r.Text(row, 0);
  m.attempt = static_cast<int>(r.Int64(row, 1));
  m.role = r.Text(row, 2);
  m.content = r.Bytes(row, 3);
  m.at = r.Int64(row, 4);
  return m;
}

Result<AgentWebhook> ReadAgentWebhook(const PgResult& r, int row, const SecretCodec& secrets) {
  AgentWebhook w;
  w.id = r.Text(row, 0);
  w.workspace_id = r.Text(row, 1);
  w.agent_id = r.Text(row, 2);
  w.kind = r.Text(row, 3);
  w.enabled = r.Bool(row, 4);
  w.token_hash = r.Text(row, 5);
  w.token_prefix = r.Text(row, 6);
  w.event_source = r.Text(row, 7);
  if (!DecodeStringArray(r.Text(row, 8), &w.allowed_ips)) {
    return Status::Internal("read agent webhook " + w.id + ": malformed allowed_ips");
  }
  TRIGGERD_ASSIGN_OR_RETURN(w.hmac_secret,
                            secrets.Open(kAgentWebhookHmacSecret, w.id, r.Text(row, 9)));
  w.description = r.Text(row, 10);
  w.metadata_json = r.Text(row, 11);
  w.created_by = r.Text(row, 12);
  w.created_at = r.Int64(row, 13);
  w.updated_at = r.Int64(row, 14);
  w.hmac_enforcement = r.Text(row, 15);
  w.hmac_created_at = r.Int64(row, 16);
  return w;
}

void AddAgentWebhookParams(Params& p, const AgentWebhook& w, const SecretCodec& secrets) {
  p.Text(w.id)
      .Text(w.workspace_id)
      .Text(w.agent_id)
      .Text(w.kind)
      .Bool(w.enabled)
      .Text(w.token_hash)
      .Text(w.token_prefix)
      .Text(w.event_source)
      .Text(EncodeStringArray(w.allowed_ips))
      .Text(secrets.Seal(kAgentWebhookHmacSecret, w.id, w.hmac_secret))
      .Text(w.description)
      .Text(w.metadata_json)
      .Text(w.created_by)
      .Int64(w.created_at)
      .Int64(w.updated_at)
      .Text(w.hmac_enforcement)
      .Int64(w.hmac_created_at);
}

}  // namespace triggerd::store::postgres
