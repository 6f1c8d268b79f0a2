// Deployment: a SAM function's DynamoDB events, each an event source mapping
// (SAM's AWS::Lambda::EventSourceMapping, logical id <Function><Event>) made
// through Lambda's own API.
//
// As CloudFormation does: the settings Lambda updates in place (BatchSize,
// batching window, retries, record age, bisecting, response types, Enabled)
// are updated with UpdateEventSourceMapping; a new stream (another table, or
// its stream enabled again) is a new mapping, the old one deleted once the
// whole deploy succeeded; a new StartingPosition replaces the mapping too, but
// the old one goes first, as Lambda keeps one mapping per function and source.
// A failed deploy deletes the mappings it created and restores the ones it
// changed or deleted.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <thread>

#include "deploy/deployment.h"

namespace nimbus::deploy::detail {

namespace {

constexpr std::string_view kMappingType = "AWS::Lambda::EventSourceMapping";
constexpr std::string_view kMappingsPath = "/2015-03-31/event-source-mappings/";

MappingSettings settings_of_event(const sam::DynamoDbEvent& ev) {
  return MappingSettings{ev.batch_size,
                         ev.maximum_batching_window,
                         ev.maximum_record_age,
                         ev.maximum_retry_attempts,
                         ev.bisect_batch_on_function_error,
                         ev.function_response_types,
                         ev.enabled};
}

// An EventSourceMappingConfiguration's settings.
MappingSettings settings_of_configuration(const json::object& c) {
  MappingSettings s;
  s.batch_size = num(c, "BatchSize").value_or(s.batch_size);
  s.maximum_batching_window =
      num(c, "MaximumBatchingWindowInSeconds").value_or(s.maximum_batching_window);
  s.maximum_record_age = num(c, "MaximumRecordAgeInSeconds").value_or(s.maximum_record_age);
  s.maximum_retry_attempts = num(c, "MaximumRetryAttempts").value_or(s.maximum_retry_attempts);
  if (auto* b = c.if_contains("BisectBatchOnFunctionError"); b && b->is_bool())
    s.bisect_batch_on_function_error = b->get_bool();
  s.function_response_types = strings(c, "FunctionResponseTypes");
  std::string state = str(c, "State");
  s.enabled = state != "Disabled" && state != "Disabling";
  return s;
}

// The members of a Create or Update request for `s`.
json::object settings_request(const MappingSettings& s) {
  json::array types;
  for (const auto& t : s.function_response_types) types.emplace_back(t);
  return json::object{{"BatchSize", s.batch_size},
                      {"MaximumBatchingWindowInSeconds", s.maximum_batching_window},
                      {"MaximumRecordAgeInSeconds", s.maximum_record_age},
                      {"MaximumRetryAttempts", s.maximum_retry_attempts},
                      {"BisectBatchOnFunctionError", s.bisect_batch_on_function_error},
                      {"FunctionResponseTypes", std::move(types)},
                      {"Enabled", s.enabled}};
}

std::string mapping_path(const std::string& uuid) {
  return std::string(kMappingsPath) + http::url_encode(uuid);
}

// "arn:aws:lambda:r:a:function:name[:qualifier]" → "name".
std::string function_name_of_arn(const std::string& arn) {
  auto at = arn.find(":function:");
  if (at == std::string::npos) return arn;
  std::string rest = arn.substr(at + 10);
  return rest.substr(0, rest.find(':'));
}

}  // namespace

bool Deployment::read_event_source_mappings() {
  for (const auto& [id, f] : existing_functions_) {
    std::string marker;
    do {
      std::string path = std::string(kMappingsPath) +
                         "?FunctionName=" + http::url_encode(f.state.name) +
                         (marker.empty() ? "" : "&Marker=" + http::url_encode(marker));
      auto r = aws_.call("lambda", "GET", path);
      if (!r) {
        // A server without event source mappings has none of the stack's: a
        // template without DynamoDB events still deploys.
        mappings_available_ = false;
        mappings_unavailable_reason_ = "ListEventSourceMappings answered " + r.error().to_string();
        return true;
      }
      const auto& body = obj(r.value());
      if (auto* list = body.if_contains("EventSourceMappings"); list && list->is_array())
        for (const auto& m : list->as_array()) {
          const auto& c = obj(m);
          existing_mappings_.push_back(ExistingMapping{
              str(c, "UUID"), function_name_of_arn(str(c, "FunctionArn")), str(c, "EventSourceArn"),
              str(c, "StartingPosition"), settings_of_configuration(c)});
        }
      marker = str(body, "NextMarker");
    } while (!marker.empty());
  }
  return true;
}

Result<void, std::string> Deployment::wait_for_mapping(const std::string& uuid, bool gone) {
  auto deadline = Clock::now() + std::chrono::seconds(60);
  for (;;) {
    auto g = aws_.call("lambda", "GET", mapping_path(uuid));
    if (!g && g.error().not_found() && gone) return {};
    if (!g) return fail("GetEventSourceMapping: " + g.error().to_string());
    std::string state = str(obj(g.value()), "State");
    if (!gone && (state == "Enabled" || state == "Disabled")) return {};
    if (Clock::now() > deadline)
      return fail(fmt::format("timed out waiting for event source mapping {} ({})", uuid, state));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result<std::string, std::string> Deployment::create_mapping(
    const std::string& function_name, const std::string& event_source_arn,
    const std::string& starting_position, const MappingSettings& settings,
    const std::function<void(const std::string& uuid)>& requested) {
  json::object req = settings_request(settings);
  req["FunctionName"] = function_name;
  req["EventSourceArn"] = event_source_arn;
  req["StartingPosition"] = starting_position;
  auto c = aws_.call("lambda", "POST", std::string(kMappingsPath), json::serialize(req));
  if (!c) return fail("CreateEventSourceMapping: " + c.error().to_string());
  std::string uuid = str(obj(c.value()), "UUID");
  if (requested) requested(uuid);
  if (auto w = wait_for_mapping(uuid, false); !w) return fail(w.error());
  return uuid;
}

Result<void, std::string> Deployment::update_mapping(const std::string& uuid,
                                                     const MappingSettings& settings) {
  auto u =
      aws_.call("lambda", "PUT", mapping_path(uuid), json::serialize(settings_request(settings)));
  if (!u) return fail("UpdateEventSourceMapping: " + u.error().to_string());
  return wait_for_mapping(uuid, false);
}

Result<void, std::string> Deployment::delete_mapping(const std::string& uuid) {
  auto d = aws_.call("lambda", "DELETE", mapping_path(uuid));
  if (!d && d.error().not_found()) return {};
  if (!d) return fail("DeleteEventSourceMapping: " + d.error().to_string());
  return wait_for_mapping(uuid, true);
}

Result<void, StepError> Deployment::apply_dynamodb_events(const Resource& r) {
  for (const auto& ev : functions_.at(r.logical_id).dynamodb_events) {
    const std::string logical_id = r.logical_id + ev.name;
    const std::string where = ev.mark.line > 0 ? fmt::format(" ({}:{}:{})", ev.mark.file_name(),
                                                             ev.mark.line, ev.mark.column)
                                               : std::string();
    if (!mappings_available_)
      return fail(
          StepError{fmt::format("{} {}{}: the server does not implement event source mappings ({})",
                                kMappingType, logical_id, where, mappings_unavailable_reason_)});
    if (auto m = apply_dynamodb_event(ev, logical_id, values_.at(r.logical_id).ref); !m)
      return fail(StepError{
          fmt::format("{} {}{}: {}", kMappingType, logical_id, where, m.error().message)});
  }
  return {};
}

Result<void, StepError> Deployment::apply_dynamodb_event(const sam::DynamoDbEvent& ev,
                                                         const std::string& logical_id,
                                                         const std::string& function_name) {
  const std::string type(kMappingType);
  const MappingSettings want = settings_of_event(ev);
  const ExistingMapping* cur = nullptr;
  for (const auto& m : existing_mappings_)
    if (m.function_name == function_name && m.event_source_arn == ev.stream &&
        !kept_mappings_.count(m.uuid))
      cur = &m;
  auto start = Clock::now();
  if (cur && cur->starting_position == ev.starting_position) {
    kept_mappings_.insert(cur->uuid);
    if (cur->settings == want) return {};
    ++changes_;
    progress("UPDATE_IN_PROGRESS", type, logical_id, start);
    // Journalled first: putting the previous settings back is harmless
    // whether or not the update was made.
    journal_.record(
        {"UPDATE_COMPLETE", type, logical_id,
         [this, uuid = cur->uuid, old = cur->settings]() { return update_mapping(uuid, old); }});
    if (auto u = update_mapping(cur->uuid, want); !u) return fail(StepError{u.error()});
    progress("UPDATE_COMPLETE", type, logical_id, start);
    return {};
  }
  ++changes_;
  if (cur) {
    // A new StartingPosition: Lambda allows one mapping per function and
    // stream, so the old one goes before its replacement comes (and comes
    // back, from its StartingPosition, if the deploy fails).
    kept_mappings_.insert(cur->uuid);
    progress("DELETE_IN_PROGRESS", type, logical_id, start);
    if (auto d = delete_mapping(cur->uuid); !d) return fail(StepError{d.error()});
    journal_.record(
        {"CREATE_COMPLETE", type, logical_id, [this, old = *cur]() -> Result<void, std::string> {
           auto c = create_mapping(old.function_name, old.event_source_arn, old.starting_position,
                                   old.settings);
           if (!c) return fail(c.error());
           return {};
         }});
    progress("DELETE_COMPLETE", type, logical_id, start);
  }
  progress("CREATE_IN_PROGRESS", type, logical_id, start);
  auto c = create_mapping(function_name, ev.stream, ev.starting_position, want,
                          [&](const std::string& uuid) {
                            record_delete(type, logical_id, "lambda", mapping_path(uuid));
                          });
  if (!c) return fail(StepError{c.error()});
  progress("CREATE_COMPLETE", type, logical_id, start);
  return {};
}

}  // namespace nimbus::deploy::detail
