-- Run once as a superuser in the ledger database. Passwords are set separately.
CREATE ROLE ledger_owner LOGIN;
CREATE ROLE ledger_app LOGIN;
GRANT CONNECT ON DATABASE ledger TO ledger_owner, ledger_app;
GRANT USAGE, CREATE ON SCHEMA public TO ledger_owner;
GRANT USAGE ON SCHEMA public TO ledger_app;
