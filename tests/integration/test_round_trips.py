"""Each endpoint's database round trips on a warm connection, counted at the wire (localdev/round_trips.py): reads
one, writes at most two, an idempotent POST and its replay included. Counts, never times."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from localdev.gateway import LocalGateway
from localdev.round_trips import in_process, measure
from localdev.template import load_api
from localdev.wire import RoundTripCounter
from tests.helpers import ROOT, reset_layer_singletons

EXPECTED = {
    "POST log": 2,
    "POST log, new Idempotency-Key": 2,
    "POST log, replay": 2,
    "POST log, lb and source": 2,
    "POST log, client record id": 2,
    "POST log, client record id, same version": 2,
    "POST logs batch, 500 logs": 2,
    "PUT log": 2,
    "DELETE log": 2,
    "POST rollback": 2,
    "GET history": 1,
    "GET list page": 1,
    "GET list as_of": 1,
    "GET list, source and imperial": 1,
    "GET summary, stale": 1,
    "GET summary, current": 1,
    "GET summary, from-to": 1,
    "GET summary, imperial": 1,
    "PUT goals": 2,
    "PATCH goals": 2,
    "GET goals": 1,
    "GET goals history": 1,
    "DELETE goals": 2,
    "GET series": 1,
    "GET series as_of": 1,
    "GET changes": 1,
    "GET changes, since": 1,
    "GET export, page 1": 1,
    "GET export, next page": 1,
    "DELETE all of a user's logs": 2,
}


@pytest.fixture
def counted_gateway(service_env, database_url, tokens) -> Iterator[tuple[RoundTripCounter, object]]:
    """The template's handlers in this process, their database reached through the counting proxy."""
    with RoundTripCounter(database_url) as counter:
        os.environ["DATABASE_URL"] = counter.url(database_url)
        reset_layer_singletons()
        try:
            yield counter, in_process(LocalGateway(load_api(ROOT / "template.yaml")), tokens.client())
        finally:
            from progress_tracking.db import get_database

            get_database().close()
            os.environ["DATABASE_URL"] = service_env["DATABASE_URL"]
            reset_layer_singletons()


def test_every_read_is_one_round_trip_and_every_write_at_most_two(counted_gateway, new_user):
    counter, call = counted_gateway
    assert measure(call, counter, new_user("trips")) == EXPECTED


def test_the_counter_sees_a_separate_begin_and_commit_as_round_trips_of_their_own(counted_gateway, database_url):
    # Positive control: the same counter counts three for a statement in a driver-opened transaction.
    import psycopg2

    counter, _ = counted_gateway
    connection = psycopg2.connect(counter.url(database_url))
    try:
        with counter.counting() as n:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            connection.commit()
        assert n == [3]
    finally:
        connection.close()
