// The command target running real programs: small sh scripts in tests/dispatch/scripts (run as
// /bin/sh <script>, so they need no exec bit).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "dispatch/target.h"
#include "dispatch/target_internal.h"
#include "test_util.h"

namespace triggerd::dispatch {
namespace {

// Upper bounds on time only prove "did not hang": every process these tests leave behind sleeps
// 100 s. They are generous because the suite also runs loaded and under ASan; which signal
// ended a command is asserted through its error text, not through timing.
constexpr std::chrono::seconds kNoHang{10};

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Kind = DeliveryResult::Kind;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

std::string ScriptPath(const std::string& name) {
  return std::string(TRIGGERD_DISPATCH_SCRIPTS_DIR) + "/" + name;
}

// The pid written to `path`, or 0 when there is none (yet).
pid_t ReadPid(const std::filesystem::path& path) {
  std::ifstream in(path);
  long pid = 0;
  in >> pid;
  return static_cast<pid_t>(pid);
}

// True when `pid` has ended: gone, or a zombie waiting for a PID 1 that may not reap orphans.
bool IsDead(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return true;
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return true;
  const char state = stat[paren + 2];
  return state == 'Z' || state == 'X';
}

// Awaits the condition (signals are delivered asynchronously), polling.
bool AwaitDead(pid_t pid, milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (!IsDead(pid)) {
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

bool HasUnreapedChildren() {
  const pid_t r = waitpid(-1, nullptr, WNOHANG);
  return !(r < 0 && errno == ECHILD);
}

class CommandTargetTest : public ::testing::Test {
 protected:
  std::unique_ptr<Target> Make(std::vector<std::string> argv, int timeout_ms = 5000,
                               std::string cwd = "") {
    TargetConfig config;
    config.type = TargetType::kCommand;
    config.command.argv = std::move(argv);
    config.command.cwd = std::move(cwd);
    config.command.timeout_ms = timeout_ms;
    auto target = MakeTarget(config);
    EXPECT_OK(target);
    return target ? std::move(target).value() : nullptr;
  }
  std::unique_ptr<Target> Script(const std::string& name, std::vector<std::string> args = {},
                                 int timeout_ms = 5000, std::string cwd = "") {
    std::vector<std::string> argv = {"/bin/sh", ScriptPath(name)};
    argv.insert(argv.end(), args.begin(), args.end());
    return Make(std::move(argv), timeout_ms, std::move(cwd));
  }

  static Delivery MakeDelivery() {
    Delivery d;
    d.run_id = "run_cmd1";
    d.event_id = "evt_cmd1";
    d.source_id = "src_cmd1";
    d.trigger_id = "trg_cmd1";
    d.agent_id = "agt_cmd1";
    d.attempt = 4;
    d.message = R"({"run_id":"run_cmd1","event":{"id":"evt_cmd1"}})";
    d.payload = R"({"action":"opened","title":"it's \"quoted\"\n; rm -rf /"})";
    return d;
  }

  std::filesystem::path PidFile() const { return dir_.path() / "grandchild.pid"; }

  triggerd::testing::TempDir dir_;
};

TEST_F(CommandTargetTest, EchoesThePayloadFromStdinAsTheReply) {
  const Delivery d = MakeDelivery();
  const DeliveryResult r = Script("cat.sh")->Deliver(d);
  ASSERT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(r.reply, d.payload);
}

TEST_F(CommandTargetTest, WithoutAPayloadStdinCarriesTheMessage) {
  Delivery d = MakeDelivery();
  d.payload.clear();
  const DeliveryResult r = Script("cat.sh")->Deliver(d);
  ASSERT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(r.reply, d.message);
  EXPECT_EQ(Script("payload_env.sh")->Deliver(d).reply, d.message);
}

TEST_F(CommandTargetTest, SetsTriggerVariablesOnTopOfTheServersEnvironment) {
  setenv("TRIGGERD_TEST_INHERITED", "from the server", 1);
  setenv("TRIGGER_RUN_ID", "stale", 1);
  setenv("TRIGGER_PAYLOAD_TRUNCATED", "stale", 1);
  const DeliveryResult r = Script("env.sh")->Deliver(MakeDelivery());
  unsetenv("TRIGGERD_TEST_INHERITED");
  unsetenv("TRIGGER_RUN_ID");
  unsetenv("TRIGGER_PAYLOAD_TRUNCATED");
  ASSERT_EQ(r.kind, Kind::kSucceeded) << r.error;
  const std::string payload_length = std::to_string(MakeDelivery().payload.size());
  EXPECT_EQ(r.reply,
            "EVENT=evt_cmd1\nRUN=run_cmd1\nSOURCE=src_cmd1\nTRIGGER=trg_cmd1\nAGENT=agt_cmd1\n"
            "ATTEMPT=4\nPAYLOAD_SET=yes\nPAYLOAD_LENGTH=" +
                payload_length +
                "\nTRUNCATED=\nINHERITED=from the server\nSTDIN_LENGTH=" + payload_length + "\n");
}

TEST_F(CommandTargetTest, PayloadVariableIsExact) {
  Delivery d = MakeDelivery();
  d.payload = "{\"t\":\"caf\xC3\xA9 \\u0000 $HOME `id` \\\"x\\\"\",\n \"n\":[1,2]}";
  const DeliveryResult r = Script("payload_env.sh")->Deliver(d);
  ASSERT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(r.reply, d.payload);
}

TEST_F(CommandTargetTest, PayloadVariableUpToItsLimitThenOnlyOnStdin) {
  auto target = Script("env.sh");
  Delivery d = MakeDelivery();
  d.payload = "\"" + std::string(kMaxEnvPayloadBytes - 2, 'p') + "\"";
  DeliveryResult r = target->Deliver(d);
  ASSERT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_THAT(r.reply, HasSubstr("PAYLOAD_SET=yes\nPAYLOAD_LENGTH=65536\nTRUNCATED=\n"));

  d.payload = "\"" + std::string(kMaxEnvPayloadBytes - 1, 'p') + "\"";
  r = target->Deliver(d);
  ASSERT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_THAT(r.reply, HasSubstr("PAYLOAD_SET=\nPAYLOAD_LENGTH=0\nTRUNCATED=1\n"));
  EXPECT_THAT(r.reply, HasSubstr("STDIN_LENGTH=65537\n"));

  // Far beyond what execve could take in one string (128 KiB).
  d.payload = "\"" + std::string(1024 * 1024, 'p') + "\"";
  r = target->Deliver(d);
  ASSERT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_THAT(r.reply, HasSubstr("TRUNCATED=1\n"));
  EXPECT_THAT(r.reply, HasSubstr("STDIN_LENGTH=" + std::to_string(d.payload.size()) + "\n"));
}

// docs/COMPATIBILITY.md, Dagu: a run of a Dagu webhook gets WEBHOOK_PAYLOAD and DAG_RUN_ID.
TEST_F(CommandTargetTest, DaguRunGetsWebhookPayloadAndDagRunId) {
  Delivery d = MakeDelivery();
  d.event_type = std::string(kDaguWebhookEventType);
  d.delivery_id = "deploy-abc123";
  const DeliveryResult r = Script("dagu_env.sh")->Deliver(d);
  ASSERT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(r.reply, "DAG_RUN_ID=deploy-abc123\nTRUNCATED=<unset>\nHEADERS={}\nSTDIN_LENGTH=" +
                         std::to_string(d.payload.size()) + "\nPAYLOAD_LENGTH=" +
                         std::to_string(d.payload.size()) + "\nPAYLOAD=" + d.payload);
}

// Dagu's variables are a Dagu run's only: another run never gets them, not even the server's.
TEST_F(CommandTargetTest, OtherRunsGetNoDaguVariablesNotEvenTheServers) {
  setenv("DAG_RUN_ID", "the server's own", 1);
  setenv("WEBHOOK_PAYLOAD", "stale", 1);
  setenv("WEBHOOK_PAYLOAD_TRUNCATED", "stale", 1);
  setenv("WEBHOOK_HEADERS", "stale", 1);
  Delivery d = MakeDelivery();
  d.event_type = "push";
  d.delivery_id = "gh-1";
  const DeliveryResult r = Script("dagu_env.sh")->Deliver(d);
  unsetenv("DAG_RUN_ID");
  unsetenv("WEBHOOK_PAYLOAD");
  unsetenv("WEBHOOK_PAYLOAD_TRUNCATED");
  unsetenv("WEBHOOK_HEADERS");
  ASSERT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_THAT(r.reply, StartsWith("DAG_RUN_ID=<unset>\nTRUNCATED=<unset>\nHEADERS=<unset>\n"));
  EXPECT_THAT(r.reply, HasSubstr("PAYLOAD=<unset>"));
}

// WEBHOOK_PAYLOAD up to Linux's per-string limit (the whole entry and its NUL in 128 KiB), then
// absent with WEBHOOK_PAYLOAD_TRUNCATED=1; the command starts either way, stdin has it all.
TEST_F(CommandTargetTest, DaguPayloadVariableUpToThePerStringLimitThenOnlyOnStdin) {
  static_assert(kMaxDaguEnvPayloadBytes == 131055);
  auto target = Script("dagu_env.sh");
  Delivery d = MakeDelivery();
  d.event_type = std::string(kDaguWebhookEventType);
  d.delivery_id = "big";
  d.payload = "\"" + std::string(kMaxDaguEnvPayloadBytes - 2, 'p') + "\"";
  DeliveryResult r = target->Deliver(d);
  ASSERT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_THAT(r.reply,
              StartsWith("DAG_RUN_ID=big\nTRUNCATED=<unset>\nHEADERS={}\nSTDIN_LENGTH=131055\n"
                         "PAYLOAD_LENGTH=131055\nPAYLOAD=\"ppp"));
  EXPECT_EQ(r.reply.size(),
            std::string_view("DAG_RUN_ID=big\nTRUNCATED=<unset>\nHEADERS={}\nSTDIN_LENGTH="
                             "131055\nPAYLOAD_LENGTH=131055\nPAYLOAD=")
                    .size() +
                131055);

  d.payload = "\"" + std::string(kMaxDaguEnvPayloadBytes - 1, 'p') + "\"";
  r = target->Deliver(d);
  ASSERT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(r.reply,
            "DAG_RUN_ID=big\nTRUNCATED=1\nHEADERS={}\nSTDIN_LENGTH=131056\nPAYLOAD_LENGTH=0\n"
            "PAYLOAD=<unset>");
}

TEST_F(CommandTargetTest, NonZeroExitIsRetryableWithTheEndOfStderr) {
  const DeliveryResult r = Script("fail.sh")->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kRetryable);
  EXPECT_EQ(r.error, "exit status 3: first line of the complaint\nboom: disk full");
  EXPECT_EQ(r.reply, "");
}

TEST_F(CommandTargetTest, ErrorKeepsOnlyTheLast512BytesOfStderr) {
  const DeliveryResult r = Script("long_stderr.sh")->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kRetryable);
  EXPECT_EQ(r.error, "exit status 1: " + std::string(508, 'e') + " END");
}

TEST_F(CommandTargetTest, KilledBySignalIsRetryable) {
  const DeliveryResult r = Script("kill_self.sh")->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kRetryable);
  EXPECT_EQ(r.error, "killed by signal 9 (SIGKILL): about to die");
}

TEST_F(CommandTargetTest, TimeoutKillsTheWholeProcessGroup) {
  Delivery d = MakeDelivery();
  d.payload = std::string(4 * 1024 * 1024, ' ');  // never read: must not block the writer
  const auto started = SteadyClock::now();
  const DeliveryResult r = Script("sleep.sh", {PidFile().string()}, 300)->Deliver(d);
  const auto elapsed = SteadyClock::now() - started;
  EXPECT_EQ(r.kind, Kind::kRetryable);
  EXPECT_EQ(r.error, "timed out after 300 ms, killed by signal 15 (SIGTERM)");
  EXPECT_GE(elapsed, milliseconds(300));
  EXPECT_LT(elapsed, kNoHang);  // the error text says SIGTERM sufficed
  const pid_t grandchild = ReadPid(PidFile());
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(AwaitDead(grandchild, milliseconds(2000))) << "grandchild " << grandchild;
  EXPECT_FALSE(HasUnreapedChildren());
}

TEST_F(CommandTargetTest, IgnoredSigtermIsFollowedBySigkillAfterTheGrace) {
  const auto started = SteadyClock::now();
  const DeliveryResult r =
      Script("stubborn.sh", {PidFile().string()}, 300)->Deliver(MakeDelivery());
  const auto elapsed = SteadyClock::now() - started;
  EXPECT_EQ(r.kind, Kind::kRetryable);
  EXPECT_EQ(r.error, "timed out after 300 ms, killed by signal 9 (SIGKILL)");
  EXPECT_GE(elapsed, milliseconds(300 + kCommandKillGraceMs));
  EXPECT_LT(elapsed, kNoHang);
  const pid_t grandchild = ReadPid(PidFile());
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(AwaitDead(grandchild, milliseconds(2000))) << "grandchild " << grandchild;
  EXPECT_FALSE(HasUnreapedChildren());
}

TEST_F(CommandTargetTest, ChildStartsWithCleanSignalState) {
  // As the server runs: SIGTERM/SIGINT blocked in every thread (app/serve.cc); and a process
  // that ignores SIGPIPE must not pass that on either.
  sigset_t term, old_mask;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigaddset(&term, SIGINT);
  pthread_sigmask(SIG_BLOCK, &term, &old_mask);
  struct sigaction ignore {
  }, old_pipe{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old_pipe);

  const DeliveryResult masks = Script("sigmask.sh")->Deliver(MakeDelivery());
  const auto started = SteadyClock::now();
  const DeliveryResult slept =
      Script("sleep.sh", {PidFile().string()}, 300)->Deliver(MakeDelivery());
  const auto elapsed = SteadyClock::now() - started;

  sigaction(SIGPIPE, &old_pipe, nullptr);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);

