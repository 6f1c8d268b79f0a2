#include "services/dynamodb/table.h"

#include <algorithm>
#include <boost/json.hpp>

#include "base/ids.h"
#include "base/time_format.h"
#include "services/dynamodb/streams.h"
#include "services/dynamodb/wire.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;

namespace {

// DynamoDB's "1 validation error detected: Value X at 'member' failed to
// satisfy constraint: ..." form.
aws::ApiError constraint(std::string_view value, std::string_view member,
                         std::string_view constraint) {
  return aws::ApiError::validation("1 validation error detected: Value " + std::string(value) +
                                   " at '" + std::string(member) +
                                   "' failed to satisfy constraint: " + std::string(constraint));
}

std::optional<KeyType> key_type(std::string_view t) {
  if (t == "S") return KeyType::kS;
  if (t == "N") return KeyType::kN;
  if (t == "B") return KeyType::kB;
  return std::nullopt;
}

json::array key_schema_json(const KeyAttribute& hash, const std::optional<KeyAttribute>& range) {
  json::array a;
  a.push_back(json::object{{"AttributeName", hash.name}, {"KeyType", "HASH"}});
  if (range) a.push_back(json::object{{"AttributeName", range->name}, {"KeyType", "RANGE"}});
  return a;
}

json::object projection_json(const SecondaryIndex& ix) {
  json::object p{{"ProjectionType", ix.projection_type}};
  if (!ix.non_key_attributes.empty()) {
    json::array a;
    for (const auto& n : ix.non_key_attributes) a.emplace_back(n);
    p["NonKeyAttributes"] = std::move(a);
  }
  return p;
}

// The parts of an index that the stored form and DescribeTable share.
json::object index_json(const SecondaryIndex& ix) {
  return json::object{{"IndexName", ix.name},
                      {"KeySchema", key_schema_json(ix.hash, ix.range)},
                      {"Projection", projection_json(ix)}};
}

struct KeySchemaSpec {
  KeyAttribute hash;
  std::optional<KeyAttribute> range;
};

// A KeySchema (of the table or an index) against the AttributeDefinitions.
Result<KeySchemaSpec, aws::ApiError> parse_key_schema(const json::value* ks,
                                                      std::string_view member,
                                                      const std::vector<KeyAttribute>& defs) {
  if (!ks || !ks->is_array()) return fail(constraint("null", member, "Member must not be null"));
  const auto& schema = ks->get_array();
  if (schema.empty() || schema.size() > 2)
    return fail(constraint("[" + std::to_string(schema.size()) + " elements]", member,
                           schema.empty() ? "Member must have length greater than or equal to 1"
                                          : "Member must have length less than or equal to 2"));
  KeySchemaSpec spec;
  std::string missing;
  for (size_t i = 0; i < schema.size(); ++i) {
    if (!schema[i].is_object()) return fail(invalid_parameter("Invalid KeySchema"));
    std::string_view name = str_or_empty(schema[i].get_object(), "AttributeName");
    std::string_view kind = str_or_empty(schema[i].get_object(), "KeyType");
    if (kind != "HASH" && kind != "RANGE")
      return fail(constraint("'" + std::string(kind) + "'",
                             std::string(member) + "." + std::to_string(i + 1) + ".member.keyType",
                             "Member must satisfy enum value set: [HASH, RANGE]"));
    if ((i == 0) != (kind == "HASH"))
      return fail(
          invalid_parameter(i == 0 ? "Invalid KeySchema: The first KeySchemaElement is not a "
                                     "HASH key type"
                                   : "Too many hash keys specified.  All Dynamo DB tables must "
                                     "have exactly one hash key"));
    auto def = std::find_if(defs.begin(), defs.end(),
                            [&](const KeyAttribute& a) { return a.name == name; });
    if (def == defs.end()) {
      missing += (missing.empty() ? "" : ", ") + std::string(name);
      continue;
    }
    (i == 0 ? spec.hash : spec.range.emplace()) = *def;
  }
  if (!missing.empty()) {
    std::string defined;
    for (const auto& a : defs) defined += (defined.empty() ? "" : ", ") + a.name;
    return fail(
        invalid_parameter("Some index key attributes are not defined in AttributeDefinitions. "
                          "Keys: [" +
                          missing + "], AttributeDefinitions: [" + defined + "]"));
  }
  return spec;
}

// One entry of LocalSecondaryIndexes / GlobalSecondaryIndexes (or a GSI
// Create of UpdateTable), checked against the table as DynamoDB checks it.
Result<SecondaryIndex, aws::ApiError> parse_index(const json::value& v, bool global,
                                                  const TableSchema& t, std::string_view member) {
  if (!v.is_object()) return fail(constraint("null", member, "Member must not be null"));
  const json::object& o = v.get_object();
  SecondaryIndex ix;
  ix.global = global;
  ix.name = std::string(str_or_empty(o, "IndexName"));
  if (ix.name.empty())
    return fail(constraint("null", std::string(member) + ".indexName", "Member must not be null"));
  if (!valid_table_name(ix.name))
    return fail(constraint("'" + ix.name + "'", std::string(member) + ".indexName",
                           "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"));
  auto key = parse_key_schema(o.if_contains("KeySchema"), std::string(member) + ".keySchema",
                              t.attributes);
  if (!key) return fail(key.take_error());
  ix.hash = key->hash;
  ix.range = key->range;
  if (!global) {
    if (!t.range)
      return fail(invalid_parameter(
          "Table KeySchema does not have a range key, which is required when specifying a "
          "LocalSecondaryIndex"));
    if (ix.hash.name != t.hash.name)
      return fail(invalid_parameter(
          "Index KeySchema does not have the same leading hash key as table KeySchema for index: " +
          ix.name + ". index hash key: " + ix.hash.name + ", table hash key: " + t.hash.name));
    if (!ix.range)
      return fail(
          invalid_parameter("Index KeySchema does not have a range key for index: " + ix.name));
  }
  const json::value* projection = o.if_contains("Projection");
  if (!projection || !projection->is_object())
    return fail(constraint("null", std::string(member) + ".projection", "Member must not be null"));
  const json::object& p = projection->get_object();
  std::string_view type = str_or_empty(p, "ProjectionType");
  if (type.empty()) type = "ALL";  // DynamoDB's default when only NonKeyAttributes is absent
  if (type != "ALL" && type != "KEYS_ONLY" && type != "INCLUDE")
    return fail(constraint("'" + std::string(type) + "'",
                           std::string(member) + ".projection.projectionType",
                           "Member must satisfy enum value set: [ALL, INCLUDE, KEYS_ONLY]"));
  ix.projection_type = std::string(type);
  const json::value* nka = p.if_contains("NonKeyAttributes");
  if (type == "INCLUDE") {
    if (!nka || !nka->is_array() || nka->get_array().empty())
      return fail(
          invalid_parameter("ProjectionType is INCLUDE, but NonKeyAttributes is not specified"));
    for (const auto& a : nka->get_array()) {
      if (!a.is_string()) return fail(invalid_parameter("Invalid NonKeyAttributes"));
      ix.non_key_attributes.emplace_back(a.get_string());
    }
  } else if (nka) {
    return fail(invalid_parameter("ProjectionType is " + std::string(type) +
                                  ", but NonKeyAttributes is specified"));
  }
  const json::value* pt = o.if_contains("ProvisionedThroughput");
  if (!global) {
    if (pt)
      return fail(invalid_parameter(
          "ProvisionedThroughput should not be specified for a LocalSecondaryIndex: " + ix.name));
  } else if (t.billing_mode == "PAY_PER_REQUEST") {
    if (pt)
      return fail(invalid_parameter("ProvisionedThroughput should not be specified for index: " +
                                    ix.name + " when BillingMode is PAY_PER_REQUEST"));
  } else {
    if (!pt || !pt->is_object())
      return fail(
          invalid_parameter("ProvisionedThroughput must be specified for index: " + ix.name));
    auto units = [&](std::string_view k) -> int64_t {
      auto* u = pt->get_object().if_contains(k);
      return u && u->is_int64() ? u->get_int64() : 0;
    };
    ix.read_capacity = units("ReadCapacityUnits");
    ix.write_capacity = units("WriteCapacityUnits");
    if (ix.read_capacity < 1 || ix.write_capacity < 1)
      return fail(constraint(std::to_string(std::min(ix.read_capacity, ix.write_capacity)),
                             std::string(member) + ".provisionedThroughput",
                             "Member must have value greater than or equal to 1"));
  }
  ix.id = new_uuid();
  return ix;
}

}  // namespace

