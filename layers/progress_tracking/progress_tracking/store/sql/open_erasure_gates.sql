-- A relay batch takes the gates of its events' users, shared, until it commits: an erasure of one of them (which
-- takes its gate exclusively) either committed before (its events are gone: the next statement finds out) or waits
-- for the batch to be published.
SELECT pg_advisory_xact_lock_shared(%(gate_class)s, hashtext(user_id))
FROM unnest(%(user_ids)s::text[]) AS u(user_id)
