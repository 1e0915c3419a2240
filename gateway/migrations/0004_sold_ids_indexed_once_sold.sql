-- A purchase's policy and invoice are indexed once sold, not while NULL: a new journal row
-- then touches two indexes fewer, and a finished one moves no entry out of the NULL range.
-- `policy_id = $1` implies `policy_id IS NOT NULL`, so the ownership check still reads these.
DROP INDEX purchase_journal_by_policy;
CREATE INDEX purchase_journal_by_policy ON purchase_journal (policy_id)
    WHERE policy_id IS NOT NULL;
DROP INDEX purchase_journal_by_invoice;
CREATE INDEX purchase_journal_by_invoice ON purchase_journal (invoice_id)
    WHERE invoice_id IS NOT NULL;
