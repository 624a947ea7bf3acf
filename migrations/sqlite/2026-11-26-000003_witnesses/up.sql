-- Partner witnesses of the signed checkpoints. Registering one is a ledger
-- entry (`witness_registered`); `key` is its C2SP cosignature/v1 verifier key.
CREATE TABLE witnesses (
    name TEXT PRIMARY KEY NOT NULL,
    key TEXT NOT NULL UNIQUE,
    registered_seq BIGINT NOT NULL REFERENCES ledger_entries(seq)
);
CREATE TRIGGER witnesses_no_update BEFORE UPDATE ON witnesses
BEGIN SELECT RAISE(ABORT, 'witnesses is append-only'); END;
CREATE TRIGGER witnesses_no_delete BEFORE DELETE ON witnesses
BEGIN SELECT RAISE(ABORT, 'witnesses is append-only'); END;

-- Witness cosignatures (tlog-cosignature lines), one per witness and checkpoint.
-- Not ledger entries: each line is its own proof, checked by verify.
CREATE TABLE cosignatures (
    size BIGINT NOT NULL REFERENCES checkpoints(size),
    witness TEXT NOT NULL REFERENCES witnesses(name),
    timestamp BIGINT NOT NULL CHECK (timestamp >= 0),
    line TEXT NOT NULL,
    PRIMARY KEY (size, witness)
);
CREATE TRIGGER cosignatures_no_update BEFORE UPDATE ON cosignatures
BEGIN SELECT RAISE(ABORT, 'cosignatures is append-only'); END;
CREATE TRIGGER cosignatures_no_delete BEFORE DELETE ON cosignatures
BEGIN SELECT RAISE(ABORT, 'cosignatures is append-only'); END;
