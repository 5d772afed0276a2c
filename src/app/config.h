// Service configuration: defaults, overlaid by triggerd.yaml, overlaid by command-line flags.
#pragma once

#include <string>

#include "common/result.h"

namespace triggerd::app {

struct Config {
  // host:port to listen on. Default loopback only: exposing the service is a deliberate choice.
  std::string listen = "127.0.0.1:8080";
  // Holds triggerd.db (SQLite, WAL) and admin-key. Created (0700) when missing.
  std::string data_dir = "./data";
  // Prefix of the ingest URLs shown to users; default "http://<listen>".
  std::string public_url;
  // Body limit for sources that set none. Default 1 MiB.
  size_t max_body_bytes = 1024 * 1024;
  // io threads; 0 = one per core.
  int threads = 0;
  // trace, debug, info, warn, error.
  std::string log_level = "info";
  // Seconds in-flight requests get to finish on SIGTERM/SIGINT.
  int shutdown_grace_seconds = 10;
  // Dispatch (see src/dispatch/dispatch.h): attempts in flight across agents; first retry delay
  // ceiling (doubling per attempt, full jitter) and its cap; how long a claimed run is leased.
  int dispatch_workers = 16;
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
};

// Reads a YAML file (keys as in Config). Unknown keys and wrong types are errors with the
// file's line, e.g. "triggerd.yaml:3: unknown key \"listne\"".
Status LoadConfigFile(const std::string& path, Config* config);

// Splits "host:port" (or "[v6]:port"); kInvalidArgument when malformed.
Status SplitListen(const std::string& listen, std::string* host, uint16_t* port);

}  // namespace triggerd::app
