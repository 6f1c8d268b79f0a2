// Deployment: DynamoDB tables (AWS::DynamoDB::Table and SAM's
// AWS::Serverless::SimpleTable) through DynamoDB's own API (json-1.0).
//
// As CloudFormation does: a new key schema, TableName or set of local
// secondary indexes replaces the table (the new one is created, the old one
// deleted once the whole deploy succeeded; a custom-named table cannot be
// replaced under the same name); BillingMode, ProvisionedThroughput, global
// secondary indexes, StreamSpecification, TimeToLiveSpecification and Tags are
// updated in place; a table removed from the template is deleted; and a
// failed deploy deletes only the tables it created (and restores the settings
// it changed).
#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <thread>

#include "deploy/deployment.h"

namespace nimbus::deploy::detail {

namespace {

KeyAttribute key_of(const sam::Table::Key& k) {
  return KeyAttribute{k.name, k.type};
}
std::optional<KeyAttribute> key_of(const std::optional<sam::Table::Key>& k) {
  return k ? std::optional(key_of(*k)) : std::nullopt;
}

IndexState index_state(const sam::Table::Index& ix) {
  IndexState s{ix.name,
               key_of(ix.hash),
               key_of(ix.range),
               ix.projection_type,
               ix.non_key_attributes,
               ix.read_capacity,
               ix.write_capacity};
  std::sort(s.non_key_attributes.begin(), s.non_key_attributes.end());
  return s;
}

json::array tag_list(const std::map<std::string, std::string>& tags) {
  json::array out;
  for (const auto& [k, v] : tags) out.push_back(json::object{{"Key", k}, {"Value", v}});
  return out;
}

json::object throughput(int64_t read, int64_t write) {
  return json::object{{"ReadCapacityUnits", read}, {"WriteCapacityUnits", write}};
}

// UpdateTable's (and CreateTable's) billing members for a state.
void billing_members(const TableState& s, json::object& req) {
  req["BillingMode"] = s.billing_mode;
  if (s.billing_mode == "PROVISIONED")
    req["ProvisionedThroughput"] = throughput(s.read_capacity, s.write_capacity);
}

json::array key_schema_json(const KeyAttribute& hash, const std::optional<KeyAttribute>& range) {
  json::array keys{json::object{{"AttributeName", hash.name}, {"KeyType", "HASH"}}};
  if (range) keys.push_back(json::object{{"AttributeName", range->name}, {"KeyType", "RANGE"}});
  return keys;
}

// AttributeDefinitions of the given keys, each attribute once.
json::array attribute_definitions(const std::vector<KeyAttribute>& keys) {
  json::array defs;
  std::set<std::string> seen;
  for (const auto& k : keys)
    if (seen.insert(k.name).second)
      defs.push_back(json::object{{"AttributeName", k.name}, {"AttributeType", k.type}});
  return defs;
}

void add_keys(std::vector<KeyAttribute>& keys, const IndexState& ix) {
  keys.push_back(ix.hash);
  if (ix.range) keys.push_back(*ix.range);
}

// An index as CreateTable's index lists and UpdateTable's Create take it; GSIs
// of a PROVISIONED table have their own throughput.
json::object index_request(const IndexState& ix, bool with_throughput) {
  json::object projection{{"ProjectionType", ix.projection_type}};
  if (!ix.non_key_attributes.empty()) {
    json::array names;
    for (const auto& n : ix.non_key_attributes) names.emplace_back(n);
    projection["NonKeyAttributes"] = std::move(names);
  }
  json::object o{{"IndexName", ix.name},
                 {"KeySchema", key_schema_json(ix.hash, ix.range)},
                 {"Projection", std::move(projection)}};
  if (with_throughput) o["ProvisionedThroughput"] = throughput(ix.read_capacity, ix.write_capacity);
  return o;
}

// A GlobalSecondaryIndexUpdates member giving an index its throughput.
json::object throughput_update(const IndexState& ix) {
  return json::object{{"Update", json::object{{"IndexName", ix.name},
                                              {"ProvisionedThroughput",
                                               throughput(ix.read_capacity, ix.write_capacity)}}}};
}

json::array index_list(const std::map<std::string, IndexState>& indexes, bool with_throughput) {
  json::array out;
  for (const auto& [name, ix] : indexes) out.push_back(index_request(ix, with_throughput));
  return out;
}

// The keys of a KeySchema of a DescribeTable answer (the table's or an
// index's), typed by the table's AttributeDefinitions (`types`).
void keys_of_description(const json::object& o, const std::map<std::string, std::string>& types,
                         KeyAttribute& hash, std::optional<KeyAttribute>& range) {
  if (auto* keys = o.if_contains("KeySchema"); keys && keys->is_array())
    for (const auto& k : keys->as_array()) {
      std::string name = str(obj(k), "AttributeName");
      auto type = types.find(name);
      KeyAttribute key{name, type == types.end() ? std::string() : type->second};
      (str(obj(k), "KeyType") == "HASH" ? hash : range.emplace()) = std::move(key);
    }
}

// What a deploy compares of a DescribeTable answer's Table: keys, billing,
// indexes and stream (not its name, ARN, tags or Time to Live).
TableState state_of_description(const json::object& table) {
  TableState s;
  std::map<std::string, std::string> types;
  if (auto* defs = table.if_contains("AttributeDefinitions"); defs && defs->is_array())
    for (const auto& d : defs->as_array())
      types[str(obj(d), "AttributeName")] = str(obj(d), "AttributeType");
  KeyAttribute hash;
  std::optional<KeyAttribute> range;
  keys_of_description(table, types, hash, range);
  s.key_schema = key_schema_text(hash, range);
  // DescribeTable has BillingModeSummary only for on-demand tables (and
  // tables that ever were); otherwise the table is PROVISIONED.
  std::string mode = str(member(table, "BillingModeSummary"), "BillingMode");
  s.billing_mode = mode.empty() ? "PROVISIONED" : mode;
  const bool provisioned = s.billing_mode == "PROVISIONED";
  if (provisioned) {
    const auto& pt = member(table, "ProvisionedThroughput");
    s.read_capacity = num(pt, "ReadCapacityUnits").value_or(0);
    s.write_capacity = num(pt, "WriteCapacityUnits").value_or(0);
  }
  for (auto [list, out] : {std::pair{"LocalSecondaryIndexes", &s.local_indexes},
                           std::pair{"GlobalSecondaryIndexes", &s.global_indexes}}) {
    auto* indexes = table.if_contains(list);
    if (!indexes || !indexes->is_array()) continue;
    for (const auto& v : indexes->as_array()) {
      const auto& o = obj(v);
      IndexState ix;
      ix.name = str(o, "IndexName");
      keys_of_description(o, types, ix.hash, ix.range);
      const auto& projection = member(o, "Projection");
      ix.projection_type = str(projection, "ProjectionType");
      ix.non_key_attributes = strings(projection, "NonKeyAttributes");
      std::sort(ix.non_key_attributes.begin(), ix.non_key_attributes.end());
      if (provisioned && out == &s.global_indexes) {
        const auto& pt = member(o, "ProvisionedThroughput");
        ix.read_capacity = num(pt, "ReadCapacityUnits").value_or(0);
        ix.write_capacity = num(pt, "WriteCapacityUnits").value_or(0);
      }
      (*out)[ix.name] = std::move(ix);
    }
  }
  const auto& stream = member(table, "StreamSpecification");
  if (auto* on = stream.if_contains("StreamEnabled"); on && on->is_bool() && on->get_bool()) {
    s.stream_view_type = str(stream, "StreamViewType");
    s.stream_arn = str(table, "LatestStreamArn");
  }
  return s;
}

bool indexes_active(const json::object& table) {
  if (auto* gsis = table.if_contains("GlobalSecondaryIndexes"); gsis && gsis->is_array())
    for (const auto& g : gsis->as_array())
      if (str(obj(g), "IndexStatus") != "ACTIVE") return false;
  return true;
}

}  // namespace

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
      std::map<std::string, std::string> tags;
      const std::string arn = str(table, "TableArn");
      std::string token;
      do {
        json::object q{{"ResourceArn", arn}};
        if (!token.empty()) q["NextToken"] = token;
        auto t = dynamodb("ListTagsOfResource", q);
        if (!t) break;
        if (auto* list = obj(t.value()).if_contains("Tags"); list && list->is_array())
          for (const auto& tag : list->as_array())
            tags[str(obj(tag), "Key")] = str(obj(tag), "Value");
        token = str(obj(t.value()), "NextToken");
      } while (!token.empty());
      auto stack = tags.find(std::string(kStackTag));
      auto id = tags.find(std::string(kLogicalIdTag));
      if (stack == tags.end() || stack->second != stack_ || id == tags.end() || id->second.empty())
        continue;
      TableState s = state_of_description(table);
      s.logical_id = id->second;
      s.name = name;
      s.arn = arn;
      s.tags = std::move(tags);
      if (auto ttl = table_ttl(name); ttl) s.ttl_attribute = std::move(ttl.value());
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

Result<void, std::string> Deployment::poll_table(const std::string& name,
                                                 std::string_view waiting_for,
                                                 const TablePoll& done) {
  auto deadline = Clock::now() + std::chrono::seconds(120);
  for (;;) {
    auto d = dynamodb("DescribeTable", json::object{{"TableName", name}});
    if (!d && !d.error().not_found()) return fail("DescribeTable: " + d.error().to_string());
    auto finished = done(d ? &member(obj(d.value()), "Table") : nullptr);
    if (!finished) return fail(finished.take_error());
    if (finished.value()) return {};
    if (Clock::now() > deadline) return fail("timed out waiting for " + std::string(waiting_for));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result<void, std::string> Deployment::wait_for_table(const std::string& name, bool gone) {
  if (gone)
    return poll_table(
        name, "the table to be deleted",
        [](const json::object* table) -> Result<bool, std::string> { return table == nullptr; });
  return poll_table(name, "the table and its indexes to become ACTIVE",
                    [&name](const json::object* table) -> Result<bool, std::string> {
                      if (!table) return fail("table " + name + " no longer exists");
                      return str(*table, "TableStatus") == "ACTIVE" && indexes_active(*table);
                    });
}

Result<void, std::string> Deployment::delete_table(const std::string& name) {
  auto d = dynamodb("DeleteTable", json::object{{"TableName", name}});
  if (!d && d.error().not_found()) return {};
  if (!d) return fail(d.error().to_string());
  return wait_for_table(name, true);
}

Result<void, std::string> Deployment::update_index(const std::string& table, json::array updates,
                                                   json::array definitions) {
  json::object req{{"TableName", table}, {"GlobalSecondaryIndexUpdates", std::move(updates)}};
  if (!definitions.empty()) req["AttributeDefinitions"] = std::move(definitions);
  auto u = dynamodb("UpdateTable", req);
  if (!u) return fail("UpdateTable: " + u.error().to_string());
  return {};
}

Result<void, std::string> Deployment::create_global_index(const std::string& table,
                                                          const IndexState& index, bool provisioned,
                                                          const std::function<void()>& requested) {
  std::vector<KeyAttribute> keys;
  add_keys(keys, index);
  auto c =
      update_index(table, json::array{json::object{{"Create", index_request(index, provisioned)}}},
                   attribute_definitions(keys));
  if (!c) return fail("creating index " + index.name + ": " + c.error());
  if (requested) requested();
  // The index is queryable once its backfill is done: ACTIVE.
  return wait_for_table(table, false);
}

Result<void, std::string> Deployment::delete_global_index(const std::string& table,
                                                          const std::string& index,
                                                          const std::function<void()>& requested) {
  auto d = update_index(table,
                        json::array{json::object{{"Delete", json::object{{"IndexName", index}}}}});
  if (!d) return fail("deleting index " + index + ": " + d.error());
  if (requested) requested();
  return poll_table(table, "index " + index + " to be deleted",
                    [&](const json::object* t) -> Result<bool, std::string> {
                      if (!t) return fail("table " + table + " no longer exists");
                      if (auto* gsis = t->if_contains("GlobalSecondaryIndexes");
                          gsis && gsis->is_array())
                        for (const auto& g : gsis->as_array())
                          if (str(obj(g), "IndexName") == index) return false;
                      return true;
                    });
}

Result<void, std::string> Deployment::ensure_table_stream(const std::string& name,
                                                          const std::string& view_type) {
  auto d = dynamodb("DescribeTable", json::object{{"TableName", name}});
  if (!d) return fail("DescribeTable: " + d.error().to_string());
  const std::string now = state_of_description(member(obj(d.value()), "Table")).stream_view_type;
  if (now == view_type) return {};
  auto set = [&](json::object spec) -> Result<void, std::string> {
    auto u = dynamodb("UpdateTable",
                      json::object{{"TableName", name}, {"StreamSpecification", std::move(spec)}});
    if (!u) return fail("UpdateTable: " + u.error().to_string());
    return wait_for_table(name, false);
  };
  if (!now.empty())
    if (auto off = set(json::object{{"StreamEnabled", false}}); !off) return off;
  if (!view_type.empty())
    return set(json::object{{"StreamEnabled", true}, {"StreamViewType", view_type}});
  return {};
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
  want.key_schema = key_schema_text(key_of(t.hash), key_of(t.range));
  want.billing_mode = t.billing_mode;
  want.read_capacity = t.read_capacity;
  want.write_capacity = t.write_capacity;
  want.ttl_attribute = t.ttl_attribute;
  want.tags = t.tags;
  want.tags[std::string(kStackTag)] = stack_;
  want.tags[std::string(kLogicalIdTag)] = r.logical_id;
  for (const auto& ix : t.local_indexes) want.local_indexes[ix.name] = index_state(ix);
  for (const auto& ix : t.global_indexes) want.global_indexes[ix.name] = index_state(ix);
  want.stream_view_type = t.stream_view_type;
  want.name = t.table_name.empty() ? physical_table_name(stack_, r.logical_id, table_identity(want))
                                   : t.table_name;

  auto existing = existing_tables_.find(r.logical_id);
  const TableState* cur = existing == existing_tables_.end() ? nullptr : &existing->second;
  Change change = diff_table(cur, want);
  auto deployed = [&](const std::string& arn, const std::string& stream_arn) {
    Values v{want.name, {{"Arn", arn}}};
    if (!stream_arn.empty()) v.atts["StreamArn"] = stream_arn;
    values_[r.logical_id] = std::move(v);
    result_.table_names[r.logical_id] = want.name;
  };
  if (change.action == Action::kUnchanged) {
    deployed(cur->arn, cur->stream_arn);
    return {};
  }
  if (auto a = require_dynamodb(r); !a) return a;
  if (change.replace && cur->name == want.name)
    // CloudFormation's own refusal: the new table cannot take the name while
    // the old one holds it.
    return fail(StepError{fmt::format(
        "CloudFormation cannot update a stack when a custom-named resource requires replacing "
        "(the key schema or local secondary indexes changed from {} to {}). Rename {} and "
        "update the stack again.",
        table_identity(*cur), table_identity(want), want.name)});
  ++changes_;

  if (change.action == Action::kCreate) {
    if (change.replace) replaced_.insert(r.logical_id);
    progress("CREATE_IN_PROGRESS", r.type, r.logical_id, start);
    std::vector<KeyAttribute> keys{key_of(t.hash)};
    if (t.range) keys.push_back(key_of(*t.range));
    for (const auto* indexes : {&want.local_indexes, &want.global_indexes})
      for (const auto& [name, ix] : *indexes) add_keys(keys, ix);
    json::object req{{"TableName", want.name},
                     {"AttributeDefinitions", attribute_definitions(keys)},
                     {"KeySchema", key_schema_json(key_of(t.hash), key_of(t.range))},
                     {"Tags", tag_list(want.tags)}};
    billing_members(want, req);
    if (!want.local_indexes.empty())
      req["LocalSecondaryIndexes"] = index_list(want.local_indexes, false);
    if (!want.global_indexes.empty())
      req["GlobalSecondaryIndexes"] =
          index_list(want.global_indexes, want.billing_mode == "PROVISIONED");
    if (!want.stream_view_type.empty())
      req["StreamSpecification"] =
          json::object{{"StreamEnabled", true}, {"StreamViewType", want.stream_view_type}};
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
    const auto& created = member(obj(c.value()), "TableDescription");
    std::string arn = str(created, "TableArn");
    deployed(
        arn.empty() ? "arn:aws:dynamodb:" + opts_.region + ":" + account_ + ":table/" + name : arn,
        str(created, "LatestStreamArn"));
    progress("CREATE_COMPLETE", r.type, r.logical_id, start);
    return {};
  }

  progress("UPDATE_IN_PROGRESS", r.type, r.logical_id, start);
  if (auto u = update_table(r, *cur, want, change); !u) return u;
  std::string stream_arn;
  if (!want.stream_view_type.empty()) {
    // A stream enabled (again) by this update has a new ARN.
    auto d = dynamodb("DescribeTable", json::object{{"TableName", cur->name}});
    if (!d) return fail(StepError{"DescribeTable: " + d.error().to_string()});
    stream_arn = str(member(obj(d.value()), "Table"), "LatestStreamArn");
  }
  deployed(cur->arn, stream_arn);
  progress("UPDATE_COMPLETE", r.type, r.logical_id, start);
  return {};
}

Result<void, StepError> Deployment::update_table(const Resource& r, const TableState& current,
                                                 const TableState& want, const Change& change) {
  const std::string name = current.name;
  const bool was_provisioned = current.billing_mode == "PROVISIONED";
  const bool provisioned = want.billing_mode == "PROVISIONED";
  auto journal = [&](std::function<Result<void, std::string>()> undo) {
    journal_.record({"UPDATE_COMPLETE", r.type, r.logical_id, std::move(undo)});
  };

  // Global secondary indexes: DynamoDB changes neither an index's keys nor
  // its projection, so a redefined index is deleted and created again; one
  // index is created or deleted per UpdateTable, each waited for.
  std::vector<IndexState> deleted, created, kept;
  json::array resized, previous_throughput;  // GlobalSecondaryIndexUpdates of kept indexes
  for (const auto& [n, ix] : current.global_indexes) {
    auto w = want.global_indexes.find(n);
    (w != want.global_indexes.end() && w->second.same_definition(ix) ? kept : deleted)
        .push_back(ix);
  }
  for (const auto& [n, ix] : want.global_indexes) {
    auto c = current.global_indexes.find(n);
    if (c == current.global_indexes.end() || !c->second.same_definition(ix))
      created.push_back(ix);
    else if (provisioned && (c->second.read_capacity != ix.read_capacity ||
                             c->second.write_capacity != ix.write_capacity)) {
      resized.push_back(throughput_update(ix));
      previous_throughput.push_back(throughput_update(c->second));
    }
  }

  // Deletes come before a billing change, so that their undo (which runs
  // after the billing change's undo) creates the index again under the
  // billing mode it had.
  for (const auto& ix : deleted)
    if (auto d = delete_global_index(name, ix.name,
                                     [&] {
                                       journal([this, name, ix, was_provisioned]() {
                                         return create_global_index(name, ix, was_provisioned);
                                       });
                                     });
        !d)
      return fail(StepError{d.error()});

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
    // A table switched (back) to PROVISIONED has indexes without throughput:
    // the undo gives the kept ones theirs again.
    json::array restore;
    if (was_provisioned && current.billing_mode != want.billing_mode)
      for (const auto& ix : kept) restore.push_back(throughput_update(ix));
    journal([this, name, undo, restore]() -> Result<void, std::string> {
      auto u = dynamodb("UpdateTable", undo);
      if (!u) return fail("UpdateTable: " + u.error().to_string());
      if (auto w = wait_for_table(name, false); !w) return w;
      if (restore.empty()) return {};
      if (auto i = update_index(name, restore); !i) return i;
      return wait_for_table(name, false);
    });
    if (auto w = wait_for_table(name, false); !w) return fail(StepError{w.error()});
  }

  for (const auto& ix : created)
    if (auto c = create_global_index(name, ix, provisioned,
                                     [&] {
                                       journal([this, name, index = ix.name]() {
                                         return delete_global_index(name, index);
                                       });
                                     });
        !c)
      return fail(StepError{c.error()});

  if (!resized.empty()) {
    if (auto u = update_index(name, resized); !u) return fail(StepError{u.error()});
    // Indexes of a table that was on-demand had no throughput to go back to:
    // the billing change's undo takes care of them.
    if (was_provisioned)
      journal([this, name, previous_throughput]() -> Result<void, std::string> {
        if (auto u = update_index(name, previous_throughput); !u) return u;
        return wait_for_table(name, false);
      });
    if (auto w = wait_for_table(name, false); !w) return fail(StepError{w.error()});
  }

  if (current.stream_view_type != want.stream_view_type) {
    // Journalled first: the undo makes the previous stream whatever part of
    // the change was made (a stream enabled again has a new ARN, as on AWS).
    journal([this, name, previous = current.stream_view_type]() {
      return ensure_table_stream(name, previous);
    });
    if (auto s = ensure_table_stream(name, want.stream_view_type); !s)
      return fail(StepError{s.error()});
  }
  if (current.ttl_attribute != want.ttl_attribute) {
    // Journalled first: the undo sets the previous attribute whatever the
    // change left (disabled, or the new one enabled).
    journal([this, name, previous = current.ttl_attribute]() {
      return ensure_table_ttl(name, previous);
    });
    if (auto ttl = ensure_table_ttl(name, want.ttl_attribute); !ttl)
      return fail(StepError{ttl.error()});
  }
  if (change.tags) {
    // Journalled first: putting the previous tags back is harmless whatever
    // part of the change was made.
    std::string arn = current.arn;
    auto from = current.tags, to = want.tags;
    journal([this, arn, from, to]() -> Result<void, std::string> {
      auto s = set_table_tags(arn, to, from);
      if (!s) return fail(s.error().message);
      return {};
    });
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
