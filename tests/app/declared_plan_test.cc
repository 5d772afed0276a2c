// The plan of the declared config (app/declared_plan.h) without a store: declared objects and
// stored objects as plain structs in, the planned writes (create, update, replace, delete,
// unchanged) or a refusal out. "Applying" a plan here is keeping its objects as the next
// current state, which is what DeclaredApplier makes the store hold.
#include "app/declared_plan.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "test_util.h"

namespace triggerd::app {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000;
constexpr char kSigning[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

DeclaredObject Object(const std::string& name, const std::string& body_json) {
  DeclaredObject d;
  d.name = name;
  d.line = 1;
  d.body = boost::json::parse(body_json).as_object();
  d.body["name"] = name;
  return d;
}

DeclaredObject Trigger(const std::string& name, const std::string& source, const std::string& agent,
                       const std::string& filter = "") {
  DeclaredObject d = Object(name, filter.empty() ? "{}" : R"({"filter":")" + filter + R"("})");
  d.source = source;
  d.agent = agent;
  return d;
}

// The file of tests/app/declared_test.cc's kGood, as the load step leaves it.
DeclaredWorkspace Default() {
  DeclaredWorkspace ws;
  ws.name = "default";
  ws.sources = {Object("github-main", R"({"kind":"github","secret":"gh-secret-value-1234"})"),
                Object("plain", R"({"max_body_bytes":2048})")};
  ws.agents = {Object("triage", R"({"target":{"type":"http","url":"http://127.0.0.1:9/run"},)"
                                R"("max_attempts":3})")};
  ws.triggers = {Trigger("big-prs", "github-main", "triage", R"((eq \"action\" \"opened\"))"),
                 Trigger("everything", "plain", "triage")};
  return ws;
}

DeclaredConfig Config(std::vector<DeclaredWorkspace> workspaces) {
  DeclaredConfig config;
  config.path = "triggerd.yaml";
  config.workspaces = std::move(workspaces);
  return config;
}

template <typename T>
const PlannedObject<T>* Find(const std::vector<PlannedObject<T>>& planned, const std::string& name,
                             PlanAction action) {
  for (const auto& p : planned) {
    if (p.object.name == name && p.action == action) return &p;
  }
  return nullptr;
}

class DeclaredPlanTest : public ::testing::Test {
 protected:
  // Deterministic identities: src_1, agt_2, …; url-1, url-2, ….
  PlanSeams Seams(int64_t now) {
    PlanSeams seams;
    seams.now = now;
    seams.new_id = [this](std::string_view prefix) {
      return std::string(prefix) + "_" + std::to_string(++ids_);
    };
    seams.new_url_secret = [this] { return "url-" + std::to_string(++ids_); };
    return seams;
  }

  DeclaredPlan Plan(const DeclaredConfig& config, int64_t now = kT0) {
    auto plan = PlanDeclared(config, current_, Seams(now));
    EXPECT_TRUE(plan.has_value()) << plan.error().ToString();
    return plan ? *plan : DeclaredPlan{};
  }

  // What the store holds once `plan` is applied: its objects but the deleted, and the objects
  // it does not manage (made through the API) as they were.
  void Applied(const DeclaredPlan& plan) {
    std::vector<CurrentWorkspace> next;
    for (const WorkspacePlan& ws : plan.workspaces) {
      CurrentWorkspace out;
      out.workspace = {ws.id, ws.name, kT0};
      for (const CurrentWorkspace& before : current_) {
        if (before.workspace.id != ws.id) continue;
        for (const auto& s : before.sources)
          if (s.managed_by.empty()) out.sources.push_back(s);
        for (const auto& a : before.agents)
          if (a.managed_by.empty()) out.agents.push_back(a);
        for (const auto& t : before.triggers)
          if (t.managed_by.empty()) out.triggers.push_back(t);
      }
      auto keep = [](const auto& planned, auto* list) {
        for (const auto& p : planned) {
          if (p.action != PlanAction::kDelete) list->push_back(p.object);
        }
      };
      keep(ws.sources, &out.sources);
      keep(ws.agents, &out.agents);
      keep(ws.triggers, &out.triggers);
      next.push_back(std::move(out));
    }
    current_ = std::move(next);
  }

  CurrentWorkspace& Stored(const std::string& name) {
    for (auto& ws : current_) {
      if (ws.workspace.name == name) return ws;
    }
    ADD_FAILURE() << "no workspace " << name;
    return current_.front();
  }

  int ids_ = 0;
  std::vector<CurrentWorkspace> current_;
};

TEST_F(DeclaredPlanTest, CreatesTheWorkspaceAndEveryObjectInAnEmptyStore) {
  DeclaredPlan plan = Plan(Config({Default()}));
  ASSERT_EQ(plan.workspaces.size(), 1u);
  const WorkspacePlan& ws = plan.workspaces[0];
  EXPECT_TRUE(ws.create);
  EXPECT_EQ(ws.name, "default");
  const auto* github = Find(ws.sources, "github-main", PlanAction::kCreate);
  ASSERT_NE(github, nullptr);
  EXPECT_EQ(github->object.workspace_id, ws.id);
  EXPECT_EQ(github->object.managed_by, "config");
  EXPECT_EQ(github->object.created_by, "config");
  EXPECT_EQ(github->object.created_at, kT0);
  EXPECT_EQ(github->object.signing_secret, "gh-secret-value-1234");
  EXPECT_TRUE(github->object.url_secret.starts_with("url-"));
  const auto* triage = Find(ws.agents, "triage", PlanAction::kCreate);
  ASSERT_NE(triage, nullptr);
  EXPECT_TRUE(triage->generated_secret);
  EXPECT_FALSE(triage->object.signing_secret.empty());
  const auto* big = Find(ws.triggers, "big-prs", PlanAction::kCreate);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->object.source_id, github->object.id);  // names resolved to the planned ids
  EXPECT_EQ(big->object.agent_id, triage->object.id);
  EXPECT_EQ(plan.Summary().ToString(),
            "config applied: 1 workspace created, 2 sources created, 1 agent created, 2 triggers "
            "created, 0 deleted, 0 unchanged");
}

// The generated signing secret is kept across reloads (nobody could ever read a new one), and
// so are ids, URL secrets and updated_at: nothing is written.
TEST_F(DeclaredPlanTest, ReplanningTheAppliedStateLeavesEverythingUnchanged) {
  Applied(Plan(Config({Default()})));
  const store::Agent agent = Stored("default").agents[0];
  const store::Source source = Stored("default").sources[0];
  DeclaredPlan again = Plan(Config({Default()}), kT0 + 1'000'000);
  EXPECT_EQ(again.Summary().ToString(), "config applied: 0 deleted, 5 unchanged");
  const WorkspacePlan& ws = again.workspaces[0];
  EXPECT_FALSE(ws.create);
  const auto* triage = Find(ws.agents, "triage", PlanAction::kUnchanged);
  ASSERT_NE(triage, nullptr);
  EXPECT_EQ(triage->object.signing_secret, agent.signing_secret);
  EXPECT_FALSE(triage->generated_secret);
  const auto* github = Find(ws.sources, source.name, PlanAction::kUnchanged);
  ASSERT_NE(github, nullptr);
  EXPECT_EQ(github->object.id, source.id);
  EXPECT_EQ(github->object.url_secret, source.url_secret);
  EXPECT_EQ(github->object.updated_at, source.updated_at);
}

TEST_F(DeclaredPlanTest, UpdatesOnlyWhatChangedAndKeepsIdentitiesAndSecrets) {
  Applied(Plan(Config({Default()})));
  const CurrentWorkspace before = Stored("default");
  DeclaredWorkspace changed = Default();
  changed.triggers[0] =
      Trigger("big-prs", "github-main", "triage", R"((eq \"action\" \"closed\"))");
  changed.sources[1].body["max_body_bytes"] = 4096;
  changed.agents[0].body["max_attempts"] = 5;
  const int64_t later = kT0 + 1'000'000;
  DeclaredPlan plan = Plan(Config({changed}), later);
  const WorkspacePlan& ws = plan.workspaces[0];

  const auto* plain = Find(ws.sources, "plain", PlanAction::kUpdate);
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->object.max_body_bytes, 4096);
  EXPECT_EQ(plain->object.id, before.sources[1].id);
  EXPECT_EQ(plain->object.url_secret, before.sources[1].url_secret);  // a stable ingest URL
  EXPECT_EQ(plain->object.created_at, before.sources[1].created_at);
  EXPECT_EQ(plain->object.updated_at, later);
  EXPECT_NE(Find(ws.sources, "github-main", PlanAction::kUnchanged), nullptr);

