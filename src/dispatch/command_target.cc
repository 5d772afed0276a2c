// The command target: posix_spawn (no shell, no PATH lookup) into a process group of its own,
// feed stdin and collect stdout/stderr in one poll() loop on the calling worker thread, and
// bound the whole attempt by the timeout (SIGTERM to the group, SIGKILL after the grace).
//
// Invariants the loop keeps:
//   - It never blocks on the child: every pipe end of ours is non-blocking and only touched when
//     poll() reports it ready, so a child that never reads stdin, floods stdout or exits early
//     costs at most the timeout.
//   - Memory is bounded: stdout is kept up to kMaxReplyBytes and stderr only as a short tail;
//     further output is read and dropped so that the child never stalls on a full pipe.
//   - The leader is reaped exactly once, after the loop, and not before the final SIGKILL of a
//     timed-out group: while it is an unreaped zombie its pid cannot be reused, so signalling
//     pid and -pid can only reach what we started.
//   - SIGPIPE (a write to a stdin the child closed) is blocked in this thread for the attempt
//     and the one it raises is consumed; no process-wide disposition changes (the server's own
//     signal set-up, app/serve.cc, stays its own business).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "dispatch/target_internal.h"

extern char** environ;

namespace triggerd::dispatch::internal {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kChunkBytes = 64 * 1024;
constexpr size_t kStderrTailBytes = 4096;
// Without a pidfd (an old kernel, a seccomp filter) exit is noticed by polling this often.
constexpr int kExitPollMs = 10;
// After the leader exits, what is still in the pipes is read, up to this much per pipe (more
// than any pipe buffer holds; a grandchild that keeps writing is not waited for).
constexpr size_t kMaxDrainBytes = 4 * 1024 * 1024;

std::atomic<bool> use_pidfd{true};

// Variables we set; same-named ones from the server's environment are dropped. Dagu's are
// dropped for every run, not only Dagu runs: a server started from a Dagu step must not hand its
// own DAG_RUN_ID to an unrelated agent.
constexpr std::string_view kOurVariables[] = {
    "TRIGGER_PAYLOAD",   "TRIGGER_PAYLOAD_TRUNCATED", "TRIGGER_EVENT_ID", "TRIGGER_RUN_ID",
    "TRIGGER_SOURCE_ID", "TRIGGER_TRIGGER_ID",        "TRIGGER_AGENT_ID", "TRIGGER_ATTEMPT",
    "WEBHOOK_PAYLOAD",   "WEBHOOK_PAYLOAD_TRUNCATED", "WEBHOOK_HEADERS",  "DAG_RUN_ID"};

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~UniqueFd() { Reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::string ErrnoText(int error) {
  const char* name = strerrorname_np(error);
  const char* text = strerrordesc_np(error);
  if (name == nullptr || text == nullptr) return "errno " + std::to_string(error);
  return std::string(text) + " (" + name + ")";
}

std::string SignalText(int signal) {
  const char* abbrev = sigabbrev_np(signal);
  std::string text = "signal " + std::to_string(signal);
  if (abbrev != nullptr) text += " (SIG" + std::string(abbrev) + ")";
  return text;
}

// A pipe whose ends are close-on-exec and above 2: the child's ends are dup2'ed onto 0, 1 and 2,
// which must not clobber another end still to be dup2'ed (a server started with 0-2 closed).
bool MakePipe(UniqueFd* read_end, UniqueFd* write_end, int* error) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    *error = errno;
    return false;
  }
  for (int& fd : fds) {
    if (fd > 2) continue;
    const int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    const int saved = errno;
    close(fd);
    fd = moved;
    if (moved < 0) *error = saved;
  }
  read_end->Reset();
  write_end->Reset();
  *read_end = UniqueFd(fds[0]);
  *write_end = UniqueFd(fds[1]);
  return read_end->valid() && write_end->valid();
}

void SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

bool IsOurVariable(std::string_view entry) {
  const std::string_view name = entry.substr(0, entry.find('='));
  return std::find(std::begin(kOurVariables), std::end(kOurVariables), name) !=
         std::end(kOurVariables);
}

