// Function names, ARNs and qualifiers as Lambda accepts them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "aws/api_error.h"
#include "base/result.h"

namespace nimbus::services::lambda {

struct FunctionRef {
  std::string name;        // plain function name
  std::string qualifier;   // "" when unqualified, "$LATEST", a version number or an alias
  std::string account_id;  // from the ARN when one was given, else ""
  std::string region;      // likewise
};

// Parses a FunctionName parameter: a name ("my-function"), a partial ARN
// ("123456789012:function:my-function") or a full ARN, each optionally with a
// ":qualifier". Invalid input yields Lambda's ValidationException.
Result<FunctionRef, aws::ApiError> parse_function_ref(std::string_view input,
                                                      std::string_view member = "functionName");

// parse_function_ref of a path's FunctionName with the Qualifier query
// parameter merged in; when both name a qualifier they must agree.
Result<FunctionRef, aws::ApiError> parse_function_ref_with_qualifier(
    std::string_view input, std::string_view query_qualifier);

// "arn:aws:lambda:REGION:ACCOUNT:function:NAME" (+ ":QUALIFIER" when given).
std::string function_arn(std::string_view region, std::string_view account, std::string_view name,
                         std::string_view qualifier = {});

bool is_version_number(std::string_view q);
// Alias names: letters, digits, '-' and '_', 1..128, not all digits.
bool is_valid_alias_name(std::string_view q);
// Execution role ARN pattern of the Lambda model.
bool is_valid_role_arn(std::string_view role);

// A layer version: "arn:PARTITION:lambda:REGION:ACCOUNT:layer:NAME:VERSION".
struct LayerVersionRef {
  std::string region;
  std::string account_id;
  std::string name;
  int version = 0;
};

// Parses a LayerVersionArn (model pattern
// arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+, at
// most 140 characters); ValidationException naming `member` otherwise.
Result<LayerVersionRef, aws::ApiError> parse_layer_version_arn(std::string_view arn,
                                                               std::string_view member = "arn");
// Parses a LayerName parameter: a name ([a-zA-Z0-9-_]+) or a layer ARN without
// version; at most 140 characters. Returns the plain name.
Result<std::string, aws::ApiError> parse_layer_name(std::string_view input);

// "arn:aws:lambda:REGION:ACCOUNT:layer:NAME" (+ ":VERSION" when > 0).
std::string layer_arn(std::string_view region, std::string_view account, std::string_view name,
                      int version = 0);

// Lambda's "1 validation error detected: Value 'V' at 'MEMBER' failed to satisfy constraint: C".
aws::ApiError constraint_error(std::string_view value, std::string_view member,
                               std::string_view constraint);

}  // namespace nimbus::services::lambda
