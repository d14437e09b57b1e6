"""Reading an imported file: this service's JSON export, or a CSV of a known format (csv_formats), into the logs and
goals to write, each log with its client record id and version. The whole file is read and validated before anything
is written: a file with bad rows is refused whole, every bad row named (its CSV line or its index in `logs`, the
field, the reason).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from progress_tracking import csv_formats
from progress_tracking.errors import InvalidRequest
from progress_tracking.models.export import FORMAT_VERSION, ImportedGoals
from progress_tracking.models.log import STATE_FIELDS, LogItem
from progress_tracking.values import DEFAULT_SOURCE

# A file is at most this many bytes and logs: an export page (paging ends one at 4 MB) always fits, and the import
# stays one transaction that ends well within the function's time (docs/export-format.md).
MAX_IMPORT_BYTES = 4 * 1024 * 1024
MAX_IMPORT_LOGS = 20_000
# A refusal lists this many problems at most (its message counts them all): a file of 4 MB may hold a million bad
# rows, and the answer must stay within Lambda's limit.
MAX_LISTED_PROBLEMS = 1000


@dataclass(frozen=True)
class FileLog:
    where: dict[str, int]  # {"line": n} for a CSV row, {"index": i} for an item of a JSON export's `logs`
    # A batch upsert's item: its client_record_id names the row in its file (export:1234 for the exported log 1234,
    # openscale:05.01.2026 07:30), its client_version the exported log's version (1 elsewhere), so a second import of
    # the file changes nothing and an import of a later export updates what changed since. An exported log keeps its
    # source and device (the record is keyed by that source); a foreign tool's logs get source `import`.
    log: LogItem
    # This service's export names its logs: one that is a live log of the importing user is that very log (an export
    # imported back into its own account), left as it is rather than copied.
    exported_log_id: int | None = None


@dataclass(frozen=True)
class ImportFile:
    format: str
    logs: list[FileLog]
    goals: ImportedGoals | None


def read_file(text: str, fmt: str | None, content_type: str | None) -> ImportFile:
    """The file's logs and goals, every one valid; InvalidRequest naming every problem otherwise."""
    if fmt is None:
        is_json = text.lstrip().startswith("{") or (content_type or "").split(";")[0].strip() == "application/json"
        fmt = "json" if is_json else None
    problems: list[dict[str, Any]] = []
    if fmt == "json":
        logs, goals = _read_json(text, problems)
    else:
        goals = None
        fmt, logs = _read_csv(text, fmt, problems)
    if len(logs) > MAX_IMPORT_LOGS:
        raise InvalidRequest(
            f"The file holds {len(logs)} logs; an import takes at most {MAX_IMPORT_LOGS} (import large exports page by"
            " page)",
            details=[{"field": "logs", "message": f"at most {MAX_IMPORT_LOGS} logs"}],
        )
    _refuse_duplicates(logs, problems)
    if problems:
        rows = len({tuple(problem.get(key) for key in ("line", "index")) for problem in problems})
        listed = f"; the first {MAX_LISTED_PROBLEMS} problems are listed" if len(problems) > MAX_LISTED_PROBLEMS else ""
        raise InvalidRequest(
            f"The file has {len(problems)} problem(s) in {rows} row(s); nothing was written{listed}",
            details=problems[:MAX_LISTED_PROBLEMS],
        )
    return ImportFile(format=fmt, logs=logs, goals=goals)


def _read_json(text: str, problems: list[dict[str, Any]]) -> tuple[list[FileLog], ImportedGoals | None]:
    try:
        document = json.loads(text)
    except ValueError:
        problems.append({"field": None, "message": "not JSON (send format=csv, openscale or wger for a CSV file)"})
        return [], None
    if not isinstance(document, dict):
        problems.append({"field": None, "message": "an export is a JSON object"})
        return [], None
    if document.get("format_version") != FORMAT_VERSION:
        problems.append({"field": "format_version", "message": f"must be {FORMAT_VERSION} (the version this reads)"})
        return [], None
    items = document.get("logs")
    if not isinstance(items, list):
        problems.append({"field": "logs", "message": "must be a list of logs"})
        return [], None
    logs = [log for index, item in enumerate(items) if (log := _json_log(index, item, problems)) is not None]
    goals = None
    if document.get("goals") is not None:
        try:
            goals = ImportedGoals.model_validate(document["goals"])
        except ValidationError as exc:
            problems += _problems(exc, {}, prefix="goals.")
    return logs, goals


