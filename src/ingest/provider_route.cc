// The Stack AI-style routes that name no source (api/compat/stackai_triggers.cc):
// POST /v1/webhooks/{trigger_id} (the trigger's source, from the trigger cache) and
// POST /v1/webhooks/{provider}, which must find the one source of that kind whose secret signed
// the request without a store read and without a signature check per source.
//
// How the provider route finds its source. Signing secrets are per source, and a request signed
// with one secret does not verify under another (an HMAC, or an Ed25519 signature, under a
// different key), so the sources of a kind are grouped by signing secret and at most one group
// can accept a request; the search stops at the first group that does, and only sources sharing
// that secret are ambiguous (409). Which group to try first comes from what the request carries:
//   - a value the provider sends with every request of one configured webhook (GitHub's
//     X-GitHub-Hook-ID, Bitbucket's X-Hook-UUID, …; kRouteHeaders): after a source accepted a
//     request with it, the value names that source (learned, bounded; a hint that is verified
//     like any request, so a stale or forged value costs one check and falls back);
//   - a secret sent as is (GitLab's X-Gitlab-Token): the group is looked up by it;
//   - a bearer token (`auth.bearer`): the groups whose token hash it is.
// A first request from a sender not yet known (and providers that send nothing identifying:
// Stripe, Slack, Linear, …) can only be found by trying the groups' secrets: unavoidable, since
// an HMAC cannot be inverted to its key. That scan is bounded by kMaxSecretsScanned groups; a
// server with more secrets of one kind than that should give senders the trigger-id URL (each
// source has one), which costs no scan at all.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/crypto.h"
#include "common/log_context.h"
#include "ingest/ingest.h"
#include "ingest/internal.h"
#include "verify/catalog.h"

