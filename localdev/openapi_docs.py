"""What a person reading the API's description needs beyond the schemas: servers, tags, a description of each
operation, and an example of every request and response body.

A post-processing step over `localdev.openapi.build_openapi`'s document, keyed by operation id and status code, so the
generator stays about schemas and this file about prose and examples (the docs page at /docs renders both).
"""

from __future__ import annotations

import copy
from typing import Any

AWS_SERVER = {
    "url": "https://{api_id}.execute-api.{region}.amazonaws.com/{stage}",
    "description": "A deployed stack (the ApiUrl output of `sam deploy`)",
    "variables": {
        "api_id": {"default": "abcdef1234", "description": "The REST API's id"},
        "region": {"default": "eu-west-1"},
        "stage": {"default": "prod"},
    },
}

TAGS = [
    {"name": "Logs", "description": "Record, list, change and delete progress logs."},
    {"name": "History", "description": "Every change is an event: a log's history, and rollback to a version."},
    {"name": "Summary and series", "description": "Summaries and time series for charts, computed from the logs."},
    {"name": "Goals", "description": "A user's goals, and their history (their own stream of events)."},
    {"name": "Erasure", "description": "Deleting all of a user's logs, or erasing their data for good."},
    {"name": "Sync", "description": "The change feed: a user's changes after a token, for clients that sync."},
    {"name": "Export and import", "description": "A user's whole data out (JSON or CSV, as of a moment), and back in."},
]


def _tag(path: str) -> str:
    if path.startswith("/api/progress/goals/"):
        return "Goals"
    if path.endswith(("/history", "/rollback")) and path.startswith("/api/progress/log/"):
        return "History"
    if path.startswith(("/api/progress/summary/", "/api/progress/series/")):
        return "Summary and series"
    if path.startswith("/api/progress/user/"):
        return "Erasure"
    if path.startswith("/api/progress/changes/"):
        return "Sync"
    if path.startswith(("/api/progress/export/", "/api/progress/import/")):
        return "Export and import"
    return "Logs"


