// DynamoDB's PartiQL subset, translated into the requests of existing
// operations.
//
// parse_partiql() reads one statement into a typed tree; plan_partiql() turns
// that tree plus the request's Parameters into ONE request of GetItem, Query,
// Scan, PutItem, UpdateItem or DeleteItem (or a TransactWriteItems
// ConditionCheck for ExecuteTransaction's EXISTS), written with generated
// ExpressionAttributeNames / ExpressionAttributeValues, so the service runs
// PartiQL through the handlers, storage and limits it already has. The
// generated expressions are checked with the expression parsers of
// expression.h before the plan is returned: a plan either runs or was refused
// here with DynamoDB's message.
//
// Supported (DynamoDB's PartiQL, as documented and as the service answers):
//   SELECT * | path, ... FROM "table"["."index] [WHERE cond]
//          [ORDER BY key [ASC|DESC], ...]
//   INSERT INTO "table" VALUE {'attr': value, ...}
//   UPDATE "table" SET path = value | REMOVE path ... WHERE key-and-cond
//          [RETURNING ALL|MODIFIED OLD|NEW *]
//   (also PartiQL's FROM "table" WHERE key-and-cond SET ... form)
//   DELETE FROM "table" WHERE key-and-cond [RETURNING ALL OLD *]
//   EXISTS(SELECT * FROM "table" WHERE key-and-cond)   ExecuteTransaction only
// Conditions: = <> != < <= > >= AND OR NOT, [NOT] BETWEEN, [NOT] IN [...],
// IS [NOT] MISSING / NULL / BOOLEAN / STRING / NUMERIC / BLOB / STRUCT /
// TUPLE / LIST, attribute_exists, attribute_not_exists, attribute_type,
// begins_with, contains, size. Values: 'strings' ('' escapes a quote),
// numbers, TRUE, FALSE, NULL, {'k': v} maps, [..] lists, <<..>> sets and `?`
// parameters bound in order. SET values: literals, paths, a + b, a - b,
// list_append(a, b), set_add(path, <<..>>), set_delete(path, <<..>>).
//
// Errors are aws::ApiError values with DynamoDB's texts: a statement the
// parser cannot read is a ValidationException "Statement wasn't well formed,
// can't be processed: <detail>"; an unknown table is ResourceNotFoundException
// "Requested resource not found".
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "aws/api_error.h"
#include "base/result.h"
#include "services/dynamodb/expression.h"
#include "services/dynamodb/table.h"

