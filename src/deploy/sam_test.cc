#include "deploy/sam.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace nimbus::deploy::sam {
namespace {

Template load(std::string_view text) {
  auto t = load_template(text, "template.yaml");
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().to_string());
  return t.ok() ? std::move(*t) : Template{};
}

Template expanded(std::string_view text) {
  Template t = load(text);
  auto r = expand(t);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
  return t;
}

// Resolves a resource with placeholder resource values and parses it.
template <class F>
auto parsed(const Template& t, std::string_view id, F parse) {
  auto ctx = make_context(t, PseudoParameters{}, {});
  EXPECT_TRUE(ctx.ok()) << (ctx.ok() ? "" : ctx.error().to_string());
  ctx->resources = placeholder_values();
  const Resource* r = t.resource(id);
  EXPECT_NE(r, nullptr) << id;
  auto props = resolve(r->properties, *ctx, r->path() + ".Properties");
  EXPECT_TRUE(props.ok()) << (props.ok() ? "" : props.error().to_string());
  return parse(*r, *props);
}

// ---------------------------------------------------------------------------
// Globals

constexpr std::string_view kGlobals = R"(
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
    Layers: [!Ref Shared]
    Environment:
      Variables: {TABLE: t, LEVEL: info}
    CodeUri: !Sub "s3://${AWS::Region}/code.zip"
  Api:
    Cors: "'*'"
Resources:
  Shared: {Type: AWS::Serverless::LayerVersion, Properties: {ContentUri: layer/}}
  A:
    Type: AWS::Serverless::Function
    Properties:
      Handler: a.handler
      Timeout: 20
      Layers: [arn:aws:lambda:us-east-1:123456789012:layer:x:1]
      Environment:
        Variables: {LEVEL: debug}
      CodeUri: {Bucket: b, Key: k}
  B:
    Type: AWS::Serverless::Function
    IgnoreGlobals: [Layers]
    Properties:
      Handler: b.handler
      Events:
        Get: {Type: Api, Properties: {Path: /b, Method: get}}
)";

TEST(SamGlobals, MergeAsSamDoes) {
  Template t = expanded(kGlobals);
  const Node& a = t.resource("A")->properties;
  EXPECT_EQ(a.find("Runtime")->text(), "python3.12");  // inherited
  EXPECT_EQ(a.find("Timeout")->text(), "20");          // local scalar wins
  // Lists concatenate, globals first.
  ASSERT_EQ(a.find("Layers")->items().size(), 2u);
  EXPECT_EQ(a.find("Layers")->items()[0].intrinsic_name(), "Ref");
  // Maps merge key by key, local wins.
  auto env = to_json(*a.find("Environment"));
  EXPECT_EQ(env, boost::json::parse(R"({"Variables":{"TABLE":"t","LEVEL":"debug"}})"));
  // An intrinsic is a scalar: a local map replaces it rather than merging.
  EXPECT_EQ(to_json(*a.find("CodeUri")), boost::json::parse(R"({"Bucket":"b","Key":"k"})"));

  const Node& b = t.resource("B")->properties;
  EXPECT_EQ(b.find("Layers"), nullptr);  // IgnoreGlobals
  EXPECT_EQ(b.find("Runtime")->text(), "python3.12");

  // The implicit API gets Globals.Api too.
  const Resource* api = t.resource("ServerlessRestApi");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->properties.find("Cors")->text(), "'*'");
  EXPECT_EQ(api->properties.find("StageName")->text(), "Prod");
}

TEST(SamGlobals, RejectsUnknownSectionsAndProperties) {
  auto err = [](std::string globals) {
    Template t =
        load("Globals:\n" + globals + "Resources:\n  F: {Type: AWS::Serverless::Function}\n");
    auto r = apply_globals(t);
    EXPECT_FALSE(r.ok());
    return r.ok() ? TemplateError{} : r.error();
  };
  TemplateError prop = err("  Function:\n    Events: {}\n");
  EXPECT_EQ(prop.path, "Globals.Function.Events");
  EXPECT_EQ(prop.line, 3);
  EXPECT_NE(prop.message.find("'Events' is not a supported property of 'Function'"),
            std::string::npos);
  EXPECT_NE(err("  Queue:\n    X: 1\n").message.find("'Queue' is not supported"),
            std::string::npos);
}

// ---------------------------------------------------------------------------
// Implicit and explicit APIs

constexpr std::string_view kApis = R"(
Resources:
  MyApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      Auth:
        Authorizers:
          Token: {FunctionArn: !GetAtt AuthFn.Arn}
  AuthFn:
    Type: AWS::Serverless::Function
    Properties: {Handler: a.h, Runtime: python3.12}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: f.h
      Runtime: python3.12
      Events:
        Explicit: {Type: Api, Properties: {Path: /x, Method: any, RestApiId: !Ref MyApi}}
        Implicit: {Type: Api, Properties: {Path: /y, Method: GET}}
        Http: {Type: HttpApi}
)";

