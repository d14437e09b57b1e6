-- The recompute's chunk of users, set-based: those whose stored summary is behind their stream are folded again from
-- their months (the fold of migration 0016, inlined here) and stored; how many were recomputed, and how many of them
-- stored (none for a stream that moved meanwhile, or a user erased).
WITH stale AS (
    SELECT s.user_id, s.version
    FROM user_streams AS s
    LEFT JOIN progress_summaries AS p USING (user_id)
    WHERE s.user_id = ANY(%(user_ids)s)
      AND p.stream_version IS DISTINCT FROM s.version
),
fresh AS (
    SELECT stale.user_id, stale.version, folded.facts
    FROM stale
    CROSS JOIN LATERAL progress_summary_from_months(stale.user_id, %(at)s) AS folded
)
SELECT count(*) AS recomputed,
       progress_store_summaries(array_agg(fresh.user_id), array_agg(fresh.version), array_agg(fresh.facts), %(at)s)
           AS stored
FROM fresh
