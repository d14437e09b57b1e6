"""The CloudFormation custom resource protocol: answer a stack operation's request at its pre-signed ResponseURL.

A custom resource must answer every request, in time and consistently, or it wedges its stack: an exception that
escapes, or a function stopped by Lambda's timeout, leaves CloudFormation waiting (for its ServiceTimeout, an hour
by default); a FAILED answer to the Update CloudFormation sends while it rolls back leaves the stack in
UPDATE_ROLLBACK_FAILED; a new PhysicalResourceId reads as a replacement, whose old resource CloudFormation deletes.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from typing import Any

from progress_tracking.errors import ProgressError
from progress_tracking.observability import logger

RESPONSE_TIMEOUT_SECONDS = 10
# The work stops this long before Lambda's timeout: the answer's upload (RESPONSE_TIMEOUT_SECONDS), a database
# connection that was still opening when the time ran out (2 attempts x 2 s and a pause, db.py) and the client's
# margin past the server's own time limit (1 s) all fit, with room to spare.
ANSWER_MARGIN_SECONDS = 20
# A layer version's ARN ends with its number, which only grows.
_LAYER_VERSION = re.compile(r"^(?P<layer>arn:[^:]+:lambda:[^:]+:\d+:layer:[^:]+):(?P<version>\d+)$")


def handle(
    event: dict[str, Any],
    context: Any,
    on_create_or_update: Callable[[float], dict[str, Any]],
    physical_resource_id: str,
) -> dict[str, Any]:
    """Run `on_create_or_update` (given the seconds it may take) for Create and Update, and answer; Delete has
    nothing to undo. A resource is named `physical_resource_id` when created, and keeps the name it has after."""
    status, reason, data = "SUCCESS", "", {}
    if event.get("RequestType") in ("Create", "Update"):
        seconds = context.get_remaining_time_in_millis() / 1000 - ANSWER_MARGIN_SECONDS
        try:
            data = on_create_or_update(seconds)
        except Exception as exc:
            logger.exception("Custom resource failed")
            # A domain error's message is written for people; anything else is named, its details in the log.
            shown = f"{type(exc).__name__}: {exc.message}" if isinstance(exc, ProgressError) else type(exc).__name__
            status, reason = "FAILED", f"{shown}. See log stream {context.log_stream_name}"
    return answer(event, context, status, reason, data, physical_resource_id)


def rolls_back(event: dict[str, Any], version_property: str) -> bool:
    """An Update whose properties name an older layer version (`version_property`) than the ones they replace:
    CloudFormation rolling a failed update back, while the newer code may still be the function's."""
    if event.get("RequestType") != "Update":
        return False
    new = _LAYER_VERSION.match(str(event.get("ResourceProperties", {}).get(version_property, "")))
    old = _LAYER_VERSION.match(str(event.get("OldResourceProperties", {}).get(version_property, "")))
    return bool(new and old and new["layer"] == old["layer"] and int(new["version"]) < int(old["version"]))


def answer(
    event: dict[str, Any],
    context: Any,
    status: str,
    reason: str,
    data: dict[str, Any],
    physical_resource_id: str,
) -> dict[str, Any]:
    """PUT the answer to the request's pre-signed URL (never raises) and return it."""
    response = {
        "Status": status,
        "Reason": reason or f"See log stream {context.log_stream_name}",
        "PhysicalResourceId": event.get("PhysicalResourceId") or physical_resource_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data,
    }
    # The standard library's client: one PUT per deploy is no reason to load requests at the migration's cold start.
    # The pre-signed URL is signed for an empty Content-Type.
    body = json.dumps(response).encode()
    upload = urllib.request.Request(event["ResponseURL"], data=body, headers={"Content-Type": ""}, method="PUT")  # noqa: S310
    try:
        with urllib.request.urlopen(upload, timeout=RESPONSE_TIMEOUT_SECONDS):  # noqa: S310 - CloudFormation's URL
            pass
    except OSError:  # URLError, HTTPError (an answer other than 2xx), timeouts
        logger.exception("Could not deliver the custom resource response")
    return response
