// The webhook ingest route, Dust's path: POST /api/v1/w/{wId}/triggers/hooks/{sourceId}[/{secret}].
// Admission runs on the request head (so 404/405/413/403 cost no body read); the body phase
// answers only after the event is durable.
#include <cctype>

#include "api/compat/compat.h"
#include "api/internal.h"
#include "common/crypto.h"
#include "ui/ui.h"

namespace triggerd::api {
namespace {

http::Response Refusal(const Status& status, const ingest::Ingestor& ingestor) {
  http::Response response = http::ErrorResponse(status);
  if (status.type() == ErrorType::kMethodNotAllowed) response.headers.push_back({"Allow", "POST"});
  AddRetryAfter(status, ingestor, &response);
  return response;
}

ingest::HeadRequest MakeHeadRequest(const http::RequestHead& head,
                                    const std::map<std::string, std::string>& params) {
  ingest::HeadRequest request;
  request.workspace_id = params.at("workspace_id");
  request.source_id = params.at("source_id");
  if (auto it = params.find("url_secret"); it != params.end()) request.url_secret = it->second;
  request.method = head.method;
  request.headers = &head.headers;
  request.remote_ip = head.remote_ip;
  request.content_length = head.content_length;
  return request;
}

// The 200 body of an ingested webhook:
// {"event_id","received_at","duplicate","runs":[{"trigger_id","run_id"}…]}, the same text Json()
// would give. Built on the connection's strand (http::Response::finish), not on the store's
// writer thread that replies for every event of a group commit; built directly rather than as a
// JSON document, to spare the allocations; the only free text, the ids, are escaped by
// serialize().
std::string IngestedBody(const ingest::IngestOutcome& outcome) {
  std::string body;
  body.reserve(128 + 80 * outcome.runs.size());  // a run entry is ~75 bytes
  body += "{\"event_id\":";
  body += boost::json::serialize(boost::json::string_view(outcome.event_id));
  body += ",\"received_at\":\"";
  body += Time(outcome.received_at);  // RFC 3339: digits, '-', ':', 'T', '.', 'Z' only
  body += "\",\"duplicate\":";
  body += outcome.duplicate ? "true" : "false";
  body += ",\"runs\":[";
  for (size_t i = 0; i < outcome.runs.size(); ++i) {
    if (i > 0) body += ',';
    body += "{\"trigger_id\":";
    body += boost::json::serialize(boost::json::string_view(outcome.runs[i].trigger_id));
    body += ",\"run_id\":";
    body += boost::json::serialize(boost::json::string_view(outcome.runs[i].run_id));
    body += '}';
  }
  body += "]}";
  return body;
}

// A browser may read the answer of a request from an allowed origin (CORS).
void AllowOrigin(const std::string& origin, http::Response* response) {
  if (origin.empty()) return;
  response->headers.push_back({"Access-Control-Allow-Origin", origin});
  response->headers.push_back({"Vary", "Origin"});
}

// The answer to an admitted preflight: POST from this origin, with the headers the browser asks
// for (a sender's own signature and delivery-id headers are whatever the source configured, so
// the request's list is echoed, bounded), cached by the browser for 10 minutes.
http::Response Preflight(const http::RequestHead& head, const std::string& origin) {
  http::Response response{204, {}, "", ""};
  AllowOrigin(origin, &response);
  response.headers.push_back({"Access-Control-Allow-Methods", "POST"});
  auto asked = FindHeader(head.headers, "Access-Control-Request-Headers");
  if (asked && !asked->empty() && asked->size() <= 1024) {
    bool plain = true;  // a list of header names: tokens, commas, spaces
    for (char c : *asked) {
      plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                        c == ',' || c == ' ');
    }
    if (plain) response.headers.push_back({"Access-Control-Allow-Headers", std::string(*asked)});
  }
  response.headers.push_back({"Access-Control-Max-Age", "600"});
  return response;
}

}  // namespace

// Senders that honour Retry-After (GitHub, Stripe and Standard Webhooks senders back off on
// 429/503) come back when there is room instead of hammering.
void AddRetryAfter(const Status& status, const ingest::Ingestor& ingestor,
                   http::Response* response) {
  if (status.type() == ErrorType::kRateLimited) {
    response->headers.push_back(
        {"Retry-After", std::to_string(ingestor.rate_limited_retry_after_seconds())});
  } else if (status.type() == ErrorType::kUnavailable) {
    response->headers.push_back({"Retry-After", "1"});
  }
}

http::Response IngestRefusal(const Status& status, const ingest::Ingestor& ingestor) {
  return Refusal(status, ingestor);
}

http::Response IngestAnswer(Result<ingest::IngestOutcome> outcome,
                            const ingest::Ingestor& ingestor) {
  if (!outcome) return Refusal(outcome.error(), ingestor);
  if (outcome->handshake) {
    http::Response response;
    response.status = outcome->handshake->status;
    response.content_type = outcome->handshake->content_type;
    response.body = std::move(outcome->handshake->body);
    return response;
  }
  http::Response response = http::JsonResponse(200, "");
  response.finish = [outcome = std::move(outcome).value()](http::Response* r) {
    r->body = IngestedBody(outcome);
  };
  return response;
}

