// `triggerd serve`: opens the store, bootstraps the first workspace, starts the HTTP server and
// runs until SIGTERM/SIGINT, then stops gracefully (in-flight requests finish, the log is
// flushed and closed).
#pragma once

#include "app/config.h"

namespace triggerd::app {

// Returns the process exit code. REQUIRES: called from main before any other thread starts
// (it blocks SIGTERM/SIGINT so that every thread inherits the mask and main can sigwait).
int RunServe(const Config& config);

}  // namespace triggerd::app
