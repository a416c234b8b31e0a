// The YAML reading kit behind the experiment spec: typed readers of scalars, lists and
// mappings that report every bad value as "file:line:column: path: 'value' is not valid;
// expected ...", apply grid overrides, and reject unknown keys with a did-you-mean hint.
// Included by the spec's parser only; it is the one place that knows yaml-cpp.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "common/spec.hpp"
#include "common/text_match.hpp"

namespace gridfold::yaml_reader {

// One name of an enumeration as the spec spells it.
template <typename E>
struct EnumName {
  E value;
  const char* name;
};

// The spelling of `value` in `table` ("?" if absent).
template <typename E, std::size_t N>
std::string enum_name(const EnumName<E> (&table)[N], E value) {
  for (const auto& e : table) {
    if (e.value == value) return e.name;
  }
  return "?";
}

// Every spelling of `table`, in its order.
template <typename E, std::size_t N>
std::vector<std::string> enum_names(const EnumName<E> (&table)[N]) {
  std::vector<std::string> out;
  for (const auto& e : table) out.emplace_back(e.name);
  return out;
}

// Canonical flow-style YAML of a node: the identity of a grid value.
std::string canonical_yaml(const YAML::Node& node);

// Parses `text` (named `name` in messages); throws SpecError with line:column if it is not YAML.
YAML::Node load_yaml(const std::string& text, const std::string& name);

// Everything a reader needs to report errors and apply grid overrides.
struct ParseContext {
  std::string file;
  std::filesystem::path base_dir;
  const ParamAssignment* overrides = nullptr;
  std::set<std::string>* used_overrides = nullptr;
  std::map<std::string, std::vector<std::string>>* keys_by_section = nullptr;  // for messages
};

// Where `node` starts in ctx.file (line 0 when the node has no mark, e.g. a grid override).
SourceLocation location_of(const YAML::Node& node, const ParseContext& ctx);

// A value being read: the node and the place a user should look to fix it.
struct Value {
  YAML::Node node;
  SourceLocation where;
  std::string path;  // dotted, for messages

  // Throws SpecError: "where: path: 'value' is not valid; expected `expected`".
  [[noreturn]] void fail(const std::string& expected) const;
  // The scalar, or fail(expected) if the node is not one.
  const std::string& scalar(const std::string& expected) const;
};

// "a, b, c".
std::string join(const std::vector<std::string>& items, const char* sep = ", ");

// Each reader returns the value or calls v.fail() with what would have been valid.
long long as_integer(const Value& v, long long lo, long long hi);
double as_number(const Value& v, double lo, double hi, bool lo_open = false);
bool as_bool(const Value& v);
std::string as_string(const Value& v);
std::string as_matching(const Value& v, const std::regex& pattern, const std::string& expected);

// One of `table`'s spellings, with the nearest one suggested for a typo.
template <typename E, std::size_t N>
E as_enum(const Value& v, const EnumName<E> (&table)[N]) {
  const std::vector<std::string> names = enum_names(table);
  const std::string expected = "one of " + join(names);
  const std::string& s = v.scalar(expected);
  for (const auto& e : table) {
    if (s == e.name) return e.value;
  }
  if (auto near = closest_match(s, names)) v.fail(expected + " (did you mean '" + *near + "'?)");
  v.fail(expected);
}

// Reads one YAML mapping, remembering which keys were consumed so that anything left over is
// reported as unknown, with the nearest known key as a suggestion.
class MapReader {
 public:
  // Fails unless `map` is a mapping.
  MapReader(Value map, const ParseContext& ctx);

  // The value at `key`, or nothing. A grid override of this path takes precedence.
  std::optional<Value> get(const std::string& key);
  // The value at `key`; throws SpecError naming the missing key.
  Value require(const std::string& key);
  // Calls assign(value) when `key` is present.
  template <typename F>
  void read(const std::string& key, F&& assign) {
    if (auto v = get(key)) assign(*v);
  }
  // Call after every get(): rejects keys that no get() asked for.
  void finish() const;

  const Value& value() const { return map_; }
  const ParseContext& context() const { return ctx_; }

 private:
  Value map_;
  const ParseContext& ctx_;
  std::vector<std::string> known_;
};

// The items of a sequence, each with its own location and path "path[i]".
std::vector<Value> sequence_items(const Value& v, const ParseContext& ctx, const std::string& expected);
// A list of integers in [lo, hi], or one integer standing for a one-element list.
std::vector<int> as_int_list(const Value& v, const ParseContext& ctx, long long lo, long long hi);
std::vector<std::string> as_string_list(const Value& v, const ParseContext& ctx);
// A non-empty path; relative ones are taken from ctx.base_dir (the spec's folder).
std::filesystem::path as_path(const Value& v, const ParseContext& ctx);

// A section left out reads as an empty one, so its defaults apply and grid overrides of
// its keys still land.
MapReader optional_section(MapReader& parent, const std::string& key);

}  // namespace gridfold::yaml_reader