TEST(SamImplicitApis, CreatedWithSamStagesAndDependencies) {
  Template t = expanded(kApis);
  const Resource* rest = t.resource("ServerlessRestApi");
  const Resource* http = t.resource("ServerlessHttpApi");
  ASSERT_NE(rest, nullptr);
  ASSERT_NE(http, nullptr);
  EXPECT_TRUE(rest->generated);
  EXPECT_EQ(rest->properties.find("StageName")->text(), "Prod");
  EXPECT_EQ(http->properties.find("StageName")->text(), "$default");
  EXPECT_EQ(rest->mark.line, 20);  // the first event that needed it

  // APIs depend on the functions they route to, not the other way round,
  // so an API whose authorizer is a function of the template has no cycle.
  auto deps = dependencies(t);
  EXPECT_EQ(deps.at("Fn"), std::set<std::string>{});
  EXPECT_EQ(deps.at("MyApi"), (std::set<std::string>{"AuthFn", "Fn"}));
  EXPECT_EQ(deps.at("ServerlessRestApi"), std::set<std::string>{"Fn"});
  auto order = creation_order(t, deps);
  ASSERT_TRUE(order.ok()) << order.error().to_string();
  EXPECT_EQ(*order, (std::vector<std::string>{"AuthFn", "Fn", "MyApi", "ServerlessRestApi",
                                              "ServerlessHttpApi"}));

  auto f = parsed(t, "Fn", parse_function);
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  ASSERT_EQ(f->api_events.size(), 2u);
  EXPECT_EQ(f->api_events[0].rest_api, "MyApi");
  EXPECT_EQ(f->api_events[0].method, "ANY");
  EXPECT_EQ(f->api_events[1].rest_api, "ServerlessRestApi");
  ASSERT_EQ(f->http_api_events.size(), 1u);
  EXPECT_TRUE(f->http_api_events[0].is_default_route());
  EXPECT_EQ(f->http_api_events[0].api, "ServerlessHttpApi");
  EXPECT_EQ(f->http_api_events[0].payload_format_version, "2.0");

  auto api = parsed(t, "ServerlessRestApi", parse_api);
  ASSERT_TRUE(api.ok());
  EXPECT_TRUE(api->implicit);
  EXPECT_EQ(api->stage_name, "Prod");
  EXPECT_TRUE(check_references(t, generated_ids(t)).empty());
}

TEST(SamImplicitApis, RestApiIdMustReferenceAnApiOfTheTemplate) {
  for (auto id : {"abc123", "!Ref Other", "!Ref Fn"}) {
    Template t = load(std::string(R"(
Resources:
  Other: {Type: AWS::Serverless::HttpApi}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        E: {Type: Api, Properties: {Path: /, Method: get, RestApiId: )") +
                      id + "}}\n");
    auto r = expand(t);
    ASSERT_FALSE(r.ok()) << id;
    EXPECT_EQ(r.error().path, "Resources.Fn.Properties.Events.E.Properties.RestApiId");
    EXPECT_EQ(r.error().line, 8);
  }
}

TEST(SamGeneratedIds, FunctionRoleAndImplicitApisAreReferable) {
  Template t = expanded(R"(
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: h
      Runtime: python3.12
      Events:
        E: {Type: Api, Properties: {Path: /, Method: get}}
Outputs:
  Url: {Value: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/Prod/"}
  Role: {Value: !GetAtt FnRole.Arn}
)");
  EXPECT_TRUE(check_references(t, generated_ids(t)).empty());
  EXPECT_EQ(check_references(t).size(), 1u);  // FnRole without the generated ids
}

// ---------------------------------------------------------------------------
// Unsupported items

TEST(SamUnsupported, OneErrorPerTypeEventAndProperty) {
  Template t = load(R"(
Resources:
  Queue: {Type: AWS::SQS::Queue}
  Machine: {Type: AWS::Serverless::StateMachine}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: h
      Runtime: python3.12
      Policies: [AWSLambdaBasicExecutionRole]
      SnapStart: {ApplyOn: PublishedVersions}
      Events:
        Q: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn}}
        Web: {Type: Api, Properties: {Path: /, Method: get}}
)");
  auto errors = unsupported(t);
  ASSERT_EQ(errors.size(), 4u);
  for (const auto& e : errors) EXPECT_EQ(e.code, TemplateError::Code::kUnsupported);
  EXPECT_EQ(errors[0].to_string(),
            "template.yaml:3:3: Resources.Queue.Type: resource type 'AWS::SQS::Queue' is not "
            "supported yet");
  EXPECT_EQ(errors[1].line, 4);
  EXPECT_NE(errors[1].message.find("AWS::Serverless::StateMachine"), std::string::npos);
  EXPECT_EQ(errors[2].path, "Resources.Fn.Properties.SnapStart");
  EXPECT_EQ(errors[3].path, "Resources.Fn.Properties.Events.Q.Type");
  EXPECT_NE(errors[3].message.find("'SQS'"), std::string::npos);
  EXPECT_EQ(errors[3].line, 13);
}

// ---------------------------------------------------------------------------
// Typed models

TEST(SamFunction, DefaultsAndValidation) {
  Template t = load(R"(
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties: {Handler: h, Runtime: nodejs20.x, InlineCode: "exports.h=1"}
)");
  auto f = parsed(t, "Fn", parse_function);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->memory_size, 128);
  EXPECT_EQ(f->timeout, 3);
  EXPECT_EQ(f->architecture, "x86_64");
  EXPECT_EQ(f->inline_code, "exports.h=1");
  EXPECT_FALSE(f->reserved_concurrency.has_value());

  auto bad = [](std::string props) {
    Template t =
        load("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n" + props);
    auto f = parsed(t, "Fn", parse_function);
    EXPECT_FALSE(f.ok()) << props;
    return f.ok() ? TemplateError{} : f.error();
  };
  TemplateError timeout = bad("      Handler: h\n      Runtime: r\n      Timeout: soon\n");
  EXPECT_EQ(timeout.to_string(),
            "template.yaml:7:16: Resources.Fn.Properties.Timeout: expected an integer");
  EXPECT_NE(bad("      Handler: h\n      Runtime: r\n      MemorySize: 64\n")
                .message.find("between 128 and 10240"),
            std::string::npos);
  EXPECT_EQ(bad("      Runtime: r\n").path, "Resources.Fn.Properties.Handler");
  EXPECT_EQ(bad("      Handler: h\n      Runtime: r\n      Architectures: [x86_64, arm64]\n").path,
            "Resources.Fn.Properties.Architectures");
  EXPECT_EQ(bad("      Handler: h\n      Runtime: r\n      Environment:\n        Variables:\n"
                "          1BAD: x\n")
                .path,
            "Resources.Fn.Properties.Environment.Variables.1BAD");
  EXPECT_EQ(bad("      Handler: h\n      Runtime: r\n      Events:\n        E:\n"
                "          Type: Api\n          Properties: {Method: get}\n")
                .path,
            "Resources.Fn.Properties.Events.E.Properties.Path");
}

