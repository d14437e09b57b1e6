"""Operable once deployed, read from the translated template: each function logs JSON to a log group of the stack with
retention, the API writes JSON access logs, the API functions and the authorizer deploy as canaries rolled back by
their alarms, the schedules do not retry, the dead-letter queue outlives the stack, every resource carries the
service's tag, every parameter refuses a typo, and docs/operations.md has a section for every alarm."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from progress_tracking import metric_catalog
from tests.helpers.rehearsal import (
    GUIDED_ANSWERS,
    parameter_problems,
    source_template,
)
from tests.helpers.template import (
    ENVIRONMENTS,
    FUNCTION_RESOURCES,
    access_log_format,
    created,
    is_api_function,
    of_type,
    translated,
)

ROOT = Path(__file__).resolve().parents[2]
API_FUNCTIONS = sorted(name for name, spec in FUNCTION_RESOURCES.items() if is_api_function(spec))
FOLLOWERS = ("RecomputeSummariesFunction", "PublishEventsFunction")


def test_the_stack_stays_well_under_cloudformations_500_resources():
    counts = {environment: len(translated(environment)["Resources"]) for environment in ENVIRONMENTS}
    print(f"translated resources: {counts}")
    assert max(counts.values()) <= 250, counts


# --- Logs -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_function_logs_json_to_a_log_group_of_the_stack_with_retention(environment):
    resources = created(environment)["Resources"]
    functions = of_type(created(environment), "AWS::Lambda::Function")
    groups = of_type(created(environment), "AWS::Logs::LogGroup")
    retention = ENVIRONMENTS[environment].get("LogRetentionDays", "30")
    for name, function in functions.items():
        logging = function["Properties"]["LoggingConfig"]
        assert {key: logging[key] for key in ("LogFormat", "ApplicationLogLevel", "SystemLogLevel")} == {
            "LogFormat": "JSON",
            "ApplicationLogLevel": ENVIRONMENTS[environment].get("LogLevel", "INFO"),
            # INFO keeps Lambda's REPORT lines, which carry the init duration the dashboard reads.
            "SystemLogLevel": "INFO",
        }, name
        group = logging["LogGroup"]["Ref"]
        assert resources[group]["Type"] == "AWS::Logs::LogGroup", name
        assert resources[group]["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}/{name}"}
        # Removed with the stack (no Retain), and kept for the parameter's days.
        assert "DeletionPolicy" not in resources[group]
        assert resources[group]["Properties"]["RetentionInDays"] == retention
    # One group per function, and the access log's.
    assert len(groups) == len(functions) + 1
    assert resources["ApiAccessLogGroup"]["Properties"]["RetentionInDays"] == retention


def test_log_retention_defaults_to_30_days_and_takes_only_what_cloudwatch_accepts():
    parameter = source_template()["Parameters"]["LogRetentionDays"]
    assert parameter["Default"] == 30 and 30 in parameter["AllowedValues"] and 31 not in parameter["AllowedValues"]


def test_the_log_level_stays_at_or_below_info_so_lambda_keeps_the_metrics_lines():
    # Lambda files a line without a level (an EMF document) as INFO: above INFO it would drop every metric.
    assert source_template()["Parameters"]["LogLevel"]["AllowedValues"] == ["DEBUG", "INFO"]
    assert parameter_problems(source_template(), {**GUIDED_ANSWERS, "LogLevel": "WARNING"}) == [
        "LogLevel: 'WARNING' is not one of ['DEBUG', 'INFO']"
    ]


def test_the_api_writes_one_json_access_line_per_request_with_what_an_operator_needs():
    text = access_log_format(created())
    variables = set(re.findall(r"\$context\.([A-Za-z.]+)", text))
    # The request id (the functions' correlation_id), the caller's subject, the route, the status, the latencies
    # and the response's length, at least.
    assert {
        "requestId",
        "authorizer.principalId",
        "httpMethod",
        "resourcePath",
        "status",
        "responseLatency",
        "integrationLatency",
        "responseLength",
    } <= variables
    assert "\n" not in text  # one line per request


# --- Safe deploys ---------------------------------------------------------------------------------------------------


def deployment_groups(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each function's CodeDeploy group, by function (through the alias's update policy)."""
    groups = {}
    for alias in of_type(template, "AWS::Lambda::Alias").values():
        policy = alias.get("UpdatePolicy", {}).get("CodeDeployLambdaAliasUpdate")
        if policy:
            group = template["Resources"][policy["DeploymentGroupName"]["Ref"]]["Properties"]
            groups[alias["Properties"]["FunctionName"]["Ref"]] = group
    return groups


