"""Every alarm's metric exists: the translated template's alarms and dashboard widgets name only metrics that the code
(progress_tracking.metric_catalog) or AWS emits, with exactly the dimensions they are emitted with (CloudWatch matches
an alarm to a metric only on the same dimension set, and an alarm on a metric nobody emits never fires), and every
metric the code emits is watched by an alarm or a widget."""

from __future__ import annotations

import ast
import copy
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.metrics import MetricUnit

from progress_tracking import api_edge, metric_catalog
from progress_tracking.metric_catalog import Metric
from tests.helpers.rehearsal import EVERYTHING_ON, as_created, deploy_parameters, source_template, translate
from tests.helpers.template import FUNCTION_RESOURCES, is_api_function

ROOT = Path(__file__).resolve().parents[2]
GLOBAL_ENVIRONMENT = source_template()["Globals"]["Function"]["Environment"]["Variables"]
SERVICE = GLOBAL_ENVIRONMENT["POWERTOOLS_SERVICE_NAME"]
NAMESPACE = GLOBAL_ENVIRONMENT["POWERTOOLS_METRICS_NAMESPACE"]

# AWS's own metrics the template may watch: their names, and the dimension set each is published with that the
# template uses, with what each dimension's value must name.
AWS_METRICS: dict[str, tuple[set[str], dict[str, str]]] = {
    "AWS/Lambda": ({"Errors", "Throttles"}, {"FunctionName": "AWS::Lambda::Function"}),
    "AWS/ApiGateway": ({"Count", "4XXError", "5XXError", "Latency"}, {"ApiName": "the API", "Stage": "the stage"}),
    "AWS/SQS": ({"ApproximateNumberOfMessagesVisible"}, {"QueueName": "AWS::SQS::Queue"}),
}


@dataclass(frozen=True)
class Watched:
    """A metric an alarm or a dashboard widget names."""

    where: str
    namespace: str
    name: str
    dimension_names: frozenset[str]
    dimensions: dict[str, Any] | None  # None: a SEARCH expression's schema, which names dimensions without values


_SEARCH = re.compile(r"SEARCH\('\{([^}]*)\}([^']*)'")
_METRIC_NAME = re.compile(r'MetricName="([^"]+)"')
_SUB_NAME = re.compile(r"\$\{([^}!][^}]*)\}")
_MARKER = re.compile(r"⟨([\w:]+)(?:\.(\w+))?⟩")


def _reference(value: Any) -> Any:
    """A dashboard's ⟨Name⟩ or ⟨Name.Attr⟩ marker as the Ref or GetAtt it stands for; anything else as it is."""
    found = _MARKER.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        return value
    name, attribute = found.groups()
    return {"Ref": name} if attribute is None else {"Fn::GetAtt": [name, attribute]}


def dashboard_body(body: Any) -> dict[str, Any]:
    """A DashboardBody (Fn::Sub of JSON text) as JSON, each ${Name} and ${Name.Attr} put in as a ⟨…⟩ marker."""
    text = body["Fn::Sub"] if isinstance(body, dict) else body
    text = text[0] if isinstance(text, list) else text
    return json.loads(_SUB_NAME.sub(lambda found: f"⟨{found.group(1)}⟩", text))


def watched_metrics(template: dict[str, Any]) -> list[Watched]:
    watched = []
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            where = f"Resources.{logical_id}"
            stats = (
                [{**properties, "Dimensions": properties.get("Dimensions", [])}] if "MetricName" in properties else []
            )
            stats += [query["MetricStat"]["Metric"] for query in properties.get("Metrics", []) if "MetricStat" in query]
            for stat in stats:
                dimensions = {d["Name"]: d["Value"] for d in stat.get("Dimensions", [])}
                watched.append(Watched(where, stat["Namespace"], stat["MetricName"], frozenset(dimensions), dimensions))
        elif resource["Type"] == "AWS::CloudWatch::Dashboard":
            for widget in dashboard_body(properties["DashboardBody"])["widgets"]:
                where = f"Resources.{logical_id}: widget {widget['properties'].get('title')!r}"
                for row in widget["properties"].get("metrics", []) if widget["type"] == "metric" else []:
                    if isinstance(row[0], dict):
                        for schema, terms in _SEARCH.findall(row[0]["expression"]):
                            namespace, *names = (part.strip() for part in schema.split(","))
                            (name,) = _METRIC_NAME.findall(terms.replace('\\"', '"'))
                            watched.append(Watched(where, namespace, name, frozenset(names), None))
                        continue
                    namespace, name, *pairs = [part for part in row if not isinstance(part, dict)]
                    dimensions = {pairs[i]: _reference(pairs[i + 1]) for i in range(0, len(pairs), 2)}
                    watched.append(Watched(where, namespace, name, frozenset(dimensions), dimensions))
    return watched