// SAM: ProvisionedConcurrencyConfig goes on the AutoPublishAlias, which it
// requires ("To set ProvisionedConcurrencyConfig AutoPublishALias must be
// defined on the function"); ProvisionedConcurrentExecutions is required, >= 1.
TEST(SamFunction, ProvisionedConcurrencyNeedsAutoPublishAlias) {
  auto load_fn = [](std::string extra) {
    Template t = load(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      Handler: h\n      Runtime: python3.12\n" +
        extra);
    return parsed(t, "Fn", parse_function);
  };
  auto ok = load_fn(
      "      AutoPublishAlias: live\n"
      "      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 3}\n");
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(ok->provisioned_concurrency, 3);
  auto no_alias =
      load_fn("      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 3}\n");
  ASSERT_FALSE(no_alias.ok());
  EXPECT_NE(no_alias.error().message.find("AutoPublishALias must be defined"), std::string::npos);
  auto zero = load_fn(
      "      AutoPublishAlias: live\n"
      "      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 0}\n");
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().path,
            "Resources.Fn.Properties.ProvisionedConcurrencyConfig.ProvisionedConcurrentExecutions");
  auto missing = load_fn("      AutoPublishAlias: live\n      ProvisionedConcurrencyConfig: {}\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_FALSE(load_fn("").value().provisioned_concurrency.has_value());
}

TEST(SamFunction, ReadsEveryIssue3Property) {
  Template t = load(R"(
Parameters:
  Mem: {Type: Number, Default: 256}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.h
      Runtime: python3.12
      CodeUri: {Bucket: b, Key: k.zip, Version: "3"}
      MemorySize: !Ref Mem
      Timeout: "15"
      ReservedConcurrentExecutions: 0
      AutoPublishAlias: live
      Layers: [arn:aws:lambda:us-east-1:123456789012:layer:l:1]
      Description: d
      Architectures: [arm64]
      Events:
        Post:
          Type: Api
          Properties:
            Path: /orders
            Method: post
            Auth: {ApiKeyRequired: true, Authorizer: NONE}
            RequestModel: {Model: Order, Required: true, ValidateBody: true}
            RequestParameters:
              - method.request.header.X-Id
              - method.request.querystring.page: {Required: true, Caching: true}
        Http:
          Type: HttpApi
          Properties:
            Path: /items/{id}
            Method: get
            Auth: {Authorizer: Lambda, AuthorizationScopes: [read]}
            PayloadFormatVersion: "1.0"
            TimeoutInMillis: 5000
)");
  auto f = parsed(t, "Fn", parse_function);
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  EXPECT_EQ(f->memory_size, 256);  // from a Number parameter
  EXPECT_EQ(f->timeout, 15);       // numeric strings are accepted, as in CloudFormation
  EXPECT_EQ(f->reserved_concurrency, 0);
  ASSERT_TRUE(f->code_s3.has_value());
  EXPECT_EQ(f->code_s3->key, "k.zip");
  EXPECT_EQ(f->code_s3->version, "3");
  EXPECT_EQ(f->auto_publish_alias, "live");
  EXPECT_EQ(f->architecture, "arm64");
  ASSERT_EQ(f->api_events.size(), 1u);
  const ApiEvent& e = f->api_events[0];
  EXPECT_EQ(e.method, "POST");
  EXPECT_EQ(e.api_key_required, true);
  EXPECT_EQ(e.authorizer, "NONE");
  ASSERT_TRUE(e.request_model.has_value());
  EXPECT_TRUE(e.request_model->required);
  EXPECT_EQ(e.request_model->validate_body, true);
  EXPECT_FALSE(e.request_model->validate_parameters.has_value());
  ASSERT_EQ(e.request_parameters.size(), 2u);
  EXPECT_FALSE(e.request_parameters[0].required);
  EXPECT_EQ(e.request_parameters[1].name, "method.request.querystring.page");
  EXPECT_TRUE(e.request_parameters[1].caching);
  ASSERT_EQ(f->http_api_events.size(), 1u);
  const HttpApiEvent& h = f->http_api_events[0];
  EXPECT_EQ(h.path, "/items/{id}");
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.authorization_scopes, std::vector<std::string>{"read"});
  EXPECT_EQ(h.payload_format_version, "1.0");
  EXPECT_EQ(h.timeout_in_millis, 5000);
}

TEST(SamLayerVersion, Reads) {
  Template t = load(R"(
Resources:
  L:
    Type: AWS::Serverless::LayerVersion
    Properties:
      LayerName: deps
      ContentUri: layers/deps
      CompatibleRuntimes: [python3.11, python3.12]
)");
  auto l = parsed(t, "L", parse_layer_version);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->layer_name, "deps");
  EXPECT_EQ(l->content_uri, "layers/deps");
  EXPECT_EQ(l->compatible_runtimes.size(), 2u);
}

