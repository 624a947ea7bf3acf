-- The console's sign-in (issue 11). Not ledger tables: who is signed in is
-- not a state of any dispute. Tokens and session ids are stored only as their
-- SHA-256 (hex), so a copy of the database signs nobody in.
--
-- A one-time sign-in link (`escalation-ledger console-link`): usable once,
-- for 10 minutes from `created_at`.
CREATE TABLE console_links (
    token_hash TEXT PRIMARY KEY NOT NULL,
    sub TEXT NOT NULL,
    role TEXT NOT NULL,
    agency TEXT,
    partner TEXT,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);

-- A signed-in browser: the cookie holds the id, this row the identity, the
-- form token (CSRF) and the times the idle and absolute timeouts count from.
CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    sub TEXT NOT NULL,
    role TEXT NOT NULL,
    agency TEXT,
    partner TEXT,
    csrf TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
