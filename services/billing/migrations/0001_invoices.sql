-- Money is integer cents, never a float.
CREATE TABLE invoices (
    id              TEXT PRIMARY KEY,
    policy_id       TEXT NOT NULL,
    base_rate_cents BIGINT NOT NULL,
    risk_score_bp   BIGINT NOT NULL,
    amount_cents    BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    paid_at         TEXT,
    voided_at       TEXT,
    idempotency_key TEXT UNIQUE,
    request_json    TEXT
);

CREATE INDEX invoices_by_policy ON invoices (policy_id);

-- Every payment attempt, approved or declined, under the idempotency key that made it.
CREATE TABLE payments (
    id              TEXT PRIMARY KEY,
    invoice_id      TEXT NOT NULL REFERENCES invoices (id),
    idempotency_key TEXT NOT NULL UNIQUE,
    request_json    TEXT NOT NULL,
    status          TEXT NOT NULL,
    decline_code    TEXT,
    amount_cents    BIGINT NOT NULL,
    card_last4      TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