DESCRIPTIONS = {
    "ImportProgress": (
        "Recreates the user's logs and goals from an export (a JSON page, or the CSV export) or imports the weights "
        "of an openScale or wger CSV export (docs/export-format.md). The format is `format=` or sniffed: a JSON "
        "object is an export, a CSV is known by its header. The whole file (≤ 4 MB, ≤ 20,000 logs) is validated "
        "first: a bad row refuses the file, writing nothing, with every bad row named (`line` of the CSV or `index` "
        "in `logs`, the field, the reason). Logs are written through the batch upsert in one transaction, each "
        "with a client record id naming its row (`export:<log_id>`), so the same file twice changes nothing. An "
        "exported log keeps its source and device, and a weight entered in pounds comes back exactly as entered; a "
        "foreign tool's logs get source `import`. `dry_run=true` answers what would be created, updated, restored or "
        "left, writing nothing."
    ),
    "ExportProgress": (
        "The user's whole data as it stood at one moment (`as_of`, RFC 3339 with an offset; absent: now): every live "
        "log, every event of every log (deleted logs too), the goals and their events, and (for an export of the "
        "present) the summary, in the format of docs/export-format.md (`format_version`). Paged by bytes: a page "
        "holds up to `limit` items (≤ 20,000, default 10,000) and stays within 4 MiB; follow `next_cursor` (null on "
        "the last page), which keeps page one's moment. `format=csv` answers the logs as CSV (a header row, units in "
        "the column names, ISO dates), the next page's cursor in the `X-Next-Cursor` header."
    ),
    "GetProgress": (
        "The user's live logs, oldest first. Page with `limit` (≤ 1000, default 100) and `cursor` (the previous "
        "page's `next_cursor`; null on the last page); a page may hold fewer than `limit` logs, to stay within 4 MiB. "
        "Narrow with `from`/`to` dates and `source` (a cursor answers only the source filter it was issued with). "
        "`as_of` (RFC 3339 with an offset) answers the logs as they stood at that moment, from the events. "
        "`units=imperial` answers each weight as `weight_lb` (exactly as entered for a log entered in pounds)."
    ),
    "GetSummary": (
        "Counts, first and last dates, weights, calories, workouts by kind (the 100 most logged kinds; "
        "`workout_kinds` and `other_workouts` count them all), streaks and progress toward the user's goals. With "
        "`from`/`to` the summary of that date range is computed on demand. A user without logs gets an empty summary. "
        "`units=imperial` answers the weights in pounds (`*_lb` fields; `average_weight` in lb), whatever units the "
        "logs were entered in."
    ),
    "LogProgress": (
        "Records a log for a user the User Profile service knows. First-version clients send numbers as strings "
        '(`"weight_kg": "71"`): a plain decimal string is accepted and answered as a number. An `Idempotency-Key` '
        "makes retries safe: the same key and body replay the first answer. The weight is `weight_kg` or `weight_lb` "
        "(exactly one; a log entered in pounds is answered in pounds, exactly as entered). `source` names where the "
        "log came from (`manual` when left out) and `device` optionally the device. A log from a device may carry "
        "`client_record_id` (its own id, unique per user and `source`) with `client_version` (both or neither): a "
        "new id creates the log (201); an id on record with a higher version replaces its fields (200 `updated`, or "
        "`restored` for a deleted log), with an equal or lower version writes nothing and answers the log as it is "
        "(200 `unchanged`, `deleted` true when it was deleted: its id stays reserved)."
    ),
    "UpsertLogs": (
        "Up to 500 logs of one user (each a POST's body without `user_id`), all validated first (a 400's `details` "
        "names every bad item by its place, e.g. `logs.3.weight_kg`, and nothing is written), then written in one "
        "transaction by the client record id rule of POST /api/progress/log. Answers each item's `outcome` "
        "(`created`, `updated`, `restored` or `unchanged`) and `log_id` in the order sent. Two items naming the same "
        "`source` and `client_record_id` are a 400. The body is at most 1 MiB. An `Idempotency-Key` replays the first "
        "answer."
    ),
    "UpdateProgress": (
        "Changes any non-empty subset of `date`, `weight_kg` (or `weight_lb`), `workout_done`, `calories_burned`, "
        "`notes` (null clears a field); `source` and `device` stay as POST set them. The log is answered in the units "
        'its weight was entered in. `If-Match: "<version>"` writes only if the log is still at that version (else '
        "412)."
    ),
    "DeleteProgress": "Deletes one log (a `deleted` event: the log's history stays, and rollback restores it).",
    "DeleteUserLogs": (
        "Deletes all of a user's logs (recoverable by rollback). With `erase=true` and the `admin:progress` scope it "
        "erases every trace of the user for good instead (a privacy request): events, logs, summaries, goals."
    ),
    "GetLogHistory": (
        "The events of a log, oldest first, with their state, actor and request id (deleted logs too), paged like "
        "the list: `limit` (≤ 1000, default 100), `cursor` (the previous page's `next_cursor`; null on the last page)."
    ),
    "RollbackProgress": (
        "Brings a log back to the state of an earlier version as a new event (a deleted log is restored). "
        "Honours `If-Match`."
    ),
    "SetGoals": (
        "Sets or replaces all the user's goals: a goal left out is not set, so a PUT of one goal clears the others "
        "(PATCH changes one and keeps the rest). Answers the goals with their version as `ETag`; `If-Match` makes it "
        "conditional."
    ),
    "PatchGoals": (
        "Changes some of the user's goals and leaves the rest: a JSON Merge Patch (RFC 7396; "
        "`application/merge-patch+json`, and `application/json` is taken too). A member with a value sets that goal, "
        "`null` clears it, a member left out keeps its goal. The goals after the merge keep PUT's rules (at least one "
        "goal; `target_date` only with `target_weight_kg`), else 400 and nothing written. Answers the goals with "
        "their version as `ETag`; `If-Match` makes it conditional."
    ),
    "GetGoals": "The user's goals with their version as `ETag`; 404 `goals_not_found` when none are set.",
    "ClearGoals": "Clears the user's goals (a `cleared` event; their history stays).",
    "GetGoalHistory": (
        "The events of the user's goals, oldest first, paged like the list: `limit` (≤ 1000, default 100), `cursor` "
        "(the previous page's `next_cursor`; null on the last page)."
    ),
    "GetChanges": (
        "The user's changes after `since`, oldest first, in their stream order: each log created, updated, deleted "
        "(a tombstone `{log_id, deleted: true}`) or restored with the log as of that change, and each goals change "
        "with the goals. Without `since`, from the beginning. Follow `next_token` (also when caught up, to ask again "
        "later); `more` says whether more follow now. A page ends at `limit` (≤ 1000, default 100) or earlier, to "
        "stay within 4 MiB. A change committed late is never skipped. The token is signed and bound to the user: "
        "another user's or an altered one is a 400 `invalid_change_token`; after the user's data was erased, a "
        "token issued before is a 410 `resync_required` (drop what you hold and follow again without `since`)."
    ),
    "GetSeries": (
        "The logs folded into buckets of a `day` (default), ISO `week` or `month` for charts, empty buckets "
        "included (at most 400). `from`/`to` are widened to whole buckets and default to the 30 buckets ending today."
    ),
}

