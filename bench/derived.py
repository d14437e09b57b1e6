"""Each derived table a write keeps, priced: what it costs a write, and what it saves the read it serves.

    python -m bench derived [--users 1000] [--logs-per-user 100] [--sizes 10,10000,100000]
                            [--seconds 2 | --transactions N] [--rounds 5] [--runs 11] [--clients 2] [--breakdown 200]

Write cost: POST's and PUT's own statements (recorded from the service: bench/endpoints.py) run with pgbench, with
and without a table's maintenance switched off in this scratch database, in alternating rounds; the cost is the
server CPU per write (bench/pgbench.py) the maintenance adds, the median of the differences round by round.
Switched off means: a BEFORE ROW trigger that skips the table's rows (progress_log_versions; the projection), the
projection's triggers disabled (the month and week facts of migration 0011, all four tables at once;
bench/breakdown.py splits them by the statements the trigger runs), or the stream's trigger disabled and its index
on changed_tx dropped. Nothing of the layer changes: only this scratch copy of the schema.

Read saving: the read the table serves, for one user with 10, 10,000 and 100,000 daily logs, with the table (the
service's own statement, recorded through the app, or the layer's SQL mirrored here where it is part of a larger
statement) and without it (the same answer computed the way the code did before the table existed, or does for
another read; each constant below names the code it mirrors). Client-side medians of `--runs` on a warm
connection, planning included, as the service sends them.

Verdict: keep a table whose read is at least twice as slow without it at 10,000 logs; otherwise fold it where the
reason says, or drop it.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

from bench import breakdown, dataset, pgbench
from bench.capacity import log_ids
from bench.endpoints import FLOOR_INSERT, capacity_scripts, create_floor, goals_read, per_user_reads
from bench.recording import AppRecorder
from bench.scripts import Script, statements
from bench.server_cpu import ServerCpu
from localdev.databases import postgres_server, scratch_database

KEEP_RATIO = 2.0
ReadText = Callable[[str], str]  # user id → the read's SQL for that user, as sent
Before = Callable[[str], Callable[[], object]]  # user id → what to do, untimed, before each read

# --- The reads without their derived table -------------------------------------------------------------------------

# Without progress_logs: a page of a user's live logs folded from their events, as store/columns.py STATE_FROM_EVENTS
# folds them (the rebuild's fold), in the list's order.
LIST_FROM_EVENTS = """
WITH scope AS (SELECT * FROM progress_events WHERE user_id = %(user)s),
     latest AS (SELECT DISTINCT ON (log_id) * FROM scope ORDER BY log_id, version DESC),
     born AS (SELECT log_id, min(occurred_at) AS created_at FROM scope GROUP BY log_id)
SELECT log_id, user_id, date, weight_kg, workout_done, calories_burned, notes, version, created_at, updated_at,
       weight_lb, source, device
FROM (SELECT latest.log_id, latest.user_id, (data->>'date')::date AS date, (data->>'weight_kg')::float8 AS weight_kg,
             data->>'workout_done' AS workout_done, (data->>'calories_burned')::float8 AS calories_burned,
             data->>'notes' AS notes, version, born.created_at, occurred_at AS updated_at,
             (data->>'weight_lb')::numeric AS weight_lb, coalesce(data->>'source', 'manual') AS source,
             data->>'device' AS device
      FROM latest JOIN born USING (log_id)
      WHERE event_type <> 'deleted') AS live
ORDER BY date, log_id
LIMIT 101
"""

# Without progress_log_versions: an as_of page folded from the events up to that moment (store/listing.py before
# migration 0006, commit 09e9556^: STATE_FROM_EVENTS with `occurred_at <= as_of`).
AS_OF_FROM_EVENTS = """
WITH scope AS (SELECT * FROM progress_events WHERE user_id = %(user)s AND occurred_at <= %(as_of)s),
     latest AS (SELECT DISTINCT ON (log_id) * FROM scope ORDER BY log_id, version DESC),
     born AS (SELECT log_id, min(occurred_at) AS created_at FROM scope GROUP BY log_id)
SELECT log_id, user_id, date, weight_kg, workout_done, calories_burned, notes, version, created_at, updated_at,
       weight_lb, source, device
