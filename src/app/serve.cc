#include "app/serve.h"

#include <sys/resource.h>

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

// The process-wide set-up before anything else: signals taken by sigwait (blocked in every
// thread), SIGPIPE ignored (a peer or a command target that goes away mid-write must give EPIPE,
// not kill the service), logging, and the listen address. An exit code when it fails.
std::optional<int> PrepareProcess(const Config& config, sigset_t* signals, std::string* host,
                                  uint16_t* port) {
  sigemptyset(signals);
  sigaddset(signals, SIGTERM);
  sigaddset(signals, SIGINT);
  sigaddset(signals, SIGHUP);  // reload the config file's declared objects
  pthread_sigmask(SIG_BLOCK, signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  if (Status s = ConfigureLogging(config.log_format, config.log_level); !s.ok()) {
    std::fprintf(stderr, "triggerd: %s\n", s.message().c_str());
    return 2;
  }
  if (Status s = SplitListen(config.listen, host, port); !s.ok()) {
    std::fprintf(stderr, "triggerd: %s\n", s.message().c_str());
    return 2;
  }
  return std::nullopt;
}

void LogMasterKey(const OpenedDataDir& opened) {
  if (opened.key_created) {
    std::printf("created master key %s: back it up, the secrets in the database cannot be "
                "recovered without it\n",
                opened.key_origin.c_str());
  }
  spdlog::info("master key {} from {}", opened.key_id, opened.key_origin);
  if (!opened.previous_key_id.empty()) {
    // A rotation (README "Secrets at rest"): once every node runs the new key and this count
    // stays 0, the previous key can be removed.
    spdlog::info("previous master key {} from {}: {} secrets re-sealed under {} at this start",
                 opened.previous_key_id, opened.previous_key_origin,
                 opened.secrets_sealed_at_open, opened.key_id);
  }
}

// First start: a workspace and its admin key, the key shown once and kept in the data dir.
Status BootstrapWorkspace(store::Store* store, const Clock& clock,
                          const std::filesystem::path& data_dir) {
  auto bootstrap = api::BootstrapIfEmpty(store, clock, "default");
  if (!bootstrap) return Status::Internal("bootstrap failed: " + bootstrap.error().message());
  if (!bootstrap->has_value()) return Status::Ok();
  const auto& first = **bootstrap;
  auto key_path = data_dir / "admin-key";
  TRIGGERD_RETURN_IF_ERROR(WriteKeyFile(key_path, first.admin_key));
  std::printf("created workspace %s\nadmin API key (shown once, also in %s): %s\n",
              first.workspace_id.c_str(), key_path.c_str(), first.admin_key.c_str());
  return Status::Ok();
}

ingest::Options IngestOptions(const Config& config) {
  ingest::Options options;
  options.default_max_body_bytes = config.max_body_bytes;
  options.public_base_url = config.public_url;
  options.per_source = {config.source_rate_limit, config.source_rate_burst};
  options.per_workspace = {config.workspace_rate_limit, config.workspace_rate_burst};
  options.max_pending_bytes = config.max_pending_bytes;
  return options;
}

dispatch::Options DispatchOptions(const Config& config, bool postgres) {
  dispatch::Options options;
  options.workers = config.dispatch_workers;
  options.base_backoff = std::chrono::milliseconds(config.retry_base_ms);
  options.max_backoff = std::chrono::milliseconds(config.retry_max_ms);
  options.lease = std::chrono::seconds(config.run_lease_seconds);
  // SQLite is one process's file: leases of a previous process are released at once. With
  // PostgreSQL other nodes may hold leases: a dead node's runs wait out their lease.
  options.release_leases_on_start = !postgres;
  return options;
}

retention::Options RetentionOptions(const Config& config) {
  retention::Options options;
  options.events_max_age = std::chrono::seconds(config.retention_events_seconds);
  options.bodies_max_age = std::chrono::seconds(config.retention_bodies_seconds);
  options.interval = std::chrono::seconds(config.retention_interval_seconds);
  return options;
}

// Filters from a description: a client of the configured chat model (checked when the config
// was read), or none (null) and the route answers 501.
Result<std::unique_ptr<nlfilter::ChatModel>> FilterModel(const Config& config) {
  if (config.llm.base_url.empty()) return std::unique_ptr<nlfilter::ChatModel>();
  return nlfilter::MakeChatCompletionsModel(
      {config.llm.base_url, config.llm.model, config.llm.api_key_env, config.llm.timeout_ms});
}

void AddClusterMetrics(metrics::Registry* registry, const ClusterFollower* cluster) {
  registry->AddCollector([cluster](metrics::Collection* c) {
    c->Gauge("triggerd_cluster_nodes",
             "Nodes sharing the database that heartbeated within the node TTL, this one "
             "included; each enforces 1/n of the ingest rate limits.",
             cluster->nodes_alive());
    c->Counter("triggerd_cluster_cache_reloads_total",
               "Reloads of the source/trigger/agent caches after another node's change.",
               cluster->reloads());
  });
}

// The config file as the start-up reads it, once: its text (what the start-up apply records,
// ConfigReloader::Loaded, so that the watcher sees any later edit) and what it declares. The
// declared objects are validated before anything is opened or created: a bad file stops the
// start with its file:line message. No file: nothing.
struct StartupFile {
  std::optional<std::string> text;
  std::optional<LoadedConfig> loaded;
};
Result<StartupFile> ReadStartupFile(const Config& config) {
  StartupFile file;
  if (config.config_path.empty()) return file;
  file.text = ReadConfigText(config.config_path);
  auto loaded = LoadConfigText(config.config_path, file.text, ProcessEnv());
  if (!loaded) return loaded.error();
  file.loaded = std::move(*loaded);
  return file;
}

// The outbound policy, set before anything can call out (the dispatcher, polls, the filter
// model). From the same read of the file as the declared objects (no flag sets it): both come
// from the recorded content.
void SetOutboundPolicy(const Config& config, const StartupFile& file) {
  const outbound::Policy& policy = file.loaded ? file.loaded->settings.outbound : config.outbound;
  outbound::SetProcessPolicy(policy);
  spdlog::info("outbound policy: {}", policy.Describe());
}

// Opens the data dir's database and master key, and bootstraps the first workspace.
Result<OpenedDataDir> OpenStore(const Config& config, const StorageChoice& storage,
                                const Clock& clock) {
  auto opened = OpenDataDir(config.data_dir, storage);
  if (!opened) return opened.error();
  LogMasterKey(*opened);
  TRIGGERD_RETURN_IF_ERROR(BootstrapWorkspace(opened->store.get(), clock, config.data_dir));
  return opened;
}

// Starts the server on `router`, and says where it listens (the first line tests wait for).
Result<std::unique_ptr<http::Server>> StartServer(const Config& config, const std::string& host,
                                                  uint16_t port, const http::Router* router) {
  http::ServerOptions options;
  options.address = host;
  options.port = port;
  options.threads = config.threads;
  // The server caps its connections under the descriptor limit. The soft limit is often 1024
  // while the hard one is far higher; nothing here uses select(2) (Asio uses epoll), so the soft
  // limit is raised to what the connections and the reserve need, within the hard limit.
  struct rlimit fds {};
  if (::getrlimit(RLIMIT_NOFILE, &fds) == 0) {
    const rlim_t wanted = static_cast<rlim_t>(options.max_connections + options.reserved_fds);
    if (fds.rlim_cur != RLIM_INFINITY && fds.rlim_cur < wanted) {
      fds.rlim_cur = fds.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, fds.rlim_max);
      (void)::setrlimit(RLIMIT_NOFILE, &fds);
    }
  }
  auto server = http::Server::Start(options, router);
  if (!server) return server.error();
  if ((*server)->connection_limit() < options.max_connections) {
    spdlog::warn("at most {} open connections: the file descriptor limit (RLIMIT_NOFILE) is {}",
                 (*server)->connection_limit(), static_cast<uint64_t>(fds.rlim_cur));
  }
  std::printf("listening on %s:%u\n", host.c_str(), (*server)->port());
  std::fflush(stdout);
  spdlog::info("triggerd listening on {}:{} (data dir {}, database {})", host, (*server)->port(),
               config.data_dir, DescribeStorage(config.data_dir, config.storage));
  return server;
}

