-- The history of one or more CDS services: cards issued, feedback received,
-- snoozes in force. Portable SQL: SQLite and PostgreSQL run it as is.
-- Times are Unix milliseconds (UTC). No column holds a patient identifier,
-- a name or clinical text: patient and fingerprint are keyed HMACs.

CREATE TABLE cards (
    uuid              TEXT    NOT NULL,
    service           TEXT    NOT NULL,
    topic             TEXT    NOT NULL,
    knowledge_version TEXT    NOT NULL,
    fingerprint       TEXT    NOT NULL,
    patient           TEXT    NOT NULL,
    issued_at         BIGINT  NOT NULL
);
CREATE INDEX cards_by_uuid ON cards (uuid, issued_at);
CREATE INDEX cards_by_time ON cards (issued_at);

CREATE TABLE outcomes (
    card                 TEXT    NOT NULL,
    service              TEXT    NOT NULL,
    topic                TEXT    NOT NULL,
    knowledge_version    TEXT    NOT NULL,
    outcome              TEXT    NOT NULL,
    reason_system        TEXT    NOT NULL,
    reason_code          TEXT    NOT NULL,
    accepted_suggestions INTEGER NOT NULL,
    outcome_at           BIGINT  NOT NULL,
    received_at          BIGINT  NOT NULL
);
CREATE INDEX outcomes_by_time ON outcomes (received_at);

CREATE TABLE snoozes (
    id                TEXT    PRIMARY KEY,
    card              TEXT    NOT NULL,
    service           TEXT    NOT NULL,
    topic             TEXT    NOT NULL,
    knowledge_version TEXT    NOT NULL,
    reason            TEXT    NOT NULL,
    snoozed_from      BIGINT  NOT NULL,
    snoozed_until     BIGINT  NOT NULL
);
CREATE INDEX snoozes_by_end ON snoozes (snoozed_until);