@pytest.mark.parametrize(("environment", "kind"), [("default", "AllAtOnce"), ("prod", "Canary10Percent5Minutes")])
def test_the_api_functions_and_the_authorizer_deploy_through_codedeploy_rolled_back_by_their_alarms(environment, kind):
    groups = deployment_groups(created(environment))
    assert set(groups) == {*API_FUNCTIONS, "AuthorizerFunction"}
    routes = {
        name: f"{event['Properties']['Method'].upper()} {event['Properties']['Path']}"
        for name in API_FUNCTIONS
        for event in FUNCTION_RESOURCES[name]["Properties"]["Events"].values()
    }
    for name, group in groups.items():
        assert group["DeploymentConfigName"] == {
            "Fn::Sub": ["CodeDeployDefault.Lambda${ConfigName}", {"ConfigName": kind}]
        }
        assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"], name
        alarms = [alarm["Name"]["Ref"] for alarm in group["AlarmConfiguration"]["Alarms"]]
        if name == "AuthorizerFunction":
            assert alarms == ["Api5xxRateAlarm", "AuthorizerErrorsAlarm"]
        else:
            route_group = metric_catalog.ROUTE_GROUPS[routes[name]]
            short = name.removesuffix("Function")
            assert alarms == ["Api5xxRateAlarm", f"{short}ErrorsAlarm", f"{route_group.title()}LatencyAlarm"], name


def test_the_followers_are_not_retried_and_a_run_that_cannot_start_within_a_minute_is_dropped():
    resources = created("prod")["Resources"]
    configs = {
        r["Properties"]["FunctionName"]["Ref"]: r["Properties"]
        for r in of_type(created("prod"), "AWS::Lambda::EventInvokeConfig").values()
    }
    for follower in FOLLOWERS:
        assert (configs[follower]["Qualifier"], configs[follower]["MaximumRetryAttempts"]) == ("live", 0)
        assert configs[follower]["MaximumEventAgeInSeconds"] == 60
        (rule,) = [
            r["Properties"]
            for r in resources.values()
            if r["Type"] == "AWS::Events::Rule" and "ScheduleExpression" in r["Properties"]
            and r["Properties"]["Targets"][0]["Arn"] == {"Ref": f"{follower}Aliaslive"}
        ]  # fmt: skip
        assert rule["Targets"][0]["RetryPolicy"] == {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60}
    # The UserDeleted consumer is the one that retries, then dead-letters (a deletion must not be lost).
    assert configs["UserDeletedFunction"]["MaximumRetryAttempts"] == 2


