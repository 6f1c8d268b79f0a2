#include "deploy/template.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "deploy/intrinsics.h"
#include "deploy/sam.h"

namespace nimbus::deploy {
namespace {

// The chapter's snippet, exactly as written (line 1 is "Resources:").
constexpr std::string_view kChapter = R"(Resources:
  CreateOrderFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.create_order
      Runtime: python3.11
      MemorySize: 512
      Timeout: 30
      Environment:
        Variables:
          TABLE_NAME: !Ref OrdersTable
          QUEUE_URL: !Ref NotificationQueue
      Events:
        Api:
          Type: Api
          Properties:
            Path: /orders
            Method: POST
      ReservedConcurrentExecutions: 100
)";

Template load_ok(std::string_view text) {
  auto t = load_template(text, "template.yaml");
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().to_string());
  return t.ok() ? std::move(*t) : Template{};
}

TemplateError load_error(std::string_view text) {
  auto t = load_template(text, "template.yaml");
  EXPECT_FALSE(t.ok());
  return t.ok() ? TemplateError{} : t.error();
}

TEST(TemplateChapter, ParsesAsWrittenAndNamesUndefinedReferences) {
  Template t = load_ok(kChapter);
  EXPECT_TRUE(t.is_sam());  // no Transform, but AWS::Serverless types
  ASSERT_EQ(t.resources.size(), 1u);
  const Resource& r = t.resources[0];
  EXPECT_EQ(r.logical_id, "CreateOrderFunction");
  EXPECT_EQ(r.mark.line, 2);
  EXPECT_EQ(r.properties.find("MemorySize")->kind(), Node::Kind::kNumber);
  const Node* table = r.properties.find("Environment")->find("Variables")->find("TABLE_NAME");
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->intrinsic_name(), "Ref");

  auto errors = check_references(t);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].file, "template.yaml");
  EXPECT_EQ(errors[0].line, 11);
  EXPECT_EQ(errors[0].path,
            "Resources.CreateOrderFunction.Properties.Environment.Variables."
            "TABLE_NAME.Ref");
  EXPECT_NE(errors[0].message.find("'OrdersTable'"), std::string::npos);
  EXPECT_EQ(errors[1].line, 12);
  EXPECT_NE(errors[1].message.find("'NotificationQueue'"), std::string::npos);
  EXPECT_TRUE(errors[0].to_string().starts_with("template.yaml:11:")) << errors[0].to_string();
}

TEST(TemplateChapter, TypedModelAfterExpansion) {
  Template t = load_ok(kChapter);
  ASSERT_TRUE(sam::expand(t).ok());
  ASSERT_NE(t.resource("ServerlessRestApi"), nullptr);
  auto ctx = make_context(t, PseudoParameters{}, {});
  ASSERT_TRUE(ctx.ok());
  ctx->resources = sam::placeholder_values();
  const std::string path = "Resources.CreateOrderFunction.Properties";
  auto undefined = resolve(t.resources[0].properties, *ctx, path);
  ASSERT_FALSE(undefined.ok());
  EXPECT_EQ(undefined.error().line, 11);
  EXPECT_NE(undefined.error().message.find("'OrdersTable'"), std::string::npos);

  // As if the deploy command supplied the two missing resources.
  ctx->generated_ids = {"OrdersTable", "NotificationQueue"};
  auto props = resolve(t.resources[0].properties, *ctx, path);
  ASSERT_TRUE(props.ok()) << props.error().to_string();
  auto f = sam::parse_function(t.resources[0], *props);
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  EXPECT_EQ(f->handler, "app.create_order");
  EXPECT_EQ(f->runtime, "python3.11");
  EXPECT_EQ(f->memory_size, 512);
  EXPECT_EQ(f->timeout, 30);
  EXPECT_EQ(f->reserved_concurrency, 100);
  EXPECT_EQ(f->code_uri, ".");
  EXPECT_EQ(f->environment.at("TABLE_NAME"), "OrdersTable");  // placeholder for the Ref
  ASSERT_EQ(f->api_events.size(), 1u);
  EXPECT_EQ(f->api_events[0].path, "/orders");
  EXPECT_EQ(f->api_events[0].method, "POST");
  EXPECT_EQ(f->api_events[0].rest_api, "ServerlessRestApi");
}

