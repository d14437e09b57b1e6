"""A deploy rehearsal without an AWS account: template.yaml through SAM's own transform (samtranslator, the code
`sam deploy` runs in CloudFormation), then checks on the CloudFormation it produces.

Everything here reads templates as plain dictionaries; tests/packaging/test_deploy_rehearsal.py says what must hold.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from localdev.template import read_template

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
ACCOUNT = "123456789012"
PSEUDO_PARAMETERS = {
    "AWS::AccountId",
    "AWS::NoValue",
    "AWS::NotificationARNs",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
}
# What `sam deploy --guided` asks for (samconfig.toml leaves it to the prompt): answers of the right shape.
GUIDED_ANSWERS = {
    "Auth0Domain": "your-tenant.eu.auth0.com",
    "Auth0Audience": "https://progress-tracking.example.com/api",
    "UserServiceBaseUrl": "https://users.example.com/api/users",
    "DatabaseSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:progress-tracking/dev/database-url-AbCdEf",
}
# Every optional feature switched on, on top of prod's values: the conditions' other side translates and holds too.
EVERYTHING_ON = {
    "CorsAllowOrigin": "https://app.example.com",
    "ApiDocs": "true",
    "SnapStart": "true",
    "FollowerReservedConcurrency": "1",
    "DatabaseSecretKmsKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0a1b2c3d-4e5f-6789-abcd-ef0123456789",
    "SecretsExtensionLayerArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:parameters-and-secrets:3",
}


def source_template() -> dict[str, Any]:
    return read_template(ROOT / "template.yaml")


def samconfig_overrides() -> dict[str, dict[str, str]]:
    """Each samconfig.toml environment's parameter_overrides, by environment ("default", "prod")."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    environments = {}
    for name, sections in config.items():
        if not isinstance(sections, dict) or "deploy" not in sections:
            continue
        overrides = sections["deploy"]["parameters"].get("parameter_overrides", [])
        pairs = overrides.split() if isinstance(overrides, str) else overrides
        environments[name] = dict(pair.split("=", 1) for pair in pairs)
    return environments


def deploy_parameters(environment: str) -> dict[str, str]:
    """The parameter values a deploy of the environment passes: the guided answers, then samconfig.toml's."""
    return {**GUIDED_ANSWERS, **samconfig_overrides()[environment]}


class _NoManagedPolicies:
    """SAM asks IAM for the account's managed policies only for a policy named by its bare name: none here."""

    def load(self) -> dict[str, str]:
        raise AssertionError("the transform asked IAM for managed policies: it would need an AWS account")


