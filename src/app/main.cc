// triggerd: the one binary. Thin: parses the command line and hands over to app/.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "app/admin_commands.h"
#include "app/config.h"
#include "app/data_dir.h"
#include "app/filter_command.h"
#include "app/send_command.h"
#include "app/serve.h"
#include "app/sign_command.h"

namespace {

using triggerd::app::Config;

// `triggerd serve`: the flags override the config file's settings.
struct ServeCommand {
  CLI::App* app = nullptr;
  std::string config_path, listen, data_dir, database_url, public_url, log_level, log_format;
  size_t max_body_bytes = 0;
  int threads = -1;

  void Add(CLI::App& cli) {
    app = cli.add_subcommand("serve", "receive, verify and store webhooks");
    app->add_option("--config", config_path, "YAML config file (flags override it)");
    app->add_option("--listen", listen, "host:port to listen on (default 127.0.0.1:8080)");
    app->add_option("--data-dir", data_dir, "where the database and admin key live (./data)");
    app->add_option("--database-url", database_url,
                    "postgres://… to share a PostgreSQL database with other nodes (default: "
                    "TRIGGERD_DATABASE_URL, else SQLite in the data dir)");
    app->add_option("--public-url", public_url, "base of the ingest URLs shown to users");
    app->add_option("--max-body-bytes", max_body_bytes, "default body limit (1048576)");
    app->add_option("--threads", threads, "io threads (0 = one per core)");
    app->add_option("--log-level", log_level, "trace|debug|info|warn|error");
    app->add_option("--log-format", log_format, "text|json|auto (text)");
  }

  int Run() const {
    Config config;
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
};

// `triggerd filter check|eval`.
struct FilterCommand {
  CLI::App* check = nullptr;
  CLI::App* eval = nullptr;
  std::string filter_text, payload_path;
  bool explain = false;

  void Add(CLI::App& cli) {
    CLI::App* filter = cli.add_subcommand("filter", "check or evaluate a filter expression");
    filter->require_subcommand(1);
    check = filter->add_subcommand("check", "exit 0 when FILTER compiles, else show where");
    check->add_option("FILTER", filter_text, "the filter expression")->required();
    eval = filter->add_subcommand("eval", "evaluate FILTER on a JSON payload file");
    eval->add_option("FILTER", filter_text, "the filter expression")->required();
    eval->add_option("PAYLOAD", payload_path, "JSON file, or - for standard input")->required();
    eval->add_flag("--explain", explain, "print why, clause by clause");
  }

  std::optional<int> RunIfParsed() const {
    if (check->parsed()) return triggerd::app::RunFilterCheck(filter_text, std::cout, std::cerr);
    if (eval->parsed()) {
      return triggerd::app::RunFilterEval(filter_text, payload_path, explain, std::cout,
                                          std::cerr);
    }
    return std::nullopt;
  }
};

// `triggerd sign`: the headers a provider would send.
struct SignCommand {
  CLI::App* app = nullptr;
  triggerd::app::SignOptions options;
  int64_t timestamp = -1;

  void Add(CLI::App& cli) {
    app = cli.add_subcommand(
        "sign", "print the headers a provider would send with BODY (to try a source with curl)");
    app->add_option("--scheme", options.scheme,
                    "a provider kind (github, stripe, slack, standard, …) or hmac")
        ->required();
    app->add_option("--secret", options.secret, "the signing secret")->required();
    app->add_option("--header", options.header, "hmac: the signature header (X-Signature)");
    app->add_option("--algorithm", options.algorithm, "hmac: sha1|sha256|sha512 (sha256)");
    app->add_option("--encoding", options.encoding, "hmac: hex|base64 (hex)");
    app->add_option("--prefix", options.prefix, "hmac: text before the digest, e.g. sha256=");
    app->add_option("--url", options.url, "the URL, for schemes that sign it (twilio, hubspot)");
    app->add_option("--timestamp", timestamp, "unix seconds to sign with (default now)");
    app->add_option("BODY", options.body, "the body; @file reads a file, - standard input")
        ->required();
  }

  int Run() {
    if (timestamp >= 0) options.timestamp = timestamp;
    return triggerd::app::RunSign(options, std::cout, std::cerr);
  }
};

// `triggerd send`: sign like a provider and POST to a source's URL.
struct SendCommand {
  CLI::App* app = nullptr;
  triggerd::app::SendOptions options;
  int64_t timestamp = -1;

  void Add(CLI::App& cli) {
    app = cli.add_subcommand(
        "send", "sign BODY like a provider (--scheme) and POST it to a source's URL");
    app->add_option("URL", options.url, "the source's ingest URL")->required();
    app->add_option("BODY", options.sign.body, "the body; @file reads a file, - standard input")
        ->required();
    app->add_option("--scheme", options.sign.scheme,
                    "sign as a provider kind (github, stripe, slack, standard, …) or hmac; "
                    "none = unsigned");
    app->add_option("--secret", options.sign.secret, "the signing secret");
    app->add_option("--token", options.token, "bearer token of the source");
    app->add_option("--header,-H", options.headers, "extra header \"Name: value\" (repeatable)");
    app->add_option("--content-type", options.content_type, "default application/json");
    app->add_option("--timeout-ms", options.timeout_ms, "default 10000");
    app->add_option("--sig-header", options.sign.header, "hmac: the signature header");
    app->add_option("--algorithm", options.sign.algorithm, "hmac: sha1|sha256|sha512");
    app->add_option("--encoding", options.sign.encoding, "hmac: hex|base64");
    app->add_option("--prefix", options.sign.prefix, "hmac: text before the digest");
    app->add_option("--timestamp", timestamp, "unix seconds to sign with (default now)");
  }

