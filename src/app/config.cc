#include "app/config.h"

#include <yaml-cpp/yaml.h>

#include <optional>
#include <set>

#include "dispatch/target.h"
#include "nlfilter/nlfilter.h"

namespace triggerd::app {
namespace {

Status At(const std::string& path, const YAML::Node& node, const std::string& message) {
  return Status::InvalidArgument(path + ":" + std::to_string(node.Mark().line + 1) + ": " + message,
                                 "invalid_config");
}

// `llm:` (Config::Llm). Checked by building the model client, so the file accepts exactly the
// endpoints the client (and the dispatcher's llm target) accept.
Status ReadLlm(const std::string& path, const YAML::Node& value, Config::Llm* out) {
  if (value.IsNull()) {
    *out = {};
    return Status::Ok();
  }
  if (!value.IsMap()) {
    return At(path, value, "llm must be a mapping with base_url, model and api_key_env");
  }
  Config::Llm llm;
  for (const auto& field : value) {
    const std::string name = field.first.as<std::string>("");
    const YAML::Node& v = field.second;
    if (name == "base_url") {
      llm.base_url = v.as<std::string>();
    } else if (name == "model") {
      llm.model = v.as<std::string>();
    } else if (name == "api_key_env") {
      llm.api_key_env = v.as<std::string>();
    } else if (name == "timeout_ms") {
      llm.timeout_ms = v.as<int>();
      if (llm.timeout_ms < 1000 || llm.timeout_ms > 120'000) {
        return At(path, v, "llm.timeout_ms must be between 1000 and 120000");
      }
    } else {
      return At(path, field.first,
                "unknown key \"llm." + name + "\" (base_url, model, api_key_env, timeout_ms)");
    }
  }
  if (llm.base_url.empty()) return At(path, value, "llm.base_url is required");
  if (llm.model.empty()) return At(path, value, "llm.model is required");
  auto model = nlfilter::MakeChatCompletionsModel(
      {llm.base_url, llm.model, llm.api_key_env, llm.timeout_ms});
  if (!model) return At(path, value, model.error().message());
  *out = std::move(llm);
  return Status::Ok();
}

// `outbound:` (Config::outbound). Each entry is checked on its own so that an error names its
// line; a list left out keeps its default (deny: `default`, allow: none).
Status ReadOutbound(const std::string& path, const YAML::Node& value, outbound::Policy* out) {
  if (value.IsNull()) {
    *out = outbound::Policy::Default();
    return Status::Ok();
  }
  if (!value.IsMap()) {
    return At(path, value, "outbound must be a mapping with deny_networks and allow_networks");
  }
  std::vector<std::string> deny = {"default"};
  std::vector<std::string> allow;
  for (const auto& field : value) {
    const std::string name = field.first.as<std::string>("");
    const YAML::Node& v = field.second;
    if (name != "deny_networks" && name != "allow_networks") {
      return At(path, field.first,
                "unknown key \"outbound." + name + "\" (deny_networks, allow_networks)");
    }
    if (!v.IsNull() && !v.IsSequence()) {
      return At(path, v, "outbound." + name + " must be a list of networks or named sets");
    }
    std::vector<std::string>& list = name == "deny_networks" ? deny : allow;
    list.clear();
    for (const auto& entry : v) {
      if (!entry.IsScalar()) {
        return At(path, entry, "outbound." + name + " entries must be strings");
      }
      const std::string text = entry.as<std::string>();
      if (Status s = outbound::Policy::CheckEntry(text); !s.ok()) {
        return At(path, entry, "outbound." + name + ": " + s.message());
      }
      list.push_back(text);
    }
  }
  auto policy = outbound::Policy::Make(deny, allow);
  if (!policy) return At(path, value, policy.error().message());
  *out = std::move(policy).value();
  return Status::Ok();
}

// `api:` (Config::Api).
Status ReadApi(const std::string& path, const YAML::Node& value, Config::Api* out) {
  if (value.IsNull()) {
    *out = {};
    return Status::Ok();
  }
  if (!value.IsMap()) {
    return At(path, value, "api must be a mapping with command_agents and llm_api_key_envs");
  }
  Config::Api api;
  for (const auto& field : value) {
    const std::string name = field.first.as<std::string>("");
    const YAML::Node& v = field.second;
    if (name == "command_agents") {
      try {
        api.command_agents = v.as<bool>();
      } catch (const YAML::Exception&) {
        return At(path, v, "api.command_agents must be true or false");
      }
    } else if (name == "llm_api_key_envs") {
      if (!v.IsNull() && !v.IsSequence()) {
        return At(path, v, "api.llm_api_key_envs must be a list of environment variable names");
      }
      for (const auto& entry : v) {
        const std::string text = entry.IsScalar() ? entry.as<std::string>() : "";
        if (!dispatch::IsEnvironmentVariableName(text)) {
          return At(path, entry,
                    "api.llm_api_key_envs: \"" + text.substr(0, 100) +
                        "\" is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
        }
        api.llm_api_key_envs.push_back(text);
      }
    } else {
      return At(path, field.first,
                "unknown key \"api." + name + "\" (command_agents, llm_api_key_envs)");
    }
  }
  *out = std::move(api);
  return Status::Ok();
}

}  // namespace

std::optional<int64_t> ParseDurationSeconds(std::string_view text) {
  if (text == "0") return 0;
  if (text.size() < 2) return std::nullopt;
  int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      return std::nullopt;
  }
  int64_t n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9' || n > 100'000'000) return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n * unit;
}

namespace {

// YAML keeps the last of two equal keys in a mapping without a word, so a setting or a filter
// written twice would silently be the later one: refused, anywhere in the file.
Status RefuseDuplicateKeys(const std::string& path, const YAML::Node& node, int depth = 0) {
  if (depth > 64) return Status::Ok();  // yaml-cpp's own nesting limit is far below this
  if (node.IsMap()) {
    std::set<std::string> seen;
    for (const auto& item : node) {
      if (item.first.IsScalar() && !seen.insert(item.first.Scalar()).second) {
        return At(path, item.first, "\"" + item.first.Scalar() + "\" appears twice here");
      }
      TRIGGERD_RETURN_IF_ERROR(RefuseDuplicateKeys(path, item.second, depth + 1));
    }
  } else if (node.IsSequence()) {
    for (const auto& child : node) {
      TRIGGERD_RETURN_IF_ERROR(RefuseDuplicateKeys(path, child, depth + 1));
    }
  }
  return Status::Ok();
}

}  // namespace

Status LoadConfigFile(const std::string& path, Config* config) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Status::InvalidArgument("cannot read config file " + path, "invalid_config");
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg,
                                   "invalid_config");
  }
  return ReadConfigYaml(path, root, config);
}

