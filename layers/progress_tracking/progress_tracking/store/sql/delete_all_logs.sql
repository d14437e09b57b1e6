-- A delete-all's first statement: the function of migrations 0013 and 0014 takes the user's lock, then deletes every
-- live log with a deletion event each and moves the stream, set-based (its delete, after the lock, sees every write
-- that committed while the lock was awaited). Nothing when the user has no stream.
SELECT deleted_logs,
       deleted_at
FROM progress_delete_all_logs(%(user_id)s, %(actor)s, %(request_id)s)
