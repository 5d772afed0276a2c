// Declarative config (app/declared.h): reading the `workspaces:` section (${ENV} expansion,
// file:line errors from the REST API's own validators) and applying it to a real SQLite store
// and ingest cache (create, update, no-op, delete of managed objects, API objects untouched).
#include "app/declared.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "app/config.h"
#include "catalog/caches.h"
#include "catalog/catalog.h"
#include "common/clock.h"
#include "ingest/ingest.h"
#include "store/store.h"
#include "test_util.h"

namespace triggerd::app {
namespace {

using namespace std::chrono_literals;

constexpr char kGood[] = R"(listen: 127.0.0.1:0
workspaces:
  - name: default
    sources:
      - name: github-main
        kind: github
        secret: ${GH_SECRET}
      - name: plain
        max_body_bytes: 2048
        enabled: true
    agents:
      - name: triage
        target: {type: http, url: "http://127.0.0.1:9/run", headers: {Authorization: "Bearer ${TOKEN}"}}
        max_attempts: 3
    triggers:
      - name: big-prs
        source: github-main
        agent: triage
        filter: '(and (eq "action" "opened") (gt "pull_request.changed_files" 20))'
      - name: everything
        source: plain
        agent: triage
)";

class DeclaredLoadTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    std::string path = (dir_.path() / "triggerd.yaml").string();
    std::ofstream(path) << text;
    return path;
  }
  Result<DeclaredConfig> Load(const std::string& text) { return LoadDeclared(Write(text), env_); }
  // The error message, "" when the file loads.
  std::string ErrorOf(const std::string& text) {
    auto loaded = Load(text);
    return loaded ? "" : loaded.error().message();
  }

  testing::TempDir dir_;
  std::map<std::string, std::string> vars_ = {{"GH_SECRET", "gh-secret-value-1234"},
                                              {"TOKEN", "agent-token-5678"}};
  EnvLookup env_ = [this](const std::string& name) -> std::optional<std::string> {
    auto it = vars_.find(name);
    if (it == vars_.end()) return std::nullopt;
    return it->second;
  };
};

TEST_F(DeclaredLoadTest, ExpandsVariablesAndKeepsEscapesAndLoneDollars) {
  std::vector<std::string> used;
  auto out = ExpandEnv("a ${GH_SECRET} $${NOT} $5 $ end", env_, &used);
  ASSERT_OK(out);
  EXPECT_EQ(*out, "a gh-secret-value-1234 ${NOT} $5 $ end");
  EXPECT_EQ(used, std::vector<std::string>{"GH_SECRET"});
}

TEST_F(DeclaredLoadTest, UnsetOrMalformedVariableIsAnError) {
  auto unset = ExpandEnv("${MISSING_ONE}", env_);
  ASSERT_FALSE(unset.has_value());
  EXPECT_NE(unset.error().message().find("MISSING_ONE is not set"), std::string::npos);
  EXPECT_FALSE(ExpandEnv("${", env_).has_value());
  EXPECT_FALSE(ExpandEnv("${1X}", env_).has_value());
  EXPECT_FALSE(ExpandEnv("${A-B}", env_).has_value());
}

TEST_F(DeclaredLoadTest, ReadsWorkspacesWithTypedScalarsAndExpandedSecrets) {
  auto config = Load(kGood);
  ASSERT_OK(config);
  ASSERT_EQ(config->workspaces.size(), 1u);
  const DeclaredWorkspace& ws = config->workspaces[0];
  EXPECT_EQ(ws.name, "default");
  ASSERT_EQ(ws.sources.size(), 2u);
  EXPECT_EQ(ws.sources[0].body.at("secret").as_string(), "gh-secret-value-1234");
  EXPECT_EQ(ws.sources[1].body.at("max_body_bytes").as_int64(), 2048);
  EXPECT_TRUE(ws.sources[1].body.at("enabled").as_bool());
  ASSERT_EQ(ws.agents.size(), 1u);
  EXPECT_EQ(ws.agents[0].body.at("target").at("headers").at("Authorization").as_string(),
            "Bearer agent-token-5678");
  ASSERT_EQ(ws.triggers.size(), 2u);
  EXPECT_EQ(ws.triggers[0].source, "github-main");
  EXPECT_EQ(ws.triggers[0].agent, "triage");
  EXPECT_FALSE(ws.triggers[0].body.contains("source"));  // names resolved at apply time
  EXPECT_EQ(ws.triggers[0].line, 16);
}

