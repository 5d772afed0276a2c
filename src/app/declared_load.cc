// The load step of the declared config: the `workspaces:` section read from YAML into
// validated DeclaredObjects, and the one parse a reload shares with the service settings.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "catalog/validate.h"
#include "app/config.h"
#include "app/declared.h"
#include "common/crypto.h"
#include "store/store.h"

namespace triggerd::app {
namespace {

constexpr std::string_view kSecretPrefix = "whsec_";

bool IsNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

int LineOf(const YAML::Node& node) { return node.Mark().line + 1; }

std::string Quote(std::string_view name) { return "\"" + std::string(name.substr(0, 200)) + "\""; }

// ---- YAML -> JSON ----

// Reads the `workspaces:` section. Errors are kInvalidArgument "path:line: message", scrubbed of
// expanded values.
class Loader {
 public:
  Loader(const std::string& path, const EnvLookup& env, DeclaredConfig* out)
      : path_(path), env_(env), out_(out) {}

  Status Error(int line, const std::string& message) const {
    return Status::InvalidArgument(
        out_->Redact(path_ + ":" + std::to_string(line) + ": " + message), "invalid_config");
  }

  // A scalar's JSON value. Plain scalars are typed as YAML's core schema types them (null, bool,
  // integer, float, string); quoted and block ones are strings, and so is any that held `${`.
  Result<boost::json::value> Scalar(const YAML::Node& node) {
    const std::string& raw = node.Scalar();
    if (raw.find('$') != std::string::npos && raw.find("${") != std::string::npos) {
      std::vector<std::string> used;
      auto expanded = ExpandEnv(raw, env_, &used);
      if (!expanded) return Error(LineOf(node), expanded.error().message());
      // Every variable's value is remembered, so that messages can be scrubbed of it even when
      // it was only part of the value ("Bearer ${TOKEN}").
      for (const auto& name : used) {
        if (auto value = env_(name)) out_->expansions.emplace_back(*value, "${" + name + "}");
      }
      return boost::json::value(*expanded);
    }
    if (node.Tag() != "?") return boost::json::value(raw);  // quoted or block: a string
    if (raw.empty() || raw == "~" || raw == "null" || raw == "Null" || raw == "NULL") {
      return boost::json::value(nullptr);
    }
    if (raw == "true" || raw == "True" || raw == "TRUE") return boost::json::value(true);
    if (raw == "false" || raw == "False" || raw == "FALSE") return boost::json::value(false);
    {
      int64_t v = 0;
      const char* begin = raw.data() + (raw[0] == '+' ? 1 : 0);
      auto [end, ec] = std::from_chars(begin, raw.data() + raw.size(), v);
      if (ec == std::errc() && end == raw.data() + raw.size()) return boost::json::value(v);
    }
    {
      double v = 0;
      auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
      if (ec == std::errc() && end == raw.data() + raw.size() &&
          raw.find_first_of("0123456789") != std::string::npos) {
        return boost::json::value(v);
      }
    }
    return boost::json::value(raw);
  }

  // Any node as JSON; records the line of every mapping key under its dotted path ("target.url")
  // so that an error about a member points at its line.
  Result<boost::json::value> Json(const YAML::Node& node, const std::string& prefix,
                                  std::map<std::string, int>* lines) {
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return boost::json::value(nullptr);
      case YAML::NodeType::Scalar:
        return Scalar(node);
      case YAML::NodeType::Sequence: {
        boost::json::array array;
        for (const auto& item : node) {
          auto value = Json(item, prefix, lines);
          if (!value) return value.error();
          array.push_back(std::move(*value));
        }
        return boost::json::value(std::move(array));
      }
      case YAML::NodeType::Map: {
        boost::json::object object;
        for (const auto& item : node) {
          if (!item.first.IsScalar()) return Error(LineOf(item.first), "keys must be plain text");
          const std::string key = item.first.Scalar();
          const std::string path = prefix.empty() ? key : prefix + "." + key;
          lines->emplace(path, LineOf(item.first));
          auto value = Json(item.second, path, lines);
          if (!value) return value.error();
          object[key] = std::move(*value);
        }
        return boost::json::value(std::move(object));
      }
    }
    return boost::json::value(nullptr);
  }

