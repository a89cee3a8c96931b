-- Accounts, as the seed's FastAPI backend creates them (its quickstart, step 2.3), but
-- with UTC defaults (itsor always writes both times itself): a database where that
-- `CREATE TABLE users` already ran is adopted as it is, rows and all.
-- E-mails are stored in their canonical form (`0005_housekeeping` rewrites older rows);
-- `password_hash` holds Argon2id PHC strings, or the seed's bcrypt hashes until their
-- first login rehashes them.
CREATE TABLE IF NOT EXISTS users (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email         VARCHAR(255) NOT NULL UNIQUE,
    password_hash VARCHAR(255) NOT NULL,
    name          VARCHAR(100),
    created_at    TIMESTAMP NOT NULL DEFAULT (NOW() AT TIME ZONE 'UTC'),
    updated_at    TIMESTAMP NOT NULL DEFAULT (NOW() AT TIME ZONE 'UTC')
);

-- Older copies of the seed's table may lack the optional columns.
ALTER TABLE users ADD COLUMN IF NOT EXISTS name VARCHAR(100);
ALTER TABLE users ADD COLUMN IF NOT EXISTS created_at TIMESTAMP NOT NULL DEFAULT (NOW() AT TIME ZONE 'UTC');
ALTER TABLE users ADD COLUMN IF NOT EXISTS updated_at TIMESTAMP NOT NULL DEFAULT (NOW() AT TIME ZONE 'UTC');

CREATE INDEX IF NOT EXISTS idx_users_email ON users (email);
CREATE INDEX IF NOT EXISTS idx_users_created_at ON users (created_at);