TEST_F(DeclaredLoadTest, TheServiceSettingsReaderAcceptsTheSection) {
  Config c;
  ASSERT_OK(LoadConfigFile(Write(kGood), &c));
  EXPECT_EQ(c.listen, "127.0.0.1:0");
}

TEST_F(DeclaredLoadTest, NoSectionDeclaresNothing) {
  auto config = Load("listen: 127.0.0.1:0\n");
  ASSERT_OK(config);
  EXPECT_TRUE(config->workspaces.empty());
}

TEST_F(DeclaredLoadTest, UnsetVariableIsRefusedWithItsLine) {
  vars_.erase("GH_SECRET");
  EXPECT_NE(ErrorOf(kGood).find("triggerd.yaml:7: environment variable GH_SECRET is not set"),
            std::string::npos)
      << ErrorOf(kGood);
}

TEST_F(DeclaredLoadTest, ApiValidatorErrorsPointAtTheMembersLine) {
  std::string bad_url = kGood;
  bad_url.replace(bad_url.find("http://127.0.0.1:9/run"), 22, "ftp://x");
  std::string message = ErrorOf(bad_url);
  EXPECT_NE(message.find("triggerd.yaml:13: workspace \"default\": agent \"triage\": target.url"),
            std::string::npos)
      << message;

  std::string unknown = kGood;
  unknown.replace(unknown.find("        max_body_bytes: 2048"), 0, "        max_bodi: 1\n");
  message = ErrorOf(unknown);
  EXPECT_NE(message.find("triggerd.yaml:"), std::string::npos);
  EXPECT_NE(message.find("source \"plain\""), std::string::npos) << message;
  EXPECT_NE(message.find("max_bodi"), std::string::npos) << message;
}

TEST_F(DeclaredLoadTest, BadFilterIsRefusedWithTheFilterLineAndColumn) {
  std::string bad = kGood;
  bad.replace(bad.find("(and (eq"), 8, "(andd (eq");
  std::string message = ErrorOf(bad);
  EXPECT_NE(message.find("triggerd.yaml:19: workspace \"default\": trigger \"big-prs\": filter 1:"),
            std::string::npos)
      << message;
}

TEST_F(DeclaredLoadTest, ReferencesDuplicatesAndRequiredSecretsAreChecked) {
  std::string unknown_source = kGood;
  unknown_source.replace(unknown_source.find("source: plain"), 13, "source: nope");
  EXPECT_NE(ErrorOf(unknown_source).find("triggerd.yaml:21:"), std::string::npos)
      << ErrorOf(unknown_source);
  EXPECT_NE(ErrorOf(unknown_source).find("no source \"nope\""), std::string::npos);

  std::string duplicate = kGood;
  duplicate.replace(duplicate.find("name: plain"), 11, "name: github-main");
  EXPECT_NE(ErrorOf(duplicate).find("declared twice (first at line 5)"), std::string::npos)
      << ErrorOf(duplicate);

  std::string no_secret = kGood;
  no_secret.replace(no_secret.find("        secret: ${GH_SECRET}\n"), 29, "");
  EXPECT_NE(ErrorOf(no_secret).find("secret is required"), std::string::npos) << ErrorOf(no_secret);

  EXPECT_NE(ErrorOf("workspaces:\n  - name: w\n    sources:\n      - name: t\n"
                    "        auth: {bearer: true}\n")
                .find("token is required"),
            std::string::npos);
  EXPECT_NE(ErrorOf("workspaces:\n  - name: w\n    triggers:\n      - name: t\n"
                    "        source_id: src_1\n        agent_id: agt_1\n")
                .find("triggerd.yaml:5:"),
            std::string::npos);
  EXPECT_NE(ErrorOf("workspaces:\n  - name: w\n    colour: blue\n").find("unknown key"),
            std::string::npos);
  EXPECT_NE(ErrorOf("workspaces:\n  - name: w\n    agents:\n      - target: {type: command, "
                    "argv: [/bin/true]}\n")
                .find("needs a name"),
            std::string::npos);
}

