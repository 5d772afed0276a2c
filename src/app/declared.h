// Declarative config: sources, agents and triggers declared in the config file's `workspaces:`
// section, for operators who keep their hooks in version control (as with adnanh/webhook's
// hooks.yaml, Dagu or Argo Events). The file's objects are applied at start-up and on every
// reload (SIGHUP, or the file changing), after the whole file has been validated: a file with any
// error is refused with "file:line: message" and the running config stays as it was.
//
//   workspaces:
//     - name: default                  # created when missing; never deleted
//       sources:
//         - name: github-main          # members as in POST /api/v1/sources, plus `token`
//           kind: github
//           secret: ${GITHUB_WEBHOOK_SECRET}
//       agents:
//         - name: triage               # as in POST /api/v1/agents, plus `signing_secret`
//           target: {type: http, url: "http://127.0.0.1:9000/run"}
//       triggers:
//         - name: big-prs              # as in POST /api/v1/triggers, but `source` and `agent`
//           source: github-main        # name a source and an agent declared in the same
//           agent: triage              # workspace instead of source_id / agent_id
//           filter: '(eq "action" "opened")'
//
// Every object body goes through the catalog's validators (catalog::ApplySourceBody, …), as the
// REST API's do, so the file accepts exactly what the API accepts. Differences, all because
// nobody could ever read a secret the service generated for a file-declared object:
//   - a source that verifies signatures must give `secret`, one with bearer auth `token` (kept
//     only as its hash, as the API does);
//   - an agent with an http target may give `signing_secret` (whsec_ + base64); without one, a
//     secret is generated once and kept across reloads.
//
// Identity and ownership: a declared object is keyed by (workspace name, kind of object, name)
// and marked managed_by = "config" in the store. Applying creates the missing ones, updates the
// changed ones (updated_at moves only then), leaves the unchanged ones alone, and deletes the
// managed ones the file no longer declares. Objects made through the API are never touched, and
// the API answers 409 to changes of managed ones. A source keeps its id and URL secret for life,
// so its ingest URL is stable across restarts and reloads (GET /api/v1/sources shows it).
//
// Secrets: `${NAME}` in any value is replaced by the environment variable NAME when the file is
// read (an unset one is an error with its line); `$${` stands for a literal `${`. A value that
// contained `${` is always a string. Expanded values never appear in messages or logs.
//
// Four steps, each in a file of its own:
//   load  (declared_load.cc)  the file read once and parsed once per reload: service settings
//                             (config.h) and declared objects from the same bytes;
//   plan  (declared_plan.h)   a pure function from the declared config and the store's current
//                             objects to what to create, update, replace, delete or leave, or a
//                             refusal; no store, no I/O;
//   apply (declared_apply.cc) the plan's writes through catalog::Catalog, which tells the ingest
//                             caches, the schedule producer and the dispatcher;
//   watch (declared_watch.cc) ConfigReloader (SIGHUP and the file watcher share it: one reload at
//                             a time, and one record of the content the running state came from)
//                             and FileWatcher.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "app/config.h"
#include "common/clock.h"
#include "common/result.h"
#include "common/status.h"

namespace triggerd::catalog {
class Catalog;
}  // namespace triggerd::catalog

namespace triggerd::app {

// Looks an environment variable up; nullopt when unset. Tests pass their own.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
// The process environment (getenv).
EnvLookup ProcessEnv();

// Expands ${NAME} (NAME = [A-Za-z_][A-Za-z0-9_]*) from `env` and $${ to a literal ${; any other
// `$` is kept. kInvalidArgument naming the variable when it is unset, or for a `${` without a
// valid name and closing brace. `used` (optional) gets the names expanded.
Result<std::string> ExpandEnv(std::string_view text, const EnvLookup& env,
                              std::vector<std::string>* used = nullptr);

// One declared object, validated. `body` is its REST API body (file-only members removed).
struct DeclaredObject {
  std::string name;
  int line = 0;  // of the object in the file, 1-based
  boost::json::object body;
  std::string token;           // sources: the bearer token ("" when none)
  std::string signing_secret;  // agents: given in the file ("" = generate once)
  std::string source;          // triggers: name of the source in the same workspace
  std::string agent;           // triggers: name of the agent in the same workspace
};

struct DeclaredWorkspace {
  std::string name;
  int line = 0;
  std::vector<DeclaredObject> sources, agents, triggers;
};

struct DeclaredConfig {
  std::string path;
  std::vector<DeclaredWorkspace> workspaces;
  // False when the file has no `workspaces:` key at all (an empty file, a truncated one, one
  // with service settings only). Apply then refuses to delete objects the file managed: an
  // editor or a ConfigMap caught mid-write must not wipe the declared sources (whose URLs would
  // change when they come back). `workspaces: []` deletes them.
  bool declares_workspaces = true;
  // Expanded secret values with the ${NAME} they came from, so that messages built from the
  // file's values can be scrubbed (Redact).
  std::vector<std::pair<std::string, std::string>> expansions;