const SecondaryIndex* TableSchema::find_index(std::string_view index_name) const {
  for (const auto& ix : indexes)
    if (ix.name == index_name) return &ix;
  return nullptr;
}

// CreateTable's LocalSecondaryIndexes and GlobalSecondaryIndexes, then the
// rule that every AttributeDefinition is some key's attribute.
Result<void, aws::ApiError> TableSchema::add_indexes(const json::object& req) {
  for (bool global : {false, true}) {
    const char* list_name = global ? "GlobalSecondaryIndexes" : "LocalSecondaryIndexes";
    const json::value* list = req.if_contains(list_name);
    if (!list) continue;
    std::string member = global ? "globalSecondaryIndexes" : "localSecondaryIndexes";
    if (!list->is_array() || list->get_array().empty())
      return fail(constraint("[]", member, "Member must have length greater than or equal to 1"));
    size_t limit = global ? 20 : 5;
    if (list->get_array().size() > limit)
      return fail(invalid_parameter(
          global ? "GlobalSecondaryIndex count exceeds the per-table limit of 20"
                 : "Number of LocalSecondaryIndexes exceeds per-table limit of 5"));
    size_t i = 0;
    for (const auto& v : list->get_array()) {
      auto ix = parse_index(v, global, *this, member + "." + std::to_string(++i) + ".member");
      if (!ix) return fail(ix.take_error());
      if (find_index(ix->name)) return fail(invalid_parameter("Duplicate index name: " + ix->name));
      indexes.push_back(std::move(*ix));
    }
  }
  std::vector<std::string> used{hash.name};
  if (range) used.push_back(range->name);
  for (const auto& ix : indexes) {
    for (const KeyAttribute* k : {&ix.hash, ix.range ? &*ix.range : nullptr})
      if (k && std::find(used.begin(), used.end(), k->name) == used.end()) used.push_back(k->name);
  }
  if (attributes.size() != used.size()) {
    if (indexes.empty())
      return fail(invalid_parameter(
          "Number of attributes in KeySchema does not exactly match number of attributes "
          "defined in AttributeDefinitions"));
    std::string defined, keys;
    for (const auto& a : attributes) defined += (defined.empty() ? "" : ", ") + a.name;
    for (const auto& k : used) keys += (keys.empty() ? "" : ", ") + k;
    return fail(
        invalid_parameter("Some AttributeDefinitions are not used. AttributeDefinitions: [" +
                          defined + "], keys used: [" + keys + "]"));
  }
  return {};
}

