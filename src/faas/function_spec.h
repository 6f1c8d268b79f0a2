// What the function runtime needs to know about one function version. Built by
// the Lambda service from its stored configuration; immutable once built.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace nimbus::faas {

struct FunctionSpec {
  std::string name;
  std::string version = "$LATEST";  // "$LATEST" or a published number
  std::string arn;                  // unqualified function ARN
  std::string runtime;              // "python3.11", "nodejs20.x", "provided.al2023", ...
  std::string handler;
  std::string code_dir;  // host directory with the extracted code (read-only to instances)
  // Host directory with the function's layers merged (in order, later ones
  // overwriting earlier ones), seen read-only at /opt; empty: no layers.
  std::string opt_dir;
  int memory_mb = 128;
  int timeout_seconds = 3;
  int ephemeral_storage_mb = 512;
  std::map<std::string, std::string> environment;  // the function's Environment.Variables
  // Changes whenever code or configuration changes: instances of an older
  // revision are retired, so new invocations see the change.
  std::string revision;
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string role;  // execution role ARN (recorded, not enforced)
  // AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand", or "provisioned-concurrency"
  // for an instance the pool initialises ahead (its REPORT lines then carry no
  // Init Duration, as on Lambda). Set by the pool on its copy; not part of the
  // pool key.
  std::string initialization_type = "on-demand";
};

// Identifies a pool of interchangeable instances: one function version.
inline std::string pool_key(const FunctionSpec& s) {
  return s.name + ":" + s.version;
}

}  // namespace nimbus::faas