std::vector<std::string> BuildEnvironment(const Delivery& d, std::string_view input) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!IsOurVariable(*e)) env.emplace_back(*e);
  }
  // Beyond kMaxEnvPayloadBytes execve could fail with E2BIG (MAX_ARG_STRLEN is 128 KiB per
  // string); a NUL would silently cut the value. stdin always carries the whole text.
  if (input.size() <= kMaxEnvPayloadBytes && input.find('\0') == std::string_view::npos) {
    env.push_back("TRIGGER_PAYLOAD=" + std::string(input));
  } else {
    env.push_back("TRIGGER_PAYLOAD_TRUNCATED=1");
  }
  env.push_back("TRIGGER_EVENT_ID=" + d.event_id);
  env.push_back("TRIGGER_RUN_ID=" + d.run_id);
  env.push_back("TRIGGER_SOURCE_ID=" + d.source_id);
  env.push_back("TRIGGER_TRIGGER_ID=" + d.trigger_id);
  env.push_back("TRIGGER_AGENT_ID=" + d.agent_id);
  env.push_back("TRIGGER_ATTEMPT=" + std::to_string(d.attempt));
  if (d.event_type == kDaguWebhookEventType) {
    // What a Dagu step sees (docs/COMPATIBILITY.md): the payload the webhook route chose by
    // Dagu's rules (stored as the event's payload, never empty for such a run) and the dagRunId.
    const std::string_view payload = d.payload.empty() ? std::string_view("{}") : d.payload;
    if (payload.size() <= kMaxDaguEnvPayloadBytes && payload.find('\0') == std::string_view::npos) {
      env.push_back("WEBHOOK_PAYLOAD=" + std::string(payload));
    } else {
      env.push_back("WEBHOOK_PAYLOAD_TRUNCATED=1");
    }
    // What Dagu gives a DAG without webhook.forward_headers; triggerd forwards none (the
    // request's headers are in the event).
    env.push_back("WEBHOOK_HEADERS={}");
    env.push_back("DAG_RUN_ID=" + d.delivery_id);
  }
  return env;
}

// Reads what one read() gives; false at end of file or on an error (the fd is then done).
bool ReadSome(int fd, std::string* keep, size_t keep_limit, bool keep_tail, size_t* total) {
  char buffer[kChunkBytes];
  ssize_t n;
  do {
    n = read(fd, buffer, sizeof buffer);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
  if (n == 0) return false;
  *total += static_cast<size_t>(n);
  if (keep_tail) {
    keep->append(buffer, static_cast<size_t>(n));
    // Trim in batches rather than per read.
    if (keep->size() > 2 * keep_limit) keep->erase(0, keep->size() - keep_limit);
  } else if (keep->size() < keep_limit) {
    keep->append(buffer, std::min(static_cast<size_t>(n), keep_limit - keep->size()));
  }
  return true;
}

// The child's process group, and the child itself in case it moved to another group (then only
// it can be reached). REQUIRES: the child is not reaped yet, so neither id can have been reused.
void Signal(pid_t pid, int signal) {
  kill(-pid, signal);
  kill(pid, signal);
}

bool WouldBlock(int fd) {
  pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, 0) == 0;
}

class CommandTarget final : public Target {
 public:
  explicit CommandTarget(CommandTargetConfig config) : config_(std::move(config)) {}

  // Target
  DeliveryResult Deliver(const Delivery& delivery) override {
    const auto started = Clock::now();
    const std::string_view input = delivery.payload.empty() ? delivery.message : delivery.payload;
    std::vector<std::string> env = BuildEnvironment(delivery, input);

    UniqueFd stdin_read, stdin_write, stdout_read, stdout_write, stderr_read, stderr_write;
    int error = 0;
    if (!MakePipe(&stdin_read, &stdin_write, &error) ||
        !MakePipe(&stdout_read, &stdout_write, &error) ||
        !MakePipe(&stderr_read, &stderr_write, &error)) {
      return Retryable("cannot create pipes: " + ErrnoText(error));
    }

    pid_t pid = -1;
    error = Spawn(env, stdin_read.get(), stdout_write.get(), stderr_write.get(), &pid);
    stdin_read.Reset();
    stdout_write.Reset();
    stderr_write.Reset();
    if (error != 0) return SpawnFailure(error);

    SetNonBlocking(stdin_write.get());
    SetNonBlocking(stdout_read.get());
    SetNonBlocking(stderr_read.get());
    // glibc 2.36's <sys/pidfd.h> lacks extern "C" for C++, hence the raw system call.
    UniqueFd exit_fd;
    if (use_pidfd.load(std::memory_order_relaxed)) {
      exit_fd = UniqueFd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    }

    Outcome outcome = Supervise(pid, exit_fd, input, started, std::move(stdin_write),
                                std::move(stdout_read), std::move(stderr_read));
    return Report(outcome);
  }

 private:
  struct Outcome {
    int wait_status = 0;
    bool reaped = false;
    bool timed_out = false;
    std::string out;
    bool out_truncated = false;
    std::string err_tail;
  };

  static DeliveryResult Retryable(std::string error) {
    DeliveryResult result;
    result.kind = DeliveryResult::Kind::kRetryable;
    result.error = std::move(error);
    return result;
  }