Result<void, aws::ApiError> TableSchema::add_global_index(
    const json::object& create, const json::array* attribute_definitions) {
  TableSchema with_defs = *this;
  if (attribute_definitions) {
    for (const auto& d : *attribute_definitions) {
      if (!d.is_object()) return fail(invalid_parameter("Invalid AttributeDefinitions"));
      std::string_view name = str_or_empty(d.get_object(), "AttributeName");
      auto kt = key_type(str_or_empty(d.get_object(), "AttributeType"));
      if (!kt)
        return fail(
            constraint("'" + std::string(str_or_empty(d.get_object(), "AttributeType")) + "'",
                       "attributeDefinitions.1.member.attributeType",
                       "Member must satisfy enum value set: [B, N, S]"));
      auto it = std::find_if(with_defs.attributes.begin(), with_defs.attributes.end(),
                             [&](const KeyAttribute& a) { return a.name == name; });
      if (it == with_defs.attributes.end())
        with_defs.attributes.push_back({std::string(name), *kt});
      else if (it->type != *kt)
        return fail(invalid_parameter("Cannot change the type of attribute " + std::string(name) +
                                      " (AttributeDefinitions)"));
    }
  }
  auto ix = parse_index(json::value(create), true, with_defs,
                        "globalSecondaryIndexUpdates.1.member.create");
  if (!ix) return fail(ix.take_error());
  if (find_index(ix->name))
    return fail(invalid_parameter("Attempting to create an index which already exists"));
  if (std::count_if(indexes.begin(), indexes.end(), [](auto& i) { return i.global; }) >= 20)
    return fail(invalid_parameter("GlobalSecondaryIndex count exceeds the per-table limit of 20"));
  ix->backfilling = true;
  with_defs.indexes.push_back(std::move(*ix));
  *this = std::move(with_defs);
  return {};
}

