-- The queue's index holds what is still queued, the only notifications its queries look up. A
-- notification enters it when queued and leaves it when sent or given up on (before, it moved to
-- the `sent` range and stayed there for good), so the index holds the queue, not every
-- notification ever sent, and marking one sent deletes an entry instead of moving it.
DROP INDEX notifications_due;
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'queued';
