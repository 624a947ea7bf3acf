DROP TABLE cosignatures;
DROP TABLE witnesses;
