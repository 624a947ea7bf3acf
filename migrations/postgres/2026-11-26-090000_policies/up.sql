-- Ladder policy documents (src/policy.rs). Each version is stored once, with
-- the SHA-256 of its exact text; a version never changes. Every activation is
-- a `policy_activated` ledger entry (facts: version, sha256), mirrored here by
-- its seq. The active policy is the one activated last; new disputes are raised
-- under it. `verify` compares both tables with the ledger.
CREATE TABLE policies (
    version TEXT PRIMARY KEY NOT NULL,
    sha256 TEXT NOT NULL,
    document TEXT NOT NULL
);

CREATE TABLE policy_activations (
    seq BIGINT PRIMARY KEY NOT NULL,
    version TEXT NOT NULL REFERENCES policies (version),
    activated_at TIMESTAMP NOT NULL
);