def _service_metric_problems(found: Watched, catalog: dict[str, Metric]) -> list[str]:
    metric = catalog.get(found.name)
    if metric is None:
        return [f"{found.where}: {found.namespace}/{found.name} is no metric the service emits (metric_catalog)"]
    emitted_with = {metric_catalog.SERVICE_DIMENSION, *metric.dimensions}
    if found.dimension_names != emitted_with:
        return [f"{found.where}: {found.name} with dimensions {sorted(found.dimension_names)}, emitted with "
                f"{sorted(emitted_with)}"]  # fmt: skip
    if found.dimensions is None:
        return []
    problems = []
    if found.dimensions[metric_catalog.SERVICE_DIMENSION] != SERVICE:
        problems.append(f"{found.where}: {found.name} of service {found.dimensions['service']!r}, not {SERVICE!r}")
    for name, values in metric.dimensions.items():
        if found.dimensions[name] not in values:
            problems.append(f"{found.where}: {found.name} {name}={found.dimensions[name]!r} is never emitted")
    return problems


def _aws_metric_problems(found: Watched, template: dict[str, Any]) -> list[str]:
    names, dimensions = AWS_METRICS[found.namespace]
    if found.name not in names:
        return [f"{found.where}: {found.namespace}/{found.name} is no metric of AWS's the template may watch"]
    if found.dimension_names != set(dimensions):
        return [
            f"{found.where}: {found.name} with dimensions {sorted(found.dimension_names)}, not {sorted(dimensions)}"
        ]
    resources = template["Resources"]
    problems = []
    for name, value in (found.dimensions or {}).items():
        names_it = {
            "AWS::Lambda::Function": lambda v: resources.get(v.get("Ref"), {}).get("Type") == "AWS::Lambda::Function",
            "AWS::SQS::Queue": lambda v: (
                v.get("Fn::GetAtt", [None])[0] in resources
                and v["Fn::GetAtt"][1] == "QueueName"
                and resources[v["Fn::GetAtt"][0]]["Type"] == "AWS::SQS::Queue"
            ),
            # SAM names the REST API after the stack (its definition's title).
            "the API": lambda v: (
                v == {"Ref": "AWS::StackName"} == resources["ProgressApi"]["Properties"]["Body"]["info"]["title"]
            ),
            "the stage": lambda v: v == {"Ref": "Stage"},
        }[dimensions[name]]
        if not isinstance(value, dict) or not names_it(value):
            problems.append(f"{found.where}: {found.name} {name}={value!r} names no {dimensions[name]}")
    return problems


def metric_problems(template: dict[str, Any], catalog: tuple[Metric, ...] = metric_catalog.CATALOG) -> list[str]:
    """What is wrong between the template's alarms and widgets and the metrics emitted: a watched metric nobody
    emits (name, namespace, dimension set or value), or an emitted metric nobody watches."""
    by_name = {metric.name: metric for metric in catalog}
    problems = []
    watched = watched_metrics(template)
    for found in watched:
        if found.namespace == NAMESPACE:
            problems += _service_metric_problems(found, by_name)
        elif found.namespace in AWS_METRICS:
            problems += _aws_metric_problems(found, template)
        else:
            problems.append(
                f"{found.where}: namespace {found.namespace!r} is neither the service's nor a known AWS one"
            )
    seen = {found.name for found in watched if found.namespace == NAMESPACE}
    problems += [f"{name} is emitted, and no alarm or widget watches it" for name in by_name if name not in seen]
    return problems


ENVIRONMENTS = {
    "default": deploy_parameters("default"),
    "prod, every option on": {**deploy_parameters("prod"), **EVERYTHING_ON},
}


@cache
def _translated(environment: str) -> str:
    return json.dumps(translate(source_template(), ENVIRONMENTS[environment]))


def translated(environment: str = "default") -> dict[str, Any]:
    return json.loads(_translated(environment))


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_alarm_and_widget_watches_a_metric_something_emits_and_every_emitted_metric_is_watched(environment):
    template = translated(environment)
    assert metric_problems(template) == []
    watched = watched_metrics(template)
    # The check saw the template's alarms and the dashboard's widgets (a parser that found nothing would pass).
    alarms = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert len({found.where for found in watched if found.where.endswith("Alarm")}) == len(alarms) > 40
    assert sum("widget" in found.where for found in watched) > 30
    assert {found.namespace for found in watched} == {NAMESPACE, *AWS_METRICS}


