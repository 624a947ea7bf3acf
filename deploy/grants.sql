-- Run as ledger_owner after `escalation-ledger migrate`.
-- The application may read everything and append to the ledger, but never
-- change or remove an entry, nor truncate the table.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO ledger_app;
GRANT INSERT ON ledger_entries, ledger_payloads TO ledger_app;
REVOKE UPDATE, DELETE, TRUNCATE ON ledger_entries FROM ledger_app;
-- Payloads may be erased (set to NULL) for redaction, never deleted.
GRANT UPDATE (payload) ON ledger_payloads TO ledger_app;
REVOKE DELETE, TRUNCATE ON ledger_payloads FROM ledger_app;
-- The projection tables are rewritten as disputes move.
GRANT INSERT, UPDATE ON agencies, disputes, dispute_parties, proposals, proposal_acceptances TO ledger_app;
-- Missed deadlines and deadline warnings: one row per dispute and rung, never changed.
GRANT INSERT ON deadline_misses, deadline_warnings TO ledger_app;
REVOKE UPDATE, DELETE, TRUNCATE ON deadline_misses, deadline_warnings FROM ledger_app;
-- Redactions: a row on request, approved_seq set on approval; never deleted.
GRANT INSERT, UPDATE ON redactions TO ledger_app;
REVOKE DELETE, TRUNCATE ON redactions FROM ledger_app;
GRANT INSERT, DELETE ON bench_inserts TO ledger_app;
-- The Merkle tree, checkpoints, witnesses and cosignatures are append-only.
GRANT INSERT ON merkle_nodes, checkpoints, witnesses, cosignatures TO ledger_app;
REVOKE UPDATE, DELETE, TRUNCATE ON merkle_nodes, checkpoints, witnesses, cosignatures FROM ledger_app;
-- The scrutineer's records: mediations, reviews and recommendations change
-- status as they move; their agencies and sessions are only ever added.
GRANT INSERT, UPDATE ON mediations, reviews, recommendations TO ledger_app;
GRANT INSERT ON mediation_agencies, mediation_sessions TO ledger_app;
REVOKE DELETE, TRUNCATE ON mediations, reviews, recommendations, mediation_agencies, mediation_sessions FROM ledger_app;
-- Webhooks are deactivated, never deleted; the outbox's delivery state is updated.
GRANT INSERT, UPDATE ON webhooks, outbox TO ledger_app;
REVOKE DELETE, TRUNCATE ON webhooks, outbox FROM ledger_app;
-- Whistleblowers' identities: written once, read only through the scrutineer's route.
GRANT INSERT ON whistleblower_identities TO ledger_app;
REVOKE UPDATE, DELETE, TRUNCATE ON whistleblower_identities FROM ledger_app;
-- Ladder policy documents and their activations: append-only.
GRANT INSERT ON policies, policy_activations TO ledger_app;
REVOKE UPDATE, DELETE, TRUNCATE ON policies, policy_activations FROM ledger_app;
