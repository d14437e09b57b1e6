-- The response, stored with the key in the transaction that wrote the log (sent with its COMMIT).
UPDATE idempotency_keys
SET response = %(response)s
WHERE principal = %(principal)s
  AND key = %(key)s
