-- JWT ids already accepted, shared by every replica using this database so a
-- token replayed to another replica is refused. token is a SHA-256 of iss|jti,
-- never the token itself; a row is useless (and purged) after valid_until.

CREATE TABLE seen_tokens (
    token       TEXT    PRIMARY KEY,
    valid_until BIGINT  NOT NULL
);
CREATE INDEX seen_tokens_by_end ON seen_tokens (valid_until);
