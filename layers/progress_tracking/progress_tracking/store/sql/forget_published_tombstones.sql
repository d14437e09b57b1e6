-- Tombstones every relay has passed are deleted: an erased user's id stays only until every relay has published the
-- erasure. The outbox checkpoints are (release_tx, stream_position) pairs.
DELETE FROM erasure_tombstones
WHERE (release_tx, stream_position) <= (
    SELECT tx_id, position
    FROM projector_checkpoints
    WHERE name LIKE %(name_pattern)s
    ORDER BY tx_id, position
    LIMIT 1
)
