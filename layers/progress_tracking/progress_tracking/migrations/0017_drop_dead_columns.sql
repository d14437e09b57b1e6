-- Columns nothing reads or writes any more, dropped (the contract half of changes whose expand half shipped before;
-- each drop is safe because the release before this one, which runs while a deploy goes on, neither reads the
-- column nor names it in a write):
--
-- progress_summaries.last_position  written by the summaries of 0009 and 0010 to extend a stored summary by the
--                                   events since; no code has read or written it since 0011 folded the months.
-- erasure_tombstones.tx_id,         the transaction id the relay ordered tombstones and goal events by until 0013
-- goal_events.tx_id                 gave them their stream positions (and the tombstones their release_tx); since
--                                   then nothing reads them, and inserts leave them to their default.
--                                   goal_events_tx_idx, on (tx_id, position), goes with its column: every goals
--                                   write paid for an index no query used.
--
-- progress_events.tx_id stays for now: the service no longer reads it, but `python -m bench derived` does, to time
-- the recompute as it followed the event log before migration 0008.
ALTER TABLE progress_summaries
    DROP COLUMN last_position;
ALTER TABLE erasure_tombstones
    DROP COLUMN tx_id;
ALTER TABLE goal_events
    DROP COLUMN tx_id;
