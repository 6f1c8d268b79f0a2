#include "deploy/intrinsics.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace nimbus::deploy {
namespace {

Template load(std::string_view text) {
  auto t = load_template(text, "t.yaml");
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().to_string());
  return t.ok() ? std::move(*t) : Template{};
}

PseudoParameters pseudo() {
  PseudoParameters p;
  p.region = "eu-west-1";
  p.account_id = "123456789012";
  p.stack_name = "shop";
  p.stack_id = "arn:aws:cloudformation:eu-west-1:123456789012:stack/shop/1";
  return p;
}

// Resolves the value of the property X of resource R.
Result<Node, TemplateError> resolve_prop(const Template& t, const Context& ctx,
                                         std::string_view prop, std::string_view res = "R") {
  const Node* n = t.resource(res)->properties.find(prop);
  EXPECT_NE(n, nullptr) << prop;
  return resolve(*n, ctx, "Resources.R.Properties." + std::string(prop));
}

std::string text_of(const Result<Node, TemplateError>& r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
  return r.ok() ? r->text() : "";
}

constexpr std::string_view kTemplate = R"(
Parameters:
  Stage: {Type: String, Default: dev}
  Zones: {Type: CommaDelimitedList, Default: "a,b,c"}
Mappings:
  Sizes:
    dev: {Memory: 128}
    prod: {Memory: 1024}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsDev, !Equals [1, "1"]]
  Either: !Or [!Condition IsProd, !Equals [!Ref AWS::Region, eu-west-1]]
Resources:
  Table: {Type: X}
  ProdOnly: {Type: X, Condition: IsProd}
  R:
    Type: X
    Properties:
      Region: !Ref AWS::Region
      Account: !Ref AWS::AccountId
      Stack: !Ref AWS::StackName
      StackId: !Ref AWS::StackId
      Partition: !Ref AWS::Partition
      Suffix: !Ref AWS::URLSuffix
      Gone: !Ref AWS::NoValue
      IfProd: !If [IsProd, big, !Ref AWS::NoValue]
      IfDev: !If [IsDev, small, big]
      List: [a, !If [IsProd, b, !Ref AWS::NoValue], c]
      Sub: !Sub "${AWS::StackName}-${Stage}-${!Literal}"
      SubMap: !Sub ["${Greeting} ${Table}", {Greeting: !Ref Stage}]
      SubAttr: !Sub "${Table.Arn}"
      Join: !Join ["-", !Ref Zones]
      Select: !Select [1, !Split ["/", "x/y/z"]]
      Find: !FindInMap [Sizes, !Ref Stage, Memory]
      Missing: !FindInMap [Sizes, test, Memory]
      B64: !Base64 "hello"
      Azs: !GetAZs ""
      TableRef: !Ref Table
      TableArn: !GetAtt Table.Arn
      Disabled: !Ref ProdOnly
      Eq: !Equals [a, a]
      OutOfRange: !Select [5, [a]]
)";

Context context(const Template& t, std::map<std::string, std::string> overrides = {}) {
  auto ctx = make_context(t, pseudo(), overrides);
  EXPECT_TRUE(ctx.ok()) << (ctx.ok() ? "" : ctx.error().to_string());
  Context c = ctx.ok() ? std::move(*ctx) : Context{};
  c.resources.ref = [](std::string_view id) -> std::optional<std::string> {
    if (id == "Table") return "shop-Table-XYZ";
    return std::nullopt;
  };
  c.resources.get_att = [](std::string_view id, std::string_view attr) -> std::optional<Node> {
    if (id == "Table" && attr == "Arn") return Node::string("arn:aws:dynamodb:table/x");
    return std::nullopt;
  };
  return c;
}

TEST(IntrinsicPseudo, ParametersComeFromTheContext) {
  Template t = load(kTemplate);
  Context ctx = context(t);
  EXPECT_EQ(text_of(resolve_prop(t, ctx, "Region")), "eu-west-1");
  EXPECT_EQ(text_of(resolve_prop(t, ctx, "Account")), "123456789012");
  EXPECT_EQ(text_of(resolve_prop(t, ctx, "Stack")), "shop");
  EXPECT_EQ(text_of(resolve_prop(t, ctx, "StackId")), pseudo().stack_id);
  EXPECT_EQ(text_of(resolve_prop(t, ctx, "Partition")), "aws");
  EXPECT_EQ(text_of(resolve_prop(t, ctx, "Suffix")), "amazonaws.com");
}

