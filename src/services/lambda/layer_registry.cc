#include "services/lambda/layer_registry.h"

#include <boost/json.hpp>

namespace nimbus::services::lambda {

namespace json = boost::json;

namespace {

constexpr std::string_view kPrefix = "lambda/layer/";

}  // namespace

std::string serialize_layer(const LayerRecord& rec) {
  json::object versions;
  for (const auto& [n, v] : rec.versions)
    versions[std::to_string(n)] = json::object{{"info", v.info}, {"code", code_to_json(v.code)}};
  return json::serialize(
      json::object{{"versions", std::move(versions)}, {"next_version", rec.next_version}});
}

Result<LayerRecord> parse_layer(std::string_view text) {
  try {
    auto o = json::parse(text).as_object();
    LayerRecord rec;
    for (const auto& [k, v] : o.at("versions").as_object()) {
      const auto& vo = v.as_object();
      rec.versions[std::stoi(std::string(k))] =
          LayerVersionRecord{vo.at("info").as_object(), code_from_json(vo.at("code").as_object())};
    }
    rec.next_version = static_cast<int>(o.at("next_version").to_number<int64_t>());
    return rec;
  } catch (const std::exception& e) {
    return fail(SysError{std::string("corrupt layer record: ") + e.what()});
  }
}

LayerRegistry::LayerRegistry(store::Store& store) : store_(store) {}

Status LayerRegistry::load() {
  std::lock_guard lk(mu_);
  layers_.clear();
  for (auto& [key, value] : store_.scan(kPrefix)) {
    auto rec = parse_layer(value);
    if (!rec) return fail(SysError{key + ": " + rec.error().message});
    layers_[key.substr(kPrefix.size())] = std::move(rec.value());
  }
  return {};
}

Result<LayerVersionRecord, aws::ApiError> LayerRegistry::publish(const std::string& name,
                                                                 const MakeVersion& make) {
  std::lock_guard lk(mu_);
  auto it = layers_.find(name);
  LayerRecord copy = it == layers_.end() ? LayerRecord{} : it->second;
  int n = copy.next_version++;
  LayerVersionRecord v = make(n);
  copy.versions[n] = v;
  if (auto st = store_.put(std::string(kPrefix) + name, serialize_layer(copy)); !st)
    return fail(aws::ApiError::service_failure(st.error().message));
  layers_[name] = std::move(copy);
  return v;
}

std::optional<LayerVersionRecord> LayerRegistry::get(const std::string& name, int version) const {
  std::lock_guard lk(mu_);
  auto it = layers_.find(name);
  if (it == layers_.end()) return std::nullopt;
  auto v = it->second.versions.find(version);
  if (v == it->second.versions.end()) return std::nullopt;
  return v->second;
}

std::map<std::string, LayerRecord> LayerRegistry::layers() const {
  std::lock_guard lk(mu_);
  std::map<std::string, LayerRecord> out;
  for (const auto& [n, l] : layers_)
    if (!l.versions.empty()) out.emplace(n, l);
  return out;
}

Result<void, aws::ApiError> LayerRegistry::remove(const std::string& name, int version) {
  std::lock_guard lk(mu_);
  auto it = layers_.find(name);
  if (it == layers_.end() || !it->second.versions.count(version)) return {};
  LayerRecord copy = it->second;
  copy.versions.erase(version);
  // The record stays (with next_version) even when empty: numbers are never reused.
  if (auto st = store_.put(std::string(kPrefix) + name, serialize_layer(copy)); !st)
    return fail(aws::ApiError::service_failure(st.error().message));
  it->second = std::move(copy);
  return {};
}

void LayerRegistry::clear() {
  std::lock_guard lk(mu_);
  layers_.clear();
}

}  // namespace nimbus::services::lambda
