-- Whether a follower has a checkpoint.
SELECT 1
FROM projector_checkpoints
WHERE name = %(name)s
