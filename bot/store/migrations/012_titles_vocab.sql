-- Title autocomplete of a last word longer than titles_fts's prefix indexes (1-6 characters):
-- FTS5 merges every match of such a prefix before it reads any ("unveils"* at 1.4M articles:
-- 15 ms), while whole words are read lazily, newest first (0.5 ms). bot.store.search asks this
-- table for the longer words that start with the typed one (a range of terms: no work for a
-- word nothing extends) and matches the words themselves. It holds no data of its own.
CREATE VIRTUAL TABLE IF NOT EXISTS titles_vocab USING fts5vocab (titles_fts, row);