  const auto* triage = Find(ws.agents, "triage", PlanAction::kUpdate);
  ASSERT_NE(triage, nullptr);
  EXPECT_EQ(triage->object.max_attempts, 5);
  EXPECT_EQ(triage->object.signing_secret, before.agents[0].signing_secret);  // generated, kept

  const auto* big = Find(ws.triggers, "big-prs", PlanAction::kUpdate);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->object.id, before.triggers[0].id);
  EXPECT_NE(big->object.filter.find("closed"), std::string::npos);
  EXPECT_NE(Find(ws.triggers, "everything", PlanAction::kUnchanged), nullptr);

  ApplySummary summary = plan.Summary();
  EXPECT_EQ(summary.sources.updated, 1);
  EXPECT_EQ(summary.sources.unchanged, 1);
  EXPECT_EQ(summary.agents.updated, 1);
  EXPECT_EQ(summary.triggers.updated, 1);
  EXPECT_EQ(summary.triggers.unchanged, 1);
}

TEST_F(DeclaredPlanTest, DeletesManagedObjectsNoLongerDeclaredAndNeverApiObjects) {
  Applied(Plan(Config({Default()})));
  CurrentWorkspace& stored = Stored("default");
  store::Source api_source;
  api_source.id = "src_api";
  api_source.workspace_id = stored.workspace.id;
  api_source.name = "plain";  // the name of a declared one: still not the file's
  stored.sources.push_back(api_source);
  store::Agent api_agent;
  api_agent.id = "agt_api";
  api_agent.workspace_id = stored.workspace.id;
  api_agent.name = "api-agent";
  stored.agents.push_back(api_agent);

  DeclaredWorkspace only_plain;
  only_plain.name = "default";
  only_plain.sources = {Object("plain", R"({"max_body_bytes":2048})")};
  DeclaredPlan plan = Plan(Config({only_plain}));
  const WorkspacePlan& ws = plan.workspaces[0];
  EXPECT_NE(Find(ws.sources, "github-main", PlanAction::kDelete), nullptr);
  EXPECT_NE(Find(ws.sources, "plain", PlanAction::kUnchanged), nullptr);
  EXPECT_NE(Find(ws.agents, "triage", PlanAction::kDelete), nullptr);
  EXPECT_NE(Find(ws.triggers, "big-prs", PlanAction::kDelete), nullptr);
  EXPECT_NE(Find(ws.triggers, "everything", PlanAction::kDelete), nullptr);
  for (const auto& p : ws.sources) EXPECT_NE(p.object.id, "src_api");
  for (const auto& p : ws.agents) EXPECT_NE(p.object.id, "agt_api");
  EXPECT_EQ(plan.Summary().ToString(),
            "config applied: 1 source deleted, 1 agent deleted, 2 triggers deleted, 1 unchanged");

  // An empty section: every managed object goes.
  Applied(plan);
  DeclaredPlan emptied = Plan(Config({}));
  ASSERT_EQ(emptied.workspaces.size(), 1u);  // a workspace is never deleted
  EXPECT_NE(Find(emptied.workspaces[0].sources, "plain", PlanAction::kDelete), nullptr);
  EXPECT_EQ(emptied.workspaces[0].sources.size(), 1u);
  EXPECT_TRUE(emptied.workspaces[0].agents.empty());
}