  ASSERT_EQ(masks.kind, Kind::kSucceeded) << masks.error;
  std::istringstream lines(masks.reply);
  std::string name, hex;
  while (lines >> name >> hex) {
    const unsigned long long bits = std::stoull(hex, nullptr, 16);
    if (name == "SigBlk:") {
      EXPECT_EQ(bits, 0u) << masks.reply;
    } else if (name == "SigIgn:") {
      EXPECT_EQ(bits & (1ULL << (SIGPIPE - 1)), 0u) << masks.reply;
    }
  }
  EXPECT_EQ(slept.error, "timed out after 300 ms, killed by signal 15 (SIGTERM)");
  EXPECT_LT(elapsed, kNoHang);
}

TEST_F(CommandTargetTest, ExitLeavingABackgroundProcessDoesNotWaitForIt) {
  const auto started = SteadyClock::now();
  const DeliveryResult r =
      Script("background.sh", {PidFile().string()}, 5000)->Deliver(MakeDelivery());
  const auto elapsed = SteadyClock::now() - started;
  const pid_t background = ReadPid(PidFile());
  if (background > 0) kill(background, SIGKILL);
  EXPECT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(r.reply, "started\n");
  EXPECT_LT(elapsed, kNoHang);
}

TEST_F(CommandTargetTest, FloodIsTruncatedAtTheReplyLimit) {
  const auto started = SteadyClock::now();
  const DeliveryResult r = Script("flood.sh")->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(r.reply.size(), kMaxReplyBytes);
  EXPECT_EQ(r.reply.find_first_not_of('x'), std::string::npos);
  EXPECT_LT(SteadyClock::now() - started, kNoHang);
}

