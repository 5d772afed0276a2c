#include "app/admin_commands.h"

#include "api/api.h"
#include "app/data_dir.h"
#include "common/clock.h"

namespace triggerd::app {
namespace {

constexpr int kFailed = 1;
constexpr int kUsage = 2;

Result<store::Workspace> FindWorkspace(store::Store* store, const std::string& id_or_name) {
  auto all = store->ListWorkspaces();
  if (!all) return all.error();
  const store::Workspace* found = nullptr;
  for (const store::Workspace& w : *all) {
    if (w.id == id_or_name) return w;
    if (w.name == id_or_name) {
      if (found != nullptr) {
        return Status::InvalidArgument("two workspaces are named \"" + id_or_name +
                                       "\": give the id");
      }
      found = &w;
    }
  }
  if (found == nullptr) {
    return Status::NotFound("no workspace \"" + id_or_name +
                            "\" (the first `triggerd serve` creates \"default\")");
  }
  return *found;
}

}  // namespace

int RunMigrate(const std::string& data_dir, const std::string& storage, std::ostream& out,
               std::ostream& err) {
  auto opened = OpenDataDir(data_dir, StorageChoice{storage, 2, ""});
  if (!opened) {
    err << "error: " << opened.error().message() << "\n";
    return kFailed;
  }
  opened->store->Close();
  out << "database " << DescribeStorage(data_dir, storage) << " is at schema version "
      << (opened->postgres ? store::LatestPostgresSchemaVersion()
                           : store::LatestSqliteSchemaVersion())
      << "\n";
  return 0;
}

int RunKey(const KeyCommand& command, std::ostream& out, std::ostream& err) {
  if (command.action != "create" && command.action != "list" && command.action != "revoke") {
    err << "error: key takes create, list or revoke\n";
    return kUsage;
  }
  std::optional<store::Role> role = store::ParseRole(command.role);
  if (command.action == "create" && !role) {
    err << "error: --role must be admin, builder or user\n";
    return kUsage;
  }
  if (command.action == "create" && (command.name.empty() || command.name.size() > 200)) {
    err << "error: --name must be 1 to 200 characters\n";
    return kUsage;
  }
  if (command.action == "revoke" && command.key_id.empty()) {
    err << "error: key revoke needs a KEY_ID (see key list)\n";
    return kUsage;
  }
  auto opened = OpenDataDir(command.data_dir, StorageChoice{command.storage, 2, ""});
  if (!opened) {
    err << "error: " << opened.error().message() << "\n";
    return kFailed;
  }
  store::Store* store = opened->store.get();
  const Clock& clock = SystemClock::Instance();
  auto fail = [&](const Status& s) {
    err << "error: " << s.message() << "\n";
    store->Close();
    return kFailed;
  };

  if (command.action == "create") {
    auto workspace = FindWorkspace(store, command.workspace);
    if (!workspace) return fail(workspace.error());
    auto issued = api::IssueApiKey(store, clock, workspace->id, command.name, *role, "cli");
    if (!issued) return fail(issued.error());
    store->Close();
    err << "created " << store::RoleName(issued->record.role) << " key " << issued->record.id
        << " in workspace " << workspace->name << " (" << workspace->id
        << "); it is shown only now:\n";
    out << issued->secret << "\n";
    return 0;
  }

  auto workspaces = store->ListWorkspaces();
  if (!workspaces) return fail(workspaces.error());
  if (command.action == "list") {
    out << "id\tworkspace\trole\tname\tprefix\tcreated_at\trevoked_at\n";
    for (const store::Workspace& w : *workspaces) {
      auto keys = store->ListApiKeys(w.id);
      if (!keys) return fail(keys.error());
      for (const store::ApiKey& k : *keys) {
        out << k.id << "\t" << w.name << "\t" << store::RoleName(k.role) << "\t" << k.name << "\t"
            << k.prefix << "\t" << FormatRfc3339(k.created_at) << "\t"
            << (k.revoked_at ? FormatRfc3339(*k.revoked_at) : "-") << "\n";
      }
    }
    store->Close();
    return 0;
  }

  // revoke
  for (const store::Workspace& w : *workspaces) {
    auto keys = store->ListApiKeys(w.id);
    if (!keys) return fail(keys.error());
    for (const store::ApiKey& k : *keys) {
      if (k.id != command.key_id) continue;
      if (k.revoked_at) {
        store->Close();
        err << "key " << k.id << " was already revoked\n";
        return 0;
      }
      if (Status s = store->RevokeApiKey(w.id, k.id, clock.NowMicros()); !s.ok()) return fail(s);
      store->Close();
      err << "revoked key " << k.id << " (" << k.name << ", workspace " << w.name << ")\n";
      return 0;
    }
  }
  return fail(Status::NotFound("no key " + command.key_id));
}

}  // namespace triggerd::app
