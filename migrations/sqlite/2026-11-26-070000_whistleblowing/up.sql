-- Whistleblowing (seed 5.2): a concern raised under a keyed pseudonym. The
-- disputes projection marks it (from the `raised` entry's facts); the real
-- identity behind a pseudonym lives only here, readable only by the scrutineer
-- (GET /v1/admin/whistleblowing/{pseudonym}). Not part of the ledger: the
-- ledger holds only the pseudonym. Written in the `raised` entry's transaction.
ALTER TABLE disputes ADD COLUMN whistleblowing BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE whistleblower_identities (
    pseudonym TEXT PRIMARY KEY NOT NULL,
    sub TEXT NOT NULL,
    agency TEXT,
    created_at TIMESTAMP NOT NULL
);
