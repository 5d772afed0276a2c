// GET /metrics: the Prometheus text exposition (metrics/metrics.h). With a registry in the
// context, RegisterRoutes also counts every request the router answers (by route pattern, method
// and status, and a duration histogram by route) and reads the modules' own stats at scrape time:
// ingest::IngestStats, store::StoreStats, dispatch::DispatchStats. Nothing here adds work to the
// ingest path but the observer's atomic increments (no lock, no allocation once a label set has
// been seen).
#include <spdlog/spdlog.h>

#include <array>
#include <charconv>

#include "api/internal.h"
#include "metrics/metrics.h"
#include "schedule/schedule.h"

namespace triggerd::api {
namespace {

// Seconds. From sub-millisecond API reads to the fsync-bound ingest 200 and slow list queries.
const std::vector<double> kDurationBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,    0.25,  0.5,    1,     2.5,  5,     10};

// The method label: a fixed set, so a client cannot grow the label space with made-up methods.
std::string_view MethodLabel(std::string_view method) {
  static constexpr std::array<std::string_view, 7> kKnown = {"GET",    "POST", "PUT",    "PATCH",
                                                             "DELETE", "HEAD", "OPTIONS"};
  for (std::string_view known : kKnown) {
    if (method == known) return known;
  }
  return "other";
}

// Attempt durations by outcome and, for first attempts, the wait from the run's creation (its
// event's commit) to the attempt's start: the two halves of dispatch latency.
Status InstallDispatchMetrics(dispatch::Dispatcher* dispatcher, metrics::Registry* registry) {
  auto attempts = registry->AddHistogram(
      "triggerd_dispatch_attempt_duration_seconds",
      "Time from the start of a dispatch attempt to its recorded result, by outcome "
      "(succeeded, retried, failed, dead).",
      {"outcome"}, kDurationBuckets);
  if (!attempts) return attempts.error();
  auto delay = registry->AddHistogram(
      "triggerd_dispatch_first_attempt_delay_seconds",
      "Time from a run's creation (the commit of its event) to the start of its first attempt.",
      {}, kDurationBuckets);
  if (!delay) return delay.error();
  metrics::Histogram* first_delay = (*delay)->With(std::initializer_list<std::string_view>{});
  dispatcher->SetAttemptObserver([attempts = *attempts,
                                  first_delay](const dispatch::AttemptObservation& seen) {
    attempts->With({seen.outcome})->Observe(seen.attempt_seconds);
    if (seen.first_attempt_delay_seconds >= 0) first_delay->Observe(seen.first_attempt_delay_seconds);
  });
  return Status::Ok();
}

Status InstallHttpMetrics(http::Router* router, metrics::Registry* registry) {
  auto requests = registry->AddCounter(
      "triggerd_http_requests_total",
      "HTTP requests answered by the router, by route pattern (\"unmatched\" when no route's "
      "path matched), method and status code.",
      {"route", "method", "code"});
  if (!requests) return requests.error();
  auto duration = registry->AddHistogram(
      "triggerd_http_request_duration_seconds",
      "Time from the complete request to its answer, by route pattern; for the ingest routes "
      "the time to the durable 200. Answers from the request head alone count as about 0.",
      {"route"}, kDurationBuckets);
  if (!duration) return duration.error();
  router->SetObserver([requests = *requests,
                       duration = *duration](const http::RouteObservation& seen) {
    const std::string_view route = seen.pattern.empty() ? "unmatched" : seen.pattern;
    char code[12];
    auto [end, ec] = std::to_chars(code, code + sizeof(code), seen.status);
    requests->With({route, MethodLabel(seen.method), std::string_view(code, end - code)})->Inc();
    duration->With({route})->Observe(std::chrono::duration<double>(seen.duration).count());
  });
  return Status::Ok();
}

void CollectModuleStats(ApiContext* ctx, metrics::Collection* c) {
  if (ctx->ingestor != nullptr) {
    const ingest::IngestStats s = ctx->ingestor->stats();
    c->Counter("triggerd_ingest_events_accepted_total",
               "Events durably stored, webhooks and schedule ticks and poll items alike (duplicates "
               "excluded).",
               s.accepted);
    c->Counter("triggerd_ingest_duplicates_total",
               "Webhook deliveries answered with an earlier event (same delivery id).",
               s.duplicates);
    c->Counter("triggerd_ingest_refused_total",
               "Webhook deliveries refused, by reason: auth (missing or bad token or signature, "
               "timestamp outside tolerance), rate_limited (429), overloaded (503: the event "
               "log's queue is full) or other.",
               s.refused_auth, {{"reason", "auth"}});
    c->Counter("triggerd_ingest_refused_total", "", s.rate_limited, {{"reason", "rate_limited"}});
    c->Counter("triggerd_ingest_refused_total", "", s.overloaded, {{"reason", "overloaded"}});
    // The counters are read one by one: a refusal counted between two reads must not wrap.
    const uint64_t limited = s.rate_limited + s.overloaded;
    c->Counter("triggerd_ingest_refused_total", "",
               s.refused_other > limited ? s.refused_other - limited : 0, {{"reason", "other"}});
    for (const auto& [source_id, count] : s.refused_auth_by_source) {
      c->Counter("triggerd_ingest_auth_failures_total",
                 "Webhook deliveries refused by a source's verification (missing or bad token "
                 "or signature, timestamp outside tolerance), by source id.",
                 count, {{"source_id", source_id}});
    }
    c->Counter("triggerd_filter_evaluations_total",
               "Trigger filters evaluated (every enabled trigger considered for an event, "
               "webhooks, generated events and replays alike).",
               s.filter_evaluations);
    c->Counter("triggerd_filter_matches_total", "Evaluations that matched (each started a run).",
               s.filter_matched);
    c->Counter("triggerd_filter_errors_total",
               "Evaluations that could not run: the trigger's stored filter does not compile.",
               s.filter_errors);
  }
  if (ctx->store != nullptr) {
    const store::StoreStats s = ctx->store->Stats();
    c->Counter("triggerd_store_batches_total",
               "Group-commit transactions committed. Events per batch: "
               "rate(triggerd_store_events_committed_total) / rate(this).",
               s.batches);
    c->Counter("triggerd_store_events_committed_total",
               "Events written by group commit (duplicates and failed appends excluded).",
               s.events_committed);
    c->Counter("triggerd_store_duplicates_total", "Appends answered as duplicates.", s.duplicates);
    c->Counter("triggerd_store_writes_committed_total",
               "Other writes (sources, claims, attempt results, ...) committed.",
               s.writes_committed);
    c->Counter("triggerd_store_failed_batches_total",
               "Group-commit batches that failed whole (every request in them got an error).",
               s.failed_batches);
    c->Counter("triggerd_store_runs_created_total", "Runs created by appends and replays.",
               s.runs_created);
    c->Counter("triggerd_store_checkpoints_total", "Passive WAL checkpoints run.", s.checkpoints);
    c->Counter("triggerd_store_wal_restarts_total", "RESTART checkpoints that rewound the WAL.",
               s.wal_restarts);
    c->Counter("triggerd_store_failed_checkpoints_total",
               "WAL checkpoints that failed or stayed busy.", s.failed_checkpoints);
    c->Gauge("triggerd_store_queue_depth", "Writes queued for the group-commit writer now.",
             s.queue_depth);
    c->Gauge("triggerd_store_batch_size_max",
             "Most requests (appends and writes) committed in one transaction since start.",
             s.max_batch);
    // Live runs only: finished ones are counted by triggerd_dispatch_attempts_total's outcomes.
    if (Result<store::LiveRunCounts> live = ctx->store->CountLiveRuns(); live) {
      const char* help = "Runs waiting or in flight now, by status.";
      c->Gauge("triggerd_runs", help, static_cast<double>(live->queued), {{"status", "queued"}});
      c->Gauge("triggerd_runs", "", static_cast<double>(live->retrying),
               {{"status", "retrying"}});
      c->Gauge("triggerd_runs", "", static_cast<double>(live->running), {{"status", "running"}});
    } else {
      spdlog::warn("metrics: counting runs: {}", live.error().ToString());
    }
  }
  if (ctx->producer != nullptr) {
    const schedule::ProducerStats s = ctx->producer->stats();
    c->Counter("triggerd_schedule_ticks_total",
               "Schedule ticks appended as events (fired), and ticks not fired on their own "
               "(missed: collapsed into a catch-up tick or skipped).",
               s.ticks_fired, {{"outcome", "fired"}});
    c->Counter("triggerd_schedule_ticks_total", "", s.ticks_missed, {{"outcome", "missed"}});
    c->Counter("triggerd_poll_requests_total",
               "Feed polls by outcome: ok (a usable answer) or error (transport, status, JSON, "
               "items_path, no item with an id at id_field).",
               s.polls, {{"outcome", "ok"}});
    c->Counter("triggerd_poll_requests_total", "", s.poll_errors, {{"outcome", "error"}});
    c->Counter("triggerd_poll_items_total", "New feed items appended as events.",
               s.items_appended);
    c->Counter("triggerd_poll_items_without_id_total",
               "Feed items dropped for having no usable id at the poll's id_field.",
               s.items_without_id);
    c->Counter("triggerd_schedule_append_errors_total",
               "Tick or item events the store refused (retried at the next tick or poll).",
               s.append_errors);
  }
  if (ctx->dispatcher != nullptr) {
    const dispatch::DispatchStats s = ctx->dispatcher->stats();
    c->Counter("triggerd_dispatch_claimed_total", "Runs claimed for an attempt.", s.claimed);
    const char* help =
        "Finished dispatch attempts by outcome: succeeded, retried (a retry is scheduled), "
        "failed (not retryable), dead (attempts exhausted), lost_lease (the result was dropped: "
        "the lease was taken over or the run cancelled).";
    c->Counter("triggerd_dispatch_attempts_total", help, s.succeeded, {{"outcome", "succeeded"}});
    c->Counter("triggerd_dispatch_attempts_total", "", s.retried, {{"outcome", "retried"}});
    c->Counter("triggerd_dispatch_attempts_total", "", s.failed, {{"outcome", "failed"}});
    c->Counter("triggerd_dispatch_attempts_total", "", s.dead, {{"outcome", "dead"}});
    c->Counter("triggerd_dispatch_attempts_total", "", s.lost_leases, {{"outcome", "lost_lease"}});
    c->Gauge("triggerd_dispatch_in_flight", "Dispatch attempts in flight now.", s.in_flight);
  }
}

}  // namespace

