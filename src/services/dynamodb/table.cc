#include "services/dynamodb/table.h"

#include <boost/json.hpp>

#include "base/ids.h"
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

}  // namespace

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

  const json::value* ks = req.if_contains("KeySchema");
  if (!ks || !ks->is_array())
    return fail(constraint("null", "keySchema", "Member must not be null"));
  const auto& schema = ks->get_array();
  if (schema.empty() || schema.size() > 2)
    return fail(constraint("[" + std::to_string(schema.size()) + " elements]", "keySchema",
                           schema.empty() ? "Member must have length greater than or equal to 1"
                                          : "Member must have length less than or equal to 2"));
  auto find_def = [&t](std::string_view name) -> const KeyAttribute* {
    for (const auto& a : t.attributes)
      if (a.name == name) return &a;
    return nullptr;
  };
  std::string missing;
  for (size_t i = 0; i < schema.size(); ++i) {
    if (!schema[i].is_object()) return fail(invalid_parameter("Invalid KeySchema"));
    std::string_view name = str_or_empty(schema[i].get_object(), "AttributeName");
    std::string_view kind = str_or_empty(schema[i].get_object(), "KeyType");
    if (kind != "HASH" && kind != "RANGE")
      return fail(constraint("'" + std::string(kind) + "'",
                             "keySchema." + std::to_string(i + 1) + ".member.keyType",
                             "Member must satisfy enum value set: [HASH, RANGE]"));
    if ((i == 0) != (kind == "HASH"))
      return fail(
          invalid_parameter(i == 0 ? "Invalid KeySchema: The first KeySchemaElement is not a "
                                     "HASH key type"
                                   : "Too many hash keys specified.  All Dynamo DB tables must "
                                     "have exactly one hash key"));
    const KeyAttribute* def = find_def(name);
    if (!def) {
      missing += (missing.empty() ? "" : ", ") + std::string(name);
      continue;
    }
    (i == 0 ? t.hash : t.range.emplace()) = *def;
  }
  if (!missing.empty()) {
    std::string defined;
    for (const auto& a : t.attributes) defined += (defined.empty() ? "" : ", ") + a.name;
    return fail(
        invalid_parameter("Some index key attributes are not defined in AttributeDefinitions. "
                          "Keys: [" +
                          missing + "], AttributeDefinitions: [" + defined + "]"));
  }
  if (req.contains("LocalSecondaryIndexes") || req.contains("GlobalSecondaryIndexes"))
    return fail(aws::ApiError::validation(
        "Nimbus does not support secondary indexes yet (LocalSecondaryIndexes, "
        "GlobalSecondaryIndexes); see docs/COMPATIBILITY.md"));
  if (t.attributes.size() != schema.size())
    return fail(invalid_parameter(
        "Number of attributes in KeySchema does not exactly match number of attributes defined "
        "in AttributeDefinitions"));

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
                 {"TimeToLiveAttribute", ttl_attribute}};
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
  for (const auto& k : o.at("KeySchema").get_array()) {
    std::string_view name = str_or_empty(k.get_object(), "AttributeName");
    for (const auto& a : t.attributes)
      if (a.name == name)
        (str_or_empty(k.get_object(), "KeyType") == "HASH" ? t.hash : t.range.emplace()) = a;
  }
  t.billing_mode = std::string(str_or_empty(o, "BillingMode"));
  t.read_capacity = o.at("ReadCapacityUnits").to_number<int64_t>();
  t.write_capacity = o.at("WriteCapacityUnits").to_number<int64_t>();
  t.created_at = o.at("CreationDateTime").to_number<double>();
  if (auto* tags = o.if_contains("Tags"); tags && tags->is_object()) t.tags = tags->get_object();
  t.ttl_attribute = std::string(str_or_empty(o, "TimeToLiveAttribute"));
  return t;
}

json::object TableSchema::description(std::string_view status, int64_t item_count,
                                      int64_t size_bytes) const {
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
                 {"TableSizeBytes", size_bytes},
                 {"ItemCount", item_count},
                 {"TableArn", arn},
                 {"TableId", id},
                 {"DeletionProtectionEnabled", false}};
  if (billing_mode == "PAY_PER_REQUEST")
    d["BillingModeSummary"] = json::object{{"BillingMode", billing_mode},
                                           {"LastUpdateToPayPerRequestDateTime", created_at}};
  return d;
}

}  // namespace nimbus::services::dynamodb