TEST_F(CommandTargetTest, EndlessFloodIsCutByTheTimeout) {
  const auto started = SteadyClock::now();
  const DeliveryResult r = Script("flood_forever.sh", {}, 300)->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kRetryable);
  EXPECT_THAT(r.error, StartsWith("timed out after 300 ms, killed by signal 15 (SIGTERM): "));
  EXPECT_THAT(r.error, HasSubstr("stderr\nstderr"));
  EXPECT_LT(SteadyClock::now() - started, kNoHang);
  EXPECT_FALSE(HasUnreapedChildren());
}

TEST_F(CommandTargetTest, ChildThatNeverReadsStdinDoesNotHang) {
  Delivery d = MakeDelivery();
  d.payload = std::string(4 * 1024 * 1024, ' ');
  const DeliveryResult r = Script("ignore_stdin.sh", {}, 3000)->Deliver(d);
  EXPECT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(r.reply, "ignored\n");
}

TEST_F(CommandTargetTest, StdinClosedUnreadRaisesNoSignalHere) {
  sigset_t before;
  pthread_sigmask(SIG_SETMASK, nullptr, &before);
  Delivery d = MakeDelivery();
  d.payload = std::string(4 * 1024 * 1024, ' ');
  const DeliveryResult r = Script("close_stdin.sh", {}, 3000)->Deliver(d);
  EXPECT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(r.reply, "closed\n");
  // The SIGPIPE was consumed, and the thread's mask is as it was.
  sigset_t pending, after;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0);
  pthread_sigmask(SIG_SETMASK, nullptr, &after);
  EXPECT_EQ(sigismember(&after, SIGPIPE), sigismember(&before, SIGPIPE));
}

