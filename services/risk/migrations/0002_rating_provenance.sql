-- Every answer says where its rating comes from: the table shipped with the service, or one an
-- operator imported, and which version of it. Rows written before this migration cannot tell;
-- they are marked as the shipped table, with a version that says it was not recorded.
ALTER TABLE zip_ratings ADD COLUMN source TEXT NOT NULL DEFAULT 'table';
ALTER TABLE zip_ratings ADD COLUMN data_version TEXT NOT NULL DEFAULT 'not recorded';
