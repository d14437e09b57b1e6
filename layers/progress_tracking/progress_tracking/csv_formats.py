"""The CSV formats an import reads: this service's own export and two other tools' weight exports, each described by a
small table (which column fills which field, in which unit and date format, and which columns identify a row in its
source), read by one reader. A format is a table here, never code of its own (docs/export-format.md lists them).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from progress_tracking.models.export import CSV_COLUMNS
from progress_tracking.models.log import STATE_FIELDS
from progress_tracking.values import DEFAULT_SOURCE

# The source of a foreign tool's logs: its rows name none, and their client record ids say which tool they came from.
IMPORT_SOURCE = "import"
NUMBERS = frozenset({"weight_kg", "weight_lb", "calories_burned"})


@dataclass(frozen=True)
class CsvFormat:
    name: str
    # Header → the log field it fills (date, weight_kg or weight_lb by the tool's unit, workout_done,
    # calories_burned, notes; this service's own also source and device).
    columns: Mapping[str, str]
    # How the date column is written (strptime); the calendar date as written is the log's date, no time zone applied.
    date_formats: tuple[str, ...]
    # The columns whose text identifies a row in its source: the imported log's client_record_id is made of them, so
    # importing the same file twice changes nothing.
    identity: tuple[str, ...]
    record_prefix: str
    # The source of a row that names none: an export from before sources held only `manual` logs.
    source: str = DEFAULT_SOURCE
    version_column: str | None = None  # the source row's version, compared with the stored one's on a re-import
    zero_is_absent: frozenset[str] = frozenset()  # fields a tool writes as 0 when nothing was measured
    # Matched by position rather than by name: the tool translates its header into the user's language.
    by_position: bool = False
    # The identity is a log id of this service (its own export): a row naming a live log of the user is that log.
    identity_is_log_id: bool = False
    required: tuple[str, ...] = field(default=())


FORMATS: dict[str, CsvFormat] = {
    # This service's `format=csv` export (models.export.CSV_COLUMNS).
    "csv": CsvFormat(
        name="csv",
        columns={name: name for name in CSV_COLUMNS if name in STATE_FIELDS},  # weight_unit follows from weight_lb
        date_formats=("%Y-%m-%d",),
        identity=("log_id",),
        record_prefix="export",
        identity_is_log_id=True,
        version_column="version",
        required=("log_id", "date"),
    ),
    # openScale (oliexdev/openScale): CsvHelper.exportTo writes ScaleMeasurement's @CsvColumn fields with simplecsv,
    # a header of their names; dateTime as dd.MM.yyyy HH:mm, weight in kg (openScale stores kg and converts only for
    # display), 0 for a measurement not taken. Unique per user and dateTime.
    "openscale": CsvFormat(
        name="openscale",
        columns={"dateTime": "date", "weight": "weight_kg", "comment": "notes"},
        date_formats=("%d.%m.%Y %H:%M",),
        identity=("dateTime",),
        record_prefix="openscale",
        source=IMPORT_SOURCE,
        zero_is_absent=frozenset({"weight_kg"}),
        required=("dateTime", "weight"),
    ),
    # wger (wger-project/wger): weight/views.py export_csv writes a translated header ("Date", "Weight" in English)
    # then date and weight per entry; the date is a DateField's str (YYYY-MM-DD), since 2025 a DateTimeField's
    # (YYYY-MM-DD HH:MM:SS+00:00); the weight is kg (WeightEntry.weight, Decimal with two places).
    "wger": CsvFormat(
        name="wger",
        columns={"Date": "date", "Weight": "weight_kg"},
        date_formats=("%Y-%m-%d", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M:%S.%f%z"),
        identity=("Date",),
        record_prefix="wger",
        source=IMPORT_SOURCE,
        by_position=True,
        required=("Date", "Weight"),
    ),
}


def sniff(header: list[str]) -> CsvFormat | None:
    """The format whose header this is: this service's by its columns, openScale's by its column names, wger's by its
    English header (another language needs `format=wger`)."""
    names = {name.strip() for name in header}
    if {"log_id", "date"} <= names:
        return FORMATS["csv"]
    if {"dateTime", "weight"} <= names:
        return FORMATS["openscale"]
    if [name.strip() for name in header] == list(FORMATS["wger"].columns):
        return FORMATS["wger"]
    return None


@dataclass(frozen=True)
class CsvRow:
    line: int  # the row's line in the file, the header being line 1
    fields: dict[str, Any]  # the log's fields from the row, converted (a date, kilograms), or the text when unreadable
    client_record_id: str
    client_version: int
    problems: list[tuple[str, str]]  # (field, reason) found while reading the row
    exported_log_id: int | None = None  # the row's log id, for this service's own export


class NotCsv(ValueError):
    """The text is not a CSV file of a known format; the message says why."""


def read(text: str, fmt: CsvFormat | None) -> tuple[CsvFormat, Iterator[CsvRow]]:
    """The format (given, or sniffed from the header) and the file's rows as log fields, each with its line."""
    lines = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(lines)
    except StopIteration:
        raise NotCsv("the file is empty") from None
    except csv.Error as exc:
        raise NotCsv(f"line 1: {exc}") from None
    fmt = fmt or sniff(header)
    if fmt is None:
        raise NotCsv(
            "the header is not one of a known format (this service's export, openScale's or wger's); "
            "name the format with format="
        )
    if fmt.by_position:
        header = list(fmt.columns)[: len(header)] + header[len(fmt.columns) :]
    header = [name.strip() for name in header]
    missing = [name for name in fmt.required if name not in header]
    if missing:
        raise NotCsv(f"the header lacks the column(s) {', '.join(missing)} of the {fmt.name} format")
    return fmt, _rows(lines, header, fmt)