TEST_F(CommandTargetTest, ArgumentsArePassedLiterallyWithoutAShell) {
  const DeliveryResult r =
      Script("args.sh", {"a b", "x; rm -rf /", "$HOME", "*", "", "`id`"})->Deliver(MakeDelivery());
  ASSERT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(r.reply, "[a b]\n[x; rm -rf /]\n[$HOME]\n[*]\n[]\n[`id`]\n");
  // And argv[0] is run directly: no PATH lookup, no shell between.
  const DeliveryResult echo = Make({"/bin/echo", "a;b", "$X"})->Deliver(MakeDelivery());
  EXPECT_EQ(echo.reply, "a;b $X\n");
}

TEST_F(CommandTargetTest, RunsInTheConfiguredDirectory) {
  const DeliveryResult r =
      Script("pwd.sh", {}, 5000, dir_.path().string())->Deliver(MakeDelivery());
  ASSERT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(r.reply, std::filesystem::canonical(dir_.path()).string() + "\n");
}

TEST_F(CommandTargetTest, InheritedDescriptorsAreClosed) {
  const int leaked = open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(leaked, 0);
  constexpr int kFd = 57;
  ASSERT_EQ(dup2(leaked, kFd), kFd);
  close(leaked);
  const DeliveryResult r = Script("fd_open.sh", {std::to_string(kFd)})->Deliver(MakeDelivery());
  const DeliveryResult control = Script("fd_open.sh", {"1"})->Deliver(MakeDelivery());
  close(kFd);
  EXPECT_EQ(r.reply, "closed\n");
  EXPECT_EQ(control.reply, "open\n");
}

