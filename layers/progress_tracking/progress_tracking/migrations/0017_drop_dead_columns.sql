-- Columns nothing reads or writes any more, dropped (the contract half of changes whose expand half shipped before;
-- each drop is safe because the release before this one, which runs while a deploy goes on, neither reads the
-- column nor names it in a write):
--
-- progress_summaries.last_position  written by the summaries of 0009 and 0010 to extend a stored summary by the
--                                   events since; no code has read or written it since 0011 folded the months.
-- progress_events.tx_id,            each event's transaction id, which the relay ordered by until 0013 gave events
-- erasure_tombstones.tx_id,         their release_tx; since then nothing reads them, and inserts leave them to their
-- goal_events.tx_id                 default. goal_events_tx_idx, on (tx_id, position), goes with its column: every
--                                   goals write paid for an index no query used.
ALTER TABLE progress_summaries
    DROP COLUMN last_position;
ALTER TABLE progress_events
    DROP COLUMN tx_id;
ALTER TABLE erasure_tombstones
    DROP COLUMN tx_id;
ALTER TABLE goal_events
    DROP COLUMN tx_id;
