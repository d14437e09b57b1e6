"""template.yaml as the tests read it: its functions' resources and which of them serve the API, and the stack as SAM
translates it and CloudFormation would create it, for each samconfig environment (the rehearsal's translation)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from localdev.template import read_template
from tests.helpers import ROOT
from tests.helpers.rehearsal import EVERYTHING_ON, as_created, deploy_parameters, source_template, translate

RESOURCES = read_template(ROOT / "template.yaml")["Resources"]
FUNCTION_RESOURCES = {name: spec for name, spec in RESOURCES.items() if spec["Type"] == "AWS::Serverless::Function"}


def is_api_function(spec: dict) -> bool:
    """Behind the authorizer (the docs page's public routes are not the API's)."""
    return any(
        event["Type"] == "Api" and (event["Properties"].get("Auth") or {}).get("Authorizer") != "NONE"
        for event in spec["Properties"].get("Events", {}).values()
    )


ENVIRONMENTS = {
    "default": deploy_parameters("default"),
    "prod": deploy_parameters("prod"),
    "prod, every option on": {**deploy_parameters("prod"), **EVERYTHING_ON, "LogRetentionDays": "90"},
}


@cache
def _translated(environment: str) -> str:
    return json.dumps(translate(source_template(), ENVIRONMENTS[environment]))


def translated(environment: str = "default") -> dict[str, Any]:
    return json.loads(_translated(environment))


def created(environment: str = "default") -> dict[str, Any]:
    return as_created(translated(environment), ENVIRONMENTS[environment])


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


def access_log_format(template: dict[str, Any]) -> str:
    (stage,) = of_type(template, "AWS::ApiGateway::Stage").values()
    setting = stage["Properties"]["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    return setting["Format"]
