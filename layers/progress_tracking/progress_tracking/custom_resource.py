"""The CloudFormation custom resource protocol: answer a stack operation's request at its pre-signed ResponseURL.

An exception must never escape a custom resource handler: CloudFormation would wait an hour for an answer.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

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
