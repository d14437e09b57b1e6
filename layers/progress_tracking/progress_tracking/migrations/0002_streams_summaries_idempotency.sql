-- Per-user stream version, bumped in every append: a stored summary is current exactly when it was computed at the
-- user's present version (positions alone cannot say so: a late commit can carry a lower position).
CREATE TABLE user_streams (
    user_id text PRIMARY KEY,
    version bigint NOT NULL
);
INSERT INTO user_streams (user_id, version) SELECT user_id, count(*) FROM progress_events GROUP BY user_id;

-- Summary projection: the facts a summary is derived from (the day-dependent parts are derived at read time).
CREATE TABLE progress_summaries (
    user_id        text PRIMARY KEY,
    stream_version bigint      NOT NULL,
    facts          jsonb       NOT NULL,
    computed_at    timestamptz NOT NULL
);

-- Where each projector that follows the event log has got to: the (transaction id, position) of the last event read.
CREATE TABLE projector_checkpoints (
    name       text PRIMARY KEY,
    tx_id      xid8        NOT NULL,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Idempotency keys of POST, per caller, written in the transaction of the event they produced.
CREATE TABLE idempotency_keys (
    principal    text        NOT NULL,
    key          text        NOT NULL,
    user_id      text        NOT NULL,
    request_hash text        NOT NULL,
    response     jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_user_idx ON idempotency_keys (user_id);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
