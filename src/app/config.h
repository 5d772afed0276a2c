// Service configuration: defaults, overlaid by triggerd.yaml, overlaid by command-line flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "outbound/outbound.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace triggerd::app {

struct Config {
  // host:port to listen on. Default loopback only: exposing the service is a deliberate choice.
  std::string listen = "127.0.0.1:8080";
  // Holds triggerd.db (SQLite, WAL) and admin-key. Created (0700) when missing.
  std::string data_dir = "./data";
  // Where the data lives: "sqlite" (<data_dir>/triggerd.db, the embedded default) or a
  // PostgreSQL URL (postgres://user@host:5432/db) that several nodes share (docs/SCALING.md).
  // "" = not given: TRIGGERD_DATABASE_URL when set, else "sqlite" (app/data_dir.h). Flag:
  // --database-url. The data dir still holds master.key and admin-key with PostgreSQL.
  std::string storage;
  // PostgreSQL connections per node (reads and writes borrow one; the LISTEN one is extra).
  int storage_pool_size = 8;
  // Prefix of the ingest URLs shown to users; default "http://<listen>".
  std::string public_url;
  // Body limit for sources that set none. Default 1 MiB.
  size_t max_body_bytes = 1024 * 1024;
  // io threads; 0 = one per core.
  int threads = 0;
  // trace, debug, info, warn, error.
  std::string log_level = "info";
  // text (for a terminal), json (one object per line, with request/workspace/source/event/run
  // ids; app/logging.h) or auto (json unless standard error is a terminal).
  std::string log_format = "text";
  // Seconds in-flight requests get to finish on SIGTERM/SIGINT.
  int shutdown_grace_seconds = 10;
  // Dispatch (see src/dispatch/dispatch.h): attempts in flight across agents; first retry delay
  // ceiling (doubling per attempt, full jitter) and its cap; how long a claimed run is leased.
  int dispatch_workers = 32;
  int retry_base_ms = 1000;
  int retry_max_ms = 3'600'000;
  int run_lease_seconds = 900;
  // Ingest rate limits (requests per second, and burst), per source and per workspace; a rate of
  // 0 turns that limit off. Beyond them: 429 with Retry-After. See ingest::Options.
  double source_rate_limit = 500;
  double source_rate_burst = 1000;
  double workspace_rate_limit = 2000;
  double workspace_rate_burst = 4000;
  // Bytes of accepted bodies waiting for the durable log before ingest answers 503.
  size_t max_pending_bytes = 256 * 1024 * 1024;
  // GET /metrics (Prometheus text) needs an API key (any role) when true. Default false:
  // Prometheus scrapes over a private network and the service listens on loopback by default;
  // turn it on when the listen address is reachable by others (the scrape config then sends
  // `authorization: {credentials: <key>}`). The metrics name routes, never ids or payloads.
  bool metrics_require_key = false;
  // Retention (src/retention): events older than this are deleted with their matches, runs and
  // messages; bodies (payloads) may go sooner, keeping the metadata. Durations like "30d", "12h",
  // "90m", "45s"; 0 = keep forever (bodies: as long as the events). A pass runs at start and
  // then every retention_interval.
  int64_t retention_events_seconds = 30LL * 24 * 3600;
  int64_t retention_bodies_seconds = 0;
  int64_t retention_interval_seconds = 3600;
  // Schedule sources whose config does not say: what to do with the ticks missed while triggerd
  // was down. "catch_up" (default): they collapse into ONE run at start (its payload counts
  // them); "skip": they are dropped and the schedule resumes at its next tick. See
  // schedule/schedule.h.
  std::string schedule_missed = "catch_up";
  // Filters generated from a description (POST /api/v1/filters/generate, src/nlfilter): an
  // OpenAI-compatible chat-completions endpoint (`llm: {base_url, model, api_key_env,
  // timeout_ms}`). No base_url (the default): the route answers 501. The key is read from the
  // environment variable named by api_key_env at each call, never from the file, and is never
  // logged; "" sends no key (a local model server). timeout_ms bounds each of the (at most two)
  // model turns of a generation, which hold an io thread meanwhile: default 30 s, 1 s..120 s.
  struct Llm {
    std::string base_url;  // e.g. https://api.openai.com/v1 (…/chat/completions is appended)
    std::string model;
    std::string api_key_env;
    int timeout_ms = 30'000;
  } llm;
  // `api: {command_agents, llm_api_key_envs}`: what the REST API may give an agent that only the
  // operator should (api::ApiContext::AgentTargets). Workspace roles, admin included, are not
  // the server's operator: a command target runs as the server's user, and an llm target's
  // api_key_env sends a server environment variable to a base_url its author picks. Agents
  // declared under `workspaces:` are not limited.
  struct Api {
    // Default false: POST/PATCH /api/v1/agents refuse command targets (403
    // command_agents_disabled). True: admin keys may set them (builders still get 403).
    bool command_agents = false;
    // The api_key_env names an llm target set through the API may use; default none (only ""
    // = no key). Whoever can create agents can send these keys to a server of their choice
    // (within `outbound`), so list only keys you would hand to every builder.
    std::vector<std::string> llm_api_key_envs;
  } api;
  // `outbound: {deny_networks: [...], allow_networks: [...]}`: the addresses triggerd may connect
  // to when it calls out (agents, the filter model, polled feeds); see outbound/outbound.h for
  // the entries and named sets. Default: deny link-local (cloud metadata), unspecified and the
  // AWS IPv6 metadata address; loopback and private networks stay reachable, as self-hosted
  // agents live there. `deny_networks: []` turns the check off. Unlike the settings above, a
  // reload (SIGHUP, a watched file change) applies it.
  outbound::Policy outbound = outbound::Policy::Default();
  // The config file (`serve --config`), set from the command line, not read from the file. Its
  // `workspaces:` section declares sources, agents and triggers (app/declared.h), applied at
  // start-up, on SIGHUP and — when `watch_config` (default true) — when the file changes
  // (polled every second). Service settings above, but `outbound`, take effect on restart only.
  std::string config_path;
  bool watch_config = true;
};

// Reads a YAML file (keys as in Config, plus `workspaces`, which app/declared.h reads). Unknown
// keys and wrong types are errors with the file's line, e.g. "triggerd.yaml:3: unknown key
// \"listne\"".
Status LoadConfigFile(const std::string& path, Config* config);
// The same over a file already parsed, so that one parse serves the service settings and the
// declared objects (app/declared.h, LoadConfigText). `path` only names the file in messages.
Status ReadConfigYaml(const std::string& path, const YAML::Node& root, Config* config);

// "30d", "12h", "90m", "45s" or "0" in seconds; nullopt for anything else.
std::optional<int64_t> ParseDurationSeconds(std::string_view text);

// Splits "host:port" (or "[v6]:port"); kInvalidArgument when malformed.
Status SplitListen(const std::string& listen, std::string* host, uint16_t* port);

}  // namespace triggerd::app
