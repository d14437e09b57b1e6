-- The summary projection and its follower's checkpoint, dropped: the next recompute rebuilds it from the first event.
WITH summaries AS (
    DELETE FROM progress_summaries
)
DELETE FROM projector_checkpoints
WHERE name = %(checkpoint)s
