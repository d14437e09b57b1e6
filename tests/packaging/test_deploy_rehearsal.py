"""A deploy rehearsal on every merge, with no AWS account: template.yaml through SAM's own transform for each
samconfig.toml environment, checks on the CloudFormation it produces (references, routes, IAM, concurrency,
architecture), then the stack created in moto's CloudFormation with the migration custom resource answered by the
real MigrateFunction against a real Postgres."""

from __future__ import annotations

import ast
import copy
import io
import json
import time
import zipfile
from functools import cache
from typing import Any

import pytest

from tests.helpers import rehearsal
from tests.helpers.rehearsal import (
    ACCOUNT,
    EVERYTHING_ON,
    GUIDED_ANSWERS,
    REGION,
    api_operations,
    as_created,
    dangling_references,
    deploy_parameters,
    parameter_problems,
    render,
    source_template,
    translate,
)

pytestmark = pytest.mark.packaging

ENVIRONMENTS = {
    "default": deploy_parameters("default"),
    "prod": deploy_parameters("prod"),
    "prod, every option on": {**deploy_parameters("prod"), **EVERYTHING_ON},
}


@cache
def _translated(environment: str) -> str:
    return json.dumps(translate(source_template(), ENVIRONMENTS[environment]))


def translated(environment: str) -> dict[str, Any]:
    """The transform's output for the environment (a fresh copy: tests may change it)."""
    return json.loads(_translated(environment))


def created(environment: str) -> dict[str, Any]:
    """What CloudFormation creates for the environment: its conditions decided."""
    return as_created(translated(environment), ENVIRONMENTS[environment])


def functions_of(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


# --- The transform, for every environment ---------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_translates_offline_and_its_parameters_pass_cloudformations_checks(environment):
    # The transform asks nothing of AWS (rehearsal._NoManagedPolicies fails it if it wanted IAM's policy list).
    template = translated(environment)
    assert parameter_problems(source_template(), ENVIRONMENTS[environment]) == []
    assert "Transform" not in template and template["Resources"]
    assert len(template["Resources"]) <= 500  # CloudFormation's limit per stack


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_reference_in_the_translated_stack_names_something_that_exists(environment):
    assert dangling_references(translated(environment)) == []


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (lambda r: r["SchemaMigration"]["Properties"].update(LayerVersion={"Ref": "NoSuchLayer"}), "NoSuchLayer"),
        (
            lambda r: r["UserDeletedDeadLetterAlarm"]["Properties"]["Dimensions"][0].update(
                Value={"Fn::GetAtt": ["UserDeletedDeadLetterQueue", "QueueNam"]}
            ),
            "QueueNam",
        ),
        (lambda r: r["ProgressApi"].update(DependsOn="SchemaMigrations"), "SchemaMigrations"),
        (
            lambda r: r["UserDeletedDeadLetterQueuePolicy"]["Properties"]["Queues"].append({"Ref": "DeadLetters"}),
            "DeadLetters",
        ),
    ],
    ids=["Ref", "GetAtt", "DependsOn", "Ref in a list"],
)
def test_the_rehearsal_fails_on_a_broken_reference(break_it, expected):
    # Given: the template with one reference broken (the transform itself lets each of these through).
    template = source_template()
    break_it(template["Resources"])
    # Then: the check names it, and the untouched template is clean (the test above).
    problems = dangling_references(translate(template, ENVIRONMENTS["default"]))
    assert len(problems) == 1 and expected in problems[0], problems


def test_a_broken_sub_or_mapping_fails_the_rehearsal():
    template = translated("default")
    template["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"] += "/${ProgressAp}"
    template["Mappings"]["SecretsExtension"].pop(REGION)
    problems = dangling_references(template)
    # The Sub, and the extension layer of every function that reads the database secret.
    database_functions = [
        name
        for name, r in functions_of(source_template()).items()
        if {"Ref": "DatabaseSecretReadPolicy"} in r["Properties"].get("Policies", [])
    ]
    assert len(database_functions) == 22
    assert [problem for problem in problems if "ProgressAp'" in problem] == [
        "Outputs.ApiUrl.Value: 'ProgressAp' names no resource, parameter or variable"
    ]
    assert sum("has no eu-west-1.LayerArn" in problem for problem in problems) == len(database_functions)
    assert len(problems) == 1 + len(database_functions)


