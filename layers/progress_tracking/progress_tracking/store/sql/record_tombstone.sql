-- The tombstone of an erasure, written in its transaction under the user's lock (held FOR UPDATE), after every event
-- of the user: its stream position is the user's next, and its release_tx the one the lock gave (migration 0014), so
-- it is published after every event of the user, and a stream the same id starts later goes on from it.
INSERT INTO erasure_tombstones (user_id, stream_position, release_tx)
VALUES (%(user_id)s, nextval('user_stream_version_seq'), %(release_tx)s::xid8)