  // posix_spawn's error, 0 on success.
  int Spawn(std::vector<std::string>& env, int in, int out, int err, pid_t* pid) const {
    std::vector<char*> envp;
    envp.reserve(env.size() + 1);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = config_.argv;
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    int error = posix_spawn_file_actions_init(&actions);
    if (error != 0) return error;
    error = posix_spawnattr_init(&attr);
    if (error != 0) {
      posix_spawn_file_actions_destroy(&actions);
      return error;
    }
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    if (error == 0) error = posix_spawn_file_actions_adddup2(&actions, in, STDIN_FILENO);
    if (error == 0) error = posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
    if (error == 0) error = posix_spawn_file_actions_adddup2(&actions, err, STDERR_FILENO);
    // Descriptors other threads opened without O_CLOEXEC (or before they could set it) must not
    // leak into the agent's process: a held socket keeps a client waiting, a held pipe end
    // keeps another command's reader from seeing EOF.
    if (error == 0) error = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (error == 0 && !config_.cwd.empty()) {
      error = posix_spawn_file_actions_addchdir_np(&actions, config_.cwd.c_str());
    }
    // The server blocks SIGTERM/SIGINT in every thread (app/serve.cc) and a mask survives
    // execve: without resetting it our SIGTERM would only ever be a SIGKILL a second later.
    // Ignored dispositions survive execve too (SIGPIPE ignored breaks `cmd | head`).
    if (error == 0) {
      error = posix_spawnattr_setflags(
          &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    }
    if (error == 0) error = posix_spawnattr_setpgroup(&attr, 0);  // a group of its own
    if (error == 0) error = posix_spawnattr_setsigmask(&attr, &none);
    if (error == 0) error = posix_spawnattr_setsigdefault(&attr, &all);
    if (error == 0) {
      error = posix_spawn(pid, argv[0], &actions, &attr, argv.data(), envp.data());
    }
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    return error;
  }

  DeliveryResult SpawnFailure(int error) const {
    DeliveryResult result;
    // What retrying cannot fix is permanent; EAGAIN, ENOMEM, EMFILE and the like may pass.
    switch (error) {
      case ENOENT:
      case ENOTDIR:
      case EACCES:
      case EPERM:
      case ENOEXEC:
      case ELOOP:
      case ENAMETOOLONG:
      case EISDIR:
      case E2BIG:
        result.kind = DeliveryResult::Kind::kPermanent;
        break;
      default:
        result.kind = DeliveryResult::Kind::kRetryable;
        break;
    }
    // posix_spawn reports a failed chdir with the same errno as a failed exec.
    struct stat st;
    if (!config_.cwd.empty() && (stat(config_.cwd.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))) {
      result.error =
          "cannot change to the working directory " + config_.cwd + ": " + ErrnoText(error);
    } else {
      result.error = "cannot start " + config_.argv[0] + ": " + ErrnoText(error);
    }
    return result;
  }

  // Runs the poll loop until the leader has exited (or been killed), then reaps it.
  Outcome Supervise(pid_t pid, const UniqueFd& exit_fd, std::string_view input,
                    Clock::time_point started, UniqueFd in, UniqueFd out, UniqueFd err) {
    Outcome outcome;
    ScopedSigpipeBlock sigpipe;
    size_t written = 0;
    size_t out_total = 0, err_total = 0;
    if (input.empty()) in.Reset();

    enum class Phase { kRunning, kTerminating, kKilled };
    Phase phase = Phase::kRunning;
    Clock::time_point deadline = started + std::chrono::milliseconds(config_.timeout_ms);
    bool exited = false;

    while (!exited) {
      const auto now = Clock::now();
      if (phase != Phase::kKilled && now >= deadline) {
        if (phase == Phase::kRunning) {
          outcome.timed_out = true;
          Signal(pid, SIGTERM);
          phase = Phase::kTerminating;
          deadline = now + std::chrono::milliseconds(kCommandKillGraceMs);
        } else {
          Signal(pid, SIGKILL);
          phase = Phase::kKilled;
        }
      }
      int wait_ms = -1;
      if (phase != Phase::kKilled) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        wait_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
      }
      if (!exit_fd.valid()) wait_ms = wait_ms < 0 ? kExitPollMs : std::min(wait_ms, kExitPollMs);

      pollfd fds[4];
      nfds_t count = 0;
      int in_at = -1, out_at = -1, err_at = -1, exit_at = -1;
      if (in.valid()) {
        in_at = static_cast<int>(count);
        fds[count++] = {in.get(), POLLOUT, 0};
      }
      if (out.valid()) {
        out_at = static_cast<int>(count);
        fds[count++] = {out.get(), POLLIN, 0};
      }
      if (err.valid()) {
        err_at = static_cast<int>(count);
        fds[count++] = {err.get(), POLLIN, 0};
      }
      if (exit_fd.valid()) {
        exit_at = static_cast<int>(count);
        fds[count++] = {exit_fd.get(), POLLIN, 0};
      }
      const int ready = poll(fds, count, wait_ms);
      if (ready < 0) {
        if (errno == EINTR) continue;
        // Cannot happen with valid descriptors; do not spin: end it as a timeout would.
        Signal(pid, SIGKILL);
        outcome.timed_out = true;
        phase = Phase::kKilled;
        break;
      }

      if (in_at >= 0 && fds[in_at].revents != 0) {
        WriteSome(&in, input, &written, &sigpipe);
      }
      if (out_at >= 0 && fds[out_at].revents != 0 &&
          !ReadSome(out.get(), &outcome.out, kMaxReplyBytes, false, &out_total)) {
        out.Reset();
      }
      if (err_at >= 0 && fds[err_at].revents != 0 &&
          !ReadSome(err.get(), &outcome.err_tail, kStderrTailBytes, true, &err_total)) {
        err.Reset();
      }
      if (exit_at >= 0) {
        exited = (fds[exit_at].revents & POLLIN) != 0;
      } else {
        siginfo_t info{};
        const int rc = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
        // ECHILD: someone else reaped it (SIGCHLD ignored); it is gone either way.
        exited = (rc == 0 && info.si_pid == pid) || (rc < 0 && errno == ECHILD);
      }
    }

    // What the leader wrote before exiting is in the pipes now; a grandchild still writing
    // is not waited for (kMaxDrainBytes).
    const size_t out_limit = out_total + kMaxDrainBytes, err_limit = err_total + kMaxDrainBytes;
    while (out.valid() && out_total < out_limit && !WouldBlock(out.get()) &&
           ReadSome(out.get(), &outcome.out, kMaxReplyBytes, false, &out_total)) {
    }
    while (err.valid() && err_total < err_limit && !WouldBlock(err.get()) &&
           ReadSome(err.get(), &outcome.err_tail, kStderrTailBytes, true, &err_total)) {
    }
    outcome.out_truncated = out_total > outcome.out.size();

    // Stragglers of a timed-out group that survived the SIGTERM. The leader is not reaped yet,
    // so -pid still names our group.
    if (outcome.timed_out) Signal(pid, SIGKILL);
    int status = 0;
    pid_t reaped;
    do {
      reaped = waitpid(pid, &status, 0);
    } while (reaped < 0 && errno == EINTR);
    outcome.reaped = reaped == pid;
    outcome.wait_status = status;
    return outcome;
  }

