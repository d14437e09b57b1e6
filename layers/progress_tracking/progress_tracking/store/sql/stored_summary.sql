-- A user's stored summary and the stream version it reflects (no row: none stored).
SELECT stream_version,
       facts
FROM progress_summaries
WHERE user_id = %(user_id)s
