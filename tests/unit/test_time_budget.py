"""The database's time limits fit inside the API functions' timeout, and the stated connection ceiling is right."""

from __future__ import annotations

import re
from pathlib import Path

from localdev.template import read_template
from progress_tracking import db, user_service

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = read_template(ROOT / "template.yaml")
API_FUNCTIONS = [
    name
    for name, spec in TEMPLATE["Resources"].items()
    if spec["Type"] == "AWS::Serverless::Function"
    and any(event["Type"] == "Api" for event in spec["Properties"].get("Events", {}).values())
    # that hold a database connection (the optional docs page does not)
    and {"Ref": "DatabaseSecretReadPolicy"} in spec["Properties"].get("Policies", [])
]
# A request's statements: the design's "a write at most two round trips".
STATEMENTS_PER_REQUEST = 2


def test_a_request_that_meets_every_limit_still_answers_before_the_function_times_out():
    connect = (
        db.CONNECT_ATTEMPTS * db.CONNECT_TIMEOUT_SECONDS + (db.CONNECT_ATTEMPTS - 1) * db.CONNECT_RETRY_PAUSE_SECONDS
    )
    # A statement ends by its statement_timeout (a lock wait counts inside it), or the client gives up on a silent
    # server after the margin and stops there: the worse of the two.
    statements = max(
        STATEMENTS_PER_REQUEST * db.STATEMENT_TIMEOUT_MS / 1000,
        db.STATEMENT_TIMEOUT_MS / 1000 + db.CLIENT_MARGIN_SECONDS,
    )
    worst = sum(user_service.REQUEST_TIMEOUT) + connect + statements
    timeout = TEMPLATE["Globals"]["Function"]["Timeout"]
    assert worst < timeout, f"{worst} s of limits do not fit in the {timeout} s function timeout"
    assert db.LOCK_TIMEOUT_MS < db.STATEMENT_TIMEOUT_MS


def test_the_template_and_docs_state_the_connection_ceiling_with_the_real_number_of_api_functions():
    description = TEMPLATE["Parameters"]["ApiReservedConcurrency"]["Description"]
    stated = int(re.search(r"(\d+) API functions x this number", description).group(1))
    assert stated == len(API_FUNCTIONS)
    example = re.search(r"(\d+) at the value (\d+) \(and SummaryRecomputeConnections (\d+)\)", description)
    recompute_connections = int(example.group(3))
    assert recompute_connections == TEMPLATE["Parameters"]["SummaryRecomputeConnections"]["Default"]
    # the API functions, the recompute (its own, its lock's and its chunks'), the relay, the migration
    assert int(example.group(1)) == stated * int(example.group(2)) + 2 + recompute_connections + 1 + 1
    readme = " ".join((ROOT / "docs" / "architecture.md").read_text().split())  # the capacity section, one line
    assert (
        f"{stated} API functions × `ApiReservedConcurrency` + (2 + `SummaryRecomputeConnections`) recompute"
        " + 1 migration + 1 event relay connections" in readme
    )