Result<void, aws::ApiError> TableSchema::apply_stream_specification(const json::value& spec,
                                                                    int64_t now_ms) {
  const json::object* o = spec.if_object();
  const json::value* enabled = o ? o->if_contains("StreamEnabled") : nullptr;
  if (!enabled || !enabled->is_bool())
    return fail(constraint("null", "streamSpecification.streamEnabled", "Member must not be null"));
  std::string_view view = str_or_empty(*o, "StreamViewType");
  if (!enabled->get_bool()) {
    if (!view.empty())
      return fail(
          invalid_parameter("StreamViewType cannot be specified when StreamEnabled is false"));
    if (!stream_enabled && !stream_label.empty())
      return fail(invalid_parameter("Table " + name + " does not have a stream enabled"));
    stream_enabled = false;
    return {};
  }
  if (view.empty())
    return fail(invalid_parameter("StreamViewType must be specified when StreamEnabled is true"));
  if (!valid_stream_view_type(view))
    return fail(constraint("'" + std::string(view) + "'", "streamSpecification.streamViewType",
                           "Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, "
                           "NEW_AND_OLD_IMAGES, KEYS_ONLY]"));
  if (stream_enabled)
    return fail(invalid_parameter("Table already has an enabled stream: TableName: " + name));
  stream_enabled = true;
  stream_view_type = std::string(view);
  // The label is the creation time in milliseconds, as DynamoDB's; a stream
  // enabled again within the same millisecond still gets a new label.
  std::string label = iso8601_ms(now_ms, "");
  stream_label = label == stream_label ? iso8601_ms(now_ms + 1, "") : label;
  return {};
}

bool valid_table_name(std::string_view name) {
  if (name.size() < 3 || name.size() > 255) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
      return false;
  return true;
}

Result<TableSchema, aws::ApiError> TableSchema::from_create_request(const json::object& req,
                                                                    std::string_view region,
                                                                    std::string_view account,
                                                                    double now) {
  TableSchema t;
  t.name = std::string(str_or_empty(req, "TableName"));
  if (t.name.empty()) return fail(constraint("null", "tableName", "Member must not be null"));
  if (t.name.size() < 3)
    return fail(constraint("'" + t.name + "'", "tableName",
                           "Member must have length greater than or equal to 3"));
  if (!valid_table_name(t.name))
    return fail(constraint("'" + t.name + "'", "tableName",
                           "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"));

  const json::value* defs = req.if_contains("AttributeDefinitions");
  if (!defs || !defs->is_array())
    return fail(constraint("null", "attributeDefinitions", "Member must not be null"));
  for (const auto& d : defs->get_array()) {
    if (!d.is_object()) return fail(invalid_parameter("Invalid AttributeDefinitions"));
    std::string_view name = str_or_empty(d.get_object(), "AttributeName");
    std::string_view type = str_or_empty(d.get_object(), "AttributeType");
    auto kt = key_type(type);
    if (!kt)
      return fail(constraint("'" + std::string(type) + "'",
                             "attributeDefinitions.1.member.attributeType",
                             "Member must satisfy enum value set: [B, N, S]"));
    for (const auto& a : t.attributes)
      if (a.name == name)
        return fail(invalid_parameter("Cannot have two attributes with the same name"));
    t.attributes.push_back({std::string(name), *kt});
  }

  auto key = parse_key_schema(req.if_contains("KeySchema"), "keySchema", t.attributes);
  if (!key) return fail(key.take_error());
  t.hash = key->hash;
  t.range = key->range;
  std::string_view billing = str_or_empty(req, "BillingMode");
  if (!billing.empty() && billing != "PROVISIONED" && billing != "PAY_PER_REQUEST")
    return fail(constraint("'" + std::string(billing) + "'", "billingMode",
                           "Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"));
  t.billing_mode = billing.empty() ? "PROVISIONED" : std::string(billing);
  const json::value* pt = req.if_contains("ProvisionedThroughput");
  if (t.billing_mode == "PAY_PER_REQUEST") {
    if (pt)
      return fail(invalid_parameter(
          "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is "
          "PAY_PER_REQUEST"));
  } else {
    if (!pt || !pt->is_object())
      return fail(
          invalid_parameter("ReadCapacityUnits and WriteCapacityUnits must both be specified when "
                            "BillingMode is PROVISIONED"));
    auto units = [&](std::string_view k) -> int64_t {
      auto* v = pt->get_object().if_contains(k);
      return v && v->is_int64() ? v->get_int64() : 0;
    };
    t.read_capacity = units("ReadCapacityUnits");
    t.write_capacity = units("WriteCapacityUnits");
    if (t.read_capacity < 1 || t.write_capacity < 1)
      return fail(constraint(std::to_string(std::min(t.read_capacity, t.write_capacity)),
                             t.read_capacity < 1 ? "provisionedThroughput.readCapacityUnits"
                                                 : "provisionedThroughput.writeCapacityUnits",
                             "Member must have value greater than or equal to 1"));
  }
  if (auto r = t.add_indexes(req); !r) return fail(r.take_error());
  if (auto* spec = req.if_contains("StreamSpecification"))
    if (auto r = t.apply_stream_specification(*spec, static_cast<int64_t>(now * 1000)); !r)
      return fail(r.take_error());
  if (auto* tags = req.if_contains("Tags"); tags && tags->is_array())
    for (const auto& tag : tags->get_array())
      if (tag.is_object())
        t.tags[str_or_empty(tag.get_object(), "Key")] = str_or_empty(tag.get_object(), "Value");

  t.id = new_uuid();
  t.arn =
      "arn:aws:dynamodb:" + std::string(region) + ":" + std::string(account) + ":table/" + t.name;
  t.created_at = now;
  return t;
}

