// Light event schemas and the filter warnings built on them. A warning must never be wrong in
// the direction that matters to users ("this real field does not exist"), so every doubt
// resolves to "the field may exist": open paths, values only seen null, containers only seen
// empty, event types without a schema.
#include <algorithm>
#include <boost/json/parse.hpp>
#include <cstdint>
#include <map>
#include <set>
#include <utility>

#include "verify/catalog.h"

namespace triggerd::verify {
namespace {

enum Kind : uint8_t {
  kObject = 1,
  kArray = 2,
  kString = 4,
  kNumber = 8,
  kBoolean = 16,
  kNull = 32,
};

uint8_t ParseKinds(std::string_view text) {
  uint8_t mask = 0;
  while (!text.empty()) {
    const size_t bar = text.find('|');
    const std::string_view k = text.substr(0, bar);
    if (k == "object") mask |= kObject;
    if (k == "array") mask |= kArray;
    if (k == "string") mask |= kString;
    if (k == "number") mask |= kNumber;
    if (k == "boolean") mask |= kBoolean;
    if (k == "null") mask |= kNull;
    text = bar == std::string_view::npos ? std::string_view() : text.substr(bar + 1);
  }
  return mask;
}

// Splits a filter field path into its segments the way the filter language does (mirror of
// filter/path.cc CompilePath): dots separate keys, "[k]" is a segment of its own when a "]"
// follows somewhere, a trailing "." names the key "".
std::vector<std::string> SplitPath(std::string_view text) {
  std::vector<std::string> out;
  const size_t last_close = text.rfind(']');
  auto opens_bracket = [&](size_t j) {
    return text[j] == '[' && last_close != std::string_view::npos && last_close > j;
  };
  const size_t n = text.size();
  size_t i = 0;
  for (;;) {
    if (i < n && opens_bracket(i)) {
      const size_t close = text.find(']', i + 1);
      out.emplace_back(text.substr(i + 1, close - i - 1));
      i = close + 1;
    } else {
      size_t j = i;
      while (j < n && text[j] != '.' && !opens_bracket(j)) ++j;
      out.emplace_back(text.substr(i, j - i));
      i = j;
    }
    if (i >= n) break;
    if (text[i] == '.') {
      ++i;
      if (i == n) {
        out.emplace_back();
        break;
      }
    }
  }
  return out;
}

std::vector<std::string> SplitDots(std::string_view text) {
  std::vector<std::string> out;
  while (true) {
    const size_t dot = text.find('.');
    out.emplace_back(text.substr(0, dot));
    if (dot == std::string_view::npos) return out;
    text.remove_prefix(dot + 1);
  }
}

// "0" or digits without a leading zero: an array index in the filter language.
bool IsIndex(std::string_view s) {
  if (s.empty() || s.size() > 18 || (s.size() > 1 && s[0] == '0')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Whether `pattern` (segments; "**" any number of segments, "*" any one, "abc*" any key
// starting with abc) matches all of `path`.
bool GlobMatch(std::span<const std::string> pattern, std::span<const std::string> path) {
  if (pattern.empty()) return path.empty();
  const std::string& p = pattern.front();
  if (p == "**") {
    for (size_t skip = 0; skip <= path.size(); ++skip) {
      if (GlobMatch(pattern.subspan(1), path.subspan(skip))) return true;
    }
    return false;
  }
  if (path.empty()) return false;
  const std::string& s = path.front();
  bool segment_ok = p == s || p == "*" ||
                    (p.size() > 1 && p.back() == '*' &&
                     std::string_view(s).starts_with(std::string_view(p).substr(0, p.size() - 1)));
  return segment_ok && GlobMatch(pattern.subspan(1), path.subspan(1));
}

// Edits (insert, delete, substitute, swap two neighbours) from a to b: the optimal string
// alignment distance, so "tilte" is one typo away from "title".
size_t EditDistance(std::string_view a, std::string_view b) {
  const size_t w = b.size() + 1;
  std::vector<size_t> d((a.size() + 1) * w);
  for (size_t i = 0; i <= a.size(); ++i) d[i * w] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      size_t best =
          std::min({d[(i - 1) * w + j] + 1, d[i * w + j - 1] + 1, d[(i - 1) * w + j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        best = std::min(best, d[(i - 2) * w + j - 2] + 1);
      }
      d[i * w + j] = best;
    }
  }
  return d[a.size() * w + b.size()];
}

// A typo, not another word: at most 2 edits, and fewer than a third of the word.
bool NearMiss(std::string_view typed, std::string_view known) {
  const size_t d = EditDistance(typed, known);
  return d > 0 && d <= 2 && d * 3 <= std::max(typed.size(), known.size());
}

std::string Join(std::span<const std::string> segments) {
  std::string out;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out += '.';
    out += segments[i];
  }
  return out;
}

// The parsed schemas of every catalog event type that has one, keyed by its EventTypeInfo.
// Built once, at first use (a function-local static), then only read.
const std::map<const EventTypeInfo*, EventSchema>& AllSchemas() {
  static const auto* schemas = [] {
    auto* out = new std::map<const EventTypeInfo*, EventSchema>();
    for (const auto& provider : Catalog()) {
      for (const auto& event : provider.event_types) {
        if (event.schema_json.empty()) continue;
        if (auto schema = EventSchema::Parse(event.schema_json)) {
          out->emplace(&event, std::move(*schema));
        }
      }
    }
    return out;
  }();
  return *schemas;
}

bool IsOpen(std::span<const std::vector<std::string>> patterns, std::span<const std::string> path) {
  for (const auto& pattern : patterns) {
    for (size_t k = 1; k <= path.size(); ++k) {
      if (GlobMatch(pattern, path.first(k))) return true;
    }
  }
  return false;
}

// The event types list as people read it: "a", "a or b", "a, b or c".
std::string Describe(std::span<const std::string> names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

}  // namespace

std::optional<EventSchema> EventSchema::Parse(std::string_view json) {
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(json, ec);
  if (ec || !doc.is_object()) return std::nullopt;
  EventSchema schema;
  if (const auto* open = doc.as_object().if_contains("open")) {
    if (!open->is_array()) return std::nullopt;
    for (const auto& p : open->as_array()) {
      if (!p.is_string()) return std::nullopt;
      schema.open_.emplace_back(p.as_string());
    }
  }
  const auto* fields = doc.as_object().if_contains("fields");
  if (fields == nullptr || !fields->is_object()) return std::nullopt;
  for (const auto& [path, kinds] : fields->as_object()) {
    if (!kinds.is_string()) return std::nullopt;
    schema.fields_.push_back({std::string(path), std::string(kinds.as_string())});
  }
  std::sort(schema.fields_.begin(), schema.fields_.end(),
            [](const SchemaField& a, const SchemaField& b) { return a.path < b.path; });
  for (const auto& field : schema.fields_) {
    schema.kinds_.emplace(field.path, ParseKinds(field.kinds));
    const size_t dot = field.path.rfind('.');
    const std::string parent = dot == std::string::npos ? "" : field.path.substr(0, dot);
    schema.children_[parent].push_back(dot == std::string::npos ? field.path
                                                                : field.path.substr(dot + 1));
  }
  for (const auto& pattern : schema.open_) schema.open_segments_.push_back(SplitDots(pattern));
  return schema;
}

bool EventSchema::Has(std::string_view text, std::string* suggestion) const {
  if (suggestion != nullptr) suggestion->clear();
  const std::vector<std::string> segments = SplitPath(text);
  std::vector<std::string> walked;  // the schema's spelling of the segments resolved so far
  std::string current;              // Join(walked)
  uint8_t mask = kObject;           // the root of a payload is an object (or an array)
  if (kinds_.count("*")) mask |= kArray;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& segment = segments[i];
    const bool last = i + 1 == segments.size();
    if ((mask & ~kNull) == 0) return true;  // only ever seen null: its shape is unknown
    std::vector<std::string> candidates;
    if ((mask & kObject) && segment != "*") candidates.push_back(segment);
    if ((mask & kArray) && (segment == "*" || IsIndex(segment))) candidates.push_back("*");
    bool resolved = false;
    for (const auto& key : candidates) {
      walked.push_back(key);
      if (IsOpen(open_segments_, walked)) return true;
      const std::string next = current.empty() ? key : current + "." + key;
      if (auto it = kinds_.find(next); it != kinds_.end()) {
        current = next;
        mask = it->second;
        resolved = true;
        break;
      }
      walked.pop_back();
    }
    if (resolved) continue;
    if (last && segment == "length" && (mask & (kString | kArray))) return true;
    const auto children = children_.find(current);
    if ((mask & (kObject | kArray)) && children == children_.end()) {
      return true;  // only ever seen empty: its members are unknown
    }
    if (suggestion != nullptr && (mask & kObject) && children != children_.end()) {
      std::string_view best;
      size_t best_distance = SIZE_MAX;
      for (const auto& key : children->second) {
        if (key == "*" || !NearMiss(segment, key)) continue;
        const size_t d = EditDistance(segment, key);
        if (d < best_distance) {
          best = key;
          best_distance = d;
        }
      }
      if (!best.empty()) {
        std::vector<std::string> fixed(segments.begin(), segments.end());
        fixed[i] = std::string(best);
        *suggestion = Join(fixed);
      }
    }
    return false;
  }
  return true;
}

const EventSchema* FindSchema(std::string_view kind, std::string_view event_type) {
  const EventTypeInfo* event = FindEventType(kind, event_type);
  if (event == nullptr) return nullptr;
  const auto& schemas = AllSchemas();
  auto it = schemas.find(event);
  return it == schemas.end() ? nullptr : &it->second;
}

std::vector<std::string> FilterWarnings(std::string_view kind,
                                        std::span<const std::string> event_types,
                                        std::span<const std::string> fields) {
  std::vector<std::string> warnings;
  const ProviderCatalog* provider = FindCatalog(kind);
  if (provider == nullptr) return warnings;

  std::vector<std::string> selected;
  for (const auto& t : event_types) {
    if (std::find(selected.begin(), selected.end(), t) == selected.end()) selected.push_back(t);
  }
  bool all_have_schemas = !selected.empty();
  std::vector<const EventSchema*> schemas;
  for (const auto& t : selected) {
    if (FindEventType(kind, t) == nullptr) {
      std::string_view best;
      size_t best_distance = SIZE_MAX;
      for (const auto& e : provider->event_types) {
        if (!NearMiss(t, e.name)) continue;
        const size_t d = EditDistance(t, e.name);
        if (d < best_distance) {
          best = e.name;
          best_distance = d;
        }
      }
      if (!best.empty()) {
        warnings.push_back("event type \"" + t + "\" is not a known " + std::string(kind) +
                           " event type (did you mean \"" + std::string(best) + "\"?)");
      }
    }
    const EventSchema* schema = FindSchema(kind, t);
    if (schema == nullptr) all_have_schemas = false;
    schemas.push_back(schema);
  }
  if (!all_have_schemas) return warnings;

  std::set<std::string_view> seen;
  for (const auto& field : fields) {
    if (field.empty() || field[0] == '$' || !seen.insert(field).second) continue;
    bool known = false;
    std::string suggestion;
    for (const EventSchema* schema : schemas) {
      std::string s;
      if (schema->Has(field, &s)) {
        known = true;
        break;
      }
      if (suggestion.empty()) suggestion = std::move(s);
    }
    if (known) continue;
    std::string warning =
        field + " is not a field of " + std::string(kind) + " " + Describe(selected) + " events";
    if (!suggestion.empty()) warning += " (did you mean " + suggestion + "?)";
    warnings.push_back(std::move(warning));
  }
  return warnings;
}

}  // namespace triggerd::verify