TEST_F(DeclaredLoadTest, ExpandedValuesNeverAppearInMessages) {
  vars_["BAD_IP"] = "secret-not-an-ip-address";
  std::string message = ErrorOf(
      "workspaces:\n  - name: w\n    sources:\n      - name: s\n        allowed_ips: "
      "[\"${BAD_IP}\"]\n");
  ASSERT_FALSE(message.empty());
  EXPECT_EQ(message.find("secret-not-an-ip-address"), std::string::npos) << message;
  EXPECT_NE(message.find("triggerd.yaml:5:"), std::string::npos) << message;
}

TEST_F(DeclaredLoadTest, BrokenYamlIsRefusedWithItsLine) {
  EXPECT_NE(ErrorOf("workspaces:\n  - name: [unclosed\n").find("triggerd.yaml:"),
            std::string::npos);
}

// ---- Apply, over a real SQLite file and a real ingest cache ----

class DeclaredApplyTest : public DeclaredLoadTest {
 protected:
  void SetUp() override {
    store::SqliteOptions options;
    options.path = (dir_.path() / "triggerd.db").string();
    options.master_key = std::string(testing::kTestMasterKey);
    options.clock = &clock_;
    auto opened = store::OpenSqliteStore(options);
    ASSERT_OK(opened);
    store_ = std::move(*opened);
    ingestor_ = std::make_unique<ingest::Ingestor>(store_.get(), &clock_, ingest::Options{});
    catalog_ = std::make_unique<catalog::Catalog>(store_.get());
    caches_ = std::make_unique<catalog::CacheObserver>(ingestor_.get(), nullptr, nullptr);
    catalog_->AddObserver(caches_.get());
    applier_ = std::make_unique<DeclaredApplier>(catalog_.get(), &clock_);
  }
  void TearDown() override {
    applier_.reset();
    catalog_.reset();
    caches_.reset();
    ingestor_.reset();
    if (store_) store_->Close();
  }

  ApplySummary Apply(const std::string& text) {
    auto config = Load(text);
    EXPECT_TRUE(config.has_value()) << config.error().ToString();
    if (!config) return {};
    clock_.Advance(1'000'000);
    auto summary = applier_->Apply(*config);
    EXPECT_TRUE(summary.has_value()) << summary.error().ToString();
    return summary ? *summary : ApplySummary{};
  }
  std::string WorkspaceId(const std::string& name) {
    auto all = store_->ListWorkspaces();
    for (const auto& ws : *all) {
      if (ws.name == name) return ws.id;
    }
    return "";
  }
  template <typename T>
  const T* Named(const std::vector<T>& list, const std::string& name) {
    for (const auto& object : list) {
      if (object.name == name) return &object;
    }
    return nullptr;
  }

  ManualClock clock_{1'700'000'000'000'000};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<catalog::CacheObserver> caches_;
  std::unique_ptr<DeclaredApplier> applier_;
};

TEST_F(DeclaredApplyTest, CreatesMarkedObjectsAndReapplyingChangesNothing) {
  ApplySummary first = Apply(kGood);
  EXPECT_EQ(first.workspaces_created, 1);
  EXPECT_EQ(first.sources.created, 2);
  EXPECT_EQ(first.agents.created, 1);
  EXPECT_EQ(first.triggers.created, 2);
  EXPECT_EQ(first.ToString(),
            "config applied: 1 workspace created, 2 sources created, 1 agent created, 2 triggers "
            "created, 0 deleted, 0 unchanged");

  const std::string ws = WorkspaceId("default");
  auto sources = *store_->ListSources(ws);
  auto agents = *store_->ListAgents(ws);
  auto triggers = *store_->ListTriggers(ws, "", "");
  const store::Source* github = Named(sources, "github-main");
  ASSERT_NE(github, nullptr);
  EXPECT_EQ(github->managed_by, "config");
  EXPECT_EQ(github->created_by, "config");
  EXPECT_EQ(github->signing_secret, "gh-secret-value-1234");
  ASSERT_EQ(agents.size(), 1u);
  EXPECT_EQ(agents[0].max_attempts, 3);
  EXPECT_FALSE(agents[0].signing_secret.empty());  // generated once for the http target
  const store::Trigger* big = Named(triggers, "big-prs");
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->source_id, github->id);
  EXPECT_EQ(big->agent_id, agents[0].id);
  EXPECT_EQ(big->managed_by, "config");

