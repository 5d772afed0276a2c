#include "ingest/ingest.h"
#include "ingest/body.h"
#include "ingest/internal.h"

#include <spdlog/spdlog.h>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>
#include <algorithm>
#include <cmath>
#include <mutex>

#include "common/crypto.h"
#include "common/ids.h"
#include "common/ip_network.h"
#include "common/json_parse.h"
#include "common/log_context.h"
#include "common/redact.h"
#include "common/utf8.h"
#include "filter/filter.h"
#include "verify/catalog.h"

namespace triggerd::ingest {

struct CachedTrigger {
  store::Trigger trigger;
  filter::CompiledFilter filter;
  std::string compile_error;  // non-empty: the stored filter does not compile (any more)
  // Whether evaluating it needs the parsed payload: an enabled trigger whose filter is not
  // empty. (A filter reading only $event/$headers also counts: rare, and parsing is then cheap
  // next to the run it starts.)
  bool reads_payload = false;
};

namespace {

std::shared_ptr<const CachedTrigger> BuildTrigger(const store::Trigger& trigger) {
  auto cached = std::make_shared<CachedTrigger>();
  cached->trigger = trigger;
  auto compiled = filter::Compile(trigger.filter);
  if (compiled) {
    cached->filter = std::move(compiled).value();
    cached->reads_payload = trigger.enabled && !cached->filter.matches_everything();
  } else {
    // The API refuses such filters on write; one can still appear after an upgrade changed the
    // language. Kept, so every evaluation records why it did not run.
    cached->compile_error = compiled.error().message();
  }
  return cached;
}

// Creation order (ids are time-ordered, so they break ties of equal times).
bool CreatedBefore(const std::shared_ptr<const CachedTrigger>& a,
                   const std::shared_ptr<const CachedTrigger>& b) {
  if (a->trigger.created_at != b->trigger.created_at) {
    return a->trigger.created_at < b->trigger.created_at;
  }
  return a->trigger.id < b->trigger.id;
}

std::shared_ptr<const CachedSource> Build(const store::Source& source) {
  auto cached = std::make_shared<CachedSource>();
  cached->source = source;
  if (source.generated()) {
    // A schedule or poll source (src/schedule) receives nothing: Admit refuses every request.
    cached->verification = source.kind;
    cached->verifier_error = Status::Internal("a " + source.kind + " source has no ingest URL");
    return cached;
  }
  cached->provider = verify::FindProvider(source.kind);
  if (const verify::ProviderCatalog* catalog = verify::FindCatalog(source.kind)) {
    cached->expects_handshake =
        catalog->handshake != nullptr && catalog->handshake->signed_by_provider;
  }
  for (const auto& text : source.allowed_ips) {
    // The API validates on write (host bits refused since; an entry stored before means its
    // network); an unparsable stored entry admits nobody rather than anybody.
    auto network = IpNetwork::Parse(text, IpNetwork::HostBits::kClear);
    if (network) cached->allowed_networks.push_back(*network);
  }
  auto settings = verify::ParseAuthSettingsJson(source.kind, source.auth_json);
  if (!settings) {
    cached->verifier_error = settings.error();
    return cached;
  }
  if (settings->hmac) cached->hmac_header = settings->hmac->header;
  if (source.kind != "custom") {
    cached->verification = source.kind + (settings->bearer ? "+bearer" : "");
  } else if (settings->bearer || settings->hmac) {
    cached->verification = settings->bearer && settings->hmac ? "bearer+hmac"
                           : settings->bearer                 ? "bearer"
                                                              : "hmac";
  } else {
    cached->verification = "url_secret";  // protected by its secret URL alone
  }
  verify::Secrets secrets;
  if (!source.signing_secret.empty()) secrets.signing.push_back(source.signing_secret);
  if (!source.token_hash.empty()) secrets.bearer_token_sha256.push_back(source.token_hash);
  if (settings->api_key) {
    // The bearer part is checked apart (CheckBearer): the source's token or an API key.
    cached->api_key = true;
    const std::string signature = source.kind != "custom" ? source.kind
                                  : settings->hmac        ? "hmac"
                                                          : "";
    cached->api_key_verification = signature.empty() ? "api_key" : signature + "+api_key";
    if (cached->verification == "url_secret") cached->verification = "api_key";
    if (settings->bearer) {
      verify::AuthSettings token_only;
      token_only.bearer = true;
      auto token = verify::MakeVerifier("custom", token_only, secrets);
      if (!token) {
        cached->verifier_error = token.error();
        return cached;
      }
      cached->token_verifier = std::move(token).value();
      settings->bearer = false;
    }
  }
  auto verifier = verify::MakeVerifier(source.kind, *settings, secrets);
  if (verifier) {
    cached->verifier = std::move(verifier.value());
  } else {
    cached->verifier_error = verifier.error();
  }
  return cached;
}

Status NotFound() { return Status::NotFound("no such webhook source"); }

// The record's reason for a trigger whose event_types do not include the event's type.
std::string SkippedTypeMessage(std::string_view event_type,
                               const std::vector<std::string>& subscribed) {
  std::string message("not subscribed: ");
  message += event_type.empty() ? "the event has no type; the trigger takes only its event_types ("
                                : "event type \"" + std::string(event_type) +
                                      "\" is not among the trigger's event_types (";
  for (size_t i = 0; i < subscribed.size(); ++i) {
    if (i > 0) message += ", ";
    message += subscribed[i];
  }
  message += ")";
  return message;
}

std::string_view MediaType(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  while (!media.empty() && media.front() == ' ') media.remove_prefix(1);
  return media;
}

bool IEquals(std::string_view a, std::string_view b) { return HeaderNameEquals(a, b); }

bool IsJsonMediaType(std::string_view media) {
  return IEquals(media, "application/json") ||
         (media.size() > 5 && IEquals(media.substr(media.size() - 5), "+json"));
}

}  // namespace

// Parses the body into the event's JSON payload. `payload_json` is left empty when the body
// itself is the JSON payload (no need to store it twice). With `need_payload` false (nothing is
// read from the body), a JSON body is only validated, not built into `payload`, which stays null:
// same answers, no document. Declared in body.h (for the fuzz target).
Status ParseBody(std::string_view content_type, std::string_view body, bool need_payload,
                 boost::json::value* payload, std::string* payload_json) {
  if (body.empty()) return Status::InvalidArgument("the request body is empty", "invalid_body");
  std::string_view media = MediaType(content_type);
  if (IEquals(media, "application/x-www-form-urlencoded")) {
    // A raw NUL is never valid in a form body; and Boost.URL 1.81's compiled parse_query measures
    // its argument with strlen (found by fuzz/body_fuzz: an over-read of a view that is not
    // NUL-terminated), so it is handed a NUL-terminated copy whose strlen is its size.
    if (body.find('\0') != std::string_view::npos) {
      return Status::InvalidArgument("the form body is malformed", "invalid_body");
    }
    const std::string form(body);
    body = form;
    auto query = boost::urls::parse_query(body);
    if (!query) return Status::InvalidArgument("the form body is malformed", "invalid_body");
    boost::urls::encoding_opts opts;
    opts.space_as_plus = true;
    // parse_query has validated the text, so this constructor (which throws on invalid input)
    // cannot throw. (Boost 1.81's library does not export the params_encoded_view overload.)
    boost::urls::params_view params(body, opts);
    boost::json::object fields;
    for (auto param : params) {
      if (param.key == "payload") {
        // GitHub's form delivery: the JSON document is the `payload` field.
        boost::system::error_code ec;
        *payload = ParseJson(param.value, ec);
        if (ec == boost::json::error::too_deep) {
          return Status::InvalidArgument(
              "the form field \"payload\" is " + JsonErrorMessage(ec), "invalid_body");
        }
        if (ec || !(payload->is_object() || payload->is_array())) {
          return Status::InvalidArgument(
              "the form field \"payload\" is not a JSON object or array", "invalid_body");
        }
        // The field's own text, not a re-serialisation: it is JSON already, and Boost.JSON 1.81
        // serialises an out-of-range number (1e400 reads as Infinity, 0.0e4300 as NaN) as
        // `Infinity`/`NaN`, which no JSON parser reads back (found by fuzz/body_fuzz).
        *payload_json = std::string(param.value);
        return Status::Ok();
      }
      // Percent-decoding may yield bytes that are not UTF-8 (%91%8B); JSON text must be, or the
      // stored payload would not parse again (found by fuzz/body_fuzz).
      auto text = [](const std::string& decoded) {
        return FindInvalidUtf8(decoded) == std::string_view::npos ? decoded : RepairUtf8(decoded);
      };
      fields[text(param.key)] = text(param.value);
    }
    // Other form posts (Slack commands, Twilio) become an object of their fields.
    *payload = std::move(fields);
    *payload_json = boost::json::serialize(*payload);
    return Status::Ok();
  }
  if (!media.empty() && !IsJsonMediaType(media)) {
    return Status(ErrorType::kUnsupportedMediaType, "unsupported_media_type",
                  "content type \"" + std::string(media.substr(0, 100)) +
                      "\" is not supported; send application/json or "
                      "application/x-www-form-urlencoded");
  }
  boost::system::error_code ec;
  boost::json::parse_options parse_options;
  parse_options.max_depth = kMaxJsonDepth;  // what every reader of the stored payload uses
  if (!need_payload) {
    const JsonShape shape = ValidateJson(body, ec);
    if (ec) {
      return Status::InvalidArgument("the body is not valid JSON: " + JsonErrorMessage(ec),
                                     "invalid_body");
    }
    if (shape != JsonShape::kContainer) {
      return Status::InvalidArgument("the body must be a JSON object or array", "invalid_body");
    }
    return Status::Ok();
  }
  // The parser's own stack in a local buffer, and the document in the payload's (monotonic)
  // storage: parsing a webhook then costs a few allocations, not one per key and string.
  unsigned char parser_stack[4096];
  boost::json::parser parser(boost::json::storage_ptr(), parse_options, parser_stack,
                             sizeof(parser_stack));
  parser.reset(payload->storage());
  parser.write(body.data(), body.size(), ec);
  if (!ec) *payload = parser.release();
  if (ec) {
    return Status::InvalidArgument("the body is not valid JSON: " + JsonErrorMessage(ec),
                                   "invalid_body");
  }
  if (!payload->is_object() && !payload->is_array()) {
    return Status::InvalidArgument("the body must be a JSON object or array", "invalid_body");
  }
  return Status::Ok();
}

namespace {

// Reads a header or a dotted body field; "" when absent or not a string/number.
std::string ReadField(const verify::FieldRef& ref, const Headers& headers,
                      const boost::json::value& payload) {
  if (ref.source == verify::FieldSource::kHeader) {
    auto value = FindHeader(headers, ref.name);
    if (!value && !ref.alt_name.empty()) value = FindHeader(headers, ref.alt_name);
    return value ? std::string(*value) : "";
  }
  if (ref.source == verify::FieldSource::kBodyField) {
    const boost::json::value* node = &payload;
    std::string_view path = ref.name;
    while (node != nullptr && !path.empty()) {
      size_t dot = path.find('.');
      std::string_view key = path.substr(0, dot);
      path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
      node = node->is_object() ? node->as_object().if_contains(key) : nullptr;
    }
    if (node == nullptr) return "";
    if (node->is_string()) return std::string(node->as_string());
    if (node->is_int64()) return std::to_string(node->as_int64());
    if (node->is_uint64()) return std::to_string(node->as_uint64());
  }
  return "";
}

}  // namespace

Headers RedactHeaders(Headers headers, std::string_view extra_header) {
  for (auto& header : headers) {
    if ((!extra_header.empty() && IEquals(header.name, extra_header)) ||
        verify::IsCredentialHeader(header.name)) {
      header.value = kRedacted;
    } else if (FindInvalidUtf8(header.value) != std::string_view::npos) {
      header.value = RepairUtf8(header.value);
    }
  }
  return headers;
}

// A token bucket, refilled lazily from the clock on each take.
class Ingestor::TokenBucket {
 public:
  TokenBucket(const RateLimit& limit, int64_t now_micros)
      : tokens_(std::max(limit.burst, 1.0)), last_micros_(now_micros) {}

