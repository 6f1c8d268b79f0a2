#include "services/dynamodb/item.h"

#include <boost/json.hpp>
#include <set>

#include "base/ids.h"
#include "services/dynamodb/number.h"
#include "services/dynamodb/wire.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;

namespace {

constexpr std::string_view kTypes[] = {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"};

bool known_type(std::string_view t) {
  for (auto k : kTypes)
    if (k == t) return true;
  return false;
}

// Appends `raw` so that the result sorts as `raw` does and no encoded value
// is a prefix of another: 0x00 becomes 00 FF, and 00 01 ends the component.
void append_escaped(std::string& out, std::string_view raw) {
  for (char c : raw) {
    out.push_back(c);
    if (c == '\0') out.push_back('\xff');
  }
  out.push_back('\0');
  out.push_back('\x01');
}

std::string set_listing(const json::array& a) {
  std::string s = "[";
  for (size_t i = 0; i < a.size(); ++i) {
    if (i) s += ", ";
    s += a[i].is_string() ? std::string(a[i].get_string()) : json::serialize(a[i]);
  }
  return s + "]";
}

}  // namespace

std::string_view type_of(const json::value& v) {
  return v.is_object() && v.get_object().size() == 1
             ? std::string_view(v.get_object().begin()->key())
             : std::string_view();
}

Result<void, aws::ApiError> normalize_value(json::value& v) {
  if (!v.is_object() || v.get_object().empty())
    return fail(aws::ApiError::validation(
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"));
  auto& o = v.get_object();
  if (o.size() > 1)
    return fail(aws::ApiError::validation(
        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of "
        "the supported datatypes"));
  auto& [type_key, inner] = *o.begin();
  std::string_view type = type_key;
  if (!known_type(type))
    return fail(aws::ApiError::validation(
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"));
  auto not_a = [&](std::string_view what) {
    return aws::ApiError::make(
        400, "SerializationException",
        "Unexpected value type for " + std::string(type) + ": expected " + std::string(what));
  };
  if (type == "S" || type == "B") {
    if (!inner.is_string()) return fail(not_a("a string"));
    if (type == "B") {
      std::string raw;
      if (!base64_decode(inner.get_string(), raw))
        return fail(aws::ApiError::make(400, "SerializationException",
                                        "Base64 encoded length is expected a multiple of 4 bytes "
                                        "but found: " +
                                            std::to_string(inner.get_string().size())));
    }
    return {};
  }
  if (type == "N") {
    if (!inner.is_string()) return fail(not_a("a string"));
    auto n = Number::parse(inner.get_string());
    if (!n) return fail(aws::ApiError::validation(n.error()));
    inner = n->to_string();
    return {};
  }
  if (type == "BOOL") {
    if (!inner.is_bool()) return fail(not_a("a boolean"));
    return {};
  }
  if (type == "NULL") {
    if (!inner.is_bool()) return fail(not_a("a boolean"));
    if (!inner.get_bool())
      return fail(invalid_parameter("Null attribute value types must have the value of true"));
    return {};
  }
  if (type == "M") {
    if (!inner.is_object()) return fail(not_a("an object"));
    for (auto& [k, child] : inner.get_object())
      if (auto r = normalize_value(child); !r) return r;
    return {};
  }
  if (type == "L") {
    if (!inner.is_array()) return fail(not_a("a list"));
    for (auto& child : inner.get_array())
      if (auto r = normalize_value(child); !r) return r;
    return {};
  }
  // SS, NS, BS: non-empty, no duplicates (numbers compared as numbers).
  if (!inner.is_array()) return fail(not_a("a list"));
  auto& a = inner.get_array();
  if (a.empty())
    return fail(invalid_parameter(type == "SS"   ? "An string set  may not be empty"
                                  : type == "NS" ? "An number set  may not be empty"
                                                 : "Binary sets should not be empty"));
  std::set<std::string> seen;
  for (auto& e : a) {
    if (!e.is_string()) return fail(not_a("a list of strings"));
    std::string key(e.get_string());
    if (type == "NS") {
      auto n = Number::parse(e.get_string());
      if (!n) return fail(aws::ApiError::validation(n.error()));
      e = n->to_string();
      key = e.get_string();
    } else if (type == "BS") {
      std::string raw;
      if (!base64_decode(e.get_string(), raw))
        return fail(aws::ApiError::make(400, "SerializationException",
                                        "Base64 encoded length is expected a multiple of 4 bytes"));
      key = raw;
    }
    if (!seen.insert(key).second)
      return fail(
          invalid_parameter("Input collection " + set_listing(a) + " contains duplicates."));
  }
  return {};
}

Result<void, aws::ApiError> normalize_item(json::object& item) {
  for (auto& [name, v] : item)
    if (auto r = normalize_value(v); !r) return r;
  return {};
}

size_t value_size(const json::value& v) {
  std::string_view type = type_of(v);
  const json::value& inner = v.get_object().begin()->value();
  auto number_size = [](std::string_view text) {
    // DynamoDB: about one byte per two significant digits, plus one.
    size_t digits = 0;
    for (char c : text) digits += (c >= '0' && c <= '9');
    return (digits + 1) / 2 + 1;
  };
  if (type == "S") return inner.get_string().size();
  if (type == "B") return inner.get_string().size() * 3 / 4;
  if (type == "N") return number_size(inner.get_string());
  if (type == "BOOL" || type == "NULL") return 1;
  if (type == "M") {
    size_t n = 3;
    for (const auto& [k, child] : inner.get_object()) n += k.size() + value_size(child) + 1;
    return n;
  }
  if (type == "L") {
    size_t n = 3;
    for (const auto& child : inner.get_array()) n += value_size(child) + 1;
    return n;
  }
  size_t n = 0;
  for (const auto& e : inner.get_array())
    n += type == "NS"   ? number_size(e.get_string())
         : type == "BS" ? e.get_string().size() * 3 / 4
                        : e.get_string().size();
  return n;
}

size_t item_size(const json::object& item) {
  size_t n = 0;
  for (const auto& [name, v] : item) n += name.size() + value_size(v);
  return n;
}

Result<std::string, aws::ApiError> key_component(KeyType type, const json::value& v,
                                                 std::string_view name) {
  std::string_view actual = type_of(v);
  std::string expected(1, static_cast<char>(type));
  if (actual != expected)
    return fail(invalid_parameter("Type mismatch for key " + std::string(name) +
                                  " expected: " + expected + " actual: " + std::string(actual)));
  const json::value& inner = v.get_object().begin()->value();
  std::string out;
  if (type == KeyType::kN) {
    auto n = Number::parse(inner.get_string());
    if (!n) return fail(aws::ApiError::validation(n.error()));
    append_escaped(out, n->sort_key());
    return out;
  }
  std::string raw;
  if (type == KeyType::kB) {
    if (!base64_decode(inner.get_string(), raw))
      return fail(aws::ApiError::validation("Invalid binary value for key " + std::string(name)));
  } else {
    raw = std::string(inner.get_string());
  }
  if (raw.empty())
    return fail(aws::ApiError::validation(
        "One or more parameter values are not valid. The AttributeValue for a key attribute "
        "cannot contain an empty " +
        std::string(type == KeyType::kS ? "string" : "binary") +
        " value. Key: " + std::string(name)));
  append_escaped(out, raw);
  return out;
}

std::string table_items_prefix(const TableSchema& table) {
  return "dynamodb/item/" + table.id + "/";
}

Result<std::string, aws::ApiError> partition_prefix(const TableSchema& table,
                                                    const json::value& hash_value) {
  auto c = key_component(table.hash.type, hash_value, table.hash.name);
  if (!c) return fail(c.take_error());
  return table_items_prefix(table) + *c;
}

Result<std::string, aws::ApiError> item_store_key(const TableSchema& table,
                                                  const json::object& item, bool exact) {
  size_t key_count = table.range ? 2 : 1;
  if (exact && item.size() != key_count)
    return fail(aws::ApiError::validation("The provided key element does not match the schema"));
  std::string key = table_items_prefix(table);
  auto add = [&](const KeyAttribute& attr, size_t limit,
                 std::string_view which) -> Result<void, aws::ApiError> {
    const json::value* v = item.if_contains(attr.name);
    if (!v) {
      if (exact)
        return fail(
            aws::ApiError::validation("The provided key element does not match the schema"));
      return fail(invalid_parameter("Missing the key " + attr.name + " in the item"));
    }
    auto c = key_component(attr.type, *v, attr.name);
    if (!c) {
      if (exact && type_of(*v) != std::string_view(std::string(1, static_cast<char>(attr.type))))
        return fail(
            aws::ApiError::validation("The provided key element does not match the schema"));
      return fail(c.take_error());
    }
    if (value_size(*v) > limit)
      return fail(invalid_parameter("Size of " + std::string(which) +
                                    " has exceeded the maximum size limit of" +
                                    std::to_string(limit) + " bytes"));
    key += *c;
    return {};
  };
  if (auto r = add(table.hash, kMaxPartitionKeyBytes, "hashkey"); !r) return fail(r.error());
  if (table.range)
    if (auto r = add(*table.range, kMaxSortKeyBytes, "rangekey"); !r) return fail(r.error());
  return key;
}

json::object key_of(const TableSchema& table, const json::object& item) {
  json::object k;
  if (auto* v = item.if_contains(table.hash.name)) k[table.hash.name] = *v;
  if (table.range)
    if (auto* v = item.if_contains(table.range->name)) k[table.range->name] = *v;
  return k;
}

}  // namespace nimbus::services::dynamodb
