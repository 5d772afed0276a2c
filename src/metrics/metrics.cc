#include "metrics/metrics.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <set>

namespace triggerd::metrics {
namespace {

uint64_t HashValues(LabelValues values) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a
  for (std::string_view v : values) {
    for (unsigned char c : v) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;  // separator: ("ab","c") differs from ("a","bc")
  }
  return h;
}

bool SameValues(const std::vector<std::string>& stored, LabelValues values) {
  if (stored.size() != values.size()) return false;
  for (size_t i = 0; i < values.size(); ++i) {
    if (stored[i] != values[i]) return false;
  }
  return true;
}

std::string LabelsText(const std::vector<std::string>& names,
                       const std::vector<std::string>& values, std::string_view le = {}) {
  if (names.empty() && le.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  if (!le.empty()) {
    if (!names.empty()) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
  return out;
}

void Header(std::string* out, std::string_view name, std::string_view help, std::string_view type) {
  *out += "# HELP ";
  *out += name;
  *out += ' ';
  *out += EscapeHelp(help);
  *out += "\n# TYPE ";
  *out += name;
  *out += ' ';
  *out += type;
  *out += '\n';
}

void Sample(std::string* out, std::string_view name, std::string_view labels,
            std::string_view value, std::string_view suffix = {}) {
  out->append(name);
  out->append(suffix);
  out->append(labels);
  out->push_back(' ');
  out->append(value);
  out->push_back('\n');
}

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;  // "__" is reserved for Prometheus
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  // Shortest round-trip digits, %g-style: 0.0005 rather than 5e-04 for bucket bounds.
  auto [end, ec] =
      std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::general);
  return std::string(buffer, end);
}

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  // `le` is inclusive: the first bound >= value. NaN belongs to no finite bucket.
  size_t i = std::isnan(value)
                 ? bounds_->size()
                 : static_cast<size_t>(std::lower_bound(bounds_->begin(), bounds_->end(), value) -
                                       bounds_->begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.cumulative.reserve(bounds_->size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(total);
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

FamilyBase::FamilyBase(Type type, std::string name, std::string help,
                       std::vector<std::string> label_names, size_t max_series)
    : type_(type),
      name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      max_series_(std::max<size_t>(max_series, 1)) {
  const size_t capacity = std::bit_ceil(2 * max_series_);
  mask_ = capacity - 1;
  slots_.reset(new std::atomic<Series*>[capacity]);
  for (size_t i = 0; i < capacity; ++i) slots_[i].store(nullptr, std::memory_order_relaxed);
}

FamilyBase::~FamilyBase() {
  for (size_t i = 0; i <= mask_; ++i) delete slots_[i].load(std::memory_order_relaxed);
  delete overflow_.load(std::memory_order_relaxed);
}

FamilyBase::Series* FamilyBase::Find(LabelValues values) {
  auto overflow = [this]() -> Series* {
    overflowed_.fetch_add(1, std::memory_order_relaxed);
    Series* existing = overflow_.load(std::memory_order_acquire);
    if (existing != nullptr) return existing;
    std::unique_ptr<Series> made = MakeSeries();
    made->values.assign(label_names_.size(), "overflow");
    if (overflow_.compare_exchange_strong(existing, made.get(), std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
      return made.release();
    }
    return existing;
  };
  if (values.size() != label_names_.size()) return overflow();

  const uint64_t hash = HashValues(values);
  std::unique_ptr<Series> fresh;  // made once we know the set is new; dropped if another won
  // Linear probing over slots that are only ever filled, never emptied: a set is either in the
  // probe sequence before the first empty slot, or absent.
  for (size_t probes = 0, i = hash & mask_; probes <= mask_; ++probes, i = (i + 1) & mask_) {
    Series* series = slots_[i].load(std::memory_order_acquire);
    if (series == nullptr) {
      if (!fresh) {
        if (size_.fetch_add(1, std::memory_order_relaxed) >= max_series_) {
          size_.fetch_sub(1, std::memory_order_relaxed);
          return overflow();
        }
        fresh = MakeSeries();
        fresh->values.assign(values.begin(), values.end());
        fresh->hash = hash;
      }
      if (slots_[i].compare_exchange_strong(series, fresh.get(), std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
        return fresh.release();
      }
      // Another thread filled the slot first: `series` is its entry, maybe our very set.
    }
    if (series->hash == hash && SameValues(series->values, values)) {
      if (fresh) size_.fetch_sub(1, std::memory_order_relaxed);
      return series;
    }
  }
  if (fresh) size_.fetch_sub(1, std::memory_order_relaxed);
  return overflow();  // unreachable: capacity is twice max_series
}

std::vector<const FamilyBase::Series*> FamilyBase::Snapshot() const {
  std::vector<const Series*> out;
  for (size_t i = 0; i <= mask_; ++i) {
    if (const Series* s = slots_[i].load(std::memory_order_acquire)) out.push_back(s);
  }
  std::sort(out.begin(), out.end(),
            [](const Series* a, const Series* b) { return a->values < b->values; });
  if (const Series* s = overflow_.load(std::memory_order_acquire)) out.push_back(s);
  return out;
}

void Collection::Counter(std::string_view name, std::string_view help, double value,
                         Labels labels) {
  Add(true, name, help, value, std::move(labels));
}

void Collection::Gauge(std::string_view name, std::string_view help, double value, Labels labels) {
  Add(false, name, help, value, std::move(labels));
}

void Collection::Add(bool counter, std::string_view name, std::string_view help, double value,
                     Labels labels) {
  if (!IsValidMetricName(name)) return;
  for (const auto& [label, unused] : labels) {
    if (!IsValidLabelName(label)) return;
  }
  for (Group& group : groups_) {
    if (group.name == name) {
      group.samples.push_back({std::move(labels), value});
      return;
    }
  }
  groups_.push_back({std::string(name), std::string(help), counter, {}});
  groups_.back().samples.push_back({std::move(labels), value});
}

Status Registry::CheckNew(const std::string& name,
                          const std::vector<std::string>& label_names) const {
  if (!IsValidMetricName(name)) {
    return Status::InvalidArgument("invalid metric name \"" + name + "\"");
  }
  for (const auto& family : families_) {
    if (family->name() == name) {
      return Status::InvalidArgument("metric \"" + name + "\" is already registered");
    }
  }
  std::set<std::string_view> seen;
  for (const auto& label : label_names) {
    if (!IsValidLabelName(label) || !seen.insert(label).second) {
      return Status::InvalidArgument("invalid or repeated label name \"" + label + "\" in " + name);
    }
  }
  return Status::Ok();
}

Result<Family<Counter>*> Registry::AddCounter(std::string name, std::string help,
                                              std::vector<std::string> label_names,
                                              size_t max_series) {
  std::lock_guard lock(mu_);
  TRIGGERD_RETURN_IF_ERROR(CheckNew(name, label_names));
  const bool single = label_names.empty();
  auto family =
      std::make_unique<Family<Counter>>(FamilyBase::Type::kCounter, std::move(name),
                                        std::move(help), std::move(label_names), max_series);
  if (single) family->With({});
  Family<Counter>* out = family.get();
  families_.push_back(std::move(family));
  return out;
}

Result<Family<Gauge>*> Registry::AddGauge(std::string name, std::string help,
                                          std::vector<std::string> label_names, size_t max_series) {
  std::lock_guard lock(mu_);
  TRIGGERD_RETURN_IF_ERROR(CheckNew(name, label_names));
  const bool single = label_names.empty();
  auto family =
      std::make_unique<Family<Gauge>>(FamilyBase::Type::kGauge, std::move(name), std::move(help),
                                      std::move(label_names), max_series);
  if (single) family->With({});
  Family<Gauge>* out = family.get();
  families_.push_back(std::move(family));
  return out;
}

Result<Family<Histogram>*> Registry::AddHistogram(std::string name, std::string help,
                                                  std::vector<std::string> label_names,
                                                  std::vector<double> bounds, size_t max_series) {
  std::lock_guard lock(mu_);
  TRIGGERD_RETURN_IF_ERROR(CheckNew(name, label_names));
  for (const auto& label : label_names) {
    if (label == "le") return Status::InvalidArgument("a histogram cannot have a label \"le\"");
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      return Status::InvalidArgument("histogram " + name +
                                     ": bucket bounds must be finite and strictly increasing");
    }
  }
  const bool single = label_names.empty();
  auto family = std::make_unique<Family<Histogram>>(FamilyBase::Type::kHistogram, std::move(name),
                                                    std::move(help), std::move(label_names),
                                                    max_series, std::move(bounds));
  if (single) family->With({});
  Family<Histogram>* out = family.get();
  families_.push_back(std::move(family));
  return out;
}

void Registry::AddCollector(Collector collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Registry::Expose() const {
  std::lock_guard lock(mu_);
  std::string out;
  std::set<std::string_view> names;
  for (const auto& family : families_) {
    names.insert(family->name());
    const auto series = family->Snapshot();
    if (series.empty()) continue;
    const std::string& name = family->name();
    const auto& label_names = family->label_names();
    switch (family->type()) {
      case FamilyBase::Type::kCounter:
        Header(&out, name, family->help(), "counter");
        for (const auto* s : series) {
          Sample(&out, name, LabelsText(label_names, s->values),
                 std::to_string(static_cast<const Family<Counter>::Entry*>(s)->metric.value()));
        }
        break;
      case FamilyBase::Type::kGauge:
        Header(&out, name, family->help(), "gauge");
        for (const auto* s : series) {
          Sample(&out, name, LabelsText(label_names, s->values),
                 FormatValue(static_cast<const Family<Gauge>::Entry*>(s)->metric.value()));
        }
        break;
      case FamilyBase::Type::kHistogram: {
        Header(&out, name, family->help(), "histogram");
        const auto& bounds = static_cast<const Family<Histogram>&>(*family).bounds();
        for (const auto* s : series) {
          const auto snapshot = static_cast<const Family<Histogram>::Entry*>(s)->metric.Read();
          for (size_t i = 0; i <= bounds.size(); ++i) {
            const std::string le = i < bounds.size() ? FormatValue(bounds[i]) : "+Inf";
            Sample(&out, name, LabelsText(label_names, s->values, le),
                   std::to_string(snapshot.cumulative[i]), "_bucket");
          }
          const std::string labels = LabelsText(label_names, s->values);
          Sample(&out, name, labels, FormatValue(snapshot.sum), "_sum");
          Sample(&out, name, labels, std::to_string(snapshot.cumulative.back()), "_count");
        }
        break;
      }
    }
  }
  Collection collection;
  for (const auto& collector : collectors_) collector(&collection);
  for (const auto& group : collection.groups()) {
    if (!names.insert(group.name).second) continue;  // a registered family owns this name
    Header(&out, group.name, group.help, group.counter ? "counter" : "gauge");
    for (const auto& sample : group.samples) {
      std::vector<std::string> label_names, values;
      for (const auto& [label, value] : sample.labels) {
        label_names.push_back(label);
        values.push_back(value);
      }
      Sample(&out, group.name, LabelsText(label_names, values), FormatValue(sample.value));
    }
  }
  return out;
}

}  // namespace triggerd::metrics