_AT = "2026-11-29T05:15:14.212121Z"
_LOG = {
    "log_id": 1,
    "user_id": "dev-user-1",
    "date": "2026-11-01",
    "weight_kg": 80.5,
    "workout_done": "running",
    "calories_burned": 420.0,
    "notes": None,
    "version": 1,
    "created_at": _AT,
    "updated_at": _AT,
    "source": "withings",
    "device": "Body+ scale",
    "weight_unit": "kg",
}
# Changed with a weight in pounds: answered in pounds, as entered.
_UPDATED = {
    **{("weight_lb" if key == "weight_kg" else key): value for key, value in _LOG.items()},
    "weight_lb": 176.6,
    "notes": "felt strong",
    "version": 2,
    "updated_at": "2026-11-29T05:15:14.259228Z",
    "weight_unit": "lb",
}
_STATE = {
    "date": "2026-11-01",
    "notes": None,
    "weight_kg": 80.5,
    "workout_done": "running",
    "calories_burned": 420.0,
    "source": "withings",
    "device": "Body+ scale",
    "weight_unit": "kg",
}
_GOALS = {
    "user_id": "dev-user-1",
    "target_weight_kg": 76.0,
    "target_date": "2030-06-30",
    "target_weight_set_at": "2026-11-29T05:15:14.297876Z",
    "weekly_workouts": 3,
    "weekly_calories_burned": 1500.0,
    "version": 1,
    "updated_at": "2026-11-29T05:15:14.297876Z",
}
_GOAL_STATE = {
    "target_date": "2030-06-30",
    "weekly_workouts": 3,
    "target_weight_kg": 76.0,
    "weekly_calories_burned": 1500.0,
}