TEST(SamApi, ReadsCorsAuthModelsAndStageSettings) {
  Template t = load(R"(
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Cors:
        AllowOrigin: "'https://example.com'"
        AllowMethods: "'GET,POST'"
        AllowHeaders: "'Content-Type'"
        MaxAge: "'600'"
        AllowCredentials: true
      Auth:
        ApiKeyRequired: true
        DefaultAuthorizer: Req
        UsagePlan:
          CreateUsagePlan: PER_API
          Quota: {Limit: 1000, Period: DAY}
          Throttle: {BurstLimit: 10, RateLimit: 5.5}
        Authorizers:
          Tok:
            FunctionArn: arn:aws:lambda:us-east-1:123456789012:function:tok
          Req:
            FunctionArn: !GetAtt AuthFn.Arn
            FunctionPayloadType: REQUEST
            Identity: {Headers: [X-Key], QueryStrings: [k], ReauthorizeEvery: 60}
      Models:
        Order:
          type: object
          required: [id]
          properties: {id: {type: string}}
      Variables: {TABLE: orders}
      CacheClusterEnabled: true
      CacheClusterSize: "0.5"
      MethodSettings:
        - {ResourcePath: "/orders", HttpMethod: GET, CachingEnabled: true, CacheTtlInSeconds: 60}
      EndpointConfiguration: REGIONAL
  AuthFn: {Type: AWS::Serverless::Function, Properties: {Handler: h, Runtime: r}}
)");
  auto api = parsed(t, "Api", parse_api);
  ASSERT_TRUE(api.ok()) << api.error().to_string();
  EXPECT_EQ(api->stage_name, "prod");
  ASSERT_TRUE(api->cors.has_value());
  EXPECT_EQ(api->cors->allow_origin, "https://example.com");  // quotes removed
  EXPECT_EQ(api->cors->allow_methods, "GET,POST");
  EXPECT_EQ(api->cors->max_age, 600);
  EXPECT_TRUE(api->cors->allow_credentials);
  EXPECT_TRUE(api->api_key_required);
  EXPECT_EQ(api->default_authorizer, "Req");
  EXPECT_EQ(api->usage_plan.create, "PER_API");
  EXPECT_EQ(api->usage_plan.quota_limit, 1000);
  EXPECT_EQ(api->usage_plan.quota_period, "DAY");
  EXPECT_EQ(api->usage_plan.burst_limit, 10);
  EXPECT_EQ(api->usage_plan.rate_limit, 5.5);
  ASSERT_EQ(api->authorizers.size(), 2u);
  EXPECT_EQ(api->authorizers[0].payload_type, "TOKEN");
  EXPECT_EQ(api->authorizers[0].header, "Authorization");
  EXPECT_EQ(api->authorizers[0].reauthorize_every, 300);
  EXPECT_EQ(api->authorizers[1].function_arn, "AuthFn.Arn");  // placeholder
  EXPECT_EQ(api->authorizers[1].headers, std::vector<std::string>{"X-Key"});
  EXPECT_EQ(api->authorizers[1].reauthorize_every, 60);
  EXPECT_EQ(api->models.at("Order"), boost::json::parse(R"({"type":"object","required":["id"],
                                   "properties":{"id":{"type":"string"}}})"));
  EXPECT_EQ(api->variables.at("TABLE"), "orders");
  EXPECT_TRUE(api->cache_cluster_enabled);
  ASSERT_EQ(api->method_settings.size(), 1u);
  EXPECT_EQ(api->method_settings[0].cache_ttl_in_seconds, 60);
  EXPECT_TRUE(unsupported(t).empty());  // EndpointConfiguration is accepted and ignored
}

TEST(SamApi, RejectsBadAuthAndCors) {
  auto bad = [](std::string props) {
    Template t = load(
        "Resources:\n  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n"
        "      StageName: s\n" +
        props);
    auto a = parsed(t, "Api", parse_api);
    EXPECT_FALSE(a.ok()) << props;
    return a.ok() ? TemplateError{} : a.error();
  };
  EXPECT_NE(bad("      Cors: '*'\n").message.find("quoted"), std::string::npos);
  EXPECT_EQ(bad("      Auth:\n        DefaultAuthorizer: Nope\n").path,
            "Resources.Api.Properties.Auth.DefaultAuthorizer");
  EXPECT_EQ(bad("      Auth:\n        UsagePlan: {CreateUsagePlan: ALWAYS}\n").path,
            "Resources.Api.Properties.Auth.UsagePlan.CreateUsagePlan");
  EXPECT_NE(bad("      Auth:\n        Authorizers:\n          R: {FunctionArn: a, "
                "FunctionPayloadType: REQUEST}\n")
                .message.find("needs Identity"),
            std::string::npos);
  Template no_stage = load("Resources:\n  Api: {Type: AWS::Serverless::Api}\n");
  auto a = parsed(no_stage, "Api", parse_api);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().path, "Resources.Api.Properties.StageName");
}

TEST(SamHttpApi, ReadsCorsAuthAndStageVariables) {
  Template t = load(R"(
Resources:
  Open:
    Type: AWS::Serverless::HttpApi
    Properties: {CorsConfiguration: true}
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: [https://example.com]
        AllowMethods: [GET]
        AllowHeaders: [content-type]
        ExposeHeaders: [x-id]
        MaxAge: 600
        AllowCredentials: true
      Auth:
        DefaultAuthorizer: L
        Authorizers:
          L:
            FunctionArn: arn:aws:lambda:us-east-1:123456789012:function:auth
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity: {Headers: [Authorization], ReauthorizeEvery: 30}
      StageVariables: {MODE: fast}
)");
  auto open = parsed(t, "Open", parse_http_api);
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->stage_name, "$default");
  ASSERT_TRUE(open->cors.has_value());
  EXPECT_EQ(open->cors->allow_origins, std::vector<std::string>{"*"});

  auto api = parsed(t, "Api", parse_http_api);
  ASSERT_TRUE(api.ok()) << api.error().to_string();
  EXPECT_EQ(api->cors->expose_headers, std::vector<std::string>{"x-id"});
  EXPECT_EQ(api->cors->max_age, 600);
  EXPECT_TRUE(api->cors->allow_credentials);
  ASSERT_EQ(api->authorizers.size(), 1u);
  EXPECT_TRUE(api->authorizers[0].enable_simple_responses);
  EXPECT_EQ(api->authorizers[0].reauthorize_every, 30);
  EXPECT_EQ(api->stage_variables.at("MODE"), "fast");

  Template v1 = load(R"(
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        Authorizers:
          L: {FunctionArn: a, AuthorizerPayloadFormatVersion: "1.0", EnableSimpleResponses: true}
)");
  auto bad = parsed(v1, "Api", parse_http_api);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("2.0"), std::string::npos);
}

// ---------------------------------------------------------------------------
// DynamoDB tables

