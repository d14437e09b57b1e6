"""The local app's EventBridge: the outbox relay publishes into it, it prints a line per event and keeps the latest
for `GET /local/events`, shaped as EventBridge delivers them to a rule's target."""

from __future__ import annotations

import json
import sys
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from localdev.gateway import ACCOUNT_ID, REGION

KEPT = 500
CHECKPOINT = "outbox-local"  # the local relay's own checkpoint (never the deployed relay's)
POLL_SECONDS = 1.0


class LocalEventSink:
    def __init__(self, write: Callable[[str], Any] = sys.stdout.write) -> None:
        self._events: deque[dict[str, Any]] = deque(maxlen=KEPT)
        self._lock = threading.Lock()
        self._write = write

    def put_events(self, *, Entries: list[dict[str, Any]]) -> Mapping[str, Any]:  # noqa: N803 - boto3's name
        answers = []
        for entry in Entries:
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "account": ACCOUNT_ID,
                "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": REGION,
                "resources": [],
                "detail": json.loads(entry["Detail"]),
            }
            with self._lock:
                self._events.append(event)
            self._write(f"Domain event {event['detail-type']} {entry['Detail']}\n")
            answers.append({"EventId": event["id"]})
        return {"FailedEntryCount": 0, "Entries": answers}

    def page(self) -> tuple[int, dict[str, Any]]:
        with self._lock:
            return 200, {"events": list(self._events)}


def run_relay_in_background(sink: LocalEventSink, stop: threading.Event) -> threading.Thread:
    """Follow the log as the scheduled relay does, once a second, from the end of the log when the app starts (the
    sink lives in memory: what happened before this run is not shown)."""
    from progress_tracking import outbox
    from progress_tracking.db import get_database
    from progress_tracking.observability import logger

    def loop() -> None:
        database = get_database()
        outbox.start_at_end(database, CHECKPOINT, restart=True)
        while not stop.is_set():
            try:
                outbox.relay(database, sink, "default", lambda: 10**9, name=CHECKPOINT)
            except Exception:
                logger.exception("The local relay failed; trying again")
            stop.wait(POLL_SECONDS)
        database.close()

    thread = threading.Thread(target=loop, name="outbox-relay", daemon=True)
    thread.start()
    return thread
