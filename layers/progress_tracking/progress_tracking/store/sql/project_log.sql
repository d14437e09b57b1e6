-- The projection of a log's new version: its current state, inserted or replaced. Sent with the COMMIT.
INSERT INTO progress_logs (log_id, user_id, date, weight_kg, workout_done, calories_burned, notes, version,
                           created_at, updated_at, weight_lb, source, device)
VALUES (%(log_id)s, %(user_id)s, %(date)s, %(weight_kg)s, %(workout_done)s, %(calories_burned)s, %(notes)s,
        %(version)s, %(created_at)s, %(updated_at)s, %(weight_lb)s, %(source)s, %(device)s)
ON CONFLICT (log_id) DO UPDATE
SET date = EXCLUDED.date,
    weight_kg = EXCLUDED.weight_kg,
    workout_done = EXCLUDED.workout_done,
    calories_burned = EXCLUDED.calories_burned,
    notes = EXCLUDED.notes,
    weight_lb = EXCLUDED.weight_lb,
    source = EXCLUDED.source,
    device = EXCLUDED.device,
    version = EXCLUDED.version,
    updated_at = EXCLUDED.updated_at