namespace triggerd::ingest {
namespace {

// Secret groups tried per request before giving up (each costs one signature check per source
// of the group, ~5 us for an 8 KiB body): bounds what an unsigned flood to the provider route
// costs while covering any server that gives a provider a few dozen secrets.
constexpr size_t kMaxSecretsScanned = 64;
// Learned sender values kept (all kinds together); beyond, no more are learned until a reload.
constexpr size_t kMaxLearnedRoutes = 4096;

// Per kind, the header whose value is the same for every request of one configured webhook
// (and differs between two webhooks), so it names the source once one accepted it.
struct RouteHeader {
  std::string_view kind;
  std::string_view header;
};
constexpr RouteHeader kRouteHeaders[] = {
    {"bitbucket", "X-Hook-UUID"},             // the webhook's UUID
    {"github", "X-GitHub-Hook-ID"},           // the webhook's id
    {"pagerduty", "X-Webhook-Subscription"},  // the subscription's id
    {"shopify", "X-Shopify-Shop-Domain"},     // the shop
    {"zendesk", "X-Zendesk-Webhook-Id"},      // the webhook's id
};
// Kinds whose verifier compares a header with the signing secret itself.
constexpr RouteHeader kSecretHeaders[] = {{"gitlab", "X-Gitlab-Token"}};

std::string_view HeaderOf(const RouteHeader* begin, const RouteHeader* end, std::string_view kind) {
  for (const RouteHeader* it = begin; it != end; ++it) {
    if (it->kind == kind) return it->header;
  }
  return "";
}

Status NoSuchWebhook() {
  return Status::NotFound("no trigger or provider of that id", "webhook_not_found");
}

Status NoSourceOfKind(std::string_view kind) {
  return Status::NotFound("no " + std::string(kind) + " source on this server",
                          "webhook_not_found");
}

}  // namespace

// The webhook sources of one kind, grouped by signing secret. Immutable once built.
struct Ingestor::ProviderSources {
  std::vector<std::vector<std::shared_ptr<const CachedSource>>> groups;  // creation order
  std::unordered_map<std::string, size_t> by_secret;                     // -> group
  std::unordered_map<std::string, size_t> by_source;                     // source id -> group
  std::unordered_map<std::string, std::vector<size_t>> by_token_hash;    // -> groups
  std::vector<std::shared_ptr<const CachedSource>> sources;              // every one
};

void Ingestor::RebuildProviderIndex(std::string_view kind) {
  auto index = std::make_shared<ProviderSources>();
  for (const auto& [id, cached] : sources_) {
    if (cached->source.kind == kind && !cached->source.generated()) {
      index->sources.push_back(cached);
    }
  }
  if (index->sources.empty()) {
    providers_.erase(std::string(kind));
    return;
  }
  std::sort(index->sources.begin(), index->sources.end(), [](const auto& a, const auto& b) {
    return a->source.created_at != b->source.created_at
               ? a->source.created_at < b->source.created_at
               : a->source.id < b->source.id;
  });
  for (const auto& cached : index->sources) {
    const store::Source& source = cached->source;
    auto [slot, added] = index->by_secret.try_emplace(source.signing_secret, index->groups.size());
    if (added) index->groups.emplace_back();
    index->groups[slot->second].push_back(cached);
    index->by_source[source.id] = slot->second;
    if (!source.token_hash.empty()) {
      auto& groups = index->by_token_hash[source.token_hash];
      if (std::find(groups.begin(), groups.end(), slot->second) == groups.end()) {
        groups.push_back(slot->second);
      }
    }
  }
  providers_[std::string(kind)] = std::move(index);
}

std::optional<Ingestor::TriggerSource> Ingestor::FindTriggerSource(
    std::string_view trigger_id) const {
  std::shared_lock lock(mu_);
  auto trigger = trigger_sources_.find(std::string(trigger_id));
  if (trigger == trigger_sources_.end()) return std::nullopt;
  auto source = sources_.find(trigger->second);
  if (source == sources_.end()) return std::nullopt;
  return TriggerSource{source->second->source.workspace_id, source->first};
}

Result<size_t> Ingestor::AdmitForProvider(std::string_view kind, const HeadRequest& request) const {
  std::shared_ptr<const ProviderSources> index;
  {
    std::shared_lock lock(mu_);
    auto it = providers_.find(std::string(kind));
    if (it != providers_.end()) index = it->second;
  }
  if (!index) {
    ++refused_other_;
    return NoSourceOfKind(kind);
  }
  // Which source it is for is known only once the body's signature is checked: read up to the
  // largest limit of the sources that would admit it. In-memory checks, no signature.
  size_t limit = 0;
  std::optional<Status> first_refusal;
  for (const auto& cached : index->sources) {
    HeadRequest head = request;
    head.workspace_id = cached->source.workspace_id;
    head.source_id = cached->source.id;
    head.url_secret.reset();
    head.charge_rate_limits = false;
    auto admitted = Admit(head);
    if (admitted) {
      limit = std::max(limit, admitted->body_limit);
    } else if (!first_refusal) {
      first_refusal = admitted.error();
    }
  }
  if (limit == 0) return *first_refusal;
  return limit;
}

Result<std::shared_ptr<const CachedSource>> Ingestor::PickProviderSource(
    std::string_view kind, const BodyRequest& request, const verify::Request& verify_request) {
  std::shared_ptr<const ProviderSources> index;
  {
    std::shared_lock lock(mu_);
    auto it = providers_.find(std::string(kind));
    if (it != providers_.end()) index = it->second;
  }
  if (!index) return NoSourceOfKind(kind);

  // The groups to try first, from what the request carries.
  std::vector<size_t> first;
  const std::string_view route_header =
      HeaderOf(std::begin(kRouteHeaders), std::end(kRouteHeaders), kind);
  std::string route_key;
  if (!route_header.empty()) {
    if (auto value = FindHeader(request.headers, route_header); value && !value->empty()) {
      route_key = std::string(kind) + '\n' + std::string(value->substr(0, 256));
      std::lock_guard lock(provider_routes_mu_);
      if (auto learned = provider_routes_.find(route_key); learned != provider_routes_.end()) {
        if (auto group = index->by_source.find(learned->second); group != index->by_source.end()) {
          first.push_back(group->second);
        }
      }
    }
  }
  const std::string_view secret_header =
      HeaderOf(std::begin(kSecretHeaders), std::end(kSecretHeaders), kind);
  if (!secret_header.empty()) {
    if (auto value = FindHeader(request.headers, secret_header)) {
      if (auto group = index->by_secret.find(std::string(*value));
          group != index->by_secret.end()) {
        first.push_back(group->second);
      }
    }
  }
  if (auto token = BearerToken(request.headers)) {
    if (auto groups = index->by_token_hash.find(crypto::SecretHash(*token));
        groups != index->by_token_hash.end()) {
      first.insert(first.end(), groups->second.begin(), groups->second.end());
    }
  }

  std::optional<Status> first_refusal;
  std::vector<bool> tried(index->groups.size(), false);
  size_t scanned = 0;
  // Tries one group: its sources that admit the request, each checked by its own cached verifier
  // (they share the secret but may differ in settings).
  auto try_group = [&](size_t g) -> std::vector<std::shared_ptr<const CachedSource>> {
    tried[g] = true;
    ++scanned;
    std::vector<std::shared_ptr<const CachedSource>> accepted;
    for (const auto& cached : index->groups[g]) {
      HeadRequest head;
      head.workspace_id = cached->source.workspace_id;
      head.source_id = cached->source.id;
      head.method = request.method;
      head.headers = &request.headers;
      head.remote_ip = request.remote_ip;
      head.content_length = request.body.size();
      head.charge_rate_limits = false;
      auto admitted = Admit(head);
      if (!admitted) {
        if (!first_refusal) first_refusal = admitted.error();
        continue;
      }
      if (!cached->verifier) continue;  // Ingest refuses it too (source_misconfigured)
      provider_checks_.fetch_add(1, std::memory_order_relaxed);
      bool by_api_key = false;  // this route looks no API key up: only a source's token
      Status verified = cached->api_key
                            ? CheckBearer(*cached, verify_request, std::nullopt, &by_api_key)
                            : Status::Ok();
      if (verified.ok()) verified = cached->verifier->Verify(verify_request);
      if (verified.ok()) {
        accepted.push_back(cached);
      } else if (!first_refusal || first_refusal->type() != ErrorType::kUnauthenticated) {
        first_refusal = Status::Unauthenticated(
            "no " + std::string(kind) + " source accepts this request: " + verified.message(),
            verified.code());
      }
    }
    return accepted;
  };
  auto decide = [&](std::vector<std::shared_ptr<const CachedSource>> accepted)
      -> std::optional<Result<std::shared_ptr<const CachedSource>>> {
    if (accepted.empty()) return std::nullopt;
    if (accepted.size() > 1) {
      return Status::Conflict("several " + std::string(kind) +
                                  " sources accept this request (they share a secret): send it "
                                  "to /v1/webhooks/{trigger id} instead",
                              "ambiguous_webhook");
    }
    if (!route_key.empty()) {
      std::lock_guard lock(provider_routes_mu_);
      auto it = provider_routes_.find(route_key);
      if (it != provider_routes_.end()) {
        it->second = accepted.front()->source.id;
      } else if (provider_routes_.size() < kMaxLearnedRoutes) {
        provider_routes_.emplace(route_key, accepted.front()->source.id);
      }
    }
    return std::move(accepted.front());
  };
  for (size_t g : first) {
    if (tried[g]) continue;
    if (auto decided = decide(try_group(g))) return std::move(*decided);
  }
  for (size_t g = 0; g < index->groups.size(); ++g) {
    if (tried[g]) continue;
    if (scanned >= kMaxSecretsScanned) {
      spdlog::warn(
          "ingest: /v1/webhooks/{}: {} secrets checked, {} not; senders should use "
          "their trigger's URL",
          kind, scanned, index->groups.size() - scanned);
      return Status::Unauthenticated(
          "no " + std::string(kind) + " source of the first " + std::to_string(scanned) +
              " checked accepts this request: send it to /v1/webhooks/{trigger id}",
          first_refusal && first_refusal->type() == ErrorType::kUnauthenticated
              ? first_refusal->code()
              : std::string(verify::kInvalidSignature));
    }
    if (auto decided = decide(try_group(g))) return std::move(*decided);
  }
  return first_refusal ? *first_refusal : NoSuchWebhook();
}

void Ingestor::IngestForProvider(std::string_view kind, BodyRequest request,
                                 std::function<void(Result<IngestOutcome>)> done) {
  std::string url = options_.public_base_url;
  if (url.empty()) {
    auto host = FindHeader(request.headers, "Host");
    url = "http://" + std::string(host ? *host : "localhost");
  }
  url += request.target;
  const verify::Request verify_request{request.headers, request.body, request.method, url,
                                       clock_->NowUnixSeconds()};
  auto picked = PickProviderSource(kind, request, verify_request);
  if (!picked) {
    if (picked.error().type() == ErrorType::kUnauthenticated) {
      ++refused_auth_;
    } else {
      ++refused_other_;
    }
    done(picked.error());
    return;
  }
  // Admitted again, charging the rate limits now that the source is known.
  HeadRequest head;
  head.workspace_id = (*picked)->source.workspace_id;
  head.source_id = (*picked)->source.id;
  head.method = request.method;
  head.headers = &request.headers;
  head.remote_ip = request.remote_ip;
  head.content_length = request.body.size();
  auto admitted = Admit(head);
  if (!admitted) {
    done(admitted.error());
    return;
  }
  request.source = std::move(admitted->source);
  IngestVerified(std::move(request), std::move(done));
}

}  // namespace triggerd::ingest