REQUEST_EXAMPLES: dict[str, Any] = {
    "ImportProgress": {
        "format_version": 1,
        "logs": [_LOG],
        "goals": {"target_weight_kg": 76.0, "target_date": "2030-06-30", "weekly_workouts": 3},
    },
    "LogProgress": {
        "user_id": "dev-user-1",
        "date": "2026-11-01",
        "weight_kg": 80.5,
        "workout_done": "running",
        "calories_burned": 420,
        "source": "withings",
        "device": "Body+ scale",
    },
    "UpsertLogs": {
        "user_id": "dev-user-1",
        "logs": [
            {
                "date": "2026-11-01",
                "weight_kg": 80.5,
                "source": "health-connect",
                "client_record_id": "hc-7f3a9c",
                "client_version": 3,
            },
            {
                "date": "2026-11-02",
                "weight_lb": 177.4,
                "source": "withings",
                "device": "Body+ scale",
                "client_record_id": "w-5521",
                "client_version": 1,
            },
            {"date": "2026-11-02", "workout_done": "running", "calories_burned": 420},
        ],
    },
    "UpdateProgress": {"weight_lb": 176.6, "notes": "felt strong"},
    "RollbackProgress": {"to_version": 1},
    "SetGoals": {
        "target_weight_kg": 76,
        "target_date": "2030-06-30",
        "weekly_workouts": 3,
        "weekly_calories_burned": 1500,
    },
    "PatchGoals": {"target_weight_kg": 75, "weekly_calories_burned": None},
}

