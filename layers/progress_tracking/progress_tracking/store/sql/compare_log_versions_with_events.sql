-- The logs whose states in time are not what the events give, one way or the other.
SELECT DISTINCT log_id
FROM (
    (SELECT * FROM progress_log_versions_from_events()
     EXCEPT
     SELECT * FROM progress_log_versions)
    UNION ALL
    (SELECT * FROM progress_log_versions
     EXCEPT
     SELECT * FROM progress_log_versions_from_events())
) AS differing
ORDER BY 1