TEST_F(CommandTargetTest, MissingProgramIsPermanent) {
  const DeliveryResult r = Make({"/nonexistent/agent", "x"})->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kPermanent);
  EXPECT_EQ(r.error, "cannot start /nonexistent/agent: No such file or directory (ENOENT)");
}

TEST_F(CommandTargetTest, ProgramThatIsNotExecutableIsPermanent) {
  const auto path = dir_.path() / "agent";
  std::ofstream(path) << "#!/bin/sh\necho hi\n";
  chmod(path.c_str(), 0644);
  const DeliveryResult r = Make({path.string()})->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kPermanent);
  EXPECT_THAT(r.error, HasSubstr("(EACCES)"));
}

TEST_F(CommandTargetTest, ScriptWithoutInterpreterLineIsPermanent) {
  const auto path = dir_.path() / "agent";
  std::ofstream(path) << "echo hi\n";
  chmod(path.c_str(), 0755);
  const DeliveryResult r = Make({path.string()})->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kPermanent);
  EXPECT_THAT(r.error, HasSubstr("(ENOEXEC)"));
}

TEST_F(CommandTargetTest, MissingWorkingDirectoryIsPermanent) {
  const DeliveryResult r = Script("pwd.sh", {}, 5000, "/nonexistent/dir")->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kPermanent);
  EXPECT_THAT(r.error, StartsWith("cannot change to the working directory /nonexistent/dir: "));
}

TEST_F(CommandTargetTest, ManyThreadsRunCommandsConcurrently) {
  auto target = Script("cat.sh");
  constexpr int kThreads = 4, kEach = 5;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        Delivery d = MakeDelivery();
        d.payload = "{\"n\":\"" + std::to_string(t) + "." + std::to_string(i) + "\"}" +
                    std::string(100'000 * (i % 2), ' ');
        const DeliveryResult r = target->Deliver(d);
        if (r.kind == Kind::kSucceeded && r.reply == d.payload) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good, kThreads * kEach);
  EXPECT_FALSE(HasUnreapedChildren());
}

// Where pidfd_open is unavailable, exit is noticed by polling waitid: the same outcomes.
class CommandTargetWithoutPidfdTest : public CommandTargetTest {
 protected:
  void SetUp() override { internal::UsePidfdForTesting(false); }
  void TearDown() override { internal::UsePidfdForTesting(true); }
};

TEST_F(CommandTargetWithoutPidfdTest, EchoesExitsAndTimesOutAsWithAPidfd) {
  const Delivery d = MakeDelivery();
  const DeliveryResult echoed = Script("cat.sh")->Deliver(d);
  EXPECT_EQ(echoed.kind, Kind::kSucceeded) << echoed.error;
  EXPECT_EQ(echoed.reply, d.payload);

  EXPECT_EQ(Script("fail.sh")->Deliver(d).error,
            "exit status 3: first line of the complaint\nboom: disk full");

  auto started = SteadyClock::now();
  const DeliveryResult background = Script("background.sh", {PidFile().string()})->Deliver(d);
  EXPECT_LT(SteadyClock::now() - started, kNoHang);
  if (const pid_t pid = ReadPid(PidFile()); pid > 0) kill(pid, SIGKILL);
  EXPECT_EQ(background.reply, "started\n");

  started = SteadyClock::now();
  const DeliveryResult slept = Script("sleep.sh", {PidFile().string()}, 300)->Deliver(d);
  EXPECT_EQ(slept.error, "timed out after 300 ms, killed by signal 15 (SIGTERM)");
  EXPECT_LT(SteadyClock::now() - started, kNoHang);
  const pid_t grandchild = ReadPid(PidFile());
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(AwaitDead(grandchild, milliseconds(2000)));
  EXPECT_FALSE(HasUnreapedChildren());
}

}  // namespace
}  // namespace triggerd::dispatch