  Status Load(const YAML::Node& section) {
    if (!section || section.IsNull()) return Status::Ok();
    if (!section.IsSequence()) {
      return Error(LineOf(section),
                   "workspaces must be a list of {name, sources, agents, triggers}");
    }
    std::map<std::string, int> seen;
    for (const auto& node : section) {
      if (!node.IsMap()) return Error(LineOf(node), "a workspace must be a mapping");
      DeclaredWorkspace ws;
      ws.line = LineOf(node);
      for (const auto& item : node) {
        const std::string key = item.first.as<std::string>("");
        if (key != "name" && key != "sources" && key != "agents" && key != "triggers") {
          return Error(LineOf(item.first), "unknown key " + Quote(key) +
                                               " in a workspace (name, sources, agents, triggers)");
        }
      }
      const YAML::Node name = node["name"];
      if (!name || !name.IsScalar() || name.Scalar().empty() || name.Scalar().size() > 200) {
        return Error(ws.line, "a workspace needs a name of 1 to 200 characters");
      }
      ws.name = name.Scalar();
      if (auto [it, fresh] = seen.emplace(ws.name, ws.line); !fresh) {
        return Error(ws.line, "workspace " + Quote(ws.name) + " is declared twice (first at line " +
                                  std::to_string(it->second) + ")");
      }
      TRIGGERD_RETURN_IF_ERROR(Objects(node["sources"], "source", ws, &ws.sources));
      TRIGGERD_RETURN_IF_ERROR(Objects(node["agents"], "agent", ws, &ws.agents));
      TRIGGERD_RETURN_IF_ERROR(Objects(node["triggers"], "trigger", ws, &ws.triggers));
      out_->workspaces.push_back(std::move(ws));
    }
    return Status::Ok();
  }

 private:
  Status Objects(const YAML::Node& list, const std::string& what, const DeclaredWorkspace& ws,
                 std::vector<DeclaredObject>* out) {
    if (!list || list.IsNull()) return Status::Ok();
    if (!list.IsSequence()) return Error(LineOf(list), what + "s must be a list");
    std::map<std::string, int> seen;
    for (const auto& node : list) {
      const int line = LineOf(node);
      if (!node.IsMap()) return Error(line, "a " + what + " must be a mapping");
      std::map<std::string, int> lines;
      auto json = Json(node, "", &lines);
      if (!json) return json.error();
      DeclaredObject object;
      object.line = line;
      object.body = std::move(json->as_object());
      const std::string context = "workspace " + Quote(ws.name) + ": " + what + " ";
      const boost::json::value* name = object.body.if_contains("name");
      if (name == nullptr || !name->is_string() || name->as_string().empty()) {
        // The name is what the file and the store agree on, so unlike in the API it is required.
        return Error(line, "workspace " + Quote(ws.name) + ": a " + what +
                               " needs a name: it identifies the " + what + " across reloads");
      }
      object.name = std::string(name->as_string());
      if (auto [it, fresh] = seen.emplace(object.name, line); !fresh) {
        return Error(line, context + Quote(object.name) + " is declared twice (first at line " +
                               std::to_string(it->second) + ")");
      }
      const std::string where = context + Quote(object.name) + ": ";
      auto at = [&](const std::string& field) {
        // The member's line, else its parent's ("target.headers.X" -> "target"), else the object's.
        std::string path = field;
        while (!path.empty()) {
          if (auto it = lines.find(path); it != lines.end()) return it->second;
          size_t dot = path.rfind('.');
          path = dot == std::string::npos ? "" : path.substr(0, dot);
        }
        return line;
      };
      Status s = what == "source"  ? Source(&object, where, at)
                 : what == "agent" ? Agent(&object, where, at)
                                   : Trigger(&object, ws, where, at);
      TRIGGERD_RETURN_IF_ERROR(s);
      out->push_back(std::move(object));
    }
    return Status::Ok();
  }

  // Takes a file-only string member out of the body.
  template <typename At>
  Result<std::string> TakeString(DeclaredObject* object, const char* member, size_t max,
                                 const std::string& where, At at) {
    const boost::json::value* value = object->body.if_contains(member);
    if (value == nullptr || value->is_null()) {
      object->body.erase(member);
      return std::string();
    }
    if (!value->is_string() || value->as_string().empty() || value->as_string().size() > max) {
      return Error(at(member), where + member + " must be a string of 1 to " + std::to_string(max) +
                                   " characters");
    }
    std::string text(value->as_string());
    object->body.erase(member);
    return text;
  }

