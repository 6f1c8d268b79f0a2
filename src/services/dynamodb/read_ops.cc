// DynamoDB Query and Scan, on tables and their indexes.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <cmath>
#include <functional>
#include <set>

#include "services/dynamodb/dynamodb_service.h"
#include "services/dynamodb/expression.h"
#include "services/dynamodb/index.h"
#include "services/dynamodb/item.h"
#include "services/dynamodb/number.h"
#include "services/dynamodb/service_util.h"
#include "services/dynamodb/streams.h"
#include "services/dynamodb/wire.h"

namespace nimbus::services::dynamodb {

namespace json = boost::json;

namespace {

// One page of Scan or Query: rows come from `fetch` (after a cursor, in the
// read's direction); `admit` decides per row whether it is in the read at all
// (a segment, a key condition) or ends it. Limit counts the items read before
// the filter, as DynamoDB's does; the page also ends at 1 MB.
struct Page {
  json::array items;
  size_t count = 0, scanned = 0, bytes = 0;
  std::optional<json::object> last_key;
};
enum class Admit { kTake, kSkip, kStop };

// What a Query or Scan reads: the table or one of its indexes, with the key
// that orders it.
struct ReadSource {
  const SecondaryIndex* index = nullptr;  // null: the table itself
  KeyAttribute hash;
  std::optional<KeyAttribute> range;
  std::string prefix;  // every row's store key starts with it

