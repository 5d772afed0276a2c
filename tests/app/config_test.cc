#include "app/config.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <fstream>

#include "test_util.h"

namespace triggerd::app {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    std::string path = (dir_.path() / "triggerd.yaml").string();
    std::ofstream(path) << text;
    return path;
  }
  testing::TempDir dir_;
};

TEST_F(ConfigTest, ReadsEveryKey) {
  Config c;
  ASSERT_OK(LoadConfigFile(Write("listen: 0.0.0.0:9000\ndata_dir: /var/lib/triggerd\n"
                                 "public_url: https://hooks.example.com\nmax_body_bytes: 2048\n"
                                 "threads: 3\nlog_level: debug\nshutdown_grace_seconds: 5\n"),
                           &c));
  EXPECT_EQ(c.listen, "0.0.0.0:9000");
  EXPECT_EQ(c.data_dir, "/var/lib/triggerd");
  EXPECT_EQ(c.public_url, "https://hooks.example.com");
  EXPECT_EQ(c.max_body_bytes, 2048u);
  EXPECT_EQ(c.threads, 3);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.shutdown_grace_seconds, 5);
}

TEST_F(ConfigTest, UnknownKeyIsRefusedWithItsLine) {
  Config c;
  Status s = LoadConfigFile(Write("listen: 127.0.0.1:1\nlistne: x\n"), &c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("triggerd.yaml:2: unknown key \"listne\""), std::string::npos)
      << s.message();
}

// YAML would keep the later of two equal keys silently: a setting or a declared trigger's
// filter written twice is refused with the line of the second.
TEST_F(ConfigTest, DuplicateKeysAreRefusedAnywhereWithTheirLine) {
  Config c;
  Status top =
      LoadConfigFile(Write("retry_base_ms: 10\nlisten: 127.0.0.1:1\nretry_base_ms: 20\n"), &c);
  EXPECT_EQ(top.type(), ErrorType::kInvalidArgument);
  EXPECT_NE(top.message().find(":3: \"retry_base_ms\" appears twice here"), std::string::npos)
      << top.message();
  Status nested = LoadConfigFile(Write("workspaces:\n"
                                       "  - name: default\n"
                                       "    triggers:\n"
                                       "      - name: t\n"
                                       "        filter: '(eq \"a\" 1)'\n"
                                       "        filter: '(eq \"a\" 2)'\n"),
                                 &c);
  EXPECT_NE(nested.message().find(":6: \"filter\" appears twice here"), std::string::npos)
      << nested.message();
}

TEST_F(ConfigTest, WrongTypeAndBrokenYamlAreRefused) {
  Config c;
  EXPECT_FALSE(LoadConfigFile(Write("threads: many\n"), &c).ok());
  EXPECT_FALSE(LoadConfigFile(Write("listen: [unclosed\n"), &c).ok());
  EXPECT_FALSE(LoadConfigFile((dir_.path() / "missing.yaml").string(), &c).ok());
}

