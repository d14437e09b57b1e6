-- The logs whose projection is not what the events give: missing (live in the events, not in the projection),
-- unexpected (in the projection, not live in the events) or different (in both, with other values).
SELECT coalesce(rebuilt.log_id, live.log_id),
       CASE WHEN live.log_id IS NULL THEN 'missing'
            WHEN rebuilt.log_id IS NULL THEN 'unexpected'
            ELSE 'different' END
FROM progress_logs_from_events() AS rebuilt
FULL JOIN progress_logs AS live USING (log_id)
WHERE live.log_id IS NULL
   OR rebuilt.log_id IS NULL
   OR rebuilt IS DISTINCT FROM live
ORDER BY 1
