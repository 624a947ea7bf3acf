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
-- Which witness was last pushed which size: one row per witness, updated in place.
GRANT INSERT, UPDATE ON witness_pushes TO ledger_app;
REVOKE DELETE, TRUNCATE ON witness_pushes FROM ledger_app;
-- Console sign-in: links are taken once, sessions touched, OIDC flows taken once;
-- all three are deleted when used up or expired (sign-out, the sweep at sign-in).
GRANT INSERT, UPDATE, DELETE ON console_links, console_sessions TO ledger_app;
GRANT INSERT, DELETE ON console_oidc_flows TO ledger_app;
REVOKE TRUNCATE ON console_links, console_sessions, console_oidc_flows FROM ledger_app;
-- Who gets email: a projection of ledgered changes, updated in place (and emptied on erasure).
GRANT INSERT, UPDATE ON email_recipients TO ledger_app;
REVOKE DELETE, TRUNCATE ON email_recipients FROM ledger_app;