TEST(SamTable, ReadsWhatCreateTableTakes) {
  Template t = load(R"(
Parameters:
  Rcu: {Type: Number, Default: 5}
Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: orders
      AttributeDefinitions:
        - {AttributeName: user_id, AttributeType: S}
        - {AttributeName: created, AttributeType: N}
      KeySchema:
        - {AttributeName: user_id, KeyType: HASH}
        - {AttributeName: created, KeyType: RANGE}
      ProvisionedThroughput: {ReadCapacityUnits: !Ref Rcu, WriteCapacityUnits: "2"}
      Tags: [{Key: team, Value: shop}]
      SSESpecification: {SSEEnabled: true}
      PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
      DeletionProtectionEnabled: true
      TableClass: STANDARD_INFREQUENT_ACCESS
      TimeToLiveSpecification: {AttributeName: expires, Enabled: true}
  OnDemand:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: B}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
)");
  EXPECT_TRUE(unsupported(t).empty());  // the accepted-and-ignored properties
  auto o = parsed(t, "Orders", parse_table);
  ASSERT_TRUE(o.ok()) << o.error().to_string();
  EXPECT_EQ(o->table_name, "orders");
  EXPECT_EQ(o->hash.name, "user_id");
  EXPECT_EQ(o->hash.type, "S");
  ASSERT_TRUE(o->range.has_value());
  EXPECT_EQ(o->range->name, "created");
  EXPECT_EQ(o->range->type, "N");
  EXPECT_EQ(o->billing_mode, "PROVISIONED");  // CloudFormation's default
  EXPECT_EQ(o->read_capacity, 5);
  EXPECT_EQ(o->write_capacity, 2);
  EXPECT_EQ(o->tags, (std::map<std::string, std::string>{{"team", "shop"}}));
  EXPECT_EQ(o->ttl_attribute, "expires");

  auto d = parsed(t, "OnDemand", parse_table);
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(d->table_name, "");  // generated at deploy time
  EXPECT_EQ(d->billing_mode, "PAY_PER_REQUEST");
  EXPECT_EQ(d->hash.type, "B");
  EXPECT_FALSE(d->range.has_value());
  EXPECT_EQ(d->ttl_attribute, "");
}

TEST(SamTable, RejectsWhatDynamoDbWouldWithTheSpot) {
  auto bad = [](std::string props) {
    Template t =
        load("Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n" + props);
    auto r = parsed(t, "T", parse_table);
    EXPECT_FALSE(r.ok()) << props;
    return r.ok() ? TemplateError{} : r.error();
  };
  const std::string keys =
      "      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n"
      "      KeySchema: [{AttributeName: id, KeyType: HASH}]\n";
  TemplateError no_throughput = bad(keys);
  EXPECT_EQ(no_throughput.path, "Resources.T.Properties.ProvisionedThroughput");
  EXPECT_NE(no_throughput.message.find("PROVISIONED"), std::string::npos);
  EXPECT_EQ(
      bad(keys + "      BillingMode: PAY_PER_REQUEST\n"
                 "      ProvisionedThroughput: {ReadCapacityUnits: 1, WriteCapacityUnits: 1}\n")
          .to_string(),
      "template.yaml:8:30: Resources.T.Properties.ProvisionedThroughput: not allowed when "
      "BillingMode is PAY_PER_REQUEST");
  EXPECT_EQ(
      bad(keys + "      ProvisionedThroughput: {ReadCapacityUnits: 0, WriteCapacityUnits: 1}\n")
          .path,
      "Resources.T.Properties.ProvisionedThroughput.ReadCapacityUnits");
  EXPECT_EQ(bad(keys + "      ProvisionedThroughput: {ReadCapacityUnits: 1}\n").path,
            "Resources.T.Properties.ProvisionedThroughput.WriteCapacityUnits");
  EXPECT_EQ(bad(keys + "      BillingMode: ON_DEMAND\n").path,
            "Resources.T.Properties.BillingMode");
  EXPECT_EQ(bad("      KeySchema: [{AttributeName: id, KeyType: HASH}]\n").path,
            "Resources.T.Properties.AttributeDefinitions");
  // A key attribute that is not defined; a defined attribute that is not a key.
  EXPECT_NE(bad("      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n"
                "      KeySchema: [{AttributeName: pk, KeyType: HASH}]\n")
                .message.find("'pk' is not defined in AttributeDefinitions"),
            std::string::npos);
  TemplateError extra =
      bad("      AttributeDefinitions:\n"
          "        - {AttributeName: id, AttributeType: S}\n"
          "        - {AttributeName: email, AttributeType: S}\n"
          "      KeySchema: [{AttributeName: id, KeyType: HASH}]\n"
          "      BillingMode: PAY_PER_REQUEST\n");
  EXPECT_EQ(extra.line, 7);
  EXPECT_NE(extra.message.find("'email' is not a key attribute"), std::string::npos);
  EXPECT_EQ(bad("      AttributeDefinitions: [{AttributeName: id, AttributeType: STRING}]\n"
                "      KeySchema: [{AttributeName: id, KeyType: HASH}]\n")
                .path,
            "Resources.T.Properties.AttributeDefinitions[0].AttributeType");
  EXPECT_NE(bad("      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n"
                "      KeySchema: [{AttributeName: id, KeyType: RANGE}]\n")
                .message.find("HASH"),
            std::string::npos);
  EXPECT_EQ(bad("      TableName: ab\n" + keys).path, "Resources.T.Properties.TableName");
  EXPECT_EQ(bad(keys + "      BillingMode: PAY_PER_REQUEST\n      Tags: [{Key: a}]\n").path,
            "Resources.T.Properties.Tags[0].Value");
  EXPECT_EQ(bad(keys + "      BillingMode: PAY_PER_REQUEST\n"
                       "      TimeToLiveSpecification: {Enabled: true}\n")
                .path,
            "Resources.T.Properties.TimeToLiveSpecification.AttributeName");
  EXPECT_EQ(bad(keys + "      BillingMode: PAY_PER_REQUEST\n"
                       "      TimeToLiveSpecification: {AttributeName: ttl}\n")
                .path,
            "Resources.T.Properties.TimeToLiveSpecification.Enabled");
}

constexpr std::string_view kIndexedTable = R"(
Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions:
        - {AttributeName: customer, AttributeType: S}
        - {AttributeName: order, AttributeType: S}
        - {AttributeName: total, AttributeType: N}
        - {AttributeName: status, AttributeType: S}
      KeySchema:
        - {AttributeName: customer, KeyType: HASH}
        - {AttributeName: order, KeyType: RANGE}
      ProvisionedThroughput: {ReadCapacityUnits: 5, WriteCapacityUnits: 5}
      LocalSecondaryIndexes:
        - IndexName: byTotal
          KeySchema:
            - {AttributeName: customer, KeyType: HASH}
            - {AttributeName: total, KeyType: RANGE}
          Projection: {ProjectionType: KEYS_ONLY}
      GlobalSecondaryIndexes:
        - IndexName: byStatus
          KeySchema: [{AttributeName: status, KeyType: HASH}]
          Projection: {ProjectionType: INCLUDE, NonKeyAttributes: [total, note]}
          ProvisionedThroughput: {ReadCapacityUnits: 2, WriteCapacityUnits: 3}
          ContributorInsightsSpecification: {Enabled: true}
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
)";

