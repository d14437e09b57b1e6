-- Where a follower has got to (no row: it never ran).
SELECT tx_id::text::bigint,
       position,
       user_id
FROM projector_checkpoints
WHERE name = %(name)s