TEST_F(ConfigTest, ReadsTheLlmEndpoint) {
  Config c;
  EXPECT_TRUE(c.llm.base_url.empty());  // default: not configured (the route answers 501)
  ASSERT_OK(LoadConfigFile(Write("llm:\n  base_url: https://api.example.com/v1\n  model: m-1\n"
                                 "  api_key_env: EXAMPLE_KEY\n  timeout_ms: 1000\n"),
                           &c));
  EXPECT_EQ(c.llm.base_url, "https://api.example.com/v1");
  EXPECT_EQ(c.llm.model, "m-1");
  EXPECT_EQ(c.llm.api_key_env, "EXAMPLE_KEY");
  EXPECT_EQ(c.llm.timeout_ms, 1000);
  Config d;
  ASSERT_OK(LoadConfigFile(Write("llm:\n  base_url: http://127.0.0.1:11434/v1\n  model: m\n"), &d));
  EXPECT_EQ(d.llm.api_key_env, "");
  EXPECT_EQ(d.llm.timeout_ms, 30'000);
}

TEST_F(ConfigTest, BadLlmEndpointIsRefusedWithItsLine) {
  auto refused = [&](const std::string& text, const std::string& expected) {
    Config c;
    Status s = LoadConfigFile(Write(text), &c);
    EXPECT_FALSE(s.ok()) << text;
    EXPECT_NE(s.message().find(expected), std::string::npos) << s.message();
  };
  refused("llm: yes\n", "triggerd.yaml:1: llm must be a mapping");
  refused("llm:\n  model: m\n", "llm.base_url is required");
  refused("llm:\n  base_url: https://a.example/v1\n", "llm.model is required");
  refused("llm:\n  base_url: ftp://a.example/v1\n  model: m\n", "llm.base_url");
  refused("llm:\n  base_url: https://a.example/v1\n  model: m\n  api_key_env: 9X\n",
          "llm.api_key_env");
  refused("llm:\n  base_url: https://a.example/v1\n  model: m\n  api_key: sk-123\n",
          "triggerd.yaml:4: unknown key \"llm.api_key\"");
  refused("llm:\n  base_url: https://a.example/v1\n  model: m\n  timeout_ms: 999\n",
          "llm.timeout_ms must be between 1000 and 120000");
  refused("llm:\n  base_url: https://a.example/v1\n  model: m\n  timeout_ms: 120001\n",
          "llm.timeout_ms must be between 1000 and 120000");
}

TEST_F(ConfigTest, ApiLimitsOnAgentTargetsDefaultToClosed) {
  Config c;
  EXPECT_FALSE(c.api.command_agents);
  EXPECT_TRUE(c.api.llm_api_key_envs.empty());
  ASSERT_OK(LoadConfigFile(
      Write("api:\n  command_agents: true\n  llm_api_key_envs: [OPENAI_API_KEY, _K2]\n"), &c));
  EXPECT_TRUE(c.api.command_agents);
  EXPECT_EQ(c.api.llm_api_key_envs, (std::vector<std::string>{"OPENAI_API_KEY", "_K2"}));
  ASSERT_OK(LoadConfigFile(Write("api:\n"), &c));  // empty: the defaults again
  EXPECT_FALSE(c.api.command_agents);
  EXPECT_TRUE(c.api.llm_api_key_envs.empty());
}

TEST_F(ConfigTest, BadApiLimitsAreRefusedWithTheirLine) {
  auto refused = [&](const std::string& text, const std::string& expected) {
    Config c;
    Status s = LoadConfigFile(Write(text), &c);
    EXPECT_FALSE(s.ok()) << text;
    EXPECT_NE(s.message().find(expected), std::string::npos) << s.message();
  };
  refused("api: yes\n", "triggerd.yaml:1: api must be a mapping");
  refused("listen: 127.0.0.1:1\napi:\n  command_agents: maybe\n",
          "triggerd.yaml:3: api.command_agents must be true or false");
  refused("api:\n  command_agent: true\n",
          "triggerd.yaml:2: unknown key \"api.command_agent\" (command_agents, llm_api_key_envs)");
  refused("api:\n  llm_api_key_envs: OPENAI_API_KEY\n",
          "triggerd.yaml:2: api.llm_api_key_envs must be a list");
  refused("api:\n  llm_api_key_envs:\n    - OK_NAME\n    - 9BAD\n",
          "triggerd.yaml:4: api.llm_api_key_envs: \"9BAD\" is not an environment variable name");
  refused("api:\n  llm_api_key_envs: [A=B]\n", "api.llm_api_key_envs: \"A=B\"");
}

// Whether `policy` lets a connection to the IPv4 `address` through.
bool AllowsV4(const outbound::Policy& policy, const char* address) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  EXPECT_EQ(inet_pton(AF_INET, address, &in.sin_addr), 1);
  return policy.Allows(reinterpret_cast<const sockaddr*>(&in));
}