  ApplySummary second = Apply(kGood);
  EXPECT_EQ(second.ToString(), "config applied: 0 deleted, 5 unchanged");
  auto sources_again = *store_->ListSources(ws);
  auto agents_again = *store_->ListAgents(ws);
  const store::Source* github_again = Named(sources_again, "github-main");
  ASSERT_NE(github_again, nullptr);
  // Same id and URL secret (a stable ingest URL), and no updated_at bump.
  EXPECT_EQ(github_again->id, github->id);
  EXPECT_EQ(github_again->url_secret, github->url_secret);
  EXPECT_EQ(github_again->updated_at, github->updated_at);
  EXPECT_EQ(agents_again[0].signing_secret, agents[0].signing_secret);
  EXPECT_EQ(agents_again[0].updated_at, agents[0].updated_at);
}

TEST_F(DeclaredApplyTest, UpdatesOnlyWhatChanged) {
  Apply(kGood);
  const std::string ws = WorkspaceId("default");
  auto before = *store_->ListTriggers(ws, "", "");
  std::string changed = kGood;
  changed.replace(changed.find("20))"), 2, "50");
  ApplySummary summary = Apply(changed);
  EXPECT_EQ(summary.triggers.updated, 1);
  EXPECT_EQ(summary.triggers.unchanged, 1);
  EXPECT_EQ(summary.sources.unchanged, 2);
  EXPECT_EQ(summary.agents.unchanged, 1);
  auto after = *store_->ListTriggers(ws, "", "");
  const store::Trigger* big = Named(after, "big-prs");
  ASSERT_NE(big, nullptr);
  EXPECT_NE(big->filter.find("50"), std::string::npos);
  EXPECT_EQ(big->id, Named(before, "big-prs")->id);
  EXPECT_GT(big->updated_at, Named(before, "big-prs")->updated_at);
  EXPECT_EQ(Named(after, "everything")->updated_at, Named(before, "everything")->updated_at);
}

TEST_F(DeclaredApplyTest, DeletesManagedObjectsNoLongerDeclaredAndLeavesApiObjectsAlone) {
  Apply(kGood);
  const std::string ws = WorkspaceId("default");
  // Objects made through the API (managed_by ""), one with the same name as a declared one.
  store::Source api_source;
  api_source.id = "src_api";
  api_source.workspace_id = ws;
  api_source.name = "plain";
  api_source.url_secret = "u";
  api_source.created_by = "key_x";
  ASSERT_OK(store_->CreateSource(api_source));
  store::Agent api_agent;
  api_agent.id = "agt_api";
  api_agent.workspace_id = ws;
  api_agent.name = "api-agent";
  api_agent.target_json = R"({"type":"command","argv":["/bin/true"]})";
  ASSERT_OK(store_->CreateAgent(api_agent));

  ApplySummary summary =
      Apply("workspaces:\n  - name: default\n    sources:\n      - name: plain\n");
  EXPECT_EQ(summary.sources.deleted, 1);
  EXPECT_EQ(summary.sources.updated, 1);  // its max_body_bytes went back to the default
  EXPECT_EQ(summary.agents.deleted, 1);
  EXPECT_EQ(summary.triggers.deleted, 2);

  auto sources = *store_->ListSources(ws);
  ASSERT_EQ(sources.size(), 2u);  // the declared "plain" and the API's "plain"
  EXPECT_NE(
      std::find_if(sources.begin(), sources.end(), [](const auto& s) { return s.id == "src_api"; }),
      sources.end());
  auto agents = *store_->ListAgents(ws);
  ASSERT_EQ(agents.size(), 1u);
  EXPECT_EQ(agents[0].id, "agt_api");
  EXPECT_TRUE(store_->ListTriggers(ws, "", "")->empty());

  // An empty section: every managed object goes, the API's stay.
  Apply("workspaces: []\n");
  sources = *store_->ListSources(ws);
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].id, "src_api");
}

