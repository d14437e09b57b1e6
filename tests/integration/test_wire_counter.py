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
