// Commands that work on a data directory directly, without a running server (they may run
// beside one: SQLite serialises the writes):
//
// Each also takes --database-url (default TRIGGERD_DATABASE_URL) for a PostgreSQL database.
//   triggerd migrate --data-dir D       applies pending schema migrations (and seals plaintext
//                                       secrets of an older database), prints the version
//   triggerd key create --data-dir D [--workspace default] [--role admin] [--name cli]
//                                       issues an API key and prints it once (a lost admin key)
//   triggerd key list --data-dir D      every key of every workspace; never the keys themselves
//   triggerd key revoke --data-dir D KEY_ID
//
// Exit codes: 0 done; 1 the data dir or database failed, or the key/workspace does not exist;
// 2 usage errors. Messages go to `err`, results to `out`.
#pragma once

#include <ostream>
#include <string>

namespace triggerd::app {

struct KeyCommand {
  std::string action;  // create | list | revoke
  std::string data_dir = "./data";
  std::string storage = "sqlite";  // or a PostgreSQL URL (app/data_dir.h)
  std::string workspace = "default";  // id or name
  std::string role = "admin";
  std::string name = "cli";
  std::string key_id;  // revoke
};

int RunKey(const KeyCommand& command, std::ostream& out, std::ostream& err);
int RunMigrate(const std::string& data_dir, const std::string& storage, std::ostream& out,
               std::ostream& err);

}  // namespace triggerd::app
