DROP TABLE deadline_warnings;