// An empty or truncated file (an editor or a ConfigMap caught mid-write) has no workspaces:
// key; applying it must not delete the declared sources, whose URLs would change on their way
// back. An explicit empty section deletes them.
TEST_F(DeclaredApplyTest, AFileWithoutAWorkspacesSectionDeletesNothing) {
  Apply(kGood);
  const std::string ws = WorkspaceId("default");
  const size_t sources = store_->ListSources(ws)->size();
  ASSERT_GT(sources, 0u);
  for (const char* text : {"", "listen: 127.0.0.1:8080\n", "# being rewritten\n"}) {
    auto config = Load(text);
    ASSERT_TRUE(config.has_value()) << config.error().ToString();
    EXPECT_FALSE(config->declares_workspaces);
    auto refused = applier_->Apply(*config);
    ASSERT_FALSE(refused.has_value()) << text;
    EXPECT_NE(refused.error().message().find("workspaces: []"), std::string::npos)
        << refused.error().message();
    EXPECT_EQ(store_->ListSources(ws)->size(), sources);
  }
  ApplySummary emptied = Apply("workspaces: []\n");
  EXPECT_EQ(emptied.sources.deleted, static_cast<int>(sources));
  // With nothing declared any more, a file without the section is fine.
  auto bare = Load("");
  ASSERT_TRUE(bare.has_value());
  EXPECT_TRUE(applier_->Apply(*bare).has_value());
}

TEST_F(DeclaredApplyTest, RefusesToDeleteWhatAnApiTriggerUsesAndWritesNothing) {
  Apply(kGood);
  const std::string ws = WorkspaceId("default");
  auto sources = *store_->ListSources(ws);
  auto agents = *store_->ListAgents(ws);
  store::Trigger api_trigger;
  api_trigger.id = "trg_api";
  api_trigger.workspace_id = ws;
  api_trigger.source_id = Named(sources, "plain")->id;
  api_trigger.agent_id = agents[0].id;
  api_trigger.created_by = "key_x";
  ASSERT_OK(store_->CreateTrigger(api_trigger));

  auto config = Load("workspaces:\n  - name: default\n");
  ASSERT_OK(config);
  auto refused = applier_->Apply(*config);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().type(), ErrorType::kConflict);
  EXPECT_NE(refused.error().message().find("trg_api"), std::string::npos);
  EXPECT_EQ(store_->ListSources(ws)->size(), 2u);
  EXPECT_EQ(store_->ListTriggers(ws, "", "")->size(), 3u);
}

TEST_F(DeclaredApplyTest, MovingATriggerToAnotherSourceReplacesIt) {
  Apply(kGood);
  const std::string ws = WorkspaceId("default");
  const std::string old_id = Named(*store_->ListTriggers(ws, "", ""), "everything")->id;
  std::string moved = kGood;
  moved.replace(moved.find("source: plain"), 13, "source: github-main");
  ApplySummary summary = Apply(moved);
  EXPECT_EQ(summary.triggers.updated, 1);
  EXPECT_EQ(summary.triggers.created, 0);
  auto triggers = *store_->ListTriggers(ws, "", "");
  ASSERT_EQ(triggers.size(), 2u);
  const store::Trigger* everything = Named(triggers, "everything");
  ASSERT_NE(everything, nullptr);
  EXPECT_NE(everything->id, old_id);
  EXPECT_EQ(everything->source_id, Named(*store_->ListSources(ws), "github-main")->id);
}

TEST_F(DeclaredApplyTest, GivenAgentSecretAndSourceTokenAreStored) {
  vars_["SIGNING"] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  vars_["HOOK_TOKEN"] = "hook-token-abcdef";
  Apply(
      "workspaces:\n  - name: ops\n    sources:\n      - name: s\n        auth: {bearer: true}\n"
      "        token: ${HOOK_TOKEN}\n    agents:\n      - name: a\n        target: {type: http, "
      "url: \"http://127.0.0.1:9/\"}\n        signing_secret: ${SIGNING}\n");
  const std::string ws = WorkspaceId("ops");
  ASSERT_FALSE(ws.empty());
  auto sources = *store_->ListSources(ws);
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].token_hash.size(), 64u);  // a SHA-256, never the token
  EXPECT_EQ(sources[0].token_hash.find("hook-token"), std::string::npos);
  auto agents = *store_->ListAgents(ws);
  ASSERT_EQ(agents.size(), 1u);
  EXPECT_EQ(agents[0].signing_secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
}

// ---- FileWatcher ----

TEST(FileWatcherTest, CallsBackOnceTheChangedContentIsStable) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "watched.yaml").string();
  std::ofstream(path) << "a: 1\n";
  std::atomic<int> calls{0};
  FileWatcher watcher(path, 20ms, [&calls] { ++calls; });
  std::this_thread::sleep_for(100ms);  // unchanged content: no call (a negative check)
  EXPECT_EQ(calls.load(), 0);
  std::ofstream(path) << "a: 2\n";
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (calls.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(calls.load(), 1);
  watcher.Stop();
}