std::string TableSchema::to_json() const {
  json::array attrs;
  for (const auto& a : attributes)
    attrs.push_back(json::object{{"AttributeName", a.name},
                                 {"AttributeType", std::string(1, static_cast<char>(a.type))}});
  json::object o{{"TableName", name},
                 {"TableId", id},
                 {"TableArn", arn},
                 {"AttributeDefinitions", std::move(attrs)},
                 {"KeySchema", key_schema_json(hash, range)},
                 {"BillingMode", billing_mode},
                 {"ReadCapacityUnits", read_capacity},
                 {"WriteCapacityUnits", write_capacity},
                 {"CreationDateTime", created_at},
                 {"Tags", tags},
                 {"TimeToLiveAttribute", ttl_attribute},
                 {"StreamLabel", stream_label},
                 {"StreamViewType", stream_view_type},
                 {"StreamEnabled", stream_enabled}};
  json::array ixs;
  for (const auto& ix : indexes) {
    json::object i = index_json(ix);
    i["IndexId"] = ix.id;
    i["Global"] = ix.global;
    i["ReadCapacityUnits"] = ix.read_capacity;
    i["WriteCapacityUnits"] = ix.write_capacity;
    i["Backfilling"] = ix.backfilling;
    ixs.push_back(std::move(i));
  }
  o["Indexes"] = std::move(ixs);
  return json::serialize(o);
}

