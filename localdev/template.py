"""Reads routes, handlers and the authorizer from template.yaml: the local gateway keeps no route table of its own."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

LambdaHandler = Callable[[dict[str, Any], Any], Any]


class _CloudFormationLoader(yaml.SafeLoader):
    """Keeps intrinsic functions (!Ref, !GetAtt, !Sub …) as {"Ref": …}-style mappings instead of failing on them."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node for !{suffix}", node.start_mark)
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def read_template(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass


def fixed_environment(template_path: Path) -> dict[str, str]:
    """The function environment the template sets to plain values (POWERTOOLS_* …), as Lambda would see it."""
    variables = read_template(template_path).get("Globals", {}).get("Function", {}).get("Environment", {})
    return {name: value for name, value in variables.get("Variables", {}).items() if isinstance(value, str) and value}


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str  # "module.function", as Lambda reads it
    timeout_seconds: int
    memory_mb: int

    def load_module(self) -> ModuleType:
        """Import the handler's module from its own folder, as its own module, the way a Lambda container would."""
        module_name = self.handler.rpartition(".")[0]
        qualified = f"lambda_{self.logical_id}_{module_name}"
        if qualified in sys.modules:
            return sys.modules[qualified]
        source = self.code_dir / f"{module_name.replace('.', '/')}.py"
        spec = importlib.util.spec_from_file_location(qualified, source)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {source}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[qualified] = module
        return module

    def load(self) -> LambdaHandler:
        return getattr(self.load_module(), self.handler.rpartition(".")[2])


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway resource path, e.g. /api/progress/{user_id}
    function: FunctionSpec

    @property
    def segments(self) -> list[str]:
        return self.path.strip("/").split("/")

    def match(self, segments: list[str]) -> dict[str, str] | None:
        if len(segments) != len(self.segments):
            return None
        parameters = {}
        for pattern, value in zip(self.segments, segments, strict=True):
            if pattern.startswith("{") and pattern.endswith("}"):
                if not value:
                    return None
                parameters[pattern[1:-1]] = value
            elif pattern != value:
                return None
        return parameters


@dataclass(frozen=True)
class ApiDefinition:
    routes: list[Route]
    authorizer: FunctionSpec
    authorizer_ttl_seconds: int
    functions: dict[str, FunctionSpec]
    # Routes with `Auth: Authorizer: NONE` (the docs page): served without the authorizer, not API operations.
    public_routes: list[Route] = field(default_factory=list)

    def resolve(
        self, method: str, segments: list[str], routes: list[Route] | None = None
    ) -> tuple[Route, dict[str, str]] | None:
        """The route as API Gateway's resource tree finds it: at each level a literal path part that exists wins over
        a parameter, even when the resource it leads to lacks the method (`GET /api/progress/goals` is not a list of
        user "goals": API Gateway answers it itself, as MISSING_AUTHENTICATION_TOKEN)."""
        remaining = self.routes if routes is None else routes
        for depth, value in enumerate(segments):
            deeper = [route for route in remaining if len(route.segments) > depth]
            literal = [route for route in deeper if route.segments[depth] == value]
            remaining = literal or [route for route in deeper if route.segments[depth].startswith("{") and value]
        for route in remaining:
            if len(route.segments) == len(segments) and route.method == method:
                params = route.match(segments)
                return (route, params) if params is not None else None
        return None


def load_api(template_path: Path) -> ApiDefinition:
    template = read_template(template_path)
    root = template_path.parent
    defaults = template.get("Globals", {}).get("Function", {})
    functions: dict[str, FunctionSpec] = {}
    routes: list[Route] = []
    public_routes: list[Route] = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = {**defaults, **resource["Properties"]}
        spec = FunctionSpec(
            logical_id=logical_id,
            code_dir=root / properties["CodeUri"],
            handler=properties["Handler"],
            timeout_seconds=int(properties.get("Timeout", 3)),
            memory_mb=int(properties.get("MemorySize", 128)),
        )
        functions[logical_id] = spec
        for event in (properties.get("Events") or {}).values():
            if event["Type"] == "Api":
                route = Route(event["Properties"]["Method"].upper(), event["Properties"]["Path"], spec)
                public = (event["Properties"].get("Auth") or {}).get("Authorizer") == "NONE"
                (public_routes if public else routes).append(route)
    api = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Api")
    auth = api["Properties"]["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    # !GetAtt Fn.Arn, or !Ref Fn.Alias (the published alias SnapStart needs)
    arn = authorizer["FunctionArn"]
    authorizer_function = arn["Fn::GetAtt"][0] if "Fn::GetAtt" in arn else arn["Ref"].split(".")[0]
    return ApiDefinition(
        routes=routes,
        authorizer=functions[authorizer_function],
        authorizer_ttl_seconds=int(authorizer.get("Identity", {}).get("ReauthorizeEvery", 300)),
        functions=functions,
        public_routes=public_routes,
    )
