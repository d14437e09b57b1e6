"""The capacity and derived-table benches run end to end at a tiny size (seconds), so that they cannot rot: the
service's requests recorded through the app, turned into pgbench scripts, run; the reads with and without each
derived table checked to give the same answers before they are timed. No time is asserted: only that it all ran."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.skipif(not shutil.which("pgbench"), reason="pgbench ships with Postgres; not installed")


def bench(postgres_server_url: str, *arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bench", *arguments],
        cwd=ROOT,
        env={**os.environ, "TEST_DATABASE_URL": postgres_server_url},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_the_capacity_bench_runs_every_endpoints_recorded_statements_beside_the_floor(postgres_server_url, tmp_path):
    output = bench(
        postgres_server_url,
        *("capacity", "--users", "20", "--logs-per-user", "10", "--transactions", "5", "--breakdown", "3"),
        *("--scripts", str(tmp_path)),
    )
    rows = dict(re.findall(r"^(floor: .+?|POST log|PUT log|GET [a-z ,]+?) {2,}(\d+) ", output, re.M))
    assert rows == {
        "floor: one INSERT, one index (median)": "1",
        "POST log": "2",
        "PUT log": "2",
        "GET list page": "1",
        "GET series": "1",
        "GET summary, stale": "1",
        "GET summary, current": "1",
    }
    assert "POST at " in output and "in a trigger:" in output and "with generic plans" in output
    post = (tmp_path / "POST_log.sql").read_text()
    assert "\\gset r1_" in post and "'scale-user-:user_n'" in post and post.count("\\;") >= 3


def test_the_derived_bench_prices_each_derived_table(postgres_server_url):
    output = bench(
        postgres_server_url,
        *("derived", "--users", "20", "--logs-per-user", "10", "--sizes", "10,100,300", "--transactions", "5"),
        *("--rounds", "1", "--runs", "1", "--breakdown", "3"),
    )
    tables = re.findall(r"^\| ([a-z_.,() +]+?) \|", output, re.M)
    assert tables[1:] == [
        "progress_logs",
        "progress_log_versions",
        "user_streams.changed_tx",
        "progress_summaries",
        "progress_log_months (+ workout counts)",
        "progress_workout_counts",
        "progress_log_weeks",
        "progress_log_week_runs",
        "user_goals",
        "idempotency_keys",
        "erasure_tombstones",
        "progress_events, goal_events",
    ]


def test_a_pgbench_run_reaches_the_server_with_its_settings_and_counts_what_it_wrote(direct_database_url):
    from bench import pgbench

    # Divides by zero unless the connection runs with generic plans: the run fails without the setting.
    script = "SELECT 1 / (current_setting('plan_cache_mode') = 'force_generic_plan')::int;\n"
    with pytest.raises(RuntimeError, match="division by zero"):
        pgbench.run(direct_database_url, script, clients=1, transactions=1)
    generic = pgbench.run(
        direct_database_url, script, clients=1, transactions=3, options="-c plan_cache_mode=force_generic_plan"
    )
    assert generic.transactions == 3

    written = pgbench.run(
        direct_database_url,
        "INSERT INTO projector_checkpoints (name, tx_id, position, updated_at)"
        " VALUES ('bench-' || random(), '0', 0, now());\n",
        clients=2,
        transactions=5,
    )
    assert written.counts.rows == {"projector_checkpoints": (10, 0, 0)}
    assert written.counts.wal_records >= 10


def test_the_batch_bench_prints_a_batch_beside_single_posts_with_their_round_trips(postgres_server_url):
    output = bench(postgres_server_url, "batch", "--rounds", "1", "--size", "5")
    rows = dict(
        re.findall(r"^(POST logs/batch, 5 logs, [a-z ]+?|5 single POSTs in a row) +[\d.]+ ms +(\d+) ", output, re.M)
    )
    assert rows == {
        "POST logs/batch, 5 logs, new": "2",
        "POST logs/batch, 5 logs, unchanged": "2",
        "POST logs/batch, 5 logs, higher version": "2",
        "5 single POSTs in a row": "10",
    }
