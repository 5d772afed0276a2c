#include "app/declared.h"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "api/api.h"
#include "app/config.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "dispatch/dispatch.h"
#include "filter/filter.h"
#include "ingest/ingest.h"
#include "schedule/schedule.h"
#include "store/store.h"
#include "verify/catalog.h"

namespace triggerd::app {
namespace {

constexpr std::string_view kSecretPrefix = "whsec_";
// created_by of declared objects (an API key id elsewhere); also the owner of their runs.
constexpr std::string_view kConfigOwner = "config";

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
  Status BodyError(const api::BodyError& e, const std::string& where, At at) {
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
    api::IssuedSourceSecrets issued;
    if (auto e = api::ApplySourceBody(object->body, true, false, &source, &issued)) {
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
    if (auto e = api::ApplyAgentBody(object->body, true, false, &agent, &issued)) {
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
    if (auto e = api::ApplyTriggerBody(nullptr, body, true, &trigger)) {
      return BodyError(*e, where, at);
    }
    return Status::Ok();
  }

  const std::string& path_;
  const EnvLookup& env_;
  DeclaredConfig* out_;
};

// ---- Apply ----

// Every member a body can set. Mirror new settable members of store::Source / Agent / Trigger
// here, or a changed one would be taken for unchanged.
bool SameSource(const store::Source& a, const store::Source& b) {
  return a.name == b.name && a.kind == b.kind && a.enabled == b.enabled &&
         a.auth_json == b.auth_json && a.signing_secret == b.signing_secret &&
         a.token_hash == b.token_hash && a.allowed_ips == b.allowed_ips &&
         a.allowed_origins == b.allowed_origins && a.delivery_id_header == b.delivery_id_header &&
         a.max_body_bytes == b.max_body_bytes && a.trigger_config_json == b.trigger_config_json;
}

bool SameAgent(const store::Agent& a, const store::Agent& b) {
  return a.name == b.name && a.instructions == b.instructions && a.target_json == b.target_json &&
         a.signing_secret == b.signing_secret && a.max_attempts == b.max_attempts &&
         a.concurrency == b.concurrency;
}

bool SameTrigger(const store::Trigger& a, const store::Trigger& b) {
  return a.source_id == b.source_id && a.agent_id == b.agent_id && a.name == b.name &&
         a.filter == b.filter && a.event_types == b.event_types &&
         a.include_payload == b.include_payload && a.enabled == b.enabled;
}

// Identity and bookkeeping members: kept from the stored object, or new.
template <typename T>
void Identify(T* object, const T* existing, const char* id_prefix, const std::string& workspace_id,
              int64_t now) {
  if (existing != nullptr) {
    object->id = existing->id;
    object->created_by = existing->created_by;
    object->created_at = existing->created_at;
    object->updated_at = existing->updated_at;
  } else {
    object->id = NewId(id_prefix);
    object->created_by = std::string(kConfigOwner);
    object->created_at = object->updated_at = now;
  }
  object->workspace_id = workspace_id;
  object->managed_by = std::string(store::kManagedByConfig);
}

Status Internal(const std::string& what, const api::BodyError& e) {
  // Validated when loaded; the same body cannot fail now unless something is badly wrong.
  return Status::Internal(what + ": " + e.status.message());
}

// The managed objects of one kind, by name; extra ones with a name already seen (never made by
// this code, but a converging apply cleans them up) go to `extra`.
template <typename T>
std::map<std::string, T> ByName(const std::vector<T>& all, std::vector<T>* extra) {
  std::map<std::string, T> out;
  for (const auto& object : all) {
    if (object.managed_by.empty()) continue;
    if (!out.emplace(object.name, object).second) extra->push_back(object);
  }
  return out;
}

std::string Plural(int n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
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

Result<DeclaredConfig> LoadDeclared(const std::string& path, const EnvLookup& env) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Status::InvalidArgument("cannot read config file " + path, "invalid_config");
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg,
                                   "invalid_config");
  }
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
    return Status::InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg,
                                   "invalid_config");
  }
  return config;
}