TEST(IntrinsicNoValue, RemovesThePropertyOrItem) {
  Template t = load(kTemplate);
  Context ctx = context(t);
  // Missing/Disabled/Eq/OutOfRange fail; resolve a copy without them.
  Node copy = t.resource("R")->properties;
  for (auto k : {"Missing", "Disabled", "Eq", "OutOfRange"}) copy.erase(k);
  auto r = resolve(copy, ctx, "Resources.R.Properties");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->find("Gone"), nullptr);
  EXPECT_EQ(r->find("IfProd"), nullptr);
  EXPECT_EQ(r->find("IfDev")->text(), "small");
  EXPECT_EQ(to_json(*r->find("List")), boost::json::parse(R"(["a","c"])"));

  Context prod = context(t, {{"Stage", "prod"}});
  auto p = resolve(copy, prod, "Resources.R.Properties");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->find("IfProd")->text(), "big");
  EXPECT_EQ(to_json(*p->find("List")), boost::json::parse(R"(["a","b","c"])"));
  EXPECT_EQ(p->find("Find")->text(), "1024");
}

TEST(IntrinsicFunctions, SubJoinSelectSplitFindInMapBase64GetAZs) {
  Template t = load(kTemplate);
  Context ctx = context(t);
  EXPECT_EQ(text_of(resolve_prop(t, ctx, "Sub")), "shop-dev-${Literal}");
  EXPECT_EQ(text_of(resolve_prop(t, ctx, "SubMap")), "dev shop-Table-XYZ");
  EXPECT_EQ(text_of(resolve_prop(t, ctx, "SubAttr")), "arn:aws:dynamodb:table/x");
  EXPECT_EQ(text_of(resolve_prop(t, ctx, "Join")), "a-b-c");
  EXPECT_EQ(text_of(resolve_prop(t, ctx, "Select")), "y");
  EXPECT_EQ(text_of(resolve_prop(t, ctx, "Find")), "128");
  EXPECT_EQ(text_of(resolve_prop(t, ctx, "B64")), "aGVsbG8=");
  EXPECT_EQ(text_of(resolve_prop(t, ctx, "TableRef")), "shop-Table-XYZ");
  EXPECT_EQ(text_of(resolve_prop(t, ctx, "TableArn")), "arn:aws:dynamodb:table/x");
  auto azs = resolve_prop(t, ctx, "Azs");
  ASSERT_TRUE(azs.ok());
  EXPECT_EQ(to_json(*azs), boost::json::parse(R"(["eu-west-1a","eu-west-1b","eu-west-1c"])"));
}

TEST(IntrinsicFunctions, ErrorsNameThePathAndLine) {
  Template t = load(kTemplate);
  Context ctx = context(t);
  auto missing = resolve_prop(t, ctx, "Missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("Mappings.Sizes.test"), std::string::npos);
  EXPECT_EQ(missing.error().path, "Resources.R.Properties.Missing.Fn::FindInMap");
  EXPECT_EQ(missing.error().line, 36);

  auto disabled = resolve_prop(t, ctx, "Disabled");
  ASSERT_FALSE(disabled.ok());
  EXPECT_NE(disabled.error().message.find("condition 'IsProd' is false"), std::string::npos);

  auto eq = resolve_prop(t, ctx, "Eq");
  ASSERT_FALSE(eq.ok());
  EXPECT_NE(eq.error().message.find("only be used in Conditions"), std::string::npos);

  auto range = resolve_prop(t, ctx, "OutOfRange");
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.error().message.find("out of range"), std::string::npos);
}

TEST(IntrinsicFunctions, UnknownResourceValuesArePending) {
  Template t = load(
      "Resources:\n  Q: {Type: X}\n  R:\n    Type: X\n    Properties:\n      A: !GetAtt Q.Arn\n"
      "      B: !Sub '${Q}'\n");
  Context ctx = context(t);  // knows only Table
  for (auto prop : {"A", "B"}) {
    auto r = resolve_prop(t, ctx, prop);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, TemplateError::Code::kPending) << prop;
  }
}

TEST(IntrinsicConditions, EvaluatesEveryCondition) {
  Template t = load(kTemplate);
  Context dev = context(t);
  EXPECT_FALSE(dev.conditions.at("IsProd"));
  EXPECT_TRUE(dev.conditions.at("IsDev"));
  EXPECT_TRUE(dev.conditions.at("Both"));  // 1 and "1" are equal
  EXPECT_TRUE(dev.conditions.at("Either"));
  Context prod = context(t, {{"Stage", "prod"}});
  EXPECT_TRUE(prod.conditions.at("IsProd"));
  EXPECT_FALSE(prod.conditions.at("Both"));
}

