#include "aws/credentials.h"

#include <openssl/crypto.h>

#include <boost/json.hpp>
#include <fstream>
#include <mutex>
#include <sstream>

#include "aws/sigv4.h"
#include "base/ids.h"

namespace nimbus::aws {
namespace {

namespace json = boost::json;

constexpr std::string_view kUpperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr std::string_view kSecretAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::string random_bytes(size_t n) {
  std::string hex = random_hex(n), out;
  out.reserve(n);
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// Maps random bytes onto an alphabet; the modulo bias is irrelevant here.
std::string random_from(std::string_view alphabet, size_t length) {
  std::string bytes = random_bytes(length), out;
  for (unsigned char b : bytes) out.push_back(alphabet[b % alphabet.size()]);
  return out;
}

bool is_account_id(std::string_view s) {
  return s.size() == 12 && s.find_first_not_of("0123456789") == std::string_view::npos;
}

SysError parse_error(std::string_view source, size_t line, std::string_view what) {
  return SysError{std::string(source) + ":" + std::to_string(line) + ": " + std::string(what)};
}

// One "[profile]" section while it is being read.
struct Section {
  std::string name;
  size_t line = 0;
  std::string access_key, secret_key, account_id{kDefaultAccountId}, user_name;
};

// nullopt for a section without keys (e.g. only a region), which is skipped.
Result<std::optional<Identity>> finish_section(const Section& s, std::string_view source) {
  if (s.access_key.empty() && s.secret_key.empty()) return std::optional<Identity>();
  if (s.access_key.empty() || s.secret_key.empty())
    return fail(parse_error(
        source, s.line,
        "profile '" + s.name + "' needs both aws_access_key_id and aws_secret_access_key"));
  Identity id;
  id.access_key = s.access_key;
  id.secret_key = s.secret_key;
  id.account_id = s.account_id;
  if (s.user_name.empty()) {
    id.principal_arn = root_arn(s.account_id);
    id.user_id = s.account_id;  // what AWS reports for the root user
  } else {
    id.principal_arn = "arn:aws:iam::" + s.account_id + ":user/" + s.user_name;
    id.user_id = stable_id("AIDA", id.principal_arn);
  }
  return std::optional<Identity>(std::move(id));
}

}  // namespace

std::string stable_id(std::string_view prefix, std::string_view seed) {
  std::string digest = sha256_hex(seed);  // 64 hex chars: plenty of entropy for 17
  std::string out(prefix);
  for (size_t i = 0; i < 17; ++i) {
    unsigned v = static_cast<unsigned>(std::stoi(digest.substr(i * 2, 2), nullptr, 16));
    out.push_back(kUpperAlnum[v % kUpperAlnum.size()]);
  }
  return out;
}

std::string random_upper_alnum(size_t length) {
  return random_from(kUpperAlnum, length);
}

std::string root_arn(std::string_view account_id) {
  return "arn:aws:iam::" + std::string(account_id) + ":root";
}

CredentialStore::CredentialStore(const Clock& clock, store::Store* store)
    : clock_(clock), store_(store) {}

Status CredentialStore::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(sys_error("cannot open credentials file " + path));
  std::stringstream ss;
  ss << in.rdbuf();
  return load_ini(ss.str(), path);
}

Status CredentialStore::load_ini(std::string_view text, std::string_view source) {
  std::map<std::string, Identity, std::less<>> parsed;
  std::optional<Section> section;
  auto close_section = [&]() -> Status {
    if (!section) return {};
    auto id = finish_section(*section, source);
    if (!id) return fail(id.error());
    if (!id.value()) return {};
    Identity& identity = *id.value();
    if (parsed.count(identity.access_key))
      return fail(parse_error(source, section->line,
                              "access key " + identity.access_key + " appears in two profiles"));
    parsed.emplace(identity.access_key, std::move(identity));
    return {};
  };

  size_t line_no = 0;
  std::string_view key_before;  // last key, so indented continuation lines can be skipped
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']')
        return fail(parse_error(source, line_no, "unterminated section header"));
      if (auto s = close_section(); !s) return s;
      std::string_view name = trim(line.substr(1, line.size() - 2));
      if (name.substr(0, 8) == "profile ") name = trim(name.substr(8));  // config-file style
      if (name.empty()) return fail(parse_error(source, line_no, "empty profile name"));
      section.emplace();
      section->name = name;
      section->line = line_no;
      continue;
    }
    // Nested values ("s3 =\n  max_concurrent_requests = 10") are indented.
    if ((raw.front() == ' ' || raw.front() == '\t') && !key_before.empty()) continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos)
      return fail(parse_error(source, line_no, "expected 'key = value'"));
    if (!section) return fail(parse_error(source, line_no, "key outside of a [profile] section"));
    std::string_view key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    key_before = key;
    if (key == "aws_access_key_id") {
      section->access_key = value;
    } else if (key == "aws_secret_access_key") {
      section->secret_key = value;
    } else if (key == "account_id" || key == "aws_account_id") {
      if (!is_account_id(value))
        return fail(parse_error(source, line_no, "account_id must be 12 digits"));
      section->account_id = value;
    } else if (key == "user_name") {
      section->user_name = value;
    }  // other keys (region, output, aws_session_token, ...) are not ours
  }
  if (auto s = close_section(); !s) return s;

  std::unique_lock lk(mu_);
  for (auto& [k, v] : parsed) static_[k] = std::move(v);
  return {};
}