FROM (SELECT latest.log_id, latest.user_id, (data->>'date')::date AS date, (data->>'weight_kg')::float8 AS weight_kg,
             data->>'workout_done' AS workout_done, (data->>'calories_burned')::float8 AS calories_burned,
             data->>'notes' AS notes, version, born.created_at, occurred_at AS updated_at,
             (data->>'weight_lb')::numeric AS weight_lb, coalesce(data->>'source', 'manual') AS source,
             data->>'device' AS device
      FROM latest JOIN born USING (log_id)
      WHERE event_type <> 'deleted') AS live
ORDER BY date, log_id
LIMIT 101
"""

# With user_streams.changed_tx: the streams moved after a checkpoint, below the horizon, one row per user
# (store/checkpoints.py CHANGED_STREAMS; the checkpoint names no user).
CHANGED_FROM_STREAMS = """
SELECT h.horizon::text::bigint, s.user_id, s.changed_tx::text::bigint
FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon) AS h
LEFT JOIN LATERAL (
    SELECT s.user_id, s.changed_tx
    FROM user_streams AS s
    WHERE (s.changed_tx, s.user_id) > (%(tx_id)s::text::xid8, '') AND s.changed_tx < h.horizon
    ORDER BY s.changed_tx, s.user_id
    LIMIT 100000
) AS s ON TRUE
"""

# Without it: the users of the events after the checkpoint, each once, read from the event log (store/checkpoints.py
# WINDOW before migration 0008, commit 0200bd2^, whose windows held up to a million events).
CHANGED_FROM_EVENTS = """
WITH users AS (
    SELECT user_id, count(*) AS n
    FROM (SELECT e.user_id FROM progress_events AS e
          WHERE (e.tx_id, e.position) > (%(tx_id)s::text::xid8, 0)
            AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
          ORDER BY e.tx_id, e.position
          LIMIT 1000000) AS w
    GROUP BY user_id
),
size AS (SELECT coalesce(sum(n), 0)::bigint AS events FROM users)
SELECT (SELECT events FROM size),
       CASE WHEN (SELECT events FROM size) = 0 THEN NULL
            WHEN (SELECT events FROM size) < 1000000 THEN (
                SELECT array[e.tx_id::text::bigint, e.position] FROM progress_events AS e
                WHERE (e.tx_id, e.position) > (%(tx_id)s::text::xid8, 0)
                  AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
                ORDER BY e.tx_id DESC, e.position DESC LIMIT 1)
            ELSE (
                SELECT array[e.tx_id::text::bigint, e.position] FROM progress_events AS e
                WHERE (e.tx_id, e.position) > (%(tx_id)s::text::xid8, 0)
                  AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
                ORDER BY e.tx_id, e.position OFFSET 1000000 - 1 LIMIT 1)
       END,
       (SELECT coalesce(array_agg(user_id ORDER BY user_id), '{}') FROM users)
"""

# With progress_workout_counts: the summary's workouts per kind (store/summaries.py _FROM_MONTHS 'workouts').
WORKOUTS_FROM_COUNTS = """
SELECT coalesce(jsonb_object_agg(kind, log_count), '{}')
FROM progress_workout_counts
WHERE user_id = %(user)s
"""

# Without it: the same from the user's logs (store/summaries.py _LOGS_LATERALS: grouped by the text as stored, then
# folded to kinds).
WORKOUTS_FROM_LOGS = """
SELECT coalesce(jsonb_object_agg(kind, n), '{}')
FROM (SELECT progress_workout_kind(workout_done) AS kind, sum(n)::bigint AS n
      FROM (SELECT workout_done, count(*) AS n FROM progress_logs WHERE user_id = %(user)s GROUP BY workout_done) AS g
      WHERE workout_done IS NOT NULL
      GROUP BY 1) AS kinds
