-- A stored summary remembers the user's latest event when it was computed, so that a stale one can be brought up to
-- date from the events since (when they only logged new logs) instead of from every log. Summaries stored before
-- have none and are computed in full the next time.
ALTER TABLE progress_summaries ADD COLUMN last_position bigint;
