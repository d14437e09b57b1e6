-- A deleted log leaves the projection (its deletion event keeps its last state). Sent with the COMMIT.
DELETE FROM progress_logs
WHERE log_id = %(log_id)s
