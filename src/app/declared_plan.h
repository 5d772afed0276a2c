// The plan step of the declared config (app/declared.h): a pure function from what the file
// declares and what the store holds to the writes that make the store match, or a refusal. No
// store, no I/O: the time and new identities come in through PlanSeams, so a plan is tested with
// plain structs and applied by DeclaredApplier (declared_apply.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "app/declared.h"
#include "common/result.h"
#include "store/store.h"

namespace triggerd::app {

// One stored workspace with all its objects, managed or not (triggers made through the API
// decide the refusals).
struct CurrentWorkspace {
  store::Workspace workspace;
  std::vector<store::Source> sources;
  std::vector<store::Agent> agents;
  std::vector<store::Trigger> triggers;
};

// What a plan cannot decide by itself. DefaultSeams: NewId and crypto::RandomToken(32).
struct PlanSeams {
  int64_t now = 0;                                             // created_at / updated_at
  std::function<std::string(std::string_view prefix)> new_id;  // "ws", "src", "agt", "trg"
  std::function<std::string()> new_url_secret;                 // a new source's URL secret
};
PlanSeams DefaultSeams(int64_t now);

enum class PlanAction {
  kCreate,
  kUpdate,
  // Delete `replaced_id`, then create `object` (a new id): a trigger moved to another source
  // (its match records and runs belong to its source's events, so it is never moved in place).
  // Counted as an update.
  kReplace,
  kDelete,
  kUnchanged,
};

template <typename T>
struct PlannedObject {
  PlanAction action = PlanAction::kUnchanged;
  // What the store holds afterwards; for kDelete, the stored object that goes.
  T object;
  std::string replaced_id;        // kReplace only
  bool generated_secret = false;  // agents: a signing secret made now, that nobody will see
};

// One workspace's writes. The lists hold the declared objects in file order, then the deletes.
struct WorkspacePlan {
  std::string id;
  std::string name;
  bool create = false;  // declared but not stored yet: created (with `id`) before any object
  std::vector<PlannedObject<store::Source>> sources;
  std::vector<PlannedObject<store::Agent>> agents;
  std::vector<PlannedObject<store::Trigger>> triggers;
};

struct DeclaredPlan {
  // The stored workspaces in store order, then the ones to create in file order.
  std::vector<WorkspacePlan> workspaces;
  // The counts an Apply of this plan reports.
  ApplySummary Summary() const;
};

// Plans `config` over `current` (every stored workspace). Declared objects are matched to the
// stored managed ones by (workspace name, kind, name): absent ones are created, changed ones
// updated (id, URL secret and created_* kept; updated_at = seams.now), equal ones left alone,
// and managed ones the file no longer declares deleted (so a renamed object is a delete and a
// create). A generated agent signing secret is kept across plans; the file's source token is
// kept as its SHA-256. Refusals, before anything would be written:
//   kConflict: two stored workspaces have a declared name; a managed source or agent that the
//     file no longer declares is used by a trigger made through the API;
//   kInvalidArgument: the file has no `workspaces:` key (declares_workspaces false) while
//     managed objects exist (nothing is deleted);
//   kInternal: a body the load step validated no longer validates.
Result<DeclaredPlan> PlanDeclared(const DeclaredConfig& config,
                                  const std::vector<CurrentWorkspace>& current,
                                  const PlanSeams& seams);

}  // namespace triggerd::app
