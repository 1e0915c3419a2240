-- The purchase journal: one row per purchase (keyed by the client's Idempotency-Key, or a
-- generated one), enough to answer a retry, to resume or undo a purchase its process abandoned,
-- and to deliver a notification that could not be sent at once.
CREATE TABLE purchases (
    purchase_key    TEXT PRIMARY KEY,
    fingerprint     TEXT NOT NULL,
    -- running | confirming | done, or running | compensating | retry | done
    state           TEXT NOT NULL,
    -- Each run after an undone one is a new attempt, with new upstream idempotency keys.
    attempt         BIGINT NOT NULL,
    -- Who runs the purchase holds it until then; past it, the purchase is abandoned.
    lease_until     TEXT NOT NULL,
    -- The create_policy body of this attempt, to replay it when undoing.
    policy_request  TEXT NOT NULL,
    status_code     BIGINT,
    response        TEXT,
    -- A notification still to send, with its retry schedule.
    notify_request  TEXT,
    notify_attempts BIGINT NOT NULL,
    notify_next_at  TEXT,
    request_id      TEXT NOT NULL,
    traceparent     TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE INDEX purchases_by_state ON purchases (state, lease_until);
CREATE INDEX purchases_by_notify ON purchases (notify_next_at);
