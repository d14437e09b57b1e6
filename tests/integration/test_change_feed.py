"""The change feed (GET /api/progress/changes/{user_id}): every committed change of a user exactly once, in stream
order, a late commit included; its token tamper-evident and bound to the user; an erasure since answers 410."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any
from urllib.parse import quote

import psycopg2
import pytest

from progress_tracking import changes, goals, logs
from progress_tracking.errors import InvalidChangeToken, ProgressError, ResyncRequired
from progress_tracking.models.change import Change, ChangesQuery
from progress_tracking.models.goal import GoalsPut
from progress_tracking.models.log import ListQuery, LogCreate, LogUpdate
from progress_tracking.store import appending
from progress_tracking.user_service import UserServiceClient
from tests.helpers import MACHINE, assert_error, blocked_by, log, wait_until


def fresh_user(user_profile) -> str:
    user = f"feed-{uuid.uuid4().hex[:10]}"
    user_profile.known.add(user)
    return user


def entry(user: str, day: int = 1, weight: float = 70.0) -> LogCreate:
    return LogCreate.model_validate({"user_id": user, "date": date(2026, 1, day), "weight_kg": weight})


def page(database, user: str, since: str | None = None, limit: int = 100):
    return changes.changes(database, MACHINE, user, ChangesQuery(since=since, limit=limit))


def follow(database, user: str, since: str | None = None, limit: int = 100) -> tuple[list[Change], str]:
    """Every change after `since`, page by page, and the token to ask again with."""
    seen: list[Change] = []
    while True:
        answer = page(database, user, since, limit)
        seen += answer.changes
        since = answer.next_token
        if not answer.more:
            return seen, since


def events_in_table(database, user: str) -> list[tuple[int, str, int | None, int]]:
    """The user's events as the tables hold them: (stream position, type, log id, version), in stream order."""

    def read(cursor):
        cursor.execute(
            "SELECT stream_position, event_type, log_id, version FROM progress_events WHERE user_id = %(u)s"
            " UNION ALL SELECT stream_position, event_type, NULL, version FROM goal_events WHERE user_id = %(u)s"
            " ORDER BY 1",
            {"u": user},
        )
        return [tuple(row) for row in cursor.fetchall()]

    return database.run(read)


def as_table_rows(seen: list[Change]) -> list[tuple[int, str, int | None, int]]:
    types = {kind: event_type for (_, event_type), kind in changes.KINDS.items()}
    return [
        (
            change.stream_position,
            types[change.kind],
            change.log_id,
            change.goals.version if change.goals else change.log.version if change.kind != "log_deleted" else -1,
        )
        for change in seen
    ]


def same_as_table(seen: list[Change], table: list[tuple[int, str, int | None, int]]) -> None:
    """The changes are the table's events one for one (a deletion's tombstone carries no version)."""
    assert len(seen) == len(table)
    for got, expected in zip(as_table_rows(seen), table, strict=True):
        assert got[:3] == expected[:3]
        assert got[3] in (expected[3], -1)


# --- what the feed says ---------------------------------------------------------------------------------------------


def test_every_kind_of_change_is_in_the_feed_in_stream_order_with_its_state(database, user_profile):
    users = UserServiceClient(user_profile.base_url)
    user = fresh_user(user_profile)
    created = logs.log_progress(database, users, MACHINE, entry(user), None).log
    updated = logs.update_log(database, MACHINE, created.log_id, LogUpdate(notes="felt strong"), None)
    logs.delete_log(database, MACHINE, created.log_id, None)
    restored = logs.rollback(database, MACHINE, created.log_id, 2, None)
    set_to = goals.set_goals(database, users, MACHINE, user, GoalsPut(target_weight_kg=65.0, weekly_workouts=3), None)
    changed = goals.set_goals(database, users, MACHINE, user, GoalsPut(weekly_workouts=4), None)
    goals.clear_goals(database, MACHINE, user, None)

    seen, _ = follow(database, user)

    assert [c.kind for c in seen] == [
        "log_created",
        "log_updated",
        "log_deleted",
        "log_restored",
        "goals_set",
        "goals_changed",
        "goals_cleared",
    ]
    same_as_table(seen, events_in_table(database, user))
    # A log's state is the log as the API answered it then; a deletion is a tombstone; goals are the goals' state.
    assert seen[0].log == created
    assert seen[1].log == updated
    assert seen[2].log.model_dump() == {"log_id": created.log_id, "deleted": True}
    assert seen[3].log == restored
    listed = logs.list_progress(database, MACHINE, user, ListQuery()).progress_logs
    assert listed == [seen[3].log]
    for change, goals_then in ((seen[4], set_to), (seen[5], changed)):
        assert change.goals.model_dump() == goals_then.model_dump(exclude={"target_weight_set_at"})
        assert change.log is None and change.log_id is None
    assert seen[6].goals.model_dump(exclude={"version", "updated_at", "user_id"}) == dict.fromkeys(
        ("target_weight_kg", "target_date", "weekly_workouts", "weekly_calories_burned")
    )


