-- The user's stream row is the per-user lock: every write of a user's data takes it (creating it for a first log) and
-- erasure takes it before it deletes. Its version comes from one sequence for all users, so a version never repeats for
-- a user id, erasure included: a summary stored at an old version can never match a new stream. `last_at` is the time of
-- the stream's latest event: a new event is never earlier, whichever clock is behind.
CREATE SEQUENCE user_stream_version_seq AS bigint;
SELECT setval('user_stream_version_seq',
              greatest((SELECT max(version) FROM user_streams), (SELECT max(stream_version) FROM progress_summaries), 1));
ALTER TABLE user_streams ADD COLUMN last_at timestamptz;
UPDATE user_streams SET last_at = (SELECT max(occurred_at) FROM progress_events WHERE progress_events.user_id = user_streams.user_id);
-- Summaries of users without a stream are left-overs of erasures that raced a summary read.
DELETE FROM progress_summaries WHERE NOT EXISTS (SELECT 1 FROM user_streams WHERE user_streams.user_id = progress_summaries.user_id);
