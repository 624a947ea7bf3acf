DROP TABLE recommendations;
DROP TABLE reviews;
DROP TABLE mediation_sessions;
DROP TABLE mediation_agencies;
DROP TABLE mediations;
