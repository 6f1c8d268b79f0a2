// The Lambda service's state: functions with their $LATEST configuration,
// published versions, aliases, reserved concurrency and tags. Kept in memory
// for the invoke path and persisted, one store key per function, before any
// change is acknowledged.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "aws/api_error.h"
#include "base/result.h"
#include "faas/function_spec.h"
#include "store/store.h"

namespace nimbus::services::lambda {

struct CodeInfo {
  std::string sha256_b64;  // CodeSha256 as Lambda reports it
  int64_t size = 0;        // CodeSize: bytes of the zip
  std::string dir;         // host directory the instances mount
  std::string blob;        // BlobStore id of the zip; empty for a local-directory source
};

// Storage form of CodeInfo (shared by functions and layers).
boost::json::object code_to_json(const CodeInfo& c);
CodeInfo code_from_json(const boost::json::object& o);

struct VersionRecord {
  boost::json::object config;  // the FunctionConfiguration shape, as returned to clients
  CodeInfo code;
  // Host directory of the merged layers (Configuration.Layers, in order),
  // mounted read-only at /opt; empty when the version has no layers. Kept
  // with the version, so a deleted layer version goes on working for the
  // functions that use it, as on Lambda.
  std::string opt_dir;
};

// A provisioned concurrency configuration (PutProvisionedConcurrencyConfig)
// of one version or alias.
struct ProvisionedConfig {
  int requested = 0;
  std::string last_modified;  // LastModified, as Lambda formats it
};

struct FunctionRecord {
  VersionRecord latest;
  std::map<int, VersionRecord> versions;
  std::map<std::string, boost::json::object> aliases;  // AliasConfiguration shapes
  std::optional<int> reserved;
  // Provisioned concurrency by qualifier (a version number or an alias name);
  // removed with the version or alias.
  std::map<std::string, ProvisionedConfig> provisioned;
  boost::json::object tags;
  int next_version = 1;
  // $LATEST's RevisionId when the newest version was published: publishing an
  // unchanged $LATEST again returns that version, as Lambda does.
  std::string published_revision;
};

// A resolved invocation target.
struct Target {
  std::shared_ptr<const faas::FunctionSpec> spec;
  std::optional<int> reserved;
  std::string invoked_arn;
};

class FunctionRegistry {
 public:
  explicit FunctionRegistry(store::Store& store);
  // Loads every function from the store (at start-up).
  Status load();

  std::optional<FunctionRecord> get(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted
  int reserved_total() const;

  // Creates the function; ResourceConflictException when it exists.
  Result<void, aws::ApiError> create(const std::string& name, FunctionRecord record);
  // Read-modify-write of one function under the registry lock; the change is
  // persisted (synced) before this returns ok. ResourceNotFoundException when absent.
  using Mutation = std::function<Result<void, aws::ApiError>(FunctionRecord&)>;
  Result<void, aws::ApiError> update(const std::string& name, const Mutation& mutate);
  Result<void, aws::ApiError> remove(const std::string& name);
  // Sets or clears (nullopt) reserved concurrency, refusing a value that would
  // leave fewer than `min_unreserved` of `account_limit` for other functions.
  Result<void, aws::ApiError> set_reserved(const std::string& name, std::optional<int> reserved,
                                           int account_limit, int min_unreserved);
  void clear();

  // Resolves name + qualifier ("" / "$LATEST" / version / alias) to what the
  // pool needs; `pick` in [0,1) chooses between an alias's weighted versions.
  Result<Target, aws::ApiError> resolve(const std::string& name, const std::string& qualifier,
                                        double pick) const;

 private:
  Status persist(const std::string& name, const FunctionRecord& rec);
  std::shared_ptr<const faas::FunctionSpec> make_spec(const VersionRecord& v) const;

  store::Store& store_;
  mutable std::mutex mu_;
  std::map<std::string, FunctionRecord> functions_;
  // Built specs by "name:version", dropped whenever the function changes.
  mutable std::map<std::string, std::shared_ptr<const faas::FunctionSpec>> spec_cache_;
};

// Storage form of a record (also used by tests).
std::string serialize_record(const FunctionRecord& rec);
Result<FunctionRecord> parse_record(std::string_view json);

}  // namespace nimbus::services::lambda
