// libFuzzer target for the HTTP request path: bytes as one connection received them, through
// http::HandleRequestBytes (the server's own parse + limits + dispatch steps, without a socket)
// into the real Router with every api route, over a real SQLite store.
//
// The store lives in a temporary directory (on tmpfs when /dev/shm exists, so the group commit's
// fsync costs next to nothing) created once per process by LLVMFuzzerInitialize, with a fixture
// built through the REST API itself: an open custom source (4 KiB body limit, delivery ids from
// X-Delivery) with a filtered trigger, a github source (signing secret "fuzz-github-secret") with
// an unfiltered trigger, an agent with an agent webhook (compat surface), and one ingested event
// with its run. Ingest rate limits are off (the fuzzer would otherwise mostly see 429s); no
// dispatcher runs (runs stay queued).
//
// Input: the raw bytes of one connection (pipelined requests allowed). Placeholders are replaced
// by the fixture's values before the bytes are handled, so seeds stay valid whatever ids this
// process generated: {key} the admin API key, {ws} the workspace id, {open} and {github} the
// sources' ids, {open-url} and {github-url} their ingest paths (secret included), {agent},
// {trigger} (the open source's), {event}, {run}.
//
// Checks beyond "no crash, no sanitizer report, no hang": no answer is the 500 that the server
// gives when a handler throws (a bug by the house rules); every exchange produced either nothing
// (client gone before a whole head) or bytes starting with an HTTP/1.1 status line.
//
// With TRIGGERD_FUZZ_ECHO set, every answer is printed (to check what a new seed reaches).
//
// The fuzzer may PATCH, DELETE or rotate the fixture (it has the admin key). After an input that
// changed something through such a route, the fixture is checked through the store and rebuilt
// when it no longer holds, so later inputs keep reaching ingest and management code.
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "api/api.h"
#include "catalog/caches.h"
#include "catalog/catalog.h"
#include "common/clock.h"
#include "http/http.h"
#include "ingest/ingest.h"
#include "store/store.h"

namespace {

namespace catalog = triggerd::catalog;
namespace api = triggerd::api;
namespace http = triggerd::http;
namespace ingest = triggerd::ingest;
namespace store = triggerd::store;
namespace json = boost::json;

constexpr std::string_view kInternalErrorBody = "internal error while handling the request";

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "http_request_fuzz: %s\n", what.c_str());
  std::abort();
}

struct Placeholder {
  std::string name;  // "{key}"
  std::string value;
};

class Fixture {
 public:
  Fixture() {
    std::error_code ec;
    std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec)
                                     ? std::filesystem::path("/dev/shm")
                                     : std::filesystem::temp_directory_path();
    std::string pattern = (base / "triggerd-http-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) Die("cannot create a temporary directory");
    dir_ = pattern;

    store::SqliteOptions store_options;
    store_options.path = (dir_ / "triggerd.db").string();
    auto opened = store::OpenSqliteStore(store_options);
    if (!opened) Die("cannot open the store: " + opened.error().ToString());
    store_ = std::move(opened).value();

    ingest::Options ingest_options;
    ingest_options.per_source = {0, 0};  // unlimited: see the file comment
    ingest_options.per_workspace = {0, 0};
    ingestor_ = std::make_unique<ingest::Ingestor>(store_.get(), clock_, ingest_options);
    catalog_ = std::make_unique<triggerd::catalog::Catalog>(store_.get());
    caches_ = std::make_unique<triggerd::catalog::CacheObserver>(ingestor_.get(), nullptr, nullptr);
    catalog_->AddObserver(caches_.get());
    context_.store = store_.get();
    context_.catalog = catalog_.get();
    context_.ingestor = ingestor_.get();
    context_.clock = clock_;  // no dispatcher (runs stay queued), no metrics registry
    api::RegisterRoutes(&router_, &context_);
    // Notes answers that may have broken the fixture (see the file comment). Cheap: no
    // allocation on the common path.
    router_.SetObserver([this](const http::RouteObservation& seen) {
      if (seen.status < 200 || seen.status > 299) return;
      const bool mutating = seen.method == "PATCH" || seen.method == "PUT" ||
                            seen.method == "DELETE" ||
                            (seen.method == "POST" && seen.pattern.ends_with("/rotate"));
      if (mutating) fixture_touched_ = true;
    });

    auto bootstrap = api::BootstrapIfEmpty(store_.get(), *clock_, "fuzz");
    if (!bootstrap || !bootstrap->has_value()) Die("bootstrap failed");
    workspace_id_ = (*bootstrap)->workspace_id;
    admin_key_ = (*bootstrap)->admin_key;
    Build();
  }