Result<TableSchema, SysError> TableSchema::from_json(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return fail(SysError{"dynamodb: corrupt table record"});
  const auto& o = v.get_object();
  TableSchema t;
  t.name = std::string(str_or_empty(o, "TableName"));
  t.id = std::string(str_or_empty(o, "TableId"));
  t.arn = std::string(str_or_empty(o, "TableArn"));
  for (const auto& d : o.at("AttributeDefinitions").get_array()) {
    const auto& a = d.get_object();
    t.attributes.push_back({std::string(str_or_empty(a, "AttributeName")),
                            *key_type(str_or_empty(a, "AttributeType"))});
  }
  auto read_keys = [&t](const json::value& schema, KeyAttribute& hash,
                        std::optional<KeyAttribute>& range) {
    for (const auto& k : schema.get_array()) {
      std::string_view name = str_or_empty(k.get_object(), "AttributeName");
      for (const auto& a : t.attributes)
        if (a.name == name)
          (str_or_empty(k.get_object(), "KeyType") == "HASH" ? hash : range.emplace()) = a;
    }
  };
  read_keys(o.at("KeySchema"), t.hash, t.range);
  if (auto* ixs = o.if_contains("Indexes"); ixs && ixs->is_array()) {
    for (const auto& v : ixs->get_array()) {
      const auto& i = v.get_object();
      SecondaryIndex ix;
      ix.name = std::string(str_or_empty(i, "IndexName"));
      ix.id = std::string(str_or_empty(i, "IndexId"));
      ix.global = i.at("Global").as_bool();
      read_keys(i.at("KeySchema"), ix.hash, ix.range);
      const auto& p = i.at("Projection").get_object();
      ix.projection_type = std::string(str_or_empty(p, "ProjectionType"));
      if (auto* nka = p.if_contains("NonKeyAttributes"))
        for (const auto& a : nka->get_array()) ix.non_key_attributes.emplace_back(a.get_string());
      ix.read_capacity = i.at("ReadCapacityUnits").to_number<int64_t>();
      ix.write_capacity = i.at("WriteCapacityUnits").to_number<int64_t>();
      ix.backfilling = i.at("Backfilling").as_bool();
      t.indexes.push_back(std::move(ix));
    }
  }
  t.billing_mode = std::string(str_or_empty(o, "BillingMode"));
  t.read_capacity = o.at("ReadCapacityUnits").to_number<int64_t>();
  t.write_capacity = o.at("WriteCapacityUnits").to_number<int64_t>();
  t.created_at = o.at("CreationDateTime").to_number<double>();
  if (auto* tags = o.if_contains("Tags"); tags && tags->is_object()) t.tags = tags->get_object();
  t.ttl_attribute = std::string(str_or_empty(o, "TimeToLiveAttribute"));
  t.stream_label = std::string(str_or_empty(o, "StreamLabel"));
  t.stream_view_type = std::string(str_or_empty(o, "StreamViewType"));
  if (auto* e = o.if_contains("StreamEnabled"); e && e->is_bool()) t.stream_enabled = e->get_bool();
  return t;
}

json::object TableSchema::description(
    std::string_view status, Stats table_stats,
    const std::function<Stats(const SecondaryIndex&)>& index_stats) const {
  json::array attrs;
  for (const auto& a : attributes)
    attrs.push_back(json::object{{"AttributeName", a.name},
                                 {"AttributeType", std::string(1, static_cast<char>(a.type))}});
  json::object d{{"AttributeDefinitions", std::move(attrs)},
                 {"TableName", name},
                 {"KeySchema", key_schema_json(hash, range)},
                 {"TableStatus", status},
                 {"CreationDateTime", created_at},
                 {"ProvisionedThroughput", json::object{{"NumberOfDecreasesToday", 0},
                                                        {"ReadCapacityUnits", read_capacity},
                                                        {"WriteCapacityUnits", write_capacity}}},
                 {"TableSizeBytes", table_stats.size_bytes},
                 {"ItemCount", table_stats.item_count},
                 {"TableArn", arn},
                 {"TableId", id},
                 {"DeletionProtectionEnabled", false}};
  if (billing_mode == "PAY_PER_REQUEST")
    d["BillingModeSummary"] = json::object{{"BillingMode", billing_mode},
                                           {"LastUpdateToPayPerRequestDateTime", created_at}};
  json::array local, global;
  for (const auto& ix : indexes) {
    json::object i = index_json(ix);
    Stats stats = index_stats ? index_stats(ix) : Stats{};
    i["IndexSizeBytes"] = stats.size_bytes;
    i["ItemCount"] = stats.item_count;
    i["IndexArn"] = arn + "/index/" + ix.name;
    if (ix.global) {
      i["IndexStatus"] = ix.backfilling ? "CREATING" : status == "CREATING" ? "CREATING" : "ACTIVE";
      if (ix.backfilling) i["Backfilling"] = true;
      i["ProvisionedThroughput"] = json::object{{"NumberOfDecreasesToday", 0},
                                                {"ReadCapacityUnits", ix.read_capacity},
                                                {"WriteCapacityUnits", ix.write_capacity}};
    }
    (ix.global ? global : local).push_back(std::move(i));
  }
  if (stream_enabled)
    d["StreamSpecification"] =
        json::object{{"StreamEnabled", true}, {"StreamViewType", stream_view_type}};
  if (!stream_label.empty()) {
    d["LatestStreamLabel"] = stream_label;
    d["LatestStreamArn"] = stream_arn(*this);
  }
  if (!local.empty()) d["LocalSecondaryIndexes"] = std::move(local);
  if (!global.empty()) d["GlobalSecondaryIndexes"] = std::move(global);
  return d;
}

}  // namespace nimbus::services::dynamodb