"""

# With progress_log_weeks and progress_log_week_runs: a weekly goal's facts, the weeks from last week on and how many
# weeks in a row before them met the target: the run that ends there, read back from its end until a week falls
# short (store/goals.py GOAL_FACTS_LATERAL: `weeks`, `run` and _met_before, for the workouts target).
STREAK_FROM_RUNS = """
WITH since AS (SELECT date_trunc('week', now() AT TIME ZONE 'UTC')::date - 7 AS week)
SELECT (SELECT jsonb_agg(jsonb_build_array(w.week, w.workouts, w.calories) ORDER BY w.week)
        FROM progress_log_weeks AS w
        WHERE w.user_id = %(user)s AND w.week >= since.week) AS weeks,
       CASE WHEN run.run_from IS NULL THEN 0 ELSE coalesce(
           (SELECT (since.week - 7 - w.week) / 7
            FROM progress_log_weeks AS w
            WHERE w.user_id = %(user)s AND w.week <= since.week - 7 AND w.week >= run.run_from
              AND w.workouts < %(target)s
            ORDER BY w.week DESC
            LIMIT 1),
           (since.week - 7 - run.run_from) / 7 + 1) END AS met_before
FROM since
LEFT JOIN LATERAL (SELECT lower(r) AS run_from
                   FROM progress_log_week_runs AS x, unnest(x.weeks) AS r
                   WHERE x.user_id = %(user)s AND r @> since.week - 7) AS run ON TRUE
"""

# Without progress_log_week_runs: the same facts from the weeks alone, read back from last week until one falls short
# or does not follow on (a gap ends a run), or the weeks end: one backward index scan that stops there, as the run's
# does (the first row past the streak, or the user's first week).
STREAK_FROM_WEEKS = """
WITH since AS (SELECT date_trunc('week', now() AT TIME ZONE 'UTC')::date - 7 AS week)
SELECT (SELECT jsonb_agg(jsonb_build_array(w.week, w.workouts, w.calories) ORDER BY w.week)
        FROM progress_log_weeks AS w
        WHERE w.user_id = %(user)s AND w.week >= since.week) AS weeks,
       coalesce(
           (SELECT CASE WHEN back.week <> since.week - 7 * back.n::int OR back.workouts < %(target)s
                        THEN back.n - 1 ELSE back.n END
            FROM (SELECT w.week, w.workouts, row_number() OVER latest_first AS n,
                         lead(w.week) OVER latest_first AS earlier
                  FROM progress_log_weeks AS w
                  WHERE w.user_id = %(user)s AND w.week <= since.week - 7
                  WINDOW latest_first AS (ORDER BY w.week DESC)
                  ORDER BY w.week DESC) AS back
            WHERE back.week <> since.week - 7 * back.n::int OR back.workouts < %(target)s OR back.earlier IS NULL
            ORDER BY back.week DESC
            LIMIT 1),
           0) AS met_before
FROM since
"""

# Without progress_log_weeks (and its runs): every week of the user's logs grouped from the logs, which the streak was
# then found in (store/goals.py GOAL_FACTS_LATERAL before migration 0011, commit 745da2c^).
WEEKS_FROM_LOGS = """
SELECT jsonb_agg(jsonb_build_array(week, workouts, calories) ORDER BY week)
FROM (SELECT date_trunc('week', date::timestamp)::date AS week, count(workout_done) AS workouts,
             coalesce(sum(calories_burned), 0) AS calories
      FROM progress_logs
      WHERE user_id = %(user)s
      GROUP BY 1) AS w
