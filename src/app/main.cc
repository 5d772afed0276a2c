// triggerd: the one binary. Thin: parses the command line and hands over to app/.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "app/admin_commands.h"
#include "app/config.h"
#include "app/data_dir.h"
#include "app/filter_command.h"
#include "app/send_command.h"
#include "app/serve.h"
#include "app/sign_command.h"

int main(int argc, char** argv) {
  using triggerd::app::Config;
  CLI::App cli{"triggerd: a self-hosted webhook-trigger service"};
  cli.require_subcommand(1);

  Config config;
  std::string config_path;
  std::string listen, data_dir, public_url, log_level;
  size_t max_body_bytes = 0;
  int threads = -1;
  CLI::App* serve = cli.add_subcommand("serve", "receive, verify and store webhooks");
  serve->add_option("--config", config_path, "YAML config file (flags override it)");
  serve->add_option("--listen", listen, "host:port to listen on (default 127.0.0.1:8080)");
  serve->add_option("--data-dir", data_dir, "where the database and admin key live (./data)");
  std::string database_url;
  serve->add_option("--database-url", database_url,
                    "postgres://… to share a PostgreSQL database with other nodes (default: "
                    "TRIGGERD_DATABASE_URL, else SQLite in the data dir)");
  serve->add_option("--public-url", public_url, "base of the ingest URLs shown to users");
  serve->add_option("--max-body-bytes", max_body_bytes, "default body limit (1048576)");
  serve->add_option("--threads", threads, "io threads (0 = one per core)");
  serve->add_option("--log-level", log_level, "trace|debug|info|warn|error");
  std::string log_format;
  serve->add_option("--log-format", log_format, "text|json|auto (text)");

  CLI::App* filter = cli.add_subcommand("filter", "check or evaluate a filter expression");
  filter->require_subcommand(1);
  std::string filter_text, payload_path;
  bool explain = false;
  CLI::App* check = filter->add_subcommand("check", "exit 0 when FILTER compiles, else show where");
  check->add_option("FILTER", filter_text, "the filter expression")->required();
  CLI::App* eval = filter->add_subcommand("eval", "evaluate FILTER on a JSON payload file");
  eval->add_option("FILTER", filter_text, "the filter expression")->required();
  eval->add_option("PAYLOAD", payload_path, "JSON file, or - for standard input")->required();
  eval->add_flag("--explain", explain, "print why, clause by clause");

  triggerd::app::SignOptions sign_options;
  int64_t sign_timestamp = -1;
  CLI::App* sign = cli.add_subcommand(
      "sign", "print the headers a provider would send with BODY (to try a source with curl)");
  sign->add_option("--scheme", sign_options.scheme,
                   "a provider kind (github, stripe, slack, standard, …) or hmac")
      ->required();
  sign->add_option("--secret", sign_options.secret, "the signing secret")->required();
  sign->add_option("--header", sign_options.header, "hmac: the signature header (X-Signature)");
  sign->add_option("--algorithm", sign_options.algorithm, "hmac: sha1|sha256|sha512 (sha256)");
  sign->add_option("--encoding", sign_options.encoding, "hmac: hex|base64 (hex)");
  sign->add_option("--prefix", sign_options.prefix, "hmac: text before the digest, e.g. sha256=");
  sign->add_option("--url", sign_options.url,
                   "the URL, for schemes that sign it (twilio, hubspot)");
  sign->add_option("--timestamp", sign_timestamp, "unix seconds to sign with (default now)");
  sign->add_option("BODY", sign_options.body, "the body; @file reads a file, - standard input")
      ->required();

  triggerd::app::SendOptions send_options;
  int64_t send_timestamp = -1;
  CLI::App* send = cli.add_subcommand(
      "send", "sign BODY like a provider (--scheme) and POST it to a source's URL");
  send->add_option("URL", send_options.url, "the source's ingest URL")->required();
  send->add_option("BODY", send_options.sign.body, "the body; @file reads a file, - standard input")
      ->required();
  send->add_option("--scheme", send_options.sign.scheme,
                   "sign as a provider kind (github, stripe, slack, standard, …) or hmac; "
                   "none = unsigned");
  send->add_option("--secret", send_options.sign.secret, "the signing secret");
  send->add_option("--token", send_options.token, "bearer token of the source");
  send->add_option("--header,-H", send_options.headers, "extra header \"Name: value\" (repeatable)");
  send->add_option("--content-type", send_options.content_type, "default application/json");
  send->add_option("--timeout-ms", send_options.timeout_ms, "default 10000");
  send->add_option("--sig-header", send_options.sign.header, "hmac: the signature header");
  send->add_option("--algorithm", send_options.sign.algorithm, "hmac: sha1|sha256|sha512");
  send->add_option("--encoding", send_options.sign.encoding, "hmac: hex|base64");
  send->add_option("--prefix", send_options.sign.prefix, "hmac: text before the digest");
  send->add_option("--timestamp", send_timestamp, "unix seconds to sign with (default now)");

  triggerd::app::KeyCommand key_command;
  key_command.storage.clear();  // "" = not given: TRIGGERD_DATABASE_URL, else SQLite
  CLI::App* key = cli.add_subcommand(
      "key", "create, list or revoke API keys in a data dir, or rotate the master key");
  key->require_subcommand(1);
  key->add_option("--data-dir", key_command.data_dir, "the server's data dir (./data)");
  key->add_option("--database-url", key_command.storage, "the server's PostgreSQL URL, if any");
  CLI::App* key_create = key->add_subcommand("create", "issue a key and print it once");
  key_create->add_option("--workspace", key_command.workspace, "workspace id or name (default)");
  key_create->add_option("--role", key_command.role, "admin|builder|user (admin)");
  key_create->add_option("--name", key_command.name, "what the key is for (cli)");
  key->add_subcommand("list", "every key of every workspace (never the keys themselves)");
  CLI::App* key_revoke = key->add_subcommand("revoke", "revoke a key at once");
  key_revoke->add_option("KEY_ID", key_command.key_id, "the key's id (key_…)")->required();
  for (CLI::App* sub : key->get_subcommands({})) {
    sub->add_option("--data-dir", key_command.data_dir, "the server's data dir (./data)");
    sub->add_option("--database-url", key_command.storage, "the server's PostgreSQL URL, if any");
  }
  // Added after the loop above: its --data-dir and --database-url fill rotate_command instead.
  triggerd::app::RotateMasterKeyCommand rotate_command;
  rotate_command.data_dir.clear();  // "" = not given here: `key --data-dir` or its default
  rotate_command.storage.clear();
  CLI::App* key_rotate = key->add_subcommand(
      "rotate-master",
      "re-seal every secret at rest under a new master key, in one transaction (README, "
      "\"Secrets at rest\"); the current key comes from TRIGGERD_MASTER_KEY or the data dir's "
      "master.key, as for serve. Prints old_key_id, new_key_id and resealed lines. Exit 0 done, "
      "1 failed (stderr says what changed), 2 usage");
  auto* new_key_file = key_rotate->add_option(
      "--new-key-file", rotate_command.new_key_file,
      "file holding the new key (32 bytes, hex or base64, e.g. `openssl rand -base64 32`); "
      "mode 0600");
  auto* new_key_env =
      key_rotate->add_option("--new-key-env", rotate_command.new_key_env,
                             "name of an environment variable holding the new key instead");
  new_key_file->excludes(new_key_env);
  key_rotate->add_option("--data-dir", rotate_command.data_dir, "the server's data dir (./data)");
  key_rotate->add_option("--database-url", rotate_command.storage,
                         "the server's PostgreSQL URL, if any");

  std::string migrate_data_dir = "./data";
  CLI::App* migrate =
      cli.add_subcommand("migrate", "apply pending database migrations and exit");
  migrate->add_option("--data-dir", migrate_data_dir, "the server's data dir (./data)");
  std::string migrate_storage;
  migrate->add_option("--database-url", migrate_storage, "the server's PostgreSQL URL, if any");

  cli.add_subcommand("version", "print the version")->callback([] {
    std::printf("triggerd %s\n", TRIGGERD_VERSION);
  });

  // Usage errors exit 2, as scripts expect of a command line (CLI11's own codes are 100+);
  // --help exits 0. An unknown command is named rather than reported as a missing one.
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const CLI::App* sub : cli.get_subcommands({})) known = known || sub->check_name(argv[1]);
    if (!known) {
      std::fprintf(stderr, "triggerd: unknown command \"%s\"; run triggerd --help\n", argv[1]);
      return 2;
    }
  }
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = cli.exit(e);  // prints the help or the error
    return code == 0 ? 0 : 2;
  }

  if (check->parsed()) return triggerd::app::RunFilterCheck(filter_text, std::cout, std::cerr);
  if (eval->parsed()) {
    return triggerd::app::RunFilterEval(filter_text, payload_path, explain, std::cout, std::cerr);
  }
  if (sign->parsed()) {
    if (sign_timestamp >= 0) sign_options.timestamp = sign_timestamp;
    return triggerd::app::RunSign(sign_options, std::cout, std::cerr);
  }
  if (key_rotate->parsed()) {
    if (rotate_command.data_dir.empty()) rotate_command.data_dir = key_command.data_dir;
    if (rotate_command.storage.empty()) rotate_command.storage = key_command.storage;
    if (rotate_command.storage.empty() || rotate_command.storage == "sqlite") {
      rotate_command.storage = triggerd::app::DefaultStorage();
    }
    return triggerd::app::RunRotateMasterKey(rotate_command, std::cout, std::cerr);
  }
  if (key->parsed()) {
    for (CLI::App* sub : key->get_subcommands()) key_command.action = sub->get_name();
    if (key_command.storage.empty()) key_command.storage = triggerd::app::DefaultStorage();
    return triggerd::app::RunKey(key_command, std::cout, std::cerr);
  }
  if (migrate->parsed()) {
    if (migrate_storage.empty()) migrate_storage = triggerd::app::DefaultStorage();
    return triggerd::app::RunMigrate(migrate_data_dir, migrate_storage, std::cout, std::cerr);
  }
  if (send->parsed()) {
    if (!send_options.sign.scheme.empty() && send_options.sign.secret.empty()) {
      std::fprintf(stderr, "triggerd: send: --scheme needs --secret\n");
      return 2;
    }
    if (send_timestamp >= 0) send_options.sign.timestamp = send_timestamp;
    // The operator's own URL, typed at a shell, not one a builder stored: the outbound policy
    // (it guards the server's calls out against SSRF) does not apply.
    triggerd::outbound::SetProcessPolicy(*triggerd::outbound::Policy::Make({}, {}));
    return triggerd::app::RunSend(send_options, std::cout, std::cerr);
  }
  if (serve->parsed()) {
    if (!config_path.empty()) {
      if (auto s = triggerd::app::LoadConfigFile(config_path, &config); !s.ok()) {
        std::fprintf(stderr, "triggerd: %s\n", s.message().c_str());
        return 2;
      }
      config.config_path = config_path;
    }
    if (!listen.empty()) config.listen = listen;
    if (!data_dir.empty()) config.data_dir = data_dir;
    if (!database_url.empty()) config.storage = database_url;
    if (config.storage.empty()) config.storage = triggerd::app::DefaultStorage();
    if (!public_url.empty()) config.public_url = public_url;
    if (max_body_bytes > 0) config.max_body_bytes = max_body_bytes;
    if (threads >= 0) config.threads = threads;
    if (!log_level.empty()) config.log_level = log_level;
    if (!log_format.empty()) config.log_format = log_format;
    return triggerd::app::RunServe(config);
  }
  return 0;
}
