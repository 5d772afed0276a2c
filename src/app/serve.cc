#include "app/serve.h"

#include "app/cluster.h"
#include "app/data_dir.h"
#include "app/logging.h"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "api/api.h"
#include "app/declared.h"
#include "catalog/caches.h"
#include "catalog/catalog.h"
#include "common/clock.h"
#include "dispatch/dispatch.h"
#include "http/http.h"
#include "ingest/ingest.h"
#include "metrics/metrics.h"
#include "nlfilter/nlfilter.h"
#include "outbound/outbound.h"
#include "retention/retention.h"
#include "schedule/schedule.h"
#include "store/store.h"

namespace triggerd::app {
namespace {

// Writes the admin key with mode 0600 from the start (never world-readable, not even briefly)
// and fsyncs it, so the key printed once is not lost with a crash right after.
Status WriteKeyFile(const std::filesystem::path& path, const std::string& key) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Internal("cannot create " + path.string());
  ::fchmod(fd, 0600);
  std::string line = key + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Status::Internal("cannot write " + path.string());
  return Status::Ok();
}

// This process among the nodes sharing a database: host, port and pid, readable in
// pg_stat_activity and the logs.
std::string NodeId(const std::string& host, uint16_t port) {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) name[0] = '\0';
  return std::string(name[0] != '\0' ? name : host.c_str()) + ":" + std::to_string(port) + ":" +
         std::to_string(::getpid());
}

}  // namespace

