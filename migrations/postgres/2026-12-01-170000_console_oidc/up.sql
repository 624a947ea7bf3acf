-- The console's OpenID Connect sign-in and where a link lands (issue 11).
--
-- A sign-in link may name the console page it lands on after sign-in
-- (`console-link --next /console/disputes/...`), bound to the link's row so
-- the URL cannot change it.
ALTER TABLE console_links ADD COLUMN next TEXT;

-- One OpenID Connect sign-in in progress: made by `GET /console/oidc/start`,
-- taken (deleted) by the callback, and swept after 10 minutes. The browser
-- holds the flow id in a short-lived HttpOnly cookie; only its SHA-256 is
-- stored here, beside the state, nonce and PKCE verifier the callback checks.
CREATE TABLE console_oidc_flows (
    id_hash TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next TEXT,
    created_at TIMESTAMP NOT NULL
);
