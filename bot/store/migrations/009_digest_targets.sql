-- Issue 14: digests in announcement and forum channels.

-- 1: publish each digest message to the channel's followers (announcement channels only).
ALTER TABLE subscriptions ADD COLUMN publish INTEGER NOT NULL DEFAULT 1;
-- 'text', 'announcement' or 'forum' as last seen (subscribe or a run); NULL: not seen yet.
ALTER TABLE subscriptions ADD COLUMN channel_kind TEXT;
-- A forum run's post, recorded as soon as Discord created it (before the rest is posted into it).
ALTER TABLE digest_runs ADD COLUMN thread_id INTEGER;
-- The run's topics, best story first, joined by U+001F: what a forum post's tags match.
ALTER TABLE digest_runs ADD COLUMN topics TEXT NOT NULL DEFAULT '';

-- Publishing is recorded apart from posting: one row per published (or not) message of a run.
CREATE TABLE digest_publications (
    run_id     INTEGER NOT NULL REFERENCES digest_runs (id) ON DELETE CASCADE,
    chunk      INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('published', 'failed', 'skipped')),
    reason     TEXT,
    at         REAL    NOT NULL,
    PRIMARY KEY (run_id, chunk)
) WITHOUT ROWID;
CREATE INDEX digest_publications_channel ON digest_publications (channel_id, at);