// ---- ConfigReloader: SIGHUP and the watcher share one record of what was loaded ----

class ConfigReloaderTest : public DeclaredApplyTest {
 protected:
  void SetUp() override {
    DeclaredApplyTest::SetUp();
    path_ = Write(kGood);
    reloader_ = std::make_unique<ConfigReloader>(
        path_, env_, applier_.get(), [this](const Config& settings) { settings_ = settings; });
  }
  void TearDown() override {
    reloader_.reset();
    DeclaredApplyTest::TearDown();
  }
  // Written whole and renamed into place, as deploy tools do.
  void Rewrite(const std::string& text) {
    std::ofstream(path_ + ".tmp") << text;
    std::filesystem::rename(path_ + ".tmp", path_);
  }
  // The stored filter of trigger "big-prs" ("" when there is none).
  std::string RunningFilter() {
    auto triggers = store_->ListTriggers(WorkspaceId("default"), "", "");
    if (!triggers) return "";
    const store::Trigger* big = Named(*triggers, "big-prs");
    return big ? big->filter : "";
  }
  static std::string WithFilter(const std::string& action) {
    std::string text = kGood;
    text.replace(text.find("\"opened\""), 8, "\"" + action + "\"");
    return text;
  }

  std::string path_;
  std::optional<Config> settings_;
  std::unique_ptr<ConfigReloader> reloader_;
};

TEST_F(ConfigReloaderTest, AReloadAppliesTheFileAndHandsOverItsSettings) {
  Rewrite("retry_base_ms: 50\n" + WithFilter("closed"));
  auto applied = reloader_->Reload();
  ASSERT_OK(applied);
  EXPECT_EQ(applied->sources.created, 2);
  ASSERT_TRUE(settings_.has_value());
  EXPECT_EQ(settings_->retry_base_ms, 50);
  EXPECT_NE(RunningFilter().find("closed"), std::string::npos);
  EXPECT_TRUE(reloader_->IsCurrent(ReadConfigText(path_)));
  EXPECT_FALSE(reloader_->IsCurrent(kGood));
}

TEST_F(ConfigReloaderTest, ABadSettingRefusesTheWholeFile) {
  Rewrite("listne: 127.0.0.1:9999\n" + std::string(kGood));
  auto refused = reloader_->Reload();
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find("unknown key \"listne\""), std::string::npos)
      << refused.error().message();
  EXPECT_FALSE(settings_.has_value());
  EXPECT_TRUE(store_->ListWorkspaces()->empty());
  // Refused as a file: the watcher must not try it again until it changes.
  EXPECT_TRUE(reloader_->IsCurrent(ReadConfigText(path_)));
}

// The race of issue 17: an edit made right after a SIGHUP reload, within the watcher's debounce,
// here one back to the content the watcher last saw loaded. The watcher compares the file with
// what the running state was loaded from by any path, so the state ends equal to the file.
TEST_F(ConfigReloaderTest, AnEditRightAfterAnExplicitReloadIsApplied) {
  ASSERT_OK(reloader_->Reload());  // the start: "opened"
  ASSERT_NE(RunningFilter().find("opened"), std::string::npos);
  std::atomic<int> reloads{0};
  // Polls far apart compared with the writes below: the watcher sees "closed" in one poll at
  // most, so only its comparison with the shared record can tell that "opened" is new again.
  FileWatcher watcher(
      path_, 300ms,
      [this](const std::optional<std::string>& content) { return reloader_->IsCurrent(content); },
      [&] {
        ++reloads;
        EXPECT_TRUE(reloader_->Reload().has_value());
      });
  Rewrite(WithFilter("closed"));
  ASSERT_OK(reloader_->Reload());  // SIGHUP
  ASSERT_NE(RunningFilter().find("closed"), std::string::npos);
  Rewrite(kGood);  // within the debounce window

  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (RunningFilter().find("opened") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  watcher.Stop();
  EXPECT_NE(RunningFilter().find("opened"), std::string::npos) << RunningFilter();
  EXPECT_GE(reloads.load(), 1);
}

}  // namespace
}  // namespace triggerd::app
