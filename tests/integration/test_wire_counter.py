"""The round-trip counter counts what a client waits on at the wire, so the round-trip tests can trust it."""

from __future__ import annotations

import psycopg2
import pytest

from localdev.wire import RoundTripCounter


@pytest.fixture
def counter(database_url):
    with RoundTripCounter(database_url) as proxy:
        yield proxy


def test_each_statement_batch_is_one_round_trip(counter, database_url):
    connection = psycopg2.connect(counter.url(database_url))
    try:
        with counter.counting() as autocommitted:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.execute("SELECT 1; SELECT 2")  # one message, one wait
        assert autocommitted == [2]
        connection.autocommit = False
        with counter.counting() as in_transaction:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")  # psycopg2 sends BEGIN first, on its own
            connection.commit()
        assert in_transaction == [3]
    finally:
        connection.close()
    assert counter.connections == 1


def test_a_distance_is_charged_per_connection_set_up_and_per_round_trip(database_url):
    with RoundTripCounter(database_url, round_trip_delay=0.001) as distant:
        connection = psycopg2.connect(distant.url(database_url))  # trust auth in plain text: TCP, then the startup
        try:
            assert distant.waits == 2
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.execute("SELECT 1; SELECT 2")
            assert (distant.waits, distant.round_trips) == (4, 2)
        finally:
            connection.close()


def test_a_recording_keeps_each_round_trips_text_and_answers(database_url):
    with RoundTripCounter(database_url, record=True) as recorder:
        connection = psycopg2.connect(recorder.url(database_url))
        try:
            connection.autocommit = True
            with recorder.recording() as recorded, connection.cursor() as cursor:
                cursor.execute("SELECT %s::int AS n, %s::text AS word, NULL::date AS day", (7, "it's"))
                cursor.execute("SET LOCAL lock_timeout = 10; SELECT 1 AS one WHERE false")
                with pytest.raises(psycopg2.errors.DivisionByZero):
                    cursor.execute("SELECT 1 / 0")
            assert [round_trip.text for round_trip in recorded] == [
                "SELECT 7::int AS n, 'it''s'::text AS word, NULL::date AS day",  # the values interpolated
                "SET LOCAL lock_timeout = 10; SELECT 1 AS one WHERE false",
                "SELECT 1 / 0",
            ]
            first, second, third = recorded
            (answer,) = first.answers
            assert [name for name, _ in answer.columns] == ["n", "word", "day"]
            assert answer.columns[0][1] == 23  # int4's type OID
            assert (answer.rows, answer.tag) == ([("7", "it's", None)], "SELECT 1")
            assert [(a.columns, a.rows, a.tag) for a in second.answers] == [
                ([], [], "SET"),
                ([("one", 23)], [], "SELECT 0"),
            ]
            assert third.error == "division by zero" and first.error is None
            assert {round_trip.connection for round_trip in recorded} == {1}
        finally:
            connection.close()
    assert recorder.round_trips == 3


def test_a_counter_that_does_not_record_refuses_to_say_what_it_recorded(counter):
    with pytest.raises(RuntimeError), counter.recording():
        pass
