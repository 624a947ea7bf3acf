DROP TABLE policy_activations;
DROP TABLE policies;
