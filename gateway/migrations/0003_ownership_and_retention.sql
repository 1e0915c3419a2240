-- What each client bought moves out of the journal into a table of its own, so that pruning
-- old purchases from the journal (their idempotency keys are kept for a retention period)
-- never takes away what a client owns.
CREATE TABLE ownership (
    policy_id   TEXT PRIMARY KEY,
    invoice_id  TEXT NOT NULL,
    client      TEXT NOT NULL,
    sold_at     TEXT NOT NULL
);

INSERT INTO ownership (policy_id, invoice_id, client, sold_at)
SELECT policy_id, invoice_id, client, updated_at FROM purchase_journal
WHERE policy_id IS NOT NULL AND invoice_id IS NOT NULL;

CREATE INDEX ownership_by_invoice ON ownership (invoice_id);

DROP INDEX purchase_journal_by_policy;
DROP INDEX purchase_journal_by_invoice;
ALTER TABLE purchase_journal DROP COLUMN policy_id;
ALTER TABLE purchase_journal DROP COLUMN invoice_id;

-- The follow-up worker's queries and the pruning each read one index range, whatever the
-- journal's size: pending confirmations only, and finished purchases by age.
DROP INDEX purchase_journal_by_notify;
CREATE INDEX purchase_journal_by_notify ON purchase_journal (notify_next_at)
    WHERE notify_request IS NOT NULL;
CREATE INDEX purchase_journal_by_age ON purchase_journal (state, updated_at)
    WHERE state IN ('done', 'retry');
