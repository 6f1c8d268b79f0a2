// AWS Signature Version 4: parsing the signature a request carries (header or
// presigned query) and verifying it the way botocore computes it.
//
// The edge router calls credential_scope() on every request to pick the service,
// so that path is allocation-light and never throws on garbage input. verify()
// is the full check once the caller has looked up the secret for the key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/api_error.h"
#include "aws/protocol.h"
#include "base/result.h"
#include "http/message.h"

namespace nimbus::aws::sigv4 {

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
// Largest clock difference AWS tolerates between X-Amz-Date and its own clock.
inline constexpr int64_t kMaxSkewSeconds = 15 * 60;
// AWS's ceiling for X-Amz-Expires on presigned requests (7 days).
inline constexpr int64_t kMaxPresignExpires = 7 * 24 * 3600;

// The "AKID/DATE/REGION/SERVICE/aws4_request" credential of a signed request.
struct CredentialScope {
  std::string access_key;
  std::string date;  // YYYYMMDD
  std::string region;
  std::string service;
};

// Everything a signed request says about its own signature.
struct SignedRequest {
  CredentialScope scope;
  std::vector<std::string> signed_headers;  // lowercase, in the order given
  std::string signature;                    // lowercase hex as sent
  std::string amz_date;                     // X-Amz-Date, "YYYYMMDDTHHMMSSZ"
  std::string security_token;               // X-Amz-Security-Token, may be empty
  bool presigned = false;                   // signature travels in the query string
  int64_t expires_seconds = 0;              // X-Amz-Expires (presigned only)
};

// Parses "Credential=AKID/DATE/REGION/SERVICE/aws4_request" (the value after
// "Credential="). Returns nullopt unless it has exactly five non-empty parts
// ending in aws4_request.
std::optional<CredentialScope> parse_credential(std::string_view credential);

// Parses an Authorization header value of the AWS4-HMAC-SHA256 form. Only the
// header's own content is filled (not amz_date / security_token).
std::optional<SignedRequest> parse_authorization(std::string_view header_value);

// Cheap: which key, date, region and service the request claims, from the
// Authorization header or the presigned X-Amz-Credential. Never throws.
std::optional<CredentialScope> credential_scope(const http::Request& request);

// Why authentication failed, independent of the protocol's error codes.
enum class AuthFailure {
  kMissing,        // no signature at all
  kIncomplete,     // signature present but malformed or missing parts
  kMismatch,       // the signature does not match
  kExpired,        // X-Amz-Date too old (or presigned URL past its expiry)
  kNotYetCurrent,  // X-Amz-Date too far in the future
  kUnknownKey,     // access key (or session token) not recognised
  kExpiredToken,   // temporary credentials past their expiration
};

struct AuthError {
  AuthFailure reason;
  std::string message;  // AWS's wording for the failure
};

// Maps a neutral failure to the code AWS returns for the protocol: the query
// protocol (STS, IAM) uses SignatureDoesNotMatch / InvalidClientTokenId / ...,
// JSON protocols InvalidSignatureException / UnrecognizedClientException / ...
ApiError to_api_error(const AuthError& error, Protocol protocol);

// Standard AWS wording for the failures the caller detects itself.
AuthError unknown_key_error();
AuthError expired_token_error();

// Parses the request's signature (header or presigned query) with the failures
// AWS reports for malformed signatures.
Result<SignedRequest, AuthError> parse_signed_request(const http::Request& request);

// The pieces of the computation, exposed for tests and diagnostics.
std::string canonical_uri(std::string_view raw_path);
std::string canonical_query(std::string_view raw_query, bool drop_signature);
std::string canonical_request(const http::Request& request, const SignedRequest& signed_request);
std::string string_to_sign(const SignedRequest& signed_request, std::string_view canonical_request);
std::string signing_key(std::string_view secret_key, const CredentialScope& scope);  // raw bytes
// Hex signature of the request with the given secret.
std::string compute_signature(const http::Request& request, const SignedRequest& signed_request,
                              std::string_view secret_key);

// Signs `request` as botocore does (header form): adds X-Amz-Date (and
// X-Amz-Security-Token when given) and the Authorization header, signing every
// header present. The caller sets Host first, exactly as it will be sent.
void sign(http::Request& request, std::string_view access_key, std::string_view secret_key,
          std::string_view region, std::string_view service, int64_t now_epoch_seconds,
          std::string_view session_token = {});

// Parses "YYYYMMDDTHHMMSSZ" into seconds since the Unix epoch.
std::optional<int64_t> parse_amz_date(std::string_view amz_date);
std::string format_amz_date(int64_t epoch_seconds);

// Verifies an already-parsed signature: time window, then the signature itself.
Result<void, AuthError> check_signature(const http::Request& request,
                                        const SignedRequest& signed_request,
                                        std::string_view secret_key, int64_t now_epoch_seconds);
// The same with the key already derived (signing_key() of the request's scope):
// deriving it is four HMACs, so a caller that sees many requests of one key,
// day, region and service keeps it (CredentialStore does).
Result<void, AuthError> check_signature_with_key(const http::Request& request,
                                                 const SignedRequest& signed_request,
                                                 std::string_view signing_key,
                                                 int64_t now_epoch_seconds);

// Parses and verifies, with AWS's error code for the protocol.
Result<void, ApiError> verify(const http::Request& request, std::string_view secret_key,
                              int64_t now_epoch_seconds, Protocol protocol = Protocol::kJson11);

}  // namespace nimbus::aws::sigv4
