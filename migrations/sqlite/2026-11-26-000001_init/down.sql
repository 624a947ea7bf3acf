DROP TABLE bench_inserts;
DROP TABLE proposal_acceptances;
DROP TABLE proposals;
DROP TABLE dispute_parties;
DROP TABLE disputes;
DROP TABLE ledger_payloads;
DROP TABLE ledger_entries;
DROP TABLE agencies;
