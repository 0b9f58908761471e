-- Issue 13: feeds. Each configured feed's fetch state, so a restart keeps it (DESIGN §3b).
-- IF NOT EXISTS: a test that sets user_version back to 5 runs every later step again.
CREATE TABLE IF NOT EXISTS feeds (
    url              TEXT    PRIMARY KEY,   -- as [[feeds.sources]] url says: the feed's identity
    fetch_url        TEXT    NOT NULL,      -- where it is fetched: url, or where a 301/308 moved it
    title            TEXT,                  -- the feed's own title, from its last good fetch
    etag             TEXT,                  -- sent back unchanged as If-None-Match
    last_modified    TEXT,                  -- sent back unchanged as If-Modified-Since
    last_fetch       REAL,                  -- unix seconds of the last attempt
    last_status      TEXT,                  -- 'ok', 'not_modified' or 'failed'
    items            INTEGER NOT NULL DEFAULT 0,  -- items its last good body held
    last_error       TEXT,                  -- the reason of the last failure (kept after recovery)
    failures         INTEGER NOT NULL DEFAULT 0,  -- failures in a row; 0 after a good fetch
    first_failure_at REAL,                  -- when the current run of failures began
    next_fetch       REAL,                  -- due from this moment; NULL: due now
    disabled_reason  TEXT                   -- set after 3 days of failures: not fetched until fixed
);

-- Each permanent redirect that moved a feed: its URL history.
CREATE TABLE IF NOT EXISTS feed_moves (
    url       TEXT    NOT NULL REFERENCES feeds (url) ON DELETE CASCADE,
    from_url  TEXT    NOT NULL,
    to_url    TEXT    NOT NULL,
    status    INTEGER NOT NULL,  -- 301 or 308
    at        REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS feed_moves_url ON feed_moves (url, at);

-- A feed item never overwrites an article a file holds: looked up by article for each fetch.
CREATE INDEX IF NOT EXISTS files_article_id ON files (article_id) WHERE article_id IS NOT NULL;