std::string ApplySummary::ToString() const {
  std::vector<std::string> parts;
  if (workspaces_created > 0) parts.push_back(Plural(workspaces_created, "workspace") + " created");
  int deleted = 0;
  int unchanged = 0;
  for (auto [counts, what] : {std::pair{&sources, "source"}, std::pair{&agents, "agent"},
                              std::pair{&triggers, "trigger"}}) {
    if (counts->created > 0) parts.push_back(Plural(counts->created, what) + " created");
    if (counts->updated > 0) parts.push_back(Plural(counts->updated, what) + " updated");
    if (counts->deleted > 0) parts.push_back(Plural(counts->deleted, what) + " deleted");
    deleted += counts->deleted;
    unchanged += counts->unchanged;
  }
  if (deleted == 0) parts.push_back("0 deleted");
  parts.push_back(std::to_string(unchanged) + " unchanged");
  std::string out = "config applied: ";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out;
}

DeclaredApplier::DeclaredApplier(store::Store* store, ingest::Ingestor* ingestor,
                                 dispatch::Dispatcher* dispatcher, const Clock* clock)
    : store_(store), ingestor_(ingestor), dispatcher_(dispatcher), clock_(clock) {}

// What the API answers as `warnings` when a trigger is saved (fields its filter reads that the
// source's provider never sends for the subscribed event types: a likely typo), logged for a
// declared one, which has nobody to answer.
namespace {
void LogFilterWarnings(store::Store* store, const std::string& workspace_id,
                       const std::string& name, const store::Trigger& trigger,
                       const std::string& path) {
  auto source = store->GetSource(workspace_id, trigger.source_id);
  auto compiled = filter::Compile(trigger.filter);
  if (!compiled) return;
  for (const std::string& warning : filter::Warnings(*compiled)) {
    spdlog::warn("declared trigger \"{}\" ({}): filter {}", name, path, warning);
  }
  if (!source) return;
  for (const std::string& warning : verify::FilterWarnings(source->kind, trigger.event_types,
                                                           filter::ReferencedFields(*compiled))) {
    spdlog::warn("declared trigger \"{}\" ({}): {}", name, path, warning);
  }
}
}  // namespace

