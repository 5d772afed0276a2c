#include "app/declared_plan.h"

#include <algorithm>
#include <map>
#include <set>

#include "catalog/validate.h"
#include "common/crypto.h"
#include "common/ids.h"

namespace triggerd::app {
namespace {

// created_by of declared objects (an API key id elsewhere); also the owner of their runs.
constexpr std::string_view kConfigOwner = "config";

std::string Quote(std::string_view name) { return "\"" + std::string(name.substr(0, 200)) + "\""; }

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

bool Same(const store::Source& a, const store::Source& b) { return SameSource(a, b); }
bool Same(const store::Agent& a, const store::Agent& b) { return SameAgent(a, b); }
bool Same(const store::Trigger& a, const store::Trigger& b) { return SameTrigger(a, b); }

// Identity and bookkeeping members: kept from the stored object, or new.
template <typename T>
void Identify(T* object, const T* existing, const char* id_prefix, const std::string& workspace_id,
              const PlanSeams& seams) {
  if (existing != nullptr) {
    object->id = existing->id;
    object->created_by = existing->created_by;
    object->created_at = existing->created_at;
    object->updated_at = existing->updated_at;
  } else {
    object->id = seams.new_id(id_prefix);
    object->created_by = std::string(kConfigOwner);
    object->created_at = object->updated_at = seams.now;
  }
  object->workspace_id = workspace_id;
  object->managed_by = std::string(store::kManagedByConfig);
}

// Create, update or unchanged, from the stored object (null: none) and the desired one.
template <typename T>
PlannedObject<T> Decide(T object, const T* existing, const PlanSeams& seams) {
  PlannedObject<T> planned;
  if (existing == nullptr) {
    planned.action = PlanAction::kCreate;
  } else if (!Same(object, *existing)) {
    planned.action = PlanAction::kUpdate;
    object.updated_at = seams.now;
  } else {
    planned.action = PlanAction::kUnchanged;
  }
  planned.object = std::move(object);
  return planned;
}

Status Internal(const std::string& what, const catalog::BodyError& e) {
  // Validated when loaded; the same body cannot fail now unless something is badly wrong.
  return Status::Internal(what + ": " + e.status.message());
}

// The managed objects of one kind, by name; extra ones with a name already seen (never made by
// this code, but a converging apply cleans them up) go to `extra`.
template <typename T>
std::map<std::string, const T*> ByName(const std::vector<T>& all, std::vector<const T*>* extra) {
  std::map<std::string, const T*> out;
  for (const auto& object : all) {
    if (object.managed_by.empty()) continue;
    if (!out.emplace(object.name, &object).second) extra->push_back(&object);
  }
  return out;
}

bool Declares(const std::vector<DeclaredObject>& list, const std::string& name) {
  return std::any_of(list.begin(), list.end(),
                     [&](const DeclaredObject& d) { return d.name == name; });
}

const std::vector<DeclaredObject> kNone;

// Deleting a managed source or agent that an API-made trigger uses would delete (source: ON
// DELETE CASCADE) or orphan that trigger: the whole apply is refused instead.
Status CheckApiTriggers(const CurrentWorkspace& ws, const DeclaredWorkspace* decl) {
  const auto& sources = decl ? decl->sources : kNone;
  const auto& agents = decl ? decl->agents : kNone;
  const std::string& name = ws.workspace.name;
  for (const auto& trigger : ws.triggers) {
    if (!trigger.managed_by.empty()) continue;
    for (const auto& source : ws.sources) {
      if (source.id == trigger.source_id && !source.managed_by.empty() &&
          !Declares(sources, source.name)) {
        return Status::Conflict("source " + Quote(source.name) + " of workspace " + Quote(name) +
                                " is no longer declared, but trigger " + trigger.id +
                                " (made through the API) uses it: delete that " +
                                "trigger first, or keep the source in the file");
      }
    }
    for (const auto& agent : ws.agents) {
      if (agent.id == trigger.agent_id && !agent.managed_by.empty() &&
          !Declares(agents, agent.name)) {
        return Status::Conflict("agent " + Quote(agent.name) + " of workspace " + Quote(name) +
                                " is no longer declared, but trigger " + trigger.id +
                                " (made through the API) uses it: delete or " +
                                "change that trigger first, or keep the agent in the file");
      }
    }
  }
  return Status::Ok();
}

// A file without a `workspaces:` key (empty, truncated, caught mid-write) deletes nothing.
Status CheckDeclaresWorkspaces(const DeclaredConfig& config,
                               const std::vector<CurrentWorkspace>& current) {
  if (config.declares_workspaces) return Status::Ok();
  size_t managed = 0;
  auto count = [&](const auto& objects) {
    for (const auto& object : objects) managed += object.managed_by.empty() ? 0 : 1;
  };
  for (const CurrentWorkspace& ws : current) {
    count(ws.sources);
    count(ws.agents);
    count(ws.triggers);
  }
  if (managed == 0) return Status::Ok();
  return Status::InvalidArgument(
      config.path + ": the file has no workspaces: section, but " + std::to_string(managed) +
          " sources, agents and triggers were declared in it; nothing was deleted (a file "
          "caught mid-write?). To delete them all, write \"workspaces: []\"",
      "invalid_config");
}

// Plans one workspace: `current` null for one to create, `decl` null for a stored workspace the
// file does not declare (its managed objects go).
class WorkspacePlanner {
 public:
  WorkspacePlanner(const CurrentWorkspace* current, const DeclaredWorkspace* decl,
                   const PlanSeams& seams, WorkspacePlan* out)
      : current_(current ? *current : kEmpty), decl_(decl), seams_(seams), out_(out) {}