def test_pages_end_at_the_limit_and_next_token_resumes_with_nothing_repeated_or_skipped(database, user_profile):
    users = UserServiceClient(user_profile.base_url)
    user = fresh_user(user_profile)
    for day in range(1, 8):
        logs.log_progress(database, users, MACHINE, entry(user, day), None)

    first = page(database, user, limit=3)
    second = page(database, user, first.next_token, limit=3)
    third = page(database, user, second.next_token, limit=3)

    assert [len(p.changes) for p in (first, second, third)] == [3, 3, 1]
    assert [p.more for p in (first, second, third)] == [True, True, False]
    same_as_table(first.changes + second.changes + third.changes, events_in_table(database, user))


def test_a_caught_up_client_gets_no_changes_and_a_token_that_finds_the_next_one(database, user_profile):
    users = UserServiceClient(user_profile.base_url)
    user = fresh_user(user_profile)
    nothing_yet = page(database, user)  # the user has no stream at all
    assert nothing_yet.changes == [] and not nothing_yet.more
    logs.log_progress(database, users, MACHINE, entry(user), None)
    seen, token = follow(database, user, nothing_yet.next_token)
    assert [c.kind for c in seen] == ["log_created"]
    assert page(database, user, token).changes == []  # caught up
    logs.log_progress(database, users, MACHINE, entry(user, 2), None)
    assert [c.kind for c in page(database, user, token).changes] == ["log_created"]


# --- the late commit -------------------------------------------------------------------------------------------------


def test_a_change_whose_transaction_commits_late_is_read_once_after_it_commits(database, database_url, user_profile):
    users = UserServiceClient(user_profile.base_url)
    user = fresh_user(user_profile)
    log_id = logs.log_progress(database, users, MACHINE, entry(user), None).log.log_id
    _, token = follow(database, user)
    # Given: a writer has appended its event (its stream position is taken) and has not committed.
    late = psycopg2.connect(database_url)
    try:
        cursor = late.cursor()
        locked = appending.lock_log(cursor, log_id)
        appending.update(cursor, locked, {"notes": "late"}, appending.Change(actor="late", request_id=None))
        cursor.execute("SELECT pg_backend_pid()")
        holder_pid = cursor.fetchone()[0]
        # And a second writer of the user waits for the first one's lock.
        second = threading.Thread(
            target=lambda: logs.update_log(database, MACHINE, log_id, LogUpdate(notes="after"), None)
        )
        second.start()
        assert wait_until(lambda: blocked_by(database_url, holder_pid))
        # And another user's write commits meanwhile, with a position above the open one's (one sequence serves all).
        logs.log_progress(database, users, MACHINE, entry(fresh_user(user_profile)), None)
        # When: the client reads while the first is open, it gets nothing new (the control: it reads at all).
        before = page(database, user, token)
        assert before.changes == []
        # Then: once it commits, both changes arrive, in their order, each once, from the token read meanwhile.
        late.commit()
        second.join()
    finally:
        late.close()
    after, _ = follow(database, user, before.next_token)
    assert [(c.kind, c.log.notes) for c in after] == [("log_updated", "late"), ("log_updated", "after")]
    everything, _ = follow(database, user)
    same_as_table(everything, events_in_table(database, user))


# --- the token -------------------------------------------------------------------------------------------------------


def changes_path(user: str) -> str:
    return f"/api/progress/changes/{quote(user, safe='')}"