def _alarm(template: dict[str, Any], name: str) -> dict[str, Any]:
    return template["Resources"][name]["Properties"]


def _replace_in_dashboard(template: dict[str, Any], old: str, new: str) -> None:
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
    text = body["Fn::Sub"] if isinstance(body["Fn::Sub"], str) else body["Fn::Sub"][0]
    assert text.count(old) == 1, old
    if isinstance(body["Fn::Sub"], str):
        body["Fn::Sub"] = text.replace(old, new)
    else:
        body["Fn::Sub"][0] = text.replace(old, new)


def _misspell_alarm_metric(template):
    _alarm(template, "ReadLatencyAlarm")["MetricName"] = "RequestLatancy"


def _misspell_widget_dimension_value(template):
    _replace_in_dashboard(template, '"code", "database_busy"', '"code", "databse_busy"')


def _leave_out_the_service_dimension(template):
    dimensions = _alarm(template, "UserServiceUnavailableAlarm")["Dimensions"]
    dimensions[:] = [d for d in dimensions if d["Name"] != "service"]


def _misspell_a_math_alarms_metric(template):
    _alarm(template, "RelayLagAlarm")["Metrics"][1]["MetricStat"]["Metric"]["MetricName"] = "RelayLags"


def _misspell_an_aws_metric(template):
    _alarm(template, "GetProgressErrorsAlarm")["MetricName"] = "Error"


def _watch_a_function_that_does_not_exist(template):
    _alarm(template, "GetProgressThrottlesAlarm")["Dimensions"][0]["Value"] = {"Ref": "GetProgresFunction"}


def _misspell_a_search(template):
    _replace_in_dashboard(template, 'MetricName=\\"Requests\\"', 'MetricName=\\"Request\\"')


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (
            _misspell_alarm_metric,
            [
                "Resources.ReadLatencyAlarm: ProgressTracking/RequestLatancy is no metric the service emits "
                "(metric_catalog)"
            ],
        ),
        (
            _misspell_widget_dimension_value,
            [
                "Resources.Dashboard: widget '503s by code (nothing written; the client retries after Retry-After)': "
                "ServiceUnavailable code='databse_busy' is never emitted"
            ],
        ),
        (
            _leave_out_the_service_dimension,
            [
                "Resources.UserServiceUnavailableAlarm: ServiceUnavailable with dimensions ['code'], emitted with "
                "['code', 'service']"
            ],
        ),
        (
            _misspell_a_math_alarms_metric,
            ["Resources.RelayLagAlarm: ProgressTracking/RelayLags is no metric the service emits (metric_catalog)"],
        ),
        (
            _misspell_an_aws_metric,
            ["Resources.GetProgressErrorsAlarm: AWS/Lambda/Error is no metric of AWS's the template may watch"],
        ),
        (
            _watch_a_function_that_does_not_exist,
            [
                "Resources.GetProgressThrottlesAlarm: Throttles FunctionName={'Ref': 'GetProgresFunction'} names no "
                "AWS::Lambda::Function"
            ],
        ),
        (
            _misspell_a_search,
            [
                "Resources.Dashboard: widget 'Traffic: requests per route and status class (functions), all requests "
                "(API)': ProgressTracking/Request is no metric the service emits (metric_catalog)",
                "Requests is emitted, and no alarm or widget watches it",
            ],
        ),
    ],
    ids=[
        "alarm-name",
        "widget-dimension-value",
        "alarm-dimension-set",
        "metric-math",
        "aws-metric",
        "aws-dimension",
        "search",
    ],
)
def test_a_misspelled_metric_or_dimension_fails_the_check(break_it, expected):
    template = translated()
    break_it(template)
    assert metric_problems(template) == expected


def test_a_metric_the_code_emits_that_nothing_watches_fails_the_check():
    extra = Metric("ProgressLoged", MetricUnit.Count, "a metric no alarm or widget names")
    assert metric_problems(translated(), (*metric_catalog.CATALOG, extra)) == [
        "ProgressLoged is emitted, and no alarm or widget watches it"
    ]


