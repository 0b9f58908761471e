-- Issue 11: what a digest posts is keyed on a monotonic change sequence instead of arrival times,
-- plus the columns the rest of that issue needs (gone articles, the published key, the parser
-- version per file, a subscription's own age limit).

-- The sequence value of the last write that could change the article's eligibility (first seen
-- from a file, published, quality, topics, title, date, restored); NULL: only ever a stub.
ALTER TABLE articles ADD COLUMN change_seq INTEGER;
-- 1: its file was deleted or says `removed: true`; out of lists, search and digests.
ALTER TABLE articles ADD COLUMN gone INTEGER NOT NULL DEFAULT 0;
-- 0: the file had no `published` key (so the preview can say why it is not published).
ALTER TABLE articles ADD COLUMN published_field INTEGER NOT NULL DEFAULT 1;
-- The parser version that read the file: an older one makes the next ingest read it again.
ALTER TABLE files ADD COLUMN parser_version INTEGER NOT NULL DEFAULT 0;
-- The sequence value the last run selected up to: articles changed after it are new.
ALTER TABLE subscriptions ADD COLUMN seq_cursor INTEGER NOT NULL DEFAULT 0;
-- Days a story stays young enough to post; NULL: [digest] max_age_days; 0: no limit.
ALTER TABLE subscriptions ADD COLUMN max_age_days INTEGER;
-- The sequence value the run selected up to (its subscription's cursor after it).
ALTER TABLE digest_runs ADD COLUMN selected_seq INTEGER;

-- One row per write transaction that took a sequence value, with its moment: the counter is
-- max(seq), and a new subscription starts from the values taken in the last backfill_hours.
CREATE TABLE change_marks (
    seq INTEGER PRIMARY KEY,
    at  REAL    NOT NULL
);
CREATE INDEX change_marks_at ON change_marks (at);

-- Existing databases: one value per ingest batch (its arrival time), in arrival order.
INSERT INTO change_marks (seq, at)
    SELECT row_number() OVER (ORDER BY arrived_at), arrived_at
    FROM (SELECT DISTINCT arrived_at FROM articles WHERE from_file = 1 AND arrived_at IS NOT NULL);
UPDATE articles SET change_seq = (SELECT m.seq FROM change_marks m WHERE m.at = articles.arrived_at)
    WHERE from_file = 1 AND arrived_at IS NOT NULL;
-- A run used to select what arrived after its cursor less a 60-second slack; starting each
-- subscription at the batches before that keeps the next run's due set exactly what it was
-- (the ledger and pending runs still keep out what was posted or is being posted).
UPDATE subscriptions SET seq_cursor =
    COALESCE((SELECT max(m.seq) FROM change_marks m WHERE m.at <= subscriptions.cursor - 60), 0);
UPDATE digest_runs SET selected_seq =
    COALESCE((SELECT max(m.seq) FROM change_marks m WHERE m.at <= digest_runs.selected_at), 0);
ALTER TABLE subscriptions DROP COLUMN cursor;

DROP INDEX articles_arrived;
CREATE INDEX articles_change_seq ON articles (change_seq) WHERE change_seq IS NOT NULL;