TEST(IntrinsicConditions, RejectsCyclesUndefinedNamesAndResources) {
  auto err = [](std::string conds) {
    Template t = load("Conditions:\n" + conds + "Resources:\n  A: {Type: X}\n");
    auto ctx = make_context(t, pseudo(), {});
    EXPECT_FALSE(ctx.ok());
    return ctx.ok() ? std::string() : ctx.error().message;
  };
  EXPECT_NE(err("  A: !Condition B\n  B: !Not [!Condition A]\n").find("refers to itself"),
            std::string::npos);
  EXPECT_NE(err("  A: !Condition Nope\n").find("'Nope' is not defined"), std::string::npos);
  EXPECT_NE(err("  A: !Equals [!Ref A, x]\n").find("cannot refer to resources"), std::string::npos);
  EXPECT_NE(err("  A: !And [!Equals [a, a]]\n").find("2 to 10"), std::string::npos);
  EXPECT_NE(err("  A: yes\n").find("expected a condition function"), std::string::npos);
}

TEST(IntrinsicSub, ParsesVariablesAndEscapes) {
  auto parts = parse_sub("a${X}b${ Y.Z }${!Lit}");
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 5u);
  EXPECT_EQ((*parts)[1].text, "X");
  EXPECT_TRUE((*parts)[3].is_var);
  EXPECT_EQ((*parts)[3].text, "Y.Z");
  EXPECT_EQ((*parts)[4].text, "${Lit}");
  EXPECT_FALSE(parse_sub("${open").ok());
  EXPECT_FALSE(parse_sub("${}").ok());
}

// ---------------------------------------------------------------------------
// References and order

constexpr std::string_view kGraph = R"(
Conditions:
  Never: !Equals [a, b]
Resources:
  Fn:
    Type: X
    Properties:
      Table: !Ref Table
      Queue: !Sub "${Queue.Arn}/${AWS::Region}"
      Maybe: !If [Never, !Ref Optional, none]
  Table: {Type: X}
  Queue: {Type: X, DependsOn: Table}
  Optional: {Type: X, Condition: Never}
  Api:
    Type: X
    Properties: {Target: !GetAtt Fn.Arn}
Outputs:
  Out: {Value: !Ref Api}
)";

TEST(IntrinsicDependencies, FollowRefGetAttSubAndDependsOn) {
  Template t = load(kGraph);
  auto deps = dependencies(t);
  EXPECT_EQ(deps.at("Fn"), (std::set<std::string>{"Optional", "Queue", "Table"}));
  EXPECT_EQ(deps.at("Queue"), std::set<std::string>{"Table"});
  EXPECT_EQ(deps.at("Api"), std::set<std::string>{"Fn"});

  auto ctx = make_context(t, pseudo(), {});
  ASSERT_TRUE(ctx.ok());
  auto pruned = dependencies(t, &ctx->conditions);
  EXPECT_EQ(pruned.count("Optional"), 0u);  // its condition is false
  EXPECT_EQ(pruned.at("Fn"), (std::set<std::string>{"Queue", "Table"}));

  auto order = creation_order(t, pruned);
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(*order, (std::vector<std::string>{"Table", "Queue", "Fn", "Api"}));
}

TEST(IntrinsicDependencies, CycleIsAnErrorNamingIt) {
  Template t = load(R"(
Resources:
  A: {Type: X, Properties: {P: !Ref B}}
  B: {Type: X, Properties: {P: !GetAtt C.Arn}}
  C: {Type: X, DependsOn: A}
  D: {Type: X}
)");
  auto order = creation_order(t, dependencies(t));
  ASSERT_FALSE(order.ok());
  EXPECT_NE(order.error().message.find("A -> B -> C -> A"), std::string::npos)
      << order.error().message;
  EXPECT_EQ(order.error().line, 3);
}

TEST(IntrinsicReferences, ReportsEveryUndefinedTarget) {
  Template t = load(R"(
Parameters:
  P: {Type: String, Default: x}
Resources:
  A:
    Type: X
    DependsOn: Ghost
    Condition: NoSuchCondition
    Properties:
      Ok1: !Ref P
      Ok2: !Sub ["${P}-${V}-${AWS::Region}", {V: x}]
      Bad1: !GetAtt P.Arn
      Bad2: !Sub "${Missing.Arn}"
      Bad3: !If [Unknown, a, b]
Outputs:
  O: {Value: !Ref Nothing}
)");
  auto errors = check_references(t);
  std::vector<std::string> paths;
  for (const auto& e : errors) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{
                       "Resources.A.Properties.Bad1.Fn::GetAtt",
                       "Resources.A.Properties.Bad2.Fn::Sub",
                       "Resources.A.Properties.Bad3.Fn::If",
                       "Resources.A.DependsOn",
                       "Resources.A.Condition",
                       "Outputs.O.Value.Ref",
                   }));
  EXPECT_EQ(errors[0].line, 12);
  EXPECT_EQ(errors.back().line, 16);
}

}  // namespace
}  // namespace nimbus::deploy
