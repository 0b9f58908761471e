-- Articles, topics, related links, stories, full-text index and the files seen.
CREATE TABLE articles (
    id              INTEGER PRIMARY KEY,
    canonical_url   TEXT    NOT NULL UNIQUE,
    url             TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    excerpt         TEXT,
    published_at    INTEGER,            -- unix seconds, UTC
    quality         INTEGER,
    heat            INTEGER,
    published       INTEGER NOT NULL DEFAULT 0,
    provider_name   TEXT,
    provider_domain TEXT,
    provider_icon   TEXT,
    image_url       TEXT,
    category        TEXT,
    type            TEXT,
    original_url    TEXT,
    amp_url         TEXT,
    cdn_amp_url     TEXT,
    topics          TEXT    NOT NULL DEFAULT '',  -- display names joined by U+001F
    from_file       INTEGER NOT NULL DEFAULT 0,   -- 1 once a file describes the article itself
    fingerprint     TEXT    NOT NULL DEFAULT '',
    story_key       TEXT    NOT NULL,
    story_id        INTEGER,
    arrived_at      REAL,               -- first ingest of a file about it; NULL for stubs
    updated_at      REAL    NOT NULL
);
CREATE INDEX articles_story_key ON articles (story_key, published_at);
CREATE INDEX articles_story_id ON articles (story_id);
CREATE INDEX articles_latest ON articles (published_at DESC) WHERE published = 1 AND from_file = 1;
CREATE INDEX articles_arrived ON articles (arrived_at) WHERE arrived_at IS NOT NULL;

CREATE TABLE topics (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    key           TEXT    NOT NULL UNIQUE,   -- case-folded name
    article_count INTEGER NOT NULL DEFAULT 0
);

-- published_at and quality are copied here so a topic page is one index range scan.
CREATE TABLE article_topics (
    topic_id     INTEGER NOT NULL REFERENCES topics (id),
    published_at INTEGER NOT NULL,
    article_id   INTEGER NOT NULL REFERENCES articles (id),
    quality      INTEGER,
    PRIMARY KEY (topic_id, published_at, article_id)
) WITHOUT ROWID;
CREATE INDEX article_topics_article ON article_topics (article_id);

-- An edge comes from the parent's file; it is shown in both directions.
CREATE TABLE related (
    parent_id INTEGER NOT NULL REFERENCES articles (id),
    child_id  INTEGER NOT NULL REFERENCES articles (id),
    position  INTEGER NOT NULL,
    PRIMARY KEY (parent_id, child_id)
) WITHOUT ROWID;
CREATE INDEX related_child ON related (child_id);

CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, excerpt, provider,
    content = 'articles', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, excerpt, provider)
    VALUES (new.id, new.title, new.excerpt, new.provider_name);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, excerpt, provider)
    VALUES ('delete', old.id, old.title, old.excerpt, old.provider_name);
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, excerpt, provider_name ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, excerpt, provider)
    VALUES ('delete', old.id, old.title, old.excerpt, old.provider_name);
    INSERT INTO articles_fts (rowid, title, excerpt, provider)
    VALUES (new.id, new.title, new.excerpt, new.provider_name);
END;

CREATE TABLE files (
    path       TEXT    PRIMARY KEY,
    size       INTEGER NOT NULL,
    mtime_ns   INTEGER NOT NULL,
    hash       TEXT    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('ok', 'rejected')),
    error      TEXT,
    article_id INTEGER REFERENCES articles (id),
    seen_at    REAL    NOT NULL
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
