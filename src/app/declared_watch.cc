// The watch step of the declared config: reloads (SIGHUP, the file watcher) and the watcher.
//
// Why one reloader: the running state must converge to the file's last content whatever the
// timing of edits, signals and polls. That holds because (1) a reload reads the file inside the
// reload lock, so the last reload to run read the newest content; (2) the record of what the
// running state came from (`current_`) is written by every load, whichever path asked for it;
// and (3) the watcher compares the file with that record, not with what it last loaded itself,
// so an edit after a SIGHUP reload (even one back to an older content) is never taken for one
// already applied.
#include <condition_variable>
#include <thread>

#include "app/declared.h"
#include "common/crypto.h"

namespace triggerd::app {
namespace {

// What the record keeps of a content: its digest, not a copy of the file (secrets may be
// written in it literally). "" = unreadable.
std::string Fingerprint(const std::optional<std::string>& content) {
  if (!content) return "";
  return "sha256:" + crypto::HexEncode(crypto::Digest(crypto::DigestAlgorithm::kSha256, *content));
}

}  // namespace

// ---- ConfigReloader ----

ConfigReloader::ConfigReloader(std::string path, EnvLookup env, DeclaredApplier* applier,
                               std::function<void(const Config& settings)> on_applied)
    : path_(std::move(path)),
      env_(std::move(env)),
      applier_(applier),
      on_applied_(std::move(on_applied)) {}

Result<ApplySummary> ConfigReloader::Reload() {
  std::lock_guard<std::mutex> lock(reload_mu_);
  const std::optional<std::string> content = ReadConfigText(path_);
  auto loaded = LoadConfigText(path_, content, env_);
  if (!loaded) {
    Loaded(content);  // refused as a file: reading it again would refuse it again
    return loaded.error();
  }
  auto summary = applier_->Apply(loaded->declared);
  if (!summary) {
    const Status& e = summary.error();
    // A refusal of the content (no workspaces: section, a conflict with the API's objects)
    // stands until the file changes; anything else (the store) may pass: the watcher retries.
    if (e.type() == ErrorType::kInvalidArgument || e.type() == ErrorType::kConflict) {
      Loaded(content);
    } else {
      std::lock_guard<std::mutex> current_lock(current_mu_);
      current_.reset();
    }
    return Status(e.type(), e.code(), loaded->declared.Redact(e.message()));
  }
  Loaded(content);
  // Under reload_mu_: the settings of two reloads are applied in the order the files were read.
  if (on_applied_) on_applied_(loaded->settings);
  return summary;
}

void ConfigReloader::Loaded(const std::optional<std::string>& content) {
  std::string fingerprint = Fingerprint(content);
  std::lock_guard<std::mutex> lock(current_mu_);
  current_ = std::move(fingerprint);
}

bool ConfigReloader::IsCurrent(const std::optional<std::string>& content) const {
  std::string fingerprint = Fingerprint(content);
  std::lock_guard<std::mutex> lock(current_mu_);
  return current_ == fingerprint;
}

// ---- FileWatcher ----

struct FileWatcher::State {
  std::string path;
  std::chrono::milliseconds interval;
  IsCurrent is_current;            // empty: `own` is the record
  std::optional<std::string> own;  // only the watcher's thread uses it once started
  std::function<void()> on_change;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;  // guarded by mu
  std::thread thread;

  bool Current(const std::optional<std::string>& content) const {
    return is_current ? is_current(content) : content == own;
  }

  void Loop() {
    std::optional<std::string> previous = ReadConfigText(path);
    std::unique_lock<std::mutex> lock(mu);
    while (!cv.wait_for(lock, interval, [this] { return stop; })) {
      lock.unlock();
      std::optional<std::string> now = ReadConfigText(path);
      // Debounce: the same content in two polls in a row, and not what the state came from.
      if (now == previous && !Current(now)) {
        if (!is_current) own = now;
        on_change();
      }
      previous = std::move(now);
      lock.lock();
    }
  }
};

FileWatcher::FileWatcher(std::string path, std::chrono::milliseconds interval, IsCurrent is_current,
                         std::function<void()> on_change)
    : state_(std::make_unique<State>()) {
  state_->path = std::move(path);
  state_->interval = interval;
  state_->is_current = std::move(is_current);
  if (!state_->is_current) state_->own = ReadConfigText(state_->path);
  state_->on_change = std::move(on_change);
  state_->thread = std::thread([state = state_.get()] { state->Loop(); });
}

FileWatcher::FileWatcher(std::string path, std::chrono::milliseconds interval,
                         std::function<void()> on_change)
    : FileWatcher(std::move(path), interval, IsCurrent(), std::move(on_change)) {}

FileWatcher::~FileWatcher() { Stop(); }

void FileWatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = true;
  }
  state_->cv.notify_all();
  if (state_->thread.joinable()) state_->thread.join();
}

}  // namespace triggerd::app
