-- Refresh tokens (JWT_REFRESH_DAYS > 0): opaque, stored only as their SHA-256
-- (`token_hash`, base64url), one chain per session. Refreshing marks a token used and
-- records its successor, sealed under a key derived from the used token itself (so a
-- concurrent refresh within JWT_REFRESH_REUSE_SECONDS gets the same successor, and the
-- table alone reveals none). A used token presented later revokes the whole session.
-- Rows go with their session.
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id UUID NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    successor  TEXT
);

CREATE INDEX IF NOT EXISTS idx_refresh_tokens_session_id ON refresh_tokens (session_id);