def test_the_dead_letter_queue_and_its_messages_outlive_the_stack():
    queue = translated()["Resources"]["UserDeletedDeadLetterQueue"]
    assert (queue["DeletionPolicy"], queue["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_each_function_has_its_errors_and_throttles_alarms_but_where_they_fire_by_design():
    alarms = of_type(created("prod, every option on"), "AWS::CloudWatch::Alarm")
    watched: dict[str, set[str]] = {}
    for alarm in alarms.values():
        properties = alarm["Properties"]
        if properties.get("Namespace") == "AWS/Lambda":
            (dimension,) = properties["Dimensions"]
            watched.setdefault(properties["MetricName"], set()).add(dimension["Value"]["Ref"])
    functions = set(FUNCTION_RESOURCES)
    # The authorizer fails every refused token (AuthorizerErrorsAlarm watches its own failures); the followers'
    # overlapping runs are throttled by design (their "not running" alarms watch them).
    assert watched == {"Errors": functions - {"AuthorizerFunction"}, "Throttles": functions - set(FOLLOWERS)}
    # The docs page's alarms exist only with the docs page.
    assert not any(name.startswith("ApiDocs") for name in of_type(created("prod"), "AWS::CloudWatch::Alarm"))


# --- Tags -----------------------------------------------------------------------------------------------------------

# The translated stack's types that take tags in CloudFormation; the rest (versions, aliases, permissions, invoke
# configurations, the queue policy, the managed policy, the layer, the dashboard, the rules SAM makes) take none, or
# get the stack's own tags from CloudFormation.
TAGGED_TYPES = {
    "AWS::Lambda::Function",
    "AWS::IAM::Role",
    "AWS::Logs::LogGroup",
    "AWS::CloudWatch::Alarm",
    "AWS::SNS::Topic",
    "AWS::SQS::Queue",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Stage",
    "AWS::CodeDeploy::Application",
    "AWS::CodeDeploy::DeploymentGroup",
}


def test_every_resource_that_takes_tags_carries_the_services_and_every_deploy_tags_the_stack():
    resources = created("prod, every option on")["Resources"]
    tagged = {name: r for name, r in resources.items() if r["Type"] in TAGGED_TYPES}
    assert len(tagged) > 100
    untagged = [
        name
        for name, r in tagged.items()
        if {"Key": "service", "Value": "progress-tracking"} not in r["Properties"].get("Tags", [])
    ]
    assert untagged == []
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    for environment in ("default", "prod"):
        tags = config[environment]["deploy"]["parameters"]["tags"]
        assert f'environment="{"dev" if environment == "default" else "prod"}"' in tags
        assert 'service="progress-tracking"' in tags


# --- Parameters -----------------------------------------------------------------------------------------------------


def test_every_parameter_refuses_a_typo_when_the_change_set_is_created():
    unbounded = [
        name
        for name, spec in source_template()["Parameters"].items()
        if "AllowedValues" not in spec
        and "AllowedPattern" not in spec
        and not (spec["Type"] == "Number" and "MinValue" in spec and "MaxValue" in spec)
    ]
    assert unbounded == []


@pytest.mark.parametrize(
    ("name", "typo"),
    [
        ("LogRetentionDays", "31"),
        ("AlarmTopicArn", "on-call"),
        ("AlarmTopicArn", "arn:aws:sns:eu-west-1:123456789012:on call"),
        ("DeploymentPreferenceType", "Canary10Percent"),
        ("ReadLatencyP99Ms", "0"),
        ("Api5xxRatePercent", "101"),
        ("RelaySilenceMinutes", "1"),
        ("SummaryScheduleRate", "every 15 minutes"),
        ("DomainEventScheduleRate", "rate(1 minutes"),
        ("EventBusName", "arn:aws:events:eu-west-1:123456789012:event-bus/default"),
        ("UserDeletedSource", "user profile"),
        ("UserIdClaim", "user id"),
        ("ThrottlingRateLimit", "0"),
        ("ApiReservedConcurrency", "5000"),
        ("SecretsExtensionLayerArn", "AWS-Parameters-and-Secrets-Lambda-Extension-Arm64"),
    ],
)
def test_a_typo_in_a_parameter_is_refused(name, typo):
    problems = parameter_problems(source_template(), {**GUIDED_ANSWERS, name: typo})
    assert len(problems) == 1 and problems[0].startswith(f"{name}: "), problems


def test_the_right_values_pass_the_same_checks():
    right = {
        **GUIDED_ANSWERS,
        "LogRetentionDays": "90",
        "AlarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:on-call",
        "DeploymentPreferenceType": "Linear10PercentEvery1Minute",
        "SummaryScheduleRate": "cron(0/15 * * * ? *)",
        "DomainEventScheduleRate": "rate(2 minutes)",
        "UserDeletedEventBusName": "arn:aws:events:eu-west-1:123456789012:event-bus/users",
        "UserDeletedDetailType": "User Deleted",
        "UserIdClaim": "https://progress.example.com/user_id",
        "Api5xxRatePercent": "0.5",
    }
    assert parameter_problems(source_template(), right) == []


# --- The runbook ----------------------------------------------------------------------------------------------------


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_alarm_points_at_its_section_of_the_runbook_and_the_section_exists():
    runbook = (ROOT / "docs" / "operations.md").read_text()
    anchors = {github_anchor(line.lstrip("#")) for line in runbook.splitlines() if line.startswith("#")}
    alarms = of_type(translated("prod, every option on"), "AWS::CloudWatch::Alarm")
    pointed = {}
    for name, alarm in alarms.items():
        found = re.search(r"docs/operations\.md#([\w-]+)", alarm["Properties"]["AlarmDescription"])
        assert found, name
        pointed[name] = found.group(1)
    assert {name: anchor for name, anchor in pointed.items() if anchor not in anchors} == {}
    # Each of the service's alarms has a section named for it (the per-function ones share two).
    for name in alarms:
        if not re.search(r"(Errors|Throttles)Alarm$", name) or name == "AuthorizerErrorsAlarm":
            assert pointed[name] in (name.lower(), "latency-alarms"), name