SUCCESS_EXAMPLES: dict[str, Any] = {
    "ImportProgress": {
        "message": "1 logs read: 1 were created, 0 updated, 0 restored, 0 left unchanged",
        "user_id": "dev-user-2",
        "format": "json",
        "dry_run": False,
        "created": 1,
        "updated": 0,
        "restored": 0,
        "unchanged": 0,
        "goals": "created",
        "items": [{"index": 0, "client_record_id": "export:1", "outcome": "created", "log_id": 7}],
    },
    "ExportProgress": {
        "format_version": 1,
        "user_id": "dev-user-1",
        "as_of": "2026-11-29T05:20:00.000000Z",
        "page": 1,
        "summary": None,
        "goals": {
            "target_weight_kg": 76.0,
            "target_date": "2030-06-30",
            "weekly_workouts": 3,
            "weekly_calories_burned": 1500.0,
            "version": 1,
            "updated_at": "2026-11-29T05:15:14.297876Z",
        },
        "logs": [_LOG],
        "log_events": [
            {
                "position": 1,
                "log_id": 1,
                "version": 1,
                "type": "logged",
                "state": _STATE,
                "actor": "dev-user-1",
                "request_id": "3fc9dabf-acea-4793-9f3e-29a9708e8203",
                "occurred_at": _AT,
            }
        ],
        "goal_events": [
            {
                "position": 2,
                "version": 1,
                "type": "set",
                "state": _GOAL_STATE,
                "actor": "dev-user-1",
                "request_id": "5d0c4c1e-8d7e-4c55-9a0c-2f1b2b3c4d5e",
                "occurred_at": "2026-11-29T05:15:14.297876Z",
            }
        ],
        "next_cursor": None,
    },
    "GetProgress": {"user_id": "dev-user-1", "progress_logs": [_LOG], "next_cursor": "WyIyMDI2LTExLTAxIiwxXQ"},
    "GetSummary": {
        "user_id": "dev-user-1",
        "log_count": 2,
        "first_date": "2026-11-01",
        "last_date": "2026-11-02",
        "average_weight": 80.35,
        "latest_weight_kg": 80.2,
        "weight_change_kg": -0.3,
        "min_weight_kg": 80.2,
        "max_weight_kg": 80.5,
        "average_calories_burned": 420.0,
        "total_calories_burned": 420.0,
        "workouts": {"running": 1},
        "workout_kinds": 1,
        "other_workouts": 0,
        "current_streak_days": 0,
        "longest_streak_days": 2,
        "goals": None,
    },
    "LogProgress": {"message": "Progress logged successfully", "id": 1, "log": _LOG},
    "UpsertLogs": {
        "message": "Logs upserted",
        "user_id": "dev-user-1",
        "results": [
            {"index": 0, "outcome": "updated", "log_id": 1, "version": 2, "deleted": False},
            {"index": 1, "outcome": "created", "log_id": 2, "version": 1, "deleted": False},
        ],
    },
    "UpdateProgress": {"message": "Progress log updated", "updated_log": _UPDATED},
    "DeleteProgress": {"message": "Progress log deleted", "deleted_log_id": 1},
    "DeleteUserLogs": {"message": "All progress logs for user deleted", "deleted_log_count": 2},
    "GetLogHistory": {
        "log_id": 1,
        "user_id": "dev-user-1",
        "events": [
            {
                "version": 1,
                "type": "logged",
                "state": _STATE,
                "actor": "dev-user-1",
                "request_id": "3fc9dabf-acea-4793-9f3e-29a9708e8203",
                "occurred_at": _AT,
            },
            {
                "version": 2,
                "type": "updated",
                "state": {**_STATE, "weight_kg": 80.1, "weight_unit": "lb", "notes": "felt strong"},
                "actor": "dev-user-1",
                "request_id": "bdf72aef-f143-43c2-b757-3bb534b86c17",
                "occurred_at": "2026-11-29T05:15:14.259228Z",
            },
        ],
        "next_cursor": None,
    },
    "RollbackProgress": {
        "message": "Progress log rolled back to version 1",
        "log": {**_LOG, "version": 3, "updated_at": "2026-11-29T05:15:14.278707Z"},
    },
    "SetGoals": {"message": "Goals set", "goals": _GOALS},
    "PatchGoals": {
        "message": "Goals set",
        "goals": {
            **_GOALS,
            "target_weight_kg": 75.0,
            "target_weight_set_at": "2026-11-30T07:02:41.118302Z",
            "weekly_calories_burned": None,
            "version": 2,
            "updated_at": "2026-11-30T07:02:41.118302Z",
        },
    },
    "GetGoals": _GOALS,
    "ClearGoals": {"message": "Goals cleared", "user_id": "dev-user-1", "version": 2},
    "GetGoalHistory": {
        "user_id": "dev-user-1",
        "events": [
            {
                "version": 1,
                "type": "set",
                "state": _GOAL_STATE,
                "actor": "dev-user-1",
                "request_id": "fb3827ef-53f0-4eb4-aff2-1ce6ad257665",
                "occurred_at": "2026-11-29T05:15:14.297876Z",
            }
        ],
        "next_cursor": None,
    },
    "GetChanges": {
        "user_id": "dev-user-1",
        "changes": [
            {
                "kind": "log_created",
                "stream_position": 5210,
                "occurred_at": _AT,
                "log_id": 1,
                "log": _LOG,
                "goals": None,
            },
            {
                "kind": "log_deleted",
                "stream_position": 5388,
                "occurred_at": "2026-11-29T05:15:14.259228Z",
                "log_id": 1,
                "log": {"log_id": 1, "deleted": True},
                "goals": None,
            },
            {
                "kind": "goals_set",
                "stream_position": 5390,
                "occurred_at": "2026-11-29T05:15:14.297876Z",
                "log_id": None,
                "log": None,
                "goals": {
                    "user_id": "dev-user-1",
                    "target_weight_kg": 76.0,
                    "target_date": "2030-06-30",
                    "weekly_workouts": 3,
                    "weekly_calories_burned": 1500.0,
                    "version": 1,
                    "updated_at": "2026-11-29T05:15:14.297876Z",
                },
            },
        ],
        "next_token": "WzUyMTAsNTM5MF0.2mYl0cJXo4A1b0sQk6M2Zl3oR5n1rQ0u6fH1bYV9cWs",
        "more": False,
    },
    "GetSeries": {
        "user_id": "dev-user-1",
        "bucket": "week",
        "start": "2026-10-26",
        "end": "2026-11-08",
        "as_of": None,
        "series": [
            {
                "start": "2026-10-26",
                "end": "2026-11-01",
                "logs": 1,
                "workouts": 1,
                "total_calories_burned": 420.0,
                "average_weight_kg": 80.5,
                "min_weight_kg": 80.5,
                "max_weight_kg": 80.5,
            },
            {
                "start": "2026-11-02",
                "end": "2026-11-08",
                "logs": 0,
                "workouts": 0,
                "total_calories_burned": 0.0,
                "average_weight_kg": None,
                "min_weight_kg": None,
                "max_weight_kg": None,
            },
        ],
    },
}