  Status Plan() {
    TRIGGERD_RETURN_IF_ERROR(Sources());
    TRIGGERD_RETURN_IF_ERROR(Agents());
    TRIGGERD_RETURN_IF_ERROR(Triggers());
    Deletes(current_.sources, decl_ ? decl_->sources : kNone, &out_->sources);
    Deletes(current_.agents, decl_ ? decl_->agents : kNone, &out_->agents);
    // A replaced trigger keeps its declared name: it is not among these.
    Deletes(current_.triggers, decl_ ? decl_->triggers : kNone, &out_->triggers);
    return Status::Ok();
  }

 private:
  template <typename T>
  static const T* Managed(const std::vector<T>& all, const std::string& name) {
    for (const auto& object : all) {
      if (!object.managed_by.empty() && object.name == name) return &object;
    }
    return nullptr;
  }

  // Sources are updated in place: id and url_secret never change (a stable ingest URL).
  Status Sources() {
    if (decl_ == nullptr) return Status::Ok();
    for (const auto& d : decl_->sources) {
      const store::Source* existing = Managed(current_.sources, d.name);
      store::Source source;
      Identify(&source, existing, "src", out_->id, seams_);
      source.url_secret = existing ? existing->url_secret : seams_.new_url_secret();
      catalog::IssuedSourceSecrets issued;
      if (auto e = catalog::ApplySourceBody(d.body, true, false, &source, &issued)) {
        return Internal("source " + Quote(d.name), *e);
      }
      // The file's token, kept as its hash like the API's (the validator generated one above).
      source.token_hash = d.token.empty() ? "" : crypto::SecretHash(d.token);
      source_ids_[d.name] = source.id;
      out_->sources.push_back(Decide(std::move(source), existing, seams_));
    }
    return Status::Ok();
  }

  // A generated signing secret is kept: re-applying must not change it.
  Status Agents() {
    if (decl_ == nullptr) return Status::Ok();
    for (const auto& d : decl_->agents) {
      const store::Agent* existing = Managed(current_.agents, d.name);
      store::Agent agent;
      Identify(&agent, existing, "agt", out_->id, seams_);
      agent.signing_secret = !d.signing_secret.empty() ? d.signing_secret
                             : existing != nullptr     ? existing->signing_secret
                                                       : "";
      std::string issued;
      if (auto e = catalog::ApplyAgentBody(d.body, true, false, &agent, &issued)) {
        return Internal("agent " + Quote(d.name), *e);
      }
      agent_ids_[d.name] = agent.id;
      out_->agents.push_back(Decide(std::move(agent), existing, seams_));
      out_->agents.back().generated_secret = !issued.empty();
    }
    return Status::Ok();
  }

  // A trigger whose source changed (a different source, or one renamed: a new id) is replaced.
  Status Triggers() {
    if (decl_ == nullptr) return Status::Ok();
    for (const auto& d : decl_->triggers) {
      const store::Trigger* existing = Managed(current_.triggers, d.name);
      // Both declared in this workspace: the load step checked the references.
      const std::string& source_id = source_ids_.at(d.source);
      std::string replaced_id;
      if (existing != nullptr && existing->source_id != source_id) {
        replaced_id = existing->id;
        existing = nullptr;
      }
      store::Trigger trigger;
      Identify(&trigger, existing, "trg", out_->id, seams_);
      boost::json::object body = d.body;
      body["source_id"] = source_id;
      body["agent_id"] = agent_ids_.at(d.agent);
      if (auto e = catalog::ApplyTriggerBody(nullptr, body, true, &trigger)) {
        return Internal("trigger " + Quote(d.name), *e);
      }
      out_->triggers.push_back(Decide(std::move(trigger), existing, seams_));
      if (!replaced_id.empty()) {
        out_->triggers.back().action = PlanAction::kReplace;
        out_->triggers.back().replaced_id = std::move(replaced_id);
      }
    }
    return Status::Ok();
  }

