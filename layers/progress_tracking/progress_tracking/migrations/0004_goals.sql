-- A user's goals are a stream of their own: every change is an event (set, changed, cleared) with the full resulting
-- goals, and user_goals is their projection. Each goal write also bumps the user's user_streams version first, which
-- takes the per-user lock and makes a stored summary (it includes goal progress) stale.
CREATE TABLE goal_events (
    position    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx_id       xid8        NOT NULL DEFAULT pg_current_xact_id(),
    user_id     text        NOT NULL,
    version     integer     NOT NULL CHECK (version >= 1),
    event_type  text        NOT NULL CHECK (event_type IN ('set', 'changed', 'cleared')),
    data        jsonb       NOT NULL,
    actor       text        NOT NULL,
    request_id  text,
    -- Database time, never earlier than the stream's previous event.
    occurred_at timestamptz NOT NULL,
    UNIQUE (user_id, version)
);
CREATE INDEX goal_events_tx_idx ON goal_events (tx_id, position);

-- The current goals of each user who ever had some. A cleared user keeps the row (all targets null) so that the
-- stream's version carries on; "no goals" is exactly "every target is null".
CREATE TABLE user_goals (
    user_id                text PRIMARY KEY,
    target_weight_kg       double precision,
    target_date            date,
    -- When target_weight_kg took its present value: the day the weight goal was set, for its starting weight.
    target_weight_set_at   timestamptz,
    weekly_workouts        integer,
    weekly_calories_burned double precision,
    version                integer     NOT NULL,
    updated_at             timestamptz NOT NULL
);