# --- Parameters: nothing half-deployed ------------------------------------------------------------------------------


def test_a_deploy_without_the_guided_answers_stops_before_anything_is_created():
    # Without `sam deploy --guided`'s answers, CloudFormation refuses the change set: nothing exists yet.
    problems = parameter_problems(source_template(), rehearsal.samconfig_overrides()["default"])
    assert sorted(problem.split(":")[0] for problem in problems) == sorted(GUIDED_ANSWERS)
    assert all(problem.endswith("must have a value") for problem in problems)


def test_placeholders_and_values_of_the_wrong_shape_are_refused_by_the_parameters_patterns():
    # The placeholders samconfig.toml used to hold (they failed at IAM, half-way through a deploy), and mistakes.
    wrong = {
        "Auth0Domain": ["<your-tenant>.eu.auth0.com", "https://tenant.eu.auth0.com/"],
        "Auth0Audience": ["<your-api-identifier>", "api one"],
        "UserServiceBaseUrl": ["<https://user-profile.example.com/api/users>", "users.example.com/api/users"],
        "DatabaseSecretArn": [
            "<arn:aws:secretsmanager:eu-west-1:123456789012:secret:progress-tracking-dev-db-XXXXXX>",
            "progress-tracking/dev/database-url",  # a name, not the ARN
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:progress-tracking/dev/database-url",  # partial ARN
        ],
        "CorsAllowOrigin": ["<https://app.example.com>", "https://app.example.com/"],
        "DatabaseSecretKmsKeyArn": ["alias/aws/secretsmanager"],
    }
    for name, values in wrong.items():
        for value in values:
            problems = parameter_problems(source_template(), {**GUIDED_ANSWERS, name: value})
            assert problems == [
                f"{name}: {value!r} does not match {source_template()['Parameters'][name]['AllowedPattern']}"
            ]
    # The positive control: values of the right shape pass.
    right = {**GUIDED_ANSWERS, **EVERYTHING_ON, "CorsAllowOrigin": "http://localhost:3000"}
    assert parameter_problems(source_template(), right) == []


# --- The API --------------------------------------------------------------------------------------------------------


def expected_routes(template: dict[str, Any]) -> dict[tuple[str, str], tuple[str, bool]]:
    """(method, path) → (function, behind the authorizer), as template.yaml names them."""
    routes = {}
    for name, resource in functions_of(template).items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "Api":
                guarded = (event["Properties"].get("Auth") or {}).get("Authorizer") != "NONE"
                routes[(event["Properties"]["Method"].upper(), event["Properties"]["Path"])] = (name, guarded)
    return routes


def route_problems(source: dict[str, Any], environment: str, cloudformation: dict[str, Any]) -> list[str]:
    """How the generated API differs from the template's routes: a route missing or extra, without the authorizer,
    with another integration, or invoking another function; each path's CORS preflight is the only public method."""
    expected = expected_routes(source)
    if ENVIRONMENTS[environment].get("ApiDocs") != "true":
        expected = {route: target for route, target in expected.items() if target[0] != "ApiDocsFunction"}
    problems = []
    operations = api_operations(cloudformation)
    found = {(op.method, op.path): op for op in operations if op.method != "OPTIONS"}
    for route in expected.keys() - found.keys():
        problems.append(f"{route}: not in the generated API")
    for route in found.keys() - expected.keys():
        problems.append(f"{route}: in the generated API, not in the template")
    for route, operation in found.items():
        if route not in expected:
            continue
        function, guarded = expected[route]
        if operation.authorizers != (("Auth0Authorizer",) if guarded else ("NONE",)):
            problems.append(f"{route}: authorizers {operation.authorizers}")
        if (operation.integration.get("type"), operation.integration.get("httpMethod")) != ("aws_proxy", "POST"):
            problems.append(f"{route}: integration {operation.integration.get('type')}")
        if operation.function != function:
            problems.append(f"{route}: invokes {operation.function}, the template names {function}")
    preflights = [op for op in operations if op.method == "OPTIONS"]
    if {op.path for op in preflights} != {path for _, path in expected}:
        problems.append("not every path has its CORS preflight")
    problems += [f"OPTIONS {op.path}: {op.authorizers}" for op in preflights if op.authorizers]
    problems += [
        f"OPTIONS {op.path}: {op.integration.get('type')}" for op in preflights if op.integration["type"] != "mock"
    ]
    return problems