TEST(TemplateYaml, ShortTagsBecomeLongForms) {
  auto short_form = parse_yaml(R"(
a: !Sub "${AWS::Region}-x"
b: !Sub ["${X}", {X: !Ref P}]
c: !GetAtt Fn.Arn
d: !GetAtt [Fn, Arn]
e: !Join [",", [a, b]]
f: !If [C, 1, !Ref AWS::NoValue]
g: !Select [0, !Split [",", "a,b"]]
h: !FindInMap [M, K, V]
i: !Base64 abc
j: !Equals [a, b]
k: !And [!Condition A, !Not [!Condition B]]
l: !Or [!Condition A, !Condition B]
m: !GetAZs ""
)",
                               "t.yaml");
  auto long_form = parse_yaml(R"({
"a": {"Fn::Sub": "${AWS::Region}-x"},
"b": {"Fn::Sub": ["${X}", {"X": {"Ref": "P"}}]},
"c": {"Fn::GetAtt": ["Fn", "Arn"]},
"d": {"Fn::GetAtt": ["Fn", "Arn"]},
"e": {"Fn::Join": [",", ["a", "b"]]},
"f": {"Fn::If": ["C", 1, {"Ref": "AWS::NoValue"}]},
"g": {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]},
"h": {"Fn::FindInMap": ["M", "K", "V"]},
"i": {"Fn::Base64": "abc"},
"j": {"Fn::Equals": ["a", "b"]},
"k": {"Fn::And": [{"Condition": "A"}, {"Fn::Not": [{"Condition": "B"}]}]},
"l": {"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]},
"m": {"Fn::GetAZs": ""}})",
                              "t.json");
  ASSERT_TRUE(short_form.ok()) << short_form.error().to_string();
  ASSERT_TRUE(long_form.ok()) << long_form.error().to_string();
  for (const auto& e : long_form->entries()) EXPECT_EQ(*short_form->find(e.key), e.value) << e.key;
}

TEST(TemplateYaml, GetAttSplitsAtTheFirstDot) {
  auto n = parse_yaml("x: !GetAtt Stack.Outputs.Url", "t.yaml");
  ASSERT_TRUE(n.ok());
  const Node* args = n->find("x")->find("Fn::GetAtt");
  ASSERT_NE(args, nullptr);
  ASSERT_EQ(args->items().size(), 2u);
  EXPECT_EQ(args->items()[0].text(), "Stack");
  EXPECT_EQ(args->items()[1].text(), "Outputs.Url");
}

TEST(TemplateYaml, ScalarsAreTypedOnlyWhenPlain) {
  auto n = parse_yaml("a: 1\nb: '1'\nc: true\nd: \"true\"\ne: ~\nf: 1.5e3\ng: !!str 12\nh: x1",
                      "t.yaml");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->find("a")->kind(), Node::Kind::kNumber);
  EXPECT_EQ(n->find("b")->kind(), Node::Kind::kString);
  EXPECT_EQ(n->find("c")->kind(), Node::Kind::kBool);
  EXPECT_EQ(n->find("d")->kind(), Node::Kind::kString);
  EXPECT_EQ(n->find("e")->kind(), Node::Kind::kNull);
  EXPECT_EQ(n->find("f")->kind(), Node::Kind::kNumber);
  EXPECT_EQ(n->find("g")->kind(), Node::Kind::kString);
  EXPECT_EQ(n->find("h")->kind(), Node::Kind::kString);
  EXPECT_EQ(to_json(*n), boost::json::parse(R"({"a":1,"b":"1","c":true,"d":"true","e":null,
      "f":1500.0,"g":"12","h":"x1"})"));
}

TEST(TemplateYaml, SyntaxErrorsHaveAPosition) {
  auto n = parse_yaml("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().file, "bad.yaml");
  EXPECT_GE(n.error().line, 2);
  EXPECT_NE(n.error().message.find("YAML syntax error"), std::string::npos);
  EXPECT_TRUE(n.error().to_string().starts_with("bad.yaml:")) << n.error().to_string();
}

TEST(TemplateYaml, RejectsDuplicateKeysUnknownTagsAndBadRefs) {
  auto dup = parse_yaml("a: 1\nb: 2\na: 3\n", "t.yaml");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().line, 3);
  EXPECT_NE(dup.error().message.find("duplicate key 'a'"), std::string::npos);

  auto tag = parse_yaml("a: !Bogus x\n", "t.yaml");
  ASSERT_FALSE(tag.ok());
  EXPECT_NE(tag.error().message.find("unknown tag '!Bogus'"), std::string::npos);

  auto ref = parse_yaml("a: !Ref [x]\n", "t.yaml");
  ASSERT_FALSE(ref.ok());
}

