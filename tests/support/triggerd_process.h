// Runs the real triggerd binary for end-to-end tests: `serve` on 127.0.0.1:0 with a data dir,
// reading the port and the first-start admin key from its output.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace triggerd::testing {

class TriggerdProcess {
 public:
  // `data_dir` persists across Start/Kill/Start so restart tests see the same database.
  explicit TriggerdProcess(std::filesystem::path data_dir, std::vector<std::string> extra_args = {});
  ~TriggerdProcess();  // SIGKILLs a process still running

  // Starts and waits (up to 20 s) until it listens. False (with the output in `error()`) when
  // it exits or does not come up.
  bool Start();
  // Sets an environment variable for the next Start()s. The child never inherits
  // TRIGGERD_MASTER_KEY from the test's own environment; it gets one only from here (otherwise
  // triggerd uses, or creates, <data_dir>/master.key).
  void SetEnv(std::string name, std::string value);
  // SIGTERM and wait; returns the exit status (or -1).
  int Stop();
  // SIGKILL and wait: a crash, from the service's point of view.
  void Kill();

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  // The key from <data_dir>/admin-key (written at first start).
  std::string AdminKey() const;
  // Everything the process printed (stdout and stderr) in its latest run.
  std::string Output() const;
  const std::string& error() const { return error_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }

 private:
  std::filesystem::path data_dir_;
  std::vector<std::string> extra_args_;
  std::vector<std::pair<std::string, std::string>> env_;
  std::filesystem::path log_path_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  int runs_ = 0;
  std::string error_;
};

}  // namespace triggerd::testing
