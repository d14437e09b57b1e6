-- Erasures waiting to be published as UserProgressErased. A row is written in the erasure's own transaction, so it
-- exists exactly when the erasure committed; it takes its position from the event log's sequence and its tx_id like
-- an event, so the relay reads it merged with progress_events in (tx_id, position) order, under the same horizon and
-- checkpoint: after every event of the user that was published, and never before the erasure commits. The relay
-- deletes it once every outbox checkpoint has passed it, so an erased user's id does not stay here.
CREATE TABLE erasure_tombstones (
    position    bigint PRIMARY KEY DEFAULT nextval('progress_events_position_seq'),
    tx_id       xid8        NOT NULL DEFAULT pg_current_xact_id(),
    user_id     text        NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX erasure_tombstones_tx_idx ON erasure_tombstones (tx_id, position);
