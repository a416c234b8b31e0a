#include "common/yaml_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <utility>

namespace gridfold::yaml_reader {
namespace fs = std::filesystem;

void Value::fail(const std::string& expected) const {
  const std::string shown = node.IsScalar() ? node.Scalar() : canonical_yaml(node);
  throw SpecError(fmt::format("{}: {}: '{}' is not valid; expected {}", where.str(), path, shown, expected));
}

const std::string& Value::scalar(const std::string& expected) const {
  if (!node.IsScalar()) fail(expected);
  return node.Scalar();
}

MapReader::MapReader(Value map, const ParseContext& ctx) : map_(std::move(map)), ctx_(ctx) {
  if (!map_.node.IsMap()) map_.fail("a mapping of keys to values");
}

std::optional<Value> MapReader::get(const std::string& key) {
  known_.push_back(key);
  if (ctx_.keys_by_section) (*ctx_.keys_by_section)[map_.path].push_back(key);
  const std::string path = map_.path.empty() ? key : map_.path + "." + key;
  if (ctx_.overrides) {
    if (auto it = ctx_.overrides->find(path); it != ctx_.overrides->end()) {
      ctx_.used_overrides->insert(path);
      return Value{YAML::Load(it->second.yaml), it->second.where, path};
    }
  }
  const YAML::Node node = map_.node[key];
  if (!node.IsDefined() || node.IsNull()) return std::nullopt;
  return Value{node, location_of(node, ctx_), path};
}

Value MapReader::require(const std::string& key) {
  auto v = get(key);
  if (!v) {
    throw SpecError(fmt::format("{}: {}: required key '{}' is missing", map_.where.str(),
                                map_.path.empty() ? "spec" : map_.path, key));
  }
  return *v;
}

void MapReader::finish() const {
  for (const auto& kv : map_.node) {
    const std::string key = kv.first.Scalar();
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    const SourceLocation where = location_of(kv.first, ctx_);
    const std::string section = map_.path.empty() ? "spec" : map_.path;
    std::string hint;
    if (auto near = closest_match(key, known_)) hint = fmt::format(" (did you mean '{}'?)", *near);
    throw SpecError(
        fmt::format("{}: {}: unknown key '{}'{}; valid keys: {}", where.str(), section, key, hint, join(known_)));
  }
}

std::string canonical_yaml(const YAML::Node& node) {
  YAML::Emitter out;
  out.SetMapFormat(YAML::Flow);
  out.SetSeqFormat(YAML::Flow);
  out << node;
  return out.c_str();
}

SourceLocation location_of(const YAML::Node& node, const ParseContext& ctx) {
  const YAML::Mark m = node.Mark();
  if (m.is_null()) return {ctx.file, 0, 0};
  return {ctx.file, m.line + 1, m.column + 1};
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

long long as_integer(const Value& v, long long lo, long long hi) {
  const std::string expected = hi == std::numeric_limits<long long>::max()
                                   ? fmt::format("an integer >= {}", lo)
                                   : fmt::format("an integer from {} to {}", lo, hi);
  const std::string& s = v.scalar(expected);
  long long out = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || end != s.data() + s.size() || out < lo || out > hi) v.fail(expected);
  return out;
}

double as_number(const Value& v, double lo, double hi, bool lo_open) {
  std::string expected;
  if (hi == std::numeric_limits<double>::infinity()) {
    expected = fmt::format("a number {} {}", lo_open ? ">" : ">=", lo);
  } else if (lo_open) {
    expected = fmt::format("a number > {} and <= {}", lo, hi);
  } else {
    expected = fmt::format("a number from {} to {}", lo, hi);
  }
  const std::string& s = v.scalar(expected);
  double out = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || end != s.data() + s.size() || !(out >= lo) || out > hi || (lo_open && out == lo)) {
    v.fail(expected);
  }
  return out;
}

bool as_bool(const Value& v) {
  const std::string& s = v.scalar("true or false");
  if (s == "true" || s == "True" || s == "yes") return true;
  if (s == "false" || s == "False" || s == "no") return false;
  v.fail("true or false");
}

std::string as_string(const Value& v) {
  return v.scalar("a string");
}

std::string as_matching(const Value& v, const std::regex& pattern, const std::string& expected) {
  const std::string& s = v.scalar(expected);
  if (!std::regex_match(s, pattern)) v.fail(expected);
  return s;
}

std::vector<Value> sequence_items(const Value& v, const ParseContext& ctx, const std::string& expected) {
  if (!v.node.IsSequence()) v.fail(expected);
  std::vector<Value> out;
  std::size_t i = 0;
  for (const auto& item : v.node) {
    SourceLocation where = location_of(item, ctx);
    if (where.line == 0) where = v.where;  // items of a grid override have no marks of their own
    out.push_back(Value{item, where, fmt::format("{}[{}]", v.path, i++)});
  }
  return out;
}

std::vector<int> as_int_list(const Value& v, const ParseContext& ctx, long long lo, long long hi) {
  if (v.node.IsScalar()) return {static_cast<int>(as_integer(v, lo, hi))};
  std::vector<int> out;
  for (const auto& item : sequence_items(v, ctx, fmt::format("an integer or a list of integers >= {}", lo))) {
    out.push_back(static_cast<int>(as_integer(item, lo, hi)));
  }
  return out;
}

std::vector<std::string> as_string_list(const Value& v, const ParseContext& ctx) {
  std::vector<std::string> out;
  for (const auto& item : sequence_items(v, ctx, "a list of strings")) out.push_back(as_string(item));
  return out;
}

fs::path as_path(const Value& v, const ParseContext& ctx) {
  const fs::path p = as_string(v);
  if (p.empty()) v.fail("a file path");
  return p.is_absolute() ? p : (ctx.base_dir / p).lexically_normal();
}

MapReader optional_section(MapReader& parent, const std::string& key) {
  if (auto v = parent.get(key)) return MapReader(*v, parent.context());
  return MapReader(Value{YAML::Node(YAML::NodeType::Map), parent.value().where, key}, parent.context());
}

YAML::Node load_yaml(const std::string& text, const std::string& name) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw SpecError(fmt::format("{}:{}:{}: not valid YAML: {}", name, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
}

}  // namespace gridfold::yaml_reader