void RegisterMetricsRoutes(http::Router* router, ApiContext* ctx) {
  if (metrics::Registry* registry = ctx->metrics.registry) {
    // Fails only when these names are taken, i.e. RegisterRoutes ran twice on one registry:
    // the first registration keeps counting.
    if (Status s = InstallHttpMetrics(router, registry); !s.ok()) {
      spdlog::error("metrics: {}", s.message());
    } else {
      registry->AddCollector([ctx](metrics::Collection* c) { CollectModuleStats(ctx, c); });
      if (ctx->dispatcher != nullptr) {
        if (Status d = InstallDispatchMetrics(ctx->dispatcher, registry); !d.ok()) {
          spdlog::error("metrics: {}", d.message());
        }
      }
    }
  }
  // A scrape reads the store (live run counts) and maybe the key: off the io threads.
  router->Add("GET", "/metrics", [ctx](http::Request request, http::Reply reply) {
    OffIoThread(ctx, [ctx, request = std::move(request), reply = std::move(reply)] {
      metrics::Registry* registry = ctx->metrics.registry;
      if (registry == nullptr) {
        reply(http::ErrorResponse(Status::NotFound("metrics are not enabled")));
        return;
      }
      if (ctx->metrics.require_key) {
        auto principal = Authenticate(ctx, request);
        if (!principal) {
          reply(http::ErrorResponse(principal.error()));
          return;
        }
      }
      http::Response response;
      response.content_type = std::string(metrics::kExpositionContentType);
      response.body = registry->Expose();
      reply(std::move(response));
    });
  });
}

}  // namespace triggerd::api