@pytest.mark.parametrize("environment", ["default", "prod, every option on"])
def test_every_route_has_the_authorizer_its_method_and_a_proxy_integration_to_the_function_the_template_names(
    environment,
):
    cloudformation = created(environment)
    assert route_problems(source_template(), environment, cloudformation) == []
    operations = [op for op in api_operations(cloudformation) if op.method != "OPTIONS"]
    assert len(operations) == (20 if environment != "default" else 18)  # the docs page's two routes when ApiDocs=true


def test_a_route_without_the_authorizer_fails_the_rehearsal():
    source = source_template()
    source["Resources"]["GetProgressFunction"]["Properties"]["Events"]["Api"]["Properties"]["Auth"] = {
        "Authorizer": "NONE"
    }
    cloudformation = as_created(translate(source, ENVIRONMENTS["default"]), ENVIRONMENTS["default"])
    # The check compares with the template as it should be (the source it is given would agree with the mistake).
    assert route_problems(source_template(), "default", cloudformation) == [
        "('GET', '/api/progress/{user_id}'): authorizers ('NONE',)"
    ]


def test_the_authorizer_is_the_token_authorizer_function_on_the_authorization_header():
    body = created("default")["Resources"]["ProgressApi"]["Properties"]["Body"]
    scheme = body["components"]["securitySchemes"]["Auth0Authorizer"]
    authorizer = scheme["x-amazon-apigateway-authorizer"]
    assert (scheme["type"], scheme["name"], scheme["in"]) == ("apiKey", "Authorization", "header")
    assert (authorizer["type"], authorizer["authorizerResultTtlInSeconds"]) == ("token", 300)
    assert render(authorizer["authorizerUri"]).endswith("/functions/${AuthorizerFunctionAliaslive}/invocations")


@pytest.mark.parametrize("environment", ["default", "prod, every option on"])
def test_api_gateway_may_invoke_each_function_only_for_its_own_route(environment):
    cloudformation = created(environment)
    permissions = {
        r["Properties"]["FunctionName"]["Ref"]: r["Properties"]
        for r in cloudformation["Resources"].values()
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["Principal"] == "apigateway.amazonaws.com"
    }
    routes = {op.function: op for op in api_operations(cloudformation) if op.method != "OPTIONS"}
    for function, operation in routes.items():
        permission = [p for target, p in permissions.items() if target == f"{function}Aliaslive"]
        if function == "ApiDocsFunction":  # two routes, one permission each
            continue
        (permission,) = permission
        source_arn = render(permission["SourceArn"])
        # API Gateway's ARN: the API, any stage, the method, the path with its parameters as wildcards.
        path = "/".join("*" if part.startswith("{") else part for part in operation.path.split("/"))
        assert source_arn.endswith(f"/{operation.method}{path}"), (function, source_arn)
    assert "AuthorizerFunctionAliaslive" in permissions  # the authorizer's own, for the API's authorizers


