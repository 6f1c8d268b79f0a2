// Deployment: DynamoDB tables (AWS::DynamoDB::Table and SAM's
// AWS::Serverless::SimpleTable) through DynamoDB's own API (json-1.0).
//
// As CloudFormation does: a new key schema or TableName replaces the table (the
// new one is created, the old one deleted once the whole deploy succeeded; a
// custom-named table cannot be replaced under the same name), BillingMode,
// ProvisionedThroughput, TimeToLiveSpecification and Tags are updated in place,
// a table removed from the template is deleted, and a failed deploy deletes
// only the tables it created (and restores the settings it changed).
#include <fmt/format.h>

#include <boost/json.hpp>
#include <thread>

#include "deploy/deployment.h"

namespace nimbus::deploy::detail {

namespace {

std::string key_schema_text(const sam::Table& t) {
  std::string s = "HASH " + t.hash.name + " " + t.hash.type;
  if (t.range) s += ", RANGE " + t.range->name + " " + t.range->type;
  return s;
}

json::array tag_list(const std::map<std::string, std::string>& tags) {
  json::array out;
  for (const auto& [k, v] : tags) out.push_back(json::object{{"Key", k}, {"Value", v}});
  return out;
}

// UpdateTable's (and CreateTable's) billing members for a state.
void billing_members(const TableState& s, json::object& req) {
  req["BillingMode"] = s.billing_mode;
  if (s.billing_mode == "PROVISIONED")
    req["ProvisionedThroughput"] = json::object{{"ReadCapacityUnits", s.read_capacity},
                                                {"WriteCapacityUnits", s.write_capacity}};
}

}  // namespace

std::string key_schema_of_description(const json::object& table) {
  std::map<std::string, std::string> types;
  if (auto* defs = table.if_contains("AttributeDefinitions"); defs && defs->is_array())
    for (const auto& d : defs->as_array())
      types[str(obj(d), "AttributeName")] = str(obj(d), "AttributeType");
  std::string s;
  if (auto* keys = table.if_contains("KeySchema"); keys && keys->is_array())
    for (const auto& k : keys->as_array()) {
      std::string name = str(obj(k), "AttributeName");
      s += (s.empty() ? "" : ", ") + str(obj(k), "KeyType") + " " + name + " " + types[name];
    }
  return s;
}

bool Deployment::read_tables() {
  std::string start;
  do {
    json::object req{{"Limit", 100}};
    if (!start.empty()) req["ExclusiveStartTableName"] = start;
    auto list = dynamodb("ListTables", req);
    if (!list) {
      // A server without DynamoDB has none of the stack's tables: a template
      // without tables still deploys; one with tables fails naming them.
      if (list.error().unknown_operation() || list.error().status == 404 ||
          list.error().status == 501) {
        dynamodb_available_ = false;
        dynamodb_unavailable_reason_ = "ListTables answered " + list.error().to_string();
        return true;
      }
      err_ << "Error: ListTables: " << list.error().to_string() << "\n";
      return false;
    }
    const auto& body = obj(list.value());
    for (const auto& name : strings(body, "TableNames")) {
      auto d = dynamodb("DescribeTable", json::object{{"TableName", name}});
      if (!d) continue;  // deleted meanwhile
      const auto& table = member(obj(d.value()), "Table");
      TableState s;
      s.name = name;
      s.arn = str(table, "TableArn");
      std::string token;
      do {
        json::object q{{"ResourceArn", s.arn}};
        if (!token.empty()) q["NextToken"] = token;
        auto t = dynamodb("ListTagsOfResource", q);
        if (!t) break;
        if (auto* tags = obj(t.value()).if_contains("Tags"); tags && tags->is_array())
          for (const auto& tag : tags->as_array())
            s.tags[str(obj(tag), "Key")] = str(obj(tag), "Value");
        token = str(obj(t.value()), "NextToken");
      } while (!token.empty());
      auto stack = s.tags.find(std::string(kStackTag));
      auto id = s.tags.find(std::string(kLogicalIdTag));
      if (stack == s.tags.end() || stack->second != stack_ || id == s.tags.end() ||
          id->second.empty())
        continue;
      s.logical_id = id->second;
      s.key_schema = key_schema_of_description(table);
      if (auto ttl = table_ttl(name); ttl) s.ttl_attribute = std::move(ttl.value());
      // DescribeTable has BillingModeSummary only for on-demand tables (and
      // tables that ever were); otherwise the table is PROVISIONED.
      std::string mode = str(member(table, "BillingModeSummary"), "BillingMode");
      s.billing_mode = mode.empty() ? "PROVISIONED" : mode;
      if (s.billing_mode == "PROVISIONED") {
        const auto& pt = member(table, "ProvisionedThroughput");
        s.read_capacity = num(pt, "ReadCapacityUnits").value_or(0);
        s.write_capacity = num(pt, "WriteCapacityUnits").value_or(0);
      }
      existing_tables_[s.logical_id] = std::move(s);
    }
    start = str(body, "LastEvaluatedTableName");
  } while (!start.empty());
  return true;
}

Result<void, StepError> Deployment::require_dynamodb(const Resource& r) {
  if (dynamodb_available_) return {};
  std::string where =
      r.mark.line > 0 ? fmt::format(" ({}:{}:{})", r.mark.file_name(), r.mark.line, r.mark.column)
                      : std::string();
  return fail(StepError{fmt::format("{} {}{}: the server does not implement DynamoDB ({})", r.type,
                                    r.logical_id, where, dynamodb_unavailable_reason_)});
}

Result<void, std::string> Deployment::wait_for_table(const std::string& name, bool gone) {
  auto deadline = Clock::now() + std::chrono::seconds(120);
  for (;;) {
    auto d = dynamodb("DescribeTable", json::object{{"TableName", name}});
    if (!d && d.error().not_found() && gone) return {};
    if (!d) return fail("DescribeTable: " + d.error().to_string());
    if (!gone && str(member(obj(d.value()), "Table"), "TableStatus") == "ACTIVE") return {};
    if (Clock::now() > deadline)
      return fail(std::string(gone ? "timed out waiting for the table to be deleted"
                                   : "timed out waiting for the table to become ACTIVE"));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result<void, std::string> Deployment::delete_table(const std::string& name) {
  auto d = dynamodb("DeleteTable", json::object{{"TableName", name}});
  if (!d && d.error().not_found()) return {};
  if (!d) return fail(d.error().to_string());
  return wait_for_table(name, true);
}

Result<std::string, std::string> Deployment::table_ttl(const std::string& name) {
  auto d = dynamodb("DescribeTimeToLive", json::object{{"TableName", name}});
  if (!d) return fail("DescribeTimeToLive: " + d.error().to_string());
  const auto& ttl = member(obj(d.value()), "TimeToLiveDescription");
  std::string status = str(ttl, "TimeToLiveStatus");
  return status == "ENABLED" || status == "ENABLING" ? str(ttl, "AttributeName") : std::string();
}

Result<void, std::string> Deployment::ensure_table_ttl(const std::string& name,
                                                       const std::string& attribute) {
  auto now = table_ttl(name);
  if (!now) return fail(now.error());
  if (now.value() == attribute) return {};
  auto set = [&](const std::string& a, bool enabled) -> Result<void, std::string> {
    auto u = dynamodb("UpdateTimeToLive",
                      json::object{{"TableName", name},
                                   {"TimeToLiveSpecification",
                                    json::object{{"AttributeName", a}, {"Enabled", enabled}}}});
    if (!u) return fail("UpdateTimeToLive: " + u.error().to_string());
    return {};
  };
  if (!now.value().empty())
    if (auto d = set(now.value(), false); !d) return d;
  if (!attribute.empty()) return set(attribute, true);
  return {};
}

Result<void, StepError> Deployment::apply_table(const Resource& r, const Node& props) {
  auto start = Clock::now();
  auto parsed =
      r.type == sam::kSimpleTable ? sam::parse_simple_table(r, props) : sam::parse_table(r, props);
  if (!parsed) return fail(StepError{parsed.error().to_string()});
  const sam::Table& t = parsed.value();
  desired_tables_.insert(r.logical_id);

  TableState want;
  want.logical_id = r.logical_id;
  want.type = r.type;
  want.key_schema = key_schema_text(t);
  want.name = t.table_name.empty() ? physical_table_name(stack_, r.logical_id, want.key_schema)
                                   : t.table_name;
  want.billing_mode = t.billing_mode;
  want.read_capacity = t.read_capacity;
  want.write_capacity = t.write_capacity;
  want.ttl_attribute = t.ttl_attribute;
  want.tags = t.tags;
  want.tags[std::string(kStackTag)] = stack_;
  want.tags[std::string(kLogicalIdTag)] = r.logical_id;

  auto existing = existing_tables_.find(r.logical_id);
  const TableState* cur = existing == existing_tables_.end() ? nullptr : &existing->second;
  Change change = diff_table(cur, want);
  auto deployed = [&](const std::string& arn) {
    values_[r.logical_id] = Values{want.name, {{"Arn", arn}}};
    result_.table_names[r.logical_id] = want.name;
  };
  if (change.action == Action::kUnchanged) {
    deployed(cur->arn);
    return {};
  }
  if (auto a = require_dynamodb(r); !a) return a;
  if (change.replace && cur->name == want.name)
    // CloudFormation's own refusal: the new table cannot take the name while
    // the old one holds it.
    return fail(StepError{fmt::format(
        "CloudFormation cannot update a stack when a custom-named resource requires replacing "
        "(the key schema changed from {} to {}). Rename {} and update the stack again.",
        cur->key_schema, want.key_schema, want.name)});
  ++changes_;

  if (change.action == Action::kCreate) {
    if (change.replace) replaced_.insert(r.logical_id);
    progress("CREATE_IN_PROGRESS", r.type, r.logical_id, start);
    json::array defs, keys;
    defs.push_back(json::object{{"AttributeName", t.hash.name}, {"AttributeType", t.hash.type}});
    keys.push_back(json::object{{"AttributeName", t.hash.name}, {"KeyType", "HASH"}});
    if (t.range) {
      defs.push_back(
          json::object{{"AttributeName", t.range->name}, {"AttributeType", t.range->type}});
      keys.push_back(json::object{{"AttributeName", t.range->name}, {"KeyType", "RANGE"}});
    }
    json::object req{{"TableName", want.name},
                     {"AttributeDefinitions", std::move(defs)},
                     {"KeySchema", std::move(keys)},
                     {"Tags", tag_list(want.tags)}};
    billing_members(want, req);
    auto c = dynamodb("CreateTable", req);
    if (!c) return fail(StepError{"CreateTable: " + c.error().to_string()});
    std::string name = want.name;
    journal_.record(
        {"DELETE_COMPLETE", r.type, r.logical_id, [this, name]() { return delete_table(name); }});
    if (auto w = wait_for_table(name, false); !w) return fail(StepError{w.error()});
    // CreateTable has no TTL member: UpdateTimeToLive once the table is ACTIVE.
    if (!want.ttl_attribute.empty())
      if (auto ttl = ensure_table_ttl(name, want.ttl_attribute); !ttl)
        return fail(StepError{ttl.error()});
    std::string arn = str(member(obj(c.value()), "TableDescription"), "TableArn");
    deployed(arn.empty() ? "arn:aws:dynamodb:" + opts_.region + ":" + account_ + ":table/" + name
                         : arn);
    progress("CREATE_COMPLETE", r.type, r.logical_id, start);
    return {};
  }

  progress("UPDATE_IN_PROGRESS", r.type, r.logical_id, start);
  if (auto u = update_table(r, *cur, want, change); !u) return u;
  deployed(cur->arn);
  progress("UPDATE_COMPLETE", r.type, r.logical_id, start);
  return {};
}

Result<void, StepError> Deployment::update_table(const Resource& r, const TableState& current,
                                                 const TableState& want, const Change& change) {
  const std::string name = current.name;
  bool billing = current.billing_mode != want.billing_mode ||
                 current.read_capacity != want.read_capacity ||
                 current.write_capacity != want.write_capacity;
  if (billing) {
    json::object req{{"TableName", name}};
    billing_members(want, req);
    auto u = dynamodb("UpdateTable", req);
    if (!u) return fail(StepError{"UpdateTable: " + u.error().to_string()});
    json::object undo{{"TableName", name}};
    billing_members(current, undo);
    journal_.record({"UPDATE_COMPLETE", r.type, r.logical_id,
                     [this, name, undo]() -> Result<void, std::string> {
                       auto u = dynamodb("UpdateTable", undo);
                       if (!u) return fail("UpdateTable: " + u.error().to_string());
                       return wait_for_table(name, false);
                     }});
    if (auto w = wait_for_table(name, false); !w) return fail(StepError{w.error()});
  }
  if (current.ttl_attribute != want.ttl_attribute) {
    // Journalled first: the undo sets the previous attribute whatever the
    // change left (disabled, or the new one enabled).
    std::string previous = current.ttl_attribute;
    journal_.record({"UPDATE_COMPLETE", r.type, r.logical_id,
                     [this, name, previous]() { return ensure_table_ttl(name, previous); }});
    if (auto ttl = ensure_table_ttl(name, want.ttl_attribute); !ttl)
      return fail(StepError{ttl.error()});
  }
  if (change.tags) {
    // Journalled first: putting the previous tags back is harmless whatever
    // part of the change was made.
    std::string arn = current.arn;
    auto from = current.tags, to = want.tags;
    journal_.record({"UPDATE_COMPLETE", r.type, r.logical_id,
                     [this, arn, from, to]() -> Result<void, std::string> {
                       auto s = set_table_tags(arn, to, from);
                       if (!s) return fail(s.error().message);
                       return {};
                     }});
    if (auto s = set_table_tags(arn, from, to); !s) return s;
  }
  return {};
}

Result<void, StepError> Deployment::set_table_tags(const std::string& arn,
                                                   const std::map<std::string, std::string>& from,
                                                   const std::map<std::string, std::string>& to) {
  json::array gone;
  for (const auto& [k, v] : from)
    if (!to.count(k)) gone.emplace_back(k);
  std::map<std::string, std::string> changed;
  for (const auto& [k, v] : to)
    if (auto f = from.find(k); f == from.end() || f->second != v) changed[k] = v;
  if (!gone.empty()) {
    auto u = dynamodb("UntagResource", json::object{{"ResourceArn", arn}, {"TagKeys", gone}});
    if (!u) return fail(StepError{"UntagResource: " + u.error().to_string()});
  }
  if (!changed.empty()) {
    auto t =
        dynamodb("TagResource", json::object{{"ResourceArn", arn}, {"Tags", tag_list(changed)}});
    if (!t) return fail(StepError{"TagResource: " + t.error().to_string()});
  }
  return {};
}

}  // namespace nimbus::deploy::detail
