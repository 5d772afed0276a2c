// The apply step of the declared config: the store's current objects in, a plan
// (declared_plan.h), its writes through the catalog.
#include <spdlog/spdlog.h>

#include <utility>

#include "app/declared.h"
#include "app/declared_plan.h"
#include "catalog/catalog.h"
#include "filter/filter.h"
#include "store/store.h"
#include "verify/catalog.h"

namespace triggerd::app {
namespace {

std::string Plural(int n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

// Every stored workspace with all its objects.
Result<std::vector<CurrentWorkspace>> ReadCurrent(store::Store* store) {
  auto workspaces = store->ListWorkspaces();
  if (!workspaces) return workspaces.error();
  std::vector<CurrentWorkspace> current;
  for (auto& ws : *workspaces) {
    auto sources = store->ListSources(ws.id);
    if (!sources) return sources.error();
    auto agents = store->ListAgents(ws.id);
    if (!agents) return agents.error();
    auto triggers = store->ListTriggers(ws.id, "", "");
    if (!triggers) return triggers.error();
    current.push_back(
        {std::move(ws), std::move(*sources), std::move(*agents), std::move(*triggers)});
  }
  return current;
}

// What the API answers as `warnings` when a trigger is saved (fields its filter reads that the
// source's provider never sends for the subscribed event types: a likely typo), logged for a
// declared one, which has nobody to answer.
void LogFilterWarnings(const WorkspacePlan& ws, const store::Trigger& trigger,
                       const std::string& path) {
  auto compiled = filter::Compile(trigger.filter);
  if (!compiled) return;
  for (const std::string& warning : filter::Warnings(*compiled)) {
    spdlog::warn("declared trigger \"{}\" ({}): filter {}", trigger.name, path, warning);
  }
  for (const auto& source : ws.sources) {
    if (source.action == PlanAction::kDelete || source.object.id != trigger.source_id) continue;
    for (const std::string& warning : verify::FilterWarnings(
             source.object.kind, trigger.event_types, filter::ReferencedFields(*compiled))) {
      spdlog::warn("declared trigger \"{}\" ({}): {}", trigger.name, path, warning);
    }
  }
}

// One workspace's writes, in the order that leaves a consistent store if one fails midway:
// sources and agents, then triggers; deletes of triggers before those of agents and sources.
Status ExecuteWorkspace(catalog::Catalog* catalog, const WorkspacePlan& ws,
                        const std::string& path) {
  for (const auto& p : ws.sources) {
    if (p.action == PlanAction::kCreate) TRIGGERD_RETURN_IF_ERROR(catalog->CreateSource(p.object));
    if (p.action == PlanAction::kUpdate) TRIGGERD_RETURN_IF_ERROR(catalog->UpdateSource(p.object));
  }
  for (const auto& p : ws.agents) {
    if (p.action == PlanAction::kCreate) {
      TRIGGERD_RETURN_IF_ERROR(catalog->CreateAgent(p.object));
      if (p.generated_secret) {
        // Never shown (it would land in the log): the agent cannot verify its deliveries.
        spdlog::warn(
            "declared agent \"{}\" signs its deliveries with a generated secret that is never "
            "shown; give it signing_secret: ${{…}} in {} if it verifies webhook-signature",
            p.object.name, path);
      }
    }
    if (p.action == PlanAction::kUpdate) TRIGGERD_RETURN_IF_ERROR(catalog->UpdateAgent(p.object));
  }
  for (const auto& p : ws.triggers) {
    if (p.action == PlanAction::kReplace) {
      TRIGGERD_RETURN_IF_ERROR(catalog->DeleteTrigger(ws.id, p.replaced_id));
    }
    if (p.action == PlanAction::kCreate || p.action == PlanAction::kReplace) {
      TRIGGERD_RETURN_IF_ERROR(catalog->CreateTrigger(p.object));
    } else if (p.action == PlanAction::kUpdate) {
      TRIGGERD_RETURN_IF_ERROR(catalog->UpdateTrigger(p.object));
    } else {
      continue;
    }
    LogFilterWarnings(ws, p.object, path);
  }
  for (const auto& planned : ws.triggers) {
    if (planned.action != PlanAction::kDelete) continue;
    TRIGGERD_RETURN_IF_ERROR(catalog->DeleteTrigger(ws.id, planned.object.id));
  }
  for (const auto& planned : ws.agents) {
    if (planned.action != PlanAction::kDelete) continue;
    TRIGGERD_RETURN_IF_ERROR(catalog->DeleteAgent(ws.id, planned.object.id));
  }
  for (const auto& planned : ws.sources) {
    if (planned.action != PlanAction::kDelete) continue;
    TRIGGERD_RETURN_IF_ERROR(catalog->DeleteSource(ws.id, planned.object.id));
  }
  return Status::Ok();
}

}  // namespace

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

DeclaredApplier::DeclaredApplier(catalog::Catalog* catalog, const Clock* clock)
    : catalog_(catalog), clock_(clock) {}

Result<ApplySummary> DeclaredApplier::Apply(const DeclaredConfig& config) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_->NowMicros();
  auto current = ReadCurrent(catalog_->store());
  if (!current) return current.error();
  auto plan = PlanDeclared(config, *current, DefaultSeams(now));
  if (!plan) return plan.error();
  // Workspaces have no cache to tell: straight to the store, before any of their objects.
  for (const WorkspacePlan& ws : plan->workspaces) {
    if (!ws.create) continue;
    TRIGGERD_RETURN_IF_ERROR(catalog_->store()->CreateWorkspace({ws.id, ws.name, now}));
  }
  for (const WorkspacePlan& ws : plan->workspaces) {
    TRIGGERD_RETURN_IF_ERROR(ExecuteWorkspace(catalog_, ws, config.path));
  }
  return plan->Summary();
}

}  // namespace triggerd::app
