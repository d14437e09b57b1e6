"""The pgbench scripts the capacity bench generates from two recordings of a request (bench/scripts.py): what varies
between them must be explained, and the script reads as pgbench reads it."""

from __future__ import annotations

import random
from datetime import datetime

import pytest

from bench.scripts import Input, ScriptDrift, evaluate, fill, script_from_recordings, statements
from localdev.wire import Answer, RecordedRoundTrip

INT8, TEXT, TIMESTAMPTZ, DATE = 20, 25, 1184, 1082


def trip(text: str, row: tuple[str | None, ...] | None = None, columns: list[tuple[str, int]] | None = None):
    answers = [Answer(columns or [], [row] if row else [], "SELECT 1")] if row else [Answer(tag="INSERT 0 1")]
    return RecordedRoundTrip(connection=1, text=text, answers=answers)


def lock_and_write(user: str, log_id: int, version: int, at: str, day: str, request_id: str):
    """A write's two round trips: the lock returns the log's row, the write reads from it (as a PUT does)."""
    iso = datetime.fromisoformat(at).isoformat()  # as psycopg2 writes the time it read
    return [
        trip(
            f"BEGIN; SELECT greatest(clock_timestamp(), last_at), log.* FROM logs WHERE log_id = {log_id}",
            (at, str(log_id), user, day, str(version)),
            [("greatest", TIMESTAMPTZ), ("log_id", INT8), ("user_id", TEXT), ("date", DATE), ("version", INT8)],
        ),
        trip(
            f"INSERT INTO events VALUES ({log_id}, '{user}', {version + 1}, '{{\"date\": \"{day}\"}}',"
            f" '{request_id}', '{iso}'::timestamptz); UPDATE logs SET version = {version + 1},"
            f" date = '{day}'::date WHERE log_id = {log_id}; COMMIT"
        ),
    ]


FIRST = lock_and_write(
    "user-3", 17, 1, "2026-12-04 18:00:01.5+00", "2026-11-27", "0f6c0a52-1111-4b9b-a2f1-aaaaaaaaaaaa"
)
SECOND = lock_and_write(
    "user-4", 54, 2, "2026-12-04 18:00:02.25+00", "2026-11-26", "9e1d2c3b-2222-4c5d-b6e7-bbbbbbbbbbbb"
)
LOG_ID = Input("log_id", "random(:first_log, :last_log)", (17, 54))


def test_what_varies_is_read_from_the_inputs_and_from_what_an_earlier_round_trip_returned():
    script = script_from_recordings("PUT", FIRST, SECOND, [LOG_ID])

    lock, write = script.round_trips
    assert lock.gset == "r1_" and lock.increments == ["r1_version_next"]
    assert write.statements == [
        "INSERT INTO events VALUES (:log_id, ':r1_user_id', :r1_version_next, '{\"date\": \":r1_date\"}',"
        " '0f6c0a52-1111-4b9b-a2f1-aaaaaaaaaaaa', ':r1_greatest'::timestamptz)",
        "UPDATE logs SET version = :r1_version_next, date = ':r1_date'::date WHERE log_id = :log_id",
        "COMMIT",
    ]
    assert script.kept == ["0f6c0a52-1111-4b9b-a2f1-aaaaaaaaaaaa"]  # a request id: kept as recorded
    text = script.pgbench("PUT")
    assert "\\set log_id random(:first_log, :last_log)\n" in text
    assert "WHERE log_id = :log_id\n\\gset r1_\n\\set r1_version_next :r1_version + 1\n" in text
    assert text.endswith(" \\;\nCOMMIT;\n")  # one round trip: its statements joined by \;


def test_a_literal_nothing_explains_stops_the_generation():
    # Without the input, the log id differs for no known reason: the script would drift from the code.
    with pytest.raises(ScriptDrift, match="nothing explains the number 17 vs 54"):
        script_from_recordings("PUT", FIRST, SECOND, [])


def test_a_returned_time_written_in_an_unknown_form_is_not_taken_for_the_clock():
    first, second = ([lock, trip(write.text.replace("T18:", " 18:"))] for lock, write in (FIRST, SECOND))
    with pytest.raises(ScriptDrift, match="a returned value in a form not known here"):
        script_from_recordings("PUT", first, second, [LOG_ID])


def test_recordings_that_took_different_paths_are_not_one_script():
    other = [FIRST[0], trip(FIRST[1].text.replace("; COMMIT", "; SELECT 1; COMMIT"))]
    with pytest.raises(ScriptDrift, match="differ in shape"):
        script_from_recordings("PUT", FIRST, other, [LOG_ID])
    with pytest.raises(ScriptDrift, match="1 round trips in one recording, 2 in the other"):
        script_from_recordings("PUT", FIRST[:1], SECOND, [LOG_ID])


def test_a_value_from_a_round_trip_other_than_the_last_result_is_not_trusted():
    # The lock's row came back from a statement before the last one of its round trip: \gset could not store it.
    moved = [RecordedRoundTrip(1, FIRST[0].text, [*FIRST[0].answers, Answer(tag="SET")]), FIRST[1]]
    moved_second = [RecordedRoundTrip(1, SECOND[0].text, [*SECOND[0].answers, Answer(tag="SET")]), SECOND[1]]
    with pytest.raises(ScriptDrift):
        script_from_recordings("PUT", moved, moved_second, [LOG_ID])


def test_a_recorded_text_that_pgbench_would_read_as_a_variable_stops_the_generation():
    first = [trip("SELECT ':log_id literally' FROM logs WHERE log_id = 17")]
    second = [trip("SELECT ':log_id literally' FROM logs WHERE log_id = 54")]
    with pytest.raises(ScriptDrift, match="would be read as a variable"):
        script_from_recordings("GET", first, second, [LOG_ID])


def test_an_input_reads_inside_a_longer_literal_but_not_inside_a_longer_value():
    user = Input("user_n", "random(1, :users)", (1, 2), "scale-user-:user_n")
    first = [trip("SELECT 'scale-user-1', 'scale-user-12' FROM logs")]
    second = [trip("SELECT 'scale-user-2', 'scale-user-12' FROM logs")]
    script = script_from_recordings("GET", first, second, [user])
    assert script.round_trips[0].statements == ["SELECT 'scale-user-:user_n', 'scale-user-12' FROM logs"]


def test_substitution_and_expressions_are_pgbenchs():
    assert fill("SELECT ':a'::text, :b, :undefined, x::int", {"a": "one", "b": 2}) == (
        "SELECT 'one'::text, 2, :undefined, x::int"
    )
    variables = {"client_id": 1, "per_client": 10, "k": 3}
    assert evaluate("1 + :client_id * :per_client + :k - 1", variables, random.Random(1)) == 13
    assert evaluate("7 / 2 + 20260000 + 11 * 100", {}, random.Random(1)) == 20261103
    assert 1 <= evaluate("random(1, 3)", {}, random.Random(1)) <= 3
    with pytest.raises(ValueError):
        evaluate("__import__('os')", {}, random.Random(1))


def test_a_round_trip_splits_into_its_statements_at_top_level_semicolons_only():
    assert statements("BEGIN; SELECT 'a;b', $x$;$x$ -- c;\n; COMMIT;") == [
        "BEGIN",
        "SELECT 'a;b', $x$;$x$ -- c;",
        "COMMIT",
    ]