// Objects are matched by name: a renamed one is the old one deleted and a new one created (a
// new id; for a source, a new URL). A trigger of the renamed source is replaced, because a
// trigger never moves to another source; the old source goes after its trigger was replaced.
TEST_F(DeclaredPlanTest, ARenamedSourceIsANewOneAndItsTriggerIsReplaced) {
  Applied(Plan(Config({Default()})));
  const CurrentWorkspace before = Stored("default");
  DeclaredWorkspace renamed = Default();
  renamed.sources[1] = Object("plain-2", R"({"max_body_bytes":2048})");
  renamed.triggers[1] = Trigger("everything", "plain-2", "triage");
  DeclaredPlan plan = Plan(Config({renamed}));
  const WorkspacePlan& ws = plan.workspaces[0];

  const auto* created = Find(ws.sources, "plain-2", PlanAction::kCreate);
  ASSERT_NE(created, nullptr);
  EXPECT_NE(created->object.id, before.sources[1].id);
  const auto* gone = Find(ws.sources, "plain", PlanAction::kDelete);
  ASSERT_NE(gone, nullptr);
  EXPECT_EQ(gone->object.id, before.sources[1].id);
  const auto* everything = Find(ws.triggers, "everything", PlanAction::kReplace);
  ASSERT_NE(everything, nullptr);
  EXPECT_EQ(everything->replaced_id, before.triggers[1].id);
  EXPECT_NE(everything->object.id, before.triggers[1].id);
  EXPECT_EQ(everything->object.source_id, created->object.id);
  EXPECT_EQ(ws.triggers.size(), 2u);  // the replaced trigger is not also deleted
  ApplySummary summary = plan.Summary();
  EXPECT_EQ(summary.sources.created, 1);
  EXPECT_EQ(summary.sources.deleted, 1);
  EXPECT_EQ(summary.triggers.updated, 1);  // a replace counts as an update
  EXPECT_EQ(summary.triggers.unchanged, 1);
}

