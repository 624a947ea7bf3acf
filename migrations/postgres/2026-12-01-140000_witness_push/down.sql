DROP TABLE witness_pushes;
ALTER TABLE witnesses DROP COLUMN url;
