// metrics: a small Prometheus registry — counters, gauges and histograms with fixed buckets, in
// label-keyed families — and its text exposition (format 0.0.4). It depends only on common and
// knows nothing of HTTP or webhooks: modules keep their own *Stats() counters and the registry
// reads them at scrape time through collectors; only what no module counts (e.g. requests per
// route, observed by app wiring) lives in registry-owned series.
//
// Hot path: Counter::Inc, Gauge::Set/Add and Histogram::Observe are relaxed atomic operations.
// Family::With finds an existing series without a lock and without allocating (a fixed-capacity
// open-addressing table of immutable entries, published by compare-and-swap); only the first use
// of a label set allocates it. Series are never removed, so pointers returned by With stay valid
// for the registry's lifetime.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace triggerd::metrics {

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d) { value_.fetch_add(d, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Cumulative buckets with inclusive upper bounds (Prometheus `le`), plus the implicit +Inf one.
class Histogram {
 public:
  // `bounds` (strictly increasing, finite) is owned by the family and outlives the histogram.
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
  };
  // Read with relaxed loads: under concurrent Observe calls the buckets, count and sum may be
  // off by the observations in flight, never torn.
  Snapshot Read() const;

 private:
  const std::vector<double>* bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket (not cumulative), +Inf last
  std::atomic<double> sum_{0};
};

// Label values of a family's series, in the order of the family's label names.
using LabelValues = std::span<const std::string_view>;

// Type-erased series table shared by Family<T>. Thread-safe.
class FamilyBase {
 public:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series {
    std::vector<std::string> values;
    uint64_t hash = 0;
    virtual ~Series() = default;
  };

  FamilyBase(Type type, std::string name, std::string help, std::vector<std::string> label_names,
             size_t max_series);
  virtual ~FamilyBase();
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  Type type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Lookups sent to the overflow series (every label value "overflow") because the family
  // already held max_series label sets: cardinality stays bounded whatever the labels.
  uint64_t overflowed() const { return overflowed_.load(std::memory_order_relaxed); }
  // Every series, sorted by label values (for a stable exposition).
  std::vector<const Series*> Snapshot() const;

 protected:
  // The series for `values`, made by MakeSeries on first use. REQUIRES: values.size() equals the
  // number of label names (a mismatch is a programmer error and lands in the overflow series).
  Series* Find(LabelValues values);
  virtual std::unique_ptr<Series> MakeSeries() const = 0;

 private:
  Type type_;
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  size_t max_series_;
  size_t mask_;  // capacity - 1; capacity is a power of two >= 2 * max_series
  std::unique_ptr<std::atomic<Series*>[]> slots_;
  std::atomic<size_t> size_{0};
  std::atomic<uint64_t> overflowed_{0};
  std::atomic<Series*> overflow_{nullptr};  // made on first overflow, owned
};

template <typename T>
class Family final : public FamilyBase {
 public:
  struct Entry : Series {
    explicit Entry(const Family* family) : metric(family->Make()) {}
    T metric;
  };

  using FamilyBase::FamilyBase;
  Family(Type type, std::string name, std::string help, std::vector<std::string> label_names,
         size_t max_series, std::vector<double> bounds)
      : FamilyBase(type, std::move(name), std::move(help), std::move(label_names), max_series),
        bounds_(std::move(bounds)) {}

  // The series for these label values. Lock-free; allocates only on a label set's first use.
  T* With(LabelValues values) { return &static_cast<Entry*>(Find(values))->metric; }
  T* With(std::initializer_list<std::string_view> values) {
    return With(LabelValues(values.begin(), values.size()));
  }

  const std::vector<double>& bounds() const { return bounds_; }
  T Make() const {
    if constexpr (std::is_same_v<T, Histogram>) {
      return T(&bounds_);
    } else {
      return T();
    }
  }

 protected:
  std::unique_ptr<Series> MakeSeries() const override { return std::make_unique<Entry>(this); }

 private:
  std::vector<double> bounds_;  // histograms only
};

// Samples read at scrape time from a module's own stats (see Registry::AddCollector).
class Collection {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  // Adds one sample. Samples of one name are exposed together under one HELP/TYPE (the first
  // call's); counter names end in _total. Invalid metric or label names are dropped.
  void Counter(std::string_view name, std::string_view help, double value, Labels labels = {});
  void Gauge(std::string_view name, std::string_view help, double value, Labels labels = {});

  struct Sample {
    Labels labels;
    double value;
  };
  struct Group {
    std::string name;
    std::string help;
    bool counter;
    std::vector<Sample> samples;
  };
  const std::vector<Group>& groups() const { return groups_; }

 private:
  void Add(bool counter, std::string_view name, std::string_view help, double value, Labels labels);
  std::vector<Group> groups_;
};

using Collector = std::function<void(Collection*)>;

// Thread-safe: families and collectors may be added while other threads observe or scrape.
class Registry {
 public:
  static constexpr size_t kDefaultMaxSeries = 1000;

  // Errors (kInvalidArgument) for a name that is not a valid Prometheus name, a name already
  // registered, invalid or reserved label names ("le" on histograms, "__" prefixes), and bucket
  // bounds that are not finite and strictly increasing. A family without labels has its one
  // series from the start (exposed as 0).
  Result<Family<Counter>*> AddCounter(std::string name, std::string help,
                                      std::vector<std::string> label_names = {},
                                      size_t max_series = kDefaultMaxSeries);
  Result<Family<Gauge>*> AddGauge(std::string name, std::string help,
                                  std::vector<std::string> label_names = {},
                                  size_t max_series = kDefaultMaxSeries);
  Result<Family<Histogram>*> AddHistogram(std::string name, std::string help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds,
                                          size_t max_series = kDefaultMaxSeries);
  // Called at every scrape, in the order added, after the registry's own families. A collector
  // must be thread-safe and must not call back into the registry.
  void AddCollector(Collector collector);

  // The Prometheus text exposition format 0.0.4 of every family and collector.
  std::string Expose() const;

 private:
  Status CheckNew(const std::string& name, const std::vector<std::string>& label_names) const;

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
  std::vector<Collector> collectors_;
};

// The Content-Type of Registry::Expose's text.
inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// Exposition helpers, exposed for tests.
bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);
std::string EscapeLabelValue(std::string_view value);
std::string EscapeHelp(std::string_view help);
std::string FormatValue(double value);  // shortest round-trip; +Inf, -Inf, NaN

}  // namespace triggerd::metrics
