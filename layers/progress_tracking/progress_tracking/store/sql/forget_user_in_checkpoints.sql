-- An erased user's name leaves the checkpoints that stopped at their stream: the place moves back to the start of
-- that transaction's streams, which the follower reads again (each user recomputed at most once more).
UPDATE projector_checkpoints
SET user_id = ''
WHERE user_id = %(user_id)s