Status ReadConfigYaml(const std::string& path, const YAML::Node& root, Config* config) {
  if (root.IsNull()) return Status::Ok();
  if (!root.IsMap()) return At(path, root, "the top level must be a mapping");
  TRIGGERD_RETURN_IF_ERROR(RefuseDuplicateKeys(path, root));
  for (const auto& item : root) {
    const std::string key = item.first.as<std::string>("");
    const YAML::Node& value = item.second;
    try {
      if (key == "listen") {
        config->listen = value.as<std::string>();
      } else if (key == "data_dir") {
        config->data_dir = value.as<std::string>();
      } else if (key == "storage") {
        config->storage = value.as<std::string>();
        if (config->storage != "sqlite" && config->storage.rfind("postgres://", 0) != 0 &&
            config->storage.rfind("postgresql://", 0) != 0) {
          return At(path, value, "storage must be \"sqlite\" or a postgres:// URL");
        }
      } else if (key == "storage_pool_size") {
        config->storage_pool_size = value.as<int>();
        if (config->storage_pool_size < 1 || config->storage_pool_size > 256) {
          return At(path, value, "storage_pool_size must be between 1 and 256");
        }
      } else if (key == "public_url") {
        config->public_url = value.as<std::string>();
      } else if (key == "max_body_bytes") {
        config->max_body_bytes = value.as<size_t>();
      } else if (key == "threads") {
        config->threads = value.as<int>();
      } else if (key == "log_level") {
        config->log_level = value.as<std::string>();
      } else if (key == "log_format") {
        config->log_format = value.as<std::string>();
        if (config->log_format != "text" && config->log_format != "json" &&
            config->log_format != "auto") {
          return At(path, value, "log_format must be text, json or auto");
        }
      } else if (key == "shutdown_grace_seconds") {
        config->shutdown_grace_seconds = value.as<int>();
      } else if (key == "dispatch_workers") {
        config->dispatch_workers = value.as<int>();
        if (config->dispatch_workers < 1 || config->dispatch_workers > 1024) {
          return At(path, value, "dispatch_workers must be between 1 and 1024");
        }
      } else if (key == "retry_base_ms") {
        config->retry_base_ms = value.as<int>();
        if (config->retry_base_ms < 1) return At(path, value, "retry_base_ms must be positive");
      } else if (key == "retry_max_ms") {
        config->retry_max_ms = value.as<int>();
        if (config->retry_max_ms < 1) return At(path, value, "retry_max_ms must be positive");
      } else if (key == "source_rate_limit" || key == "source_rate_burst" ||
                 key == "workspace_rate_limit" || key == "workspace_rate_burst") {
        const double v = value.as<double>();
        if (!(v >= 0) || v > 1e9) return At(path, value, key + " must be between 0 and 1e9");
        (key == "source_rate_limit"      ? config->source_rate_limit
         : key == "source_rate_burst"    ? config->source_rate_burst
         : key == "workspace_rate_limit" ? config->workspace_rate_limit
                                         : config->workspace_rate_burst) = v;
      } else if (key == "max_pending_bytes") {
        config->max_pending_bytes = value.as<size_t>();
        if (config->max_pending_bytes < 1024 * 1024) {
          return At(path, value, "max_pending_bytes must be at least 1048576");
        }
      } else if (key == "metrics_require_key") {
        config->metrics_require_key = value.as<bool>();
      } else if (key == "retention_events" || key == "retention_bodies" ||
                 key == "retention_interval") {
        std::optional<int64_t> seconds = ParseDurationSeconds(value.as<std::string>());
        if (!seconds || (key == "retention_interval" && *seconds < 1)) {
          return At(path, value,
                    key + " must be a duration such as 30d, 12h, 90m or 45s" +
                        (key == "retention_interval" ? "" : " (0 = keep forever)"));
        }
        (key == "retention_events"   ? config->retention_events_seconds
         : key == "retention_bodies" ? config->retention_bodies_seconds
                                     : config->retention_interval_seconds) = *seconds;
      } else if (key == "schedule_missed") {
        config->schedule_missed = value.as<std::string>();
        if (config->schedule_missed != "catch_up" && config->schedule_missed != "skip") {
          return At(path, value, "schedule_missed must be \"catch_up\" or \"skip\"");
        }
      } else if (key == "run_lease_seconds") {
        config->run_lease_seconds = value.as<int>();
        if (config->run_lease_seconds < 1) {
          return At(path, value, "run_lease_seconds must be positive");
        }
      } else if (key == "watch_config") {
        config->watch_config = value.as<bool>();
      } else if (key == "llm") {
        if (Status s = ReadLlm(path, value, &config->llm); !s.ok()) return s;
      } else if (key == "api") {
        if (Status s = ReadApi(path, value, &config->api); !s.ok()) return s;
      } else if (key == "outbound") {
        if (Status s = ReadOutbound(path, value, &config->outbound); !s.ok()) return s;
      } else if (key == "workspaces") {
        // Declared sources, agents and triggers: app/declared.cc reads and validates them.
      } else {
        return At(path, item.first, "unknown key \"" + key + "\"");
      }
    } catch (const YAML::Exception&) {
      return At(path, value, "\"" + key + "\" has the wrong type");
    }
  }
  return Status::Ok();
}

Status SplitListen(const std::string& listen, std::string* host, uint16_t* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return Status::InvalidArgument("listen must be host:port, got \"" + listen + "\"");
  }
  std::string h = listen.substr(0, colon);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  int p = 0;
  for (char c : listen.substr(colon + 1)) {
    if (c < '0' || c > '9' || p > 65535) {
      return Status::InvalidArgument("listen has an invalid port: \"" + listen + "\"");
    }
    p = p * 10 + (c - '0');
  }
  if (p > 65535) return Status::InvalidArgument("listen has an invalid port: \"" + listen + "\"");
  *host = h;
  *port = static_cast<uint16_t>(p);
  return Status::Ok();
}

}  // namespace triggerd::app
