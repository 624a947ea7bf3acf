DROP TABLE checkpoints;
DROP TABLE merkle_nodes;
DROP FUNCTION append_only;
