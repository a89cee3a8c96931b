-- Per-user tasks: the resource the /api surface uses to show ownership enforcement.
-- `seq` is the insertion order, so "newest first" is exact even for tasks created in the
-- same second by different (fresh) component instances; `id` is what clients see.
CREATE TABLE IF NOT EXISTS tasks (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    description TEXT,
    completed   INTEGER NOT NULL DEFAULT 0 CHECK (completed IN (0, 1)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS idx_tasks_user_id ON tasks (user_id, seq);
