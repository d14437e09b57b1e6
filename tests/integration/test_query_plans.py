"""The followers read the event log in the order of `progress_events_tx_idx`, and the moved streams from
`user_streams_changed_tx_idx`: no query sorts the log.

Sequential and bitmap scans are switched off for the EXPLAIN, so that the plan shows whether the index can give the
order at all, whatever the size of the test database's tables.
"""

from __future__ import annotations

from progress_tracking.store import checkpoints
from progress_tracking.store import outbox as store_outbox

PARAMS = {"tx_id": "0", "position": 0, "user_id": "", "limit": 100}
# The query as it was: ORDER BY tx_id bound to the output column `tx_id::text::bigint`, which no index orders by.
OLD_EVENTS_AFTER = (
    "SELECT tx_id::text::bigint, position, user_id FROM progress_events"
    " WHERE (tx_id, position) > (%(tx_id)s::text::xid8, %(position)s)"
    " AND tx_id < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY tx_id, position LIMIT %(limit)s"
)


def plan(database, query: str) -> str:
    def explain(cursor):
        cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; EXPLAIN " + query, PARAMS)
        return "\n".join(row[0] for row in cursor.fetchall())

    return database.run(explain)


def test_the_recompute_reads_the_moved_streams_from_their_index(database):
    found = plan(database, checkpoints.CHANGED_STREAMS)
    # A range of the index from the checkpoint on, in its order: never a sort of the streams.
    assert "using user_streams_changed_tx_idx" in found and "Sort" not in found


def test_the_outbox_relay_merges_the_log_and_the_tombstones_in_index_order(database):
    found = plan(database, store_outbox._AFTER)
    assert "Index Scan using progress_events_tx_idx" in found
    assert "Index Scan using erasure_tombstones_tx_idx" in found
    assert "Merge Append" in found and "Sort Key: (((" not in found


def test_the_old_follower_query_sorts_the_log(database):
    # Positive control: the check above tells an index-ordered read from the old form's sort.
    found = plan(database, OLD_EVENTS_AFTER)
    assert "Scan using progress_events_tx_idx" in found and "Sort Key: (((tx_id)::text)::bigint)" in found