TEST_F(DeclaredPlanTest, ARenamedAgentOrTriggerIsADeleteAndACreate) {
  Applied(Plan(Config({Default()})));
  const CurrentWorkspace before = Stored("default");
  DeclaredWorkspace renamed = Default();
  renamed.agents[0] =
      Object("triage-2", R"({"target":{"type":"http","url":"http://127.0.0.1:9/run"},)"
                         R"("max_attempts":3})");
  renamed.triggers[0] =
      Trigger("large-prs", "github-main", "triage-2", R"((eq \"action\" \"opened\"))");
  renamed.triggers[1] = Trigger("everything", "plain", "triage-2");
  DeclaredPlan plan = Plan(Config({renamed}));
  const WorkspacePlan& ws = plan.workspaces[0];
  const auto* agent = Find(ws.agents, "triage-2", PlanAction::kCreate);
  ASSERT_NE(agent, nullptr);
  EXPECT_TRUE(agent->generated_secret);  // a new agent: the old one's secret is not inherited
  EXPECT_NE(Find(ws.agents, "triage", PlanAction::kDelete), nullptr);
  EXPECT_NE(Find(ws.triggers, "large-prs", PlanAction::kCreate), nullptr);
  EXPECT_NE(Find(ws.triggers, "big-prs", PlanAction::kDelete), nullptr);
  const auto* everything = Find(ws.triggers, "everything", PlanAction::kUpdate);
  ASSERT_NE(everything, nullptr);  // same source: updated in place to the new agent
  EXPECT_EQ(everything->object.id, before.triggers[1].id);
  EXPECT_EQ(everything->object.agent_id, agent->object.id);
}

TEST_F(DeclaredPlanTest, RefusesToDropAManagedSourceOrAgentThatAnApiTriggerUses) {
  Applied(Plan(Config({Default()})));
  CurrentWorkspace& stored = Stored("default");
  store::Trigger api_trigger;
  api_trigger.id = "trg_api";
  api_trigger.workspace_id = stored.workspace.id;
  api_trigger.source_id = stored.sources[1].id;  // "plain"
  api_trigger.agent_id = stored.agents[0].id;    // "triage"
  stored.triggers.push_back(api_trigger);

  DeclaredWorkspace no_plain = Default();
  no_plain.sources.pop_back();
  no_plain.triggers.pop_back();
  auto refused = PlanDeclared(Config({no_plain}), current_, Seams(kT0));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().type(), ErrorType::kConflict);
  EXPECT_NE(refused.error().message().find("source \"plain\""), std::string::npos);
  EXPECT_NE(refused.error().message().find("trg_api"), std::string::npos);

  DeclaredWorkspace no_agent;
  no_agent.name = "default";
  no_agent.sources = Default().sources;
  refused = PlanDeclared(Config({no_agent}), current_, Seams(kT0));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().type(), ErrorType::kConflict);
  EXPECT_NE(refused.error().message().find("agent \"triage\""), std::string::npos);

  // Kept in the file, they may be used: the plan goes ahead.
  EXPECT_TRUE(PlanDeclared(Config({Default()}), current_, Seams(kT0)).has_value());
}