  ~Fixture() {
    store_->Close();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Handles one input; returns the response bytes.
  std::string Handle(std::string_view input) {
    std::string bytes = Substitute(input);
    fixture_touched_ = false;
    std::string out = http::HandleRequestBytes(bytes, router_, server_options_, "127.0.0.1");
    if (fixture_touched_ && !Intact()) Build();
    return out;
  }

  const std::filesystem::path& dir() const { return dir_; }

 private:
  // Answers a request built here (fixture set-up); dies unless the status is `expect`.
  json::object Call(const std::string& method, const std::string& target, const std::string& body,
                    int expect) {
    std::string request = method + " " + target + " HTTP/1.1\r\nHost: fuzz.local\r\n" +
                          "Authorization: Bearer " + admin_key_ +
                          "\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
    std::string response = http::HandleRequestBytes(request, router_, server_options_);
    const std::string status_line = "HTTP/1.1 " + std::to_string(expect) + " ";
    if (response.rfind(status_line, 0) != 0) {
      Die("fixture: " + method + " " + target + " answered:\n" + response);
    }
    const size_t at = response.find("\r\n\r\n");
    boost::system::error_code ec;
    json::value parsed = json::parse(response.substr(at == std::string::npos ? 0 : at + 4), ec);
    return !ec && parsed.is_object() ? parsed.as_object() : json::object{};
  }

  static std::string Str(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : "";
  }
  static std::string PathOf(const std::string& url) {
    const size_t at = url.find("/api/v1/w/");
    return at == std::string::npos ? url : url.substr(at);
  }

  // Creates the sources, agent, triggers, agent webhook and first event through the REST API
  // (so with the validation and side effects a user's calls have) and remembers what to check.
  void Build() {
    json::object open = Call("POST", "/api/v1/sources",
                             R"({"name":"fuzz open","kind":"custom","delivery_id_header":"X-Delivery",)"
                             R"("max_body_bytes":4096})",
                             201);
    json::object github = Call("POST", "/api/v1/sources",
                               R"({"name":"fuzz github","kind":"github","secret":"fuzz-github-secret"})",
                               201);
    json::object agent = Call("POST", "/api/v1/agents",
                              R"({"name":"fuzz-agent","instructions":"fuzz",)"
                              R"("target":{"type":"http","url":"http://127.0.0.1:9/agent"}})",
                              201);
    const std::string agent_id = Str(agent, "id");
    json::object filtered{{"agent_id", agent_id},
                          {"source_id", Str(open, "id")},
                          {"filter", "(eq \"action\" \"opened\")"}};
    json::object trigger = Call("POST", "/api/v1/triggers", json::serialize(filtered), 201);
    json::object all{{"agent_id", agent_id}, {"source_id", Str(github, "id")}};
    json::object github_trigger = Call("POST", "/api/v1/triggers", json::serialize(all), 201);
    Call("PUT", "/api/v1/agents/" + agent_id + "/webhook", "{}", 201);

    const std::string open_url = PathOf(Str(open, "url"));
    json::object event = Call("POST", open_url, R"({"action":"opened","number":1})", 200);
    std::string run_id;
    if (const json::value* runs = event.if_contains("runs");
        runs && runs->is_array() && !runs->as_array().empty() && runs->as_array()[0].is_object()) {
      run_id = Str(runs->as_array()[0].as_object(), "run_id");
    }

    placeholders_ = {
        {"{key}", admin_key_},
        {"{ws}", workspace_id_},
        {"{open}", Str(open, "id")},
        {"{github}", Str(github, "id")},
        {"{open-url}", open_url},
        {"{github-url}", PathOf(Str(github, "url"))},
        {"{agent}", agent_id},
        {"{trigger}", Str(trigger, "id")},
        {"{event}", Str(event, "event_id")},
        {"{run}", run_id},
    };
    for (const auto& p : placeholders_) {
      if (p.value.empty()) Die("fixture: no value for " + p.name);
    }
    // What Intact() compares: each entity's last change.
    expected_ = {};
    auto source_a = store_->GetSource(workspace_id_, Str(open, "id"));
    auto source_b = store_->GetSource(workspace_id_, Str(github, "id"));
    auto agent_record = store_->GetAgent(workspace_id_, agent_id);
    auto trigger_a = store_->GetTrigger(workspace_id_, Str(trigger, "id"));
    auto trigger_b = store_->GetTrigger(workspace_id_, Str(github_trigger, "id"));
    if (!source_a || !source_b || !agent_record || !trigger_a || !trigger_b) {
      Die("fixture: created entities not found in the store");
    }
    expected_.sources = {*source_a, *source_b};
    expected_.agent = *agent_record;
    expected_.triggers = {*trigger_a, *trigger_b};
    webhook_ = store_->GetAgentWebhook(agent_id, "agent").has_value()
                   ? store_->GetAgentWebhook(agent_id, "agent").value()
                   : store::AgentWebhook{};
  }

  bool Intact() {
    for (const auto& source : expected_.sources) {
      auto now = store_->GetSource(workspace_id_, source.id);
      if (!now || now->updated_at != source.updated_at) return false;
    }
    auto agent = store_->GetAgent(workspace_id_, expected_.agent.id);
    if (!agent || agent->updated_at != expected_.agent.updated_at) return false;
    for (const auto& trigger : expected_.triggers) {
      auto now = store_->GetTrigger(workspace_id_, trigger.id);
      if (!now || now->updated_at != trigger.updated_at) return false;
    }
    auto webhook = store_->GetAgentWebhook(expected_.agent.id, "agent");
    return webhook && webhook->updated_at == webhook_.updated_at;
  }

  std::string Substitute(std::string_view input) const {
    std::string out;
    out.reserve(input.size() + 64);
    size_t i = 0;
    while (i < input.size()) {
      const size_t open = input.find('{', i);
      if (open == std::string_view::npos) break;
      out.append(input.substr(i, open - i));
      bool replaced = false;
      for (const auto& p : placeholders_) {
        if (input.substr(open, p.name.size()) == p.name) {
          out += p.value;
          i = open + p.name.size();
          replaced = true;
          break;
        }
      }
      if (!replaced) {
        out += '{';
        i = open + 1;
      }
    }
    out.append(input.substr(std::min(i, input.size())));
    return out;
  }

  const triggerd::Clock* clock_ = &triggerd::SystemClock::Instance();
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  std::unique_ptr<triggerd::catalog::Catalog> catalog_;
  std::unique_ptr<triggerd::catalog::CacheObserver> caches_;
  api::ApiContext context_;
  http::Router router_{1024 * 1024};  // the server's default body limit (config max_body_bytes)
  http::ServerOptions server_options_;  // the server's defaults: 16 KiB head
  std::atomic<bool> fixture_touched_{false};
  std::string workspace_id_;
  std::string admin_key_;
  std::vector<Placeholder> placeholders_;
  struct {
    std::vector<store::Source> sources;
    store::Agent agent;
    std::vector<store::Trigger> triggers;
  } expected_;
  store::AgentWebhook webhook_;
};

Fixture* fixture = nullptr;
bool echo = false;

void RemoveFixture() {
  delete fixture;
  fixture = nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fixture = new Fixture();
  echo = std::getenv("TRIGGERD_FUZZ_ECHO") != nullptr;
  std::atexit(RemoveFixture);
  return 0;
}

bool IEqualsAscii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// The framing rules of http::FramingErrorResponse, read naively off the first request's head:
// true when that head must be refused (Transfer-Encoding other than one "chunked" field, TE on
// HTTP/1.0, HTTP/1.1 without exactly one Host). A head the naive reading gets wrong is malformed
// anyway, which is a 400 too.
bool FirstHeadMustBeRefused(std::string_view input) {
  const size_t end = input.find("\r\n\r\n");
  if (end == std::string_view::npos) return false;
  std::string_view head = input.substr(0, end + 2);
  const size_t line_end = head.find("\r\n");
  const std::string_view request_line = head.substr(0, line_end);
  const bool http10 = request_line.ends_with(" HTTP/1.0");
  const bool http11 = request_line.ends_with(" HTTP/1.1");
  int transfer_encodings = 0, hosts = 0;
  bool chunked_only = true;
  for (size_t at = line_end + 2; at < head.size();) {
    const size_t next = head.find("\r\n", at);
    std::string_view line = head.substr(at, next - at);
    at = next + 2;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (IEqualsAscii(line.substr(0, colon), "transfer-encoding")) {
      ++transfer_encodings;
      chunked_only = chunked_only && IEqualsAscii(value, "chunked");
    } else if (IEqualsAscii(line.substr(0, colon), "host")) {
      ++hosts;
    }
  }
  return (transfer_encodings > 0 && (http10 || !chunked_only || transfer_encodings > 1)) ||
         (http11 && hosts != 1);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string out = fixture->Handle(input);
  if (echo) std::fprintf(stderr, "----\n%s\n", out.c_str());
  if (!out.empty() && out.rfind("HTTP/1.1 ", 0) != 0 && out.rfind("HTTP/1.0 ", 0) != 0) {
    Die("the answer does not start with a status line:\n" + out.substr(0, 200));
  }
  // Ambiguous framing never reaches a route: the first answer is a 400 (or 431 when the head is
  // too large, which is checked first).
  if (!out.empty() && FirstHeadMustBeRefused(input) && out.compare(9, 3, "400") != 0 &&
      out.compare(9, 3, "431") != 0) {
    Die("ambiguous framing was not refused:\n" + out.substr(0, 400));
  }
  // The marker counts only inside a 500 answer: inputs may carry the same words into a stored
  // field that a 200 listing then echoes.
  for (size_t at = out.find(kInternalErrorBody); at != std::string::npos;
       at = out.find(kInternalErrorBody, at + 1)) {
    const size_t status_line = out.rfind("HTTP/1.", at);
    if (status_line != std::string::npos && out.compare(status_line + 9, 3, "500") == 0) {
      Die("a handler threw (answered 500):\n" + out.substr(0, 2000));
    }
  }
  return 0;
}
