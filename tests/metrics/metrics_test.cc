#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace triggerd::metrics {
namespace {

class RegistryTest : public ::testing::Test {
 protected:
  Registry registry_;
};

TEST_F(RegistryTest, ExposesUnlabelledCounterFromTheStart) {
  auto counter = registry_.AddCounter("test_events_total", "Events seen.");
  ASSERT_TRUE(counter.has_value()) << counter.error().message();
  EXPECT_EQ(registry_.Expose(),
            "# HELP test_events_total Events seen.\n"
            "# TYPE test_events_total counter\n"
            "test_events_total 0\n");
  (*counter)->With({})->Inc();
  (*counter)->With({})->Inc(41);
  EXPECT_EQ(registry_.Expose(),
            "# HELP test_events_total Events seen.\n"
            "# TYPE test_events_total counter\n"
            "test_events_total 42\n");
}

TEST_F(RegistryTest, LabelledSeriesAreSortedAndEscaped) {
  auto family = registry_.AddCounter("test_requests_total", "Requests by route.\nSecond \\ line.",
                                     {"route", "code"});
  ASSERT_TRUE(family.has_value());
  // A labelled family with no series yet exposes nothing (not even HELP/TYPE).
  EXPECT_EQ(registry_.Expose(), "");
  (*family)->With({"/b", "200"})->Inc(2);
  (*family)->With({"/a \"quoted\"\\back\nnew", "404"})->Inc();
  EXPECT_EQ(registry_.Expose(),
            "# HELP test_requests_total Requests by route.\\nSecond \\\\ line.\n"
            "# TYPE test_requests_total counter\n"
            "test_requests_total{route=\"/a \\\"quoted\\\"\\\\back\\nnew\",code=\"404\"} 1\n"
            "test_requests_total{route=\"/b\",code=\"200\"} 2\n");
}

TEST_F(RegistryTest, WithReturnsTheSameSeriesForTheSameLabels) {
  auto family = *registry_.AddCounter("test_total", "t", {"a", "b"});
  Counter* first = family->With({"x", "y"});
  EXPECT_EQ(family->With({"x", "y"}), first);
  // The separator keeps ("xy","") and ("x","y") apart.
  EXPECT_NE(family->With({"xy", ""}), first);
  std::string x = "x";
  std::string_view values[] = {x, "y"};
  EXPECT_EQ(family->With(LabelValues(values)), first);
}

TEST_F(RegistryTest, GaugeSetAndAdd) {
  auto gauge = *registry_.AddGauge("test_depth", "Queue depth.");
  gauge->With({})->Set(3);
  gauge->With({})->Add(-1.5);
  EXPECT_EQ(registry_.Expose(),
            "# HELP test_depth Queue depth.\n"
            "# TYPE test_depth gauge\n"
            "test_depth 1.5\n");
}

TEST_F(RegistryTest, HistogramBucketsAreCumulativeWithInclusiveBounds) {
  auto family =
      *registry_.AddHistogram("test_duration_seconds", "Duration.", {"route"}, {0.25, 0.5, 1});
  Histogram* h = family->With({"/x"});
  h->Observe(0.25);  // on the bound: le is inclusive
  h->Observe(0.375);
  h->Observe(0.75);
  h->Observe(3);
  EXPECT_EQ(registry_.Expose(),
            "# HELP test_duration_seconds Duration.\n"
            "# TYPE test_duration_seconds histogram\n"
            "test_duration_seconds_bucket{route=\"/x\",le=\"0.25\"} 1\n"
            "test_duration_seconds_bucket{route=\"/x\",le=\"0.5\"} 2\n"
            "test_duration_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
            "test_duration_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
            "test_duration_seconds_sum{route=\"/x\"} 4.375\n"
            "test_duration_seconds_count{route=\"/x\"} 4\n");
}

TEST_F(RegistryTest, UnlabelledHistogramHasOnlyLe) {
  auto family = *registry_.AddHistogram("test_batch", "Batch.", {}, {1, 10});
  family->With({})->Observe(5);
  EXPECT_EQ(registry_.Expose(),
            "# HELP test_batch Batch.\n"
            "# TYPE test_batch histogram\n"
            "test_batch_bucket{le=\"1\"} 0\n"
            "test_batch_bucket{le=\"10\"} 1\n"
            "test_batch_bucket{le=\"+Inf\"} 1\n"
            "test_batch_sum 5\n"
            "test_batch_count 1\n");
}

TEST_F(RegistryTest, RefusesInvalidRegistrations) {
  EXPECT_FALSE(registry_.AddCounter("1bad", "h").has_value());
  EXPECT_FALSE(registry_.AddCounter("bad-name", "h").has_value());
  EXPECT_FALSE(registry_.AddCounter("ok_total", "h", {"__reserved"}).has_value());
  EXPECT_FALSE(registry_.AddCounter("ok_total", "h", {"a", "a"}).has_value());
  EXPECT_FALSE(registry_.AddCounter("ok_total", "h", {"bad:label"}).has_value());
  EXPECT_FALSE(registry_.AddHistogram("h_seconds", "h", {"le"}, {1}).has_value());
  EXPECT_FALSE(registry_.AddHistogram("h_seconds", "h", {}, {1, 1}).has_value());
  EXPECT_FALSE(registry_.AddHistogram("h_seconds", "h", {}, {2, 1}).has_value());
  EXPECT_FALSE(
      registry_.AddHistogram("h_seconds", "h", {}, {1, std::numeric_limits<double>::infinity()})
          .has_value());
  ASSERT_TRUE(registry_.AddCounter("ok_total", "h").has_value());
  EXPECT_FALSE(registry_.AddGauge("ok_total", "again").has_value());
}

TEST_F(RegistryTest, CardinalityIsBoundedByAnOverflowSeries) {
  auto family = *registry_.AddCounter("test_total", "t", {"id"}, /*max_series=*/2);
  family->With({"a"})->Inc();
  family->With({"b"})->Inc();
  Counter* overflow = family->With({"c"});
  overflow->Inc();
  family->With({"d"})->Inc();
  EXPECT_EQ(family->With({"e"}), overflow);
  EXPECT_EQ(family->overflowed(), 3u);
  EXPECT_EQ(family->With({"a"})->value(), 1u);  // existing series still found
  EXPECT_EQ(registry_.Expose(),
            "# HELP test_total t\n"
            "# TYPE test_total counter\n"
            "test_total{id=\"a\"} 1\n"
            "test_total{id=\"b\"} 1\n"
            "test_total{id=\"overflow\"} 2\n");
}

TEST_F(RegistryTest, CollectorsAreReadAtScrapeTimeAndGroupedByName) {
  int scrapes = 0;
  ASSERT_TRUE(registry_.AddCounter("owned_total", "Owned.").has_value());
  registry_.AddCollector([&scrapes](Collection* c) {
    ++scrapes;
    c->Counter("test_refused_total", "Refused.", 3, {{"reason", "auth"}});
    c->Gauge("test_in_flight", "In flight.", 2);
    c->Counter("test_refused_total", "ignored help", 4, {{"reason", "other"}});
    c->Counter("owned_total", "clash with a registered family: dropped", 9);
    c->Counter("bad name", "dropped", 1);
  });
  EXPECT_EQ(registry_.Expose(),
            "# HELP owned_total Owned.\n"
            "# TYPE owned_total counter\n"
            "owned_total 0\n"
            "# HELP test_refused_total Refused.\n"
            "# TYPE test_refused_total counter\n"
            "test_refused_total{reason=\"auth\"} 3\n"
            "test_refused_total{reason=\"other\"} 4\n"
            "# HELP test_in_flight In flight.\n"
            "# TYPE test_in_flight gauge\n"
            "test_in_flight 2\n");
  EXPECT_EQ(scrapes, 1);
}

TEST(FormatValueTest, ShortestRoundTripAndSpecials) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(1), "1");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(-2.5), "-2.5");
  EXPECT_EQ(FormatValue(0.0005), "0.0005");
  EXPECT_EQ(FormatValue(1e21), "1e+21");
  EXPECT_EQ(FormatValue(3.305), "3.305");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(NameTest, Validity) {
  EXPECT_TRUE(IsValidMetricName("triggerd_http_requests_total"));
  EXPECT_TRUE(IsValidMetricName("ns:sub_metric"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("9x"));
  EXPECT_TRUE(IsValidLabelName("route"));
  EXPECT_FALSE(IsValidLabelName("__name__"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
}

TEST_F(RegistryTest, ConcurrentIncrementsAndFirstUsesLoseNothing) {
  auto family = *registry_.AddCounter("test_total", "t", {"worker"});
  auto histogram = *registry_.AddHistogram("test_seconds", "t", {}, {0.5});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string mine = "w" + std::to_string(t % 4);  // two threads share each set
      for (int i = 0; i < kPerThread; ++i) {
        family->With({mine})->Inc();
        family->With({"shared"})->Inc();
        histogram->With({})->Observe(i % 2 == 0 ? 0.25 : 1.0);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(family->With({"shared"})->value(), uint64_t{kThreads} * kPerThread);
  for (int w = 0; w < 4; ++w) {
    EXPECT_EQ(family->With({"w" + std::to_string(w)})->value(), uint64_t{2} * kPerThread);
  }
  EXPECT_EQ(family->overflowed(), 0u);
  auto snapshot = histogram->With({})->Read();
  EXPECT_EQ(snapshot.cumulative[0], uint64_t{kThreads} * kPerThread / 2);
  EXPECT_EQ(snapshot.cumulative[1], uint64_t{kThreads} * kPerThread);
  EXPECT_DOUBLE_EQ(snapshot.sum, kThreads * (kPerThread / 2) * 1.25);
}

}  // namespace
}  // namespace triggerd::metrics
