-- Fixed-window rate-limit counters, shared by every host on the database and kept across
-- restarts. `bucket` names what is limited (e.g. `login-failures:account:<email>`);
-- `window_start` is in Unix seconds.
CREATE TABLE IF NOT EXISTS rate_limits (
    bucket       TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL
);