  template <typename At>
  Status BodyError(const catalog::BodyError& e, const std::string& where, At at) {
    std::string message = e.status.message();
    if (e.filter_error) message = "filter " + message;
    std::string field = e.field;
    if (field.empty()) {
      // The source validator names the member in its message instead ("allowed_ips: …",
      // "max_body_bytes must be …"); at() falls back to the object's line for anything else.
      field = message.substr(0, message.find_first_of(": "));
    }
    return Error(at(field), where + message);
  }

  template <typename At>
  Status Source(DeclaredObject* object, const std::string& where, At at) {
    auto token = TakeString(object, "token", 1024, where, at);
    if (!token) return token.error();
    object->token = *token;
    store::Source source;
    catalog::IssuedSourceSecrets issued;
    if (auto e = catalog::ApplySourceBody(object->body, true, false, &source, &issued)) {
      return BodyError(*e, where, at);
    }
    if (!issued.secret.empty()) {
      return Error(object->line,
                   where +
                       "secret is required: this source checks signatures, and a secret "
                       "generated for a declared source could never be shown (e.g. secret: "
                       "${WEBHOOK_SECRET})");
    }
    if (!source.token_hash.empty() && object->token.empty()) {
      return Error(at("auth"), where +
                                   "token is required with bearer auth: a generated one could "
                                   "never be shown (e.g. token: ${WEBHOOK_TOKEN})");
    }
    if (source.token_hash.empty() && !object->token.empty()) {
      return Error(at("token"), where + "token is only for sources with auth: {bearer: true}");
    }
    return Status::Ok();
  }

  template <typename At>
  Status Agent(DeclaredObject* object, const std::string& where, At at) {
    auto secret = TakeString(object, "signing_secret", 1024, where, at);
    if (!secret) return secret.error();
    object->signing_secret = *secret;
    if (!secret->empty()) {
      // What the http target signs with (dispatch/http_target.cc): whsec_ + base64 of the key.
      std::string_view key = *secret;
      if (key.starts_with(kSecretPrefix)) key.remove_prefix(kSecretPrefix.size());
      auto decoded = crypto::Base64Decode(key);
      if (!decoded || decoded->size() < 16) {
        return Error(at("signing_secret"),
                     where + "signing_secret must be whsec_ and the base64 of 16 or more bytes");
      }
    }
    store::Agent agent;
    agent.signing_secret = object->signing_secret;
    std::string issued;
    if (auto e = catalog::ApplyAgentBody(object->body, true, false, &agent, &issued)) {
      return BodyError(*e, where, at);
    }
    if (!object->signing_secret.empty() && agent.signing_secret.empty()) {
      return Error(at("signing_secret"), where + "signing_secret is only for http targets");
    }
    return Status::Ok();
  }

  template <typename At>
  Status Trigger(DeclaredObject* object, const DeclaredWorkspace& ws, const std::string& where,
                 At at) {
    for (const char* by_id : {"source_id", "agent_id"}) {
      if (object->body.contains(by_id)) {
        const std::string by_name = std::string(by_id).substr(0, std::string(by_id).find('_'));
        return Error(at(by_id), where + "in the file, refer to the " + by_name + " by name (" +
                                    by_name + ": <name>) instead of " + by_id);
      }
    }
    for (const char* member : {"source", "agent"}) {
      const boost::json::value* value = object->body.if_contains(member);
      if (value == nullptr || !value->is_string() || value->as_string().empty()) {
        return Error(value ? at(member) : object->line,
                     where + member + " is required: the name of " +
                         (std::string(member) == "source" ? "a source" : "an agent") +
                         " declared in this workspace");
      }
      const std::string name(value->as_string());
      const auto& declared = std::string(member) == "source" ? ws.sources : ws.agents;
      bool found = std::any_of(declared.begin(), declared.end(),
                               [&](const DeclaredObject& d) { return d.name == name; });
      if (!found) {
        return Error(at(member), where + member + ": no " + member + " " + Quote(name) +
                                     " is declared in workspace " + Quote(ws.name));
      }
      (std::string(member) == "source" ? object->source : object->agent) = name;
      object->body.erase(member);
    }
    boost::json::object body = object->body;
    body["source_id"] = "declared";  // resolved at apply time; not looked up here
    body["agent_id"] = "declared";
    store::Trigger trigger;
    if (auto e = catalog::ApplyTriggerBody(nullptr, body, true, &trigger)) {
      return BodyError(*e, where, at);
    }
    return Status::Ok();
  }

