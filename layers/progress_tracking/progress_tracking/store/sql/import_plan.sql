-- What an import would find, in one round trip: the client records of the file's (source, id) pairs (a lookup of
-- the primary key each), each with its stored version and whether its log is deleted; which of the log ids an export
-- names are the user's live logs (an export imported back into its own account); and the user's goals.
SELECT (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'source', r.source,
                    'client_record_id', r.client_record_id,
                    'log_id', r.log_id,
                    'client_version', r.client_version,
                    'deleted', NOT EXISTS (SELECT FROM progress_logs AS l WHERE l.log_id = r.log_id)
                )), '[]')
        FROM progress_client_records AS r
        WHERE r.user_id = %(user_id)s
          AND (r.source, r.client_record_id) IN (
              SELECT * FROM unnest(%(sources)s::text[], %(client_record_ids)s::text[])
          )) AS records,
       (SELECT coalesce(array_agg(l.log_id), '{}')
        FROM progress_logs AS l
        WHERE l.log_id = ANY(%(log_ids)s)
          AND l.user_id = %(user_id)s) AS live_log_ids,
       (SELECT jsonb_build_object(
                   'target_weight_kg', g.target_weight_kg,
                   'target_date', g.target_date,
                   'weekly_workouts', g.weekly_workouts,
                   'weekly_calories_burned', g.weekly_calories_burned
               )
        FROM user_goals AS g
        WHERE g.user_id = %(user_id)s
          AND (g.target_weight_kg IS NOT NULL OR g.weekly_workouts IS NOT NULL OR g.weekly_calories_burned IS NOT NULL))
           AS goals
