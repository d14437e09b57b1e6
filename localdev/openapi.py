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


def _header_schemas() -> dict[str, tuple[str, dict[str, Any]]]:
    from progress_tracking import idempotency

    return {
        "If-Match": (
            "Change only if the log (or the goals) is at one of these versions (strong ETags) or `*`",
            {"type": "string"},
        ),
        idempotency.HEADER: (
            "Replays the first response to a retry with the same key and body",
            idempotency.key_adapter().json_schema(),
        ),
        "ETag": ("The log's (or the goals') version", {"type": "string"}),
        "Location": ("The new log's URL path", {"type": "string"}),
        "Idempotent-Replayed": ("`true` when this is the replay of an earlier response", {"type": "string"}),
        "X-Next-Cursor": ("A CSV export page's next_cursor (absent on the last page)", {"type": "string"}),
    }


def error_statuses(operation: Any) -> dict[int, list[str]]:
    """The statuses an operation answers errors with (from the errors it raises), each with the codes behind it."""
    from progress_tracking.api_edge import status_and_code

    statuses: dict[int, list[str]] = {401: ["unauthorized"], 403: ["access_denied"]}  # API Gateway's own
    for error in operation.errors():
        status, code = status_and_code(error)
        statuses.setdefault(status, [])
        if code not in statuses[status]:
            statuses[status].append(code)
    return dict(sorted(statuses.items()))


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
    from progress_tracking.models.error_body import ErrorBody

    operations = [(route, route.function.load_module().OPERATION) for route in api.routes]
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorBody, "serialization")]
    for _, operation in operations:
        models += [(model, "serialization") for model in _success_models(operation)]
        models += [(model, "serialization") for _, model in operation.other_successes]
        if operation.body is not None:
            models.append((operation.body, "validation"))
    keys, definitions = models_json_schema(list(dict.fromkeys(models)), ref_template=REF)

    def ref(model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return keys[(model, mode)]

    header_schemas = _header_schemas()
    paths: dict[str, dict[str, Any]] = {}
    for route, operation in sorted(operations, key=lambda pair: pair[0].path):
        parameters = [_path_parameter(part[1:-1]) for part in route.segments if part.startswith("{")]
        if operation.query is not None:
            parameters += _query_parameters(operation.query)
        for header in operation.request_headers:
            description, schema = header_schemas[header]
            parameters.append(
                {"name": header, "in": "header", "required": False, "description": description, "schema": schema}
            )
        answers = [ref(model, "serialization") for model in _success_models(operation)]
        responses: dict[str, Any] = {
            str(operation.success[0]): {
                "description": "Success",
                "content": {
                    "application/json": {"schema": answers[0] if len(answers) == 1 else {"oneOf": answers}},
                    **{media: {"schema": {"type": "string"}} for media in operation.text_media},
                },
                "headers": {
                    name: {"description": header_schemas[name][0], "schema": header_schemas[name][1]}
                    for name in operation.response_headers
                },
            }
        }
        for status, model in operation.other_successes:
            responses[str(status)] = {
                "description": "Success",
                "content": {"application/json": {"schema": ref(model, "serialization")}},
                "headers": responses[str(operation.success[0])]["headers"],
            }
        for status, codes in error_statuses(operation).items():
            schema = GATEWAY_ERROR if status == 401 else ref(ErrorBody, "serialization")
            responses[str(status)] = {
                "description": "code: " + " or ".join(f"`{code}`" for code in codes),
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
                "content": {
                    **{
                        media_type: {"schema": ref(operation.body, "validation")}
                        for media_type in operation.body_media_types
                    },
                    **{media: {"schema": {"type": "string"}} for media in operation.text_media},
                },
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