def translate(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """The CloudFormation SAM's transform makes of `template` (its code locations replaced by S3 ones, as
    `sam package` does), offline."""
    template = copy.deepcopy(template)
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            properties["CodeUri"] = f"s3://rehearsal-artifacts/{logical_id}.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            properties["ContentUri"] = f"s3://rehearsal-artifacts/{logical_id}.zip"
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    return translator.translate(
        template, parameter_values=dict(parameters), get_managed_policy_map=_NoManagedPolicies().load
    )


def parameter_problems(template: dict[str, Any], values: dict[str, str]) -> list[str]:
    """What CloudFormation would refuse when it creates the change set: a parameter without a value, a value outside
    its AllowedValues, AllowedPattern, MinValue or MaxValue, or a value for a parameter the template lacks."""
    problems = [f"{name}: not a parameter of the template" for name in values if name not in template["Parameters"]]
    for name, spec in template["Parameters"].items():
        value = values.get(name, spec.get("Default"))
        if value is None:
            problems.append(f"{name}: must have a value")
            continue
        value = str(value)
        if "AllowedValues" in spec and value not in {str(allowed) for allowed in spec["AllowedValues"]}:
            problems.append(f"{name}: {value!r} is not one of {spec['AllowedValues']}")
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
            problems.append(f"{name}: {value!r} does not match {spec['AllowedPattern']}")
        if spec["Type"] == "Number":
            number = float(value)
            if "MinValue" in spec and number < float(spec["MinValue"]):
                problems.append(f"{name}: {value} is below {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                problems.append(f"{name}: {value} is above {spec['MaxValue']}")
    return problems


# The attributes Fn::GetAtt may ask of each resource type the translated template holds (CloudFormation's
# documented return values); a type not listed here fails the check until it is added.
GETATT_ATTRIBUTES = {
    "AWS::Lambda::Function": {"Arn"},
    "AWS::Lambda::Version": {"Version", "FunctionArn"},
    "AWS::IAM::Role": {"Arn", "RoleId"},
    "AWS::SQS::Queue": {"Arn", "QueueName", "QueueUrl"},
    "AWS::Events::Rule": {"Arn"},
    "AWS::ApiGateway::RestApi": {"RootResourceId", "RestApiId"},
    "AWS::Lambda::LayerVersion": {"LayerVersionArn"},
    "Custom::SchemaMigration": {"Applied", "SchemaVersion"},
    "AWS::Logs::LogGroup": {"Arn"},
    "AWS::CloudWatch::Alarm": {"Arn"},
    "AWS::SNS::Topic": {"TopicArn", "TopicName"},
}


def _walk(value: Any, where: str) -> Iterator[tuple[str, str, Any]]:
    """Every intrinsic function in `value`, as (where, function name, its argument)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                yield where, key, inner
            yield from _walk(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _walk(inner, f"{where}[{index}]")


_SUB_NAME = re.compile(r"\$\{([^}!][^}]*)\}")


def dangling_references(template: dict[str, Any], region: str = REGION) -> list[str]:
    """Each Ref, Fn::GetAtt, Fn::Sub name, DependsOn, condition and Fn::FindInMap of the (translated) template that
    names nothing the template has: CloudFormation would refuse the change set."""
    resources = template.get("Resources", {})
    parameters = set(template.get("Parameters", {}))
    conditions = set(template.get("Conditions", {}))
    mappings = template.get("Mappings", {})
    problems: list[str] = []

    def check_getatt(where: str, logical_id: str, attribute: str) -> None:
        if logical_id not in resources:
            problems.append(f"{where}: Fn::GetAtt names no resource {logical_id!r}")
            return
        known = GETATT_ATTRIBUTES.get(resources[logical_id]["Type"])
        if known is None or attribute not in known:
            problems.append(f"{where}: Fn::GetAtt {logical_id}.{attribute} is no attribute of its type")

    def check_name(where: str, name: str, local: set[str]) -> None:
        if name in local or name in parameters or name in resources or name in PSEUDO_PARAMETERS:
            return
        problems.append(f"{where}: {name!r} names no resource, parameter or variable")

    sections = {f"Resources.{k}": v for k, v in resources.items()}
    sections |= {f"Outputs.{k}": v for k, v in template.get("Outputs", {}).items()}
    sections |= {f"Conditions.{k}": v for k, v in template.get("Conditions", {}).items()}
    for section, body in sections.items():
        depends = body.get("DependsOn", []) if isinstance(body, dict) else []
        for name in [depends] if isinstance(depends, str) else depends:
            if name not in resources:
                problems.append(f"{section}.DependsOn: no resource {name!r}")
        if isinstance(body, dict) and isinstance(body.get("Condition"), str) and body["Condition"] not in conditions:
            problems.append(f"{section}.Condition: no condition {body['Condition']!r}")
        for where, function, argument in _walk(body, section):
            if function == "Ref":
                check_name(where, argument, set())
            elif function == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                check_getatt(where, logical_id, attribute)
            elif function == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                for name in _SUB_NAME.findall(text):
                    if "." in name and name.split(".", 1)[0] not in variables:
                        check_getatt(where, *name.split(".", 1))
                    else:
                        check_name(where, name, set(variables))
            elif function in ("Fn::If", "Condition"):
                name = argument[0] if function == "Fn::If" else argument
                if isinstance(name, str) and name not in conditions:
                    problems.append(f"{where}: no condition {name!r}")
            elif function == "Fn::FindInMap":
                mapping, key, field = argument
                key = region if key == {"Ref": "AWS::Region"} else key
                if mapping not in mappings:
                    problems.append(f"{where}: no mapping {mapping!r}")
                elif isinstance(key, str) and field not in mappings[mapping].get(key, {}):
                    problems.append(f"{where}: mapping {mapping!r} has no {key}.{field}")
    return problems


def condition_values(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, bool]:
    """Each condition's value for these parameter values (the template's defaults for the rest)."""
    values = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
    values |= {name: str(value) for name, value in parameters.items()}
    values["AWS::Region"] = REGION
    conditions = template.get("Conditions", {})

    def evaluate(expression: Any) -> Any:
        if isinstance(expression, dict):
            ((function, argument),) = expression.items()
            if function == "Ref":
                return values[argument]
            if function == "Condition":
                return evaluate(conditions[argument])
            if function == "Fn::Equals":
                left, right = (str(evaluate(side)) for side in argument)
                return left == right
            if function == "Fn::Not":
                return not evaluate(argument[0])
            if function == "Fn::And":
                return all(evaluate(side) for side in argument)
            if function == "Fn::Or":
                return any(evaluate(side) for side in argument)
            raise ValueError(f"cannot evaluate {function} in a condition")
        return expression

    return {name: bool(evaluate(expression)) for name, expression in conditions.items()}


_NO_VALUE = object()


def as_created(template: dict[str, Any], parameters: dict[str, str], put_in_parameters: bool = True) -> dict[str, Any]:
    """The template as CloudFormation creates it for these parameters: each Fn::If decided, AWS::NoValue left out,
    and the resources and outputs whose condition is false left out; unless `put_in_parameters` is False, parameters
    put in for their Refs and Fn::Sub names too, and Fn::FindInMap looked up for the rehearsal's region. Pseudo
    parameters and resources stay references."""
    decided = condition_values(template, parameters)
    values = {name: str(spec["Default"]) for name, spec in template.get("Parameters", {}).items() if "Default" in spec}
    values |= {name: str(value) for name, value in parameters.items()}
    if not put_in_parameters:
        values = {}

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Fn::If"}:
                name, when_true, when_false = value["Fn::If"]
                return resolve(when_true if decided[name] else when_false)
            if value == {"Ref": "AWS::NoValue"}:
                return _NO_VALUE
            if set(value) == {"Ref"} and value["Ref"] in values:
                return values[value["Ref"]]
            if set(value) == {"Fn::FindInMap"} and values:
                mapping, key, field = (resolve(part) for part in value["Fn::FindInMap"])
                key = REGION if key == {"Ref": "AWS::Region"} else key
                return template["Mappings"][mapping][key][field]
            if set(value) == {"Fn::Sub"} and values:
                text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
                for name in _SUB_NAME.findall(text):
                    if name in values and name not in variables:
                        text = text.replace("${" + name + "}", values[name])
                variables = resolve(variables)
                if not variables and not _SUB_NAME.search(text):
                    return text
                return {"Fn::Sub": [text, variables] if variables else text}
            kept = {key: resolve(inner) for key, inner in value.items()}
            return {key: inner for key, inner in kept.items() if inner is not _NO_VALUE}
        if isinstance(value, list):
            return [inner for inner in (resolve(item) for item in value) if inner is not _NO_VALUE]
        return value

    created = copy.deepcopy(template)
    for section in ("Resources", "Outputs"):
        kept = {
            name: body for name, body in created.get(section, {}).items() if decided.get(body.get("Condition"), True)
        }
        created[section] = {name: resolve(body) for name, body in kept.items()}
    return created


def render(value: Any) -> str:
    """A readable form of a policy's resource: "${Param}" for a Ref, "Name.Attr" for a GetAtt, a Sub with its
    variables put in."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(render(item) for item in value)
    ((function, argument),) = value.items()
    if function == "Ref":
        return "${" + argument + "}"
    if function == "Fn::GetAtt":
        return ".".join(argument)
    if function == "Fn::Sub":
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        for name, inner in variables.items():
            text = text.replace("${" + name + "}", render(inner))
        return text
    raise ValueError(f"cannot render {function}")


@dataclass(frozen=True)
class Operation:
    """One method of one path in the API definition SAM generated."""

    method: str  # upper case
    path: str
    authorizers: tuple[str, ...]  # the security requirement's schemes
    integration: dict[str, Any]

    @property
    def function(self) -> str | None:
        """The logical id of the function the proxy integration invokes (through its alias "live")."""
        uri = render(self.integration.get("uri", ""))
        found = re.search(r"/functions/\$\{(\w+?)(?:Aliaslive)?(?:\.Arn)?\}/invocations$", uri)
        return found.group(1) if found else None


def api_operations(template: dict[str, Any], api: str = "ProgressApi") -> list[Operation]:
    """Every operation of the REST API's generated definition (of a template whose conditions are resolved)."""
    body = template["Resources"][api]["Properties"]["Body"]
    operations = []
    for path, methods in body["paths"].items():
        for method, spec in methods.items():
            schemes = tuple(name for requirement in spec.get("security", []) for name in requirement)
            integration = spec.get("x-amazon-apigateway-integration", {})
            operations.append(Operation(method.upper(), path, schemes, integration))
    return operations


# The translated stack's resource types the rehearsal does not create in moto's CloudFormation, and what covers each.
UNREHEARSED = {
    "AWS::Lambda::Alias": "moto has no aliases: references to an alias stand for its function there; the checks of "
    "the translated template show every route, permission, schedule and the migration invoke the alias live",
    "AWS::Lambda::EventInvokeConfig": "not in moto; the translated template's checks (the migration's retries 0 on "
    "live) and tests/unit/test_template_deployment.py (the UserDeleted consumer's on-failure queue)",
    "AWS::ApiGateway::Deployment": "moto ignores a RestApi's Body, so the API it creates has no methods to deploy: "
    "the rehearsal imports the generated definition into that API afterwards, as CloudFormation does, and deploys it",
    "AWS::ApiGateway::Stage": "not in moto; the translated template's checks (one stage, named by Stage) and the "
    "deployment to that stage after the import",
    "AWS::SQS::QueuePolicy": "not in moto; tests/unit/test_template_deployment.py (only the UserDeleted rule may send "
    "to the dead-letter queue)",
    "AWS::CloudWatch::Alarm": "not in moto; tests/unit/test_alarm_metrics.py (every alarm watches a metric the code "
    "or AWS emits, with its exact dimensions, and notifies the alarm topic) and tests/unit/test_template_deployment.py",
    "AWS::CodeDeploy::Application": "not in moto; the translated template's checks (the API functions and the "
    "authorizer shift their alias live through CodeDeploy, rolled back by their alarms)",
    "AWS::CodeDeploy::DeploymentGroup": "not in moto; the translated template's checks (each group's deployment type "
    "and alarms)",
}


def for_moto(template: dict[str, Any]) -> dict[str, Any]:
    """The created template (conditions decided, parameters left as parameters) without the types moto cannot
    create, each reference to an alias standing for its function instead (moto has no aliases)."""
    aliases = {
        name: resource["Properties"]["FunctionName"]["Ref"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Alias"
    }
    # What else a kept resource names of those left out (the dashboard names the alarms) stands for a made-up ARN.
    left_out = {
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] in UNREHEARSED and resource["Type"] != "AWS::Lambda::Alias"
    }

    def made_up(name: str) -> str:
        return f"arn:aws:rehearsal:{REGION}:{ACCOUNT}:left-out/{name}"

    def stand_in(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"} and value["Ref"] in aliases:
                return {"Fn::GetAtt": [aliases[value["Ref"]], "Arn"]}
            if set(value) == {"Ref"} and value["Ref"] in left_out:
                return made_up(value["Ref"])
            if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][0] in left_out:
                return made_up(value["Fn::GetAtt"][0])
            if set(value) == {"Fn::Sub"}:
                text, variables = (value["Fn::Sub"], None) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
                for alias, function in aliases.items():
                    text = text.replace("${" + alias + "}", "${" + function + ".Arn}")
                text = _SUB_NAME.sub(
                    lambda found: (
                        made_up(found.group(1).split(".")[0])
                        if found.group(1).split(".")[0] in left_out
                        else found.group(0)
                    ),
                    text,
                )
                return {"Fn::Sub": text if variables is None else [text, stand_in(variables)]}
            return {key: stand_in(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [stand_in(item) for item in value]
        return value

    kept = copy.deepcopy(template)
    kept["Resources"] = {
        name: stand_in(resource)
        for name, resource in template["Resources"].items()
        if resource["Type"] not in UNREHEARSED
    }
    for resource in kept["Resources"].values():
        depends = resource.get("DependsOn")
        if depends is not None:
            depends = [depends] if isinstance(depends, str) else depends
            resource["DependsOn"] = [name for name in depends if name in kept["Resources"]]
    for resource in kept["Resources"].values():
        if resource["Type"] == "AWS::ApiGateway::RestApi":  # moto needs the name CloudFormation takes from the Body
            resource["Properties"].setdefault("Name", resource["Properties"]["Body"]["info"]["title"])
    kept["Outputs"] = stand_in(kept.get("Outputs", {}))
    return kept


def substitute(value: Any, names: dict[str, str]) -> Any:
    """`value` with each Ref, Fn::GetAtt ("Name.Attr") and Fn::Sub name put in from `names`, which must hold them."""
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return names[value["Ref"]]
        if set(value) == {"Fn::GetAtt"}:
            return names[".".join(value["Fn::GetAtt"])]
        if set(value) == {"Fn::Sub"}:
            text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
            known = names | {name: substitute(inner, names) for name, inner in variables.items()}
            return _SUB_NAME.sub(lambda found: known[found.group(1)], text)
        return {key: substitute(inner, names) for key, inner in value.items()}
    if isinstance(value, list):
        return [substitute(item, names) for item in value]
    return value
