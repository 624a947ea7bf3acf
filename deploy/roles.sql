-- Run once as a superuser, connected to the ledger's database (any name).
-- Safe to run again. Passwords are set separately (ALTER ROLE ... PASSWORD).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_owner') THEN
        CREATE ROLE ledger_owner LOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_app') THEN
        CREATE ROLE ledger_app LOGIN;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO ledger_owner, ledger_app', current_database());
END
$$;
GRANT USAGE, CREATE ON SCHEMA public TO ledger_owner;
GRANT USAGE ON SCHEMA public TO ledger_app;
