#include "services/iam/iam_service.h"

#include <algorithm>
#include <boost/json.hpp>
#include <exception>
#include <vector>

#include "aws/credentials.h"
#include "base/text.h"

namespace nimbus::services::iam {
namespace {

namespace json = boost::json;
using aws::ApiError;
using aws::query::Params;
using aws::query::Validation;
using aws::query::XmlWriter;

constexpr std::string_view kRolePrefix = "iam/role/";
constexpr std::string_view kRolePolicyPrefix = "iam/rolepolicy/";
constexpr std::string_view kNamePattern = "[\\w+=,.@-]+";
constexpr std::string_view kXmlns = aws::query::kIamNamespace;

struct Role {
  std::string name, id, path, arn, description, trust_policy;
  int64_t created_ms = 0;
  int64_t max_session_duration = 3600;
  std::vector<std::pair<std::string, std::string>> tags;
  std::vector<std::string> attached;  // managed policy ARNs, in attach order
};

std::string role_key(std::string_view name) {
  return std::string(kRolePrefix) + ascii_lower(name);
}
std::string inline_prefix(std::string_view role) {
  return std::string(kRolePolicyPrefix) + ascii_lower(role) + "/";
}

std::string to_json(const Role& r) {
  json::object o;
  o["RoleName"] = r.name;
  o["RoleId"] = r.id;
  o["Path"] = r.path;
  o["Arn"] = r.arn;
  o["Description"] = r.description;
  o["AssumeRolePolicyDocument"] = r.trust_policy;
  o["CreateDateMs"] = r.created_ms;
  o["MaxSessionDuration"] = r.max_session_duration;
  json::array tags;
  for (const auto& [k, v] : r.tags) tags.push_back(json::object{{"Key", k}, {"Value", v}});
  o["Tags"] = std::move(tags);
  json::array attached;
  for (const auto& a : r.attached) attached.push_back(json::string(a));
  o["AttachedPolicies"] = std::move(attached);
  return json::serialize(o);
}

std::optional<Role> from_json(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  auto str = [&](std::string_view k) {
    auto* p = o.if_contains(k);
    return p && p->is_string() ? std::string(p->as_string()) : std::string();
  };
  auto num = [&](std::string_view k, int64_t dflt) {
    auto* p = o.if_contains(k);
    return p && p->is_int64() ? p->as_int64() : dflt;
  };
  Role r;
  r.name = str("RoleName");
  r.id = str("RoleId");
  r.path = str("Path");
  r.arn = str("Arn");
  r.description = str("Description");
  r.trust_policy = str("AssumeRolePolicyDocument");
  r.created_ms = num("CreateDateMs", 0);
  r.max_session_duration = num("MaxSessionDuration", 3600);
  if (auto* t = o.if_contains("Tags"); t && t->is_array())
    for (const auto& tag : t->as_array())
      if (tag.is_object())
        r.tags.emplace_back(json::value_to<std::string>(tag.at("Key")),
                            json::value_to<std::string>(tag.at("Value")));
  if (auto* a = o.if_contains("AttachedPolicies"); a && a->is_array())
    for (const auto& arn : a->as_array())
      if (arn.is_string()) r.attached.emplace_back(arn.as_string());
  if (r.name.empty()) return std::nullopt;
  return r;
}

ApiError no_such_role(std::string_view name) {
  return ApiError::make(404, "NoSuchEntity",
                        "The role with name " + std::string(name) + " cannot be found.");
}

ApiError store_failure(const SysError& e) {
  return ApiError::make(500, "ServiceFailure", "Request failed: " + e.message);
}

bool is_valid_json(std::string_view text) {
  boost::system::error_code ec;
  json::parse(text, ec);
  return !ec;
}

Result<void, ApiError> check_policy_json(std::string_view document) {
  if (!is_valid_json(document))
    return fail(
        ApiError::make(400, "MalformedPolicyDocument", "This policy contains invalid Json"));
  return {};
}

// "/" or "/a/b/" with printable ASCII between, as pathType's pattern allows.
bool valid_path(std::string_view p) {
  if (p.empty() || p.front() != '/' || p.back() != '/') return false;
  return std::all_of(p.begin(), p.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

// arn:PARTITION:iam::(ACCOUNT|aws):policy/[path/]NAME -> (path, name).
std::optional<std::pair<std::string, std::string>> parse_policy_arn(std::string_view arn) {
  auto marker = arn.find(":policy/");
  if (arn.substr(0, 4) != "arn:" || arn.find(":iam::") == std::string_view::npos ||
      marker == std::string_view::npos)
    return std::nullopt;
  auto rest = arn.substr(marker + 7);  // "/path/NAME"
  auto slash = rest.rfind('/');
  auto name = rest.substr(slash + 1);
  if (name.empty()) return std::nullopt;
  return std::make_pair(std::string(rest.substr(0, slash + 1)), std::string(name));
}

// `element` is "Role" for single roles and "member" inside lists; lists
// (full == false) omit Tags and RoleLastUsed, as ListRoles does.
void write_role(XmlWriter& w, const Role& r, std::string_view element, bool full) {
  w.open(element)
      .element("Path", r.path)
      .element("RoleName", r.name)
      .element("RoleId", r.id)
      .element("Arn", r.arn)
      .element("CreateDate", aws::query::iso8601(r.created_ms))
      // IAM returns policy documents URL-encoded; botocore decodes them.
      .element("AssumeRolePolicyDocument", http::url_encode(r.trust_policy))
      .optional("Description", r.description)
      .element("MaxSessionDuration", r.max_session_duration);
  if (full && !r.tags.empty()) {
    w.open("Tags");
    for (const auto& [k, v] : r.tags)
      w.open("member").element("Key", k).element("Value", v).close("member");
    w.close("Tags");
  }
  if (full) w.raw("<RoleLastUsed/>");
  w.close(element);
}

// Marker/MaxItems: MaxItems 1..1000, default 100.
struct Page {
  std::string marker;
  int64_t max_items = 100;
};

void validate_page(Validation& v, const Params& p, Page& page) {
  v.length(p, "Marker", 1, 320);
  v.integer(p, "MaxItems", 1, 1000, &page.max_items);
  page.marker = std::string(p.get_or_empty("Marker"));
}

void write_page_end(XmlWriter& w, bool truncated, std::string_view next_marker) {
  w.boolean("IsTruncated", truncated);
  if (truncated) w.element("Marker", next_marker);
}

// Pages through an in-memory list with the marker being the next index.
template <class T>
std::pair<std::vector<T>, std::optional<std::string>> paginate(const std::vector<T>& all,
                                                               const Page& page) {
  size_t start = 0;
  if (!page.marker.empty()) {
    try {
      start = std::min<size_t>(std::stoul(page.marker), all.size());
    } catch (const std::exception&) {
      start = all.size();
    }
  }
  size_t end = std::min(all.size(), start + static_cast<size_t>(page.max_items));
  std::vector<T> items(all.begin() + start, all.begin() + end);
  if (end < all.size()) return {std::move(items), std::to_string(end)};
  return {std::move(items), std::nullopt};
}

ApiError invalid_marker() {
  return ApiError::make(400, "InvalidInput", "Invalid Marker.");
}

}  // namespace

IamService::IamService(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

void IamService::handle(aws::Call call) {
  Reply result = fail(ApiError::internal("unhandled"));
  try {
    result = dispatch(call, Params::parse(call.http));
  } catch (const std::exception& e) {
    result = fail(ApiError::make(500, "ServiceFailure", e.what()));
  }
  if (result.ok())
    call.reply(std::move(result.value()));
  else
    call.reply(aws::query::error_response(result.error(), call.request_id, kXmlns));
}

IamService::Reply IamService::dispatch(const aws::Call& call, const Params& p) {
  using Handler = Reply (IamService::*)(const aws::Call&, const Params&);
  static const std::pair<std::string_view, Handler> kOps[] = {
      {"CreateRole", &IamService::create_role},
      {"GetRole", &IamService::get_role},
      {"ListRoles", &IamService::list_roles},
      {"DeleteRole", &IamService::delete_role},
      {"UpdateAssumeRolePolicy", &IamService::update_assume_role_policy},
      {"AttachRolePolicy", &IamService::attach_role_policy},
      {"DetachRolePolicy", &IamService::detach_role_policy},
      {"ListAttachedRolePolicies", &IamService::list_attached_role_policies},
      {"PutRolePolicy", &IamService::put_role_policy},
      {"GetRolePolicy", &IamService::get_role_policy},
      {"DeleteRolePolicy", &IamService::delete_role_policy},
      {"ListRolePolicies", &IamService::list_role_policies},
  };
  auto action = p.action();
  for (const auto& [name, fn] : kOps)
    if (name == action) return (this->*fn)(call, p);
  if (action.empty()) return fail(ApiError::make(400, "MissingAction", "Missing Action"));
  return fail(ApiError::make(
      400, "InvalidAction",
      "Could not find operation " + std::string(action) + " for version " + std::string(kVersion)));
}

void IamService::reset() {
  std::lock_guard lk(write_mu_);
  (void)store_.delete_prefix("iam/");
}

std::optional<std::string> IamService::role_id(std::string_view role_name) const {
  auto v = store_.get(role_key(role_name));
  if (!v) return std::nullopt;
  auto role = from_json(*v);
  if (!role) return std::nullopt;
  return role->id;
}

namespace {

// Loads a role or answers NoSuchEntity.
Result<Role, ApiError> load_role(const store::Store& store, std::string_view name) {
  auto v = store.get(role_key(name));
  if (!v) return fail(no_such_role(name));
  auto role = from_json(*v);
  if (!role) return fail(ApiError::make(500, "ServiceFailure", "Corrupt role record"));
  return std::move(*role);
}

void validate_role_name(Validation& v, const Params& p) {
  v.require(p, "RoleName");
  v.length(p, "RoleName", 1, 64);
  v.name_pattern(p, "RoleName", kNamePattern);
}

void validate_policy_name(Validation& v, const Params& p) {
  v.require(p, "PolicyName");
  v.length(p, "PolicyName", 1, 128);
  v.name_pattern(p, "PolicyName", kNamePattern);
}

}  // namespace

IamService::Reply IamService::create_role(const aws::Call& call, const Params& p) {
  Validation v;
  Role role;
  validate_role_name(v, p);
  v.require(p, "AssumeRolePolicyDocument");
  v.length(p, "AssumeRolePolicyDocument", 1, 131072);
  v.length(p, "Path", 1, 512);
  v.length(p, "Description", 0, 1000);
  v.integer(p, "MaxSessionDuration", 3600, 43200, &role.max_session_duration);
  role.path = p.get_or("Path", "/");
  if (p.has("Path") && !valid_path(role.path))
    v.add(role.path, "path",
          "Member must satisfy regular expression pattern: "
          "(\\u002F)|(\\u002F[\\u0021-\\u007F]+\\u002F)");
  auto tags = p.get_struct_list("Tags");
  if (tags.size() > 50) v.add("[...]", "tags", "Member must have length less than or equal to 50");
  for (auto& t : tags) {
    if (t["Key"].empty() || t["Key"].size() > 128)
      v.add(t["Key"], "tags.member.key", "Member must have length between 1 and 128");
    if (t["Value"].size() > 256)
      v.add(t["Value"], "tags.member.value", "Member must have length less than or equal to 256");
    role.tags.emplace_back(t["Key"], t["Value"]);
  }
  if (!v.ok()) return fail(v.error());

  role.name = p.get_or_empty("RoleName");
  role.trust_policy = p.get_or_empty("AssumeRolePolicyDocument");
  role.description = p.get_or_empty("Description");
  if (auto c = check_policy_json(role.trust_policy); !c) return fail(c.error());
  role.id = "AROA" + aws::random_upper_alnum(17);
  role.arn = "arn:aws:iam::" + call.account_id + ":role" + role.path + role.name;
  role.created_ms = clock_.wall_ms();

  {
    std::lock_guard lk(write_mu_);
    if (store_.get(role_key(role.name)))
      return fail(ApiError::make(409, "EntityAlreadyExists",
                                 "Role with name " + role.name + " already exists."));
    if (auto s = store_.put(role_key(role.name), to_json(role)); !s)
      return fail(store_failure(s.error()));
  }
  XmlWriter w;
  write_role(w, role, "Role", true);
  return aws::query::response("CreateRole", kXmlns, w.str(), call.request_id);
}

IamService::Reply IamService::get_role(const aws::Call& call, const Params& p) {
  Validation v;
  validate_role_name(v, p);
  if (!v.ok()) return fail(v.error());
  auto role = load_role(store_, p.get_or_empty("RoleName"));
  if (!role) return fail(role.error());
  XmlWriter w;
  write_role(w, *role, "Role", true);
  return aws::query::response("GetRole", kXmlns, w.str(), call.request_id);
}

IamService::Reply IamService::list_roles(const aws::Call& call, const Params& p) {
  Validation v;
  Page page;
  validate_page(v, p, page);
  v.length(p, "PathPrefix", 1, 512);
  if (!v.ok()) return fail(v.error());
  std::string prefix = p.get_or("PathPrefix", "/");
  std::string start_after;
  if (!page.marker.empty()) {
    if (page.marker.find('/') != std::string::npos) return fail(invalid_marker());
    start_after = role_key(page.marker);
  }

  // The marker is the lowercase name of the last role returned.
  std::vector<Role> roles;
  bool truncated = false;
  for (const auto& [key, value] : store_.scan(kRolePrefix, start_after)) {
    auto role = from_json(value);
    if (!role || role->path.compare(0, prefix.size(), prefix) != 0) continue;
    if (static_cast<int64_t>(roles.size()) == page.max_items) {
      truncated = true;
      break;
    }
    roles.push_back(std::move(*role));
  }
  XmlWriter w;
  w.open("Roles");
  for (const auto& r : roles) write_role(w, r, "member", false);
  w.close("Roles");
  write_page_end(w, truncated, truncated ? ascii_lower(roles.back().name) : "");
  return aws::query::response("ListRoles", kXmlns, w.str(), call.request_id);
}

IamService::Reply IamService::delete_role(const aws::Call& call, const Params& p) {
  Validation v;
  validate_role_name(v, p);
  if (!v.ok()) return fail(v.error());
  std::string name(p.get_or_empty("RoleName"));
  std::lock_guard lk(write_mu_);
  auto role = load_role(store_, name);
  if (!role) return fail(role.error());
  if (!role->attached.empty())
    return fail(ApiError::make(409, "DeleteConflict",
                               "Cannot delete entity, must detach all policies first."));
  if (!store_.scan(inline_prefix(name), {}, 1).empty())
    return fail(
        ApiError::make(409, "DeleteConflict", "Cannot delete entity, must delete policies first."));
  if (auto s = store_.del(role_key(name)); !s) return fail(store_failure(s.error()));
  return aws::query::response("DeleteRole", kXmlns, std::nullopt, call.request_id);
}

IamService::Reply IamService::update_assume_role_policy(const aws::Call& call, const Params& p) {
  Validation v;
  validate_role_name(v, p);
  v.require(p, "PolicyDocument");
  v.length(p, "PolicyDocument", 1, 131072);
  if (!v.ok()) return fail(v.error());
  std::string document(p.get_or_empty("PolicyDocument"));
  if (auto c = check_policy_json(document); !c) return fail(c.error());
  std::lock_guard lk(write_mu_);
  auto role = load_role(store_, p.get_or_empty("RoleName"));
  if (!role) return fail(role.error());
  role->trust_policy = document;
  if (auto s = store_.put(role_key(role->name), to_json(*role)); !s)
    return fail(store_failure(s.error()));
  return aws::query::response("UpdateAssumeRolePolicy", kXmlns, std::nullopt, call.request_id);
}

IamService::Reply IamService::attach_role_policy(const aws::Call& call, const Params& p) {
  Validation v;
  validate_role_name(v, p);
  v.require(p, "PolicyArn");
  v.length(p, "PolicyArn", 20, 2048);
  if (!v.ok()) return fail(v.error());
  std::string arn(p.get_or_empty("PolicyArn"));
  // Managed policies are not modelled: any well-formed policy ARN attaches.
  if (!parse_policy_arn(arn))
    return fail(ApiError::make(400, "InvalidInput", "ARN " + arn + " is not valid."));
  std::lock_guard lk(write_mu_);
  auto role = load_role(store_, p.get_or_empty("RoleName"));
  if (!role) return fail(role.error());
  if (std::find(role->attached.begin(), role->attached.end(), arn) == role->attached.end()) {
    role->attached.push_back(arn);
    if (auto s = store_.put(role_key(role->name), to_json(*role)); !s)
      return fail(store_failure(s.error()));
  }
  return aws::query::response("AttachRolePolicy", kXmlns, std::nullopt, call.request_id);
}

IamService::Reply IamService::detach_role_policy(const aws::Call& call, const Params& p) {
  Validation v;
  validate_role_name(v, p);
  v.require(p, "PolicyArn");
  v.length(p, "PolicyArn", 20, 2048);
  if (!v.ok()) return fail(v.error());
  std::string arn(p.get_or_empty("PolicyArn"));
  std::lock_guard lk(write_mu_);
  auto role = load_role(store_, p.get_or_empty("RoleName"));
  if (!role) return fail(role.error());
  auto it = std::find(role->attached.begin(), role->attached.end(), arn);
  if (it == role->attached.end())
    return fail(ApiError::make(404, "NoSuchEntity", "Policy " + arn + " was not found."));
  role->attached.erase(it);
  if (auto s = store_.put(role_key(role->name), to_json(*role)); !s)
    return fail(store_failure(s.error()));
  return aws::query::response("DetachRolePolicy", kXmlns, std::nullopt, call.request_id);
}

IamService::Reply IamService::list_attached_role_policies(const aws::Call& call, const Params& p) {
  Validation v;
  Page page;
  validate_role_name(v, p);
  validate_page(v, p, page);
  if (!v.ok()) return fail(v.error());
  auto role = load_role(store_, p.get_or_empty("RoleName"));
  if (!role) return fail(role.error());
  std::string prefix = p.get_or("PathPrefix", "/");
  std::vector<std::pair<std::string, std::string>> matching;  // (arn, name)
  for (const auto& arn : role->attached) {
    auto parsed = parse_policy_arn(arn);
    if (parsed && parsed->first.compare(0, prefix.size(), prefix) == 0)
      matching.emplace_back(arn, parsed->second);
  }
  auto [items, next] = paginate(matching, page);
  XmlWriter w;
  w.open("AttachedPolicies");
  for (const auto& [arn, name] : items)
    w.open("member").element("PolicyName", name).element("PolicyArn", arn).close("member");
  w.close("AttachedPolicies");
  write_page_end(w, next.has_value(), next.value_or(""));
  return aws::query::response("ListAttachedRolePolicies", kXmlns, w.str(), call.request_id);
}

IamService::Reply IamService::put_role_policy(const aws::Call& call, const Params& p) {
  Validation v;
  validate_role_name(v, p);
  validate_policy_name(v, p);
  v.require(p, "PolicyDocument");
  v.length(p, "PolicyDocument", 1, 131072);
  if (!v.ok()) return fail(v.error());
  std::string document(p.get_or_empty("PolicyDocument"));
  if (auto c = check_policy_json(document); !c) return fail(c.error());
  std::string role_name(p.get_or_empty("RoleName"));
  std::lock_guard lk(write_mu_);
  if (auto role = load_role(store_, role_name); !role) return fail(role.error());
  if (auto s = store_.put(inline_prefix(role_name) + std::string(p.get_or_empty("PolicyName")),
                          document);
      !s)
    return fail(store_failure(s.error()));
  return aws::query::response("PutRolePolicy", kXmlns, std::nullopt, call.request_id);
}

IamService::Reply IamService::get_role_policy(const aws::Call& call, const Params& p) {
  Validation v;
  validate_role_name(v, p);
  validate_policy_name(v, p);
  if (!v.ok()) return fail(v.error());
  auto role = load_role(store_, p.get_or_empty("RoleName"));
  if (!role) return fail(role.error());
  std::string policy(p.get_or_empty("PolicyName"));
  auto document = store_.get(inline_prefix(role->name) + policy);
  if (!document)
    return fail(ApiError::make(404, "NoSuchEntity",
                               "The role policy with name " + policy + " cannot be found."));
  XmlWriter w;
  w.element("RoleName", role->name)
      .element("PolicyName", policy)
      .element("PolicyDocument", http::url_encode(*document));
  return aws::query::response("GetRolePolicy", kXmlns, w.str(), call.request_id);
}

IamService::Reply IamService::delete_role_policy(const aws::Call& call, const Params& p) {
  Validation v;
  validate_role_name(v, p);
  validate_policy_name(v, p);
  if (!v.ok()) return fail(v.error());
  std::string policy(p.get_or_empty("PolicyName"));
  std::lock_guard lk(write_mu_);
  auto role = load_role(store_, p.get_or_empty("RoleName"));
  if (!role) return fail(role.error());
  std::string key = inline_prefix(role->name) + policy;
  if (!store_.get(key))
    return fail(ApiError::make(404, "NoSuchEntity",
                               "The role policy with name " + policy + " cannot be found."));
  if (auto s = store_.del(key); !s) return fail(store_failure(s.error()));
  return aws::query::response("DeleteRolePolicy", kXmlns, std::nullopt, call.request_id);
}

IamService::Reply IamService::list_role_policies(const aws::Call& call, const Params& p) {
  Validation v;
  Page page;
  validate_role_name(v, p);
  validate_page(v, p, page);
  if (!v.ok()) return fail(v.error());
  auto role = load_role(store_, p.get_or_empty("RoleName"));
  if (!role) return fail(role.error());
  std::string prefix = inline_prefix(role->name);
  std::vector<std::string> names;
  for (const auto& [key, value] : store_.scan(prefix)) names.push_back(key.substr(prefix.size()));
  auto [items, next] = paginate(names, page);
  XmlWriter w;
  w.open("PolicyNames");
  for (const auto& n : items) w.element("member", n);
  w.close("PolicyNames");
  write_page_end(w, next.has_value(), next.value_or(""));
  return aws::query::response("ListRolePolicies", kXmlns, w.str(), call.request_id);
}

}  // namespace nimbus::services::iam