int RunServe(const Config& config) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);  // reload the config file's declared objects
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A peer or a command target that goes away mid-write must give EPIPE, not kill the service.
  std::signal(SIGPIPE, SIG_IGN);

  if (Status s = ConfigureLogging(config.log_format, config.log_level); !s.ok()) {
    std::fprintf(stderr, "triggerd: %s\n", s.message().c_str());
    return 2;
  }
  std::string host;
  uint16_t port = 0;
  if (Status s = SplitListen(config.listen, &host, &port); !s.ok()) {
    std::fprintf(stderr, "triggerd: %s\n", s.message().c_str());
    return 2;
  }

  // The declared objects are validated before anything is opened or created: a bad file stops
  // the start with its file:line message. The file is read once here and that content is what
  // the start-up apply records (ConfigReloader::Loaded), so that the watcher sees any later edit.
  std::optional<std::string> declared_text;
  std::optional<LoadedConfig> declared;
  if (!config.config_path.empty()) {
    declared_text = ReadConfigText(config.config_path);
    auto loaded = LoadConfigText(config.config_path, declared_text, ProcessEnv());
    if (!loaded) {
      std::fprintf(stderr, "triggerd: %s\n", loaded.error().message().c_str());
      return 2;
    }
    declared = std::move(*loaded);
  }

  // Before anything can call out (the dispatcher, polls, the filter model). From the same read
  // of the file as the declared objects (no flag sets it): both come from the recorded content.
  const outbound::Policy& policy = declared ? declared->settings.outbound : config.outbound;
  outbound::SetProcessPolicy(policy);
  spdlog::info("outbound policy: {}", policy.Describe());

  StorageChoice storage{config.storage, config.storage_pool_size, NodeId(host, port)};
  auto opened = OpenDataDir(config.data_dir, storage);
  if (!opened) {
    std::fprintf(stderr, "triggerd: %s\n", opened.error().message().c_str());
    return 1;
  }
  if (opened->key_created) {
    std::printf("created master key %s: back it up, the secrets in the database cannot be "
                "recovered without it\n",
                opened->key_origin.c_str());
  }
  spdlog::info("master key {} from {}", opened->key_id, opened->key_origin);
  if (!opened->previous_key_id.empty()) {
    // A rotation (README "Secrets at rest"): once every node runs the new key and this count
    // stays 0, the previous key can be removed.
    spdlog::info("previous master key {} from {}: {} secrets re-sealed under {} at this start",
                 opened->previous_key_id, opened->previous_key_origin,
                 opened->secrets_sealed_at_open, opened->key_id);
  }
  std::filesystem::path data_dir(config.data_dir);
  store::Store* const store = opened->store.get();
  const Clock& clock = SystemClock::Instance();

  auto bootstrap = api::BootstrapIfEmpty(store, clock, "default");
  if (!bootstrap) {
    std::fprintf(stderr, "triggerd: bootstrap failed: %s\n", bootstrap.error().message().c_str());
    return 1;
  }
  if (bootstrap->has_value()) {
    const auto& first = **bootstrap;
    auto key_path = data_dir / "admin-key";
    if (Status s = WriteKeyFile(key_path, first.admin_key); !s.ok()) {
      std::fprintf(stderr, "triggerd: %s\n", s.message().c_str());
      return 1;
    }
    std::printf("created workspace %s\nadmin API key (shown once, also in %s): %s\n",
                first.workspace_id.c_str(), key_path.c_str(), first.admin_key.c_str());
  }

  ingest::Options ingest_options;
  ingest_options.default_max_body_bytes = config.max_body_bytes;
  ingest_options.public_base_url = config.public_url;
  ingest_options.per_source = {config.source_rate_limit, config.source_rate_burst};
  ingest_options.per_workspace = {config.workspace_rate_limit, config.workspace_rate_burst};
  ingest_options.max_pending_bytes = config.max_pending_bytes;
  ingest::Ingestor ingestor(store, &clock, ingest_options);
  if (Status s = ingestor.Reload(); !s.ok()) {
    std::fprintf(stderr, "triggerd: loading sources: %s\n", s.message().c_str());
    return 1;
  }

  dispatch::Options dispatch_options;
  dispatch_options.workers = config.dispatch_workers;
  dispatch_options.base_backoff = std::chrono::milliseconds(config.retry_base_ms);
  dispatch_options.max_backoff = std::chrono::milliseconds(config.retry_max_ms);
  dispatch_options.lease = std::chrono::seconds(config.run_lease_seconds);
  // SQLite is one process's file: leases of a previous process are released at once. With
  // PostgreSQL other nodes may hold leases: a dead node's runs wait out their lease.
  dispatch_options.release_leases_on_start = !opened->postgres;
  dispatch::Dispatcher dispatcher(store, &clock, dispatch_options);
  if (Status s = dispatcher.Start(); !s.ok()) {
    std::fprintf(stderr, "triggerd: starting dispatch: %s\n", s.message().c_str());
    return 1;
  }

  retention::Options retention_options;
  retention_options.events_max_age = std::chrono::seconds(config.retention_events_seconds);
  retention_options.bodies_max_age = std::chrono::seconds(config.retention_bodies_seconds);
  retention_options.interval = std::chrono::seconds(config.retention_interval_seconds);
  retention::Job retention_job(store, &clock, retention_options);

  // Every configuration write goes through the catalog, which tells the caches; the schedule
  // producer joins them once started (below).
  catalog::Catalog catalog(store);
  catalog::CacheObserver caches(&ingestor, nullptr, &dispatcher);
  catalog.AddObserver(&caches);
  DeclaredApplier applier(&catalog, &clock);
  // One file, one verdict: a file refused in any part (its service settings or its
  // `workspaces:`) changes nothing, so a typo cannot half-apply (say, a tighter outbound policy
  // without the declared objects that went with it). Of the service settings, only `outbound`
  // applies on reload: tightening it must not wait for a restart.
  ConfigReloader reloader(config.config_path, ProcessEnv(), &applier, [](const Config& fresh) {
    outbound::SetProcessPolicy(fresh.outbound);
    spdlog::info("config reload: outbound policy: {}", fresh.outbound.Describe());
  });
  if (declared) {
    auto applied = applier.Apply(declared->declared);
    if (!applied) {
      std::fprintf(stderr, "triggerd: %s: %s\n", config.config_path.c_str(),
                   declared->declared.Redact(applied.error().message()).c_str());
      dispatcher.Stop();
      store->Close();
      return 2;
    }
    reloader.Loaded(declared_text);
    spdlog::info("{} ({})", applied->ToString(), config.config_path);
  }
  retention_job.Start();  // a pass now, then every retention_interval; stopped before Close
  // SIGHUP and the file watcher: a refused file is logged and the running config stays.
  auto reload = [&config, &reloader](const char* why) {
    auto applied = reloader.Reload();
    if (!applied) {
      spdlog::error("config reload ({}) refused, running config kept: {}", why,
                    applied.error().message());
      return;
    }
    spdlog::info("{} ({}, {})", applied->ToString(), config.config_path, why);
  };

  http::Router router(config.max_body_bytes);
  // Outlives the server: scrapes and the router's observer use it until Stop has returned.
  metrics::Registry metrics_registry;
  api::ApiContext context{store,
                          &catalog,
                          &ingestor,
                          &dispatcher,
                          &clock,
                          config.public_url,
                          {&metrics_registry, config.metrics_require_key},
                          config.config_path};
  context.agent_targets = {config.api.command_agents, config.api.llm_api_key_envs};
  // Schedule and poll sources: their events go through the ingestor like webhooks. Started before
  // the server, so a source created through the API is upserted into a running producer.
  schedule::ProducerOptions producer_options;
  producer_options.default_missed = schedule::ParseMissedPolicy(config.schedule_missed)
                                       .value_or(schedule::MissedPolicy::kCatchUp);
  schedule::Producer producer(store, &ingestor, &clock, producer_options);
  if (Status s = producer.Start(); !s.ok()) {
    std::fprintf(stderr, "triggerd: starting schedules: %s\n", s.message().c_str());
    return 1;
  }
  context.producer = &producer;
  caches.SetProducer(&producer);  // before the cluster, the watcher and SIGHUP can reload
  // Filters from a description: a client of the configured chat model (checked when the config
  // was read), or none and the route answers 501. Outlives the server, like the context.
  std::unique_ptr<nlfilter::ChatModel> filter_model;
  if (!config.llm.base_url.empty()) {
    auto model = nlfilter::MakeChatCompletionsModel(
        {config.llm.base_url, config.llm.model, config.llm.api_key_env, config.llm.timeout_ms});
    if (!model) {
      std::fprintf(stderr, "triggerd: %s\n", model.error().message().c_str());
      return 1;
    }
    filter_model = std::move(model).value();
    context.filter_model = filter_model.get();
  }
  // Every management call (its store reads, its writes waiting for the group commit's fsync) and
  // a chat model's turns (seconds) run here, not on the io threads that serve webhooks: up to 4
  // generations in flight (api/filter_generate.cc) leave 2 threads to the rest. Joined after the
  // server's Stop: a task still running then answers into a stopped server, which drops it.
  boost::asio::thread_pool blocking_pool(6);
  context.run_blocking = [&blocking_pool](std::function<void()> task) {
    boost::asio::post(blocking_pool, std::move(task));
  };
  // Other nodes on the same database: follow their changes, share the rate limits.
  std::optional<ClusterFollower> cluster;
  if (opened->postgres) {
    cluster.emplace(store, &catalog, &ingestor, &clock, ClusterOptions{storage.node_name});
    cluster->Start();
    metrics_registry.AddCollector([&cluster](metrics::Collection* c) {
      c->Gauge("triggerd_cluster_nodes",
               "Nodes sharing the database that heartbeated within the node TTL, this one "
               "included; each enforces 1/n of the ingest rate limits.",
               cluster->nodes_alive());
      c->Counter("triggerd_cluster_cache_reloads_total",
                 "Reloads of the source/trigger/agent caches after another node's change.",
                 cluster->reloads());
    });
  }
  api::RegisterRoutes(&router, &context);
  http::ServerOptions server_options;
  server_options.address = host;
  server_options.port = port;
  server_options.threads = config.threads;
  auto server = http::Server::Start(server_options, &router);
  if (!server) {
    std::fprintf(stderr, "triggerd: %s\n", server.error().message().c_str());
    return 1;
  }
  std::printf("listening on %s:%u\n", host.c_str(), (*server)->port());
  std::fflush(stdout);
  spdlog::info("triggerd listening on {}:{} (data dir {}, database {})", host, (*server)->port(),
               config.data_dir, DescribeStorage(config.data_dir, config.storage));

  std::unique_ptr<FileWatcher> watcher;
  if (!config.config_path.empty() && config.watch_config) {
    // Compared with what the running state was last loaded from, by whichever path.
    watcher = std::make_unique<FileWatcher>(
        config.config_path, std::chrono::seconds(1),
        [&reloader](const std::optional<std::string>& content) {
          return reloader.IsCurrent(content);
        },
        [&reload] { reload("file changed"); });
  }
  int signal_number = 0;
  for (;;) {
    sigwait(&signals, &signal_number);
    if (signal_number != SIGHUP) break;
    if (config.config_path.empty()) {
      spdlog::warn("SIGHUP: no --config file to reload");
    } else {
      reload("SIGHUP");
    }
  }
  spdlog::info("received signal {}; stopping", signal_number);
  if (watcher) watcher->Stop();  // no reload runs once the server stops
  if (cluster) cluster->Stop();
  (*server)->Stop(std::chrono::seconds(config.shutdown_grace_seconds));
  blocking_pool.join();
  producer.Stop();  // a tick or poll in flight finishes its appends first
  // Attempts in flight finish and record their results before the store closes.
  dispatcher.Stop();
  retention_job.Stop();
  store->Close();
  spdlog::info("stopped");
  return 0;
}

}  // namespace triggerd::app
