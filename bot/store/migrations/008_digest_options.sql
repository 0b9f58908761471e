-- Issue 14: a subscription's layout, keyword filters and alert state; each guild's alert channel.

-- 'cards' (an embed per story) or 'compact' (a list, one line per story).
ALTER TABLE subscriptions ADD COLUMN layout TEXT NOT NULL DEFAULT 'cards'
    CHECK (layout IN ('cards', 'compact'));
-- Words or phrases joined by U+001F; '' = none. A story needs one keyword (when there are any).
ALTER TABLE subscriptions ADD COLUMN keywords TEXT NOT NULL DEFAULT '';
-- Words or phrases joined by U+001F; a story with any of them is left out.
ALTER TABLE subscriptions ADD COLUMN exclude TEXT NOT NULL DEFAULT '';
-- The last state the guild's admins were told about ('healthy', 'failing' or 'paused'), so a
-- restart never repeats an alert.
ALTER TABLE subscriptions ADD COLUMN alert_state TEXT NOT NULL DEFAULT 'healthy'
    CHECK (alert_state IN ('healthy', 'failing', 'paused'));

-- Where a guild's admins hear about failing, paused and recovered digests (no row: alerts off).
CREATE TABLE digest_alert_channels (
    guild_id   INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL,
    updated_at REAL    NOT NULL
);