def test_cors_is_on_only_with_an_origin_and_then_on_every_answer_of_the_gateway():
    for environment, origin in (("prod, every option on", "'https://app.example.com'"), ("default", None)):
        body = created(environment)["Resources"]["ProgressApi"]["Properties"]["Body"]
        preflight = body["paths"]["/api/progress/{user_id}"]["options"]["x-amazon-apigateway-integration"]
        headers = preflight["responses"]["default"]["responseParameters"]
        gateway = body["x-amazon-apigateway-gateway-responses"]
        assert headers.get("method.response.header.Access-Control-Allow-Origin") == origin, environment
        assert headers["method.response.header.Access-Control-Allow-Methods"] == "'GET,POST,PUT,PATCH,DELETE,OPTIONS'"
        assert headers["method.response.header.Access-Control-Allow-Headers"] == (
            "'Authorization,Content-Type,If-Match,Idempotency-Key'"
        )
        for name, answer in gateway.items():
            parameters = answer["responseParameters"]
            assert parameters.get("gatewayresponse.header.Access-Control-Allow-Origin") == origin, (environment, name)
            assert parameters["gatewayresponse.header.X-Request-Id"] == "context.requestId"
        assert set(gateway) == {
            "UNAUTHORIZED",
            "ACCESS_DENIED",
            "MISSING_AUTHENTICATION_TOKEN",
            "REQUEST_TOO_LARGE",
            "INTEGRATION_TIMEOUT",
            "DEFAULT_4XX",
            "DEFAULT_5XX",
        }
        assert gateway["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"


def test_the_api_is_regional_compressed_and_has_only_its_own_stage():
    resources = created("prod")["Resources"]
    api = resources["ProgressApi"]["Properties"]
    assert api["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert api["MinimumCompressionSize"] == 1024
    assert api["Body"]["openapi"].startswith("3.")
    stages = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApiGateway::Stage"]
    deployments = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApiGateway::Deployment"]
    # One stage, the parameter's; the deployment creates no stage of its own (without OpenApiVersion: "Stage").
    assert [stage["StageName"] for stage in stages] == [ENVIRONMENTS["prod"]["Stage"]]
    assert len(deployments) == 1 and "StageName" not in deployments[0]


# --- IAM: what each function may do ---------------------------------------------------------------------------------

BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"  # its own log group
TRACES = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"  # active tracing
DATABASE = "${DatabaseSecretReadPolicy}"  # the secret (and its key): below
API_FUNCTIONS = [
    "GetProgressFunction", "GetSummaryFunction", "LogProgressFunction", "UpdateProgressFunction",
    "DeleteProgressFunction", "DeleteUserLogsFunction", "GetLogHistoryFunction", "RollbackProgressFunction",
    "SetGoalsFunction", "PatchGoalsFunction", "GetGoalsFunction", "ClearGoalsFunction", "GetGoalHistoryFunction",
    "GetSeriesFunction", "GetChangesFunction", "UpsertLogsFunction", "ExportProgressFunction", "ImportProgressFunction",
]  # fmt: skip
# Each function's grants: its managed policies and its inline statements as (action, resource).
GRANTS: dict[str, tuple[set[str], set[tuple[str, str]]]] = {
    **{name: ({BASIC, TRACES, DATABASE}, set()) for name in API_FUNCTIONS},
    "AuthorizerFunction": ({BASIC, TRACES}, set()),
    "ApiDocsFunction": ({BASIC, TRACES}, set()),
    "MigrateFunction": ({BASIC, TRACES, DATABASE}, set()),
    "RecomputeSummariesFunction": ({BASIC, TRACES, DATABASE}, set()),
    "PublishEventsFunction": (
        {BASIC, TRACES, DATABASE},
        {("events:PutEvents", "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default")},
    ),
    # Its failures go to the dead-letter queue (its on-failure destination).
    "UserDeletedFunction": ({BASIC, TRACES, DATABASE}, {("sqs:SendMessage", "UserDeletedDeadLetterQueue.Arn")}),
}


def grants(template: dict[str, Any], function: str) -> tuple[set[str], set[tuple[str, str]]]:
    role_name = template["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    role = template["Resources"][role_name]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": ["sts:AssumeRole"], "Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}}
    ]
    managed = {render(arn) for arn in role["ManagedPolicyArns"]}
    inline = set()
    for policy in role.get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow" and "Condition" not in statement
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            inline |= {(action, render(statement["Resource"])) for action in actions}
    return managed, inline


@pytest.mark.parametrize("environment", ["prod", "prod, every option on"])
def test_each_function_role_grants_what_it_needs_and_nothing_more(environment):
    cloudformation = created(environment)
    functions = {name for name, r in cloudformation["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
    assert functions == set(GRANTS) - ({"ApiDocsFunction"} if environment == "prod" else set())
    assert {name: grants(cloudformation, name) for name in functions} == {name: GRANTS[name] for name in functions}


def test_the_database_policy_reads_the_secret_and_decrypts_only_with_its_key_through_secrets_manager():
    def statements(environment: str) -> list[dict[str, Any]]:
        policy = created(environment)["Resources"]["DatabaseSecretReadPolicy"]
        return policy["Properties"]["PolicyDocument"]["Statement"]

    secret, key = GUIDED_ANSWERS["DatabaseSecretArn"], EVERYTHING_ON["DatabaseSecretKmsKeyArn"]
    read_secret = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret}
    assert statements("prod") == [read_secret]
    assert statements("prod, every option on") == [
        read_secret,
        {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key,
            "Condition": {
                "StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}
            },
        },
    ]


# --- The migration custom resource, concurrency, architecture -------------------------------------------------------


def test_the_migration_is_invoked_once_through_the_alias_its_retries_are_off_on_and_cloudformation_waits_little():
    resources = created("prod")["Resources"]
    migration = resources["SchemaMigration"]["Properties"]
    function_timeout = resources["MigrateFunction"]["Properties"]["Timeout"]
    assert migration["ServiceToken"] == {"Ref": "MigrateFunctionAliaslive"}
    assert resources["MigrateFunctionAliaslive"]["Properties"]["Name"] == "live"
    invoke_configs = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventInvokeConfig"]
    (config,) = [c for c in invoke_configs if c["FunctionName"] == {"Ref": "MigrateFunction"}]
    # The configuration covers the qualifier CloudFormation invokes: the alias.
    assert (config["Qualifier"], config["MaximumRetryAttempts"]) == ("live", 0)
    assert function_timeout < migration["ServiceTimeout"] < 3600
    # A new layer (new code or migrations) changes the resource's properties, so the deploy migrates.
    assert migration["LayerVersion"]["Ref"].startswith("ProgressTrackingLayer")


def reserved(template: dict[str, Any]) -> dict[str, int]:
    return {
        name: int(r["Properties"]["ReservedConcurrentExecutions"])
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and "ReservedConcurrentExecutions" in r["Properties"]
    }


def test_the_default_environment_reserves_no_concurrency_and_prod_fits_the_default_quota():
    # A new account's quota is 10 and Lambda keeps 10 unreserved: the dev stack must reserve nothing.
    assert reserved(created("default")) == {}
    # Prod reserves for every API function and the two followers; AWS's default quota is 1,000, 100 kept unreserved.
    prod = reserved(created("prod"))
    assert set(prod) == set(API_FUNCTIONS) | {"RecomputeSummariesFunction", "PublishEventsFunction"}
    assert prod["RecomputeSummariesFunction"] == prod["PublishEventsFunction"] == 1
    assert sum(prod.values()) <= 1000 - 100


@pytest.mark.parametrize("environment", ["default", "prod, every option on"])
def test_every_function_and_the_layer_are_arm64_with_the_arm64_secrets_extension(environment):
    cloudformation = created(environment)
    resources = cloudformation["Resources"]
    functions = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    assert {name: p["Architectures"] for name, p in functions.items()} == {name: ["arm64"] for name in functions}
    (layer,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert layer["CompatibleArchitectures"] == ["arm64"]
    extension = {render(layer) for p in functions.values() for layer in p["Layers"][1:]}
    if environment == "default":  # the mapping's, for the stack's region
        assert extension == {source_template()["Mappings"]["SecretsExtension"][REGION]["LayerArn"]}
    else:
        assert extension == {EVERYTHING_ON["SecretsExtensionLayerArn"]}


def test_the_extension_mapping_holds_arm64_layers_of_each_region_from_awss_accounts():
    for region, entry in source_template()["Mappings"]["SecretsExtension"].items():
        arn = entry["LayerArn"]
        assert arn.startswith(f"arn:aws:lambda:{region}:"), region
        assert ":layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:" in arn, region
    assert REGION in source_template()["Mappings"]["SecretsExtension"]  # samconfig.toml's region


def test_samconfig_deploys_to_a_region_of_the_extension_mapping_and_validates_in_it():
    config = rehearsal.tomllib.loads((rehearsal.ROOT / "samconfig.toml").read_text())
    regions = {config[env]["deploy"]["parameters"]["region"] for env in ("default", "prod")}
    assert regions == {REGION} == {config["default"]["validate"]["parameters"]["region"]}
    assert "lint" not in config["default"]["validate"]["parameters"]  # lint alone skipped the transform


# --- The stack, created in moto's CloudFormation -------------------------------------------------------------------


def test_the_rehearsal_leaves_out_exactly_the_types_moto_cannot_create():
    from moto.cloudformation.parsing import get_model_map

    types = {r["Type"] for r in created("prod, every option on")["Resources"].values()}
    lacking = {t for t in types if t not in get_model_map() and not t.startswith("Custom::")}
    # Every type moto lacks is written down with what covers it instead (docs/deploy.md lists them too); the
    # Deployment moto has, but not the Body import its methods come from.
    assert lacking == set(rehearsal.UNREHEARSED) - {"AWS::ApiGateway::Deployment"}
    assert "AWS::ApiGateway::Deployment" in types
    deploy_guide = (rehearsal.ROOT / "docs" / "deploy.md").read_text()
    assert all(f"`{resource_type}`" in deploy_guide for resource_type in rehearsal.UNREHEARSED)


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


class MigrationRunsForReal:
    """Plays Lambda for the stack's custom resource: moto would run MigrateFunction in Docker; here its handler runs
    in this process against a real Postgres, answers at a ResponseURL served on loopback, and the answer is handed
    to moto's CloudFormation as its response endpoint would."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.answers: list[dict[str, Any]] = []
        self.failures: list[BaseException] = []

    def invoke(self, function: Any, body: str) -> str:
        try:
            return self._invoke(function, body)
        except BaseException as exc:  # moto's thread would swallow it: the test reports it
            self.failures.append(exc)
            raise

    def _invoke(self, function: Any, body: str) -> str:
        from moto.cloudformation.models import cloudformation_backends

        from localdev.lambda_context import LocalLambdaContext
        from localdev.stubs import StubServer
        from tests.helpers import FUNCTIONS

        assert "-MigrateFunction-" in function.function_name, function.function_name  # nothing else is invoked
        event = json.loads(body)
        self.events.append(copy.deepcopy(event))
        with StubServer(lambda path: (404, {})) as response_url:
            event["ResponseURL"] = f"{response_url.url}/cloudformation-response"
            FUNCTIONS["migrate"].load()(event, LocalLambdaContext("MigrateFunction", timeout_seconds=300))
            (upload,) = response_url.uploads
        answer = json.loads(upload[1])
        self.answers.append(answer)
        stack = cloudformation_backends[ACCOUNT][REGION].get_stack(event["StackId"])
        if answer["Status"] == "SUCCESS":
            stack.get_custom_resource(answer["LogicalResourceId"]).set_data(answer["Data"])
            stack.verify_readiness()
        return "{}"


def json_document(document: str | dict[str, Any]) -> dict[str, Any]:
    """A policy document as moto answers it: decoded as AWS's, or text (moto keeps an inline policy of a template
    as the text of a Python dict)."""
    if isinstance(document, dict):
        return document
    try:
        return json.loads(document)
    except json.JSONDecodeError:
        return ast.literal_eval(document)


@pytest.fixture
def empty_database(postgres_server_url, service_env, monkeypatch):
    """A database of its own, empty, as a new Neon project's: the deploy's migration creates the schema."""
    from localdev.databases import scratch_database
    from progress_tracking import config, db

    with scratch_database(postgres_server_url, "progress_rehearsal") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        config.get_settings.cache_clear()
        db.get_database.cache_clear()
        yield url
        db.get_database().close()
        config.get_settings.cache_clear()
        db.get_database.cache_clear()


def test_the_stack_is_created_in_moto_and_its_migration_runs_against_a_real_postgres(empty_database, monkeypatch):
    import boto3
    import psycopg2
    from moto import mock_aws
    from moto.awslambda.models import LambdaFunction, LayerVersion

    from progress_tracking.migrations import available_migrations

    migration = MigrationRunsForReal()
    monkeypatch.setattr(LambdaFunction, "invoke", lambda function, body, *_: migration.invoke(function, body))
    # moto's layer version has no physical id; CloudFormation's Ref to one is its ARN.
    monkeypatch.setattr(LayerVersion, "physical_resource_id", property(lambda layer: layer.arn), raising=False)
    stack_name = "progress-tracking-dev"
    with mock_aws():
        aws = {service: boto3.client(service, region_name=REGION) for service in
               ("s3", "lambda", "secretsmanager", "cloudformation", "apigateway", "iam", "events", "sqs")}  # fmt: skip
        # Given: what the account holds before the deploy: the secret (created as docs/deploy.md says) and the
        # artifacts `sam deploy` uploads.
        secret_arn = aws["secretsmanager"].create_secret(
            Name="progress-tracking/dev/database-url", SecretString=empty_database
        )["ARN"]
        aws["s3"].create_bucket(Bucket="rehearsal-artifacts", CreateBucketConfiguration={"LocationConstraint": REGION})
        code = _zip({"app.py": "def lambda_handler(event, context):\n    return {}\n"})
        for name, resource in source_template()["Resources"].items():
            if resource["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion"):
                aws["s3"].put_object(Bucket="rehearsal-artifacts", Key=f"{name}.zip", Body=code)
        parameters = {**deploy_parameters("default"), "DatabaseSecretArn": secret_arn}
        assert parameter_problems(source_template(), parameters) == []  # moto's secret ARN has the full shape
        template = rehearsal.for_moto(as_created(translate(source_template(), parameters), parameters, False))

        # When: the stack is created.
        aws["cloudformation"].create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
            Capabilities=["CAPABILITY_IAM"],
        )
        for _ in range(600):  # moto's thread invokes the custom resource; its answer completes the stack
            stack = aws["cloudformation"].describe_stacks(StackName=stack_name)["Stacks"][0]
            if stack["StackStatus"] != "CREATE_IN_PROGRESS" or migration.failures:
                break
            time.sleep(0.05)

        # Then: complete, every resource created, the migration run once (a Create) and answered SUCCESS.
        assert migration.failures == [] and stack["StackStatus"] == "CREATE_COMPLETE", (migration.failures, stack)
        summaries = aws["cloudformation"].list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
        physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries}
        assert set(physical) == set(template["Resources"])
        assert {r["ResourceStatus"] for r in summaries} == {"CREATE_COMPLETE"}
        assert [(e["RequestType"], e["LogicalResourceId"]) for e in migration.events] == [("Create", "SchemaMigration")]
        (answer,) = migration.answers
        latest = available_migrations()[-1][0]
        assert (answer["Status"], answer["Data"]["SchemaVersion"]) == ("SUCCESS", str(latest))
        with psycopg2.connect(empty_database) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT max(version) FROM schema_migrations")
            assert cursor.fetchone()[0] == latest

        # Every function: its runtime, limits, role and environment (moto keeps no architecture or layers from a
        # template: the translated template's checks cover those).
        functions = {name: r for name, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
        for name, resource in functions.items():
            configuration = aws["lambda"].get_function_configuration(FunctionName=physical[name])
            assert configuration["Runtime"] == "python3.12", name
            assert configuration["Timeout"] == resource["Properties"]["Timeout"], name
            assert configuration["MemorySize"] == resource["Properties"]["MemorySize"], name
            assert configuration["Environment"]["Variables"]["DATABASE_SECRET_ARN"] == secret_arn, name
            assert configuration["Role"].endswith(f"/{physical[resource['Properties']['Role']['Fn::GetAtt'][0]]}")
        # The policy that reads the secret names it; the inline grants came out with their ARNs resolved (moto keeps
        # no managed policies on a role from a template: the translated template's checks cover those).
        policy_arn = physical["DatabaseSecretReadPolicy"]
        document = aws["iam"].get_policy_version(
            PolicyArn=policy_arn, VersionId=aws["iam"].get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
        )["PolicyVersion"]["Document"]
        assert json_document(document)["Statement"] == [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn}
        ]
        inline = {}
        for name, resource in functions.items():
            role = physical[resource["Properties"]["Role"]["Fn::GetAtt"][0]]
            for policy in aws["iam"].list_role_policies(RoleName=role)["PolicyNames"]:
                document = aws["iam"].get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
                for statement in json_document(document)["Statement"]:
                    inline[name] = (statement["Action"], statement["Resource"])
        queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{physical['UserDeletedDeadLetterQueue'].split('/')[-1]}"
        assert inline == {
            "PublishEventsFunction": ("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"),
            "UserDeletedFunction": ("sqs:SendMessage", queue_arn),
        }
        # The schedules and the UserDeleted rule, each aimed at its function.
        rules = {r["Name"]: r for r in aws["events"].list_rules()["Rules"]}
        schedules = sorted(r.get("ScheduleExpression", "") for r in rules.values())
        assert schedules == ["", "rate(1 minute)", "rate(15 minutes)"]
        targets = {
            target["Arn"] for name in rules for target in aws["events"].list_targets_by_rule(Rule=name)["Targets"]
        }
        assert {arn.split(":")[-1] for arn in targets} == {
            physical[name] for name in ("RecomputeSummariesFunction", "PublishEventsFunction", "UserDeletedFunction")
        }
        queue_url = aws["sqs"].get_queue_url(QueueName=physical["UserDeletedDeadLetterQueue"].split("/")[-1])
        attributes = aws["sqs"].get_queue_attributes(QueueUrl=queue_url["QueueUrl"], AttributeNames=["All"])
        assert attributes["Attributes"]["MessageRetentionPeriod"] == "1209600"

        # The API: the generated definition imports into it, as CloudFormation imports the Body, and deploys to the
        # stage. (CloudFormation imports without failing on warnings, RestApi's FailOnWarnings defaulting to false:
        # SAM's CORS preflights are not strict OpenAPI 3, their headers' schema nested twice. moto cannot import a
        # mock integration, so the preflights stay out; the translated template's checks cover them.)
        api_id = physical["ProgressApi"]
        names = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackName": stack_name,
        }
        for name in functions:
            names[f"{name}Aliaslive"] = (
                aws["lambda"].get_function(FunctionName=physical[name])["Configuration"]["FunctionArn"] + ":live"
            )
        body = as_created(translated("default"), parameters)["Resources"]["ProgressApi"]["Properties"]["Body"]
        body = rehearsal.substitute(body, names)
        body["paths"] = {
            path: {m: op for m, op in ops.items() if m != "options"} for path, ops in body["paths"].items()
        }
        aws["apigateway"].put_rest_api(restApiId=api_id, mode="overwrite", failOnWarnings=False, body=json.dumps(body))
        imported = {}
        for resource in aws["apigateway"].get_resources(restApiId=api_id, limit=500)["items"]:
            for method in resource.get("resourceMethods", {}):
                integration = aws["apigateway"].get_integration(
                    restApiId=api_id, resourceId=resource["id"], httpMethod=method
                )
                imported[(method, resource["path"])] = (integration["type"].upper(), integration["uri"])
        invoke = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions"
        expected = {
            route: ("AWS_PROXY", f"{invoke}/{names[function + 'Aliaslive']}/invocations")
            for route, (function, _) in expected_routes(source_template()).items()
            if function != "ApiDocsFunction"
        }
        assert imported == expected
        aws["apigateway"].create_deployment(restApiId=api_id, stageName=parameters["Stage"])
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        assert outputs["ApiUrl"] == f"https://{api_id}.execute-api.{REGION}.amazonaws.com/{parameters['Stage']}"
