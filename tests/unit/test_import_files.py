"""Reading imported files: this service's JSON and CSV exports and the openScale and wger weight exports (sample files
in tests/fixtures written from their public source), validated whole, every bad row named."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from progress_tracking.errors import InvalidRequest
from progress_tracking.import_files import MAX_LISTED_PROBLEMS, read_file
from progress_tracking.models.export import CSV_COLUMNS, FORMAT_VERSION

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def refusal(text: str, fmt: str | None = None, content_type: str | None = None) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as refused:
        read_file(text, fmt, content_type)
    return refused.value


# The columns of an export written before units and sources (every log in kg and `manual`): still read.
FIRST_CSV_COLUMNS = CSV_COLUMNS[: CSV_COLUMNS.index("updated_at") + 1]


def export_csv(*rows: str, columns: tuple[str, ...] = FIRST_CSV_COLUMNS) -> str:
    return "\r\n".join([",".join(columns), *rows]) + "\r\n"


def export_json(logs: list, **fields) -> str:
    return json.dumps({"format_version": FORMAT_VERSION, "user_id": "someone", "logs": logs, **fields})


def exported_log(log_id: int, day: str = "2026-01-05", **fields) -> dict:
    return {"log_id": log_id, "user_id": "someone", "date": day, "weight_kg": 80.5, "version": 1, **fields}


def test_an_openscale_export_is_recognised_by_its_header_and_read_in_kilograms_with_its_comments():
    read = read_file((FIXTURES / "openscale_export.csv").read_text(), None, "text/csv")
    assert read.format == "openscale"
    assert [(log.log.date, log.log.weight_kg, log.log.notes) for log in read.logs] == [
        (date(2026, 1, 5), 82.4, "after the holidays"),
        (date(2026, 1, 6), 82.1, None),
        (date(2026, 1, 8), 81.7, "evening, after a run"),
    ]
    assert read.logs[0].log.client_record_id == "openscale:05.01.2026 07:30"
    assert [log.where for log in read.logs] == [{"line": 2}, {"line": 3}, {"line": 4}]


@pytest.mark.parametrize(
    ("name", "days", "weights"),
    [
        ("wger_weight_export.csv", [date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 8)], [82.4, 82.1, 81.7]),
        ("wger_weight_export_2024.csv", [date(2024, 3, 1), date(2024, 3, 2)], [90.0, 89.75]),
    ],
)
def test_a_wger_export_is_read_with_dates_or_date_times_and_kilograms(name, days, weights):
    read = read_file((FIXTURES / name).read_text(), None, None)
    assert read.format == "wger"
    assert [log.log.date for log in read.logs] == days and [log.log.weight_kg for log in read.logs] == weights
    assert read.logs[0].log.client_record_id.startswith("wger:")


def test_a_wger_export_in_another_language_is_read_by_position_when_named():
    text = (FIXTURES / "wger_weight_export_2024.csv").read_text().replace("Date,Weight", "Datum,Gewicht")
    assert [detail["field"] for detail in refusal(text).details] == ["format"]  # not recognised by itself
    assert [log.log.weight_kg for log in read_file(text, "wger", None).logs] == [90.0, 89.75]


def test_this_services_csv_export_is_read_with_its_identity():
    row = '7,2026-01-05,80.5,,,"a, note",3,2026-01-05T10:00:00Z,2026-01-06T10:00:00Z'
    read = read_file(export_csv(row), None, None)
    assert read.format == "csv"
    (log,) = read.logs
    assert (log.log.client_record_id, log.log.client_version, log.log.notes) == ("export:7", 3, "a, note")
    assert log.log.source == "manual"  # an export from before sources: every log was manual


def test_a_csv_export_in_pounds_is_read_back_in_pounds_as_entered_with_its_source_and_device():
    pounds = "7,2026-01-05,77.2,,,,3,2026-01-05T10:00:00Z,2026-01-06T10:00:00Z,170.2,lb,withings,Body+ scale"
    kilos = "8,2026-01-06,80.5,,,,1,2026-01-06T10:00:00Z,2026-01-06T10:00:00Z,,kg,manual,"
    read = read_file(export_csv(pounds, kilos, columns=CSV_COLUMNS), None, None)
    entered = [(log.log.weight_lb, log.log.weight_kg, log.log.source, log.log.device) for log in read.logs]
    # The pounds, not the rounded kilograms beside them, are the weight; the kg log stays in kg (the control).
    assert entered == [(170.2, None, "withings", "Body+ scale"), (None, 80.5, "manual", None)]
    assert [log.log.client_record_id for log in read.logs] == ["export:7", "export:8"]


def test_a_json_export_in_pounds_is_read_back_in_pounds_with_its_source_and_device():
    logs = [
        exported_log(7, weight_kg=77.2, weight_lb=170.2, weight_unit="lb", source="withings", device="Body+ scale"),
        exported_log(8, weight_lb=None, weight_unit="kg", source="health-connect", device=None),
        exported_log(9),  # an export from before units and sources
    ]
    read = read_file(export_json(logs), None, None)
    assert [(log.log.weight_lb, log.log.weight_kg, log.log.source, log.log.device) for log in read.logs] == [
        (170.2, None, "withings", "Body+ scale"),
        (None, 80.5, "health-connect", None),
        (None, 80.5, "manual", None),
    ]


def test_a_foreign_tools_logs_get_source_import_and_a_bad_source_is_named():
    read = read_file((FIXTURES / "openscale_export.csv").read_text(), None, "text/csv")
    assert {log.log.source for log in read.logs} == {"import"}
    refused = refusal(export_json([exported_log(7, source="Not A Source")]))
    assert [(detail["index"], detail["field"]) for detail in refused.details] == [(0, "source")]


def test_a_json_export_is_read_with_its_logs_identity_and_goals():
    goals = {"target_weight_kg": 75, "target_date": "2020-01-01", "weekly_workouts": 3, "version": 4}
    logs = [exported_log(7, version=2), exported_log(9, workout_done="Run")]
    read = read_file(export_json(logs, goals=goals), None, None)
    assert read.format == "json"
    assert [(log.log.client_record_id, log.log.client_version) for log in read.logs] == [
        ("export:7", 2),
        ("export:9", 1),
    ]
    assert read.goals is not None and read.goals.target_date == date(2020, 1, 1)  # a past target date is history


def test_a_csv_with_bad_rows_is_refused_whole_with_every_bad_row_named_by_line_and_field():
    text = export_csv(
        "1,2026-01-05,80.5,,,,1,,",  # good
        "2,2026-13-05,80.5,,,,1,,",  # no such month
        "3,2026-01-06,5000,,,,1,,",  # not a body weight
        "4,2026-01-07,,,,,1,,",  # no measurement
        "5,2026-01-08,abc,,,,1,,",  # not a number
        ",2026-01-09,80,,,,1,,",  # no identity
        "1,2026-01-10,80,,,,1,,",  # the same log twice
    )
    details = refusal(text).details
    assert [(detail.get("line"), detail["field"]) for detail in details] == [
        (3, "date"),
        (4, "weight_kg"),
        (5, None),
        (6, "weight_kg"),
        (7, "log_id"),
        (8, None),
    ]
    assert all(detail["message"] for detail in details)
    # Positive control: the good row alone is read
    assert len(read_file(export_csv("1,2026-01-05,80.5,,,,1,,"), None, None).logs) == 1


def test_a_json_export_with_bad_logs_is_refused_whole_with_every_bad_log_named_by_index():
    logs = [
        exported_log(1),
        exported_log(2, day="yesterday"),
        "not a log",
        exported_log(4, weight_kg=-1),
        {"date": "2026-01-01", "weight_kg": 80},
    ]
    details = refusal(export_json(logs)).details
    assert [(detail.get("index"), detail["field"]) for detail in details] == [
        (1, "date"),
        (2, "logs[2]"),
        (3, "weight_kg"),
        (4, "log_id"),
        (4, "version"),
    ]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (json.dumps({"format_version": 99, "logs": []}), "format_version"),
        (json.dumps({"format_version": FORMAT_VERSION}), "logs"),
        ("{not json", None),
        ("", "format"),
        ("what,is,this\r\n1,2,3\r\n", "format"),
    ],
)
def test_a_file_that_is_no_known_format_is_refused_naming_why(text, field):
    assert [detail["field"] for detail in refusal(text).details] == [field]


def test_a_file_with_a_million_bad_rows_lists_the_first_of_them_and_counts_them_all():
    text = export_csv(*[f"{n},not-a-date,80,,,,1,," for n in range(1, 3001)])
    refused = refusal(text)
    assert len(refused.details) == MAX_LISTED_PROBLEMS and "3000 problem(s) in 3000 row(s)" in refused.message


def test_an_export_item_is_costed_at_least_at_what_the_body_writes_for_it():
    # The export costs items by pydantic's JSON (exports._render), a byte short of json.dumps's for a tiny exponent.
    from datetime import UTC, datetime

    from progress_tracking.models.log import ProgressLog
    from progress_tracking.response_size import body_text, invoke_bytes

    log = ProgressLog(
        log_id=2**62,
        user_id='ü"\\x',
        date=date(2020, 1, 1),
        weight_kg=649.9999999999999,
        workout_done="\u2028 é 😀",
        calories_burned=1e-7,
        notes='\n\t"',
        version=3,
        created_at=datetime(2020, 1, 1, tzinfo=UTC),
        updated_at=datetime(2020, 1, 1, 1, 2, 3, 4567, tzinfo=UTC),
    )
    written = invoke_bytes(body_text(log.model_dump(mode="json")))
    assert 0 <= written - invoke_bytes(log.model_dump_json()) <= 1


def test_this_services_csv_names_its_logs_by_id_and_a_row_without_one_is_refused():
    read = read_file(export_csv("7,2026-01-05,80.5,,,,3,,"), None, None)
    assert read.logs[0].exported_log_id == 7
    details = refusal(export_csv("x7,2026-01-05,80.5,,,,3,,")).details
    assert [(detail["line"], detail["field"]) for detail in details] == [(2, "log_id")]
