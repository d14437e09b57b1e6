-- The log projection, the logs' states in time and the facts the summaries fold, replaced by what the events give
-- (migration 0015); the number of live logs.
SELECT progress_replace_projections()
