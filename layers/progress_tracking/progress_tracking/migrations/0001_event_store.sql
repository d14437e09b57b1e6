-- Events are the source of truth; progress_logs is the projection of every live log's current state.
CREATE SEQUENCE progress_log_id_seq AS bigint;

CREATE TABLE progress_events (
    position    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The writing transaction: readers that follow positions read only below the oldest running
    -- transaction (pg_snapshot_xmin), so a late commit can never be skipped.
    tx_id       xid8        NOT NULL DEFAULT pg_current_xact_id(),
    log_id      bigint      NOT NULL,
    user_id     text        NOT NULL,
    version     integer     NOT NULL CHECK (version >= 1),
    event_type  text        NOT NULL CHECK (event_type IN ('logged', 'updated', 'deleted', 'restored')),
    data        jsonb       NOT NULL,
    actor       text        NOT NULL,
    request_id  text,
    occurred_at timestamptz NOT NULL,
    UNIQUE (log_id, version)
);
CREATE INDEX progress_events_user_idx ON progress_events (user_id, position);
CREATE INDEX progress_events_tx_idx ON progress_events (tx_id, position);

CREATE TABLE progress_logs (
    log_id          bigint PRIMARY KEY,
    user_id         text        NOT NULL,
    date            date        NOT NULL,
    weight_kg       double precision,
    workout_done    text,
    calories_burned double precision,
    notes           text,
    version         integer     NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX progress_logs_user_date_idx ON progress_logs (user_id, date, log_id);