# Operations with a second success status: its example, by (operation id, status).
OTHER_SUCCESS_EXAMPLES: dict[tuple[str, str], Any] = {
    ("LogProgress", "200"): {
        "message": "The log already has this client version or a newer one; nothing was written",
        "id": 1,
        "outcome": "unchanged",
        "deleted": False,
        "log": _LOG,
    },
}

ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {
        "message": "The request is invalid",
        "code": "validation_error",
        "details": [
            {
                "field": "weight_kg",
                "message": "must be a number (a string holding a plain decimal number is accepted)",
                "type": "value_error",
            }
        ],
    },
    401: {"message": "Unauthorized", "code": "unauthorized"},
    403: {"message": "You may not act on this user's progress", "code": "forbidden"},
    404: {"message": "No such progress log", "code": "log_not_found"},
    409: {"message": "The log cannot be rolled back to that version", "code": "invalid_rollback"},
    412: {"message": "The log's version does not match If-Match; nothing was written", "code": "precondition_failed"},
    410: {
        "message": (
            "The user's data was erased after this token was issued; resync: drop what you hold and follow the "
            "changes again without since"
        ),
        "code": "resync_required",
    },
    413: {"message": "The request body is too large", "code": "payload_too_large"},
    422: {
        "message": "This Idempotency-Key was already used with a different request body",
        "code": "idempotency_key_reused",
    },
    503: {"message": "The database is unavailable; nothing was written", "code": "database_unavailable"},
}
GOALS_NOT_FOUND = {"message": "The user has no goals", "code": "goals_not_found"}


def _error_example(operation_id: str, status: int) -> dict[str, Any] | None:
    if status == 404 and operation_id in ("GetGoals", "ClearGoals", "GetGoalHistory", "SetGoals", "PatchGoals"):
        return GOALS_NOT_FOUND
    return ERROR_EXAMPLES.get(status)


def enrich(document: dict[str, Any], server_url: str = "http://127.0.0.1:5000") -> dict[str, Any]:
    """A copy of `document` with servers, tags, operation descriptions and body examples."""
    enriched = copy.deepcopy(document)
    enriched["servers"] = [{"url": server_url, "description": "The local app"}, AWS_SERVER]
    enriched["tags"] = TAGS
    enriched["info"]["description"] = (
        "Records, summarises and keeps the full history of users' progress logs. Every call needs an Auth0 access "
        "token (`Authorization: Bearer …`) with the scope each operation names; the local app prints a development "
        "token at start and mints more with `.venv/bin/python progress_tracking_app.py token` (from the project's "
        "root)."
    )
    for path, item in enriched["paths"].items():
        for operation in item.values():
            operation_id = operation["operationId"]
            operation["tags"] = [_tag(path)]
            if operation_id in DESCRIPTIONS:
                operation["description"] = f"{DESCRIPTIONS[operation_id]}\n\n{operation.get('description', '')}".strip()
            for body in operation.get("requestBody", {}).get("content", {}).values():
                if operation_id in REQUEST_EXAMPLES:
                    body["example"] = REQUEST_EXAMPLES[operation_id]
            for status, response in operation["responses"].items():
                content = response.get("content", {}).get("application/json")
                if content is None:
                    continue
                example = (
                    OTHER_SUCCESS_EXAMPLES.get((operation_id, status), SUCCESS_EXAMPLES.get(operation_id))
                    if status.startswith("2")
                    else _error_example(operation_id, int(status))
                )
                if example is not None:
                    content["example"] = example
    return enriched