  // Managed objects the file no longer declares, and extra ones sharing a declared name.
  template <typename T>
  static void Deletes(const std::vector<T>& stored, const std::vector<DeclaredObject>& declared,
                      std::vector<PlannedObject<T>>* out) {
    std::vector<const T*> gone;
    for (const auto& [name, object] : ByName(stored, &gone)) {
      if (!Declares(declared, name)) gone.push_back(object);
    }
    for (const T* object : gone) {
      PlannedObject<T> planned;
      planned.action = PlanAction::kDelete;
      planned.object = *object;
      out->push_back(std::move(planned));
    }
  }

  static const CurrentWorkspace kEmpty;
  const CurrentWorkspace& current_;
  const DeclaredWorkspace* decl_;
  const PlanSeams& seams_;
  WorkspacePlan* out_;
  std::map<std::string, std::string> source_ids_, agent_ids_;  // declared name -> id
};

const CurrentWorkspace WorkspacePlanner::kEmpty;

}  // namespace

PlanSeams DefaultSeams(int64_t now) {
  PlanSeams seams;
  seams.now = now;
  seams.new_id = [](std::string_view prefix) { return NewId(prefix); };
  seams.new_url_secret = [] { return crypto::RandomToken(32); };
  return seams;
}

ApplySummary DeclaredPlan::Summary() const {
  ApplySummary summary;
  auto count = [](const auto& planned, ApplyCounts* counts) {
    for (const auto& p : planned) {
      switch (p.action) {
        case PlanAction::kCreate:
          ++counts->created;
          break;
        case PlanAction::kUpdate:
        case PlanAction::kReplace:
          ++counts->updated;
          break;
        case PlanAction::kDelete:
          ++counts->deleted;
          break;
        case PlanAction::kUnchanged:
          ++counts->unchanged;
          break;
      }
    }
  };
  for (const WorkspacePlan& ws : workspaces) {
    summary.workspaces_created += ws.create ? 1 : 0;
    count(ws.sources, &summary.sources);
    count(ws.agents, &summary.agents);
    count(ws.triggers, &summary.triggers);
  }
  return summary;
}

Result<DeclaredPlan> PlanDeclared(const DeclaredConfig& config,
                                  const std::vector<CurrentWorkspace>& current,
                                  const PlanSeams& seams) {
  std::map<std::string, const DeclaredWorkspace*> declared;
  for (const auto& ws : config.workspaces) declared[ws.name] = &ws;

  // Every refusal before any planned write, in the order the stored workspaces come.
  std::vector<const DeclaredWorkspace*> decls;  // per stored workspace; nullptr: not declared
  std::set<std::string> found;
  for (const CurrentWorkspace& ws : current) {
    const DeclaredWorkspace* decl = nullptr;
    if (auto it = declared.find(ws.workspace.name); it != declared.end()) {
      if (!found.insert(ws.workspace.name).second) {
        return Status::Conflict("two workspaces are named " + Quote(ws.workspace.name) +
                                "; the file cannot tell which one it declares");
      }
      decl = it->second;
    }
    TRIGGERD_RETURN_IF_ERROR(CheckApiTriggers(ws, decl));
    decls.push_back(decl);
  }
  TRIGGERD_RETURN_IF_ERROR(CheckDeclaresWorkspaces(config, current));

  DeclaredPlan plan;
  for (size_t i = 0; i < current.size(); ++i) {
    WorkspacePlan ws;
    ws.id = current[i].workspace.id;
    ws.name = current[i].workspace.name;
    TRIGGERD_RETURN_IF_ERROR(WorkspacePlanner(&current[i], decls[i], seams, &ws).Plan());
    plan.workspaces.push_back(std::move(ws));
  }
  for (const auto& decl : config.workspaces) {
    if (found.count(decl.name) != 0) continue;
    WorkspacePlan ws;
    ws.id = seams.new_id("ws");
    ws.name = decl.name;
    ws.create = true;
    TRIGGERD_RETURN_IF_ERROR(WorkspacePlanner(nullptr, &decl, seams, &ws).Plan());
    plan.workspaces.push_back(std::move(ws));
  }
  return plan;
}

}  // namespace triggerd::app