  // `text` with every expanded value of 4 or more characters replaced by its ${NAME}.
  std::string Redact(std::string text) const;
};

// Reads the `workspaces:` section of the YAML file at `path` (other top-level keys are the
// service settings of config.h and are ignored here), expands ${NAME}, and validates every
// object through the catalog's validators (the REST API's too), names (unique per workspace and kind) and the
// triggers' references. kInvalidArgument "path:line: message" for the first error; an absent
// section is an empty config (nothing declared: applying it deletes every managed object).
Result<DeclaredConfig> LoadDeclared(const std::string& path, const EnvLookup& env);

// The whole config file from one parse: its service settings and its declared objects.
struct LoadedConfig {
  Config settings;  // defaults overlaid by the file (no command-line flags)
  DeclaredConfig declared;
};

// The file's bytes; nullopt when it cannot be read (missing, mid-rename).
std::optional<std::string> ReadConfigText(const std::string& path);

// Parses `text` (the content of the file at `path`, nullopt = unreadable) once and reads both
// parts from it: the service settings as LoadConfigFile does, then the declared objects as
// LoadDeclared does. The first error, settings first.
Result<LoadedConfig> LoadConfigText(const std::string& path, const std::optional<std::string>& text,
                                    const EnvLookup& env);

// What one Apply did, by kind of object.
struct ApplyCounts {
  int created = 0;
  int updated = 0;
  int deleted = 0;
  int unchanged = 0;
};
struct ApplySummary {
  int workspaces_created = 0;
  ApplyCounts sources, agents, triggers;
  // "config applied: 1 source created, 2 triggers updated, 0 deleted, 3 unchanged".
  std::string ToString() const;
};

// Applies validated declared configs: reads the store's current objects, plans
// (declared_plan.h) and executes the plan through the catalog, whose observers keep the ingest
// caches, the schedule producer and the dispatcher's agent targets fresh. Thread-safe: applies
// are serialised (SIGHUP and the file watcher may ask at the same time).
class DeclaredApplier {
 public:
  // `catalog` (writes; reads via catalog->store()) and `clock` must outlive this.
  DeclaredApplier(catalog::Catalog* catalog, const Clock* clock);

  // Makes the store's managed objects match `config`. Checked before anything is written: a
  // managed source or agent that the file no longer declares but that a trigger made through the
  // API still uses is not deleted, and the whole apply is refused (kConflict) — deleting it would
  // delete or break that trigger. The store has no multi-statement transaction across calls, so
  // the writes are ordered to leave a consistent state if one fails midway (missing workspaces
  // first; then, workspace by workspace, sources and agents, then triggers; deletes of triggers
  // before those of agents and sources) and the next apply converges: objects are matched by
  // name, never by what a previous apply did.
  Result<ApplySummary> Apply(const DeclaredConfig& config);

 private:
  catalog::Catalog* catalog_;
  const Clock* clock_;
  std::mutex mu_;  // one apply at a time
};

// Reloads of the config file. Every path that loads the file into the running state — the
// start-up apply (Loaded), SIGHUP and the file watcher (Reload) — goes through one reloader,
// so that the running state's origin is recorded in one place: `IsCurrent` tells the watcher
// whether the file holds what the running state was last loaded from, whichever path loaded it.
// Thread-safe; reloads run one at a time, each reading the file inside the lock, so that the
// last reload to run read the latest content.
class ConfigReloader {
 public:
  // Called after every applied reload, in reload order, with the file's service settings
  // (app/serve applies `outbound`, the one setting a reload changes). May be empty. `applier`
  // must outlive this.
  ConfigReloader(std::string path, EnvLookup env, DeclaredApplier* applier,
                 std::function<void(const Config& settings)> on_applied);

  // Reads the file once, parses it once, checks its service settings (which must stay valid
  // although only a restart applies them) and applies its declared objects. The first error
  // (nothing applied; expanded values scrubbed), else what changed.
  Result<ApplySummary> Reload();

  // Records `content` as what the running state was loaded from, by a caller that loaded and
  // applied it itself (the start-up apply, before the service runs).
  void Loaded(const std::optional<std::string>& content);

  // True when `content` is what the last load read, applied or refused as a file (invalid, or a
  // conflict): reading it again would change nothing. False after a reload that failed for
  // another reason (the store), so that the watcher tries again.
  bool IsCurrent(const std::optional<std::string>& content) const;

 private:
  const std::string path_;
  const EnvLookup env_;
  DeclaredApplier* const applier_;
  const std::function<void(const Config&)> on_applied_;
  std::mutex reload_mu_;           // one reload (read, parse, apply, record) at a time
  mutable std::mutex current_mu_;  // guards current_
  // The fingerprint (SHA-256) of the content last loaded; nullopt before the first load and
  // after a reload that failed for another reason than the file.
  std::optional<std::string> current_;
};

// Polls a file (its content, every `interval`) on a thread of its own and calls `on_change` once
// the content is not current and has stayed the same for one more poll (editors write in steps;
// this debounces them). A missing file counts as a content too. `is_current` says whether a
// content is what the running state was last loaded from (ConfigReloader::IsCurrent): a load by
// another path (SIGHUP) counts, so an edit made right after it is never taken for one already
// applied. Without it, the watcher's own record is used: the content when it was constructed,
// then each one it called `on_change` for. Callbacks run on the watcher's thread. Stop (or the
// destructor) returns promptly.
class FileWatcher {
 public:
  using IsCurrent = std::function<bool(const std::optional<std::string>& content)>;
  FileWatcher(std::string path, std::chrono::milliseconds interval, IsCurrent is_current,
              std::function<void()> on_change);
  FileWatcher(std::string path, std::chrono::milliseconds interval,
              std::function<void()> on_change);
  ~FileWatcher();
  void Stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace triggerd::app
