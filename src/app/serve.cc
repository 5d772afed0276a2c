#include "app/serve.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>

#include "api/api.h"
#include "common/clock.h"
#include "dispatch/dispatch.h"
#include "http/http.h"
#include "ingest/ingest.h"
#include "metrics/metrics.h"
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

}  // namespace

int RunServe(const Config& config) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A peer or a command target that goes away mid-write must give EPIPE, not kill the service.
  std::signal(SIGPIPE, SIG_IGN);

  spdlog::set_level(spdlog::level::from_str(config.log_level));
  std::string host;
  uint16_t port = 0;
  if (Status s = SplitListen(config.listen, &host, &port); !s.ok()) {
    std::fprintf(stderr, "triggerd: %s\n", s.message().c_str());
    return 2;
  }

  std::error_code ec;
  std::filesystem::path data_dir(config.data_dir);
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    std::fprintf(stderr, "triggerd: cannot create data dir %s: %s\n", config.data_dir.c_str(),
                 ec.message().c_str());
    return 1;
  }
  ::chmod(data_dir.c_str(), 0700);

  store::SqliteOptions store_options;
  store_options.path = (data_dir / "triggerd.db").string();
  auto store = store::OpenSqliteStore(store_options);
  if (!store) {
    std::fprintf(stderr, "triggerd: %s\n", store.error().message().c_str());
    return 1;
  }
  const Clock& clock = SystemClock::Instance();

  auto bootstrap = api::BootstrapIfEmpty(store->get(), clock, "default");
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
  ingest::Ingestor ingestor(store->get(), &clock, ingest_options);
  if (Status s = ingestor.Reload(); !s.ok()) {
    std::fprintf(stderr, "triggerd: loading sources: %s\n", s.message().c_str());
    return 1;
  }

  dispatch::Options dispatch_options;
  dispatch_options.workers = config.dispatch_workers;
  dispatch_options.base_backoff = std::chrono::milliseconds(config.retry_base_ms);
  dispatch_options.max_backoff = std::chrono::milliseconds(config.retry_max_ms);
  dispatch_options.lease = std::chrono::seconds(config.run_lease_seconds);
  // SQLite is one process's file: leases of a previous process are released at once.
  dispatch_options.release_leases_on_start = true;
  dispatch::Dispatcher dispatcher(store->get(), &clock, dispatch_options);
  if (Status s = dispatcher.Start(); !s.ok()) {
    std::fprintf(stderr, "triggerd: starting dispatch: %s\n", s.message().c_str());
    return 1;
  }

  http::Router router(config.max_body_bytes);
  // Outlives the server: scrapes and the router's observer use it until Stop has returned.
  metrics::Registry metrics_registry;
  api::ApiContext context{store->get(),
                          &ingestor,
                          &dispatcher,
                          &clock,
                          config.public_url,
                          {&metrics_registry, config.metrics_require_key}};
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
  spdlog::info("triggerd listening on {}:{} (data dir {})", host, (*server)->port(),
               config.data_dir);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  spdlog::info("received signal {}; stopping", signal_number);
  (*server)->Stop(std::chrono::seconds(config.shutdown_grace_seconds));
  // Attempts in flight finish and record their results before the store closes.
  dispatcher.Stop();
  (*store)->Close();
  spdlog::info("stopped");
  return 0;
}

}  // namespace triggerd::app
