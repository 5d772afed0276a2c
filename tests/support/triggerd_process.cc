#include "triggerd_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace triggerd::testing {

TriggerdProcess::TriggerdProcess(std::filesystem::path data_dir,
                                 std::vector<std::string> extra_args)
    : data_dir_(std::move(data_dir)), extra_args_(std::move(extra_args)) {}

TriggerdProcess::~TriggerdProcess() {
  if (pid_ > 0) Kill();
}

bool TriggerdProcess::Start() {
  ++runs_;
  log_path_ = data_dir_.parent_path() / (data_dir_.filename().string() + ".run" +
                                         std::to_string(runs_) + ".log");
  std::vector<std::string> args = {TRIGGERD_BINARY, "serve", "--listen", "127.0.0.1:0",
                                   "--data-dir", data_dir_.string()};
  // Two io threads unless the test chose (tests/e2e/io_thread_e2e_test.cc runs one).
  if (std::find(extra_args_.begin(), extra_args_.end(), "--threads") == extra_args_.end()) {
    args.insert(args.end(), {"--threads", "2"});
  }
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  // Another TriggerdProcess on the same data dir names its logs alike: a stale log's "listening"
  // line must not pass for this run's.
  std::error_code ignored;
  std::filesystem::remove(log_path_, ignored);
  pid_ = fork();
  if (pid_ == 0) {
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    unsetenv("TRIGGERD_MASTER_KEY");
    for (const auto& [name, value] : env_) setenv(name.c_str(), value.c_str(), 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string out = Output();
    auto at = out.find("listening on 127.0.0.1:");
    if (at != std::string::npos) {
      auto end = out.find('\n', at);
      if (end != std::string::npos) {
        port_ = static_cast<uint16_t>(std::stoi(out.substr(at + 23, end - at - 23)));
        return true;
      }
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error_ = "triggerd exited during start:\n" + out;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  error_ = "triggerd did not start listening:\n" + Output();
  Kill();
  return false;
}

void TriggerdProcess::SetEnv(std::string name, std::string value) {
  env_.emplace_back(std::move(name), std::move(value));
}

int TriggerdProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void TriggerdProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string TriggerdProcess::AdminKey() const {
  std::ifstream in(data_dir_ / "admin-key");
  std::string key;
  std::getline(in, key);
  return key;
}

std::string TriggerdProcess::Output() const {
  std::ifstream in(log_path_);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace triggerd::testing