def tampered(token: str) -> list[str]:
    body, _, signature = token.partition(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    return [
        f"{body}.{flipped}",  # another signature
        f"{body[:-1]}{'A' if body[-1] != 'A' else 'B'}.{signature}",  # another place
        body,  # no signature
        "not a token",
        f"{token}x",
    ]


def test_a_tampered_token_or_another_users_token_is_refused_with_a_clear_code(api, tokens, user_profile):
    alice, bob = fresh_user(user_profile), fresh_user(user_profile)
    log(api, tokens.user(alice), alice)
    log(api, tokens.user(bob), bob)
    alices = api.call("GET", changes_path(alice), tokens.user(alice)).json()["next_token"]
    bobs = api.call("GET", changes_path(bob), tokens.user(bob)).json()["next_token"]
    # The positive control: each one's own token is accepted.
    assert api.call("GET", changes_path(alice), tokens.user(alice), params={"since": alices}).status_code == 200
    assert api.call("GET", changes_path(bob), tokens.client(), params={"since": bobs}).status_code == 200
    # Bob's token on Alice's feed (a client that may read both), and every tampering: 400.
    refused = api.call("GET", changes_path(alice), tokens.client(), params={"since": bobs})
    body = assert_error(refused, 400, "invalid_change_token")
    assert "since" in body["message"]
    for token in tampered(alices):
        assert_error(
            api.call("GET", changes_path(alice), tokens.user(alice), params={"since": token}),
            400,
            "invalid_change_token",
        )


def test_the_feed_has_the_scopes_and_ownership_of_the_other_reads(api, tokens, user_profile):
    alice, bob = fresh_user(user_profile), fresh_user(user_profile)
    log(api, tokens.user(alice), alice)
    assert api.call("GET", changes_path(alice), tokens.user(alice, scope="read:progress")).status_code == 200
    assert_error(api.call("GET", changes_path(alice), tokens.user(bob)), 403, "forbidden")
    assert_error(
        api.call("GET", changes_path(alice), tokens.user(alice, scope="write:progress")), 403, "insufficient_scope"
    )
    assert api.call("GET", changes_path(alice)).status_code == 401
    assert_error(api.call("GET", changes_path(alice), tokens.client(), params={"limit": "0"}), 400, "validation_error")


def test_after_an_erasure_a_token_issued_before_answers_410_and_the_resync_follows_the_new_stream(
    api, tokens, database, user_profile
):
    user = fresh_user(user_profile)
    token = tokens.user(user)
    log(api, token, user)
    before = api.call("GET", changes_path(user), token).json()["next_token"]
    assert api.call("GET", changes_path(user), token, params={"since": before}).status_code == 200  # the control
    logs.erase_user(database, MACHINE, user)
    log(api, token, user, date="2026-01-06")  # the same id writes again: a new stream

    gone = assert_error(api.call("GET", changes_path(user), token, params={"since": before}), 410, "resync_required")
    assert "resync" in gone["message"]
    # The resync: from the beginning, only what was written after the erasure.
    resynced = api.call("GET", changes_path(user), token).json()
    assert [(c["kind"], c["log"]["date"]) for c in resynced["changes"]] == [("log_created", "2026-01-06")]
    assert api.call("GET", changes_path(user), token, params={"since": resynced["next_token"]}).status_code == 200
    # Erased and nothing written since: the old token still answers 410.
    logs.erase_user(database, MACHINE, user)
    assert_error(
        api.call("GET", changes_path(user), token, params={"since": resynced["next_token"]}), 410, "resync_required"
    )


def test_a_token_issued_before_the_user_had_a_stream_follows_the_stream_begun_after_an_erasure(database, user_profile):
    users = UserServiceClient(user_profile.base_url)
    user = fresh_user(user_profile)
    empty = page(database, user).next_token  # its client holds nothing: no erasure can take anything from it
    logs.log_progress(database, users, MACHINE, entry(user), None)
    logs.erase_user(database, MACHINE, user)
    logs.log_progress(database, users, MACHINE, entry(user, 2), None)
    seen, _ = follow(database, user, empty)
    same_as_table(seen, events_in_table(database, user))
    assert [c.log.date for c in seen] == [date(2026, 1, 2)]


def test_the_token_is_bound_to_the_user_in_the_layer_too(database, user_profile):
    users = UserServiceClient(user_profile.base_url)
    alice, bob = fresh_user(user_profile), fresh_user(user_profile)
    for user in (alice, bob):
        logs.log_progress(database, users, MACHINE, entry(user), None)
    alices = page(database, alice).next_token
    assert page(database, alice, alices).changes == []  # the control
    with pytest.raises(InvalidChangeToken):
        page(database, bob, alices)


# --- the big one: 8 writers and an erasure while a client follows ----------------------------------------------------

ROUNDS = 20
WRITES_EACH = 6


class Writes:
    """How many writes have been attempted, for the erasure to land at a different point in each round."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def attempt(self, work: Callable[[], object]) -> None:
        with contextlib.suppress(ProgressError):  # a log the erasure took, a rollback that cannot be: nothing written
            work()
        with self._lock:
            self.count += 1


class Follower:
    """A client syncing all along: follows next_token, and on 410 drops what it holds and starts over."""

    def __init__(self, database, user: str) -> None:
        self.database, self.user = database, user
        self.token: str | None = None
        self.held: list[Change] = []  # what it holds since its last start
        self.segments: list[list[Change]] = []  # what it held before each 410
        self.resyncs = 0

    def read_once(self) -> bool:
        """One page; whether more follow now."""
        try:
            answer = page(self.database, self.user, self.token, limit=5)
        except ResyncRequired:
            self.segments.append(self.held)
            self.held, self.token, self.resyncs = [], None, self.resyncs + 1
            return True
        self.held += answer.changes
        self.token = answer.next_token
        return answer.more

    def catch_up(self) -> None:
        while self.read_once():
            pass


def assert_a_consistent_history(held: list[Change]) -> None:
    """In stream order, nothing twice, and every log's versions and the goals' one after another from 1 (a change
    skipped would leave a gap): what a client that started from the beginning of a stream must hold."""
    positions = [c.stream_position for c in held]
    assert positions == sorted(set(positions))
    versions: dict[int, int] = {}
    goals_versions = [c.goals.version for c in held if c.goals is not None]
    assert goals_versions == list(range(1, len(goals_versions) + 1))
    for change in held:
        if change.log_id is None:
            continue
        version = change.log.version if change.kind != "log_deleted" else versions[change.log_id] + 1
        assert version == versions.get(change.log_id, 0) + 1, (change, versions)
        versions[change.log_id] = version


def test_a_client_following_the_feed_while_8_writers_and_an_erasure_run_sees_every_change_once_in_order(
    database, user_profile
):
    users = UserServiceClient(user_profile.base_url)
    resyncs = 0
    for round_number in range(ROUNDS):
        user = fresh_user(user_profile)
        writes = Writes()
        attempt = writes.attempt
        first = logs.log_progress(database, users, MACHINE, entry(user), None).log.log_id
        follower = Follower(database, user)
        done = threading.Event()

        def update(n: int, log_id: int = first) -> None:
            for k in range(WRITES_EACH):
                attempt(lambda k=k: logs.update_log(database, MACHINE, log_id, LogUpdate(notes=f"{n}.{k}"), None))

        def post(user: str = user) -> None:
            for day in range(2, 2 + WRITES_EACH):
                attempt(lambda day=day: logs.log_progress(database, users, MACHINE, entry(user, day), None))

        def delete_and_restore(log_id: int = first) -> None:
            for _ in range(WRITES_EACH // 2):
                attempt(lambda: logs.delete_log(database, MACHINE, log_id, None))
                attempt(lambda: logs.rollback(database, MACHINE, log_id, 1, None))

        def roll_back(log_id: int = first) -> None:
            for _ in range(WRITES_EACH):
                attempt(lambda: logs.rollback(database, MACHINE, log_id, 1, None))

        def set_goals(user: str = user) -> None:
            for n in range(WRITES_EACH):
                attempt(
                    lambda n=n: goals.set_goals(database, users, MACHINE, user, GoalsPut(weekly_workouts=n + 1), None)
                )

        def erase(user: str = user, after: int = 4 + 6 * (round_number % 6)) -> None:
            assert wait_until(lambda: writes.count >= after)  # some writes first: 4 to 34 of the 48
            logs.erase_user(database, MACHINE, user)

        writers: list[Callable[[], None]] = [
            lambda: update(0),
            lambda: update(1),
            lambda: update(2),
            post,
            post,
            delete_and_restore,
            roll_back,
            set_goals,
        ]
        work: list[Callable[[], Any]] = [*writers, erase]
        start = threading.Barrier(len(work) + 1)

        def run(job: Callable[[], Any], start: threading.Barrier = start) -> None:
            start.wait()
            job()

        def follow_all_along(follower: Follower = follower, start: threading.Barrier = start) -> None:
            start.wait()
            while not done.is_set():
                follower.read_once()

        following = threading.Thread(target=follow_all_along)
        following.start()
        try:
            with ThreadPoolExecutor(len(work)) as pool:
                list(pool.map(run, work))
        finally:
            done.set()
            following.join()
        # Then: caught up, the client holds exactly the user's committed events, in order, each once.
        follower.catch_up()
        same_as_table(follower.held, events_in_table(database, user))
        for segment in [*follower.segments, follower.held]:
            assert_a_consistent_history(segment)
        resyncs += follower.resyncs
        logs.erase_user(database, MACHINE, user)
    assert resyncs > 0, "no round had the client meet the erasure: the 410 path went untested"