void CredentialStore::add_static(Identity identity) {
  if (identity.principal_arn.empty()) {
    identity.principal_arn = root_arn(identity.account_id);
    identity.user_id = identity.account_id;
  }
  std::unique_lock lk(mu_);
  static_[identity.access_key] = std::move(identity);
}

Status CredentialStore::load_sessions() {
  if (!store_) return {};
  const int64_t now = clock_.wall_ms();
  store::WriteBatch expired;
  std::map<std::string, Identity, std::less<>> loaded;
  for (auto& [key, value] : store_->scan(kSessionKeyPrefix)) {
    auto id = session_from_json(value);
    if (!id || id->expiration_ms <= now)
      expired.del(key);
    else
      loaded.emplace(id->access_key, std::move(*id));
  }
  if (!expired.empty())
    if (auto s = store_->write(expired); !s) return s;
  std::unique_lock lk(mu_);
  sessions_ = std::move(loaded);
  return {};
}

Result<Identity> CredentialStore::create_session(const SessionSpec& spec) {
  Identity id;
  id.access_key = "ASIA" + random_upper_alnum(16);
  id.secret_key = random_from(kSecretAlphabet, 40);
  id.session_token = base64_encode(random_bytes(192));
  id.account_id = spec.account_id;
  id.principal_arn = spec.principal_arn;
  id.user_id = spec.user_id;
  const int64_t now = clock_.wall_ms();
  id.expiration_ms = now + spec.duration_seconds * 1000;

  std::unique_lock lk(mu_);
  // Expired sessions are swept here, in the same durable write, so the set
  // stays bounded by the sessions alive at once.
  store::WriteBatch batch;
  std::vector<std::string> swept;
  for (const auto& [key, s] : sessions_)
    if (s.expiration_ms <= now) swept.push_back(key);
  for (const auto& key : swept) batch.del(std::string(kSessionKeyPrefix) + key);
  batch.put(std::string(kSessionKeyPrefix) + id.access_key, session_to_json(id));
  if (store_)
    if (auto s = store_->write(batch); !s) return fail(s.error());
  for (const auto& key : swept) sessions_.erase(key);
  sessions_[id.access_key] = id;
  return id;
}

Status CredentialStore::clear_sessions() {
  std::unique_lock lk(mu_);
  if (store_)
    if (auto s = store_->delete_prefix(kSessionKeyPrefix); !s) return s;
  sessions_.clear();
  return {};
}

