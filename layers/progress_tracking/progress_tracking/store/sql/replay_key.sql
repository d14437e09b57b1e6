-- The response stored under a caller's key. A key is committed together with its response, so every key another
-- transaction can see has one.
SELECT request_hash,
       response
FROM idempotency_keys
WHERE principal = %(principal)s
  AND key = %(key)s
  AND response IS NOT NULL
