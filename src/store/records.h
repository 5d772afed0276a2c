// The domain records of the store: what triggerd keeps durably (workspaces, API keys, sources,
// agents, triggers, events, match records, runs) as plain values, shared by the narrow interfaces
// of store/ (config_store.h, event_log.h, run_queue.h, compat_store.h, operations.h) and by their
// consumers. The queries and requests of one interface live in that interface's header.
// Times are Unix microseconds (UTC).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/headers.h"

namespace triggerd::store {

enum class Role { kAdmin, kBuilder, kUser };
std::string_view RoleName(Role role);                     // "admin" | "builder" | "user"
std::optional<Role> ParseRole(std::string_view name);

// Marks sources, agents and triggers declared in the config file (Source::managed_by): the
// config applier (app/declared.h) owns them, and the REST API refuses to change them (409).
inline constexpr std::string_view kManagedByConfig = "config";

struct Workspace {
  std::string id;  // ws_…
  std::string name;
  int64_t created_at = 0;
};

struct ApiKey {
  std::string id;  // key_…
  std::string workspace_id;
  std::string name;
  Role role = Role::kUser;
  std::string prefix;      // first characters of the key, shown in listings to recognise it
  std::string hash;        // lower-case hex SHA-256 of the whole key; the key itself is never kept
  std::string created_by;  // key id that created it, or "bootstrap"
  int64_t created_at = 0;
  std::optional<int64_t> revoked_at;
};

// A webhook source: one unguessable ingest URL inside a workspace.
struct Source {
  std::string id;  // src_…
  std::string workspace_id;
  std::string name;
  // "custom", a provider preset name, or "schedule" / "poll": a source whose events triggerd
  // makes itself (src/schedule: a schedule's ticks, a polled feed's new items); those have no
  // ingest URL and are configured by `trigger_config_json`.
  std::string kind = "custom";
  std::string url_secret;       // path segment of the secret ingest URL
  bool enabled = true;
  // Non-secret verification settings as a JSON object text, owned by the ingest/verify layers
  // (e.g. {"bearer":true,"hmac":{"header":"X-Sig","algorithm":"sha256",...}}). Opaque here.
  std::string auth_json = "{}";
  std::string signing_secret;  // HMAC secret ("" when none). Encrypted at rest: later issue.
  std::string token_hash;      // hex SHA-256 of the bearer token ("" when none)
  std::vector<std::string> allowed_ips;      // IPs or CIDRs, v4 and v6; empty = any
  std::vector<std::string> allowed_origins;  // Origin header values; empty = any
  std::string delivery_id_header;            // header whose value de-duplicates; "" = none
  int64_t max_body_bytes = 0;                // 0 = the server-wide default
  std::string created_by;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::string managed_by;  // "" = made through the API; kManagedByConfig = the config file's
  // For "schedule" and "poll" sources: their configuration as a JSON object text, owned and
  // validated by src/schedule (e.g. {"cron":"*/5 * * * *","timezone":"Europe/Paris"}); "{}" for
  // the others. May hold credentials (a poll's headers): never logged, redacted when shown.
  std::string trigger_config_json = "{}";