// CloudFormation's LocalSecondaryIndexes, GlobalSecondaryIndexes and
// StreamSpecification; attribute definitions only indexes use are valid.
TEST(SamTable, ReadsIndexesAndTheStream) {
  Template t = load(std::string(kIndexedTable) + R"(  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: h
      Runtime: python3.12
      Environment:
        Variables: {STREAM: !GetAtt Orders.StreamArn}
Outputs:
  Stream: {Value: !GetAtt Orders.StreamArn}
)");
  EXPECT_TRUE(unsupported(t).empty());
  auto o = parsed(t, "Orders", parse_table);
  ASSERT_TRUE(o.ok()) << o.error().to_string();
  ASSERT_EQ(o->local_indexes.size(), 1u);
  const auto& lsi = o->local_indexes[0];
  EXPECT_EQ(lsi.name, "byTotal");
  EXPECT_EQ(lsi.hash.name, "customer");
  ASSERT_TRUE(lsi.range.has_value());
  EXPECT_EQ(lsi.range->name, "total");
  EXPECT_EQ(lsi.range->type, "N");
  EXPECT_EQ(lsi.projection_type, "KEYS_ONLY");
  ASSERT_EQ(o->global_indexes.size(), 1u);
  const auto& gsi = o->global_indexes[0];
  EXPECT_EQ(gsi.name, "byStatus");
  EXPECT_EQ(gsi.hash.name, "status");
  EXPECT_EQ(gsi.hash.type, "S");
  EXPECT_FALSE(gsi.range.has_value());
  EXPECT_EQ(gsi.projection_type, "INCLUDE");
  EXPECT_EQ(gsi.non_key_attributes, (std::vector<std::string>{"total", "note"}));
  EXPECT_EQ(gsi.read_capacity, 2);
  EXPECT_EQ(gsi.write_capacity, 3);
  EXPECT_EQ(o->stream_view_type, "NEW_AND_OLD_IMAGES");
}

TEST(SamTable, RejectsBadIndexesAndStreamsWithTheSpot) {
  auto bad = [](std::string_view from, std::string_view to) {
    std::string text(kIndexedTable);
    auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    Template t = load(text);
    auto r = parsed(t, "Orders", parse_table);
    EXPECT_FALSE(r.ok()) << to;
    return r.ok() ? TemplateError{} : r.error();
  };
  const std::string lsi = "Resources.Orders.Properties.LocalSecondaryIndexes[0]";
  const std::string gsi = "Resources.Orders.Properties.GlobalSecondaryIndexes[0]";
  // A local index shares the table's HASH key and has a RANGE key.
  TemplateError other_hash =
      bad("{AttributeName: customer, KeyType: HASH}\n            - "
          "{AttributeName: total",
          "{AttributeName: status, KeyType: HASH}\n            - "
          "{AttributeName: total");
  EXPECT_EQ(other_hash.path, lsi + ".KeySchema");
  EXPECT_NE(other_hash.message.find("the table's HASH key ('customer')"), std::string::npos);
  EXPECT_NE(bad("            - {AttributeName: total, KeyType: RANGE}\n", "")
                .message.find("needs a RANGE key"),
            std::string::npos);
  EXPECT_NE(bad("        - {AttributeName: order, KeyType: RANGE}\n", "")
                .message.find("needs a table with a RANGE key"),
            std::string::npos);
  // Index keys are defined attributes; every defined attribute is some key's.
  EXPECT_EQ(
      bad("{AttributeName: status, KeyType: HASH}", "{AttributeName: state, KeyType: HASH}").path,
      gsi + ".KeySchema[0].AttributeName");
  TemplateError unused = bad("        - {AttributeName: status, AttributeType: S}\n",
                             "        - {AttributeName: status, AttributeType: S}\n"
                             "        - {AttributeName: email, AttributeType: S}\n");
  EXPECT_EQ(unused.line, 11);
  EXPECT_NE(unused.message.find("'email' is not a key attribute of the table or of any secondary "
                                "index"),
            std::string::npos);
  // A GSI's throughput exactly when the table is PROVISIONED.
  EXPECT_EQ(
      bad("          ProvisionedThroughput: {ReadCapacityUnits: 2, WriteCapacityUnits: 3}\n", "")
          .path,
      gsi + ".ProvisionedThroughput");
  EXPECT_EQ(bad("      ProvisionedThroughput: {ReadCapacityUnits: 5, WriteCapacityUnits: 5}\n",
                "      BillingMode: PAY_PER_REQUEST\n")
                .to_string(),
            "template.yaml:25:34: " + gsi +
                ".ProvisionedThroughput: not allowed when the table's BillingMode is "
                "PAY_PER_REQUEST");
  EXPECT_EQ(bad("{ReadCapacityUnits: 2, WriteCapacityUnits: 3}", "{ReadCapacityUnits: 2}").path,
            gsi + ".ProvisionedThroughput.WriteCapacityUnits");
  // Projections as DynamoDB takes them.
  EXPECT_EQ(
      bad("{ProjectionType: INCLUDE, NonKeyAttributes: [total, note]}", "{ProjectionType: INCLUDE}")
          .path,
      gsi + ".Projection.NonKeyAttributes");
  EXPECT_EQ(
      bad("{ProjectionType: KEYS_ONLY}", "{ProjectionType: KEYS_ONLY, NonKeyAttributes: [a]}").path,
      lsi + ".Projection.NonKeyAttributes");
  EXPECT_EQ(bad("{ProjectionType: KEYS_ONLY}", "{ProjectionType: SOME}").path,
            lsi + ".Projection.ProjectionType");
  EXPECT_EQ(bad("          Projection: {ProjectionType: KEYS_ONLY}\n", "").path,
            lsi + ".Projection");
  // Names: DynamoDB's pattern, unique among the table's indexes.
  EXPECT_EQ(bad("IndexName: byStatus", "IndexName: byTotal").path, gsi + ".IndexName");
  EXPECT_EQ(bad("IndexName: byStatus", "IndexName: b!").path, gsi + ".IndexName");
  EXPECT_EQ(bad("IndexName: byStatus", "IndexNam: byStatus").path, gsi + ".IndexName");
  EXPECT_EQ(bad("{StreamViewType: NEW_AND_OLD_IMAGES}", "{StreamViewType: ALL}").path,
            "Resources.Orders.Properties.StreamSpecification.StreamViewType");
  EXPECT_EQ(bad("{StreamViewType: NEW_AND_OLD_IMAGES}", "{}").path,
            "Resources.Orders.Properties.StreamSpecification.StreamViewType");
}

