// The chaos test (scripts/chaos.sh runs it; scripts/test.sh after the Release tests): a steady
// signed load against the real triggerd binary while it is killed with SIGKILL and restarted on
// the same data dir several times, then checks through the REST API that nothing acknowledged was
// lost:
//
//   - every event answered 200 is stored (a retried delivery answered duplicate=true must name
//     the same event), and no delivery id is stored twice;
//   - for every stored event each matching trigger has exactly one run (trigger "all": every
//     event; trigger "even": the events whose payload says parity "even"), no other trigger has
//     one;
//   - every run ends succeeded or dead (after a generous drain deadline);
//   - the receiver (a loopback agent endpoint that refuses the first attempt of one run in five
//     with 503, so retries happen too) accepted every succeeded run at least once; more than once
//     is allowed (dispatch is at-least-once) and counted.
//
// Prints sent, acknowledged, stored, runs, deliveries, duplicate deliveries and lost (must be 0);
// exits 1 on any violation, 2 on a set-up failure.
//
// Two nodes (--database-url): two triggerd processes on their own data dirs and ports share one
// PostgreSQL database (and one master key); the senders are spread over both, as a load balancer
// would. Midway the second node is killed with SIGKILL and NOT restarted: its senders fail over
// to the first node, and the runs it had claimed wait out their lease (5 s) and are finished by
// the survivor. The same checks then prove that no acknowledged event lost a run.
//
// Usage: chaos_driver [--seconds S] [--kills K] [--senders N] [--rate R] [--database-url URL]
//   S: length of the load phase (default 24); K: kills during it (default 4; ignored with two
//   nodes, where one node is killed once); N: concurrent senders (default 4); R: deliveries per
//   second per sender (default 40); URL: a postgres:// database, empty, for two nodes.
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/crypto.h"
#include "http_client.h"
#include "recording_target.h"
#include "test_util.h"
#include "triggerd_process.h"