  // Whether triggerd makes this source's events itself (see `kind`).
  bool generated() const { return kind == "schedule" || kind == "poll"; }
};

// Where a "schedule" or "poll" source has got to (src/schedule owns the meaning). Written only
// after the events it covers are durable.
struct SourceCursor {
  std::string source_id;
  std::string cursor_data = "{}";      // JSON object text, e.g. a poll's {"last_id":…}
  std::optional<int64_t> last_tick_at;  // schedule: latest tick handled; poll: latest poll
  std::optional<int64_t> next_due_at;   // when the producer means to act next
  int64_t updated_at = 0;
};

// An agent: what a run talks to. The target (http / command / llm) is configuration owned by the
// dispatch layer (dispatch/target.h parses and validates it); opaque JSON text here.
struct Agent {
  std::string id;  // agt_…
  std::string workspace_id;
  std::string name;
  std::string instructions;
  std::string target_json = "{}";  // e.g. {"type":"http","url":…,"headers":{},"timeout_ms":…}
  std::string signing_secret;      // whsec_… for http targets (Standard Webhooks); "" otherwise
  int max_attempts = 8;            // attempts per run before it is dead, >= 1
  int concurrency = 4;             // runs of this agent running at once, >= 1
  std::string created_by;          // API key id
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::string managed_by;  // as Source::managed_by
};

// A trigger binds a source to an agent, with an optional filter (filter-language.md).
struct Trigger {
  std::string id;  // trg_…
  std::string workspace_id;
  std::string source_id;
  std::string agent_id;
  std::string name;                      // optional label, "" when none
  std::string filter;                    // filter source text; "" matches every event
  std::vector<std::string> event_types;  // subscribed event types; empty = every type
  bool include_payload = true;           // false: the run's message says only that it happened
  bool enabled = true;
  std::string created_by;  // the owner (API key id); a trigger's runs are visible to it and admins
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::string managed_by;  // as Source::managed_by
};

// The outcome of evaluating one trigger against one event.
enum class MatchOutcome { kMatched, kIgnored, kDisabled, kFilterError };
// "matched" | "ignored" | "disabled" | "filter_error"
std::string_view MatchOutcomeName(MatchOutcome outcome);
std::optional<MatchOutcome> ParseMatchOutcome(std::string_view name);

struct Match {
  std::string event_id;
  std::string trigger_id;
  MatchOutcome outcome = MatchOutcome::kIgnored;
  std::string run_id;   // the run it started when matched; "" otherwise
  std::string message;  // why (filter error text, "event type not subscribed", …); may be ""
  // A machine-readable reason beyond the outcome; "" = none. "event_type": ignored without
  // evaluation, the trigger does not take the event's type (its event_types).
  std::string reason;
  int64_t evaluated_at = 0;
  bool replay = false;  // recorded by a replay rather than at ingest
  int64_t seq = 0;      // set by the store: insertion order, the paging cursor
};

enum class RunStatus { kQueued, kRunning, kSucceeded, kFailed, kRetrying, kDead, kCancelled };
std::string_view RunStatusName(RunStatus status);  // "queued" … "cancelled" (api.md spelling)
std::optional<RunStatus> ParseRunStatus(std::string_view name);

// A run as it is created (at ingest, replay): one event delivered to one trigger's agent.
struct NewRun {
  std::string id;  // run_… (time-ordered); also the idempotency key targets see
  std::string workspace_id;
  std::string event_id;
  std::string trigger_id;
  std::string agent_id;
  std::string owner;            // the trigger's created_by at creation (visibility)
  bool include_payload = true;  // the trigger's choice at creation
  // The agent's at creation; 0 on write: the store copies the agent's in the same transaction,
  // or Agent{}.max_attempts (8) when the agent is gone (the run is then cancelled by the first
  // ClaimRuns that finds it due, like every run of a deleted agent). Otherwise >= 1.
  int max_attempts = 0;
  int64_t created_at = 0;  // also the first next_attempt_at; a new run is queued
};

struct Run : NewRun {
  int64_t seq = 0;  // insertion order; the paging cursor
  RunStatus status = RunStatus::kQueued;
  int attempts = 0;                    // attempts started so far (a claim starts one)
  int64_t next_attempt_at = 0;         // when queued/retrying: not claimed before this time
  std::string lease_owner;             // when running: the dispatcher that holds it
  int64_t lease_expires_at = 0;        // when running: claimable again after this time
  std::optional<int64_t> started_at;   // first claim
  std::optional<int64_t> finished_at;  // reached succeeded, failed, dead or cancelled
  std::string last_error;              // the latest attempt's error, "" when none
};

// What a run said, after the message it was sent (that one is rebuilt from the event on read).
struct RunMessage {
  std::string run_id;
  int attempt = 0;   // the attempt that produced it
  std::string role;  // "agent" (the reply) | "error" (what went wrong with an attempt)
  std::string content;
  int64_t at = 0;
};

// An event as ingest hands it to the log. Headers are already redacted.
struct NewEvent {
  std::string id;  // evt_… (time-ordered), chosen by the caller
  std::string workspace_id;
  std::string source_id;
  int64_t received_at = 0;
  std::string content_type;
  std::string event_type;   // "" when unknown
  std::string delivery_id;  // "" when the source has none; else unique per source
  Headers headers;
  std::string body;          // the raw request bytes, exactly as received
  std::string payload_json;  // the payload as JSON when it differs from body (form posts); else ""
  std::string remote_addr;
  std::string verification;  // how it was authenticated: "none", "bearer", "hmac", "bearer+hmac", …
  // The transactional outbox: the match records and the runs of this event, written in the same
  // transaction as the event (or not at all: a duplicate writes neither; an append that fails
  // writes none of them). Their event_id and workspace_id are taken from this event.
  std::vector<Match> matches;
  std::vector<NewRun> runs;
};

struct Event : NewEvent {
  int64_t seq = 0;               // insertion order; the paging cursor
  std::string status = "received";
};

// An event as a list shows it (EventLog::ListEvents): no headers, body or payload, only the
// body's size. A list of 500 events must not load 500 bodies; GetEvent reads one whole.
struct EventSummary {
  int64_t seq = 0;
  std::string id;
  std::string workspace_id;
  std::string source_id;
  int64_t received_at = 0;
  std::string content_type;
  std::string event_type;
  std::string delivery_id;
  std::string remote_addr;
  std::string verification;
  std::string status = "received";
  int64_t body_bytes = 0;  // the stored body's size (0 once retention emptied it)
};

// The summary of a whole event: what ListEvents would show for it.
EventSummary SummaryOf(const Event& event);

template <typename T>
struct Page {
  std::vector<T> items;                // newest first
  std::optional<int64_t> next_cursor;  // pass as before_seq for the next page; nullopt at the end
};

// A page of a list query from its rows fetched with LIMIT limit + 1: the extra row only tells that another
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

}  // namespace triggerd::store