// The start-up apply of the file's declared objects, recorded as what the running state was
// loaded from. The message names the file and never shows an expanded secret.
Status ApplyAtStart(const Config& config, const StartupFile& file, DeclaredApplier* applier,
                    ConfigReloader* reloader) {
  if (!file.loaded) return Status::Ok();
  auto applied = applier->Apply(file.loaded->declared);
  if (!applied) {
    return Status::InvalidArgument(config.config_path + ": " +
                                   file.loaded->declared.Redact(applied.error().message()));
  }
  reloader->Loaded(file.text);
  spdlog::info("{} ({})", applied->ToString(), config.config_path);
  return Status::Ok();
}

// SIGHUP and the file watcher: a refused file is logged and the running config stays.
std::function<void(const char*)> ReloadAction(const Config& config, ConfigReloader* reloader) {
  return [&config, reloader](const char* why) {
    auto applied = reloader->Reload();
    if (!applied) {
      spdlog::error("config reload ({}) refused, running config kept: {}", why,
                    applied.error().message());
      return;
    }
    spdlog::info("{} ({}, {})", applied->ToString(), config.config_path, why);
  };
}

// Reloads when the file's content differs from what the running state was last loaded from,
// by whichever path (start, SIGHUP, an earlier change). Null without a file or when off.
std::unique_ptr<FileWatcher> WatchConfig(const Config& config, ConfigReloader* reloader,
                                         const std::function<void(const char*)>* reload) {
  if (config.config_path.empty() || !config.watch_config) return nullptr;
  return std::make_unique<FileWatcher>(
      config.config_path, std::chrono::seconds(1),
      [reloader](const std::optional<std::string>& content) {
        return reloader->IsCurrent(content);
      },
      [reload] { (*reload)("file changed"); });
}

