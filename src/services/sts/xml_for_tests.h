// Reading query-protocol XML in tests the way botocore does: by element name,
// with entities decoded. Test-only (pugixml is not a project dependency).
#pragma once

#include <string>
#include <vector>

namespace nimbus::testing {

inline std::string xml_unescape(std::string s) {
  static const std::pair<const char*, char> kEntities[] = {
      {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}, {"&amp;", '&'}};
  std::string out;
  for (size_t i = 0; i < s.size();) {
    bool replaced = false;
    for (auto [entity, c] : kEntities) {
      std::string_view e(entity);
      if (s.compare(i, e.size(), e) == 0) {
        out.push_back(c);
        i += e.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) out.push_back(s[i++]);
  }
  return out;
}

// Decoded text of every <name>...</name> element, in document order.
inline std::vector<std::string> xml_texts(const std::string& xml, const std::string& name) {
  std::vector<std::string> out;
  const std::string open = "<" + name + ">", close = "</" + name + ">";
  for (size_t pos = xml.find(open); pos != std::string::npos; pos = xml.find(open, pos)) {
    pos += open.size();
    auto end = xml.find(close, pos);
    if (end == std::string::npos) break;
    out.push_back(xml_unescape(xml.substr(pos, end - pos)));
  }
  return out;
}

// Decoded text of the first <name> element, or "<missing NAME>".
inline std::string xml_text(const std::string& xml, const std::string& name) {
  auto all = xml_texts(xml, name);
  return all.empty() ? "<missing " + name + ">" : all.front();
}

}  // namespace nimbus::testing
