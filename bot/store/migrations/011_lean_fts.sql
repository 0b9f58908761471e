-- Issue 12: the full-text indexes cost less to write. Nothing reads a column size (search ranks
-- in Python, bot.store.relevance), so neither table keeps them (columnsize = 0: one b-tree row
-- less per article). Title autocomplete asks titles_fts only for an AND of single words, the
-- last as a prefix (bot.store.search.prefix_query), so it keeps no positions (detail = none:
-- about half the index work of a title and ~30 % of its size). Both are rebuilt from the rows,
-- as the write path keeps them: every article that is not gone (bot.store.gone).
DROP TABLE articles_fts;
CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, excerpt, provider,
    content = 'articles', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', columnsize = 0
);
INSERT INTO articles_fts (rowid, title, excerpt, provider)
    SELECT id, title, excerpt, provider_name FROM articles WHERE gone = 0 ORDER BY id;
DROP TABLE titles_fts;
CREATE VIRTUAL TABLE titles_fts USING fts5 (
    title,
    content = 'articles', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6',
    detail = none, columnsize = 0
);
INSERT INTO titles_fts (rowid, title) SELECT id, title FROM articles WHERE gone = 0 ORDER BY id;
