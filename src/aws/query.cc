#include "aws/query.h"

#include <chrono>
#include <cstdio>

#include "aws/protocol.h"

namespace nimbus::aws::query {
namespace {

std::optional<int64_t> parse_index(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::optional<int64_t> parse_int64(std::string_view s) {
  bool neg = !s.empty() && s.front() == '-';
  if (neg) s.remove_prefix(1);
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return neg ? -v : v;
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

}  // namespace

Params Params::parse(const http::Request& request) {
  Params p;
  auto content_type = request.headers.get_or("Content-Type");
  bool form = content_type.empty() ||
              content_type.find("application/x-www-form-urlencoded") != std::string::npos;
  if (form)
    for (auto& [k, v] : http::parse_query(request.body))
      p.values_.emplace(std::move(k), std::move(v));
  for (auto& [k, v] : http::parse_query(request.query))
    p.values_.emplace(std::move(k), std::move(v));
  return p;
}

Params Params::from_pairs(const std::vector<std::pair<std::string, std::string>>& pairs) {
  Params p;
  for (const auto& [k, v] : pairs) p.values_.emplace(k, v);
  return p;
}

std::optional<std::string_view> Params::get(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::string_view Params::get_or_empty(std::string_view name) const {
  auto v = get(name);
  return v ? *v : std::string_view{};
}

std::string Params::get_or(std::string_view name, std::string_view fallback) const {
  auto v = get(name);
  return std::string(v ? *v : fallback);
}

std::map<int64_t, std::map<std::string, std::string>> Params::indexed(
    std::string_view prefix) const {
  std::map<int64_t, std::map<std::string, std::string>> out;
  for (auto it = values_.lower_bound(prefix);
       it != values_.end() && std::string_view(it->first).substr(0, prefix.size()) == prefix;
       ++it) {
    std::string_view rest = std::string_view(it->first).substr(prefix.size());
    auto dot = rest.find('.');
    auto index = parse_index(rest.substr(0, dot));
    if (!index) continue;
    std::string field = dot == std::string_view::npos ? "" : std::string(rest.substr(dot + 1));
    out[*index][field] = it->second;
  }
  return out;
}

std::vector<std::string> Params::get_list(std::string_view name) const {
  std::vector<std::string> out;
  auto items = indexed(std::string(name) + ".member.");
  if (items.empty()) items = indexed(std::string(name) + ".");  // flattened lists
  for (auto& [i, fields] : items)
    if (auto it = fields.find(""); it != fields.end()) out.push_back(it->second);
  return out;
}

std::vector<std::map<std::string, std::string>> Params::get_struct_list(
    std::string_view name) const {
  std::vector<std::map<std::string, std::string>> out;
  for (auto& [i, fields] : indexed(std::string(name) + ".member."))
    out.push_back(std::move(fields));
  return out;
}

std::vector<std::pair<std::string, std::string>> Params::get_map(
    std::string_view name, std::string_view key_name, std::string_view value_name) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [i, fields] : indexed(std::string(name) + ".entry.")) {
    auto k = fields.find(std::string(key_name));
    if (k == fields.end()) continue;
    auto v = fields.find(std::string(value_name));
    out.emplace_back(k->second, v == fields.end() ? std::string() : v->second);
  }
  return out;
}

std::string member_name(std::string_view parameter) {
  std::string out(parameter);
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z')
    out[0] = static_cast<char>(out[0] - 'A' + 'a');
  return out;
}

bool is_name_chars(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void Validation::add(std::optional<std::string_view> value, std::string_view member,
                     std::string_view constraint) {
  std::string v = value ? "'" + std::string(*value) + "'" : "null";
  errors_.push_back("Value " + v + " at '" + std::string(member) +
                    "' failed to satisfy constraint: " + std::string(constraint));
}

void Validation::require(const Params& params, std::string_view name) {
  if (!params.has(name)) add(std::nullopt, member_name(name), "Member must not be null");
}

void Validation::length(const Params& params, std::string_view name, size_t min, size_t max) {
  auto v = params.get(name);
  if (!v) return;
  size_t n = utf8_length(*v);
  if (n < min)
    add(v, member_name(name),
        "Member must have length greater than or equal to " + std::to_string(min));
  else if (n > max)
    add(v, member_name(name),
        "Member must have length less than or equal to " + std::to_string(max));
}

void Validation::name_pattern(const Params& params, std::string_view name,
                              std::string_view pattern_text) {
  auto v = params.get(name);
  if (v && !is_name_chars(*v))
    add(v, member_name(name),
        "Member must satisfy regular expression pattern: " + std::string(pattern_text));
}

void Validation::integer(const Params& params, std::string_view name, int64_t min, int64_t max,
                         int64_t* out) {
  auto v = params.get(name);
  if (!v) return;
  auto n = parse_int64(*v);
  if (!n)
    add(v, member_name(name), "Member must be a number");
  else if (*n < min)
    add(v, member_name(name),
        "Member must have value greater than or equal to " + std::to_string(min));
  else if (*n > max)
    add(v, member_name(name),
        "Member must have value less than or equal to " + std::to_string(max));
  else if (out)
    *out = *n;
}

ApiError Validation::error() const {
  std::string msg =
      std::to_string(errors_.size()) +
      (errors_.size() == 1 ? " validation error detected: " : " validation errors detected: ");
  for (size_t i = 0; i < errors_.size(); ++i) {
    if (i) msg += "; ";
    msg += errors_[i];
  }
  return ApiError::make(400, "ValidationError", std::move(msg));
}

XmlWriter& XmlWriter::open(std::string_view name) {
  out_ += '<';
  out_ += name;
  out_ += '>';
  return *this;
}

XmlWriter& XmlWriter::close(std::string_view name) {
  out_ += "</";
  out_ += name;
  out_ += '>';
  return *this;
}

XmlWriter& XmlWriter::element(std::string_view name, std::string_view text) {
  open(name);
  out_ += xml_escape(text);
  return close(name);
}

XmlWriter& XmlWriter::element(std::string_view name, int64_t value) {
  return element(name, std::string_view(std::to_string(value)));
}

XmlWriter& XmlWriter::boolean(std::string_view name, bool value) {
  return element(name, value ? std::string_view("true") : std::string_view("false"));
}

XmlWriter& XmlWriter::optional(std::string_view name, std::string_view text) {
  return text.empty() ? *this : element(name, text);
}

XmlWriter& XmlWriter::raw(std::string_view xml) {
  out_ += xml;
  return *this;
}

http::Response response(std::string_view action, std::string_view xmlns,
                        std::optional<std::string_view> result_xml, std::string_view request_id) {
  std::string a(action);
  XmlWriter w;
  w.raw("<" + a + "Response xmlns=\"" + xml_escape(xmlns) + "\">");
  if (result_xml) w.open(a + "Result").raw(*result_xml).close(a + "Result");
  w.open("ResponseMetadata").element("RequestId", request_id).close("ResponseMetadata");
  w.close(a + "Response");
  http::Response r;
  r.status = 200;
  r.headers.set("Content-Type", "text/xml");
  r.headers.set("x-amzn-RequestId", std::string(request_id));
  r.body = w.take();
  return r;
}

http::Response error_response(const ApiError& e, std::string_view request_id,
                              std::string_view xmlns) {
  XmlWriter w;
  w.raw("<ErrorResponse xmlns=\"" + xml_escape(xmlns) + "\">")
      .open("Error")
      .element("Type", e.sender_fault ? "Sender" : "Receiver")
      .element("Code", e.code)
      .element("Message", e.message)
      .close("Error")
      .element("RequestId", request_id)
      .close("ErrorResponse");
  http::Response r;
  r.status = e.status;
  r.headers.set("Content-Type", "text/xml");
  r.headers.set("x-amzn-RequestId", std::string(request_id));
  r.body = w.take();
  return r;
}

std::string iso8601(int64_t epoch_ms) {
  using namespace std::chrono;
  int64_t secs = epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  year_month_day ymd{sys_days(std::chrono::days(days))};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                static_cast<int>(rem % 60));
  return buf;
}

}  // namespace nimbus::aws::query
