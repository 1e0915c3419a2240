-- Only purchases the follow-up worker may have to undo (running or compensating) are indexed by
-- state, the only states its queries look up there. A purchase enters the index when claimed and
-- leaves it when it ends (before, it moved within it at each step and stayed in it for good), so
-- the index holds the purchases in flight, not every purchase ever made. The worker's queries
-- name the same `state IN (...)` term, so they still read it.
DROP INDEX purchase_journal_by_state;
CREATE INDEX purchase_journal_by_state ON purchase_journal (state, lease_until)
    WHERE state IN ('running', 'compensating');