void RegisterIngestRoutes(http::Router* router, ApiContext* ctx) {
  auto head_check = [ctx](const http::RequestHead& head,
                          const std::map<std::string, std::string>& params) {
    auto admitted = ctx->ingestor->Admit(MakeHeadRequest(head, params));
    if (!admitted) return http::HeadDecision{Refusal(admitted.error(), *ctx->ingestor), 0};
    if (admitted->preflight) return http::HeadDecision{Preflight(head, admitted->cors_origin), 0};
    return http::HeadDecision{std::nullopt, admitted->body_limit};
  };
  auto handler = [ctx](http::Request request, http::Reply reply) {
    // Admitted again with the body in hand: the source may have changed (disabled, deleted)
    // while the body was read, and the cached entry is what the body phase needs.
    ingest::HeadRequest head = MakeHeadRequest(request, request.path_params);
    head.content_length = request.body.size();
    head.charge_rate_limits = false;  // charged when the head arrived
    auto admitted = ctx->ingestor->Admit(head);
    if (!admitted) {
      reply(Refusal(admitted.error(), *ctx->ingestor));
      return;
    }
    if (admitted->preflight) {  // (answered from the head; here only if routed directly)
      reply(Preflight(request, admitted->cors_origin));
      return;
    }
    ingest::BodyRequest body{std::move(admitted->source), request.method, request.target,
                             std::move(request.headers), request.remote_ip,
                             std::move(request.body), std::nullopt};
    auto answer = [ctx, origin = std::move(admitted->cors_origin),
                   reply = std::move(reply)](Result<ingest::IngestOutcome> outcome) {
      http::Response response = IngestAnswer(std::move(outcome), *ctx->ingestor);
      AllowOrigin(origin, &response);
      reply(std::move(response));
    };
    auto key = ctx->ingestor->ApiKeyToLookUp(body);
    if (!key) {
      ctx->ingestor->Ingest(std::move(body), std::move(answer));
      return;
    }
    // A source that takes workspace API keys (auth.api_key): the key is read from the store for
    // this request, off the io thread, so a revoked or deleted one stops working at once.
    OffIoThread(ctx, [ctx, key = std::move(*key), body = std::move(body),
                      answer = std::move(answer)]() mutable {
      ingest::PresentedApiKey presented;
      auto found = ctx->store->FindApiKeyByHash(crypto::SecretHash(key));
      if (found) {
        presented.workspace_id = found->workspace_id;
        presented.role = found->role;
      } else {
        presented.lookup = found.error();
      }
      body.api_key = std::move(presented);
      ctx->ingestor->Ingest(std::move(body), std::move(answer));
    });
  };
  // Every method is routed here so that the pipeline's order holds: an unknown source is 404
  // before a wrong method is 405.
  for (const char* pattern : {"/api/v1/w/{workspace_id}/triggers/hooks/{source_id}",
                              "/api/v1/w/{workspace_id}/triggers/hooks/{source_id}/{url_secret}"}) {
    router->Add("*", pattern, handler, head_check);
  }
}

// metrics_route.cc and openapi.cc (declared here: internal.h lists the resource routes).
void RegisterMetricsRoutes(http::Router* router, ApiContext* ctx);
void RegisterOpenApiRoutes(http::Router* router, ApiContext* ctx);

void RegisterRoutes(http::Router* router, ApiContext* ctx) {
  RegisterKeyRoutes(router, ctx);
  RegisterSourceRoutes(router, ctx);
  RegisterEventRoutes(router, ctx);
  RegisterIngestRoutes(router, ctx);
  RegisterFilterRoutes(router, ctx);
  RegisterProviderRoutes(router, ctx);
  RegisterAgentRoutes(router, ctx);
  RegisterTriggerRoutes(router, ctx);
  RegisterRunRoutes(router, ctx);
  compat::RegisterCompatRoutes(router, ctx);  // docs/COMPATIBILITY.md
  RegisterMetricsRoutes(router, ctx);
  RegisterOpenApiRoutes(router, ctx);
  ui::RegisterRoutes(router);  // the web console's files under /ui/ (src/ui)
  router->Add("GET", "/healthz", [](http::Request, http::Reply reply) {
    reply(Json(200, {{"status", "ok"}}));
  });
  router->Add("GET", "/readyz", [ctx](http::Request, http::Reply reply) {
    OffIoThread(ctx, [ctx, reply = std::move(reply)] {
      auto workspaces = ctx->store->ListWorkspaces();
      if (!workspaces) {
        reply(http::ErrorResponse(Status::Unavailable("the database is not reachable")));
        return;
      }
      reply(Json(200, {{"status", "ready"}}));
    });
  });
}

}  // namespace triggerd::api