TEST(SamTable, UnsupportedIndexAndStreamMembersAndStreamArnWithoutAStream) {
  Template t = load(R"(
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
      GlobalSecondaryIndexes:
        - IndexName: byId
          KeySchema: [{AttributeName: id, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
          OnDemandThroughput: {MaxReadRequestUnits: 5}
      LocalSecondaryIndexes:
        - {IndexName: l, ProvisionedThroughput: {ReadCapacityUnits: 1}}
      StreamSpecification: {StreamViewType: NEW_IMAGE, ResourcePolicy: {}}
      KinesisStreamSpecification: {StreamArn: arn:aws:kinesis:us-east-1:1:stream/s}
  NoStream:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
  S:
    Type: AWS::Serverless::SimpleTable
    Properties: {PrimaryKey: {Name: id, Type: String}}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: h
      Runtime: python3.12
      Environment:
        Variables: {A: !GetAtt T.StreamArn, B: !GetAtt NoStream.StreamArn, C: !GetAtt S.StreamArn}
Outputs:
  Bad: {Value: !Sub "${S.Nope}"}
)");
  auto errors = unsupported(t);
  ASSERT_EQ(errors.size(), 7u);
  EXPECT_EQ(errors[0].to_string(),
            "template.yaml:17:7: Resources.T.Properties.KinesisStreamSpecification: property "
            "'KinesisStreamSpecification' of AWS::DynamoDB::Table is not supported");
  EXPECT_EQ(errors[1].to_string(),
            "template.yaml:13:11: Resources.T.Properties.GlobalSecondaryIndexes[0]."
            "OnDemandThroughput: property 'OnDemandThroughput' of a global secondary index is "
            "not supported");
  EXPECT_EQ(errors[2].path,
            "Resources.T.Properties.LocalSecondaryIndexes[0].ProvisionedThroughput");
  EXPECT_EQ(errors[3].path, "Resources.T.Properties.StreamSpecification.ResourcePolicy");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(errors[i].code, TemplateError::Code::kUnsupported);
  // StreamArn of a table with a stream is fine; without one it is an error
  // naming the table.
  EXPECT_EQ(errors[4].line, 33);
  EXPECT_NE(errors[4].message.find("NoStream.StreamArn: table NoStream has no stream"),
            std::string::npos)
      << errors[4].message;
  EXPECT_NE(errors[5].message.find("table S has no stream"), std::string::npos);
  EXPECT_EQ(errors[6].path, "Outputs.Bad.Value.Fn::Sub");
  EXPECT_NE(errors[6].message.find("'Nope' is not an attribute"), std::string::npos);
}

// A function whose DynamoDB event "Changes" reads kIndexedTable's stream
// (the event's other properties follow).
constexpr std::string_view kConsumer = R"(  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: h
      Runtime: python3.12
      Events:
        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Orders.StreamArn
)";

// SAM's DynamoDB event: an event source mapping on a table's stream.
TEST(SamFunction, DynamoDbEventsReadWithLambdasDefaultsAndLimits) {
  const std::string base = std::string(kIndexedTable) + std::string(kConsumer) +
                           R"(            StartingPosition: TRIM_HORIZON
        Tuned:
          Type: DynamoDB
          Properties:
            Stream: arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024
            StartingPosition: LATEST
            BatchSize: 10
            MaximumBatchingWindowInSeconds: 2
            MaximumRecordAgeInSeconds: 60
            MaximumRetryAttempts: 3
            BisectBatchOnFunctionError: true
            FunctionResponseTypes: [ReportBatchItemFailures]
            Enabled: false
)";
  Template t = load(base);
  EXPECT_TRUE(unsupported(t).empty());
  auto f = parsed(t, "Fn", parse_function);
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  ASSERT_EQ(f->dynamodb_events.size(), 2u);
  const auto& plain = f->dynamodb_events[0];
  EXPECT_EQ(plain.name, "Changes");
  EXPECT_EQ(plain.stream, "Orders.StreamArn");  // the placeholder of GetAtt
  EXPECT_EQ(plain.starting_position, "TRIM_HORIZON");
  EXPECT_EQ(plain.batch_size, 100);
  EXPECT_EQ(plain.maximum_retry_attempts, -1);
  EXPECT_TRUE(plain.enabled);
  const auto& tuned = f->dynamodb_events[1];
  EXPECT_EQ(tuned.starting_position, "LATEST");
  EXPECT_EQ(tuned.batch_size, 10);
  EXPECT_EQ(tuned.maximum_batching_window, 2);
  EXPECT_EQ(tuned.maximum_record_age, 60);
  EXPECT_EQ(tuned.maximum_retry_attempts, 3);
  EXPECT_TRUE(tuned.bisect_batch_on_function_error);
  EXPECT_EQ(tuned.function_response_types, (std::vector<std::string>{"ReportBatchItemFailures"}));
  EXPECT_FALSE(tuned.enabled);

  auto bad = [&](std::string_view from, std::string_view to) {
    std::string text = base;
    text.replace(text.find(from), from.size(), to);
    Template bt = load(text);
    auto r = parsed(bt, "Fn", parse_function);
    EXPECT_FALSE(r.ok()) << to;
    return r.ok() ? TemplateError{} : r.error();
  };
  const std::string tuned_path = "Resources.Fn.Properties.Events.Tuned.Properties.";
  EXPECT_EQ(bad("StartingPosition: LATEST", "StartingPosition: AT_TIMESTAMP").path,
            tuned_path + "StartingPosition");
  EXPECT_EQ(bad("            StartingPosition: TRIM_HORIZON\n", "").path,
            "Resources.Fn.Properties.Events.Changes.Properties.StartingPosition");
  EXPECT_EQ(bad("BatchSize: 10", "BatchSize: 10001").path, tuned_path + "BatchSize");
  EXPECT_EQ(bad("MaximumRecordAgeInSeconds: 60", "MaximumRecordAgeInSeconds: 59").path,
            tuned_path + "MaximumRecordAgeInSeconds");
  EXPECT_EQ(bad("MaximumRetryAttempts: 3", "MaximumRetryAttempts: -2").path,
            tuned_path + "MaximumRetryAttempts");
  EXPECT_EQ(bad("[ReportBatchItemFailures]", "[Other]").path, tuned_path + "FunctionResponseTypes");
  TemplateError not_a_stream = bad("!GetAtt Orders.StreamArn", "!Ref Orders");
  EXPECT_EQ(not_a_stream.path, "Resources.Fn.Properties.Events.Changes.Properties.Stream");
  EXPECT_NE(not_a_stream.message.find("stream's ARN"), std::string::npos);
}

