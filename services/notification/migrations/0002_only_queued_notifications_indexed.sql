-- The queue's index holds what is still queued, the only notifications its queries look up:
-- a notification enters it when queued and leaves it when sent or given up on, where it moved
-- within it to the `sent` range and stayed there for good. The index then holds the queue, not
-- every notification ever sent, and marking one sent deletes an entry instead of moving it.
DROP INDEX notifications_due;
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'queued';