TEST_F(ConfigTest, ReadsTheOutboundPolicy) {
  Config c;
  // Default (no section): the metadata service is refused, loopback and private networks not.
  EXPECT_FALSE(AllowsV4(c.outbound, "169.254.169.254"));
  EXPECT_TRUE(AllowsV4(c.outbound, "127.0.0.1"));
  EXPECT_TRUE(AllowsV4(c.outbound, "10.1.2.3"));
  ASSERT_OK(LoadConfigFile(Write("outbound:\n"
                                 "  deny_networks: [link-local, 10.0.0.0/8]\n"
                                 "  allow_networks:\n"
                                 "    - 10.1.2.0/24\n"),
                           &c));
  EXPECT_FALSE(AllowsV4(c.outbound, "169.254.169.254"));
  EXPECT_FALSE(AllowsV4(c.outbound, "10.9.9.9"));
  EXPECT_TRUE(AllowsV4(c.outbound, "10.1.2.3"));
  EXPECT_TRUE(AllowsV4(c.outbound, "127.0.0.1"));

  Config off;
  ASSERT_OK(LoadConfigFile(Write("outbound:\n  deny_networks: []\n"), &off));
  EXPECT_TRUE(off.outbound.denies_nothing());
  // Only an allow list: the deny list stays the default.
  Config allow;
  ASSERT_OK(LoadConfigFile(Write("outbound:\n  allow_networks: [169.254.169.254]\n"), &allow));
  EXPECT_TRUE(AllowsV4(allow.outbound, "169.254.169.254"));
  EXPECT_FALSE(AllowsV4(allow.outbound, "169.254.1.1"));
}

TEST_F(ConfigTest, BadOutboundEntriesAreRefusedWithTheirLine) {
  struct Case {
    std::string yaml;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"outbound:\n  deny_networks:\n    - loopback\n    - 10.1.2.3/8\n",
            "triggerd.yaml:4: outbound.deny_networks: \"10.1.2.3/8\" has host bits set (did you "
            "mean 10.0.0.0/8?)"},
           {"outbound:\n  allow_networks: [10.0.0.0/33]\n",
            "triggerd.yaml:2: outbound.allow_networks: \"10.0.0.0/33\" has an invalid prefix "
            "length (0 to 32 for IPv4)"},
           {"outbound:\n  deny_networks: [metdata]\n",
            "triggerd.yaml:2: outbound.deny_networks: \"metdata\" is not a network, an address or "
            "a named set"},
           {"outbound:\n  deny: [loopback]\n",
            "triggerd.yaml:2: unknown key \"outbound.deny\" (deny_networks, allow_networks)"},
           {"outbound:\n  deny_networks: loopback\n",
            "triggerd.yaml:2: outbound.deny_networks must be a list"},
           {"outbound:\n  deny_networks: [[10.0.0.0/8]]\n",
            "triggerd.yaml:2: outbound.deny_networks entries must be strings"},
           {"outbound: [loopback]\n", "triggerd.yaml:1: outbound must be a mapping"},
       }) {
    Config config;
    Status s = LoadConfigFile(Write(c.yaml), &config);
    EXPECT_FALSE(s.ok()) << c.yaml;
    EXPECT_NE(s.message().find(c.message), std::string::npos) << s.message();
  }
}

TEST(SplitListenTest, SplitsHostAndPort) {
  std::string host;
  uint16_t port = 0;
  ASSERT_OK(SplitListen("127.0.0.1:8080", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8080);
  ASSERT_OK(SplitListen("[::1]:0", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(SplitListen("8080", &host, &port).ok());
  EXPECT_FALSE(SplitListen("h:99999", &host, &port).ok());
  EXPECT_FALSE(SplitListen("h:", &host, &port).ok());
}

}  // namespace
}  // namespace triggerd::app
