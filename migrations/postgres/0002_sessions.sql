-- Server-side sessions: every access token names one by its `sid` claim, so logout can
-- revoke a token before it expires. Times are UTC `timestamp`s (Spin's outbound PostgreSQL
-- cannot read `timestamptz`).
CREATE TABLE IF NOT EXISTS sessions (
    id          UUID PRIMARY KEY,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP,
    user_agent  TEXT,
    client_addr TEXT
);

CREATE INDEX IF NOT EXISTS idx_sessions_user_id ON sessions (user_id);
