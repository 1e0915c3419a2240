-- Purchases belong to the client that made them: the journal is keyed by (client, key), so the
-- same Idempotency-Key from two clients is two purchases. The order has its own column (the
-- fingerprint is now a versioned hash of it), and `upstream_key` is the stem of every upstream
-- idempotency key of the purchase, derived once from client and key and stored, so the
-- derivation can change without stranding a purchase in flight.
CREATE TABLE purchase_journal (
    client          TEXT NOT NULL,
    purchase_key    TEXT NOT NULL,
    upstream_key    TEXT,
    fingerprint     TEXT NOT NULL,
    order_json      TEXT NOT NULL,
    -- running | confirming | done, or running | compensating | retry | done
    state           TEXT NOT NULL,
    attempt         BIGINT NOT NULL,
    lease_until     TEXT NOT NULL,
    policy_request  TEXT NOT NULL,
    status_code     BIGINT,
    response        TEXT,
    notify_request  TEXT,
    notify_attempts BIGINT NOT NULL,
    notify_next_at  TEXT,
    request_id      TEXT NOT NULL,
    traceparent     TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    -- What the purchase sold, once it did: the client's own, which it may read and pay.
    policy_id       TEXT,
    invoice_id      TEXT,
    PRIMARY KEY (client, purchase_key)
);

-- Rows from before clients were told apart belong to no client (no client authenticates as
-- ''), so only the follow-up worker still finishes them. Their upstream keys were the purchase
-- key itself, or its SHA-256 when over 200 characters (NULL here: computed as before).
INSERT INTO purchase_journal
SELECT '', purchase_key,
       CASE WHEN LENGTH(purchase_key) <= 200 THEN purchase_key END,
       'v0:' || fingerprint, fingerprint, state, attempt, lease_until, policy_request,
       status_code, response, notify_request, notify_attempts, notify_next_at, request_id,
       traceparent, created_at, updated_at, NULL, NULL
FROM purchases;

DROP TABLE purchases;

CREATE INDEX purchase_journal_by_state ON purchase_journal (state, lease_until);
CREATE INDEX purchase_journal_by_notify ON purchase_journal (notify_next_at);
CREATE INDEX purchase_journal_by_policy ON purchase_journal (policy_id);
CREATE INDEX purchase_journal_by_invoice ON purchase_journal (invoice_id);
