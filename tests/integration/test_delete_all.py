"""Deleting every log of a user: exact when a write of theirs commits while it waits for their lock, and for a user
with 100,000 logs within a request's limits, through the API, and recoverable by rollback afterwards."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import psycopg2

from bench.scale import build_dataset
from localdev.wire import RoundTripCounter
from progress_tracking import logs
from progress_tracking.db import Database
from progress_tracking.models.log import LogCreate
from progress_tracking.store import appending, erasure
from progress_tracking.user_service import UserServiceClient
from tests.helpers import MACHINE, count_rows


def waiting_for_a_lock(database_url: str, application_name: str) -> bool:
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = %s AND wait_event_type = 'Lock'",
                (application_name,),
            )
            return bool(cursor.fetchone()[0])
    finally:
        connection.close()


def live_logs(database: Database, user: str) -> int:
    return count_rows(database, user)["progress_logs"]


def test_a_log_written_while_delete_all_waits_for_the_users_lock_is_deleted_and_counted_in_two_round_trips(
    database, database_url, user_profile, new_user
):
    # Given: a user with two logs, and a third being written in a transaction that holds the user's lock.
    users = UserServiceClient(user_profile.base_url)
    user = new_user("recount")
    for day in (1, 2):
        entry = LogCreate.model_validate({"user_id": user, "date": date(2026, 1, day), "weight_kg": 70.0})
        logs.log_progress(database, users, MACHINE, entry, None)
    writer = psycopg2.connect(database_url)
    change = appending.Change(actor="writer", request_id=None)
    appending.log_new(writer.cursor(), user, {"date": date(2026, 1, 3), "weight_kg": 71.0, "notes": "late"}, change)
    # When: delete-all starts (its round trips counted at the wire), waits for the lock, and the write commits.
    with RoundTripCounter(database_url) as counter, ThreadPoolExecutor(1) as pool:
        counted = Database(counter.url(database_url))
        counted.single(lambda cursor: cursor.execute("SELECT 1"))  # connected: only the delete-all's trips count
        with counter.counting() as round_trips:
            deleting = pool.submit(logs.delete_user_logs, counted, MACHINE, user, None)
            deadline = time.monotonic() + 10
            while not waiting_for_a_lock(database_url, "progress-tracking"):
                assert time.monotonic() < deadline and not deleting.done()
                time.sleep(0.01)
            writer.commit()
            writer.close()
            deleted = deleting.result(timeout=10)
        counted.close()
    # Then: it deleted the three logs, the one written while it waited included, says so, in two round trips.
    assert deleted == 3
    assert round_trips == [2]
    assert live_logs(database, user) == 0

    def deletions(cursor):
        cursor.execute("SELECT count(*) FROM progress_events WHERE user_id = %s AND event_type = 'deleted'", (user,))
        return cursor.fetchone()[0]

    assert database.run(deletions) == 3
    # Each deletion event keeps the state it deleted, as the log's history and a rollback read it.
    for log_id in logs_of(database, user):
        *_, before, deletion = database.run(lambda cursor, log_id=log_id: appending.log_events(cursor, log_id))
        assert (deletion.event_type, deletion.data, deletion.version) == ("deleted", before.data, before.version + 1)


BIG = 100_000


def test_a_user_with_100000_logs_deletes_them_all_through_the_api_and_rolls_one_back(
    api, tokens, database, database_url, new_user
):
    # Given: a user with 100,000 logs, written set-based (one `logged` event each, the projections and the stream).
    user = new_user("big")
    builder = psycopg2.connect(database_url)
    try:
        with builder.cursor() as cursor:
            assert build_dataset(cursor, 0, 0, {user: BIG}) == BIG
        builder.commit()
        token = tokens.client()
        # When: all of them are deleted through the API, within a request's limits (a 503 database_busy otherwise).
        response = api.call("DELETE", f"/api/progress/user/{user}/logs", token)
        assert response.status_code == 200, response.text
        assert response.json() == {"message": "All progress logs for user deleted", "deleted_log_count": BIG}
        # Then: no live log is left, each has its deletion event and its last state ended, the facts are gone.
        counts = count_rows(database, user)
        assert (counts["progress_logs"], counts["progress_events"]) == (0, 2 * BIG)
        assert counts["progress_log_months"] == counts["progress_log_weeks"] == counts["progress_workout_counts"] == 0
        assert api.call("GET", f"/api/progress/{user}", token).json()["progress_logs"] == []
        # And a log of them comes back by rollback.
        log_id = first_log(database, user)
        rolled_back = api.call("POST", f"/api/progress/log/{log_id}/rollback", token, json={"to_version": 1})
        assert rolled_back.status_code == 200, rolled_back.text
        assert rolled_back.json()["log"]["version"] == 3
        listed = api.call("GET", f"/api/progress/{user}", token).json()["progress_logs"]
        assert [entry["log_id"] for entry in listed] == [log_id]
        summary = api.call("GET", f"/api/progress/summary/{user}", token).json()
        assert summary["log_count"] == 1
    finally:
        with builder.cursor() as cursor:  # without a request's limits: 200,000 events
            erasure.erase_user(cursor, user)
        builder.commit()
        builder.close()


def logs_of(database: Database, user: str) -> list[int]:
    def read(cursor):
        cursor.execute("SELECT DISTINCT log_id FROM progress_events WHERE user_id = %s ORDER BY 1", (user,))
        return [row[0] for row in cursor.fetchall()]

    return database.run(read)


def first_log(database: Database, user: str) -> int:
    def read(cursor):
        cursor.execute("SELECT min(log_id) FROM progress_events WHERE user_id = %s", (user,))
        return cursor.fetchone()[0]

    return database.run(read)
