#include "aws/json_params.h"

namespace nimbus::aws {

namespace json = boost::json;

Result<json::object, ApiError> parse_json_body(std::string_view body) {
  if (body.empty()) return json::object{};
  json::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object())
    return fail(ApiError::make(400, "SerializationException",
                               "Start of structure or map found where not expected."));
  return std::move(v.get_object());
}

http::Response json_answer(Protocol protocol, const json::object& body,
                           std::string_view request_id) {
  auto resp = http::Response::json(200, json::serialize(body));
  resp.headers.set("Content-Type", protocol == Protocol::kJson10 ? "application/x-amz-json-1.0"
                                                                 : "application/x-amz-json-1.1");
  resp.headers.set("x-amzn-RequestId", std::string(request_id));
  return resp;
}

const json::value* JsonParams::member(std::string_view name, bool ok_kind(const json::value&)) {
  auto it = o_.find(name);
  if (it == o_.end() || it->value().is_null()) return nullptr;
  if (!ok_kind(it->value())) {
    set_error(ApiError::make(400, "SerializationException",
                             "Unexpected value type for '" + std::string(name) + "'"));
    return nullptr;
  }
  return &it->value();
}

std::optional<std::string> JsonParams::str(std::string_view name) {
  auto* v = member(name, [](const json::value& v) { return v.is_string(); });
  if (!v) return std::nullopt;
  return std::string(v->get_string());
}

std::optional<int64_t> JsonParams::int64(std::string_view name) {
  auto* v = member(name, [](const json::value& v) { return v.is_number(); });
  if (!v) return std::nullopt;
  json::error_code ec;
  auto n = v->to_number<int64_t>(ec);
  if (ec) {
    set_error(ApiError::make(400, "SerializationException",
                             "Value for '" + std::string(name) + "' is not an integer"));
    return std::nullopt;
  }
  return n;
}

std::optional<double> JsonParams::number(std::string_view name) {
  auto* v = member(name, [](const json::value& v) { return v.is_number(); });
  if (!v) return std::nullopt;
  return v->to_number<double>();
}

std::optional<bool> JsonParams::boolean(std::string_view name) {
  auto* v = member(name, [](const json::value& v) { return v.is_bool(); });
  if (!v) return std::nullopt;
  return v->get_bool();
}

const json::array* JsonParams::array(std::string_view name) {
  auto* v = member(name, [](const json::value& v) { return v.is_array(); });
  return v ? &v->get_array() : nullptr;
}

const json::object* JsonParams::object(std::string_view name) {
  auto* v = member(name, [](const json::value& v) { return v.is_object(); });
  return v ? &v->get_object() : nullptr;
}

std::optional<std::vector<std::string>> JsonParams::strings(std::string_view name) {
  auto* a = array(name);
  if (!a) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& v : *a) {
    if (!v.is_string()) {
      set_error(ApiError::make(400, "SerializationException",
                               "Unexpected value type in '" + std::string(name) + "'"));
      return std::nullopt;
    }
    out.emplace_back(v.get_string());
  }
  return out;
}

ApiError JsonParams::constraint(std::string_view detail) const {
  return ApiError::make(400, constraint_code_,
                        "1 validation error detected: " + std::string(detail));
}

std::string JsonParams::required(std::string_view name) {
  auto s = str(name);
  if (!s) {
    set_error(constraint("Value null at '" + std::string(name) +
                         "' failed to satisfy constraint: Member must not be null"));
    return {};
  }
  return *s;
}

}  // namespace nimbus::aws
