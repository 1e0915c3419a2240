-- Finished purchases are pruned from the journal after a retention period (their idempotency
-- keys are honoured until then). What a pruned purchase sold moves here first, so a client
-- keeps what it bought; recent sales stay on their journal row, which records them in the same
-- statement as the purchase's answer.
CREATE TABLE ownership (
    policy_id   TEXT PRIMARY KEY,
    invoice_id  TEXT NOT NULL,
    client      TEXT NOT NULL,
    sold_at     TEXT NOT NULL
);

CREATE INDEX ownership_by_invoice ON ownership (invoice_id);

-- The follow-up worker's queries and the pruning each read one index range, whatever the
-- journal's size: pending confirmations only, and finished purchases by age.
DROP INDEX purchase_journal_by_notify;
CREATE INDEX purchase_journal_by_notify ON purchase_journal (notify_next_at)
    WHERE notify_request IS NOT NULL;
CREATE INDEX purchase_journal_by_age ON purchase_journal (state, updated_at)
    WHERE state IN ('done', 'retry');