def test_every_alarm_notifies_the_topic_when_it_fires_and_when_it_recovers():
    to_topic = [{"Fn::If": ["HasAlarmTopicArn", {"Ref": "AlarmTopicArn"}, {"Ref": "AlarmTopic"}]}]
    alarms = {name: r["Properties"] for name, r in translated()["Resources"].items() if r["Type"].endswith("::Alarm")}
    assert {name: (p.get("AlarmActions"), p.get("OKActions")) for name, p in alarms.items()} == {
        name: (to_topic, to_topic) for name in alarms
    }
    # Created: the stack's own topic, or the one named by AlarmTopicArn (and then no topic of its own).
    topic = "arn:aws:sns:eu-west-1:123456789012:on-call"
    for parameters, expected in ((ENVIRONMENTS["default"], {"Ref": "AlarmTopic"}), ({"AlarmTopicArn": topic}, topic)):
        parameters = {**ENVIRONMENTS["default"], **parameters}
        created = as_created(translate(source_template(), parameters), parameters)
        assert created["Resources"]["Api5xxRateAlarm"]["Properties"]["AlarmActions"] == [expected]
        assert ("AlarmTopic" in created["Resources"]) == (expected == {"Ref": "AlarmTopic"})


# --- The catalog and the code -------------------------------------------------------------------------------------

SOURCES = [
    *ROOT.glob("functions/*/app.py"),
    *(ROOT / "layers" / "progress_tracking" / "progress_tracking").rglob("*.py"),
]
CATALOG_MODULE = ROOT / "layers" / "progress_tracking" / "progress_tracking" / "metric_catalog.py"
# A metric recorded around the catalog: Powertools' calls that add one, anywhere but in the catalog itself.
RECORDED_AROUND_THE_CATALOG = re.compile(r"\.add_metric\(|\bsingle_metric\b|\bEphemeralMetrics\b|\bSingleMetric\b")


def test_the_code_records_metrics_only_through_the_catalog():
    assert RECORDED_AROUND_THE_CATALOG.search('metrics.add_metric(name="X", unit="Count", value=1)')  # the control
    assert len(SOURCES) > 30
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in SOURCES
        if path != CATALOG_MODULE
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if RECORDED_AROUND_THE_CATALOG.search(line)
    ]
    assert found == []


def test_every_metric_of_the_catalog_is_recorded_somewhere():
    constants = {name for name, value in vars(metric_catalog).items() if isinstance(value, Metric)}
    assert sorted(getattr(metric_catalog, name).name for name in constants) == sorted(
        m.name for m in metric_catalog.CATALOG
    )
    recorded = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            # metric_catalog.NAME.record(…) or NAME.record(…)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record":
                target = node.func.value
                recorded.add(target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None))
    assert constants - recorded == set()


def test_the_catalog_knows_every_route_of_the_template_and_every_503_code():
    routes = {
        f"{event['Properties']['Method'].upper()} {event['Properties']['Path']}"
        for spec in FUNCTION_RESOURCES.values()
        if is_api_function(spec)
        for event in spec["Properties"]["Events"].values()
    }
    assert set(metric_catalog.ROUTE_GROUPS) == routes and len(routes) == 18
    assert set(metric_catalog.ROUTE_GROUPS.values()) == set(metric_catalog.ROUTE_GROUP_NAMES)
    assert set(metric_catalog.UNAVAILABLE_CODES) == set(api_edge.RETRY_AFTER_SECONDS)
    # Each route group has its latency alarm.
    resources = translated()["Resources"]
    alarmed = {
        next(d["Value"] for d in r["Properties"]["Dimensions"] if d["Name"] == "route_group")
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("MetricName") == "RequestLatency"
    }
    assert alarmed == set(metric_catalog.ROUTE_GROUP_NAMES)


def test_recording_with_other_dimensions_than_the_catalogs_is_refused():
    with pytest.raises(TypeError, match="takes the dimensions"):
        metric_catalog.REQUEST_LATENCY.record(5.0, route="GET /api/progress/{user_id}")
    with pytest.raises(TypeError, match="takes the dimensions"):
        metric_catalog.PROGRESS_LOGGED.record(1, route_group="write")


def test_the_check_reads_the_translated_template_not_a_copy_of_it():
    # The dashboard as CloudFormation gets it parses as JSON once its ${…} are put in (a widget that did not parse
    # would fail the deploy), and names the alarms it shows by their ARNs.
    template = copy.deepcopy(translated())
    body = dashboard_body(template["Resources"]["Dashboard"]["Properties"]["DashboardBody"])
    (alarms,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert all(_reference(arn)["Fn::GetAtt"][1] == "Arn" for arn in alarms["properties"]["alarms"])
    assert all(_reference(arn)["Fn::GetAtt"][0] in template["Resources"] for arn in alarms["properties"]["alarms"])
