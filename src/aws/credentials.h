// Who may call Nimbus: static access keys from an AWS credentials-format file,
// plus temporary session credentials minted by STS (AssumeRole,
// GetSessionToken) and persisted in the Store so they survive restarts.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "aws/api_error.h"
#include "aws/protocol.h"
#include "aws/sigv4.h"
#include "base/clock.h"
#include "base/result.h"
#include "http/message.h"
#include "store/store.h"

namespace nimbus::aws {

inline constexpr std::string_view kDefaultAccountId = "000000000000";
// Store key prefix of persisted STS sessions: "sts/session/<AKID>".
inline constexpr std::string_view kSessionKeyPrefix = "sts/session/";

// One principal's credentials and who it is.
struct Identity {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // empty for static keys
  std::string account_id{kDefaultAccountId};
  // arn:aws:iam::ACCT:root, arn:aws:iam::ACCT:user/NAME, or for role sessions
  // arn:aws:sts::ACCT:assumed-role/ROLE/SESSION.
  std::string principal_arn;
  std::string user_id;        // GetCallerIdentity's UserId
  int64_t expiration_ms = 0;  // wall-clock ms; 0 for static keys (never expire)
  bool temporary() const { return !session_token.empty(); }
};

// What a new temporary credential stands for.
struct SessionSpec {
  std::string account_id{kDefaultAccountId};
  std::string principal_arn;
  std::string user_id;
  int64_t duration_seconds = 3600;
};

enum class LookupFailure { kUnknown, kExpired };

class CredentialStore {
 public:
  // `store` may be null: sessions then live in memory only.
  explicit CredentialStore(const Clock& clock, store::Store* store = nullptr);

  // Adds the static keys of an AWS credentials file ("[profile]" sections with
  // aws_access_key_id, aws_secret_access_key, optional account_id and the
  // Nimbus extension user_name). Errors name the file and line.
  Status load_file(const std::string& path);
  Status load_ini(std::string_view text, std::string_view source_name);
  void add_static(Identity identity);

  // Reloads persisted sessions from the store, dropping expired ones.
  Status load_sessions();
  // Mints, persists and registers a temporary credential.
  Result<Identity> create_session(const SessionSpec& spec);
  // Forgets every temporary credential (memory and store); static keys stay.
  Status clear_sessions();

  Result<Identity, LookupFailure> lookup(std::string_view access_key) const;
  // SigV4's signing key of `identity` for `scope` (sigv4::signing_key), derived
  // once per key, day, region and service instead of per request.
  std::string signing_key(const Identity& identity, const sigv4::CredentialScope& scope) const;
  size_t static_count() const;
  size_t session_count() const;

 private:
  Result<Identity, LookupFailure> lookup_locked(std::string_view access_key) const;

  const Clock& clock_;
  store::Store* store_;
  mutable std::shared_mutex mu_;
  std::map<std::string, Identity, std::less<>> static_;
  std::map<std::string, Identity, std::less<>> sessions_;
  // Derived signing keys by secret, date, region and service; cleared when it
  // grows past a bound (a new day, or many sessions, simply derive again).
  mutable std::mutex signing_keys_mu_;
  mutable std::unordered_map<std::string, std::string> signing_keys_;
};

// A stable AWS-style unique id ("AIDA", "AROA" + 17 uppercase alphanumerics)
// derived from `seed`, so the same principal gets the same id after restarts.
std::string stable_id(std::string_view prefix, std::string_view seed);
// Random id of `length` uppercase letters and digits.
std::string random_upper_alnum(size_t length);

std::string root_arn(std::string_view account_id);

// The whole inbound check: signature parse, key lookup, session token match,
// time window and signature, with AWS's error codes for `protocol`.
Result<Identity, ApiError> authenticate(const http::Request& request,
                                        const CredentialStore& credentials, int64_t now_ms,
                                        Protocol protocol);

// JSON form of a session as persisted under kSessionKeyPrefix.
std::string session_to_json(const Identity& identity);
std::optional<Identity> session_from_json(std::string_view json);

}  // namespace nimbus::aws
