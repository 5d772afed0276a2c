// ConfigStore: the configuration triggerd keeps durably — workspaces, API keys, webhook
// sources, agents, triggers, and the cursors of "schedule" and "poll" sources — one of the narrow
// interfaces of store/ (store.h aggregates them). Taken by what reads or changes configuration:
// the REST API, the config applier, the caches, src/schedule.
//
// Thread safety: every method may be called from any thread concurrently.
// Errors: methods return Status/Result and never throw. kNotFound for an unknown id *or* an id of
// another workspace (callers must not be able to tell the two apart); kConflict for a unique-key
// clash; kInternal for I/O failures (the message names the failing operation).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "store/records.h"

namespace triggerd::store {

class ConfigStore {
 public:
  virtual ~ConfigStore() = default;

  // Workspaces.
  virtual Status CreateWorkspace(const Workspace& workspace) = 0;
  // First start: creates `workspace` and `admin_key` (its key) in one transaction, only when the
  // store has no workspace yet. true when they were created; false when a workspace existed
  // (nothing written). Several nodes starting at once on one database: exactly one creates, and
  // a crash leaves both records or neither (never a workspace without its admin key).
  virtual Result<bool> CreateFirstWorkspace(const Workspace& workspace, const ApiKey& admin_key) = 0;
  virtual Result<Workspace> GetWorkspace(std::string_view id) = 0;
  virtual Result<std::vector<Workspace>> ListWorkspaces() = 0;

  // API keys. FindApiKeyByHash finds only keys that are not revoked.
  virtual Status CreateApiKey(const ApiKey& key) = 0;
  virtual Result<ApiKey> FindApiKeyByHash(std::string_view hash) = 0;
  virtual Result<std::vector<ApiKey>> ListApiKeys(std::string_view workspace_id) = 0;  // newest first
  virtual Status RevokeApiKey(std::string_view workspace_id, std::string_view key_id,
                              int64_t revoked_at) = 0;

  // Sources. UpdateSource replaces every field of the source with that id (and workspace).
  // Deleting a source keeps its events (they remain listable by source_id).
  virtual Status CreateSource(const Source& source) = 0;
  virtual Result<Source> GetSource(std::string_view workspace_id, std::string_view id) = 0;
  virtual Result<std::vector<Source>> ListSources(std::string_view workspace_id) = 0;
  virtual Result<std::vector<Source>> ListAllSources() = 0;  // every workspace; for caches
  virtual Status UpdateSource(const Source& source) = 0;
  virtual Status DeleteSource(std::string_view workspace_id, std::string_view id) = 0;

  // Agents. DeleteAgent is kConflict while a trigger refers to the agent; it cancels the agent's
  // queued and retrying runs (finished_at from SqliteOptions::clock) and leaves running ones to
  // finish (a later claim of one cancels it, see ClaimRuns). CHECK violations (max_attempts or
  // concurrency < 1): kInvalidArgument.
  virtual Status CreateAgent(const Agent& agent) = 0;
  virtual Result<Agent> GetAgent(std::string_view workspace_id, std::string_view id) = 0;
  virtual Result<std::vector<Agent>> ListAgents(std::string_view workspace_id) = 0;  // newest first
  virtual Status UpdateAgent(const Agent& agent) = 0;  // replaces every field
  virtual Status DeleteAgent(std::string_view workspace_id, std::string_view id) = 0;

  // Triggers. CreateTrigger and UpdateTrigger are kNotFound when the source or agent is not in
  // the trigger's workspace. Deleting a source deletes its triggers (in the same transaction).
  // Deleting a trigger keeps its runs and match records, and cancels its queued and retrying
  // runs (last_error "trigger deleted").
  virtual Status CreateTrigger(const Trigger& trigger) = 0;
  virtual Result<Trigger> GetTrigger(std::string_view workspace_id, std::string_view id) = 0;
  // `source_id`/`agent_id` "" = any. Newest first.
  virtual Result<std::vector<Trigger>> ListTriggers(std::string_view workspace_id,
                                                    std::string_view source_id,
                                                    std::string_view agent_id) = 0;
  // Every workspace, oldest first (creation order); for caches.
  virtual Result<std::vector<Trigger>> ListAllTriggers() = 0;
  virtual Status UpdateTrigger(const Trigger& trigger) = 0;      // replaces every field
  virtual Status DeleteTrigger(std::string_view workspace_id, std::string_view id) = 0;

  // Cursors of "schedule" and "poll" sources (see SourceCursor). Not scoped to a workspace:
  // source ids are unique. GetSourceCursor: kNotFound when none was written yet.
  // PutSourceCursor inserts or replaces the source's cursor and returns once that is durable;
  // kNotFound when the source no longer exists (deleting a source deletes its cursor).
  // Not pure virtual, so test fakes of Store need not implement them (they answer kInternal).
  virtual Result<SourceCursor> GetSourceCursor(std::string_view source_id) {
    return Status::Internal("source cursors are not supported by this store");
  }
  virtual Status PutSourceCursor(const SourceCursor& cursor) {
    return Status::Internal("source cursors are not supported by this store");
  }
  // Several nodes on one database run the same poll sources; before polling, a node claims the
  // turn: the cursor's next_due_at becomes `next_due_at` (a cursor row is created if there is
  // none) only when the stored one is unset or <= `now`. true: this caller has the turn; false:
  // another caller claimed it already (it polls; this one re-reads the cursor and waits for the
  // next turn). kNotFound when the source no longer exists.
  virtual Result<bool> ClaimSourceTurn(std::string_view source_id, int64_t now,
                                       int64_t next_due_at) {
    return Status::Internal("source cursors are not supported by this store");
  }
};

}  // namespace triggerd::store
