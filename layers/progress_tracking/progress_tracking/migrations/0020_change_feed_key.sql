-- The key that signs the change feed's tokens (HMAC-SHA256, change_tokens.py). It lives in the database every API
-- function already reads, so no secret has to be provisioned, and the feed's one statement reads it with the page.
-- 244 random bits: two version-4 UUIDs (gen_random_uuid draws from pg_strong_random). Replacing the row rotates it:
-- every token issued before is then refused (400), and its client starts the feed over.
CREATE TABLE change_feed_key (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    key      bytea   NOT NULL
);
INSERT INTO change_feed_key (key)
VALUES (decode(translate(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
