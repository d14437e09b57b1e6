-- A follower's checkpoint moves forward, never back (two overlapping runs may save in either order). A place among the
-- users' streams names a user only while their stream exists, and takes its row's key-share lock to know: an erasure
-- (which locks the row to delete it, then takes the user's name out of every checkpoint) either comes after and finds
-- this one, or came before and this one names nobody (its transaction's streams are read again, from the first).
INSERT INTO projector_checkpoints AS c (name, tx_id, position, user_id, updated_at)
VALUES (
    %(name)s,
    %(tx_id)s::text::xid8,
    %(position)s,
    coalesce((SELECT user_id
              FROM user_streams
              WHERE user_id = %(user_id)s
                AND %(user_id)s <> ''
              FOR KEY SHARE), ''),
    %(at)s
)
ON CONFLICT (name) DO UPDATE
SET tx_id = EXCLUDED.tx_id,
    position = EXCLUDED.position,
    user_id = EXCLUDED.user_id,
    updated_at = EXCLUDED.updated_at
WHERE (c.tx_id, c.position, c.user_id) < (EXCLUDED.tx_id, EXCLUDED.position, EXCLUDED.user_id)
