"""A local stand-in for API Gateway: WSGI in front of the template's handlers and its Lambda TOKEN authorizer.

For each request it finds the route as API Gateway would, runs the authorizer with a TOKEN event (caching the answer per
token for the template's TTL), then invokes the handler with a REST API proxy event carrying the authorizer's context,
and answers with API Gateway's own responses where API Gateway would answer itself.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote

from localdev.hosts import ListeningAddresses
from localdev.lambda_context import LocalLambdaContext
from localdev.template import ApiDefinition, FunctionSpec, LambdaHandler, Route
from progress_tracking.response_size import body_text

REGION = "us-east-1"
ACCOUNT_ID = "000000000000"
API_ID = "localapi"
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's own limit on a request body
# Lambda fails an invocation whose response passes 6 MB (6 MiB here); API Gateway answers 502 then.
LAMBDA_RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024
MAX_CACHED_POLICIES = 10_000

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
# A local route answers JSON (status, payload) or anything else (status, headers, body).
LocalRoute = Callable[[], tuple[int, dict[str, Any]] | tuple[int, dict[str, str], bytes]]


class LocalGateway:
    def __init__(
        self,
        api: ApiDefinition,
        stage: str = "local",
        local_routes: dict[str, LocalRoute] | None = None,
        on_answer: Callable[[Route, int], None] | None = None,
        admin_routes: dict[str, LocalRoute] | None = None,
    ):
        self.api = api
        self.on_answer = on_answer  # told the status of every answer to a route of the template (tests record them)
        self.stage = stage
        # Development-only GET routes served without authorization; the API's description is always one of them (also
        # where the docs page, the template's public /docs route, reads it).
        self.local_routes = {
            "/openapi.json": self._openapi,
            "/docs/openapi.json": self._openapi,
            **(local_routes or {}),
        }
        # Development-only GET routes behind the API's token rules: the authorizer, then admin:progress.
        self.admin_routes = dict(admin_routes or {})
        # The addresses the server listens on, once it is bound: then only a Host naming one of them is answered.
        self.addresses: ListeningAddresses | None = None
        self._openapi_document: dict[str, Any] | None = None
        self._handlers: dict[str, LambdaHandler] = {}
        self._load_lock = threading.Lock()
        self._policy_cache: dict[str, tuple[float, dict[str, Any]]] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        status, headers, body = self.handle(environ)
        start_response(f"{status} {HTTPStatus(status).phrase}", [*headers.items(), ("Content-Length", str(len(body)))])
        return [body]

    def handle(self, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        if self.addresses is not None and not self.addresses.named_by(environ.get("HTTP_HOST")):
            # Another site's name rebound to this address (DNS rebinding): nothing is read, run or answered.
            message = "This server does not answer for that Host"
            return _gateway_error(421, message, "misdirected_request", str(uuid.uuid4()))
        method = environ["REQUEST_METHOD"].upper()
        # The raw, still percent-encoded path: an encoded "/" inside a parameter must not split it.
        raw_path = (environ.get("REQUEST_URI") or environ.get("RAW_URI") or "/").split("?", 1)[0]
        if method == "GET" and raw_path in self.local_routes:
            answer = self.local_routes[raw_path]()
            return _json(answer[0], answer[1]) if len(answer) == 2 else answer
        request_id = str(uuid.uuid4())
        if method == "GET" and raw_path in self.admin_routes:
            return self._admin_route(environ, raw_path, request_id)
        segments = [unquote(part, errors="replace") for part in raw_path.strip("/").split("/")]
        # Routed without it, as API Gateway routes /docs/ to /docs, but the event's path keeps a trailing slash.
        path = "/" + "/".join(segments) + ("/" if raw_path.endswith("/") and segments != [""] else "")
        public = self.api.resolve(method, segments, self.api.public_routes)
        if public is not None:  # `Auth: Authorizer: NONE` in the template: no authorizer, no context
            route, path_parameters = public
            headers = _request_headers(environ)
            event = self._proxy_event(
                environ, route.path, path, method, headers, path_parameters, b"", None, request_id
            )
            return self._invoke(route.function, event, request_id)
        resolved = self.api.resolve(method, segments)
        if resolved is None:  # API Gateway's MISSING_AUTHENTICATION_TOKEN, answered as the template configures it
            return _gateway_error(404, "Route not found", "route_not_found", request_id)
        route, path_parameters = resolved
        answer = self._routed(environ, method, path, route, path_parameters, request_id)
        if self.on_answer is not None:
            self.on_answer(route, answer[0])
        return answer

    def _routed(
        self,
        environ: dict[str, Any],
        method: str,
        path: str,
        route: Route,
        path_parameters: dict[str, str],
        request_id: str,
    ) -> tuple[int, dict[str, str], bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_PAYLOAD_BYTES:
            return _gateway_error(413, "Request Too Long", "request_too_long", request_id)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = _request_headers(environ)
        policy = self._allowed_policy(headers, method, path, request_id)
        if isinstance(policy, tuple):
            return policy
        event = self._proxy_event(environ, route.path, path, method, headers, path_parameters, body, policy, request_id)
        return self._invoke(route.function, event, request_id)

    def _allowed_policy(
        self, headers: dict[str, str], method: str, path: str, request_id: str
    ) -> dict[str, Any] | tuple[int, dict[str, str], bytes]:
        """The authorizer's policy when it allows the request; otherwise the gateway's own answer (401 or 403)."""
        method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{self.stage}/{method}{path}"
        authorization = headers.get("Authorization", "")
        policy = self._authorize(authorization, method_arn) if authorization.strip() else None
        if policy is None:
            return _gateway_error(401, "Unauthorized", "unauthorized", request_id)
        if not _allows(policy, method_arn):
            message = "User is not authorized to access this resource with an explicit deny"
            return _gateway_error(403, message, "access_denied", request_id)
        return policy

    def _admin_route(self, environ: dict[str, Any], path: str, request_id: str) -> tuple[int, dict[str, str], bytes]:
        """A development route with the API's token rules: the gateway's 401/403, then, as a handler would answer,
        401 `token_expired` or 403 `insufficient_scope` unless the token is unexpired and has admin:progress."""
        from progress_tracking import api_edge, authz, errors

        policy = self._allowed_policy(_request_headers(environ), "GET", path, request_id)
        if isinstance(policy, tuple):
            return policy
        caller = authz.caller_from_context({**policy.get("context", {}), "principalId": policy.get("principalId")})
        try:
            authz.ensure_unexpired(caller, time.time())
            authz.require_scope(caller, authz.ADMIN_PROGRESS)
        except errors.ProgressError as error:
            refusal = api_edge.error_response(error)
            headers = {**refusal["headers"], "X-Request-Id": request_id}
            return refusal["statusCode"], headers, refusal["body"].encode()
        answer = self.admin_routes[path]()
        return _json(answer[0], answer[1]) if len(answer) == 2 else answer

    def _openapi(self) -> tuple[int, dict[str, Any]]:
        if self._openapi_document is None:
            from localdev.openapi import build_openapi
            from localdev.openapi_docs import enrich

            # Relative: "Try it out" on the docs page calls the origin the page was loaded from.
            self._openapi_document = enrich(build_openapi(self.api), server_url="/")
        return 200, self._openapi_document

    def _authorize(self, authorization: str, method_arn: str) -> dict[str, Any] | None:
        cached = self._policy_cache.get(authorization)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        event = {"type": "TOKEN", "authorizationToken": authorization, "methodArn": method_arn}
        try:
            policy = self._handler(self.api.authorizer)(event, self._context(self.api.authorizer))
        except Exception:  # the authorizer's "Unauthorized" (and any crash) is a 401 here, as configured
            return None
        if len(self._policy_cache) >= MAX_CACHED_POLICIES:  # bounded, like API Gateway's cache
            self._policy_cache.clear()
        # Cached for the TTL, but never past the token's exp (the handlers refuse it then anyway).
        lifetime = float(self.api.authorizer_ttl_seconds)
        expiry = str(policy.get("context", {}).get("exp") or "")
        if expiry.isdigit():
            lifetime = min(lifetime, int(expiry) - time.time())
        self._policy_cache[authorization] = (time.monotonic() + lifetime, policy)
        return policy

    def _proxy_event(
        self,
        environ: dict[str, Any],
        resource: str,
        path: str,
        method: str,
        headers: dict[str, str],
        path_parameters: dict[str, str],
        body: bytes,
        policy: dict[str, Any] | None,
        request_id: str,
    ) -> dict[str, Any]:
        query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        multi_query: dict[str, list[str]] = {}
        for name, value in query:
            multi_query.setdefault(name, []).append(value)
        try:
            text_body, is_base64 = (body.decode("utf-8"), False) if body else (None, False)
        except UnicodeDecodeError:
            text_body, is_base64 = base64.b64encode(body).decode(), True
        now = datetime.now(UTC)
        authorizer = (
            {"authorizer": {**policy.get("context", {}), "principalId": policy.get("principalId")}} if policy else {}
        )
        return {
            "resource": resource,
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {name: [value] for name, value in headers.items()},
            "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": method,
                "path": f"/{self.stage}{path}",
                "stage": self.stage,
                "requestId": request_id,
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "accountId": ACCOUNT_ID,
                "apiId": API_ID,
                "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "identity": {
                    "sourceIp": environ.get("REMOTE_ADDR", "127.0.0.1"),
                    "userAgent": headers.get("User-Agent"),
                },
                **authorizer,
            },
            "body": text_body,
            "isBase64Encoded": is_base64,
        }

    def _invoke(
        self, function: FunctionSpec, event: dict[str, Any], request_id: str
    ) -> tuple[int, dict[str, str], bytes]:
        try:
            response = self._handler(function)(event, self._context(function))
            if invoke_response_bytes(response) > LAMBDA_RESPONSE_LIMIT_BYTES:  # Lambda fails the invocation
                return _gateway_error(502, "Internal server error", "bad_gateway", request_id)
            status = int(response["statusCode"])
            headers = {str(k): str(v) for k, v in (response.get("headers") or {}).items()}
            body = response.get("body") or ""
            payload = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
        except Exception:  # a crashed or malformed (or unserialisable) Lambda response is a 502 at API Gateway
            return _gateway_error(502, "Internal server error", "bad_gateway", request_id)
        return status, headers, payload

    def _handler(self, function: FunctionSpec) -> LambdaHandler:
        handler = self._handlers.get(function.logical_id)
        if handler is None:
            with self._load_lock:
                handler = self._handlers.get(function.logical_id) or function.load()
                self._handlers[function.logical_id] = handler
        return handler

    @staticmethod
    def _context(function: FunctionSpec) -> LocalLambdaContext:
        return LocalLambdaContext(function.logical_id, function.memory_mb, function.timeout_seconds)


def invoke_response_bytes(response: Any) -> int:
    """The size of a function's answer as the python3.12 runtime sends it to Lambda: JSON with non-ASCII characters
    as they are (its marshaller's `ensure_ascii=False`) and the default separators, in UTF-8."""
    return len(json.dumps(response, ensure_ascii=False).encode())


def _allows(policy: dict[str, Any], method_arn: str) -> bool:
    """IAM evaluation, as far as authorizer policies go: an explicit Deny wins, else an Allow must match."""
    allowed = False
    for statement in policy.get("policyDocument", {}).get("Statement", []):
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatch.fnmatchcase(method_arn, pattern) for pattern in resources):
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _request_headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").title()] = value
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    return headers


def _json(status: int, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """JSON as the handlers write it (one style for every body the app answers)."""
    return status, {"Content-Type": "application/json"}, body_text(payload).encode()


def _gateway_error(status: int, message: str, code: str, request_id: str) -> tuple[int, dict[str, str], bytes]:
    """The gateway's own answers, in the handlers' error shape (template.yaml's GatewayResponses say the same)."""
    status, headers, body = _json(status, {"message": message, "code": code})
    return status, {**headers, "X-Request-Id": request_id}, body
