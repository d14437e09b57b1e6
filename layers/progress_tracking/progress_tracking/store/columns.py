"""A log's columns and its events' data in SQL: every list derived from `models.logs.MUTABLE_FIELDS`, written once."""

from __future__ import annotations

import json
import types
from datetime import date
from typing import Any, Union, get_args, get_origin

from psycopg2.extras import Json

from progress_tracking.models.logs import MUTABLE_FIELDS, ProgressLog

# An event's data is the log's mutable fields; the rest of its state is in the event row itself.
DATA_FIELDS = MUTABLE_FIELDS
LOG_COLUMNS = ("log_id", "user_id", *DATA_FIELDS, "version", "created_at", "updated_at")
SELECT_LOG = f"SELECT {', '.join(LOG_COLUMNS)} FROM progress_logs"
# What a new version of a log changes in the projection.
UPSERT_SET = ", ".join(f"{name} = EXCLUDED.{name}" for name in (*DATA_FIELDS, "version", "updated_at"))

_SQL_TYPES: dict[Any, str] = {date: "date", float: "float8", str: "text"}


def _sql_type(name: str) -> str:
    annotation = ProgressLog.model_fields[name].annotation
    if get_origin(annotation) in (Union, types.UnionType):
        (annotation,) = (arg for arg in get_args(annotation) if arg is not type(None))
    return _SQL_TYPES[annotation]


# The data fields as columns of an event row (`(data->>'date')::date AS date, …`).
COLUMNS_FROM_DATA = ", ".join(f"(data->>'{name}')::{_sql_type(name)} AS {name}" for name in DATA_FIELDS)

# The state of every log as the events alone say, optionally as it stood at a moment: the latest event of each log
# (unless it is a deletion), born when its first event happened. Time travel and the projection rebuild share it.
STATE_FROM_EVENTS = (
    "WITH scope AS (SELECT * FROM progress_events WHERE {where}),"
    " latest AS (SELECT DISTINCT ON (log_id) * FROM scope ORDER BY log_id, version DESC),"
    " born AS (SELECT log_id, min(occurred_at) AS created_at FROM scope GROUP BY log_id)"
    f" SELECT latest.log_id, latest.user_id, {COLUMNS_FROM_DATA}, version, born.created_at, occurred_at AS updated_at"
    " FROM latest JOIN born USING (log_id) WHERE event_type <> 'deleted'"
)


# Every state of every log as the events alone say (what `progress_log_versions` holds): the state each event other
# than a deletion produced, valid from that event's time until the log's next event.
VERSION_COLUMNS = ("log_id", "version", "user_id", *DATA_FIELDS, "created_at", "valid_from", "valid_to")
VERSIONS_FROM_EVENTS = (
    f"SELECT log_id, version, user_id, {COLUMNS_FROM_DATA}, created_at, valid_from, valid_to"
    " FROM (SELECT *, min(occurred_at) OVER (PARTITION BY log_id) AS created_at, occurred_at AS valid_from,"
    "  coalesce(lead(occurred_at) OVER (PARTITION BY log_id ORDER BY version), 'infinity') AS valid_to"
    "  FROM progress_events) AS e WHERE event_type <> 'deleted'"
)


def log_from_row(row: tuple[Any, ...]) -> ProgressLog:
    return ProgressLog(**dict(zip(LOG_COLUMNS, row, strict=True)))


def event_data(log: ProgressLog) -> Json:
    data = log.model_dump(include=set(DATA_FIELDS), mode="json")
    return Json(data, dumps=json.dumps)
