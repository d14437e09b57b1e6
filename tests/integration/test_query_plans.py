"""The followers read the event log in the order of `progress_events_release_idx`, and the moved streams from
`user_streams_changed_tx_idx`: no query sorts the log.

Sequential and bitmap scans are switched off for the EXPLAIN, so that the plan shows whether the index can give the
order at all, whatever the size of the test database's tables.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from progress_tracking.store.statements import statement

PARAMS = {"tx_id": "0", "position": 0, "user_id": "", "limit": 100}
# The trap the relay's query avoids: ORDER BY bound to an output column `release_tx::text::bigint`, which no index
# orders by.
OUTPUT_ORDERED_EVENTS_AFTER = (
    "SELECT release_tx::text::bigint AS release_tx, stream_position, user_id FROM progress_events"
    " WHERE (release_tx, stream_position) > (%(tx_id)s::text::xid8, %(position)s)"
    " AND release_tx < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY release_tx, stream_position LIMIT %(limit)s"
)


def plan(database, query: str, params: dict | None = None) -> str:
    def explain(cursor):
        cursor.execute(
            "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; EXPLAIN " + query, params or PARAMS
        )
        return "\n".join(row[0] for row in cursor.fetchall())

    return database.run(explain)


def test_the_recompute_reads_the_moved_streams_from_their_index(database):
    found = plan(database, statement("changed_streams"))
    # A range of the index from the checkpoint on, in its order: never a sort of the streams.
    assert "using user_streams_changed_tx_idx" in found and "Sort" not in found


def test_the_outbox_relay_merges_the_log_and_the_tombstones_in_index_order(database):
    found = plan(database, statement("relay_events_after"))
    assert "Index Scan using progress_events_release_idx" in found
    assert "Index Scan using erasure_tombstones_release_idx" in found
    assert "Merge Append" in found and "Sort Key: (((" not in found


def test_a_follower_query_ordered_by_an_output_column_sorts_the_log(database):
    # Positive control: the check above tells an index-ordered read from a sort.
    found = plan(database, OUTPUT_ORDERED_EVENTS_AFTER)
    assert "Scan using progress_events_release_idx" in found and "Sort Key: (((release_tx)::text)::bigint)" in found


# A page of the list with a keyset and an upper bound and no lower one, written with only the bounds it has.
LIST_PAGE_WITH_ITS_BOUNDS = """
SELECT log_id, user_id, date, weight_kg, workout_done, calories_burned, notes, version, created_at, updated_at,
       weight_lb, source, device
FROM progress_logs
WHERE user_id = %(user_id)s
  AND (date, log_id) > (%(after_date)s, %(after_log_id)s)
  AND date <= %(to)s
ORDER BY date, log_id
LIMIT %(limit)s
"""


def test_a_list_page_without_a_bound_is_planned_as_if_the_bound_were_not_written(database):
    # The page's statement names every bound; the planner folds away those that are NULL (here `from`).
    bounds = {"user_id": "u", "after_date": date(2026, 1, 1), "after_log_id": 5, "from": None, "to": date(2026, 6, 1)}
    found = plan(database, statement("list_page"), {**bounds, "source": None, "limit": 101})
    assert found == plan(database, LIST_PAGE_WITH_ITS_BOUNDS, {**bounds, "limit": 101})
    assert "progress_logs_user_date" in found  # the control: an index range, not a scan of the table


def test_a_list_page_of_one_source_is_a_range_of_that_sources_index(database):
    # Flat in the logs of other sources: a range of (user_id, source, date, log_id), never a filter over the user's
    # whole list. (The page without a source, above, is the control: it reads the other index.)
    bounds = {"user_id": "u", "after_date": date(2026, 1, 1), "after_log_id": 5, "from": None, "to": None}
    found = plan(database, statement("list_page"), {**bounds, "source": "withings", "limit": 101})
    assert "Index Scan using progress_logs_user_source_date_idx" in found and "Sort" not in found


SORTED_RANGE = (
    "SELECT stream_position FROM progress_events WHERE user_id = %(user_id)s ORDER BY stream_position + 0 LIMIT 10"
)


def test_an_export_page_reads_each_section_as_a_range_of_its_index_in_order(database):
    # Each section is a keyset range under its LIMIT: read in the index's order and stopped, never the user's whole
    # history sorted (only the page's own rows are, by section).
    params = {"user_id": "u", "as_of": datetime.now(UTC), "with_summary": False, "first": 1, "last": 3}
    found = plan(
        database, statement("export_page"), {**params, "after_date": date(2026, 1, 1), "after_key": 5, "limit": 10}
    )
    assert "Index Scan using progress_log_versions_user_date_idx" in found
    assert "Index Scan using progress_events_user_stream_idx" in found
    assert "Index Scan using goal_events_user_stream_idx" in found
    assert "Sort Key: v.date" not in found and "Sort Key: e.stream_position" not in found
    # Positive control: a range ordered by what no index holds is sorted, and the check sees it.
    assert "Sort Key: ((stream_position + 0))" in plan(database, SORTED_RANGE, {"user_id": "u"})


def test_the_recompute_folds_its_chunk_of_users_in_one_plan_with_the_fold_inlined(database):
    # The fold and the goal facts are SQL functions (migration 0016): inlined, their tables are in the chunk's plan,
    # read per user in one statement; not called row by row as opaque functions.
    found = plan(database, statement("refresh_stale_summaries"), {"user_ids": ["a", "b"], "at": datetime.now(UTC)})
    assert "Function Scan on progress_" not in found
    assert "progress_log_months" in found and "user_goals" in found  # the control: what the functions read
    # The control: a plpgsql function, which the planner cannot inline, shows as a scan of its own.
    assert "Function Scan on progress_lock_user" in plan(database, "SELECT * FROM progress_lock_user('u')")


def test_a_ranged_summary_reads_the_logs_in_its_own_plan(database):
    params = {"user_id": "u", "from": date(2026, 1, 1), "to": date(2026, 1, 31)}
    found = plan(database, statement("ranged_summary"), params)
    assert "Function Scan on progress_" not in found and "progress_logs_user_date" in found


FUNCTION_SETTINGS = """
SELECT p.proname, coalesce(p.proconfig, '{}') AS settings
FROM pg_proc AS p
WHERE p.proname IN ('progress_log_facts_changed', 'progress_logs_changed')
"""


def test_the_facts_function_is_declared_to_plan_its_statements_once(database):
    # Migration 0023: replanning on every call was about half a write's database CPU (docs/performance.md). The
    # trigger function that calls it keeps the server's default (the control: the declaration is per function).
    def read(cursor):
        cursor.execute(FUNCTION_SETTINGS)
        return dict(cursor.fetchall())

    settings = database.run(read)
    assert settings["progress_log_facts_changed"] == ["plan_cache_mode=force_generic_plan"]
    assert settings["progress_logs_changed"] == []


def test_a_change_feed_page_reads_ranges_of_the_users_streams_merged_in_index_order(database):
    found = plan(database, statement("change_feed_page"), {"user_id": "u", "after": 5, "limit": 101})
    # Each stream a range of its (user_id, stream_position) index, merged without sorting either; each log's first
    # event (its created_at) one lookup of the (log_id, version) key. The page itself (≤ limit rows) may be sorted.
    assert "Index Scan using progress_events_user_stream_idx on progress_events e" in found
    assert "Index Scan using goal_events_user_stream_idx on goal_events g" in found
    assert "Merge Append" in found
    assert "Index Scan using progress_events_log_id_version_key on progress_events born" in found
