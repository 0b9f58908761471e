-- SQLite migrations 007 (feeds), 008 (digest options) and 009 (digest targets) in PostgreSQL
-- types: the same tables, columns, defaults and CHECKs.

-- 007: each configured feed's fetch state, so a restart keeps it (DESIGN §3b).
CREATE TABLE feeds (
    url              TEXT    COLLATE "C" PRIMARY KEY,  -- as [[feeds.sources]] url says
    fetch_url        TEXT    NOT NULL,      -- url, or where a 301/308 moved it
    title            TEXT,                  -- the feed's own title, from its last good fetch
    etag             TEXT,                  -- sent back unchanged as If-None-Match
    last_modified    TEXT,                  -- sent back unchanged as If-Modified-Since
    last_fetch       DOUBLE PRECISION,      -- unix seconds of the last attempt
    last_status      TEXT,                  -- 'ok', 'not_modified' or 'failed'
    items            INTEGER NOT NULL DEFAULT 0,  -- items its last good body held
    last_error       TEXT,                  -- the reason of the last failure (kept after recovery)
    failures         INTEGER NOT NULL DEFAULT 0,  -- failures in a row; 0 after a good fetch
    first_failure_at DOUBLE PRECISION,      -- when the current run of failures began
    next_fetch       DOUBLE PRECISION,      -- due from this moment; NULL: due now
    disabled_reason  TEXT                   -- set after 3 days of failures: not fetched until fixed
);

-- Each permanent redirect that moved a feed: its URL history (insert-only: read in the order
-- written, as SQLite's rowid gives it).
CREATE TABLE feed_moves (
    url       TEXT    COLLATE "C" NOT NULL REFERENCES feeds (url) ON DELETE CASCADE,
    from_url  TEXT    NOT NULL,
    to_url    TEXT    NOT NULL,
    status    INTEGER NOT NULL,  -- 301 or 308
    at        DOUBLE PRECISION NOT NULL
);
CREATE INDEX feed_moves_url ON feed_moves (url, at);

-- A feed item never overwrites an article a file holds: looked up by article for each fetch.
CREATE INDEX files_article_id ON files (article_id) WHERE article_id IS NOT NULL;

-- 008: a subscription's layout, keyword filters and alerted state; each guild's alert channel.
ALTER TABLE subscriptions
    ADD COLUMN layout TEXT NOT NULL DEFAULT 'cards' CHECK (layout IN ('cards', 'compact')),
    -- words or phrases joined by U+001F; '' = none
    ADD COLUMN keywords TEXT NOT NULL DEFAULT '',
    ADD COLUMN exclude TEXT NOT NULL DEFAULT '',
    -- the last state the guild's admins were told about, so a restart never repeats an alert
    ADD COLUMN alert_state TEXT NOT NULL DEFAULT 'healthy'
        CHECK (alert_state IN ('healthy', 'failing', 'paused'));

-- where a guild's admins hear about failing, paused and recovered digests (no row: off)
CREATE TABLE digest_alert_channels (
    guild_id   BIGINT PRIMARY KEY,
    channel_id BIGINT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

-- 009: digests in announcement and forum channels.
ALTER TABLE subscriptions
    -- 1: publish each digest message to the channel's followers (announcement channels only)
    ADD COLUMN publish INTEGER NOT NULL DEFAULT 1,
    -- 'text', 'announcement' or 'forum' as last seen; NULL: not seen yet
    ADD COLUMN channel_kind TEXT;

ALTER TABLE digest_runs
    -- a forum run's post, recorded as soon as Discord made it
    ADD COLUMN thread_id BIGINT,
    -- the run's topics, best story first, joined by U+001F: what a forum post's tags match
    ADD COLUMN topics TEXT NOT NULL DEFAULT '';

-- Publishing is recorded apart from posting: one row per published (or not) message of a run.
CREATE TABLE digest_publications (
    run_id     BIGINT  NOT NULL REFERENCES digest_runs (id) ON DELETE CASCADE,
    chunk      INTEGER NOT NULL,
    channel_id BIGINT  NOT NULL,
    message_id BIGINT  NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('published', 'failed', 'skipped')),
    reason     TEXT,
    at         DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, chunk)
);
CREATE INDEX digest_publications_channel ON digest_publications (channel_id, at);
