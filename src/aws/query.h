// The AWS query protocol (STS, IAM): reading form-encoded parameters with their
// list/map flattening, and writing the XML envelopes and errors botocore parses.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/api_error.h"
#include "base/result.h"
#include "http/message.h"

namespace nimbus::aws::query {

inline constexpr std::string_view kStsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/";
inline constexpr std::string_view kIamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/";

// The decoded parameters of one request, by name ("Action", "RoleName",
// "Tags.member.1.Key", ...), from the form body and the query string.
class Params {
 public:
  // Reads the form-urlencoded body (POST) and the query string (GET and
  // presigned requests); on a duplicate name the body wins.
  static Params parse(const http::Request& request);
  static Params from_pairs(const std::vector<std::pair<std::string, std::string>>& pairs);

  std::string_view action() const { return get_or_empty("Action"); }
  std::string_view version() const { return get_or_empty("Version"); }

  bool has(std::string_view name) const { return values_.find(name) != values_.end(); }
  std::optional<std::string_view> get(std::string_view name) const;
  std::string_view get_or_empty(std::string_view name) const;
  std::string get_or(std::string_view name, std::string_view fallback) const;

  // "Name.member.N" scalars in index order (also the flattened "Name.N").
  std::vector<std::string> get_list(std::string_view name) const;
  // "Name.member.N.Field" structures in index order, each as Field -> value.
  std::vector<std::map<std::string, std::string>> get_struct_list(std::string_view name) const;
  // "Name.entry.N.key" / "Name.entry.N.value" maps in index order.
  std::vector<std::pair<std::string, std::string>> get_map(
      std::string_view name, std::string_view key_name = "key",
      std::string_view value_name = "value") const;

  const std::map<std::string, std::string, std::less<>>& all() const { return values_; }

 private:
  // Index N and the rest after "prefixN" for every parameter under `prefix`.
  std::map<int64_t, std::map<std::string, std::string>> indexed(std::string_view prefix) const;

  std::map<std::string, std::string, std::less<>> values_;
};

// Collects constraint violations and words them as AWS's request validation
// does: "1 validation error detected: Value 'x' at 'roleSessionName' failed to
// satisfy constraint: Member must ...", several joined by "; ".
class Validation {
 public:
  // `value` nullopt prints as "null". `member` is the lowerCamel member name.
  void add(std::optional<std::string_view> value, std::string_view member,
           std::string_view constraint);
  void require(const Params& params, std::string_view name);  // adds "must not be null"
  // Length, in characters (UTF-8 code points), between min and max.
  void length(const Params& params, std::string_view name, size_t min, size_t max);
  // Every character in "\w+=,.@-" (IAM and STS name patterns).
  void name_pattern(const Params& params, std::string_view name, std::string_view pattern_text);
  // Integer between min and max, stored into *out when valid.
  void integer(const Params& params, std::string_view name, int64_t min, int64_t max, int64_t* out);

  bool ok() const { return errors_.empty(); }
  ApiError error() const;  // 400 ValidationError

 private:
  std::vector<std::string> errors_;
};

// lowerCamel member name as AWS's validation messages show it ("RoleArn" ->
// "roleArn").
std::string member_name(std::string_view parameter);
// True when every character is in [A-Za-z0-9_+=,.@-] (the \w+=,.@- patterns).
bool is_name_chars(std::string_view s);

// Builds XML element content with escaping.
class XmlWriter {
 public:
  XmlWriter& open(std::string_view name);
  XmlWriter& close(std::string_view name);
  XmlWriter& element(std::string_view name, std::string_view text);
  XmlWriter& element(std::string_view name, int64_t value);
  XmlWriter& element(std::string_view name, const char* text) {
    return element(name, std::string_view(text));
  }
  XmlWriter& boolean(std::string_view name, bool value);
  // Writes the element only when text is non-empty (optional members).
  XmlWriter& optional(std::string_view name, std::string_view text);
  XmlWriter& raw(std::string_view xml);
  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// The success envelope: <{Action}Response xmlns><{Action}Result>result_xml
// </{Action}Result><ResponseMetadata><RequestId/></ResponseMetadata>. A
// nullopt result omits the Result element (operations without output).
http::Response response(std::string_view action, std::string_view xmlns,
                        std::optional<std::string_view> result_xml, std::string_view request_id);

// The error envelope with the service's own namespace (render_error in
// protocol.cc always uses IAM's; botocore reads Code and Message either way).
http::Response error_response(const ApiError& error, std::string_view request_id,
                              std::string_view xmlns);

// "2024-01-02T03:04:05Z" (seconds precision, as STS and IAM write dates).
std::string iso8601(int64_t epoch_ms);

}  // namespace nimbus::aws::query
