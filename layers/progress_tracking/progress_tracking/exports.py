"""A user's export, page by page: every live log, every event of every log, the goals and their events, and the
summary, as they stood at one moment (docs/export-format.md).

Paged by bytes, like the list: a page ends at `limit` items or before the item that would take it past the byte
budget (response_size), so no answer passes Lambda's 6 MB, and its `next_cursor` carries the moment of page one, so
every page shows the same data. A page is one statement (store.exporting): keyset ranges of at most `limit` rows per
section, so a page costs the same wherever it starts and an export costs time linear in the data.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from progress_tracking import authz, paging
from progress_tracking.authz import Identity
from progress_tracking.db import Database
from progress_tracking.models.export import (
    CSV_COLUMNS,
    ExportedGoalEvent,
    ExportedGoals,
    ExportedLogEvent,
    ExportPage,
    ExportQuery,
)
from progress_tracking.models.facts import SummaryFacts
from progress_tracking.models.log import ProgressLog
from progress_tracking.models.summary import Summary
from progress_tracking.paging import ExportPosition
from progress_tracking.response_size import ITEMS_BUDGET_BYTES, body_text, invoke_bytes
from progress_tracking.store import exporting
from progress_tracking.store.exporting import GOAL_EVENTS, HEAD, LOG_EVENTS, LOGS, ExportRow
from progress_tracking.summary_figures import summary_from_facts
from progress_tracking.units import DIGITS, unit_of
from progress_tracking.values import DEFAULT_SOURCE, rounded


@dataclass(frozen=True)
class CsvPage:
    text: str  # the header row, then a row per log
    next_cursor: str | None


def export(
    database: Database, caller: Identity, user_id: str, query: ExportQuery, today: date | None = None
) -> ExportPage | CsvPage:
    authz.ensure_may_act_for(caller, user_id)
    as_of: datetime | None
    if query.cursor:
        position = paging.after_in_export(query.cursor)
        fmt, as_of, page = position.format, position.as_of, position.page
        first, after_date, after_key = position.section, position.after_date, position.key
    else:
        fmt, as_of, page = query.format, query.as_of, 1
        first, after_date, after_key = HEAD, None, None  # a CSV's first page reads the head too: its moment
    last = GOAL_EVENTS if fmt == "json" else LOGS
    moment, rows = database.single(
        lambda cursor: exporting.export_rows(
            cursor,
            user_id,
            as_of=as_of,
            with_summary=fmt == "json" and as_of is None,
            first=first,
            last=last,
            after_date=after_date,
            after_key=after_key,
            limit=query.limit + 1,  # one row more than a page holds tells whether the section goes on
        )
    )
    rendered = [_render(row, user_id, fmt, today) for row in rows]
    taken, stop = _fit(rendered, first, last, query.limit)
    next_cursor = None
    if stop is not None:
        section, after = stop
        next_cursor = paging.export_cursor(
            ExportPosition(
                format=fmt,
                as_of=moment,
                page=page + 1,
                section=section,
                after_date=after.date if after is not None and section == LOGS else None,
                key=after.key if after is not None else None,
            )
        )
    if fmt == "csv":
        lines = "".join(item.model for item in taken if item.row.section == LOGS)
        return CsvPage(text=_csv_line(CSV_COLUMNS) + lines, next_cursor=next_cursor)
    head = next((item.model for item in taken if item.row.section == HEAD), None)
    return ExportPage(
        user_id=user_id,
        as_of=moment,
        page=page,
        summary=head.summary if isinstance(head, _Head) else None,
        goals=head.goals if isinstance(head, _Head) else None,
        logs=[item.model for item in taken if item.row.section == LOGS],
        log_events=[item.model for item in taken if item.row.section == LOG_EVENTS],
        goal_events=[item.model for item in taken if item.row.section == GOAL_EVENTS],
        next_cursor=next_cursor,
    )


@dataclass(frozen=True)
class _Head:
    summary: Summary | None
    goals: ExportedGoals | None


@dataclass(frozen=True)
class _Item:
    row: ExportRow
    model: Any  # what the page holds for the row: a model, or a CSV line
    cost: int  # the bytes it takes in the invoke response, with its separator (a comma, or the line's end)


def _render(row: ExportRow, user_id: str, fmt: str, today: date | None) -> _Item:
    model: Any
    if row.section == HEAD and fmt == "csv":
        return _Item(row, None, 0)
    if row.section == HEAD:
        facts, goals = row.item["summary_facts"], row.item["goals"]
        head = _Head(
            summary=_summary(user_id, facts, today) if facts else None,
            goals=ExportedGoals.model_validate(goals) if goals else None,
        )
        parts = [part.model_dump(mode="json") for part in (head.summary, head.goals) if part is not None]
        return _Item(row, head, invoke_bytes(body_text(parts)))
    if row.section == LOGS:
        model = ProgressLog.model_validate(_as_answered(row.item))
        if fmt == "csv":
            line = _csv_line(_csv_values(model))
            return _Item(row, line, invoke_bytes(line))
    elif row.section == LOG_EVENTS:
        model = ExportedLogEvent.model_validate({**row.item, "state": _event_state(row.item["state"])})
    else:
        model = ExportedGoalEvent.model_validate(row.item)
    # pydantic's JSON is the body's (compact, non-ASCII as is) in a third of json.dumps's time, but for one byte: it
    # writes 1e-7 where the body has 1e-07 (an item holds one such number at most, calories_burned). Plus the comma.
    return _Item(row, model, invoke_bytes(model.model_dump_json()) + 2)


def _as_answered(log: dict[str, Any]) -> dict[str, Any]:
    """An exported log's fields as the API answers a log, with the pounds it was entered in beside its weight_kg
    (that one rounded, as a metric answer has it): the import takes the pounds, exactly as entered."""
    if log["weight_lb"] is None:
        return log
    return {**log, "weight_kg": rounded(log["weight_kg"], DIGITS)}


def _event_state(state: dict[str, Any]) -> dict[str, Any]:
    """A log event's state with the fields of migration 0018: an event written before it was in kg and `manual`."""
    if "weight_kg" not in state:
        return state
    filled = {"weight_lb": None, "source": DEFAULT_SOURCE, "device": None, **state}
    return {**filled, "weight_unit": unit_of(filled["weight_kg"], filled["weight_lb"])}


