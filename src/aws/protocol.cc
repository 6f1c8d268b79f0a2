#include "aws/protocol.h"

#include <boost/json.hpp>

namespace nimbus::aws {

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

http::Response render_error(Protocol protocol, const ApiError& e, std::string_view request_id,
                            std::string_view json_namespace) {
  http::Response r;
  r.status = e.status;
  r.headers.set("x-amzn-RequestId", std::string(request_id));
  switch (protocol) {
    case Protocol::kRestJson: {
      // Lambda-style: the code travels in x-amzn-ErrorType and the body carries
      // Type and message (botocore reads either).
      r.headers.set("Content-Type", "application/json");
      r.headers.set("x-amzn-ErrorType", e.code);
      std::string body = "{\"Type\":\"";
      body += e.sender_fault ? "User" : "Service";
      body += "\",\"message\":" + boost::json::serialize(boost::json::string(e.message));
      if (!e.extra_json.empty()) body += "," + e.extra_json;
      body += "}";
      r.body = std::move(body);
      break;
    }
    case Protocol::kJson10:
    case Protocol::kJson11: {
      r.headers.set("Content-Type", protocol == Protocol::kJson10 ? "application/x-amz-json-1.0"
                                                                  : "application/x-amz-json-1.1");
      std::string type =
          json_namespace.empty() ? e.code : std::string(json_namespace) + "#" + e.code;
      std::string body = "{\"__type\":" + boost::json::serialize(boost::json::string(type)) +
                         ",\"message\":" + boost::json::serialize(boost::json::string(e.message));
      if (!e.extra_json.empty()) body += "," + e.extra_json;
      body += "}";
      r.body = std::move(body);
      break;
    }
    case Protocol::kQuery: {
      r.headers.set("Content-Type", "text/xml");
      r.body = "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>" +
               std::string(e.sender_fault ? "Sender" : "Receiver") + "</Type><Code>" +
               xml_escape(e.code) + "</Code><Message>" + xml_escape(e.message) +
               "</Message></Error><RequestId>" + xml_escape(request_id) +
               "</RequestId></ErrorResponse>";
      break;
    }
    case Protocol::kRestXml: {
      r.headers.set("Content-Type", "application/xml");
      r.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + xml_escape(e.code) +
               "</Code><Message>" + xml_escape(e.message) + "</Message><RequestId>" +
               xml_escape(request_id) + "</RequestId></Error>";
      break;
    }
  }
  return r;
}

}  // namespace nimbus::aws