def _rows(lines: Iterator[list[str]], header: list[str], fmt: CsvFormat) -> Iterator[CsvRow]:
    while True:
        try:
            values = next(lines)
        except StopIteration:
            return
        except csv.Error as exc:
            yield CsvRow(lines.line_num, {}, "", 1, [("", f"not CSV: {exc}")])  # type: ignore[attr-defined]
            return
        if not any(value.strip() for value in values):
            continue  # a blank line
        yield _row(lines.line_num, header, values, fmt)  # type: ignore[attr-defined]


def _row(line: int, header: list[str], values: list[str], fmt: CsvFormat) -> CsvRow:
    problems: list[tuple[str, str]] = []
    if len(values) != len(header):
        problems.append(("", f"{len(values)} fields where the header has {len(header)}"))
    cells = dict(zip(header, (value.strip() for value in values), strict=False))
    fields: dict[str, Any] = {}
    for column, name in fmt.columns.items():
        value = cells.get(column, "")
        if value == "":
            continue
        if name == "date":
            fields[name] = _date(value, fmt, problems)
        elif name in NUMBERS:
            fields[name] = _number(value, name, problems)
        else:
            fields[name] = value
        if name in fmt.zero_is_absent and fields[name] == 0:
            del fields[name]
    identity = [cells.get(column, "") for column in fmt.identity]
    if not all(identity):
        problems.append((fmt.identity[0], "required: it identifies the row in its source"))
    exported_log_id = None
    if fmt.identity_is_log_id and all(identity):
        if identity[0].isdigit() and 0 < int(identity[0]) < 2**63:
            exported_log_id = int(identity[0])
        else:
            problems.append((fmt.identity[0], "must be a log id: a positive 64-bit integer"))
    version = 1
    if fmt.version_column and cells.get(fmt.version_column):
        try:
            version = int(cells[fmt.version_column])
        except ValueError:
            problems.append((fmt.version_column, "must be a whole number"))
    record = f"{fmt.record_prefix}:{'|'.join(identity)}"
    return CsvRow(line, fields, record, version, problems, exported_log_id)


def _date(value: str, fmt: CsvFormat, problems: list[tuple[str, str]]) -> date | str:
    for pattern in fmt.date_formats:
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    problems.append(("date", f"{value[:40]!r} is not a date written as {' or '.join(fmt.date_formats)}"))
    return value


def _number(value: str, name: str, problems: list[tuple[str, str]]) -> float | str:
    try:
        number = float(value)
    except ValueError:
        problems.append((name, f"{value[:40]!r} is not a number"))
        return value
    return number