TEST(TemplateYaml, AliasExpansionIsBounded) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'j'; ++c, ++prev)
    bomb += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" +
            prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
            ", *" + prev + "]\n";
  auto n = parse_yaml(bomb, "t.yaml");
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.error().message.find("too large"), std::string::npos);

  auto small = parse_yaml("a: &x {k: v}\nb: *x\n", "t.yaml");
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->find("b")->find("k")->text(), "v");
}

TEST(TemplateLoad, ImportValueIsRejectedInBothForms) {
  std::pair<std::string_view, int> cases[] = {
      {"Resources:\n  A:\n    Type: X\n    Properties:\n      P: !ImportValue Exp\n", 5},
      {"Resources:\n  A:\n    Type: X\n    Properties:\n      P:\n        Fn::ImportValue: Exp\n",
       6}};
  for (auto [text, line] : cases) {
    TemplateError e = load_error(text);
    EXPECT_EQ(e.code, TemplateError::Code::kUnsupported);
    EXPECT_EQ(e.line, line);
    EXPECT_NE(e.message.find("Fn::ImportValue is not supported"), std::string::npos);
    EXPECT_EQ(e.path, "Resources.A.Properties.P.Fn::ImportValue");
  }
}

TEST(TemplateLoad, ChecksSectionShapes) {
  EXPECT_NE(load_error("Outputs: {}\n").message.find("no Resources"), std::string::npos);
  EXPECT_NE(load_error("Resources: {}\n").message.find("non-empty"), std::string::npos);
  TemplateError section = load_error("Resourcs:\n  A: {Type: X}\nResources:\n  A: {Type: X}\n");
  EXPECT_EQ(section.path, "Resourcs");
  EXPECT_EQ(section.line, 1);
  TemplateError attr = load_error("Resources:\n  A:\n    Type: X\n    Propertes: {}\n");
  EXPECT_EQ(attr.path, "Resources.A.Propertes");
  EXPECT_EQ(attr.line, 4);
  EXPECT_NE(load_error("Resources:\n  A:\n    Properties: {}\n").message.find("needs a Type"),
            std::string::npos);
  EXPECT_NE(load_error("Resources:\n  my-fn:\n    Type: X\n").message.find("alphanumeric"),
            std::string::npos);
  TemplateError transform = load_error("Transform: AWS::Include\nResources:\n  A:\n    Type: X\n");
  EXPECT_EQ(transform.code, TemplateError::Code::kUnsupported);
  EXPECT_EQ(load_error("[1, 2]").message, "a template must be a map");
  EXPECT_NE(load_error("").message.find("empty"), std::string::npos);
}

TEST(TemplateLoad, ReadsResourcesOutputsAndTransform) {
  Template t = load_ok(R"(
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: demo
Conditions:
  IsProd: !Equals [!Ref AWS::StackName, prod]
Resources:
  A:
    Type: AWS::Serverless::LayerVersion
    Condition: IsProd
    DependsOn: B
    Properties: {ContentUri: layer/}
  B:
    Type: AWS::Serverless::LayerVersion
    DependsOn: [A]
    Properties:
Outputs:
  Url:
    Description: the url
    Value: !Sub "https://${B}"
    Export:
      Name: !Sub "${AWS::StackName}-url"
)");
  EXPECT_EQ(t.transforms, std::vector<std::string>{"AWS::Serverless-2016-10-31"});
  EXPECT_EQ(t.description, "demo");
  ASSERT_EQ(t.resources.size(), 2u);
  EXPECT_EQ(t.resources[0].condition, "IsProd");
  EXPECT_EQ(t.resources[0].depends_on, std::vector<std::string>{"B"});
  EXPECT_EQ(t.resources[1].depends_on, std::vector<std::string>{"A"});
  EXPECT_TRUE(t.resources[1].properties.is_map());
  ASSERT_EQ(t.outputs.size(), 1u);
  EXPECT_EQ(t.outputs[0].description, "the url");
  ASSERT_TRUE(t.outputs[0].export_name.has_value());
  EXPECT_EQ(t.outputs[0].export_name->intrinsic_name(), "Fn::Sub");
}

TEST(TemplateLoad, JsonTemplatesAreAccepted) {
  Template t = load_ok(R"({"Resources": {"Q": {"Type": "AWS::SQS::Queue",
      "Properties": {"DelaySeconds": 5}}}})");
  ASSERT_EQ(t.resources.size(), 1u);
  EXPECT_FALSE(t.is_sam());
  EXPECT_EQ(t.resources[0].properties.find("DelaySeconds")->text(), "5");
}

