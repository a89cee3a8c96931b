-- Housekeeping: the account logic deletes expired sessions and rate-limit windows a few at
-- a time (see `Store::sweep`), which these indexes keep cheap. `itsor migrate` also
-- rewrites e-mail addresses stored before the canonical form (IDNA domain, NFC local part)
-- to that form; under Spin, run `itsor migrate` once against the database file for that.
CREATE INDEX IF NOT EXISTS idx_sessions_expires_at ON sessions (expires_at);
CREATE INDEX IF NOT EXISTS idx_rate_limits_window_start ON rate_limits (window_start);
