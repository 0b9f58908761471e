-- Digest subscriptions, their runs (items and messages) and the delivery ledger.
CREATE TABLE subscriptions (
    channel_id           INTEGER PRIMARY KEY,
    guild_id             INTEGER,            -- NULL until known (file-managed, channel not seen)
    schedule             TEXT    NOT NULL,   -- 5-field cron or 'daily HH:MM'
    timezone             TEXT    NOT NULL,   -- IANA name
    topics               TEXT    NOT NULL DEFAULT '',  -- names joined by U+001F; '' = all
    min_quality          INTEGER NOT NULL,
    max_items            INTEGER NOT NULL CHECK (max_items BETWEEN 1 AND 25),
    only_published       INTEGER NOT NULL DEFAULT 1,
    role_id              INTEGER,            -- the one role the digest may mention
    managed_by           TEXT    NOT NULL DEFAULT 'command' CHECK (managed_by IN ('command', 'file')),
    paused               INTEGER NOT NULL DEFAULT 0,
    paused_reason        TEXT,
    cursor               REAL    NOT NULL,   -- articles that arrived after this are new
    last_run_at          REAL,
    items_delivered      INTEGER NOT NULL DEFAULT 0,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    created_at           REAL    NOT NULL,
    updated_at           REAL    NOT NULL
);
CREATE INDEX subscriptions_guild ON subscriptions (guild_id);

-- A run is written, with its items and messages, before anything is sent.
CREATE TABLE digest_runs (
    id          INTEGER PRIMARY KEY,
    channel_id  INTEGER NOT NULL,
    trigger     TEXT    NOT NULL,            -- 'schedule' or 'now'
    selected_at REAL    NOT NULL,            -- the moment of the selection (the new cursor)
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'abandoned')),
    more        INTEGER NOT NULL DEFAULT 0,  -- eligible stories left over ("and N more")
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    finished_at REAL
);
CREATE INDEX digest_runs_pending ON digest_runs (channel_id) WHERE status = 'pending';

-- Every article of every chosen story; `chunk` is the message that carries its story.
CREATE TABLE digest_run_items (
    run_id     INTEGER NOT NULL REFERENCES digest_runs (id) ON DELETE CASCADE,
    article_id INTEGER NOT NULL REFERENCES articles (id),
    chunk      INTEGER NOT NULL,
    shown      INTEGER NOT NULL,             -- 1 for the story's article in the embed
    PRIMARY KEY (run_id, article_id)
) WITHOUT ROWID;

-- One row per message of a run; message_id is set when Discord confirms it.
CREATE TABLE digest_messages (
    run_id     INTEGER NOT NULL REFERENCES digest_runs (id) ON DELETE CASCADE,
    chunk      INTEGER NOT NULL,
    nonce      TEXT    NOT NULL,             -- deterministic: a resend is dropped by Discord
    payload    TEXT    NOT NULL,             -- the rendered payload (JSON), resent as it was
    message_id INTEGER,
    sent_at    REAL,
    PRIMARY KEY (run_id, chunk)
) WITHOUT ROWID;

-- Exactly once per channel: (channel, article) marked when Discord confirmed the message.
CREATE TABLE deliveries (
    channel_id   INTEGER NOT NULL,
    article_id   INTEGER NOT NULL REFERENCES articles (id),
    run_id       INTEGER NOT NULL,
    delivered_at REAL    NOT NULL,
    PRIMARY KEY (channel_id, article_id)
) WITHOUT ROWID;
CREATE INDEX digest_run_items_article ON digest_run_items (article_id);
