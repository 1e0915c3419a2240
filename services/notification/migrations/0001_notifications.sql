-- The queue is this table: a notification is `queued` until delivered (`sent`) or given up
-- on (`failed`); `next_attempt_at` is when a worker may next try it (also a lease while it
-- tries), so a restart loses nothing and resumes where it stopped.
CREATE TABLE notifications (
    id              TEXT PRIMARY KEY,
    channel         TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT,
    body            TEXT NOT NULL,
    policy_id       TEXT,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    last_error      TEXT,
    next_attempt_at TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    idempotency_key TEXT UNIQUE,
    request_json    TEXT
);

CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
