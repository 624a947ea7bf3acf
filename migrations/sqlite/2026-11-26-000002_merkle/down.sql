DROP TABLE checkpoints;
DROP TABLE merkle_nodes;
