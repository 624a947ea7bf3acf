DROP TABLE console_oidc_flows;
ALTER TABLE console_links DROP COLUMN next;