namespace nimbus::services::dynamodb {

// The PartiQLStatement shape's limit (botocore model: 1..8192 characters).
inline constexpr size_t kMaxPartiqlStatementChars = 8192;
// How deeply expressions, literals and parentheses may nest. Bounds every
// recursion over the statement (parser, planner, destructors), so hostile
// input cannot exhaust the stack; above DynamoDB's 32 levels of item nesting
// so that the service, not the parser, refuses an over-deep item.
inline constexpr int kMaxPartiqlNesting = 64;

namespace partiql {

// Where a node starts in the statement: byte offset and length of its first
// token. DynamoDB's messages cite it as "at <line>:<column>:<length>".
struct SourceSpan {
  uint32_t offset = 0;
  uint32_t length = 0;
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

// One node of an expression. A tagged node rather than a std::variant of
// node types: every kind has at most an operator, a payload and children,
// and the planner switches over kinds in one place per use.
struct Expr {
  enum class Kind {
    kLiteral,     // `literal`: a scalar in wire form ({"S": ..}, {"N": text}, BOOL, NULL)
    kMissing,     // the MISSING literal
    kParameter,   // `parameter`: index of this `?` in the statement (0-based)
    kPath,        // `path`: a, a.b, a[0], "quoted"
    kList,        // [children...]
    kMap,         // {children[0]: children[1], ...}: keys and values alternate
    kBag,         // <<children...>>
    kCall,        // `name`(children...): `name` lower-cased
    kNot,         // NOT children[0]
    kNegate,      // -children[0] (a number literal folds into kLiteral instead)
    kAnd,         // children[0] AND children[1] AND ...: chains are flat
    kOr,          // children[0] OR children[1] OR ...
    kCompare,     // children[0] `op` children[1]; op one of = <> < <= > >= like
    kArithmetic,  // children[0] `op` children[1]; op one of + - * / % ||
    kBetween,     // children[0] [NOT] BETWEEN children[1] AND children[2]
    kIn,          // children[0] [NOT] IN children[1] (a kList)
    kIs,          // children[0] IS [NOT] `name` (a type name, upper-cased)
  };
  Kind kind = Kind::kLiteral;
  SourceSpan span;
  boost::json::value literal;
  size_t parameter = 0;
  Path path;
  std::string name;
  std::string op;
  bool negated = false;  // NOT BETWEEN, NOT IN, IS NOT
  std::vector<ExprPtr> children;
  // Nodes on the longest way down from here, at most kMaxPartiqlNesting:
  // every recursion over a tree is bounded by it.
  int height = 1;
};

// "table" or "table"."index".
struct Source {
  std::string table;
  std::string index;  // empty: the table itself
  SourceSpan span;
};

// RETURNING ... *; DynamoDB's UpdateItem / DeleteItem ReturnValues.
enum class Returning { kNone, kAllOld, kModifiedOld, kAllNew, kModifiedNew };

struct OrderItem {
  ExprPtr key;
  bool descending = false;
};

struct Select {
  std::vector<ExprPtr> columns;  // empty: SELECT *
  Source from;
  ExprPtr where;  // null: no WHERE
  std::vector<OrderItem> order_by;
};

struct Insert {
  Source into;
  ExprPtr item;  // the VALUE tuple (a kMap)
};

struct UpdateAction {
  enum class Kind { kSet, kRemove };
  Kind kind = Kind::kSet;
  ExprPtr target;  // a kPath
  ExprPtr value;   // kSet only
};

struct Update {
  Source table;
  std::vector<UpdateAction> actions;
  ExprPtr where;
  Returning returning = Returning::kNone;
};

struct Delete {
  Source from;
  ExprPtr where;
  Returning returning = Returning::kNone;
};

// EXISTS(SELECT ...): a condition check of ExecuteTransaction.
struct Exists {
  Select select;
};

struct Statement {
  std::variant<Select, Insert, Update, Delete, Exists> body;
  size_t parameter_count = 0;  // the `?` in the text
};

}  // namespace partiql

// Reads one statement. Syntax errors are DynamoDB's "Statement wasn't well
// formed" ValidationException; constructs DynamoDB refuses while parsing
// (aliases, LIMIT, RETURNING on INSERT, ...) fail with its own texts.
Result<partiql::Statement, aws::ApiError> parse_partiql(std::string_view statement);

// The key of the table or index a statement names.
struct KeySchemaForPlan {
  KeyAttribute hash;
  std::optional<KeyAttribute> range;
};

// Answers the key schema of `table` (index empty) or of one of its indexes;
// nullopt when the table, or the index, does not exist.
using KeySchemaLookup =
    std::function<std::optional<KeySchemaForPlan>(std::string_view table, std::string_view index)>;

// A lookup answer taken from a table's definition.
std::optional<KeySchemaForPlan> key_schema_for_plan(const TableSchema& table,
                                                    std::string_view index);

// Which operation runs the statement: ExecuteStatement, a member of
// BatchExecuteStatement or of ExecuteTransaction. The latter two read by full
// primary key only, transactions take no RETURNING, and EXISTS is a
// transaction-only statement.
enum class PartiqlCaller { kExecuteStatement, kBatchExecuteStatement, kExecuteTransaction };

// A SELECT column: the value at `path` is returned under `name`, the path's
// last attribute name with any list indexes after it ("a.b[1]" -> "b[1]"),
// as DynamoDB names projected document paths.
struct PartiqlColumn {
  std::string name;
  Path path;
};

struct PartiqlPlan {
  // GetItem, Query, Scan, PutItem, UpdateItem, DeleteItem, or ConditionCheck
  // (ExecuteTransaction's EXISTS, a TransactWriteItems ConditionCheck).
  std::string operation;
  // That operation's request: TableName, Key / Item, IndexName, the
  // expressions with their names and values, ScanIndexForward, ReturnValues.
  // The caller adds ConsistentRead, Limit, ExclusiveStartKey and
  // ReturnConsumedCapacity from the PartiQL request.
  boost::json::object request;
  bool is_read = false;  // SELECT
  std::string table;     // the statement's table (BatchStatementResponse's TableName)
  // SELECT with a column list: the row shape (partiql_select_row). The
  // planned read projects the top-level attributes these paths need. Empty
  // for SELECT * and for writes.
  std::vector<PartiqlColumn> columns;
  // Replaces a ConditionalCheckFailedException of the planned write (INSERT
  // of a key that exists: DuplicateItemException).
  std::optional<aws::ApiError> condition_failed_error;
  // UPDATE / DELETE with RETURNING: the written item's Attributes are the
  // statement's single row (none when the operation returns no Attributes).
  bool returns_item = false;
};

// Plans `statement` with its Parameters (null or an array of AttributeValues,
// bound to the `?` in order; their count must match).
Result<PartiqlPlan, aws::ApiError> plan_partiql(
    std::string_view statement, const boost::json::array* parameters, const KeySchemaLookup& lookup,
    PartiqlCaller caller = PartiqlCaller::kExecuteStatement);

// The row a SELECT returns for one item the planned read returned: the item
// itself for SELECT *, else each column's value under its name (columns the
// item lacks are left out; an item lacking all of them is an empty row).
boost::json::object partiql_select_row(const PartiqlPlan& plan, const boost::json::object& item);

}  // namespace nimbus::services::dynamodb
