"""The local gateway reads template.yaml: every function has code, routes resolve as API Gateway resolves them."""

from __future__ import annotations

from localdev.template import read_template
from tests.helpers import API, ROOT


def test_every_function_in_the_template_has_its_handler_file():
    for spec in API.functions.values():
        module = spec.handler.rpartition(".")[0]
        assert (spec.code_dir / f"{module}.py").is_file(), spec.logical_id


def test_the_six_endpoints_of_the_contract_are_routed():
    assert {(route.method, route.path) for route in API.routes} >= {
        ("GET", "/api/progress/{user_id}"),
        ("GET", "/api/progress/summary/{user_id}"),
        ("POST", "/api/progress/log"),
        ("PUT", "/api/progress/log/{log_id}"),
        ("DELETE", "/api/progress/log/{log_id}"),
        ("DELETE", "/api/progress/user/{user_id}/logs"),
    }


def resolve(method: str, path: str):
    found = API.resolve(method, path.strip("/").split("/"))
    return (found[0].function.logical_id, found[1]) if found else None


def test_literal_segments_win_over_parameters():
    assert resolve("GET", "/api/progress/summary/alice") == ("GetSummaryFunction", {"user_id": "alice"})
    assert resolve("GET", "/api/progress/alice") == ("GetProgressFunction", {"user_id": "alice"})
    # /api/progress/log exists for POST only; API Gateway does not fall back to /api/progress/{user_id} for GET.
    assert resolve("GET", "/api/progress/log") is None


def test_a_literal_path_part_wins_even_where_its_resource_has_no_such_method():
    # /api/progress/goals and /series exist only as parents of .../{user_id}: API Gateway walks into them.
    for word in ("goals", "series", "summary", "user", "changes"):
        assert resolve("GET", f"/api/progress/{word}") is None, word
    # The positive controls: the same words one level down, and a near-miss that is a user id.
    assert resolve("GET", "/api/progress/goals/alice") == ("GetGoalsFunction", {"user_id": "alice"})
    assert resolve("GET", "/api/progress/series/alice") == ("GetSeriesFunction", {"user_id": "alice"})
    assert resolve("GET", "/api/progress/changes/alice") == ("GetChangesFunction", {"user_id": "alice"})
    assert resolve("GET", "/api/progress/goalsx") == ("GetProgressFunction", {"user_id": "goalsx"})


def test_unknown_paths_and_methods_resolve_to_nothing():
    assert resolve("GET", "/api/progress") is None
    assert resolve("PATCH", "/api/progress/log/1") is None


def test_the_authorizer_guards_the_api_with_the_authorization_header():
    assert API.authorizer.logical_id == "AuthorizerFunction"
    assert API.authorizer_ttl_seconds == 300
    api = read_template(ROOT / "template.yaml")["Resources"]["ProgressApi"]["Properties"]
    assert api["Auth"]["Authorizers"]["Auth0Authorizer"]["Identity"]["Header"] == "Authorization"


def test_api_gateways_own_answers_have_the_services_error_shape_and_request_id():
    api = read_template(ROOT / "template.yaml")["Resources"]["ProgressApi"]["Properties"]
    responses = api["GatewayResponses"]  # one map; only the CORS header varies (tests/packaging: with CORS on and off)
    expected = {"UNAUTHORIZED": ("401", "unauthorized"), "ACCESS_DENIED": ("403", "access_denied")}
    expected["MISSING_AUTHENTICATION_TOKEN"] = ("404", "route_not_found")
    expected["REQUEST_TOO_LARGE"] = ("413", "request_too_long")
    expected["INTEGRATION_TIMEOUT"] = ("504", "gateway_timeout")
    for response_type, (status, code) in expected.items():
        response = responses[response_type]
        assert str(response["StatusCode"]) == status
        body = response["ResponseTemplates"]["application/json"]
        assert '"message":' in body and f'"code":"{code}"' in body
    origin = {"Fn::If": ["HasCors", {"Fn::Sub": "'${CorsAllowOrigin}'"}, {"Ref": "AWS::NoValue"}]}
    for response_type, response in responses.items():
        assert response["ResponseParameters"]["Headers"] == {
            "X-Request-Id": "context.requestId",
            "Access-Control-Allow-Origin": origin,
        }, response_type
    # The rest keep API Gateway's statuses, with a code of their own (a 502 is what the local gateway answers).
    defaults = {"DEFAULT_4XX": "request_refused", "DEFAULT_5XX": "bad_gateway"}
    for response_type, code in defaults.items():
        assert "StatusCode" not in responses[response_type]
        assert f'"code":"{code}"' in responses[response_type]["ResponseTemplates"]["application/json"]
    assert set(responses) == set(expected) | set(defaults)
