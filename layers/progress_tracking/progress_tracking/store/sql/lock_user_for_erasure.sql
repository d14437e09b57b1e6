-- An erasure's first statement: the user's lock, held exclusively (migration 0014). A user with no stream gets one to
-- lock, deleted with the rest: otherwise a first write racing the erasure would take no lock at all.
SELECT created,
       release_tx
FROM progress_lock_user(%(user_id)s, p_erasing => true)
