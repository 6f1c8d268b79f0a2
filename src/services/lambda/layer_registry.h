// Lambda layers: named layers with immutable, numbered versions. Kept in memory
// and persisted, one store key per layer ("lambda/layer/NAME"), before any
// change is acknowledged. A layer's record outlives its versions, so a
// version number is never handed out twice, even after every version was
// deleted (as on Lambda).
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/api_error.h"
#include "base/result.h"
#include "services/lambda/function_registry.h"
#include "store/store.h"

namespace nimbus::services::lambda {

struct LayerVersionRecord {
  // The GetLayerVersion shape as returned to clients, without Content.Location
  // (added per request: it names the edge's URL).
  boost::json::object info;
  CodeInfo code;
};

struct LayerRecord {
  std::map<int, LayerVersionRecord> versions;
  int next_version = 1;
};

class LayerRegistry {
 public:
  explicit LayerRegistry(store::Store& store);
  Status load();

  // Assigns the layer's next version number, lets `make` build the version
  // for it, and persists (synced) before returning the stored version.
  using MakeVersion = std::function<LayerVersionRecord(int version)>;
  Result<LayerVersionRecord, aws::ApiError> publish(const std::string& name,
                                                    const MakeVersion& make);
  std::optional<LayerVersionRecord> get(const std::string& name, int version) const;
  // Every layer that still has versions, by name.
  std::map<std::string, LayerRecord> layers() const;
  // Deleting an absent version succeeds (Lambda answers 204).
  Result<void, aws::ApiError> remove(const std::string& name, int version);
  void clear();

 private:
  store::Store& store_;
  mutable std::mutex mu_;
  std::map<std::string, LayerRecord> layers_;
};

// Storage form of a layer (also used by tests).
std::string serialize_layer(const LayerRecord& rec);
Result<LayerRecord> parse_layer(std::string_view json);

}  // namespace nimbus::services::lambda
