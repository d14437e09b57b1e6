"""The followers read the event log in the order of `progress_events_release_idx`, and the moved streams from
`user_streams_changed_tx_idx`: no query sorts the log.

Sequential and bitmap scans are switched off for the EXPLAIN, so that the plan shows whether the index can give the
order at all, whatever the size of the test database's tables.
"""

from __future__ import annotations

from progress_tracking.store import checkpoints
from progress_tracking.store import outbox as store_outbox

PARAMS = {"tx_id": "0", "position": 0, "user_id": "", "limit": 100}
# The trap the relay's query avoids: ORDER BY bound to an output column `release_tx::text::bigint`, which no index
# orders by.
OUTPUT_ORDERED_EVENTS_AFTER = (
    "SELECT release_tx::text::bigint AS release_tx, stream_position, user_id FROM progress_events"
    " WHERE (release_tx, stream_position) > (%(tx_id)s::text::xid8, %(position)s)"
    " AND release_tx < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY release_tx, stream_position LIMIT %(limit)s"
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
    found = plan(database, store_outbox.AFTER)
    assert "Index Scan using progress_events_release_idx" in found
    assert "Index Scan using erasure_tombstones_release_idx" in found
    assert "Merge Append" in found and "Sort Key: (((" not in found


def test_a_follower_query_ordered_by_an_output_column_sorts_the_log(database):
    # Positive control: the check above tells an index-ordered read from a sort.
    found = plan(database, OUTPUT_ORDERED_EVENTS_AFTER)
    assert "Scan using progress_events_release_idx" in found and "Sort Key: (((release_tx)::text)::bigint)" in found