namespace {

using triggerd::Headers;
using triggerd::testing::HttpClient;
using triggerd::testing::HttpResult;
using triggerd::testing::RecordingTarget;
using triggerd::testing::TempDir;
using triggerd::testing::TriggerdProcess;
namespace json = boost::json;
namespace crypto = triggerd::crypto;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::string_view kSecret = "chaos-signing-secret";

struct Options {
  int seconds = 24;
  int kills = 4;
  int senders = 4;
  int rate = 40;
  std::string database_url;  // set: two nodes on this PostgreSQL database
};

// A 32-byte master key both nodes share (hex), as every node of a cluster must.
constexpr std::string_view kClusterMasterKey =
    "6368616f732d636c75737465722d6d61737465722d6b65792d33322d62797465";

// Set while they exist, so that a set-up failure (which exits) leaves no process or files behind.
std::vector<TriggerdProcess*> running_processes;
TempDir* data_dir = nullptr;

[[noreturn]] void SetupFailed(const std::string& what) {
  std::fprintf(stderr, "chaos: set-up failed: %s\n", what.c_str());
  for (TriggerdProcess* process : running_processes) {
    std::fprintf(stderr, "%s\n", process->Output().c_str());
    process->Kill();
  }
  if (data_dir != nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(data_dir->path(), ec);
  }
  std::exit(2);
}

json::object Parse(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return !ec && v.is_object() ? v.as_object() : json::object{};
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : "";
}

// What the senders learned. Guarded by `mu`.
struct Ledger {
  std::mutex mu;
  std::map<std::string, std::string> acknowledged;  // delivery id -> event id from the 200
  std::set<std::string> sent;                       // every delivery id sent at least once
  uint64_t attempts = 0;                            // requests sent, retries included
  uint64_t duplicate_answers = 0;                   // 200s with duplicate=true (a retry landed)
  uint64_t inconsistent_duplicates = 0;             // duplicate=true naming another event
  std::map<int, uint64_t> acknowledged_by_node;      // node index -> 200s it answered
};

// The nodes' ports; 0 while a node is down. A sender prefers its own node and fails over to the
// first one that is up, as a load balancer would.
struct Nodes {
  std::vector<std::unique_ptr<std::atomic<uint16_t>>> ports;
  int Pick(int preferred) const {
    if (*ports[preferred] != 0) return preferred;
    for (size_t i = 0; i < ports.size(); ++i) {
      if (*ports[i] != 0) return static_cast<int>(i);
    }
    return preferred;
  }
};

// A push delivery as GitHub signs it (X-Hub-Signature-256).
Headers GithubHeaders(const std::string& delivery, const std::string& body) {
  return {{"Content-Type", "application/json"},
          {"X-GitHub-Event", "push"},
          {"X-GitHub-Delivery", delivery},
          {"X-Hub-Signature-256",
           "sha256=" +
               crypto::HexEncode(crypto::Hmac(crypto::DigestAlgorithm::kSha256, kSecret, body))}};
}

// Two nodes: a trigger made through one reaches the other's ingest when that node follows the
// change (eventually, by design). The load must not start before: an event taken by a node that
// knew only one of the triggers would rightly have only that one's run. So each node is probed
// with even deliveries ("probe-…", left out of the run checks) until its answer starts both
// triggers' runs.
void WaitUntilEveryNodeStartsBothTriggers(const std::vector<uint16_t>& ports,
                                          const std::string& path) {
  for (size_t node = 0; node < ports.size(); ++node) {
    HttpClient client("127.0.0.1", ports[node]);
    const auto deadline = Clock::now() + 30s;
    for (int n = 0;; ++n) {
      const std::string delivery =
          "probe-" + std::to_string(node) + "-" + std::to_string(n) + "-even";
      const std::string body = json::serialize(json::object{{"parity", "even"}});
      HttpResult r = client.Send("POST", path, body, GithubHeaders(delivery, body));
      if (r.status == 200) {
        const json::object answer = Parse(r.body);
        const json::value* runs = answer.if_contains("runs");
        if (runs != nullptr && runs->is_array() && runs->as_array().size() == 2) break;
      }
      if (Clock::now() > deadline) {
        SetupFailed("node " + std::to_string(node) + " did not start both triggers' runs: " +
                    std::to_string(r.status) + " " + r.body);
      }
      std::this_thread::sleep_for(50ms);
    }
  }
}

// One sender: unique delivery ids, signed like GitHub signs (X-Hub-Signature-256), paced at
// `rate` per second. A delivery that gets no 200 (connection refused or reset while triggerd is
// down, 5xx) is sent again with the same delivery id until it is acknowledged or the load phase
// ends; the retry may then be answered duplicate=true when the first attempt was committed.
void Send(int sender, const Options& options, const std::string& path, const Nodes& nodes,
          const std::atomic<bool>& stop, Ledger* ledger) {
  std::unique_ptr<HttpClient> client;
  uint16_t client_port = 0;
  const int home = sender % static_cast<int>(nodes.ports.size());
  const auto interval = std::chrono::microseconds(1'000'000 / std::max(options.rate, 1));
  auto next = Clock::now();
  for (int n = 0; !stop; ++n) {
    const bool even = n % 2 == 0;
    const std::string delivery =
        "chaos-" + std::to_string(sender) + "-" + std::to_string(n) + (even ? "-even" : "-odd");
    const std::string body = json::serialize(json::object{
        {"sender", sender}, {"seq", n}, {"parity", even ? "even" : "odd"}, {"delivery", delivery}});
    const Headers headers = GithubHeaders(delivery, body);
    {
      std::lock_guard lock(ledger->mu);
      ledger->sent.insert(delivery);
    }
    for (;;) {
      const int node = nodes.Pick(home);
      if (*nodes.ports[node] != client_port) {
        client_port = *nodes.ports[node];
        client = std::make_unique<HttpClient>("127.0.0.1", client_port);
      }
      HttpResult r = client->Send("POST", path, body, headers);
      {
        std::lock_guard lock(ledger->mu);
        ++ledger->attempts;
      }
      if (r.status == 200) {
        json::object answer = Parse(r.body);
        const std::string event_id = Str(answer, "event_id");
        const json::value* duplicate = answer.if_contains("duplicate");
        std::lock_guard lock(ledger->mu);
        ++ledger->acknowledged_by_node[node];
        auto [it, inserted] = ledger->acknowledged.emplace(delivery, event_id);
        if (duplicate && duplicate->is_bool() && duplicate->as_bool()) {
          ++ledger->duplicate_answers;
          if (!inserted && it->second != event_id) ++ledger->inconsistent_duplicates;
        }
        break;
      }
      if (stop) break;  // never acknowledged: counted as sent only
      std::this_thread::sleep_for(20ms);  // triggerd is down or restarting: retry shortly
    }
    next += interval;
    std::this_thread::sleep_until(next);
    if (Clock::now() > next + 1s) next = Clock::now();  // fell behind during an outage
  }
}

// Every page of a list route ({data, next_cursor}).
std::vector<json::object> ListAll(HttpClient& api, const Headers& auth, const std::string& route) {
  std::vector<json::object> out;
  std::string cursor;
  for (;;) {
    std::string target = route + (route.find('?') == std::string::npos ? "?" : "&") + "limit=500";
    if (!cursor.empty()) target += "&cursor=" + cursor;
    HttpResult r = api.Send("GET", target, "", auth);
    if (r.status != 200) SetupFailed("GET " + target + " answered " + std::to_string(r.status) + ": " + r.body);
    json::object page = Parse(r.body);
    for (const auto& item : page["data"].as_array()) out.push_back(item.as_object());
    const json::value* next = page.if_contains("next_cursor");
    if (!next || !next->is_string()) break;
    cursor = std::string(next->as_string());
  }
  return out;
}

Options ParseArgs(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (flag == "--database-url") options.database_url = argv[i + 1];
    else if (flag == "--seconds") options.seconds = value;
    else if (flag == "--kills") options.kills = value;
    else if (flag == "--senders") options.senders = value;
    else if (flag == "--rate") options.rate = value;
    else SetupFailed("unknown flag " + flag);
  }
  if (options.seconds < 1 || options.kills < 0 || options.senders < 1 || options.rate < 1) {
    SetupFailed("usage: chaos_driver [--seconds S] [--kills K] [--senders N] [--rate R] "
                "[--database-url URL]");
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = ParseArgs(argc, argv);

  // The agent endpoint: counts accepted deliveries per run id (webhook-id); the first attempt of
  // one run in five is refused with 503, so runs also go through retrying.
  std::mutex receiver_mu;
  std::map<std::string, int> attempts_seen;  // run id -> requests received
  std::map<std::string, int> accepted;       // run id -> requests answered 200
  RecordingTarget receiver([&](const RecordingTarget::Received& r, const auto&) {
    const std::string run_id(triggerd::FindHeader(r.headers, "webhook-id").value_or(""));
    std::lock_guard lock(receiver_mu);
    const int attempt = ++attempts_seen[run_id];
    if (attempt == 1 && std::hash<std::string>{}(run_id) % 5 == 0) {
      return RecordingTarget::Reply(503, R"({"error":"try again"})");
    }
    ++accepted[run_id];
    return RecordingTarget::Reply(200, "ok");
  });

  TempDir dir;
  data_dir = &dir;
  const auto config = dir.path() / "triggerd.yaml";
  std::ofstream(config) << "retry_base_ms: 50\nretry_max_ms: 500\ndispatch_workers: 8\n"
                           "run_lease_seconds: 5\n";
  // One node, or two sharing the PostgreSQL database. The first node starts (and bootstraps the
  // workspace and admin key) before the second.
  const bool cluster = !options.database_url.empty();
  std::vector<std::unique_ptr<TriggerdProcess>> processes;
  for (int i = 0; i < (cluster ? 2 : 1); ++i) {
    std::vector<std::string> args = {"--config", config.string()};
    if (cluster) args.insert(args.end(), {"--database-url", options.database_url});
    processes.push_back(std::make_unique<TriggerdProcess>(
        dir.path() / ("data" + std::to_string(i)), std::move(args)));
    if (cluster) processes.back()->SetEnv("TRIGGERD_MASTER_KEY", std::string(kClusterMasterKey));
    running_processes.push_back(processes.back().get());
    if (!processes.back()->Start()) SetupFailed(processes.back()->error());
  }
  TriggerdProcess& process = *processes[0];
  const std::string admin = process.AdminKey();
  const Headers auth = {{"Authorization", "Bearer " + admin}, {"Content-Type", "application/json"}};

  std::string ingest_path, source_id, trigger_all, trigger_even;
  {
    HttpClient api("127.0.0.1", process.port());
    json::object source_spec{{"name", "chaos"}, {"kind", "github"}, {"secret", kSecret}};
    HttpResult created = api.Send("POST", "/api/v1/sources", json::serialize(source_spec), auth);
    if (created.status != 201) SetupFailed("create source: " + created.body);
    json::object source = Parse(created.body);
    source_id = Str(source, "id");
    const std::string url = Str(source, "url");
    ingest_path = url.substr(url.find("/api/v1/w/"));
    json::object agent_spec{{"name", "chaos-agent"},
                            {"concurrency", 8},
                            {"max_attempts", 8},
                            {"target", {{"type", "http"}, {"url", receiver.Url("/agent")}}}};
    HttpResult agent = api.Send("POST", "/api/v1/agents", json::serialize(agent_spec), auth);
    if (agent.status != 201) SetupFailed("create agent: " + agent.body);
    const std::string agent_id = Str(Parse(agent.body), "id");
    json::object even_spec{{"agent_id", agent_id},
                           {"source_id", source_id},
                           {"name", "even"},
                           {"filter", "(eq \"parity\" \"even\")"}};
    HttpResult even = api.Send("POST", "/api/v1/triggers", json::serialize(even_spec), auth);
    json::object all_spec{{"agent_id", agent_id}, {"source_id", source_id}, {"name", "all"}};
    HttpResult all = api.Send("POST", "/api/v1/triggers", json::serialize(all_spec), auth);
    if (even.status != 201 || all.status != 201) SetupFailed("create triggers: " + even.body + all.body);
    trigger_even = Str(Parse(even.body), "id");
    trigger_all = Str(Parse(all.body), "id");
  }
  if (cluster) {
    std::vector<uint16_t> ports;
    for (const auto& p : processes) ports.push_back(p->port());
    WaitUntilEveryNodeStartsBothTriggers(ports, ingest_path);
  }

  // The load phase: senders run throughout. One node: it is killed `kills` times at even
  // intervals (jittered) and restarted at once on the same data dir (a new port each time). Two
  // nodes: the second is killed once, midway, and stays down.
  Ledger ledger;
  Nodes nodes;
  for (const auto& p : processes) {
    nodes.ports.push_back(std::make_unique<std::atomic<uint16_t>>(p->port()));
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> senders;
  for (int i = 0; i < options.senders; ++i) {
    senders.emplace_back(Send, i, std::cref(options), std::cref(ingest_path), std::cref(nodes),
                         std::cref(stop), &ledger);
  }
  const auto start = Clock::now();
  const auto phase = std::chrono::seconds(options.seconds);
  std::mt19937 random(std::random_device{}());
  int kills = 0;
  if (cluster) {
    std::this_thread::sleep_until(start + phase / 2);
    *nodes.ports[1] = 0;
    processes[1]->Kill();
    ++kills;
  }
  for (int k = 1; !cluster && k <= options.kills; ++k) {
    const auto at = start + phase * k / (options.kills + 1) +
                    std::chrono::milliseconds(std::uniform_int_distribution<int>(-300, 300)(random));
    std::this_thread::sleep_until(at);
    process.Kill();
    ++kills;
    if (!process.Start()) SetupFailed("restart after kill " + std::to_string(k) + ": " + process.error());
    *nodes.ports[0] = process.port();
  }
  std::this_thread::sleep_until(start + phase);
  stop = true;
  for (auto& t : senders) t.join();
  const double load_seconds = std::chrono::duration<double>(Clock::now() - start).count();

  // Drain: every run reaches a final state (generous deadline; retries back off to 500 ms).
  HttpClient api("127.0.0.1", process.port());
  const auto drain_deadline = Clock::now() + 120s;
  bool drained = false;
  while (Clock::now() < drain_deadline) {
    bool pending = false;
    for (const char* status : {"queued", "running", "retrying"}) {
      HttpResult r = api.Send("GET", std::string("/api/v1/runs?limit=1&status=") + status, "", auth);
      if (r.status != 200) SetupFailed("list runs: " + r.body);
      pending = pending || !Parse(r.body)["data"].as_array().empty();
    }
    if (!pending) {
      drained = true;
      break;
    }
    std::this_thread::sleep_for(100ms);
  }

  // Verification.
  std::vector<std::string> violations;
  auto violation = [&](std::string what) {
    if (violations.size() < 20) std::fprintf(stderr, "chaos: VIOLATION: %s\n", what.c_str());
    violations.push_back(std::move(what));
  };
  if (!drained) violation("runs still pending 120 s after the load ended");
  if (ledger.inconsistent_duplicates > 0) {
    violation(std::to_string(ledger.inconsistent_duplicates) +
              " duplicate answers named another event than the first 200");
  }

  std::map<std::string, std::string> stored;  // event id -> delivery id
  std::map<std::string, int> events_per_delivery;
  for (const auto& event : ListAll(api, auth, "/api/v1/events?source_id=" + source_id)) {
    const std::string delivery = Str(event, "delivery_id");
    stored[Str(event, "id")] = delivery;
    if (++events_per_delivery[delivery] == 2) violation("delivery " + delivery + " stored twice");
  }
  size_t lost = 0;
  for (const auto& [delivery, event_id] : ledger.acknowledged) {
    if (!stored.count(event_id)) {
      ++lost;
      violation("acknowledged event " + event_id + " (delivery " + delivery + ") is not stored");
    }
  }

  std::map<std::string, std::map<std::string, int>> runs_by_event;  // event -> trigger -> runs
  std::map<std::string, std::string> run_status;
  for (const auto& run : ListAll(api, auth, "/api/v1/runs")) {
    const std::string id = Str(run, "id"), event_id = Str(run, "event_id");
    run_status[id] = Str(run, "status");
    ++runs_by_event[event_id][Str(run, "trigger_id")];
    if (!stored.count(event_id)) violation("run " + id + " belongs to no stored event");
  }
  for (const auto& [event_id, delivery] : stored) {
    if (delivery.starts_with("probe-")) continue;  // before the load (see the probe)
    const bool even = delivery.ends_with("-even");
    auto& per_trigger = runs_by_event[event_id];
    if (per_trigger[trigger_all] != 1) {
      violation("event " + event_id + " has " + std::to_string(per_trigger[trigger_all]) +
                " runs of trigger all (want 1)");
    }
    if (per_trigger[trigger_even] != (even ? 1 : 0)) {
      violation("event " + event_id + " (" + delivery + ") has " +
                std::to_string(per_trigger[trigger_even]) + " runs of trigger even");
    }
    if (per_trigger.size() > 2) violation("event " + event_id + " has runs of unknown triggers");
  }
  size_t succeeded = 0, dead = 0;
  for (const auto& [id, status] : run_status) {
    if (status == "succeeded") {
      ++succeeded;
    } else if (status == "dead") {
      ++dead;
    } else {
      violation("run " + id + " ended " + status);
    }
  }

  size_t deliveries = 0, duplicate_deliveries = 0, refused_on_purpose = 0;
  {
    std::lock_guard lock(receiver_mu);
    for (const auto& [run_id, n] : accepted) {
      deliveries += n;
      duplicate_deliveries += n - 1;
      if (!run_status.count(run_id)) violation("the receiver got unknown run " + run_id);
    }
    for (const auto& [run_id, n] : attempts_seen) {
      refused_on_purpose += n - (accepted.count(run_id) ? accepted.at(run_id) : 0);
    }
    for (const auto& [id, status] : run_status) {
      if (status == "succeeded" && !accepted.count(id)) {
        violation("run " + id + " succeeded but the receiver never accepted it");
      }
    }
  }
  const int stop_status = process.Stop();
  if (stop_status != 0) violation("triggerd exited " + std::to_string(stop_status) + " on SIGTERM");

  if (cluster) {
    std::printf("chaos: two nodes on PostgreSQL; acknowledged by node 0: %llu, by node 1 "
                "(killed midway, not restarted): %llu\n",
                static_cast<unsigned long long>(ledger.acknowledged_by_node[0]),
                static_cast<unsigned long long>(ledger.acknowledged_by_node[1]));
    if (ledger.acknowledged_by_node[1] == 0) violation("the second node acknowledged nothing");
  }
  std::printf(
      "chaos: %.1f s of load, %d kill -9%s, %d senders at %d/s each\n"
      "chaos: sent %zu, acknowledged %zu (attempts %llu, answered duplicate %llu), stored %zu\n"
      "chaos: runs %zu (succeeded %zu, dead %zu), deliveries %zu (refused on purpose %zu), "
      "duplicate deliveries %zu\n"
      "chaos: lost %zu, violations %zu\n",
      load_seconds, kills, cluster ? " (no restart)" : " + restart", options.senders,
      options.rate, ledger.sent.size(),
      ledger.acknowledged.size(), static_cast<unsigned long long>(ledger.attempts),
      static_cast<unsigned long long>(ledger.duplicate_answers), stored.size(), run_status.size(),
      succeeded, dead, deliveries, refused_on_purpose, duplicate_deliveries, lost,
      violations.size());
  if (ledger.acknowledged.empty()) {
    std::fprintf(stderr, "chaos: nothing was acknowledged; the test proved nothing\n");
    return 1;
  }
  return violations.empty() ? 0 : 1;
}
