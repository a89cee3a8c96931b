-- Housekeeping: the account logic deletes expired sessions and rate-limit windows a few at
-- a time, which these indexes keep cheap. `itsor migrate` also rewrites e-mail addresses
-- stored in another form than the canonical one (the seed's backend stored them as typed)
-- to that form.
CREATE INDEX IF NOT EXISTS idx_sessions_expires_at ON sessions (expires_at);
CREATE INDEX IF NOT EXISTS idx_rate_limits_window_start ON rate_limits (window_start);
