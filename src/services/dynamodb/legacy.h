// DynamoDB's legacy (pre-expression) request parameters, rewritten into the
// expression parameters that replaced them, so that the rest of the service
// only knows expressions:
//
//   Expected (+ ConditionalOperator)      -> ConditionExpression
//   AttributeUpdates                      -> UpdateExpression
//   KeyConditions                         -> KeyConditionExpression
//   QueryFilter / ScanFilter (+ ConditionalOperator) -> FilterExpression
//   AttributesToGet                       -> ProjectionExpression
//
// Attribute names and values go into ExpressionAttributeNames / Values under
// generated placeholders, never into the expression text, so that reserved
// words, dots and any other character in a name keep their meaning.
//
// The rewrite also enforces DynamoDB's rules about the two styles: a request
// may not mix them (DynamoDB's one exception, KeyConditions beside a
// FilterExpression or ProjectionExpression, is kept), and
// ExpressionAttributeNames / Values need an expression to go with.
//
// Wording of the messages: DynamoDB's texts as quoted by dynalite's tests
// (run against DynamoDB), by ScyllaDB's Alternator tests of the legacy
// parameters and by public test suites marked as verified against DynamoDB.
#pragma once

#include <boost/json/object.hpp>
#include <string_view>

#include "aws/api_error.h"
#include "base/result.h"

namespace nimbus::services::dynamodb {

// Rewrites DynamoDB's legacy parameters of `operation` ("PutItem",
// "UpdateItem", "DeleteItem", "GetItem", "Query", "Scan", "BatchGetItem")
// into expression parameters, in place; any other operation is left as it is.
// Errors are DynamoDB's ValidationException texts; on an error `req` is left
// unchanged.
//
// What stays for the caller: checks that need the table (key schema, a
// QueryFilter on a key attribute) and the expression parameters themselves
// (the rewritten request is parsed like any other).
Result<void, aws::ApiError> translate_legacy_parameters(std::string_view operation,
                                                        boost::json::object& req);

}  // namespace nimbus::services::dynamodb
