#include "services/lambda/names.h"

#include <cctype>
#include <vector>

#include "base/text.h"

namespace nimbus::services::lambda {

namespace {

constexpr std::string_view kNamePattern =
    "Member must satisfy regular expression pattern: "
    "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?"
    "([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?";

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  for (char c : s)
    if (!pred(c)) return false;
  return true;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_region(std::string_view r) {
  // [a-z]{2}(-gov)?-[a-z]+-\d
  if (r.size() < 6 || !std::islower(static_cast<unsigned char>(r[0])) ||
      !std::islower(static_cast<unsigned char>(r[1])) || r[2] != '-')
    return false;
  if (!is_digit(r.back()) || r[r.size() - 2] != '-') return false;
  auto mid = r.substr(3, r.size() - 5);
  if (mid.starts_with("gov-")) mid.remove_prefix(4);
  if (mid.empty()) return false;
  for (char c : mid)
    if (!std::islower(static_cast<unsigned char>(c))) return false;
  return true;
}

constexpr std::string_view kLayerVersionArnPattern =
    "Member must satisfy regular expression pattern: "
    "arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+";
constexpr std::string_view kLayerNamePattern =
    "Member must satisfy regular expression pattern: "
    "(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+";

bool is_arn_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
}

// "arn:P:lambda:R:ACCOUNT:layer:NAME" as split parts (the first 7).
bool layer_arn_prefix(const std::vector<std::string_view>& parts) {
  return parts.size() >= 7 && parts[0] == "arn" && !parts[1].empty() &&
         all_of(parts[1], is_arn_word_char) && parts[2] == "lambda" && !parts[3].empty() &&
         all_of(parts[3], is_arn_word_char) && parts[4].size() == 12 &&
         all_of(parts[4], is_digit) && parts[5] == "layer" && !parts[6].empty() &&
         all_of(parts[6], is_name_char);
}

bool valid_qualifier(std::string_view q) {
  return q == "$LATEST" || (!q.empty() && q.size() <= 128 && all_of(q, is_name_char));
}

}  // namespace

aws::ApiError constraint_error(std::string_view value, std::string_view member,
                               std::string_view constraint) {
  return aws::ApiError::validation("1 validation error detected: Value '" + std::string(value) +
                                   "' at '" + std::string(member) +
                                   "' failed to satisfy constraint: " + std::string(constraint));
}

Result<FunctionRef, aws::ApiError> parse_function_ref_with_qualifier(
    std::string_view input, std::string_view query_qualifier) {
  auto ref = parse_function_ref(input);
  if (!ref || query_qualifier.empty()) return ref;
  if (!ref->qualifier.empty() && ref->qualifier != query_qualifier)
    return fail(aws::ApiError::invalid_parameter(
        "The derived qualifier from the function name does not match the specified qualifier."));
  ref->qualifier = std::string(query_qualifier);
  return ref;
}

Result<FunctionRef, aws::ApiError> parse_function_ref(std::string_view input,
                                                      std::string_view member) {
  auto bad = [&] { return fail(constraint_error(input, member, kNamePattern)); };
  if (input.empty() || input.size() > 170) return bad();
  FunctionRef ref;
  auto parts = split(input, ':');
  // Forms: NAME[:Q] | ACCOUNT:function:NAME[:Q] |
  // arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:Q]
  size_t i = 0;
  if (parts[0] == "arn") {
    if (parts.size() < 7 || !parts[1].starts_with("aws") || parts[2] != "lambda" ||
        !is_region(parts[3]))
      return bad();
    ref.region = std::string(parts[3]);
    i = 4;
  }
  if (parts.size() - i >= 3 && parts[i + 1] == "function") {
    if (parts[i].size() != 12 || !all_of(parts[i], is_digit)) return bad();
    ref.account_id = std::string(parts[i]);
    i += 2;
  } else if (i != 0) {
    return bad();
  }
  if (i >= parts.size()) return bad();
  std::string_view name = parts[i];
  if (name.empty() || name.size() > 64 || !all_of(name, is_name_char)) return bad();
  ref.name = std::string(name);
  if (i + 1 < parts.size()) {
    if (i + 2 != parts.size() || !valid_qualifier(parts[i + 1])) return bad();
    ref.qualifier = std::string(parts[i + 1]);
  }
  return ref;
}

Result<LayerVersionRef, aws::ApiError> parse_layer_version_arn(std::string_view arn,
                                                               std::string_view member) {
  auto parts = split(arn, ':');
  if (arn.size() > 140 || parts.size() != 8 || !layer_arn_prefix(parts) || parts[7].empty() ||
      parts[7].size() > 9 || !all_of(parts[7], is_digit))
    return fail(constraint_error(arn, member, kLayerVersionArnPattern));
  LayerVersionRef ref{std::string(parts[3]), std::string(parts[4]), std::string(parts[6]), 0};
  for (char c : parts[7]) ref.version = ref.version * 10 + (c - '0');
  return ref;
}

Result<std::string, aws::ApiError> parse_layer_name(std::string_view input) {
  auto bad = [&] { return fail(constraint_error(input, "layerName", kLayerNamePattern)); };
  if (input.empty() || input.size() > 140) return bad();
  auto parts = split(input, ':');
  if (parts.size() == 1) {
    if (!all_of(input, is_name_char)) return bad();
    return std::string(input);
  }
  if (parts.size() != 7 || !layer_arn_prefix(parts)) return bad();
  return std::string(parts[6]);
}

std::string layer_arn(std::string_view region, std::string_view account, std::string_view name,
                      int version) {
  std::string arn = "arn:aws:lambda:" + std::string(region) + ":" + std::string(account) +
                    ":layer:" + std::string(name);
  if (version > 0) arn += ":" + std::to_string(version);
  return arn;
}

std::string function_arn(std::string_view region, std::string_view account, std::string_view name,
                         std::string_view qualifier) {
  std::string arn = "arn:aws:lambda:" + std::string(region) + ":" + std::string(account) +
                    ":function:" + std::string(name);
  if (!qualifier.empty()) arn += ":" + std::string(qualifier);
  return arn;
}

bool is_version_number(std::string_view q) {
  return !q.empty() && q.size() <= 10 && all_of(q, is_digit) && q[0] != '0';
}

bool is_valid_alias_name(std::string_view q) {
  return !q.empty() && q.size() <= 128 && all_of(q, is_name_char) && !all_of(q, is_digit);
}

bool is_valid_role_arn(std::string_view role) {
  // arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+
  auto parts = split(role, ':');
  if (parts.size() != 6 || parts[0] != "arn" || !parts[1].starts_with("aws") || parts[2] != "iam" ||
      !parts[3].empty() || parts[4].size() != 12 || !all_of(parts[4], is_digit))
    return false;
  std::string_view res = parts[5];
  if (!res.starts_with("role")) return false;
  res.remove_prefix(4);
  if (res.starts_with("/")) res.remove_prefix(1);
  if (res.empty()) return false;
  for (char c : res)
    if (!(std::isalnum(static_cast<unsigned char>(c)) ||
          std::string_view("_+=,.@-/").find(c) != std::string_view::npos))
      return false;
  return true;
}

}  // namespace nimbus::services::lambda