"""

# Without user_goals: a user's goals as their latest goal event holds them (its data is the whole resulting state).
GOALS_FROM_EVENTS = """
SELECT data FROM goal_events WHERE user_id = %(user)s ORDER BY version DESC LIMIT 1
"""

# What makes a user's stored summary stale, untimed before each stale read: a new stream version, as any write makes.
MAKE_STALE = "UPDATE user_streams SET version = nextval('user_stream_version_seq') WHERE user_id = %(user)s"

# --- Switching a table's maintenance off in the scratch copy -------------------------------------------------------

SKIP_ROW_FUNCTION = "CREATE FUNCTION bench_skip_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$"
USER_TRIGGERS = (
    "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal AND tgname <> 'bench_skip'"
)
SECONDARY_INDEXES = (
    "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index AS i"
    " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary"
)


class Switch:
    """A table's maintenance switched off for a block, then on again."""

    def __init__(self, url: str, skip_rows: tuple[str, ...] = (), triggers_of: tuple[str, ...] = (),
                 indexes_of: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.url, self.skip_rows, self.triggers_of, self.indexes_of = url, skip_rows, triggers_of, indexes_of
        self.disabled: list[tuple[str, str]] = []
        self.dropped: list[str] = []

    def _execute(self, work: Callable[[Any], None]) -> None:
        connection = psycopg2.connect(self.url)
        try:
            with connection, connection.cursor() as cursor:
                work(cursor)
        finally:
            connection.close()

    def __enter__(self) -> Switch:
        def off(cursor: Any) -> None:
            for table in self.skip_rows:
                cursor.execute(
                    sql.SQL(
                        "CREATE TRIGGER bench_skip BEFORE INSERT OR UPDATE ON {} FOR EACH ROW"
                        " EXECUTE FUNCTION bench_skip_row()"
                    ).format(sql.Identifier(table))
                )
            for table in self.triggers_of:
                cursor.execute(USER_TRIGGERS, (table,))
                for (trigger,) in cursor.fetchall():
                    cursor.execute(
                        sql.SQL("ALTER TABLE {} DISABLE TRIGGER {}").format(
                            sql.Identifier(table), sql.Identifier(trigger)
                        )
                    )
                    self.disabled.append((table, trigger))
            for table in self.indexes_of:
                cursor.execute(SECONDARY_INDEXES, (table,))
                for name, definition in cursor.fetchall():
                    cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
                    self.dropped.append(definition)

        self._execute(off)
        return self

    def __exit__(self, *exc: object) -> None:
        def on(cursor: Any) -> None:
            for table in self.skip_rows:
                cursor.execute(sql.SQL("DROP TRIGGER bench_skip ON {}").format(sql.Identifier(table)))
            for table, trigger in self.disabled:
                cursor.execute(
                    sql.SQL("ALTER TABLE {} ENABLE TRIGGER {}").format(sql.Identifier(table), sql.Identifier(trigger))
                )
            for definition in self.dropped:
                cursor.execute(definition)  # pg_get_indexdef's own text: the index as it was

        self._execute(on)

    def describe(self) -> str:
        parts = [f"rows of {t} skipped" for t in self.skip_rows]
        parts += [f"trigger {t} on {table} disabled" for table, t in self.disabled]
        parts += [f"dropped: {d}" for d in self.dropped]
        return "; ".join(parts) or "nothing switched off"


@dataclass
class Maintenance:
    """A table's maintenance as a write does it, and how to switch it off; `writes` the scripts it applies to."""

    name: str
    switch: dict[str, tuple[str, ...]]
    writes: tuple[str, ...] = ("POST log", "PUT log")
    done: str = ""


VERSIONS, FACTS, CHANGED_TX, PROJECTION, ALL = (
    "progress_log_versions",
    "the facts (migration 0011's triggers)",
    "user_streams.changed_tx",
    "the projection, its facts aside",
    "all of them (events, projection and the lock alone)",
)
MAINTENANCE = [
    Maintenance(VERSIONS, {"skip_rows": ("progress_log_versions",)}),
    Maintenance(FACTS, {"triggers_of": ("progress_logs",)}),
    Maintenance(CHANGED_TX, {"triggers_of": ("user_streams",), "indexes_of": ("user_streams",)}),
    # A PUT reads the projection back: with its rows skipped, two PUTs of one log would write one version twice.
    Maintenance(PROJECTION, {"skip_rows": ("progress_logs",), "triggers_of": ("progress_logs",)}, ("POST log",)),
    Maintenance(
        ALL,
        {
            "skip_rows": ("progress_log_versions",),
            "triggers_of": ("progress_logs", "user_streams"),
            "indexes_of": ("user_streams",),
        },
    ),
]


@dataclass
class WriteCosts:
    """Each script's pgbench runs per variant ('full', or a maintenance switched off), one per round."""

    samples: dict[str, dict[str, list[pgbench.Run]]] = field(default_factory=dict)

    def runs(self, variant: str, name: str) -> list[pgbench.Run]:
        return self.samples.get(variant, {}).get(name, [])

    def full(self, name: str) -> float:
        return statistics.median(run.server_us or 0.0 for run in self.runs("full", name))

    def added(self, name: str, without: str, base: str = "full") -> tuple[float, float, float] | None:
        """The server µs a maintenance adds to a write: `base` minus `without`, paired round by round (both ran
        within seconds of each other); the median and the range over the rounds."""
        if not self.runs(without, name):
            return None
        deltas = [
            (b.server_us or 0.0) - (w.server_us or 0.0)
            for b, w in zip(self.runs(base, name), self.runs(without, name), strict=True)
        ]
        return statistics.median(deltas), min(deltas), max(deltas)

    def wal_records(self, name: str, without: str, base: str = "full") -> float:
        """WAL records per write the maintenance adds (medians over the rounds): a count, the same on any machine.
        (Buffers are not: a short run's connections read the catalogs on their first statements.)"""

        def each(variant: str) -> float:
            return statistics.median(run.per_transaction(run.counts.wal_records) for run in self.runs(variant, name))

        return each(base) - each(without)


def write_costs(
    url: str, scripts: dict[str, Script], defines: dict[str, object], args: argparse.Namespace
) -> WriteCosts:
    """Each write with everything on and with each maintenance switched off, in alternating rounds."""
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute(SKIP_ROW_FUNCTION)
    connection.close()
    cpu = ServerCpu.of(url)
    if cpu is None:
        raise RuntimeError("the server's processes are not visible here: its CPU per write cannot be measured")
    costs = WriteCosts()
    runs = itertools.count(1)

    texts = {name: script.pgbench() for name, script in scripts.items()} | {"floor": FLOOR_INSERT}

    def measure(variant: str, names: tuple[str, ...]) -> None:
        for name in names:
            # A nonce per run: the Idempotency-Keys of a run are new (k restarts at 0), as a new key's POST is.
            result = pgbench.run(
                url,
                texts[name],
                **({"transactions": args.transactions} if args.transactions else {"seconds": args.seconds}),
                clients=args.clients,
                defines={**defines, "nonce": next(runs)},
                cpu=cpu,
            )
            costs.samples.setdefault(variant, {}).setdefault(name, []).append(result)

    for _ in range(args.rounds):
        measure("full", ("floor", "POST log", "PUT log", "POST log, Idempotency-Key"))
        for maintenance in MAINTENANCE:
            with Switch(url, **maintenance.switch) as switch:
                maintenance.done = switch.describe()
                measure(maintenance.name, maintenance.writes)
    return costs


# --- The reads -----------------------------------------------------------------------------------------------------


def median_ms(runs: int, call: Callable[[], object], before: Callable[[], object] | None = None) -> float:
    call()  # warm: the plan cache of the session, the pages
    samples = []
    for _ in range(runs):
        if before:
            before()
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


EXPLAIN = sql.SQL("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ")


def buffers(cursor: Any, text: str) -> int:
    """The shared buffers a read's statement touches (hit or read; its functions' included), by EXPLAIN's count."""
    cursor.execute(sql.Composed([EXPLAIN, sql.SQL(statements(text)[-1])]))
    plan = cursor.fetchone()[0][0]["Plan"]
    return int(plan.get("Shared Hit Blocks", 0)) + int(plan.get("Shared Read Blocks", 0))


@dataclass
class Read:
    table: str
    serves: str
    with_ms: list[float]
    without_ms: list[float]
    with_buffers: list[int]
    without_buffers: list[int]
    without: str  # how the answer is computed without it
    fold: str = ""  # where it would fold, when it does not pay

    def verdict(self, middle: int) -> str:
        ratio = self.without_ms[middle] / self.with_ms[middle]
        big = self.without_ms[-1] / self.with_ms[-1]
        if ratio >= KEEP_RATIO:
            return f"keep: without it the read is {ratio:.1f}x at the middle size, {big:.1f}x at the largest"
        return f"{self.fold or 'drop'}: without it the read is only {ratio:.2f}x ({big:.2f}x at the largest)"


def _same_summary(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    """A summary folded from the months and one from every log agree (sums aside: floats added in another order)."""
    keys = ("log_count", "first_date", "last_date", "longest_streak", "last_streak", "workouts", "min_weight")
    mine, theirs = a[0][-1], b[0][-1]  # the facts are the last column of each
    return all(mine[key] == theirs[key] for key in keys)


def _same_users(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    return sorted(row[1] for row in a if row[1] is not None) == b[0][2]


def _same_weeks(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    """The weeks from last week on are the last of every week's."""
    recent, every = a[0][0] or [], b[0][0] or []
    return not recent or every[-len(recent) :] == recent


def reads(url: str, recorder: AppRecorder, users: dict[int, str], runs: int) -> list[Read]:
    """Each read with its table and without, for each user; each pair checked to give the same answer first."""
    names = tuple(users.values())
    as_of = datetime.now(UTC)
    recorded = per_user_reads(recorder, (names[0], names[1]), as_of.isoformat())
    connection = psycopg2.connect(url)
    connection.autocommit = True
    cursor = connection.cursor()

    def script(read: Script) -> ReadText:
        return lambda user: read.text({"user_id": user})

    def statement(text: str, **params: object) -> ReadText:
        return lambda user: cursor.mogrify(text, {"user": user, **params}).decode()

    def since_checkpoint(text: str) -> ReadText:
        # The recompute's checkpoint just before the user's own transaction (the data set wrote each user in one).
        def make(user: str) -> str:
            cursor.execute("SELECT min(tx_id)::text::bigint - 1 FROM progress_events WHERE user_id = %s", (user,))
            return statement(text, tx_id=str(cursor.fetchone()[0]))(user)

        return make

    def stale(user: str) -> Callable[[], object]:
        return lambda: cursor.execute(MAKE_STALE, {"user": user})

    def costs(make: ReadText, before: Before | None) -> tuple[list[float], list[int]]:
        timed, touched = [], []
        for user in names:
            text = make(user)
            ahead = before(user) if before else None
            timed.append(median_ms(runs, lambda text=text: cursor.execute(text), ahead))
            if ahead:
                ahead()
            touched.append(buffers(cursor, text))
        return timed, touched

    def measured(
        table: str, serves: str, with_it: ReadText, without_it: ReadText, how: str, *, fold: str = "",
        same: Callable[[Any, Any], bool] = lambda a, b: a == b, before: Before | None = None,
        stored_first: bool = False,
    ) -> Read:  # fmt: skip
        for user in names:
            cursor.execute(with_it(user))
            mine = cursor.fetchall()
            cursor.execute(without_it(user))
            theirs = cursor.fetchall()
            if not same(mine, theirs):
                raise RuntimeError(
                    f"{table}: without it, {serves} answers otherwise for {user}:\n{mine[:2]}\n{theirs[:2]}"
                )
        with_ms, with_buffers = costs(with_it, None if stored_first else before)
        without_ms, without_buffers = costs(without_it, before)
        return Read(table, serves, with_ms, without_ms, with_buffers, without_buffers, how, fold)

    summary = script(recorded["summary"])
    found = [
        measured("progress_logs", "list page (first 100)", script(recorded["list page"]), statement(LIST_FROM_EVENTS),
                 "folded from the events (STATE_FROM_EVENTS)"),
        measured("progress_log_versions", "as_of page (first 100)", script(recorded["as_of page"]),
                 statement(AS_OF_FROM_EVENTS, as_of=as_of), "folded from the events up to as_of (before 0006)"),
        measured("user_streams.changed_tx", "recompute: the users changed since a checkpoint",
                 since_checkpoint(CHANGED_FROM_STREAMS), since_checkpoint(CHANGED_FROM_EVENTS),
                 "the users of the events since (WINDOW before 0008)", same=_same_users),
        # Stored and current, against folded again on every read (made stale, untimed, before each).
        measured("progress_summaries", "summary, stored and current", summary, summary,
                 "folded again on every read (what a stale one costs)", before=stale, stored_first=True,
                 fold="drop (the fold on read is the summary; no recompute to schedule)"),
        measured("progress_log_months (+ workout counts)", "summary, stale (folded)", summary,
                 script(recorded["summary from every log"]), "from every log (the ranged summary's facts)",
                 same=_same_summary, before=stale),
        measured("progress_workout_counts", "the summary's workouts per kind", statement(WORKOUTS_FROM_COUNTS),
                 statement(WORKOUTS_FROM_LOGS), "from the logs (the ranged summary's part)",
                 fold="fold (a jsonb of counts per kind on each month's row, added up by the fold)"),
    ]  # fmt: skip
    # Weekly goals, met every week of the history: the longest streak, the worst case for both.
    for user in names:
        recorder.call("PUT", f"/api/progress/goals/{user}", body={"weekly_workouts": 3, "weekly_calories_burned": 1000})
    found += [
        measured("progress_log_weeks", "weekly goal: this week and the streak", statement(STREAK_FROM_RUNS, target=3),
                 statement(WEEKS_FROM_LOGS), "every week grouped from the logs (before 0011)", same=_same_weeks),
        measured("progress_log_week_runs", "weekly goal: the streak", statement(STREAK_FROM_RUNS, target=3),
                 statement(STREAK_FROM_WEEKS, target=3), "the weeks read back until one falls short or a gap",
                 fold="drop (the weeks' own backward scan finds the run's start)"),
        measured("user_goals", "GET goals", script(goals_read(recorder, (names[0], names[1]))),
                 statement(GOALS_FROM_EVENTS), "the latest goal event",
                 fold="fold (the latest goal event holds the goals; it would carry when the weight target was set)",
                 same=lambda a, b: len(a) == len(b) == 1),
    ]  # fmt: skip
    connection.close()
    return found


def run(args: argparse.Namespace) -> None:
    sizes = [int(size) for size in args.sizes.split(",")]
    users = {size: f"derived-{size}" for size in sizes}
    with (
        tempfile.TemporaryDirectory() as scratch,
        postgres_server(Path(scratch) / "pg") as server,
        scratch_database(server, "progress_derived") as url,
    ):
        # The largest user first: each user's events are a transaction of their own, after the others' (the
        # recompute's checkpoint before a user's transaction then sees that user's events and the smaller users').
        built = dataset.build(url, args.users, args.logs_per_user, {users[s]: s for s in sorted(sizes, reverse=True)})
        print(
            f"\n== Derived tables: what each costs a write and saves a read ({args.users:,} users x "
            f"{args.logs_per_user} logs for the writes; one user each with {', '.join(f'{s:,}' for s in sizes)} "
            f"daily logs; built in {built:.0f} s) =="
        )
        print(dataset.server_settings(url))
        create_floor(url)
        with AppRecorder(url, Path(scratch) / "app") as recorder:
            scripts = capacity_scripts(recorder, url)
            found = reads(url, recorder, users, args.runs)
        dataset.autovacuum_off(url)
        first_log, last_log = log_ids(url)
        defines = {"users": args.users, "first_log": first_log, "last_log": last_log, "k": 0, "nonce": 1}
        costs = write_costs(url, scripts, defines, args)
        facts = {
            name: breakdown.measure(url, scripts[name], args.breakdown, {**defines, "client_id": 0, "nonce": 2})
            for name in ("POST log", "PUT log")
        }
        print_tables(costs, found, facts, sizes, args)


def _cost(costs: WriteCosts, name: str, without: str, base: str = "full") -> str:
    added = costs.added(name, without, base)
    if added is None:
        return f"{name.split()[0]} n/a"
    median, low, high = added
    records = costs.wal_records(name, without, base)
    return (
        f"{name.split()[0]} {median:+.0f} µs ({median / costs.full(name) * 100:.0f} %; {low:+.0f}..{high:+.0f}),"
        f" {records:+.1f} WAL records"
    )


def print_tables(
    costs: WriteCosts,
    found: list[Read],
    facts: dict[str, breakdown.Breakdown],
    sizes: list[int],
    args: argparse.Namespace,
) -> None:
    print(
        f"\nServer CPU per write (pgbench, {args.clients} clients, {args.rounds} rounds of {args.seconds:g} s, the"
        f" median): POST {costs.full('POST log'):.0f} µs, PUT {costs.full('PUT log'):.0f} µs, POST with an"
        f" Idempotency-Key {costs.full('POST log, Idempotency-Key'):.0f} µs. A maintenance's cost is the median"
        " difference with it off, paired round by round (the range over the rounds after it):"
    )
    added: dict[str, str] = {}
    for maintenance in MAINTENANCE:
        base = FACTS if maintenance.name == PROJECTION else "full"
        added[maintenance.name] = " / ".join(
            _cost(costs, name, maintenance.name, base) for name in ("POST log", "PUT log")
        )
        print(f"  {maintenance.name}: {added[maintenance.name]}\n      [off: {maintenance.done}]")
    floor = costs.full("floor")
    bare = costs.full("POST log") - (costs.added("POST log", ALL) or (0.0, 0.0, 0.0))[0]
    as_it_runs = floor / costs.full("POST log") * 100
    print(
        f"  POST with all of them off: {bare:.0f} µs, {floor / bare * 100:.1f} % of the floor per core (the floor,"
        f" one INSERT with one index: {floor:.0f} µs); as the service runs it: {as_it_runs:.1f} %"
    )
    tables = ("progress_log_months", "progress_log_weeks", "progress_log_week_runs", "progress_workout_counts")
    facts_line = " / ".join(
        f"{name.split()[0]} "
        + ", ".join(f"{table.removeprefix('progress_')} {facts[name].writing_ms(table) * 1000:.0f}" for table in tables)
        + " µs"
        for name in ("POST log", "PUT log")
    )
    print(f"  the facts' statements, executor time per write (auto_explain, {args.breakdown} writes): {facts_line}")
    keyed = costs.full("POST log, Idempotency-Key") - costs.full("POST log")
    write = {
        "progress_logs": added[PROJECTION] + " (its row and indexes; PUT reads it back, so not switched off)",
        "progress_log_versions": added[VERSIONS],
        "user_streams.changed_tx": added[CHANGED_TX],
        "progress_summaries": "none: written by reads and the scheduled recompute",
        "progress_log_months (+ workout counts)": f"the four facts tables together: {added[FACTS]}",
        "progress_workout_counts": "part of the facts (the executor times above)",
        "progress_log_weeks": "part of the facts",
        "progress_log_week_runs": "part of the facts",
        "user_goals": "goal writes only",
    }
    middle = min(1, len(sizes) - 1)
    sizes_text = " / ".join(f"{s:,}" for s in sizes)
    print(
        f"\n| derived table | what it adds to a write (server CPU; counts) | read it serves |"
        f" with it, at {sizes_text} logs | without it | verdict |"
    )
    print("|---|---|---|---|---|---|")
    for read in found:
        with_text = (
            f"{' / '.join(f'{ms:.2f}' for ms in read.with_ms)} ms; {' / '.join(map(str, read.with_buffers))} buffers"
        )
        without_text = (
            f"{' / '.join(f'{ms:.2f}' for ms in read.without_ms)} ms;"
            f" {' / '.join(map(str, read.without_buffers))} buffers ({read.without})"
        )
        print(
            f"| {read.table} | {write.get(read.table, '')} | {read.serves} | {with_text} | {without_text} |"
            f" {read.verdict(middle)} |"
        )
    keyed_records = statistics.median(
        run.per_transaction(run.counts.wal_records) for run in costs.runs("full", "POST log, Idempotency-Key")
    ) - statistics.median(run.per_transaction(run.counts.wal_records) for run in costs.runs("full", "POST log"))
    print(
        f"| idempotency_keys | keyed POST {keyed:+.0f} µs ({keyed / costs.full('POST log') * 100:.0f} %),"
        f" {keyed_records:+.1f} WAL records |"
        " a retry's replay | — | — | keep: not derived, the Idempotency-Key contract (a retry is answered once) |"
    )
    print(
        "| erasure_tombstones | none on log writes (an erasure writes one row) | the relay's UserProgressErased |"
        " — | — | keep: not derived, the outbox that orders an erasure after the user's events |"
    )
    print(
        "| progress_events, goal_events | the source of truth | history, rollback, rebuild, the relay | — | — |"
        " keep: not derived |"
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench derived", description=__doc__)
    parser.add_argument("--users", type=int, default=1000, help="users of the data set the writes run on")
    parser.add_argument("--logs-per-user", type=int, default=100)
    parser.add_argument("--sizes", default="10,10000,100000", help="logs of the users the reads are measured on")
    parser.add_argument("--seconds", type=float, default=2, help="each pgbench run's length")
    parser.add_argument("--transactions", type=int, help="each run this many transactions per client instead")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of the write variants")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--runs", type=int, default=11, help="timed runs of each read (median)")
    parser.add_argument("--breakdown", type=int, default=200, help="writes run with auto_explain for the facts' split")
    run(parser.parse_args(argv))