def _json_log(index: int, item: Any, problems: list[dict[str, Any]]) -> FileLog | None:
    where = {"index": index}
    if not isinstance(item, dict):
        problems.append({**where, "field": f"logs[{index}]", "message": "a log is a JSON object"})
        return None
    identity = {name: item.get(name) for name in ("log_id", "version")}
    bad = [name for name, value in identity.items() if type(value) is not int or value < 1]
    for name in bad:
        problems.append({**where, "field": name, "message": "required: a positive integer (it identifies the log)"})
    fields = {"source": DEFAULT_SOURCE} | {name: item[name] for name in STATE_FIELDS if name in item}
    # Validated even when its identity is bad, so that every problem of the log is named at once.
    log_id = identity["log_id"]
    log = _file_log(where, fields, f"export:{log_id}", 1 if bad else identity["version"], problems, log_id)
    return None if bad else log


def _read_csv(text: str, fmt: str | None, problems: list[dict[str, Any]]) -> tuple[str, list[FileLog]]:
    try:
        table, rows = csv_formats.read(text, csv_formats.FORMATS[fmt] if fmt else None)
    except csv_formats.NotCsv as exc:
        details = [{"field": "format", "message": str(exc)}]
        raise InvalidRequest(f"The file cannot be read: {exc}", details=details) from None
    logs = []
    for row in rows:
        where = {"line": row.line}
        problems += [{**where, "field": name or None, "message": reason} for name, reason in row.problems]
        if row.problems:
            continue
        fields = {"source": table.source, **row.fields}
        log = _file_log(where, fields, row.client_record_id, row.client_version, problems, row.exported_log_id)
        if log is not None:
            logs.append(log)
    return table.name, logs


def _file_log(
    where: dict[str, int],
    fields: dict[str, Any],
    record: str,
    version: Any,
    problems: list[dict[str, Any]],
    exported_log_id: Any = None,
) -> FileLog | None:
    """The row as a batch item, validated as a POST's log is; None (its problems added) when it is not one."""
    if fields.get("weight_lb") is not None:
        # Entered in pounds: those, exactly as entered, are the weight; the export's weight_kg is their conversion.
        fields = {name: value for name, value in fields.items() if name != "weight_kg"}
    elif "weight_lb" in fields:
        fields = {name: value for name, value in fields.items() if name != "weight_lb"}  # null: entered in kg
    try:
        item = {**fields, "client_record_id": record, "client_version": version}
        return FileLog(where, LogItem.model_validate(item), exported_log_id)
    except ValidationError as exc:
        problems += _problems(exc, where)
        return None


def _refuse_duplicates(logs: list[FileLog], problems: list[dict[str, Any]]) -> None:
    seen: dict[str, dict[str, int]] = {}
    for log in logs:
        first = seen.setdefault(str(log.log.client_record_id), log.where)
        if first is not log.where:
            where = ", ".join(f"{key} {value}" for key, value in first.items())
            problems.append({**log.where, "field": None, "message": f"the same log as {where}"})


def _problems(exc: ValidationError, where: dict[str, int], prefix: str = "") -> list[dict[str, Any]]:
    found = []
    for problem in exc.errors(include_url=False, include_input=False, include_context=False):
        field = ".".join(str(part) for part in problem["loc"]) or None
        message = "unknown field" if problem["type"] == "extra_forbidden" else problem["msg"]
        found.append(
            {
                **where,
                "field": f"{prefix}{field}" if field else None,
                "message": message.removeprefix("Value error, "),
                "type": problem["type"],
            }
        )
    return found
