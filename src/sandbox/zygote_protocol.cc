#include "sandbox/zygote_protocol.h"

#include <boost/json.hpp>
#include <cerrno>

namespace nimbus::sandbox {

namespace json = boost::json;

namespace {

SysError bad(std::string what) {
  return SysError{"zygote request: " + std::move(what), EINVAL};
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

// Field readers: every missing or mistyped field is an error, never a throw.
Result<std::string> str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string()) return fail(bad(std::string(key) + " must be a string"));
  return std::string(v->as_string());
}

Result<std::vector<std::string>> str_list(const json::object& o, std::string_view key, size_t max) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_array()) return fail(bad(std::string(key) + " must be an array"));
  const auto& a = v->as_array();
  if (a.size() > max) return fail(bad(std::string(key) + " has too many entries"));
  std::vector<std::string> out;
  out.reserve(a.size());
  for (const auto& e : a) {
    if (!e.is_string()) return fail(bad(std::string(key) + " entries must be strings"));
    out.emplace_back(e.as_string());
  }
  return out;
}

Result<uint64_t> unsigned_field(const json::object& o, std::string_view key, uint64_t max) {
  auto* v = o.if_contains(key);
  if (v && v->is_uint64() && v->as_uint64() <= max) return v->as_uint64();
  if (v && v->is_int64() && v->as_int64() >= 0 && static_cast<uint64_t>(v->as_int64()) <= max)
    return static_cast<uint64_t>(v->as_int64());
  return fail(bad(std::string(key) + " must be an integer from 0 to " + std::to_string(max)));
}

Result<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return fail(bad("not a JSON object"));
  return std::move(v.as_object());
}

}  // namespace

std::string encode_request(const ZygoteRequest& r) {
  const Spec& s = r.spec;
  json::array mounts;
  for (const auto& m : s.extra_mounts)
    mounts.push_back(
        json::object{{"source", m.source}, {"target", m.target}, {"read_only", m.read_only}});
  json::object o{{"argv", strings(s.argv)},
                 {"code_dir", s.code_dir},
                 {"runtime_dir", s.runtime_dir},
                 {"mounts", std::move(mounts)},
                 {"cwd", s.cwd},
                 {"tmp_size_bytes", s.tmp_size_bytes},
                 {"uid", s.uid},
                 {"gid", s.gid},
                 {"hostname", s.hostname},
                 {"channel", r.channel},
                 {"join", r.join_fds}};
  return json::serialize(o);
}

Result<ZygoteRequest> decode_request(std::string_view text) {
  if (text.size() > kMaxZygoteMessage) return fail(bad("too large"));
  auto o = parse_object(text);
  if (!o) return fail(o.take_error());
  ZygoteRequest r;
  Spec& s = r.spec;
  s.isolate = true;
  auto argv = str_list(*o, "argv", 256);
  if (!argv) return fail(argv.take_error());
  s.argv = std::move(*argv);
  for (auto [key, field] : {std::pair{"code_dir", &s.code_dir},
                            {"runtime_dir", &s.runtime_dir},
                            {"cwd", &s.cwd},
                            {"hostname", &s.hostname}}) {
    auto v = str(*o, key);
    if (!v) return fail(v.take_error());
    *field = std::move(*v);
  }
  auto* mounts = o->if_contains("mounts");
  if (!mounts || !mounts->is_array() || mounts->as_array().size() > 64)
    return fail(bad("mounts must be an array of at most 64"));
  for (const auto& m : mounts->as_array()) {
    if (!m.is_object()) return fail(bad("mounts entries must be objects"));
    const auto& mo = m.as_object();
    auto source = str(mo, "source");
    auto target = str(mo, "target");
    auto* ro = mo.if_contains("read_only");
    if (!source || !target || !ro || !ro->is_bool())
      return fail(bad("a mount needs source, target and read_only"));
    s.extra_mounts.push_back(BindMount{std::move(*source), std::move(*target), ro->as_bool()});
  }
  auto tmp = unsigned_field(*o, "tmp_size_bytes", uint64_t{10} << 30);
  auto uid = unsigned_field(*o, "uid", 0xfffffffe);
  auto gid = unsigned_field(*o, "gid", 0xfffffffe);
  auto join = unsigned_field(*o, "join", kMaxZygoteFds - 5);
  if (!tmp) return fail(tmp.take_error());
  if (!uid) return fail(uid.take_error());
  if (!gid) return fail(gid.take_error());
  if (!join) return fail(join.take_error());
  s.tmp_size_bytes = *tmp;
  s.uid = static_cast<uid_t>(*uid);
  s.gid = static_cast<gid_t>(*gid);
  r.join_fds = static_cast<size_t>(*join);
  auto* channel = o->if_contains("channel");
  if (!channel || !channel->is_bool()) return fail(bad("channel must be a boolean"));
  r.channel = channel->as_bool();
  return r;
}

std::string encode_reply(const ZygoteReply& r) {
  json::object o{{"pid", r.pid}};
  if (!r.error.empty()) {
    o["error"] = r.error;
    o["errno"] = r.error_number;
  }
  return json::serialize(o);
}

Result<ZygoteReply> decode_reply(std::string_view text) {
  auto o = parse_object(text);
  if (!o) return fail(SysError{"zygote reply: not a JSON object", EPROTO});
  ZygoteReply r;
  auto pid = unsigned_field(*o, "pid", 0x7fffffff);
  if (!pid) return fail(SysError{"zygote reply: bad pid", EPROTO});
  r.pid = static_cast<pid_t>(*pid);
  if (o->contains("error")) {
    auto e = str(*o, "error");
    auto n = unsigned_field(*o, "errno", 4095);
    if (!e || !n || e->empty()) return fail(SysError{"zygote reply: bad error", EPROTO});
    r.error = std::move(*e);
    r.error_number = static_cast<int>(*n);
  }
  return r;
}

std::string encode_environment(const std::vector<std::string>& env) {
  std::string out;
  for (const auto& e : env) {
    out += e;
    out += '\0';
  }
  return out;
}

std::vector<std::string> decode_environment(std::string_view bytes) {
  std::vector<std::string> env;
  while (!bytes.empty()) {
    size_t end = bytes.find('\0');
    std::string_view entry = bytes.substr(0, end);
    if (!entry.empty()) env.emplace_back(entry);
    if (end == std::string_view::npos) break;
    bytes.remove_prefix(end + 1);
  }
  return env;
}

}  // namespace nimbus::sandbox