  bool Take(const RateLimit& limit, int64_t now_micros) {
    std::lock_guard<std::mutex> lock(mu_);
    const double burst = std::max(limit.burst, 1.0);
    if (now_micros > last_micros_) {
      tokens_ = std::min(burst, tokens_ + limit.rate * (now_micros - last_micros_) / 1e6);
      last_micros_ = now_micros;
    }
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  std::mutex mu_;
  double tokens_;
  int64_t last_micros_;
};

Ingestor::Ingestor(store::Store* store, const Clock* clock, Options options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      direct_(std::make_unique<DirectWebhooks>()) {}

Ingestor::~Ingestor() = default;

bool Ingestor::TakeToken(std::unordered_map<std::string, std::unique_ptr<TokenBucket>>* buckets,
                         std::string_view key, const RateLimit& limit) const {
  if (limit.rate <= 0) return true;
  const int64_t now = clock_->NowMicros();
  // Several nodes share the limits: each enforces its share (SetRateShare).
  const int nodes = rate_share_nodes_.load(std::memory_order_relaxed);
  const RateLimit share{limit.rate / nodes, limit.burst / nodes};
  TokenBucket* bucket = nullptr;
  {
    std::lock_guard<std::mutex> lock(buckets_mu_);
    auto& slot = (*buckets)[std::string(key)];
    if (!slot) slot = std::make_unique<TokenBucket>(share, now);
    bucket = slot.get();  // never erased: the pointer stays valid
  }
  return bucket->Take(share, now);
}

void Ingestor::SetRateShare(int nodes) {
  rate_share_nodes_.store(std::clamp(nodes, 1, 1024), std::memory_order_relaxed);
}

int Ingestor::rate_limited_retry_after_seconds() const {
  double rate = 0;
  for (const RateLimit* limit : {&options_.per_source, &options_.per_workspace}) {
    if (limit->rate > 0) rate = rate > 0 ? std::min(rate, limit->rate) : limit->rate;
  }
  if (rate <= 0) return 1;
  rate /= rate_share_nodes_.load(std::memory_order_relaxed);
  return static_cast<int>(std::clamp(std::ceil(1.0 / rate), 1.0, 3600.0));
}

// The triggers of one source, in creation order, indexed by subscribed event type: an event
// reaches only the triggers subscribed to its type plus those subscribed to every type, so a
// source with thousands of triggers split by type evaluates only the relevant few.
struct SourceTriggers {
  std::vector<std::shared_ptr<const CachedTrigger>> all;  // creation order
  std::vector<uint32_t> any_type;                         // indices into `all`, ascending
  std::unordered_map<std::string, std::vector<uint32_t>> by_type;  // ditto, per event type
  bool reads_payload = false;  // some trigger's filter needs the parsed payload

  explicit SourceTriggers(std::vector<std::shared_ptr<const CachedTrigger>> triggers)
      : all(std::move(triggers)) {
    std::sort(all.begin(), all.end(), CreatedBefore);
    for (uint32_t i = 0; i < all.size(); ++i) {
      const store::Trigger& t = all[i]->trigger;
      reads_payload = reads_payload || all[i]->reads_payload;
      if (t.event_types.empty()) {
        any_type.push_back(i);
        continue;
      }
      for (const auto& type : t.event_types) {
        auto& list = by_type[type];
        if (list.empty() || list.back() != i) list.push_back(i);  // a type listed twice
      }
    }
  }

  // Calls visit(trigger, reached) with every trigger of the source, in creation order; `reached`
  // when its subscription takes events of `event_type` (it subscribes to every type, or lists
  // this one). The reached ones are found through the index (the typed list is merged with
  // any_type), so the walk is one pass over this source's triggers, never over other sources'.
  template <typename Visit>
  void ForEach(std::string_view event_type, Visit&& visit) const {
    const std::vector<uint32_t>* typed = nullptr;
    if (!event_type.empty()) {
      auto it = by_type.find(std::string(event_type));
      if (it != by_type.end()) typed = &it->second;
    }
    size_t a = 0, b = 0;
    const size_t typed_size = typed ? typed->size() : 0;
    for (uint32_t i = 0; i < all.size(); ++i) {
      bool reached = false;
      if (a < any_type.size() && any_type[a] == i) {
        reached = true;
        ++a;
      }
      if (b < typed_size && (*typed)[b] == i) {
        reached = true;
        ++b;
      }
      visit(*all[i], reached);
    }
  }
};

Status Ingestor::Reload() {
  // A snapshot read while an Upsert/Remove lands would undo it when swapped in: read again when
  // the cache changed meanwhile (a few times; then the newer of the two is a reload away anyway).
  for (int attempt = 0;; ++attempt) {
    uint64_t changes_seen;
    {
      std::shared_lock lock(mu_);
      changes_seen = cache_changes_;
    }
    auto sources = store_->ListAllSources();
    if (!sources) return sources.error();
    auto triggers = store_->ListAllTriggers();
    if (!triggers) return triggers.error();
    // Agents and their direct webhooks, workspace by workspace (the store lists them so).
    auto workspaces = store_->ListWorkspaces();
    if (!workspaces) return workspaces.error();
    auto direct = std::make_unique<DirectWebhooks>();
    for (const auto& workspace : *workspaces) {
      auto agents = store_->ListAgents(workspace.id);
      if (!agents) return agents.error();
      for (const auto& agent : *agents) direct->PutAgent(agent);
      for (std::string_view kind : {"agent", "dagu"}) {
        auto webhooks = store_->ListAgentWebhooks(workspace.id, kind);
        if (!webhooks) return webhooks.error();
        for (const auto& webhook : *webhooks) direct->PutWebhook(BuildAgentWebhook(webhook));
      }
    }
    std::unordered_map<std::string, std::shared_ptr<const CachedSource>> fresh;
    for (const auto& source : *sources) fresh[source.id] = Build(source);
    std::unordered_map<std::string, std::vector<std::shared_ptr<const CachedTrigger>>> lists;
    std::unordered_map<std::string, std::string> trigger_sources;
    for (const auto& trigger : *triggers) {
      lists[trigger.source_id].push_back(BuildTrigger(trigger));
      trigger_sources[trigger.id] = trigger.source_id;
    }
    std::unordered_map<std::string, std::shared_ptr<const SourceTriggers>> fresh_triggers;
    for (auto& [source_id, list] : lists) {
      fresh_triggers[source_id] = std::make_shared<const SourceTriggers>(std::move(list));
    }
    std::unique_lock lock(mu_);
    if (cache_changes_ != changes_seen && attempt < 3) continue;
    sources_ = std::move(fresh);
    triggers_ = std::move(fresh_triggers);
    trigger_sources_ = std::move(trigger_sources);
    direct_ = std::move(direct);
    providers_.clear();
    std::vector<std::string> kinds;
    for (const auto& [id, cached] : sources_) kinds.push_back(cached->source.kind);
    std::sort(kinds.begin(), kinds.end());
    kinds.erase(std::unique(kinds.begin(), kinds.end()), kinds.end());
    for (const auto& kind : kinds) RebuildProviderIndex(kind);
    return Status::Ok();
  }
}

// Copy-on-write: a change builds the source's index anew (O(triggers of that source)), so an
// evaluation in flight keeps its snapshot and never takes the lock while it evaluates.
void Ingestor::ReplaceTrigger(std::string_view trigger_id,
                              std::shared_ptr<const CachedTrigger> replacement) {
  if (auto source = trigger_sources_.find(std::string(trigger_id));
      source != trigger_sources_.end()) {
    auto it = triggers_.find(source->second);
    if (it != triggers_.end()) {
      std::vector<std::shared_ptr<const CachedTrigger>> rest;
      for (const auto& t : it->second->all) {
        if (t->trigger.id != trigger_id) rest.push_back(t);
      }
      if (rest.empty()) {
        triggers_.erase(it);
      } else {
        it->second = std::make_shared<const SourceTriggers>(std::move(rest));
      }
    }
    trigger_sources_.erase(source);
  }
  if (replacement == nullptr) return;
  trigger_sources_[replacement->trigger.id] = replacement->trigger.source_id;
  auto& entry = triggers_[replacement->trigger.source_id];
  std::vector<std::shared_ptr<const CachedTrigger>> all;
  if (entry) all = entry->all;
  all.push_back(std::move(replacement));
  entry = std::make_shared<const SourceTriggers>(std::move(all));
}

void Ingestor::UpsertTrigger(const store::Trigger& trigger) {
  auto cached = BuildTrigger(trigger);  // compiled outside the lock
  std::unique_lock lock(mu_);
  ++cache_changes_;
  ReplaceTrigger(trigger.id, std::move(cached));  // it may also have moved to another source
}

void Ingestor::RemoveTrigger(std::string_view trigger_id) {
  std::unique_lock lock(mu_);
  ++cache_changes_;
  ReplaceTrigger(trigger_id, nullptr);
}

std::shared_ptr<const SourceTriggers> Ingestor::TriggersOf(std::string_view source_id) const {
  static const auto* const kNone = new std::shared_ptr<const SourceTriggers>(
      std::make_shared<const SourceTriggers>(std::vector<std::shared_ptr<const CachedTrigger>>{}));
  std::shared_lock lock(mu_);
  auto it = triggers_.find(std::string(source_id));
  return it != triggers_.end() ? it->second : *kNone;
}

Evaluation Ingestor::EvaluateTriggers(const EventToMatch& event, int64_t now, bool replay) const {
  return Evaluate(*TriggersOf(event.source_id), event, now, replay);
}

Evaluation Ingestor::Evaluate(const SourceTriggers& triggers, const EventToMatch& event,
                              int64_t now, bool replay) const {
  Evaluation evaluation;
  static const boost::json::value kNullPayload;
  const boost::json::value& payload = event.payload ? *event.payload : kNullPayload;
  static const Headers kNoHeaders;
  filter::EvalContext context{payload, event.headers ? event.headers : &kNoHeaders,
                              event.event_type, event.source_id};
  uint64_t event_steps = kMaxEventEvalSteps;
  uint64_t evaluated = 0;
  evaluation.matches.reserve(triggers.all.size());
  triggers.ForEach(event.event_type, [&](const CachedTrigger& cached, bool reached) {
    const store::Trigger& trigger = cached.trigger;
    if (trigger.workspace_id != event.workspace_id) return;  // never: sources are per workspace
    store::Match match;
    match.event_id = std::string(event.event_id);
    match.trigger_id = trigger.id;
    match.evaluated_at = now;
    match.replay = replay;
    if (trigger.enabled && !reached) {
      // Not evaluated: its subscription routes other types away. Recorded all the same, so the
      // event's records say which triggers matched and which ignored it, and why.
      match.outcome = store::MatchOutcome::kIgnored;
      match.message = SkippedTypeMessage(event.event_type, trigger.event_types);
      match.reason = std::string(kReasonEventType);
      evaluation.matches.push_back(std::move(match));
      return;
    }
    evaluated += trigger.enabled ? 1 : 0;
    Result<bool> matched = false;
    if (trigger.enabled && cached.compile_error.empty()) {
      if (event_steps == 0) {
        matched = Status::Unprocessable(
            "not evaluated: the triggers before it spent this event's evaluation budget (" +
                std::to_string(kMaxEventEvalSteps) + " steps)",
            "filter_budget_exceeded");
      } else {
        const uint64_t allowed = std::min(filter::kMaxEvalSteps, event_steps);
        uint64_t left = allowed;
        matched = filter::Evaluate(cached.filter, context, &left);
        event_steps -= allowed - left;
      }
    }
    if (!trigger.enabled) {
      match.outcome = store::MatchOutcome::kDisabled;
    } else if (!cached.compile_error.empty()) {
      match.outcome = store::MatchOutcome::kFilterError;
      match.message = "the filter does not compile: " + cached.compile_error;
    } else if (!matched) {
      match.outcome = store::MatchOutcome::kFilterError;
      match.message = matched.error().message();
    } else if (!*matched) {
      match.outcome = store::MatchOutcome::kIgnored;
    } else {
      match.outcome = store::MatchOutcome::kMatched;
      store::NewRun run;
      run.id = NewTimeOrderedId("run", now);
      run.workspace_id = trigger.workspace_id;
      run.event_id = match.event_id;
      run.trigger_id = trigger.id;
      run.agent_id = trigger.agent_id;
      run.owner = trigger.created_by;
      run.include_payload = trigger.include_payload;
      run.max_attempts = 0;  // the store copies the agent's, in the same transaction
      run.created_at = now;
      match.run_id = run.id;
      evaluation.runs.push_back(std::move(run));
    }
    evaluation.matches.push_back(std::move(match));
  });
  uint64_t errors = 0;
  for (const store::Match& match : evaluation.matches) {
    errors += match.outcome == store::MatchOutcome::kFilterError ? 1 : 0;
  }
  filter_evaluations_.fetch_add(evaluated, std::memory_order_relaxed);
  filter_matched_.fetch_add(evaluation.runs.size(), std::memory_order_relaxed);
  filter_errors_.fetch_add(errors, std::memory_order_relaxed);
  return evaluation;
}

void Ingestor::Upsert(const store::Source& source) {
  auto cached = Build(source);
  std::unique_lock lock(mu_);
  ++cache_changes_;
  auto& slot = sources_[source.id];
  const std::string old_kind = slot ? slot->source.kind : "";
  slot = std::move(cached);
  if (!old_kind.empty() && old_kind != source.kind) RebuildProviderIndex(old_kind);
  RebuildProviderIndex(source.kind);
}

void Ingestor::Remove(std::string_view source_id) {
  std::unique_lock lock(mu_);
  ++cache_changes_;
  std::string kind;
  if (auto it = sources_.find(std::string(source_id)); it != sources_.end()) {
    kind = it->second->source.kind;
    sources_.erase(it);
  }
  // The store deletes a source's triggers with it.
  if (auto triggers = triggers_.find(std::string(source_id)); triggers != triggers_.end()) {
    for (const auto& t : triggers->second->all) trigger_sources_.erase(t->trigger.id);
    triggers_.erase(triggers);
  }
  if (!kind.empty()) RebuildProviderIndex(kind);
  lock.unlock();
  std::lock_guard counts(refused_auth_mu_);
  refused_auth_by_source_.erase(std::string(source_id));
}

Result<Admission> Ingestor::Admit(const HeadRequest& request) const {
  std::shared_ptr<const CachedSource> cached;
  {
    std::shared_lock lock(mu_);
    auto it = sources_.find(std::string(request.source_id));
    if (it != sources_.end()) cached = it->second;
  }
  // lookup: unknown source, another workspace's source, and a wrong URL secret look the same.
  if (!cached || cached->source.workspace_id != request.workspace_id) {
    ++refused_other_;
    return NotFound();
  }
  const store::Source& source = cached->source;
  // The short path (no URL secret) is open only to sources that authenticate otherwise: for a
  // source with neither token nor signature, the secret URL is the only credential.
  const bool secret_ok =
      request.url_secret ? crypto::ConstantTimeEqual(*request.url_secret, source.url_secret)
                         : cached->verification != "url_secret" && !source.generated();
  if (!secret_ok) {
    ++refused_other_;
    return NotFound();
  }
  if (source.generated()) {
    // Known only to whoever holds its secret URL, which the API never shows for such a source.
    ++refused_other_;
    return Status::Conflict("this source is a " + source.kind +
                                ": triggerd makes its events itself, it accepts no webhooks",
                            "not_a_webhook_source");
  }
  // A browser asks before a cross-origin JSON POST (CORS preflight); answered for sources that
  // allow origins, after the same checks as the POST.
  const bool preflight = request.method == "OPTIONS" && !source.allowed_origins.empty();
  if (request.method != "POST" && !preflight) {
    ++refused_other_;
    return Status(ErrorType::kMethodNotAllowed, "method_not_allowed",
                  "webhooks are delivered with POST, not " + std::string(request.method));
  }
  size_t limit = source.max_body_bytes > 0 ? static_cast<size_t>(source.max_body_bytes)
                                           : options_.default_max_body_bytes;
  if (request.content_length && *request.content_length > limit) {
    ++refused_other_;
    return Status(ErrorType::kPayloadTooLarge, "payload_too_large",
                  "request body of " + std::to_string(*request.content_length) +
                      " bytes exceeds this source's limit of " + std::to_string(limit) + " bytes");
  }
  if (!source.enabled) {
    ++refused_other_;
    return Status::PermissionDenied("this webhook source is disabled", "source_disabled");
  }
  if (!cached->allowed_networks.empty() || !source.allowed_ips.empty()) {
    if (!AnyContains(cached->allowed_networks, request.remote_ip)) {
      ++refused_other_;
      spdlog::warn("ingest: source {} refused address {}", source.id, request.remote_ip);
      return Status::PermissionDenied("requests from this address are not allowed",
                                      "ip_not_allowed");
    }
  }
  std::string cors_origin;
  if (!source.allowed_origins.empty()) {
    auto origin = request.headers ? FindHeader(*request.headers, "Origin") : std::nullopt;
    bool allowed = false;
    for (const auto& candidate : source.allowed_origins) {
      allowed = allowed || (origin && IEquals(*origin, candidate));
    }
    if (!allowed) {
      ++refused_other_;
      return Status::PermissionDenied("requests from this origin are not allowed",
                                      "origin_not_allowed");
    }
    cors_origin = std::string(*origin);
  }
  if (request.charge_rate_limits) {
    // After the allow-lists: a refused sender must not drain the buckets of the allowed ones.
    TRIGGERD_RETURN_IF_ERROR(Charge(source.id, source.workspace_id));
  }
  return Admission{std::move(cached), preflight ? 0 : limit, std::move(cors_origin), preflight};
}

Status Ingestor::Charge(const std::string& source_id, const std::string& workspace_id) const {
  if (!TakeToken(&source_buckets_, source_id, options_.per_source) ||
      !TakeToken(&workspace_buckets_, workspace_id, options_.per_workspace)) {
    ++refused_other_;
    ++rate_limited_;
    return Status(ErrorType::kRateLimited, "rate_limited",
                  "too many requests for this source or workspace; retry later");
  }
  if (pending_bytes_.load(std::memory_order_relaxed) >=
      static_cast<int64_t>(options_.max_pending_bytes)) {
    ++refused_other_;
    ++overloaded_;
    return Status::Unavailable("the event log is saturated; retry later", "overloaded");
  }
  return Status::Ok();
}

void Ingestor::Ingest(BodyRequest request, std::function<void(Result<IngestOutcome>)> done) {
  const CachedSource& cached = *request.source;
  const store::Source& source = cached.source;
  ScopedLogContext log_context({.workspace_id = source.workspace_id, .source_id = source.id});
  if (!cached.verifier) {
    ++refused_other_;
    spdlog::error("ingest: source {} has unusable auth settings: {}", source.id,
                  cached.verifier_error.ToString());
    done(Status::Internal("this webhook source is misconfigured", "source_misconfigured"));
    return;
  }
  std::string url = options_.public_base_url;
  if (url.empty()) {
    auto host = FindHeader(request.headers, "Host");
    url = "http://" + std::string(host ? *host : "localhost");
  }
  url += request.target;
  const int64_t now_micros = clock_->NowMicros();
  verify::Request verify_request{request.headers, request.body, request.method, url,
                                 now_micros / 1'000'000};
  bool by_api_key = false;
  Status auth = cached.api_key ? CheckBearer(cached, verify_request, request.api_key, &by_api_key)
                               : Status::Ok();
  if (auth.ok()) auth = cached.verifier->Verify(verify_request);
  if (!auth.ok()) {
    ++refused_auth_;
    {
      std::lock_guard lock(refused_auth_mu_);
      ++refused_auth_by_source_[source.id];
    }
    spdlog::warn("ingest: source {} refused request from {}: {}", source.id, request.remote_ip,
                 auth.code());
    done(auth);
    return;
  }
  IngestVerified(std::move(request), std::move(done), by_api_key);
}

void Ingestor::IngestVerified(BodyRequest request, std::function<void(Result<IngestOutcome>)> done,
                              bool by_api_key) {
  const CachedSource& cached = *request.source;
  const store::Source& source = cached.source;
  ScopedLogContext log_context({.workspace_id = source.workspace_id, .source_id = source.id});
  const int64_t now_micros = clock_->NowMicros();
  auto content_type = FindHeader(request.headers, "Content-Type");
  // The payload lives only for this call (event type and delivery id are read from it), so its
  // nodes come from one arena freed at once instead of the global heap; the first 8 KiB on the
  // stack. Declared before `payload`, which must be destroyed first.
  unsigned char arena_buffer[8192];
  boost::json::monotonic_resource arena(arena_buffer, sizeof(arena_buffer));
  boost::json::value payload(&arena);
  store::NewEvent event;
  auto triggers = TriggersOf(source.id);
  const bool need_payload =
      triggers->reads_payload || cached.expects_handshake ||
      (cached.provider != nullptr &&
       (cached.provider->event_type.source == verify::FieldSource::kBodyField ||
        cached.provider->delivery_id.source == verify::FieldSource::kBodyField));
  Status parsed = ParseBody(content_type.value_or(""), request.body, need_payload, &payload,
                            &event.payload_json);
  if (!parsed.ok()) {
    ++refused_other_;
    done(parsed);
    return;
  }

  // A handshake is answered as the provider expects, and neither stored nor matched.
  if (cached.expects_handshake) {
    if (auto handshake = verify::DetectHandshake(source.kind, request.headers, payload)) {
      IngestOutcome outcome;
      outcome.handshake =
          HandshakeAnswer{handshake->status, handshake->content_type, handshake->body};
      done(std::move(outcome));
      return;
    }
  }

  event.id = NewTimeOrderedId("evt", now_micros);
  event.workspace_id = source.workspace_id;
  event.source_id = source.id;
  event.received_at = now_micros;
  event.content_type = std::string(content_type.value_or(""));
  if (cached.provider != nullptr) {
    event.event_type = ReadField(cached.provider->event_type, request.headers, payload);
    event.delivery_id = ReadField(cached.provider->delivery_id, request.headers, payload);
  }
  if (!source.delivery_id_header.empty()) {
    auto id = FindHeader(request.headers, source.delivery_id_header);
    event.delivery_id = id ? std::string(*id) : "";
  }
  if (event.delivery_id.size() > 256) event.delivery_id.resize(256);
  // Header values are bytes; these fields are text columns (and must be UTF-8 in PostgreSQL), so
  // invalid sequences — a raw byte, or a character cut by the resize above — become U+FFFD.
  for (std::string* text : {&event.content_type, &event.event_type, &event.delivery_id}) {
    if (FindInvalidUtf8(*text) != std::string_view::npos) *text = RepairUtf8(*text);
  }
  // The last use of the request's headers: redacted in place, not copied. Filters see them so,
  // exactly as the stored event shows them: a trigger's matched/ignored outcome must not be an
  // oracle on a credential (issue 18: 240 triggers testing prefixes of Authorization read a
  // bearer token back).
  event.headers = RedactHeaders(std::move(request.headers), cached.hmac_header);
  // The transactional outbox: match records and runs travel with the event into one commit.
  // The same snapshot of the triggers that decided whether to parse the payload.
  Evaluation evaluation = Evaluate(
      *triggers,
      EventToMatch{event.workspace_id, event.source_id, event.id, event.event_type, &payload,
                   &event.headers},
      now_micros, /*replay=*/false);
  std::vector<StartedRun> started;
  started.reserve(evaluation.runs.size());
  for (const auto& run : evaluation.runs) started.push_back({run.trigger_id, run.id});
  event.matches = std::move(evaluation.matches);
  event.runs = std::move(evaluation.runs);
  event.body = std::move(request.body);
  event.remote_addr = request.remote_ip;
  event.verification = by_api_key ? cached.api_key_verification : cached.verification;
  Append(std::move(event), std::move(started), std::move(done));
}

void Ingestor::IngestGenerated(GeneratedEvent generated,
                               std::function<void(Result<IngestOutcome>)> done) {
  std::shared_ptr<const CachedSource> cached;
  {
    std::shared_lock lock(mu_);
    auto it = sources_.find(generated.source_id);
    if (it != sources_.end()) cached = it->second;
  }
  if (!cached || !cached->source.generated()) {
    done(Status::NotFound("no such schedule or poll source"));
    return;
  }
  const store::Source& source = cached->source;
  if (!source.enabled) {
    done(Status::PermissionDenied("this source is disabled", "source_disabled"));
    return;
  }
  if (generated.delivery_id.empty() || generated.delivery_id.size() > 256) {
    done(Status::InvalidArgument("a generated event needs a delivery id of 1 to 256 bytes"));
    return;
  }
  boost::json::value payload;
  boost::system::error_code ec;
  payload = boost::json::parse(generated.body, ec);
  if (ec || !payload.is_object()) {
    done(Status::InvalidArgument("a generated event's body must be a JSON object",
                                 "invalid_body"));
    return;
  }
  const int64_t now_micros = clock_->NowMicros();
  store::NewEvent event;
  event.id = NewTimeOrderedId("evt", now_micros);
  event.workspace_id = source.workspace_id;
  event.source_id = source.id;
  event.received_at = generated.received_at != 0 ? generated.received_at : now_micros;
  event.content_type = "application/json";
  event.event_type = std::move(generated.event_type);
  event.delivery_id = std::move(generated.delivery_id);
  Evaluation evaluation = EvaluateTriggers(
      EventToMatch{event.workspace_id, event.source_id, event.id, event.event_type, &payload,
                   &event.headers},
      now_micros, /*replay=*/false);
  std::vector<StartedRun> started;
  started.reserve(evaluation.runs.size());
  for (const auto& run : evaluation.runs) started.push_back({run.trigger_id, run.id});
  event.matches = std::move(evaluation.matches);
  event.runs = std::move(evaluation.runs);
  event.body = std::move(generated.body);
  event.verification = source.kind;  // "schedule" | "poll": made here, not received
  Append(std::move(event), std::move(started), std::move(done));
}

void Ingestor::Append(store::NewEvent event, std::vector<StartedRun> started,
                      std::function<void(Result<IngestOutcome>)> done) {
  // Runs on the store's writer thread, between two group commits: only counts and hands the
  // outcome over (the reply is built by `done`'s owner; see api/ingest_route.cc).
  // Backpressure: the body now waits for the group commit; count it until that answers.
  const auto body_bytes = static_cast<int64_t>(event.body.size() + event.payload_json.size());
  if (pending_bytes_.fetch_add(body_bytes, std::memory_order_relaxed) + body_bytes >
      static_cast<int64_t>(options_.max_pending_bytes)) {
    pending_bytes_.fetch_sub(body_bytes, std::memory_order_relaxed);
    ++refused_other_;
    ++overloaded_;
    done(Status::Unavailable("the event log is saturated; retry later", "overloaded"));
    return;
  }
  store_->AppendEvent(std::move(event), [this, done = std::move(done), body_bytes,
                                         started = std::move(started)](
                                            Result<store::AppendOutcome> appended) mutable {
    pending_bytes_.fetch_sub(body_bytes, std::memory_order_relaxed);
    if (!appended) {
      done(appended.error());
      return;
    }
    (appended->duplicate ? duplicates_ : accepted_).fetch_add(1, std::memory_order_relaxed);
    // A duplicate wrote neither its matches nor its runs: the first delivery's runs stand.
    if (appended->duplicate) started.clear();
    done(IngestOutcome{std::move(appended->event_id), appended->received_at,
                       appended->duplicate, std::move(started)});
  });
}

IngestStats Ingestor::stats() const {
  IngestStats stats{accepted_.load(),       duplicates_.load(),     refused_auth_.load(),
                    refused_other_.load(),  rate_limited_.load(),   overloaded_.load(),
                    filter_evaluations_.load(), filter_matched_.load(), filter_errors_.load(),
                    provider_checks_.load()};
  std::lock_guard lock(refused_auth_mu_);
  stats.refused_auth_by_source.assign(refused_auth_by_source_.begin(),
                                      refused_auth_by_source_.end());
  return stats;
}

}  // namespace triggerd::ingest
