"""The CloudFormation custom resource protocol: answer a stack operation's request at its pre-signed ResponseURL.

An exception must never escape a custom resource handler: CloudFormation would wait an hour for an answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests

from progress_tracking.observability import logger

RESPONSE_TIMEOUT_SECONDS = 10


def handle(event: dict[str, Any], context: Any, on_create_or_update: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run `on_create_or_update` for Create and Update (Delete has nothing to undo) and report the outcome."""
    status, reason, data = "SUCCESS", "", {}
    if event.get("RequestType") in ("Create", "Update"):
        try:
            data = on_create_or_update()
        except Exception as exc:
            logger.exception("Custom resource failed")
            status, reason = "FAILED", f"{type(exc).__name__}: see log stream {context.log_stream_name}"
    response = {
        "Status": status,
        "Reason": reason or f"See log stream {context.log_stream_name}",
        "PhysicalResourceId": event.get("PhysicalResourceId") or context.log_stream_name,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data,
    }
    body = json.dumps(response)
    try:
        # The pre-signed URL is signed for an empty Content-Type.
        requests.put(event["ResponseURL"], data=body, headers={"Content-Type": ""}, timeout=RESPONSE_TIMEOUT_SECONDS)
    except requests.RequestException:
        logger.exception("Could not deliver the custom resource response")
    return response
