-- A policy and, when it was created with an Idempotency-Key, that key and the request it
-- answered (to replay the answer for a retry, and to refuse the key for another request).
CREATE TABLE policies (
    id              TEXT PRIMARY KEY,
    holder          TEXT NOT NULL,
    email           TEXT,
    phone           TEXT,
    zipcode         TEXT NOT NULL,
    risk_score      DOUBLE PRECISION NOT NULL,
    status          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    cancelled_at    TEXT,
    idempotency_key TEXT UNIQUE,
    request_json    TEXT
);

CREATE INDEX policies_by_holder ON policies (holder, id);