Result<ApplySummary> DeclaredApplier::Apply(const DeclaredConfig& config) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_->NowMicros();
  ApplySummary summary;

  auto workspaces = store_->ListWorkspaces();
  if (!workspaces) return workspaces.error();
  std::map<std::string, const DeclaredWorkspace*> declared;
  for (const auto& ws : config.workspaces) declared[ws.name] = &ws;

  // Every stored workspace with its current state, plus the declared ones still missing.
  struct Plan {
    std::string id;
    const DeclaredWorkspace* decl = nullptr;  // nullptr: declares nothing (delete managed ones)
    std::vector<store::Source> sources;
    std::vector<store::Agent> agents;
    std::vector<store::Trigger> triggers;
  };
  std::vector<Plan> plans;
  std::set<std::string> found;
  for (const auto& ws : *workspaces) {
    Plan plan{ws.id, nullptr, {}, {}, {}};
    if (auto it = declared.find(ws.name); it != declared.end()) {
      if (!found.insert(ws.name).second) {
        return Status::Conflict("two workspaces are named " + Quote(ws.name) +
                                "; the file cannot tell which one it declares");
      }
      plan.decl = it->second;
    }
    auto sources = store_->ListSources(ws.id);
    if (!sources) return sources.error();
    auto agents = store_->ListAgents(ws.id);
    if (!agents) return agents.error();
    auto triggers = store_->ListTriggers(ws.id, "", "");
    if (!triggers) return triggers.error();
    plan.sources = std::move(*sources);
    plan.agents = std::move(*agents);
    plan.triggers = std::move(*triggers);

    // Refuse before writing anything: deleting a managed source or agent that an API-made
    // trigger uses would delete (source: ON DELETE CASCADE) or orphan that trigger.
    auto declares = [&](const std::vector<DeclaredObject>* list, const std::string& name) {
      return list != nullptr &&
             std::any_of(list->begin(), list->end(), [&](const auto& d) { return d.name == name; });
    };
    for (const auto& trigger : plan.triggers) {
      if (!trigger.managed_by.empty()) continue;
      for (const auto& source : plan.sources) {
        if (source.id == trigger.source_id && !source.managed_by.empty() &&
            !declares(plan.decl ? &plan.decl->sources : nullptr, source.name)) {
          return Status::Conflict("source " + Quote(source.name) + " of workspace " +
                                  Quote(ws.name) + " is no longer declared, but trigger " +
                                  trigger.id + " (made through the API) uses it: delete that " +
                                  "trigger first, or keep the source in the file");
        }
      }
      for (const auto& agent : plan.agents) {
        if (agent.id == trigger.agent_id && !agent.managed_by.empty() &&
            !declares(plan.decl ? &plan.decl->agents : nullptr, agent.name)) {
          return Status::Conflict("agent " + Quote(agent.name) + " of workspace " + Quote(ws.name) +
                                  " is no longer declared, but trigger " + trigger.id +
                                  " (made through the API) uses it: delete or " +
                                  "change that trigger first, or keep the agent in the file");
        }
      }
    }
    plans.push_back(std::move(plan));
  }
  if (!config.declares_workspaces) {
    size_t managed = 0;
    auto count = [&](const auto& objects) {
      for (const auto& object : objects) managed += object.managed_by.empty() ? 0 : 1;
    };
    for (const Plan& plan : plans) {
      count(plan.sources);
      count(plan.agents);
      count(plan.triggers);
    }
    if (managed > 0) {
      return Status::InvalidArgument(
          config.path + ": the file has no workspaces: section, but " + std::to_string(managed) +
              " sources, agents and triggers were declared in it; nothing was deleted (a file "
              "caught mid-write?). To delete them all, write \"workspaces: []\"",
          "invalid_config");
    }
  }
  for (const auto& ws : config.workspaces) {
    if (found.count(ws.name) != 0) continue;
    store::Workspace created{NewId("ws"), ws.name, now};
    TRIGGERD_RETURN_IF_ERROR(store_->CreateWorkspace(created));
    ++summary.workspaces_created;
    plans.push_back(Plan{created.id, &ws, {}, {}, {}});
  }

  for (Plan& plan : plans) {
    std::vector<store::Source> extra_sources;
    std::vector<store::Agent> extra_agents;
    std::vector<store::Trigger> extra_triggers;
    auto sources = ByName(plan.sources, &extra_sources);
    auto agents = ByName(plan.agents, &extra_agents);
    auto triggers = ByName(plan.triggers, &extra_triggers);
    static const std::vector<DeclaredObject> kNone;
    const auto& decl_sources = plan.decl ? plan.decl->sources : kNone;
    const auto& decl_agents = plan.decl ? plan.decl->agents : kNone;
    const auto& decl_triggers = plan.decl ? plan.decl->triggers : kNone;
    std::map<std::string, std::string> source_ids, agent_ids;  // declared name -> id

    // 1. Sources: create or update in place (id and url_secret never change: a stable URL).
    for (const auto& d : decl_sources) {
      auto it = sources.find(d.name);
      const store::Source* existing = it == sources.end() ? nullptr : &it->second;
      store::Source source;
      Identify(&source, existing, "src", plan.id, now);
      source.url_secret = existing ? existing->url_secret : crypto::RandomToken(32);
      api::IssuedSourceSecrets issued;
      if (auto e = api::ApplySourceBody(d.body, true, false, &source, &issued)) {
        return Internal("source " + Quote(d.name), *e);
      }
      // The file's token, kept as its hash like the API's (a generated one was made above).
      source.token_hash =
          d.token.empty()
              ? ""
              : crypto::HexEncode(crypto::Digest(crypto::DigestAlgorithm::kSha256, d.token));
      source_ids[d.name] = source.id;
      if (existing == nullptr) {
        TRIGGERD_RETURN_IF_ERROR(store_->CreateSource(source));
        ++summary.sources.created;
      } else if (!SameSource(source, *existing)) {
        source.updated_at = now;
        TRIGGERD_RETURN_IF_ERROR(store_->UpdateSource(source));
        ++summary.sources.updated;
      } else {
        ++summary.sources.unchanged;
        continue;
      }
      ingestor_->Upsert(source);
      if (producer_ != nullptr) producer_->Upsert(source);
    }

    // 2. Agents. A generated signing secret is kept: re-applying must not change it.
    for (const auto& d : decl_agents) {
      auto it = agents.find(d.name);
      const store::Agent* existing = it == agents.end() ? nullptr : &it->second;
      store::Agent agent;
      Identify(&agent, existing, "agt", plan.id, now);
      agent.signing_secret = !d.signing_secret.empty() ? d.signing_secret
                             : existing != nullptr     ? existing->signing_secret
                                                       : "";
      std::string issued;
      if (auto e = api::ApplyAgentBody(d.body, true, false, &agent, &issued)) {
        return Internal("agent " + Quote(d.name), *e);
      }
      agent_ids[d.name] = agent.id;
      if (existing == nullptr) {
        TRIGGERD_RETURN_IF_ERROR(store_->CreateAgent(agent));
        // TODO(issue 17): dropped when this write goes through catalog::Catalog.
        ingestor_->UpsertAgent(agent);
        ++summary.agents.created;
        if (!issued.empty()) {
          // Never shown (it would land in the log): the agent cannot verify its deliveries.
          spdlog::warn(
              "declared agent \"{}\" signs its deliveries with a generated secret that is never "
              "shown; give it signing_secret: ${{…}} in {} if it verifies webhook-signature",
              d.name, config.path);
        }
      } else if (!SameAgent(agent, *existing)) {
        agent.updated_at = now;
        TRIGGERD_RETURN_IF_ERROR(store_->UpdateAgent(agent));
        // TODO(issue 17): dropped when this write goes through catalog::Catalog.
        ingestor_->UpsertAgent(agent);
        ++summary.agents.updated;
        if (dispatcher_ != nullptr) dispatcher_->ForgetAgent(agent.id);
      } else {
        ++summary.agents.unchanged;
      }
    }

    // 3. Triggers. One whose source changed is replaced (a trigger's match records and runs
    // belong to its source's events, so the API never moves a trigger either).
    for (const auto& d : decl_triggers) {
      auto it = triggers.find(d.name);
      const store::Trigger* existing = it == triggers.end() ? nullptr : &it->second;
      const std::string& source_id = source_ids.at(d.source);
      bool replaced = false;
      if (existing != nullptr && existing->source_id != source_id) {
        TRIGGERD_RETURN_IF_ERROR(store_->DeleteTrigger(plan.id, existing->id));
        ingestor_->RemoveTrigger(existing->id);
        triggers.erase(it);
        existing = nullptr;
        replaced = true;
      }
      store::Trigger trigger;
      Identify(&trigger, existing, "trg", plan.id, now);
      boost::json::object body = d.body;
      body["source_id"] = source_id;
      body["agent_id"] = agent_ids.at(d.agent);
      if (auto e = api::ApplyTriggerBody(nullptr, body, true, &trigger)) {
        return Internal("trigger " + Quote(d.name), *e);
      }
      if (existing == nullptr) {
        TRIGGERD_RETURN_IF_ERROR(store_->CreateTrigger(trigger));
        ++(replaced ? summary.triggers.updated : summary.triggers.created);
      } else if (!SameTrigger(trigger, *existing)) {
        trigger.updated_at = now;
        TRIGGERD_RETURN_IF_ERROR(store_->UpdateTrigger(trigger));
        ++summary.triggers.updated;
      } else {
        ++summary.triggers.unchanged;
        continue;
      }
      ingestor_->UpsertTrigger(trigger);
      LogFilterWarnings(store_, plan.id, d.name, trigger, config.path);
    }

    // 4. Deletes, triggers first: nothing managed then refers to an agent or source that goes.
    auto undeclared = [](const std::vector<DeclaredObject>& list, const std::string& name) {
      return std::none_of(list.begin(), list.end(),
                          [&](const DeclaredObject& d) { return d.name == name; });
    };
    for (const auto& [name, trigger] : triggers) {
      if (!undeclared(decl_triggers, name)) continue;
      extra_triggers.push_back(trigger);
    }
    for (const auto& trigger : extra_triggers) {
      TRIGGERD_RETURN_IF_ERROR(store_->DeleteTrigger(plan.id, trigger.id));
      ingestor_->RemoveTrigger(trigger.id);
      ++summary.triggers.deleted;
    }
    for (const auto& [name, agent] : agents) {
      if (undeclared(decl_agents, name)) extra_agents.push_back(agent);
    }
    for (const auto& agent : extra_agents) {
      TRIGGERD_RETURN_IF_ERROR(store_->DeleteAgent(plan.id, agent.id));
      if (dispatcher_ != nullptr) dispatcher_->ForgetAgent(agent.id);
      // TODO(issue 17): dropped when this write goes through catalog::Catalog.
      ingestor_->RemoveAgent(agent.id);
      ++summary.agents.deleted;
    }
    for (const auto& [name, source] : sources) {
      if (undeclared(decl_sources, name)) extra_sources.push_back(source);
    }
    for (const auto& source : extra_sources) {
      TRIGGERD_RETURN_IF_ERROR(store_->DeleteSource(plan.id, source.id));
      ingestor_->Remove(source.id);
      if (producer_ != nullptr) producer_->Remove(source.id);
      ++summary.sources.deleted;
    }
  }
  return summary;
}