Result<Identity, LookupFailure> CredentialStore::lookup(std::string_view access_key) const {
  std::shared_lock lk(mu_);
  return lookup_locked(access_key);
}

Result<Identity, LookupFailure> CredentialStore::lookup_locked(std::string_view access_key) const {
  if (auto it = static_.find(access_key); it != static_.end()) return it->second;
  auto it = sessions_.find(access_key);
  if (it == sessions_.end()) return fail(LookupFailure::kUnknown);
  if (it->second.expiration_ms <= clock_.wall_ms()) return fail(LookupFailure::kExpired);
  return it->second;
}

size_t CredentialStore::static_count() const {
  std::shared_lock lk(mu_);
  return static_.size();
}

size_t CredentialStore::session_count() const {
  std::shared_lock lk(mu_);
  return sessions_.size();
}

std::string CredentialStore::signing_key(const Identity& identity,
                                         const sigv4::CredentialScope& scope) const {
  constexpr size_t kMaxKeys = 4096;
  std::string cache_key = identity.secret_key;
  for (const std::string* part : {&scope.date, &scope.region, &scope.service}) {
    cache_key += '\0';
    cache_key += *part;
  }
  std::lock_guard lk(signing_keys_mu_);
  if (auto it = signing_keys_.find(cache_key); it != signing_keys_.end()) return it->second;
  if (signing_keys_.size() >= kMaxKeys) signing_keys_.clear();
  std::string key = sigv4::signing_key(identity.secret_key, scope);
  signing_keys_.emplace(std::move(cache_key), key);
  return key;
}

Result<Identity, ApiError> authenticate(const http::Request& request,
                                        const CredentialStore& credentials, int64_t now_ms,
                                        Protocol protocol) {
  using sigv4::to_api_error;
  auto sr = sigv4::parse_signed_request(request);
  if (!sr) return fail(to_api_error(sr.error(), protocol));
  auto id = credentials.lookup(sr->scope.access_key);
  if (!id)
    return fail(to_api_error(id.error() == LookupFailure::kExpired ? sigv4::expired_token_error()
                                                                   : sigv4::unknown_key_error(),
                             protocol));
  // Temporary keys are only valid with their own token; AWS also rejects a
  // token presented with a long-term key.
  const std::string& want = id->session_token;
  const std::string& got = sr->security_token;
  if (want.size() != got.size() ||
      (!want.empty() && CRYPTO_memcmp(want.data(), got.data(), want.size()) != 0))
    return fail(to_api_error(sigv4::unknown_key_error(), protocol));
  if (auto r = sigv4::check_signature_with_key(
          request, *sr, credentials.signing_key(*id, sr->scope), now_ms / 1000);
      !r)
    return fail(to_api_error(r.error(), protocol));
  return std::move(*id);
}

std::string session_to_json(const Identity& id) {
  json::object o;
  o["access_key"] = id.access_key;
  o["secret_key"] = id.secret_key;
  o["session_token"] = id.session_token;
  o["account_id"] = id.account_id;
  o["principal_arn"] = id.principal_arn;
  o["user_id"] = id.user_id;
  o["expiration_ms"] = id.expiration_ms;
  return json::serialize(o);
}

std::optional<Identity> session_from_json(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  auto str = [&](std::string_view k) -> std::string {
    auto* p = o.if_contains(k);
    return p && p->is_string() ? std::string(p->as_string()) : std::string();
  };
  Identity id;
  id.access_key = str("access_key");
  id.secret_key = str("secret_key");
  id.session_token = str("session_token");
  id.account_id = str("account_id");
  id.principal_arn = str("principal_arn");
  id.user_id = str("user_id");
  auto* exp = o.if_contains("expiration_ms");
  if (!exp || !exp->is_int64() || id.access_key.empty() || id.secret_key.empty() ||
      id.session_token.empty())
    return std::nullopt;
  id.expiration_ms = exp->as_int64();
  return id;
}

}  // namespace nimbus::aws
