-- The summary recompute follows the users' streams instead of the event log: each stream row records the transaction
-- that last moved its version (a trigger, so that no write can forget it), and an index on (changed_tx, user_id) gives
-- the users changed after a checkpoint — below the same horizon as every follower — at one row per user however many
-- events they wrote. Every row starts as changed by this migration, and the recompute's checkpoint starts over: the
-- first run reads every stream once, in windows, and recomputes only the users whose stored summary is behind. (The
-- index's price: a write's update of its stream row is no longer HOT, one more index entry per write.)
ALTER TABLE user_streams ADD COLUMN changed_tx xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX user_streams_changed_tx_idx ON user_streams (changed_tx, user_id);

CREATE FUNCTION user_streams_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.changed_tx := pg_current_xact_id();
    RETURN NEW;
END
$$;
-- Only when the version moves: the writers' lock-only upserts (SET version = version) leave the row as it was.
CREATE TRIGGER user_streams_moved BEFORE UPDATE OF version ON user_streams
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION user_streams_moved();

-- A follower of the streams resumes after a (transaction, user) pair; followers of the event log leave it empty.
ALTER TABLE projector_checkpoints ADD COLUMN user_id text NOT NULL DEFAULT '';
DELETE FROM projector_checkpoints WHERE name = 'summaries';