def _fit(
    items: list[_Item], first: int, last: int, limit: int
) -> tuple[list[_Item], tuple[int, ExportRow | None] | None]:
    """The items of the page, section by section, up to `limit` (the head aside) and the byte budget (the first item
    always); and where the next page starts: (section, the last row taken in it, or None for its start), None when
    done."""
    by_section: dict[int, list[_Item]] = {section: [] for section in range(first, last + 1)}
    for item in items:
        by_section[item.row.section].append(item)
    taken: list[_Item] = []
    used = counted = 0
    for section in range(first, last + 1):
        last_taken: ExportRow | None = None
        for item in by_section[section]:
            if counted == limit or (taken and used + item.cost > ITEMS_BUDGET_BYTES):
                return taken, (section, last_taken)
            taken.append(item)
            used += item.cost
            counted += section != HEAD
            last_taken = item.row
        # A section that gave limit + 1 rows has more than a page holds, so the loop above stopped in it: a section
        # left here is complete.
    return taken, None


def _summary(user_id: str, facts: dict[str, Any], today: date | None) -> Summary:
    return summary_from_facts(user_id, SummaryFacts.model_validate(facts), today or datetime.now(UTC).date())


def _csv_values(log: ProgressLog) -> list[Any]:
    values = log.model_dump(mode="json", include=set(CSV_COLUMNS))
    return ["" if values[name] is None else values[name] for name in CSV_COLUMNS]


def _csv_line(values: Any) -> str:
    """A CSV line as RFC 4180 writes it: CRLF at its end, fields quoted where they hold a comma, quote or line break."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()
