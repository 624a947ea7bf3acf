-- The kinds stay in their new names: the older ones were finer and cannot be
-- recovered from them (the ledger's `registry_seeded` entry still holds them).
ALTER TABLE agencies DROP COLUMN retired_at;
