-- The summary recompute's window groups the events after its checkpoint by user, in the order of this index: with the
-- user in the index that read is index-only instead of a heap fetch per event (the events' rows, with their data, are
-- wide). Same name and key, so every reader keeps its plan.
DROP INDEX progress_events_tx_idx;
CREATE INDEX progress_events_tx_idx ON progress_events (tx_id, position) INCLUDE (user_id);
