DROP TABLE whistleblower_identities;
ALTER TABLE disputes DROP COLUMN whistleblowing;