TEST(TemplateError, FormatsFileLineColumnPathMessage) {
  TemplateError e{TemplateError::Code::kInvalid,    "template.yaml",      12, 7,
                  "Resources.X.Properties.Timeout", "expected an integer"};
  EXPECT_EQ(e.to_string(),
            "template.yaml:12:7: Resources.X.Properties.Timeout: expected an integer");
  TemplateError whole{TemplateError::Code::kInvalid, "t.yaml", 0, 0, "", "bad"};
  EXPECT_EQ(whole.to_string(), "t.yaml: bad");
}

// ---------------------------------------------------------------------------
// Parameters

constexpr std::string_view kParams = R"(
Parameters:
  Stage:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
  Name:
    Type: String
    AllowedPattern: "[a-z]+"
    MinLength: 2
    MaxLength: 5
    ConstraintDescription: lower-case letters
  Memory:
    Type: Number
    Default: 128
    MinValue: 128
    MaxValue: 1024
  Subnets:
    Type: CommaDelimitedList
    Default: "a, b,c"
  Ports:
    Type: List<Number>
    Default: "80,443"
Resources:
  A: {Type: X}
)";

TEST(TemplateParameters, DefaultsOverridesAndLists) {
  Template t = load_ok(kParams);
  auto v = bind_parameters(t, {{"Name", "abc"}, {"Memory", "512"}});
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  EXPECT_EQ(v->at("Stage").values, std::vector<std::string>{"dev"});
  EXPECT_EQ(v->at("Memory").values, std::vector<std::string>{"512"});
  EXPECT_TRUE(v->at("Subnets").is_list);
  EXPECT_EQ(v->at("Subnets").values, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(v->at("Ports").values, (std::vector<std::string>{"80", "443"}));
}

TEST(TemplateParameters, MissingRequiredParameterIsNamed) {
  Template t = load_ok(kParams);
  auto v = bind_parameters(t, {});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().path, "Parameters.Name");
  EXPECT_EQ(v.error().line, 7);
  EXPECT_NE(v.error().message.find("'Name' has no Default"), std::string::npos);
}

TEST(TemplateParameters, EnforcesConstraints) {
  Template t = load_ok(kParams);
  auto bad = [&](std::map<std::string, std::string> o) {
    o.emplace("Name", "abc");
    auto v = bind_parameters(t, o);
    EXPECT_FALSE(v.ok());
    return v.ok() ? std::string() : v.error().message;
  };
  EXPECT_NE(bad({{"Stage", "test"}}).find("AllowedValues"), std::string::npos);
  EXPECT_NE(bad({{"Name", "ABC"}}).find("AllowedPattern"), std::string::npos);
  EXPECT_NE(bad({{"Name", "ABC"}}).find("(lower-case letters)"), std::string::npos);
  EXPECT_NE(bad({{"Name", "a"}}).find("MinLength"), std::string::npos);
  EXPECT_NE(bad({{"Name", "abcdef"}}).find("MaxLength"), std::string::npos);
  EXPECT_NE(bad({{"Memory", "64"}}).find("MinValue"), std::string::npos);
  EXPECT_NE(bad({{"Memory", "2048"}}).find("MaxValue"), std::string::npos);
  EXPECT_NE(bad({{"Memory", "lots"}}).find("not a number"), std::string::npos);
  EXPECT_NE(bad({{"Ports", "80,http"}}).find("not a number"), std::string::npos);
  EXPECT_NE(bad({{"Nope", "1"}}).find("not declared"), std::string::npos);
}

TEST(TemplateParameters, RejectsUnsupportedTypes) {
  TemplateError ssm = load_error(
      "Parameters:\n  P:\n    Type: AWS::SSM::Parameter::Value<String>\nResources:\n  A: {Type: "
      "X}\n");
  EXPECT_EQ(ssm.code, TemplateError::Code::kUnsupported);
  EXPECT_EQ(ssm.path, "Parameters.P.Type");
  EXPECT_EQ(ssm.line, 3);
  TemplateError unknown =
      load_error("Parameters:\n  P:\n    Type: Strin\nResources:\n  A: {Type: X}\n");
  EXPECT_EQ(unknown.code, TemplateError::Code::kInvalid);
}

TEST(TemplateParameters, ParsesOverrides) {
  auto o = parse_overrides({"A=1", "B=x=y", "C="});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->at("B"), "x=y");
  EXPECT_EQ(o->at("C"), "");
  EXPECT_FALSE(parse_overrides({"novalue"}).ok());
  EXPECT_FALSE(parse_overrides({"=v"}).ok());
}

}  // namespace
}  // namespace nimbus::deploy
