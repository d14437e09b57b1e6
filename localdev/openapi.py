"""The OpenAPI 3.1 description: paths and methods from template.yaml, everything else from each handler's
`OPERATION`, whose models are the ones the handler validates and answers with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from localdev.template import ApiDefinition

REF = "#/components/schemas/{model}"
GATEWAY_ERROR = {  # what API Gateway itself answers with (template.yaml's GatewayResponses), or a handler's 401
    "type": "object",
    "properties": {"message": {"type": "string"}, "code": {"type": "string"}},
    "required": ["message", "code"],
}
HEADER_SCHEMAS = {
    "If-Match": (
        "Change only if the log (or the goals) is at one of these versions (strong ETags) or `*`",
        {"type": "string"},
    ),
    "Idempotency-Key": (
        "Replays the first response to a retry with the same key and body",
        {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
    ),
    "ETag": ("The log's (or the goals') version", {"type": "string"}),
    "Location": ("The new log's URL path", {"type": "string"}),
    "Idempotent-Replayed": ("`true` when this is the replay of an earlier response", {"type": "string"}),
}
ERROR_DESCRIPTIONS = {
    400: "Invalid input",
    401: "No or invalid token (from API Gateway)",
    403: "Missing scope or not the caller's data",
    404: "No such log, or the user has no goals",
    409: "Conflict",
    412: "If-Match does not match",
    413: "Body over 64 KiB",
    422: "Idempotency-Key reused with another body",
    503: "A dependency is unavailable; nothing was written",
}


def _path_parameter(name: str) -> dict[str, Any]:
    from progress_tracking.models.fields import log_id_adapter, user_id_adapter

    adapter: TypeAdapter[Any] = log_id_adapter if name == "log_id" else user_id_adapter
    return {"name": name, "in": "path", "required": True, "schema": adapter.json_schema()}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True)
    return [
        {"name": name, "in": "query", "required": name in schema.get("required", []), "schema": property_schema}
        for name, property_schema in schema["properties"].items()
    ]


def _success_models(operation: Any) -> tuple[type[BaseModel], ...]:
    models = operation.success[1]
    return models if isinstance(models, tuple) else (models,)


def build_openapi(api: ApiDefinition) -> dict[str, Any]:
    from progress_tracking.models.errors import ErrorBody

    operations = [(route, route.function.load_module().OPERATION) for route in api.routes]
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorBody, "serialization")]
    for _, operation in operations:
        models += [(model, "serialization") for model in _success_models(operation)]
        if operation.body is not None:
            models.append((operation.body, "validation"))
    keys, definitions = models_json_schema(list(dict.fromkeys(models)), ref_template=REF)

    def ref(model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return keys[(model, mode)]

    paths: dict[str, dict[str, Any]] = {}
    for route, operation in sorted(operations, key=lambda pair: pair[0].path):
        parameters = [_path_parameter(part[1:-1]) for part in route.segments if part.startswith("{")]
        if operation.query is not None:
            parameters += _query_parameters(operation.query)
        for header in operation.request_headers:
            description, schema = HEADER_SCHEMAS[header]
            parameters.append(
                {"name": header, "in": "header", "required": False, "description": description, "schema": schema}
            )
        answers = [ref(model, "serialization") for model in _success_models(operation)]
        responses: dict[str, Any] = {
            str(operation.success[0]): {
                "description": "Success",
                "content": {"application/json": {"schema": answers[0] if len(answers) == 1 else {"oneOf": answers}}},
                "headers": {
                    name: {"description": HEADER_SCHEMAS[name][0], "schema": HEADER_SCHEMAS[name][1]}
                    for name in operation.response_headers
                },
            }
        }
        for code in operation.errors:
            schema = GATEWAY_ERROR if code == 401 else ref(ErrorBody, "serialization")
            responses[str(code)] = {
                "description": ERROR_DESCRIPTIONS[code],
                "content": {"application/json": {"schema": schema}},
            }
        spec: dict[str, Any] = {
            "operationId": route.function.logical_id.removesuffix("Function"),
            "summary": operation.summary,
            "description": f"Needs the `{operation.scope}` scope.",
            "security": [{"auth0": [operation.scope]}],
            "parameters": parameters,
            "responses": responses,
        }
        if operation.body is not None:
            spec["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(operation.body, "validation")}},
            }
        paths.setdefault(route.path, {})[route.method.lower()] = spec
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Progress Tracking Service",
            "version": "1.0.0",
            "description": "Records, summarises and keeps the full history of users' progress logs.",
        },
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "auth0": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An Auth0 access token for this API",
                }
            },
        },
    }