  const std::string& path_;
  const EnvLookup& env_;
  DeclaredConfig* out_;
};

Status YamlError(const std::string& path, const YAML::Exception& e) {
  return Status::InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg,
                                 "invalid_config");
}

// The one parse of a reload: the service settings and the declared objects read this node.
Result<YAML::Node> ParseYaml(const std::string& path, const std::optional<std::string>& text) {
  if (!text) return Status::InvalidArgument("cannot read config file " + path, "invalid_config");
  try {
    return YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    return YamlError(path, e);
  }
}

// `root` is const: yaml-cpp's non-const operator[] would turn a null root into a mapping.
Result<DeclaredConfig> ReadDeclared(const std::string& path, const YAML::Node& root,
                                    const EnvLookup& env) {
  DeclaredConfig config;
  config.path = path;
  config.declares_workspaces = root.IsMap() && root["workspaces"].IsDefined();
  if (root.IsNull()) return config;
  if (!root.IsMap()) {
    return Status::InvalidArgument(
        path + ":" + std::to_string(LineOf(root)) + ": the top level must be a mapping",
        "invalid_config");
  }
  Loader loader(path, env, &config);
  try {
    TRIGGERD_RETURN_IF_ERROR(loader.Load(root["workspaces"]));
  } catch (const YAML::Exception& e) {
    return YamlError(path, e);
  }
  return config;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Result<std::string> ExpandEnv(std::string_view text, const EnvLookup& env,
                              std::vector<std::string>* used) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out += text[i];
      continue;
    }
    if (text.substr(i, 3) == "$${") {
      out += "${";
      i += 2;
      continue;
    }
    if (text.substr(i, 2) != "${") {
      out += '$';
      continue;
    }
    size_t end = text.find('}', i + 2);
    std::string_view name =
        end == std::string_view::npos ? std::string_view() : text.substr(i + 2, end - i - 2);
    if (name.empty() || !IsNameStart(name[0]) ||
        !std::all_of(name.begin(), name.end(), IsNameChar)) {
      return Status::InvalidArgument(
          "${ must be followed by a variable name and } (write $${ for a literal ${)");
    }
    auto value = env(std::string(name));
    if (!value) {
      return Status::InvalidArgument("environment variable " + std::string(name) + " is not set");
    }
    out += *value;
    if (used != nullptr) used->emplace_back(name);
    i = end;
  }
  return out;
}

std::string DeclaredConfig::Redact(std::string text) const {
  // Longest first, so a value containing another is replaced whole.
  std::vector<std::pair<std::string, std::string>> sorted = expansions;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (const auto& [value, name] : sorted) {
    if (value.size() < 4) continue;  // too short to be a secret, and would garble the message
    for (size_t at = text.find(value); at != std::string::npos;
         at = text.find(value, at + name.size())) {
      text.replace(at, value.size(), name);
    }
  }
  return text;
}

std::optional<std::string> ReadConfigText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return content.str();
}

Result<DeclaredConfig> LoadDeclared(const std::string& path, const EnvLookup& env) {
  auto root = ParseYaml(path, ReadConfigText(path));
  if (!root) return root.error();
  return ReadDeclared(path, *root, env);
}

Result<LoadedConfig> LoadConfigText(const std::string& path, const std::optional<std::string>& text,
                                    const EnvLookup& env) {
  auto root = ParseYaml(path, text);
  if (!root) return root.error();
  LoadedConfig loaded;
  TRIGGERD_RETURN_IF_ERROR(ReadConfigYaml(path, *root, &loaded.settings));
  auto declared = ReadDeclared(path, *root, env);
  if (!declared) return declared.error();
  loaded.declared = std::move(*declared);
  return loaded;
}

}  // namespace triggerd::app