  // LastEvaluatedKey: the table's key, and an index's key too.
  json::object last_key(const TableSchema& t, const json::object& row) const {
    json::object k = key_of(t, row);
    if (index)
      for (const KeyAttribute* a : {&hash, range ? &*range : nullptr})
        if (const json::value* v = a ? row.if_contains(a->name) : nullptr) k[a->name] = *v;
    return k;
  }
};

Result<ReadSource, aws::ApiError> read_source(const TableSchema& t, const json::object& req) {
  ReadSource src;
  if (!req.contains("IndexName")) {
    src.hash = t.hash;
    src.range = t.range;
    src.prefix = table_items_prefix(t);
    return src;
  }
  std::string_view name = str_or_empty(req, "IndexName");
  src.index = t.find_index(name);
  if (!src.index)
    return fail(aws::ApiError::validation("The table does not have the specified index: " +
                                          std::string(name)));
  if (src.index->backfilling)
    return fail(aws::ApiError::validation("Cannot read from backfilling global secondary index: " +
                                          std::string(name)));
  if (src.index->global)
    if (auto* v = req.if_contains("ConsistentRead"); v && v->is_bool() && v->get_bool())
      return fail(aws::ApiError::validation(
          "Consistent reads are not supported on global secondary indexes"));
  src.hash = src.index->hash;
  src.range = src.index->range;
  src.prefix = index_entries_prefix(t, *src.index);
  return src;
}

// `expand`, when set, replaces a row with what the read returns of it (an
// LSI read asking for attributes the index does not project).
Page read_page(const TableSchema& t, const ReadSource& src, std::string cursor, size_t limit,
               const std::function<store::KeyValues(const std::string&)>& fetch,
               const std::function<Admit(std::string_view, const json::object&)>& admit,
               const std::function<void(json::object&)>& expand, const ConditionExpression* filter,
               const ProjectionExpression* projection, bool count_only) {
  constexpr size_t kBatch = 256;
  Page page;
  bool more = true, stopped = false;
  while (more && !stopped && page.scanned < limit && page.bytes < DynamoDbService::kPageBytes) {
    auto rows = fetch(cursor);
    more = rows.size() == kBatch;
    for (auto& [key, value] : rows) {
      cursor = key;
      auto item = parse_item(value);
      if (!item) throw std::runtime_error("dynamodb: corrupt item record");
      Admit a = admit(key, *item);
      if (a == Admit::kStop) {
        stopped = true;
        break;
      }
      if (a == Admit::kSkip) continue;
      ++page.scanned;
      page.bytes += item_size(*item);
      page.last_key = src.last_key(t, *item);
      if (expand) expand(*item);
      if (!filter || filter->evaluate(*item)) {
        ++page.count;
        if (!count_only) page.items.push_back(projection ? projection->apply(*item) : *item);
      }
      if (page.scanned >= limit || page.bytes >= DynamoDbService::kPageBytes) break;
    }
  }
  // The read is over when the source ran out or the key range ended before
  // the page filled; otherwise the caller gets LastEvaluatedKey to go on.
  bool finished =
      stopped || (!more && page.scanned < limit && page.bytes < DynamoDbService::kPageBytes);
  if (finished) page.last_key.reset();
  return page;
}

Result<size_t, aws::ApiError> read_limit(const json::object& req) {
  auto* v = req.if_contains("Limit");
  if (!v) return std::numeric_limits<size_t>::max();
  if (!v->is_int64() || v->get_int64() < 1)
    return fail(aws::ApiError::validation(
        "1 validation error detected: Value '" + json::serialize(*v) +
        "' at 'limit' failed to satisfy constraint: Member must have value greater than or "
        "equal to 1"));
  return static_cast<size_t>(v->get_int64());
}

// Select alone: whether the read answers with a count only.
Result<bool, aws::ApiError> count_only(std::string_view select, bool has_projection) {
  if (select.empty() || select == "ALL_ATTRIBUTES" || select == "SPECIFIC_ATTRIBUTES") {
    if (select == "ALL_ATTRIBUTES" && has_projection)
      return fail(aws::ApiError::validation(
          "Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES"));
    if (select == "SPECIFIC_ATTRIBUTES" && !has_projection)
      return fail(aws::ApiError::validation(
          "Must specify the AttributesToGet or ProjectionExpression when choosing to get "
          "SPECIFIC_ATTRIBUTES"));
    return false;
  }
  if (select == "COUNT") {
    if (has_projection)
      return fail(aws::ApiError::validation(
          "Cannot specify the ProjectionExpression when choosing to get COUNT"));
    return true;
  }
  return fail(aws::ApiError::validation(
      "1 validation error detected: Value '" + std::string(select) +
      "' at 'select' failed to satisfy constraint: Member must satisfy enum value set: "
      "[SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"));
}

// What a read returns of each row, from Select and ProjectionExpression as
// DynamoDB checks them together.
struct Selection {
  bool count_only = false;
  bool table_items = false;  // an LSI read that needs attributes it does not project
};

Result<Selection, aws::ApiError> selection(const json::object& req, bool has_projection,
                                           const ReadSource& src) {
  std::string_view select = str_or_empty(req, "Select");
  const SecondaryIndex* ix = src.index;
  bool partial = ix && ix->projection_type != "ALL";
  if (select == "ALL_ATTRIBUTES" && partial && ix->global)
    return fail(
        invalid_parameter("Select type ALL_ATTRIBUTES is not supported for global "
                          "secondary index " +
                          ix->name + " because its projection type is not ALL"));
  // DynamoDB fetches from the table what an LSI does not hold; a GSI
  // answers with what it projects.
  Selection sel;
  sel.table_items = partial && !ix->global && (select == "ALL_ATTRIBUTES" || has_projection);
  if (select == "ALL_PROJECTED_ATTRIBUTES") {
    if (!ix)
      return fail(aws::ApiError::validation(
          "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName"));
    if (has_projection)
      return fail(
          aws::ApiError::validation("Cannot specify the ProjectionExpression when choosing to get "
                                    "ALL_PROJECTED_ATTRIBUTES"));
    return sel;
  }
  auto answer = count_only(select, has_projection);
  if (!answer) return fail(answer.take_error());
  sel.count_only = *answer;
  if (sel.count_only) sel.table_items = false;
  return sel;
}
json::object page_answer(Page page, bool count_only) {
  json::object out;
  out["Count"] = page.count;
  out["ScannedCount"] = page.scanned;
  if (!count_only) out["Items"] = std::move(page.items);
  if (page.last_key) out["LastEvaluatedKey"] = std::move(*page.last_key);
  return out;
}

}  // namespace

// The store key of ExclusiveStartKey, checked against the table's key.
namespace {
Result<std::string, aws::ApiError> start_key(const TableSchema& t, const ReadSource& src,
                                             const json::object& req) {
  const json::object* esk = object_member(req, "ExclusiveStartKey");
  if (!esk) return std::string();
  if (src.index) return index_start_key(t, *src.index, *esk);
  json::object k = *esk;
  if (auto r = normalize_item(k); !r) return fail(r.take_error());
  auto key = item_store_key(t, k, true);
  if (!key)
    return fail(
        aws::ApiError::validation("The provided starting key is invalid: " + key.error().message));
  return std::move(*key);
}
}  // namespace

DynamoDbService::OpResult DynamoDbService::scan(const aws::Call&, Json& req) {
  auto t = table_of(req);
  if (!t) return fail(t.take_error());
  auto src = read_source(*t, req);
  if (!src) return fail(src.take_error());
  if (auto r = admit(*t, Throughput::kRead); !r) return fail(r.take_error());
  auto limit = read_limit(req);
  if (!limit) return fail(limit.take_error());
  auto exprs = RequestExpressions::from(req);
  if (!exprs) return fail(exprs.take_error());
  auto filter = (*exprs)->condition(req, "FilterExpression");
  if (!filter) return fail(filter.take_error());
  auto projection = (*exprs)->projection(req);
  if (!projection) return fail(projection.take_error());
  if (auto r = (*exprs)->finish(); !r) return fail(r.take_error());
  auto sel = selection(req, projection->has_value(), *src);
  if (!sel) return fail(sel.take_error());
  // Parallel scan: an item belongs to segment hash(partition key) mod total,
  // so that the segments together return every item exactly once.
  int64_t segment = 0, total = 1;
  bool has_segment = req.contains("Segment"), has_total = req.contains("TotalSegments");
  if (has_segment != has_total)
    return fail(aws::ApiError::validation(
        has_segment ? "The TotalSegments parameter is required but was not present in the "
                      "request when Segment parameter is present"
                    : "The Segment parameter is required but was not present in the request "
                      "when parameter TotalSegments is present"));
  if (has_total) {
    auto* s = req.if_contains("Segment");
    auto* n = req.if_contains("TotalSegments");
    if (!n->is_int64() || n->get_int64() < 1 || n->get_int64() > 1000000)
      return fail(aws::ApiError::validation(
          "1 validation error detected: Value '" + json::serialize(*n) +
          "' at 'totalSegments' failed to satisfy constraint: Member must have value " +
          (n->is_int64() && n->get_int64() > 1000000 ? "less than or equal to 1000000"
                                                     : "greater than or equal to 1")));
    total = n->get_int64();
    if (!s->is_int64() || s->get_int64() < 0 || s->get_int64() >= total)
      return fail(aws::ApiError::validation(
          "The Segment parameter is zero-based and must be "
          "less than parameter TotalSegments: Segment: " +
          json::serialize(*s) + " is not less than TotalSegments: " + std::to_string(total)));
    segment = s->get_int64();
  }
  auto start = start_key(*t, *src, req);
  if (!start) return fail(start.take_error());
  bool consistent = false;
  if (auto* v = req.if_contains("ConsistentRead"); v && v->is_bool()) consistent = v->get_bool();

  const std::string& prefix = src->prefix;
  auto fetch = [&](const std::string& cursor) { return store_.scan(prefix, cursor, 256); };
  auto admit = [&](std::string_view key, const json::object&) {
    if (total == 1) return Admit::kTake;
    // The partition component ends at the first unescaped 00 01.
    std::string_view rest = key.substr(prefix.size());
    size_t end = 0;
    while (end + 1 < rest.size() && !(rest[end] == '\0' && rest[end + 1] == '\x01'))
      end += rest[end] == '\0' ? 2 : 1;
    return static_cast<int64_t>(std::hash<std::string_view>{}(rest.substr(0, end)) %
                                static_cast<uint64_t>(total)) == segment
               ? Admit::kTake
               : Admit::kSkip;
  };
  Page page =
      read_page(*t, *src, *start, *limit, fetch, admit, table_item_expander(*t, sel->table_items),
                filter->has_value() ? &**filter : nullptr,
                projection->has_value() ? &**projection : nullptr, sel->count_only);
  double units = read_units(page.bytes, consistent);
  Json out = page_answer(std::move(page), sel->count_only);
  charge(out, req, *t, Throughput::kRead, units);
  return out;
}

DynamoDbService::OpResult DynamoDbService::query(const aws::Call&, Json& req) {
  auto t = table_of(req);
  if (!t) return fail(t.take_error());
  auto src = read_source(*t, req);
  if (!src) return fail(src.take_error());
  if (auto r = admit(*t, Throughput::kRead); !r) return fail(r.take_error());
  auto limit = read_limit(req);
  if (!limit) return fail(limit.take_error());
  if (!req.contains("KeyConditionExpression"))
    return fail(aws::ApiError::validation(
        "Either the KeyConditions or KeyConditionExpression parameter must be specified in the "
        "request."));
  auto exprs = RequestExpressions::from(req);
  if (!exprs) return fail(exprs.take_error());
  auto kc = parse_key_condition(str_or_empty(req, "KeyConditionExpression"), (*exprs)->ctx(),
                                src->hash, src->range);
  if (!kc) return fail(aws::ApiError::validation(kc.error()));
  auto filter = (*exprs)->condition(req, "FilterExpression");
  if (!filter) return fail(filter.take_error());
  if (*filter)
    for (const auto& name : (*filter)->top_level_attributes())
      if (name == src->hash.name || (src->range && name == src->range->name))
        return fail(aws::ApiError::validation(
            "Filter Expression can only contain non-primary key attributes: Primary key "
            "attribute: " +
            name));
  auto projection = (*exprs)->projection(req);
  if (!projection) return fail(projection.take_error());
  if (auto r = (*exprs)->finish(); !r) return fail(r.take_error());
  auto sel = selection(req, projection->has_value(), *src);
  if (!sel) return fail(sel.take_error());
  auto partition = key_component(src->hash.type, kc->partition_value, src->hash.name);
  if (!partition) return fail(partition.take_error());
  const std::string prefix = src->prefix + *partition;
  auto start = start_key(*t, *src, req);
  if (!start) return fail(start.take_error());
  if (!start->empty() && !start->starts_with(prefix))
    return fail(aws::ApiError::validation(
        "The provided starting key does not match the range key predicate"));
  bool forward = true;
  if (auto* v = req.if_contains("ScanIndexForward"); v && v->is_bool()) forward = v->get_bool();
  bool consistent = false;
  if (auto* v = req.if_contains("ConsistentRead"); v && v->is_bool()) consistent = v->get_bool();

  auto fetch = [&](const std::string& cursor) {
    return forward ? store_.scan(prefix, cursor, 256) : store_.scan_reverse(prefix, cursor, 256);
  };
  // The items a sort key condition selects are one run in key order: once
  // the run has started, the first item outside it ends the read.
  bool in_run = false;
  const std::optional<SortKeyCondition>& sort = kc->sort;
  std::string range_name = src->range ? src->range->name : std::string();
  auto admit = [&](std::string_view, const json::object& item) {
    if (!sort) return Admit::kTake;
    const json::value* v = item.if_contains(range_name);
    if (v && sort->matches(*v)) {
      in_run = true;
      return Admit::kTake;
    }
    return in_run ? Admit::kStop : Admit::kSkip;
  };
  Page page =
      read_page(*t, *src, *start, *limit, fetch, admit, table_item_expander(*t, sel->table_items),
                filter->has_value() ? &**filter : nullptr,
                projection->has_value() ? &**projection : nullptr, sel->count_only);
  double units = read_units(page.bytes, consistent);
  Json out = page_answer(std::move(page), sel->count_only);
  charge(out, req, *t, Throughput::kRead, units);
  return out;
}

// An LSI read that needs what the index does not project reads each item
// from the table.
std::function<void(DynamoDbService::Json&)> DynamoDbService::table_item_expander(
    const TableSchema& t, bool needed) const {
  if (!needed) return nullptr;
  return [this, &t](Json& row) {
    auto key = item_store_key(t, row, false);
    if (!key) return;
    if (auto item = load_item(*key)) row = std::move(*item);
  };
}

}  // namespace nimbus::services::dynamodb
