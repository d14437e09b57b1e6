-- Which of these events still exist (read once the batch holds its users' gates).
SELECT position
FROM progress_events
WHERE position = ANY(%(positions)s)
