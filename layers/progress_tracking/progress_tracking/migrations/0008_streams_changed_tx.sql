-- The summary recompute follows the users' streams instead of the event log: each stream row records the transaction
-- that last moved its version, and an index on it gives the users changed after a checkpoint (below the same horizon
-- as every follower) at one row per user, however many events they wrote. Every row starts as changed by this
-- migration, and the recompute's checkpoint starts over: the first run reads every stream once and recomputes only
-- the users whose stored summary is behind. (The index's price: a write's update of its stream row is no longer HOT,
-- one more index entry per write.)
ALTER TABLE user_streams ADD COLUMN changed_tx xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX user_streams_changed_tx_idx ON user_streams (changed_tx);
DELETE FROM projector_checkpoints WHERE name = 'summaries';