  void WriteSome(UniqueFd* in, std::string_view input, size_t* written,
                 ScopedSigpipeBlock* sigpipe) {
    while (*written < input.size()) {
      const size_t n = std::min(kChunkBytes, input.size() - *written);
      const ssize_t w = write(in->get(), input.data() + *written, n);
      if (w > 0) {
        *written += static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      // EPIPE: the child closed its stdin (or exited) without reading it all. Not an error in
      // itself; its exit status decides.
      if (w < 0 && errno == EPIPE) sigpipe->ConsumeRaised();
      in->Reset();
      return;
    }
    in->Reset();  // all written: EOF for the child
  }

  DeliveryResult Report(const Outcome& o) const {
    const std::string tail = TailSnippet(o.err_tail, kErrorSnippetBytes);
    const std::string suffix = tail.empty() ? "" : ": " + tail;
    std::string how;
    if (!o.reaped) {
      how = "exit status unknown (the process was reaped elsewhere)";
    } else if (WIFEXITED(o.wait_status)) {
      how = "exit status " + std::to_string(WEXITSTATUS(o.wait_status));
    } else if (WIFSIGNALED(o.wait_status)) {
      how = "killed by " + SignalText(WTERMSIG(o.wait_status));
    } else {
      how = "wait status " + std::to_string(o.wait_status);
    }
    if (o.timed_out) {
      return Retryable("timed out after " + std::to_string(config_.timeout_ms) + " ms, " + how +
                       suffix);
    }
    if (o.reaped && WIFEXITED(o.wait_status) && WEXITSTATUS(o.wait_status) == 0) {
      DeliveryResult result;
      result.kind = DeliveryResult::Kind::kSucceeded;
      result.reply = o.out_truncated ? std::string(DropIncompleteUtf8Tail(o.out)) : o.out;
      return result;
    }
    return Retryable(how + suffix);
  }

  const CommandTargetConfig config_;
};

}  // namespace

void UsePidfdForTesting(bool use) { use_pidfd.store(use, std::memory_order_relaxed); }

std::unique_ptr<Target> MakeCommandTarget(const CommandTargetConfig& config) {
  return std::make_unique<CommandTarget>(config);
}

}  // namespace triggerd::dispatch::internal
