-- Per-user tasks: the resource the /api surface uses to show ownership enforcement.
-- `seq` is the insertion order, so "newest first" is exact even for tasks created in the
-- same second on different hosts; `id` is what clients see.
CREATE TABLE IF NOT EXISTS tasks (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          UUID NOT NULL UNIQUE,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    description TEXT,
    completed   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE INDEX IF NOT EXISTS idx_tasks_user_id ON tasks (user_id, seq);
