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
//   triggerd key rotate-master --data-dir D (--new-key-file PATH | --new-key-env NAME)
//                                       re-seals every secret at rest under a new master key
//                                       (RunRotateMasterKey below)
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

struct RotateMasterKeyCommand {
  std::string data_dir = "./data";
  std::string storage = "sqlite";  // or a PostgreSQL URL (app/data_dir.h)
  // The new key (32 bytes, hex or base64, as TRIGGERD_MASTER_KEY): exactly one of a key file
  // (with master.key's checks: mode 0600 or stricter) or the name of an environment variable
  // (neither TRIGGERD_MASTER_KEY nor TRIGGERD_MASTER_KEY_PREVIOUS; it is removed from the
  // environment once read).
  std::string new_key_file;
  std::string new_key_env;
};

// `triggerd key rotate-master`. The current key comes the usual way (TRIGGERD_MASTER_KEY, else
// <data dir>/master.key, never created here), with TRIGGERD_MASTER_KEY_PREVIOUS /
// master.key.previous in the ring as at every open. Steps, each safe to crash after:
//  1. Open the store with the current ring: proves the current key opens the database and
//     re-seals what a previous key still holds, so that key can leave the ring.
//  2. Key file only (the current key came from master.key): master.key.previous := the current
//     key, then master.key := the new key, each replaced atomically (temp 0600, fsync, rename,
//     fsync dir). From here any start opens the database with {new, previous = old} and finishes
//     the rotation itself.
//  3. Open the store with {new, previous = current}: every value under the old key is re-sealed
//     under the new one in one transaction (SQLite: then VACUUM; see store/sqlite/secrets.h).
//  4. Key file only: master.key.previous is removed; the database no longer needs it.
// Run again with the same new key after a failure, it completes the rotation (after step 2 the
// new key is current, and only steps 3 and 4 run). Prints to `out`, tab-separated, "old_key_id",
// "new_key_id" and "resealed" (values re-sealed) lines; what to do next to `err`. With the key in
// TRIGGERD_MASTER_KEY, the operator then starts every node with the new key. A server running on
// the database meanwhile keeps only the old key and cannot open the re-sealed secrets until it is
// restarted with the new one. Exit codes: 0 every secret is under the new key; 1 failed (stderr
// says whether anything changed); 2 usage.
int RunRotateMasterKey(const RotateMasterKeyCommand& command, std::ostream& out, std::ostream& err);
int RunMigrate(const std::string& data_dir, const std::string& storage, std::ostream& out,
               std::ostream& err);

}  // namespace triggerd::app
