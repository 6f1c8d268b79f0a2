#include "services/dynamodb/index.h"

#include <algorithm>
#include <boost/json.hpp>

#include "services/dynamodb/item.h"
#include "services/dynamodb/wire.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;

namespace {

// One index key attribute's component, with DynamoDB's texts for a value
// that cannot be an index key.
Result<std::string, aws::ApiError> index_key_component(const SecondaryIndex& index,
                                                       const KeyAttribute& attr,
                                                       const json::value& v) {
  std::string expected(1, static_cast<char>(attr.type));
  if (type_of(v) != expected)
    return fail(invalid_parameter("Type mismatch for Index Key " + attr.name +
                                  " Expected: " + expected + " Actual: " + std::string(type_of(v)) +
                                  " IndexName: " + index.name));
  auto c = key_component(attr.type, v, attr.name);
  if (!c)
    return fail(aws::ApiError::validation(
        "One or more parameter values are not valid. A value specified for a secondary index "
        "key is not supported. The AttributeValue for a key attribute cannot contain an empty " +
        std::string(attr.type == KeyType::kS ? "string" : "binary") +
        " value. IndexName: " + index.name + ", IndexKey: " + attr.name));
  return c;
}

bool is_key_of(const TableSchema& t, const SecondaryIndex& ix, std::string_view name) {
  return name == t.hash.name || (t.range && name == t.range->name) || name == ix.hash.name ||
         (ix.range && name == ix.range->name);
}

}  // namespace

std::string table_indexes_prefix(const TableSchema& table) {
  return "dynamodb/index/" + table.id + "/";
}

std::string index_entries_prefix(const TableSchema& table, const SecondaryIndex& index) {
  return table_indexes_prefix(table) + index.id + "/";
}

boost::json::object project_for_index(const TableSchema& table, const SecondaryIndex& index,
                                      const json::object& item) {
  if (index.projection_type == "ALL") return item;
  json::object out;
  for (const auto& [name, v] : item) {
    bool keep = is_key_of(table, index, name) ||
                (index.projection_type == "INCLUDE" &&
                 std::find(index.non_key_attributes.begin(), index.non_key_attributes.end(),
                           std::string_view(name)) != index.non_key_attributes.end());
    if (keep) out[name] = v;
  }
  return out;
}

Result<std::optional<IndexEntry>, aws::ApiError> index_entry(const TableSchema& table,
                                                             const SecondaryIndex& index,
                                                             const json::object& item) {
  std::string key = index_entries_prefix(table, index);
  // Check every present index key attribute before deciding the item is not
  // indexed: a wrong type is refused even when the other key is missing.
  bool complete = true;
  for (const KeyAttribute* attr : {&index.hash, index.range ? &*index.range : nullptr}) {
    if (!attr) continue;
    const json::value* v = item.if_contains(attr->name);
    if (!v) {
      complete = false;
      continue;
    }
    auto c = index_key_component(index, *attr, *v);
    if (!c) return fail(c.take_error());
    key += *c;
  }
  if (!complete) return std::optional<IndexEntry>();
  auto table_key = item_store_key(table, item, false);
  if (!table_key) return fail(table_key.take_error());
  key += table_key->substr(table_items_prefix(table).size());
  return std::optional<IndexEntry>(
      IndexEntry{std::move(key), project_for_index(table, index, item)});
}

Result<std::string, aws::ApiError> index_start_key(const TableSchema& table,
                                                   const SecondaryIndex& index,
                                                   const json::object& start) {
  auto invalid = [] {
    return aws::ApiError::validation(
        "The provided starting key is invalid: The provided key element does not match the "
        "schema");
  };
  json::object k = start;
  if (auto r = normalize_item(k); !r) return fail(r.take_error());
  for (const auto& [name, v] : k)
    if (!is_key_of(table, index, name)) return fail(invalid());
  auto entry = index_entry(table, index, k);
  if (!entry || !*entry) return fail(invalid());
  return std::move((*entry)->key);
}

}  // namespace nimbus::services::dynamodb
