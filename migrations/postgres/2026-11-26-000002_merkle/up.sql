-- RFC 9162 Merkle tree over the ledger: every complete ("perfect") subtree's
-- hash, so any root or proof needs O(log n) reads. Level 0 holds entry hashes.
CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL CHECK (level >= 0),
    idx BIGINT NOT NULL CHECK (idx >= 0),
    hash BYTEA NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (level, idx)
);
CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE OR DELETE ON merkle_nodes
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER merkle_nodes_no_truncate BEFORE TRUNCATE ON merkle_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- Checkpoints the log has signed (C2SP tlog-checkpoint in a signed note).
CREATE TABLE checkpoints (
    size BIGINT PRIMARY KEY NOT NULL CHECK (size >= 0),
    root BYTEA NOT NULL CHECK (octet_length(root) = 32),
    note TEXT NOT NULL,
    signed_at TIMESTAMP NOT NULL
);
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