schedule::ProducerOptions ProducerOptions(const Config& config) {
  schedule::ProducerOptions options;
  options.default_missed = schedule::ParseMissedPolicy(config.schedule_missed)
                               .value_or(schedule::MissedPolicy::kCatchUp);
  return options;
}

// Serves until SIGTERM or SIGINT (returned); each SIGHUP reloads the config file.
int WaitForStop(const sigset_t& signals, const Config& config,
                const std::function<void(const char*)>& reload) {
  int signal_number = 0;
  for (;;) {
    sigwait(&signals, &signal_number);
    if (signal_number != SIGHUP) return signal_number;
    if (config.config_path.empty()) {
      spdlog::warn("SIGHUP: no --config file to reload");
    } else {
      reload("SIGHUP");
    }
  }
}

}  // namespace

int RunServe(const Config& config) {
  sigset_t signals;
  std::string host;
  uint16_t port = 0;
  if (auto code = PrepareProcess(config, &signals, &host, &port)) return *code;

  auto file = ReadStartupFile(config);
  if (!file) {
    std::fprintf(stderr, "triggerd: %s\n", file.error().message().c_str());
    return 2;
  }

  SetOutboundPolicy(config, *file);
  const Clock& clock = SystemClock::Instance();
  StorageChoice storage{config.storage, config.storage_pool_size, NodeId(host, port)};
  auto opened = OpenStore(config, storage, clock);
  if (!opened) {
    std::fprintf(stderr, "triggerd: %s\n", opened.error().message().c_str());
    return 1;
  }
  store::Store* const store = opened->store.get();

  ingest::Ingestor ingestor(store, &clock, IngestOptions(config));
  if (Status s = ingestor.Reload(); !s.ok()) {
    std::fprintf(stderr, "triggerd: loading sources: %s\n", s.message().c_str());
    return 1;
  }

  dispatch::Dispatcher dispatcher(store, &clock, DispatchOptions(config, opened->postgres));
  if (Status s = dispatcher.Start(); !s.ok()) {
    std::fprintf(stderr, "triggerd: starting dispatch: %s\n", s.message().c_str());
    return 1;
  }

  retention::Job retention_job(store, &clock, RetentionOptions(config));

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
  if (Status s = ApplyAtStart(config, *file, &applier, &reloader); !s.ok()) {
    std::fprintf(stderr, "triggerd: %s\n", s.message().c_str());
    dispatcher.Stop();
    store->Close();
    return 2;
  }
  retention_job.Start();  // a pass now, then every retention_interval; stopped before Close
  const std::function<void(const char*)> reload = ReloadAction(config, &reloader);

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
  schedule::Producer producer(store, &ingestor, &clock, ProducerOptions(config));
  if (Status s = producer.Start(); !s.ok()) {
    std::fprintf(stderr, "triggerd: starting schedules: %s\n", s.message().c_str());
    return 1;
  }
  context.producer = &producer;
  caches.SetProducer(&producer);  // before the cluster, the watcher and SIGHUP can reload
  // Outlives the server, like the context.
  auto filter_model = FilterModel(config);
  if (!filter_model) {
    std::fprintf(stderr, "triggerd: %s\n", filter_model.error().message().c_str());
    return 1;
  }
  context.filter_model = filter_model->get();
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
  Status stopped_for;  // why the node stopped itself (exit status 1); OK for a signal
  if (opened->postgres) {
    ClusterOptions cluster_options{storage.node_name};
    cluster_options.on_wrong_master_key = [&stopped_for](const Status& why) {
      stopped_for = why;  // read after WaitForStop, which this SIGTERM ends
      ::kill(::getpid(), SIGTERM);
    };
    cluster.emplace(store, &catalog, &ingestor, &clock, std::move(cluster_options));
    cluster->Start();
    AddClusterMetrics(&metrics_registry, &*cluster);
  }
  api::RegisterRoutes(&router, &context);
  auto server = StartServer(config, host, port, &router);
  if (!server) {
    std::fprintf(stderr, "triggerd: %s\n", server.error().message().c_str());
    return 1;
  }

  std::unique_ptr<FileWatcher> watcher = WatchConfig(config, &reloader, &reload);
  const int signal_number = WaitForStop(signals, config, reload);
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
  if (!stopped_for.ok()) {
    std::fprintf(stderr, "triggerd: %s\n", stopped_for.message().c_str());
    return 1;
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace triggerd::app
