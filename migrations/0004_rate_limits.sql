-- Fixed-window rate-limit counters, shared by every host on the database and kept across
-- restarts. `bucket` names what is limited (e.g. `login-failures:account:<email>`).
CREATE TABLE IF NOT EXISTS rate_limits (
    bucket       TEXT PRIMARY KEY NOT NULL,
    window_start INTEGER NOT NULL,
    hits         INTEGER NOT NULL
);
