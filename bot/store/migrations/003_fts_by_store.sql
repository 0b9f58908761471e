-- The store maintains articles_fts itself, in bulk at the end of each write batch: a trigger
-- that writes an FTS5 table flushes FTS5's pending terms on every row (~10x slower ingest).
DROP TRIGGER articles_fts_insert;
DROP TRIGGER articles_fts_delete;
DROP TRIGGER articles_fts_update;