  int Run() {
    if (!options.sign.scheme.empty() && options.sign.secret.empty()) {
      std::fprintf(stderr, "triggerd: send: --scheme needs --secret\n");
      return 2;
    }
    if (timestamp >= 0) options.sign.timestamp = timestamp;
    // The operator's own URL, typed at a shell, not one a builder stored: the outbound policy
    // (it guards the server's calls out against SSRF) does not apply.
    triggerd::outbound::SetProcessPolicy(*triggerd::outbound::Policy::Make({}, {}));
    return triggerd::app::RunSend(options, std::cout, std::cerr);
  }
};

// `triggerd key create|list|revoke|rotate-master`.
struct KeyCommand {
  CLI::App* app = nullptr;
  CLI::App* rotate = nullptr;
  triggerd::app::KeyCommand key;
  triggerd::app::RotateMasterKeyCommand rotate_command;

  void Add(CLI::App& cli) {
    key.storage.clear();  // "" = not given: TRIGGERD_DATABASE_URL, else SQLite
    app = cli.add_subcommand(
        "key", "create, list or revoke API keys in a data dir, or rotate the master key");
    app->require_subcommand(1);
    app->add_option("--data-dir", key.data_dir, "the server's data dir (./data)");
    app->add_option("--database-url", key.storage, "the server's PostgreSQL URL, if any");
    CLI::App* create = app->add_subcommand("create", "issue a key and print it once");
    create->add_option("--workspace", key.workspace, "workspace id or name (default)");
    create->add_option("--role", key.role, "admin|builder|user (admin)");
    create->add_option("--name", key.name, "what the key is for (cli)");
    app->add_subcommand("list", "every key of every workspace (never the keys themselves)");
    CLI::App* revoke = app->add_subcommand("revoke", "revoke a key at once");
    revoke->add_option("KEY_ID", key.key_id, "the key's id (key_…)")->required();
    for (CLI::App* sub : app->get_subcommands({})) {
      sub->add_option("--data-dir", key.data_dir, "the server's data dir (./data)");
      sub->add_option("--database-url", key.storage, "the server's PostgreSQL URL, if any");
    }
    AddRotate();  // after the loop: its --data-dir and --database-url fill rotate_command
  }

  void AddRotate() {
    rotate_command.data_dir.clear();  // "" = not given here: `key --data-dir` or its default
    rotate_command.storage.clear();
    rotate = app->add_subcommand(
        "rotate-master",
        "re-seal every secret at rest under a new master key, in one transaction (README, "
        "\"Secrets at rest\"); the current key comes from TRIGGERD_MASTER_KEY or the data dir's "
        "master.key, as for serve. Prints old_key_id, new_key_id and resealed lines. Exit 0 done, "
        "1 failed (stderr says what changed), 2 usage");
    auto* new_key_file = rotate->add_option(
        "--new-key-file", rotate_command.new_key_file,
        "file holding the new key (32 bytes, hex or base64, e.g. `openssl rand -base64 32`); "
        "mode 0600");
    auto* new_key_env =
        rotate->add_option("--new-key-env", rotate_command.new_key_env,
                           "name of an environment variable holding the new key instead");
    new_key_file->excludes(new_key_env);
    rotate->add_option("--data-dir", rotate_command.data_dir, "the server's data dir (./data)");
    rotate->add_option("--database-url", rotate_command.storage,
                       "the server's PostgreSQL URL, if any");
  }

  int Run() {
    if (rotate->parsed()) {
      if (rotate_command.data_dir.empty()) rotate_command.data_dir = key.data_dir;
      if (rotate_command.storage.empty()) rotate_command.storage = key.storage;
      if (rotate_command.storage.empty() || rotate_command.storage == "sqlite") {
        rotate_command.storage = triggerd::app::DefaultStorage();
      }
      return triggerd::app::RunRotateMasterKey(rotate_command, std::cout, std::cerr);
    }
    for (CLI::App* sub : app->get_subcommands()) key.action = sub->get_name();
    if (key.storage.empty()) key.storage = triggerd::app::DefaultStorage();
    return triggerd::app::RunKey(key, std::cout, std::cerr);
  }
};

// `triggerd migrate`.
struct MigrateCommand {
  CLI::App* app = nullptr;
  std::string data_dir = "./data";
  std::string storage;

  void Add(CLI::App& cli) {
    app = cli.add_subcommand("migrate", "apply pending database migrations and exit");
    app->add_option("--data-dir", data_dir, "the server's data dir (./data)");
    app->add_option("--database-url", storage, "the server's PostgreSQL URL, if any");
  }

  int Run() {
    if (storage.empty()) storage = triggerd::app::DefaultStorage();
    return triggerd::app::RunMigrate(data_dir, storage, std::cout, std::cerr);
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"triggerd: a self-hosted webhook-trigger service"};
  cli.require_subcommand(1);
  ServeCommand serve;
  serve.Add(cli);
  FilterCommand filter;
  filter.Add(cli);
  SignCommand sign;
  sign.Add(cli);
  SendCommand send;
  send.Add(cli);
  KeyCommand key;
  key.Add(cli);
  MigrateCommand migrate;
  migrate.Add(cli);
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

  if (auto code = filter.RunIfParsed()) return *code;
  if (sign.app->parsed()) return sign.Run();
  if (key.app->parsed()) return key.Run();
  if (migrate.app->parsed()) return migrate.Run();
  if (send.app->parsed()) return send.Run();
  if (serve.app->parsed()) return serve.Run();
  return 0;
}
