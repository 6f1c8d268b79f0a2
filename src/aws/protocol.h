// Wire protocols the AWS services speak, and the one place that writes errors.
#pragma once

#include <string>
#include <string_view>

#include "aws/api_error.h"
#include "http/message.h"

namespace nimbus::aws {

enum class Protocol { kRestJson, kJson10, kJson11, kQuery, kRestXml };

// Renders an ApiError in the protocol's error shape (status, headers, body), the
// way botocore's parsers read them. json_namespace is the service's shape prefix
// for json-1.0/1.1 ("com.amazonaws.dynamodb.v20120810"); may be empty.
http::Response render_error(Protocol protocol, const ApiError& error, std::string_view request_id,
                            std::string_view json_namespace = {});

// Escapes text for XML element content and attribute values.
std::string xml_escape(std::string_view s);

}  // namespace nimbus::aws