TEST(SamUnsupported, DynamoDbEventPropertiesNimbusDoesNotImplementAreNamed) {
  Template t = load(std::string(kIndexedTable) + std::string(kConsumer) +
                    R"(            StartingPosition: LATEST
            FilterCriteria: {Filters: [{Pattern: '{}'}]}
            DestinationConfig: {OnFailure: {Destination: arn:aws:sqs:us-east-1:1:q}}
            ParallelizationFactor: 2
)");
  auto errors = unsupported(t);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].to_string(),
            "template.yaml:39:13: Resources.Fn.Properties.Events.Changes.Properties."
            "FilterCriteria: property 'FilterCriteria' of a DynamoDB event is not supported");
  EXPECT_EQ(errors[1].path, "Resources.Fn.Properties.Events.Changes.Properties.DestinationConfig");
  EXPECT_EQ(errors[2].path,
            "Resources.Fn.Properties.Events.Changes.Properties.ParallelizationFactor");
  for (const auto& e : errors) EXPECT_EQ(e.code, TemplateError::Code::kUnsupported);
}

TEST(SamSimpleTable, TransformsAsSamDoes) {
  Template t = load(R"(
Resources:
  Plain: {Type: AWS::Serverless::SimpleTable}
  Sized:
    Type: AWS::Serverless::SimpleTable
    Properties:
      TableName: counters
      PrimaryKey: {Name: n, Type: Number}
      ProvisionedThroughput: {ReadCapacityUnits: 3, WriteCapacityUnits: 4}
      Tags: {team: shop}
      SSESpecification: {SSEEnabled: true}
)");
  EXPECT_TRUE(unsupported(t).empty());
  auto plain = parsed(t, "Plain", parse_simple_table);
  ASSERT_TRUE(plain.ok()) << plain.error().to_string();
  EXPECT_EQ(plain->hash.name, "id");  // SAM's default key: id, String
  EXPECT_EQ(plain->hash.type, "S");
  EXPECT_FALSE(plain->range.has_value());
  EXPECT_EQ(plain->billing_mode, "PAY_PER_REQUEST");  // no ProvisionedThroughput

  auto sized = parsed(t, "Sized", parse_simple_table);
  ASSERT_TRUE(sized.ok()) << sized.error().to_string();
  EXPECT_EQ(sized->table_name, "counters");
  EXPECT_EQ(sized->hash.name, "n");
  EXPECT_EQ(sized->hash.type, "N");
  EXPECT_EQ(sized->billing_mode, "PROVISIONED");
  EXPECT_EQ(sized->read_capacity, 3);
  EXPECT_EQ(sized->write_capacity, 4);
  EXPECT_EQ(sized->tags.at("team"), "shop");

  auto bad = [](std::string props) {
    Template t =
        load("Resources:\n  T:\n    Type: AWS::Serverless::SimpleTable\n    Properties:\n" + props);
    auto r = parsed(t, "T", parse_simple_table);
    EXPECT_FALSE(r.ok()) << props;
    return r.ok() ? TemplateError{} : r.error();
  };
  EXPECT_EQ(bad("      PrimaryKey: {Name: id}\n").path, "Resources.T.Properties.PrimaryKey.Type");
  EXPECT_EQ(bad("      PrimaryKey: {Type: String}\n").path,
            "Resources.T.Properties.PrimaryKey.Name");
  TemplateError type = bad("      PrimaryKey: {Name: id, Type: S}\n");
  EXPECT_EQ(type.path, "Resources.T.Properties.PrimaryKey.Type");
  EXPECT_NE(type.message.find("String, Number, Binary"), std::string::npos);
  EXPECT_EQ(bad("      ProvisionedThroughput: {WriteCapacityUnits: 1}\n").path,
            "Resources.T.Properties.ProvisionedThroughput.ReadCapacityUnits");
}

TEST(SamValidate, ChecksEveryEnabledResource) {
  Template t = load(R"(
Conditions:
  Never: !Equals [a, b]
Resources:
  Good: {Type: AWS::Serverless::Function, Properties: {Handler: h, Runtime: r}}
  Bad: {Type: AWS::Serverless::Function, Properties: {Handler: h, Runtime: r, Timeout: 0}}
  Off:
    Type: AWS::Serverless::Function
    Condition: Never
    Properties: {Timeout: bad}
)");
  auto ctx = make_context(t, PseudoParameters{}, {});
  ASSERT_TRUE(ctx.ok());
  ctx->resources = placeholder_values();
  auto errors = validate(t, *ctx);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "Resources.Bad.Properties.Timeout");
}

}  // namespace
}  // namespace nimbus::deploy::sam