TEST_F(DeclaredPlanTest, AFileWithoutAWorkspacesSectionDeletesNothing) {
  DeclaredConfig bare = Config({});
  bare.declares_workspaces = false;
  // Nothing managed yet: fine, nothing to do.
  EXPECT_TRUE(PlanDeclared(bare, current_, Seams(kT0)).has_value());

  Applied(Plan(Config({Default()})));
  auto refused = PlanDeclared(bare, current_, Seams(kT0));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().type(), ErrorType::kInvalidArgument);
  EXPECT_NE(refused.error().message().find("5 sources, agents and triggers"), std::string::npos)
      << refused.error().message();
  EXPECT_NE(refused.error().message().find("workspaces: []"), std::string::npos);
}

TEST_F(DeclaredPlanTest, AStoredWorkspaceTheFileDropsLosesItsManagedObjectsButStays) {
  DeclaredWorkspace ops;
  ops.name = "ops";
  ops.sources = {Object("s", "{}")};
  Applied(Plan(Config({Default(), ops})));
  DeclaredPlan plan = Plan(Config({Default()}));
  ASSERT_EQ(plan.workspaces.size(), 2u);
  const WorkspacePlan& dropped = plan.workspaces[1];
  EXPECT_EQ(dropped.name, "ops");
  EXPECT_FALSE(dropped.create);
  ASSERT_EQ(dropped.sources.size(), 1u);
  EXPECT_EQ(dropped.sources[0].action, PlanAction::kDelete);
}

TEST_F(DeclaredPlanTest, TwoStoredWorkspacesWithTheDeclaredNameAreAConflict) {
  current_.push_back({{"ws_a", "default", kT0}, {}, {}, {}});
  current_.push_back({{"ws_b", "default", kT0}, {}, {}, {}});
  auto refused = PlanDeclared(Config({Default()}), current_, Seams(kT0));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().type(), ErrorType::kConflict);
  // Undeclared, they are nobody's business.
  EXPECT_TRUE(PlanDeclared(Config({}), current_, Seams(kT0)).has_value());
}

// Secrets the file gives win over kept ones; a source's token is kept only as its hash, and a
// changed token is an update.
TEST_F(DeclaredPlanTest, GivenSecretsAreUsedAndTokensKeptAsTheirHash) {
  DeclaredWorkspace ws;
  ws.name = "ops";
  ws.sources = {Object("hook", R"({"auth":{"bearer":true}})")};
  ws.sources[0].token = "hook-token-abcdef";
  ws.agents = {Object("a", R"({"target":{"type":"http","url":"http://127.0.0.1:9/"}})")};
  Applied(Plan(Config({ws})));
  const std::string generated = Stored("ops").agents[0].signing_secret;
  const std::string hash = Stored("ops").sources[0].token_hash;
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_EQ(hash.find("hook-token"), std::string::npos);

  ws.agents[0].signing_secret = kSigning;
  ws.sources[0].token = "another-token-123";
  DeclaredPlan plan = Plan(Config({ws}));
  const auto* agent = Find(plan.workspaces[0].agents, "a", PlanAction::kUpdate);
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(agent->object.signing_secret, kSigning);
  EXPECT_NE(agent->object.signing_secret, generated);
  const auto* source = Find(plan.workspaces[0].sources, "hook", PlanAction::kUpdate);
  ASSERT_NE(source, nullptr);
  EXPECT_NE(source->object.token_hash, hash);
  EXPECT_EQ(source->object.token_hash.size(), 64u);
}

}  // namespace
}  // namespace triggerd::app
