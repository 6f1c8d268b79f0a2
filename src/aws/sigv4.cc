#include "aws/sigv4.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

#include "base/ids.h"
#include "base/text.h"

namespace nimbus::aws::sigv4 {
namespace {

constexpr std::string_view kMismatchMessage =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Splits on `sep`, keeping empty pieces.
// botocore's _header_value: ' '.join(value.split()).
std::string collapse_whitespace(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (char c : trim(v)) {
    if (is_space(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

// Finds a raw (still encoded) query parameter by its exact name.
std::optional<std::string_view> raw_query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = part.find('=');
    if (part.substr(0, eq) == name)
      return eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
  }
  return std::nullopt;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  auto raw = raw_query_param(query, name);
  if (!raw) return std::nullopt;
  return http::url_decode(*raw);
}

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::optional<int64_t> parse_int(std::string_view s) {
  if (s.empty() || s.size() > 12) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// S3 signs the path as sent and presigned S3 URLs carry no payload hash;
// every other service follows botocore's SigV4Auth.
bool is_s3(const SignedRequest& sr) {
  return sr.scope.service == "s3";
}

// botocore.utils.remove_dot_segments: resolves "." and "..", drops empty
// segments (AWS wants consecutive slashes collapsed), keeps edge slashes.
std::string remove_dot_segments(std::string_view path) {
  if (path.empty()) return {};
  std::vector<std::string_view> out;
  for (auto seg : split(path, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else {
      out.push_back(seg);
    }
  }
  std::string result = path.front() == '/' ? "/" : "";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i) result += '/';
    result += out[i];
  }
  if (path.back() == '/' && !out.empty()) result += '/';
  return result;
}

AuthError incomplete(std::string message) {
  return AuthError{AuthFailure::kIncomplete, std::move(message)};
}

Result<SignedRequest, AuthError> parse_presigned(const http::Request& req) {
  std::string_view q = req.query;
  auto algorithm = query_param(q, "X-Amz-Algorithm");
  if (!algorithm || *algorithm != kAlgorithm)
    return fail(incomplete("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""));
  std::string missing;
  for (std::string_view name : {"X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders",
                                "X-Amz-Date", "X-Amz-Expires"})
    if (!raw_query_param(q, name))
      missing += "AWS query-string parameters must include '" + std::string(name) + "'. ";
  if (!missing.empty())
    return fail(incomplete(missing + "Re-examine the query-string parameters."));

  SignedRequest sr;
  sr.presigned = true;
  auto scope = parse_credential(*query_param(q, "X-Amz-Credential"));
  if (!scope) return fail(incomplete("Error parsing the X-Amz-Credential parameter"));
  sr.scope = std::move(*scope);
  sr.signature = ascii_lower(*query_param(q, "X-Amz-Signature"));
  const std::string signed_headers = *query_param(q, "X-Amz-SignedHeaders");
  for (auto h : split(signed_headers, ';'))
    if (!h.empty()) sr.signed_headers.push_back(ascii_lower(h));
  sr.amz_date = *query_param(q, "X-Amz-Date");
  auto expires = parse_int(*query_param(q, "X-Amz-Expires"));
  if (!expires || *expires < 1 || *expires > kMaxPresignExpires)
    return fail(incomplete("X-Amz-Expires must be less than a week (in seconds) that is 604800"));
  sr.expires_seconds = *expires;
  sr.security_token = query_param(q, "X-Amz-Security-Token").value_or("");
  return sr;
}

std::string date_window_message(std::string_view prefix, std::string_view date,
                                std::string_view relation, int64_t bound, int64_t now,
                                std::string_view sign, std::string_view amount) {
  return std::string(prefix) + ": " + std::string(date) + " " + std::string(relation) + " " +
         format_amz_date(bound) + " (" + format_amz_date(now) + " " + std::string(sign) + " " +
         std::string(amount) + ")";
}

// The time window: X-Amz-Date within 15 minutes of now; presigned requests
// additionally expire X-Amz-Expires seconds after X-Amz-Date.
Result<void, AuthError> check_time(const SignedRequest& sr, int64_t now) {
  auto signed_at = parse_amz_date(sr.amz_date);
  if (!signed_at)
    return fail(incomplete("Date must be in ISO-8601 'basic format'. Got '" + sr.amz_date +
                           "'. See http://en.wikipedia.org/wiki/ISO_8601"));
  if (*signed_at > now + kMaxSkewSeconds)
    return fail(AuthError{
        AuthFailure::kNotYetCurrent,
        date_window_message("Signature not yet current", sr.amz_date, "is still later than",
                            now + kMaxSkewSeconds, now, "+", "15 min.")});
  if (sr.presigned) {
    if (now > *signed_at + sr.expires_seconds)
      return fail(
          AuthError{AuthFailure::kExpired,
                    date_window_message("Signature expired", sr.amz_date, "is now earlier than",
                                        now - sr.expires_seconds, now, "-",
                                        std::to_string(sr.expires_seconds) + " sec.")});
  } else if (*signed_at < now - kMaxSkewSeconds) {
    return fail(
        AuthError{AuthFailure::kExpired,
                  date_window_message("Signature expired", sr.amz_date, "is now earlier than",
                                      now - kMaxSkewSeconds, now, "-", "15 min.")});
  }
  return {};
}

std::string payload_hash(const http::Request& req, const SignedRequest& sr) {
  if (auto h = req.headers.get("x-amz-content-sha256")) return std::string(*h);
  if (sr.presigned && is_s3(sr)) return "UNSIGNED-PAYLOAD";
  return sha256_hex(req.body);
}

}  // namespace

std::optional<CredentialScope> parse_credential(std::string_view credential) {
  auto parts = split(credential, '/');
  if (parts.size() != 5 || parts[4] != "aws4_request") return std::nullopt;
  for (auto p : parts)
    if (p.empty()) return std::nullopt;
  return CredentialScope{std::string(parts[0]), std::string(parts[1]), std::string(parts[2]),
                         std::string(parts[3])};
}

std::optional<SignedRequest> parse_authorization(std::string_view value) {
  value = trim(value);
  if (value.substr(0, kAlgorithm.size()) != kAlgorithm) return std::nullopt;
  value.remove_prefix(kAlgorithm.size());
  if (value.empty() || !is_space(value.front())) return std::nullopt;

  SignedRequest sr;
  bool have_credential = false, have_headers = false, have_signature = false;
  for (auto component : split(value, ',')) {
    component = trim(component);
    auto eq = component.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    auto key = component.substr(0, eq);
    auto val = component.substr(eq + 1);
    if (key == "Credential") {
      auto scope = parse_credential(val);
      if (!scope) return std::nullopt;
      sr.scope = std::move(*scope);
      have_credential = true;
    } else if (key == "SignedHeaders") {
      for (auto h : split(val, ';'))
        if (!h.empty()) sr.signed_headers.push_back(ascii_lower(h));
      have_headers = !sr.signed_headers.empty();
    } else if (key == "Signature") {
      sr.signature = ascii_lower(val);
      have_signature = !val.empty();
    }
  }
  if (!have_credential || !have_headers || !have_signature) return std::nullopt;
  return sr;
}

std::optional<CredentialScope> credential_scope(const http::Request& request) {
  if (auto auth = request.headers.get("Authorization")) {
    // Only the Credential component is needed; avoid parsing the rest.
    auto pos = auth->find("Credential=");
    if (pos == std::string_view::npos) return std::nullopt;
    auto rest = auth->substr(pos + 11);
    auto end = rest.find_first_of(", ");
    return parse_credential(rest.substr(0, end));
  }
  if (auto raw = raw_query_param(request.query, "X-Amz-Credential"))
    return parse_credential(http::url_decode(*raw));
  return std::nullopt;
}

Result<SignedRequest, AuthError> parse_signed_request(const http::Request& req) {
  auto auth = req.headers.get("Authorization");
  if (!auth) {
    if (raw_query_param(req.query, "X-Amz-Algorithm") ||
        raw_query_param(req.query, "X-Amz-Credential"))
      return parse_presigned(req);
    return fail(AuthError{AuthFailure::kMissing, "Missing Authentication Token"});
  }
  auto sr = parse_authorization(*auth);
  if (!sr) {
    std::string header(*auth);
    if (trim(header).substr(0, kAlgorithm.size()) != kAlgorithm)
      return fail(
          incomplete("Authorization header requires the AWS4-HMAC-SHA256 algorithm. "
                     "Authorization=" +
                     header));
    return fail(incomplete(
        "Authorization header requires 'Credential' parameter. Authorization header requires "
        "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        "Authorization=" +
        header));
  }
  auto date = req.headers.get("X-Amz-Date");
  if (!date)
    return fail(incomplete(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."));
  sr->amz_date = std::string(*date);
  sr->security_token = req.headers.get_or("X-Amz-Security-Token");
  return std::move(*sr);
}

std::string canonical_uri(std::string_view raw_path) {
  if (raw_path.empty()) return "/";
  return http::url_encode(remove_dot_segments(raw_path), /*encode_slash=*/false);
}

std::string canonical_query(std::string_view raw_query, bool drop_signature) {
  // Decode then re-encode each component so every client's encoding choices
  // (lowercase hex, unencoded '/') reach the same canonical form botocore
  // produces with percent_encode_sequence.
  std::vector<std::pair<std::string, std::string>> pairs;
  for (auto part : split(raw_query, '&')) {
    if (part.empty()) continue;
    auto eq = part.find('=');
    std::string key = http::url_decode(part.substr(0, eq));
    if (drop_signature && key == "X-Amz-Signature") continue;
    std::string value =
        eq == std::string_view::npos ? std::string() : http::url_decode(part.substr(eq + 1));
    pairs.emplace_back(http::url_encode(key), http::url_encode(value));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string canonical_request(const http::Request& req, const SignedRequest& sr) {
  std::vector<std::string> names = sr.signed_headers;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());

  std::string out = req.method;
  out += '\n';
  out += is_s3(sr) ? (req.path.empty() ? std::string("/") : req.path) : canonical_uri(req.path);
  out += '\n';
  out += canonical_query(req.query, sr.presigned);
  out += '\n';
  for (const auto& name : names) {
    std::string joined;
    bool first = true;
    for (const auto& [k, v] : req.headers.all()) {
      if (!http::iequals(k, name)) continue;
      if (!first) joined += ',';
      joined += collapse_whitespace(v);
      first = false;
    }
    out += name;
    out += ':';
    out += joined;
    out += '\n';
  }
  out += '\n';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ';';
    out += names[i];
  }
  out += '\n';
  out += payload_hash(req, sr);
  return out;
}

std::string string_to_sign(const SignedRequest& sr, std::string_view canonical) {
  const auto& s = sr.scope;
  return std::string(kAlgorithm) + "\n" + sr.amz_date + "\n" + s.date + "/" + s.region + "/" +
         s.service + "/aws4_request\n" + sha256_hex(canonical);
}

std::string signing_key(std::string_view secret_key, const CredentialScope& scope) {
  std::string k = hmac_sha256("AWS4" + std::string(secret_key), scope.date);
  k = hmac_sha256(k, scope.region);
  k = hmac_sha256(k, scope.service);
  return hmac_sha256(k, "aws4_request");
}

namespace {
std::string signature_with_key(const http::Request& req, const SignedRequest& sr,
                               std::string_view key) {
  return hex_encode(hmac_sha256(key, string_to_sign(sr, canonical_request(req, sr))));
}
}  // namespace

std::string compute_signature(const http::Request& req, const SignedRequest& sr,
                              std::string_view secret_key) {
  return signature_with_key(req, sr, signing_key(secret_key, sr.scope));
}

void sign(http::Request& req, std::string_view access_key, std::string_view secret_key,
          std::string_view region, std::string_view service, int64_t now_s,
          std::string_view session_token) {
  SignedRequest sr;
  sr.amz_date = format_amz_date(now_s);
  req.headers.set("X-Amz-Date", sr.amz_date);
  if (!session_token.empty()) req.headers.set("X-Amz-Security-Token", std::string(session_token));
  sr.scope = CredentialScope{std::string(access_key), sr.amz_date.substr(0, 8), std::string(region),
                             std::string(service)};
  for (const auto& [name, value] : req.headers.all()) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower != "authorization") sr.signed_headers.push_back(std::move(lower));
  }
  std::sort(sr.signed_headers.begin(), sr.signed_headers.end());
  sr.signed_headers.erase(std::unique(sr.signed_headers.begin(), sr.signed_headers.end()),
                          sr.signed_headers.end());
  std::string signed_list;
  for (const auto& h : sr.signed_headers) signed_list += (signed_list.empty() ? "" : ";") + h;
  std::string signature = compute_signature(req, sr, secret_key);
  req.headers.set("Authorization",
                  std::string(kAlgorithm) + " Credential=" + std::string(access_key) + "/" +
                      sr.scope.date + "/" + sr.scope.region + "/" + sr.scope.service +
                      "/aws4_request, SignedHeaders=" + signed_list + ", Signature=" + signature);
}

std::optional<int64_t> parse_amz_date(std::string_view d) {
  if (d.size() != 16 || d[8] != 'T' || d[15] != 'Z') return std::nullopt;
  auto year = parse_int(d.substr(0, 4)), month = parse_int(d.substr(4, 2)),
       day = parse_int(d.substr(6, 2)), hh = parse_int(d.substr(9, 2)),
       mm = parse_int(d.substr(11, 2)), ss = parse_int(d.substr(13, 2));
  if (!year || !month || !day || !hh || !mm || !ss) return std::nullopt;
  using namespace std::chrono;
  year_month_day ymd{std::chrono::year(static_cast<int>(*year)),
                     std::chrono::month(static_cast<unsigned>(*month)),
                     std::chrono::day(static_cast<unsigned>(*day))};
  if (!ymd.ok() || *hh > 23 || *mm > 59 || *ss > 60) return std::nullopt;
  int64_t days = sys_days(ymd).time_since_epoch().count();
  return days * 86400 + *hh * 3600 + *mm * 60 + *ss;
}

std::string format_amz_date(int64_t epoch_seconds) {
  using namespace std::chrono;
  int64_t days = epoch_seconds >= 0 ? epoch_seconds / 86400 : (epoch_seconds - 86399) / 86400;
  int64_t secs = epoch_seconds - days * 86400;
  year_month_day ymd{sys_days(std::chrono::days(days))};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                static_cast<int>(secs % 60));
  return buf;
}

Result<void, AuthError> check_signature(const http::Request& req, const SignedRequest& sr,
                                        std::string_view secret_key, int64_t now) {
  return check_signature_with_key(req, sr, signing_key(secret_key, sr.scope), now);
}

Result<void, AuthError> check_signature_with_key(const http::Request& req, const SignedRequest& sr,
                                                 std::string_view key, int64_t now) {
  if (auto t = check_time(sr, now); !t) return fail(t.take_error());
  if (sr.amz_date.substr(0, 8) != sr.scope.date)
    return fail(AuthError{AuthFailure::kMismatch,
                          "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
                          "of date from HTTP: '" +
                              sr.scope.date + "' != '" + sr.amz_date.substr(0, 8) + "', from '" +
                              sr.amz_date + "'."});
  // A declared payload hash is signed in place of the body, so the body must
  // match it or a tampered body would pass.
  if (auto declared = req.headers.get("x-amz-content-sha256"); declared && declared->size() == 64 &&
                                                               is_lower_hex(*declared) &&
                                                               *declared != sha256_hex(req.body))
    return fail(AuthError{AuthFailure::kMismatch,
                          "The provided 'x-amz-content-sha256' header does not match what was "
                          "computed."});
  std::string expected = signature_with_key(req, sr, key);
  if (expected.size() != sr.signature.size() ||
      CRYPTO_memcmp(expected.data(), sr.signature.data(), expected.size()) != 0)
    return fail(AuthError{AuthFailure::kMismatch, std::string(kMismatchMessage)});
  return {};
}

Result<void, ApiError> verify(const http::Request& req, std::string_view secret_key, int64_t now,
                              Protocol protocol) {
  auto sr = parse_signed_request(req);
  if (!sr) return fail(to_api_error(sr.error(), protocol));
  if (auto r = check_signature(req, *sr, secret_key, now); !r)
    return fail(to_api_error(r.error(), protocol));
  return {};
}

AuthError unknown_key_error() {
  return {AuthFailure::kUnknownKey, "The security token included in the request is invalid."};
}

AuthError expired_token_error() {
  return {AuthFailure::kExpiredToken, "The security token included in the request is expired"};
}

ApiError to_api_error(const AuthError& e, Protocol protocol) {
  const bool query = protocol == Protocol::kQuery;
  const bool s3 = protocol == Protocol::kRestXml;
  auto pick = [&](const char* json, const char* q, const char* xml) {
    return std::string(query ? q : s3 ? xml : json);
  };
  std::string code;
  switch (e.reason) {
    case AuthFailure::kMissing:
      code =
          pick("MissingAuthenticationTokenException", "MissingAuthenticationToken", "AccessDenied");
      break;
    case AuthFailure::kIncomplete:
      code = pick("IncompleteSignatureException", "IncompleteSignature",
                  "AuthorizationQueryParametersError");
      break;
    case AuthFailure::kMismatch:
    case AuthFailure::kNotYetCurrent:
      code = pick("InvalidSignatureException", "SignatureDoesNotMatch", "SignatureDoesNotMatch");
      break;
    case AuthFailure::kExpired:
      code = pick("InvalidSignatureException", "SignatureDoesNotMatch", "AccessDenied");
      break;
    case AuthFailure::kUnknownKey:
      code = pick("UnrecognizedClientException", "InvalidClientTokenId", "InvalidAccessKeyId");
      break;
    case AuthFailure::kExpiredToken:
      code = pick("ExpiredTokenException", "ExpiredToken", "ExpiredToken");
      break;
  }
  std::string message = e.message;
  if (query && e.reason == AuthFailure::kMissing)
    message = "Request is missing Authentication Token";
  if (s3 && e.reason == AuthFailure::kUnknownKey)
    message = "The AWS Access Key Id you provided does not exist in our records.";
  int status = s3 && e.reason == AuthFailure::kIncomplete ? 400 : 403;
  return ApiError::make(status, std::move(code), std::move(message));
}

}  // namespace nimbus::aws::sigv4
