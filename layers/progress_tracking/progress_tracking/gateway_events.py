"""API Gateway's events as the functions read them: the REST proxy request, and the TOKEN authorizer's answer.

Written out here rather than taken from Powertools' event data classes: importing any one of those imports their
package, which builds the classes of every AWS event source (about 80 ms of cold start under Python 3.12) for the
few fields these functions read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ProxyEvent:
    """An API Gateway REST proxy (v1) event. Header names are case-insensitive, as in HTTP."""

    __slots__ = ("_headers", "raw")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self._headers = {name.lower(): value for name, value in (raw.get("headers") or {}).items()}

    def header(self, name: str) -> str | None:
        return self._headers.get(name.lower())

    @property
    def body(self) -> str | None:
        return self.raw.get("body")

    @property
    def is_base64_encoded(self) -> bool:
        return bool(self.raw.get("isBase64Encoded"))

    @property
    def path_parameters(self) -> dict[str, str]:
        return self.raw.get("pathParameters") or {}

    @property
    def query_string_parameters(self) -> dict[str, str]:
        return self.raw.get("queryStringParameters") or {}

    @property
    def request_id(self) -> str | None:
        return (self.raw.get("requestContext") or {}).get("requestId")

    @property
    def route(self) -> str:
        """The route API Gateway matched, as the template names it: "GET /api/progress/{user_id}"."""
        return f"{self.raw.get('httpMethod')} {self.raw.get('resource')}"

    @property
    def authorizer_context(self) -> Mapping[str, Any] | None:
        """What the Lambda authorizer returned as `context` (API Gateway adds its principalId)."""
        return (self.raw.get("requestContext") or {}).get("authorizer")


def allow_all_routes(method_arn: str, principal_id: str, context: dict[str, Any]) -> dict[str, Any]:
    """A TOKEN authorizer's answer allowing every method and path of the stage the request was made to.

    `method_arn` is `arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method}/{path}`: API Gateway caches the
    answer per token and reuses it on the other routes, so it must cover all of them.
    """
    prefix, _, route = method_arn.partition("/")
    stage = route.split("/", 1)[0]
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [f"{prefix}/{stage}/*/*"]}],
        },
        "context": context,
    }