Result<ApplySummary> ReloadDeclared(const std::string& path, const EnvLookup& env,
                                    DeclaredApplier* applier) {
  Config settings;
  TRIGGERD_RETURN_IF_ERROR(LoadConfigFile(path, &settings));
  auto config = LoadDeclared(path, env);
  if (!config) return config.error();
  auto summary = applier->Apply(*config);
  if (!summary)
    return Status(summary.error().type(), summary.error().code(),
                  config->Redact(summary.error().message()));
  return summary;
}

// ---- FileWatcher ----

struct FileWatcher::State {
  std::string path;
  std::chrono::milliseconds interval;
  std::function<void()> on_change;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;  // guarded by mu
  std::thread thread;

  // The file's content; nullopt when it cannot be read (missing, mid-rename).
  std::optional<std::string> Read() const {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
  }

  void Loop() {
    std::optional<std::string> applied = Read();
    std::optional<std::string> previous = applied;
    std::unique_lock<std::mutex> lock(mu);
    while (!cv.wait_for(lock, interval, [this] { return stop; })) {
      lock.unlock();
      std::optional<std::string> now = Read();
      if (now == previous && now != applied) {
        applied = now;
        on_change();
      }
      previous = std::move(now);
      lock.lock();
    }
  }
};

FileWatcher::FileWatcher(std::string path, std::chrono::milliseconds interval,
                         std::function<void()> on_change)
    : state_(std::make_unique<State>()) {
  state_->path = std::move(path);
  state_->interval = interval;
  state_->on_change = std::move(on_change);
  state_->thread = std::thread([state = state_.get()] { state->Loop(); });
}

FileWatcher::~FileWatcher() { Stop(); }

void FileWatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = true;
  }
  state_->cv.notify_all();
  if (state_->thread.joinable()) state_->thread.join();
}

}  // namespace triggerd::app
